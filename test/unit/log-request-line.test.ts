// The hand-built request line must be what pino itself writes for the same fields, and nothing when info is off.
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, requestLogger } from "../../src/log.js";

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split("\n")) if (l) lines.push(l);
      cb();
    },
  });
  return { lines, sink };
}

describe("requestLogger", () => {
  it("writes the same JSON as log.info with the same fields, including child bindings", () => {
    const { lines, sink } = capture();
    const log = createLogger("info", "node-a", sink).child({ component: "edge" });
    const write = requestLogger(log);
    const cases: [string, string, string, string, number, number][] = [
      ["abc-1", "127.0.0.1", "GET", "/v1/servers", 200, 1.23456],
      ["r.2:x", "2001:db8::1", "POST", "/v1/servers/:domain/heartbeat", 404, 0],
      ["q", "10.0.0.1", 'WEI"RD\\', "/*", 405, 12345.6789],
    ];
    for (const [id, ip, method, route, status, ms] of cases) {
      write(id, ip, method, route, status, ms);
      log.info({ req_id: id, ip, method, route, status, duration_ms: Math.round(ms * 1000) / 1000 }, "request");
    }
    expect(lines).toHaveLength(cases.length * 2);
    const withoutTime = (l: string) => l.replace(/"time":"[^"]+"/, '"time":"T"');
    for (let i = 0; i < lines.length; i += 2) {
      expect(withoutTime(lines[i])).toBe(withoutTime(lines[i + 1]));
      expect(JSON.parse(lines[i]).time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
    expect(JSON.parse(lines[4]).method).toBe('WEI"RD\\');
  });

  it("writes nothing when the level is above info, and follows a level change", () => {
    const { lines, sink } = capture();
    const log = createLogger("warn", "node-a", sink);
    const write = requestLogger(log);
    write("a", "127.0.0.1", "GET", "/v1/health", 200, 1);
    expect(lines).toHaveLength(0);
    log.level = "info";
    write("b", "127.0.0.1", "GET", "/v1/health", 200, 1);
    expect(lines.map((l) => JSON.parse(l).req_id)).toEqual(["b"]);
  });
});
