// Structured logging: one pino JSON logger per node; tokens and Authorization headers are redacted at the source.
import pino from "pino";

export type Logger = pino.Logger;

export function createLogger(level: string, nodeId: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { node: nodeId },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ["token", "*.token", "authorization", "*.authorization", "headers.authorization"], remove: true },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
