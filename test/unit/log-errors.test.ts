// Review L4: errors are logged without SQL text or the values MySQL quotes in its messages.
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, withoutSqlValues } from "../../src/log.js";

function capture() {
  const lines: any[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split("\n")) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: createLogger("info", "n1", sink), lines };
}

/** What mysql2 throws: the statement with its values in `sql`, the server's message in `sqlMessage` and `message`. */
function mysqlError(message: string) {
  return Object.assign(new Error(message), {
    code: "ER_DUP_ENTRY", errno: 1062, sqlState: "23000", sqlMessage: message,
    sql: "INSERT INTO webhooks (id, secret) VALUES ('wh_1', 'plain:5ecret5ecret')",
  });
}

describe("error logging", () => {
  it("drops sql and sqlMessage, and the quoted values from message and stack, keeping code, errno and sqlState", async () => {
    const { log, lines } = capture();
    log.error({ err: mysqlError("Duplicate entry 'plain:5ecret5ecret' for key 'webhooks.PRIMARY'") }, "boom");
    await new Promise((r) => setImmediate(r));
    const text = JSON.stringify(lines[0]);
    expect(text).not.toMatch(/5ecret|INSERT|sqlMessage|"sql"/);
    expect(lines[0].err).toMatchObject({
      type: "Error", code: "ER_DUP_ENTRY", errno: 1062, sqlState: "23000",
      message: "Duplicate entry '…' for key 'webhooks.PRIMARY'",
    });
    expect(lines[0].err.stack).toMatch(/^Error: Duplicate entry '…' for key 'webhooks.PRIMARY'\n {4}at /);
  });

  it("cleans SQL errors found as a cause of another error", async () => {
    const { log, lines } = capture();
    log.warn({ err: new Error("write failed", { cause: mysqlError("Duplicate entry 'tok-hash-abc' for key 'x'") }) }, "wrapped");
    await new Promise((r) => setImmediate(r));
    expect(JSON.stringify(lines[0])).not.toMatch(/tok-hash-abc|INSERT/);
    expect(lines[0].err).toMatchObject({ message: "write failed", cause: { message: "Duplicate entry '…' for key 'x'", code: "ER_DUP_ENTRY" } });
  });

  it("keeps names MySQL quotes and hides values", () => {
    expect(withoutSqlValues("Data too long for column 'url' at row 1")).toBe("Data too long for column 'url' at row 1");
    expect(withoutSqlValues("Table 'zent.servers' doesn't exist")).toBe("Table 'zent.servers' doesn't exist");
    expect(withoutSqlValues("Incorrect integer value: 'abc' for column 'n' at row 1")).toBe("Incorrect integer value: '…' for column 'n' at row 1");
    expect(withoutSqlValues("Duplicate entry 'it''s \\' x' for key 'k'")).toBe("Duplicate entry '…' for key 'k'");
  });

  it("leaves other errors as they are", async () => {
    const { log, lines } = capture();
    log.error({ err: Object.assign(new Error("plain 'quoted' text"), { code: "E_X", detail: { nested: true } }) }, "other");
    await new Promise((r) => setImmediate(r));
    expect(lines[0].err).toMatchObject({ type: "Error", message: "plain 'quoted' text", code: "E_X" });
  });
});
