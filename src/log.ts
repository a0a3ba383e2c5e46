// Structured logging: one pino JSON logger per node; tokens and Authorization headers are redacted at the source,
// errors are logged as `{ err }` through one serializer that never carries SQL text (it may hold token hashes).
import pino from "pino";

export type Logger = pino.Logger;

function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const out = pino.stdSerializers.err(err) as Record<string, unknown>;
  delete out.sql;
  return out;
}

export function createLogger(level: string, nodeId: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { node: nodeId },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ["token", "*.token", "authorization", "*.authorization", "headers.authorization"], remove: true },
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: serializeError },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
