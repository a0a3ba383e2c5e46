// The in-process and the NATS transport pass the same contract tests.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InProcessTransport } from "../../transport/in-process.js";
import { NatsTransport } from "../../transport/nats/nats-transport.js";
import { NoResponderError, RequestTimeoutError, type Transport } from "../../transport/transport.js";
import { startNats, type NatsServer } from "../support/nats-server.js";
import { quietFor } from "../support/wait.js";

const enc = (s: string) => Buffer.from(s);
const dec = (b: Uint8Array) => Buffer.from(b).toString();

let nats: NatsServer;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats?.cleanup();
});

const transports: [string, () => Promise<Transport>][] = [
  ["in-process", async () => new InProcessTransport()],
  ["nats", () => NatsTransport.connect({ servers: nats.url, name: "contract" })],
];

describe.each(transports)("the %s transport", (_name, make) => {
  it("delivers published messages to every subscriber of the subject, and not to others", async () => {
    const t = await make();
    const a: string[] = [];
    const b: string[] = [];
    const other: string[] = [];
    t.subscribe("zt.test.x", (d) => a.push(dec(d)));
    t.subscribe("zt.test.x", (d) => b.push(dec(d)));
    t.subscribe("zt.test.y", (d) => other.push(dec(d)));
    await flush(t);
    for (let i = 0; i < 5; i++) t.publish("zt.test.x", enc(String(i)));
    await until(() => a.length === 5 && b.length === 5);
    expect(a).toEqual(["0", "1", "2", "3", "4"]);
    expect(b).toEqual(a);
    expect(other).toEqual([]);
    await t.close();
  });

  it("answers a request from the one responder serving the subject", async () => {
    const t = await make();
    t.serve("zt.test.echo", async (d) => enc(`echo:${dec(d)}`));
    await flush(t);
    expect(dec(await t.request("zt.test.echo", enc("hi"), 2000))).toBe("echo:hi");
    await t.close();
  });

  it("rejects a request nobody serves with NoResponderError", async () => {
    const t = await make();
    await expect(t.request("zt.test.nobody", enc("x"), 1000)).rejects.toBeInstanceOf(NoResponderError);
    await t.close();
  });

  it("rejects a request whose responder is too slow with RequestTimeoutError", async () => {
    const t = await make();
    t.serve("zt.test.slow", () => new Promise((r) => setTimeout(() => r(enc("late")), 500)));
    await flush(t);
    await expect(t.request("zt.test.slow", enc("x"), 100)).rejects.toBeInstanceOf(RequestTimeoutError);
    await t.close();
  });

  it("stops delivering after unsubscribe", async () => {
    const t = await make();
    const got: string[] = [];
    const sub = t.subscribe("zt.test.u", (d) => got.push(dec(d)));
    await flush(t);
    t.publish("zt.test.u", enc("1"));
    await until(() => got.length === 1);
    sub.unsubscribe();
    await flush(t);
    t.publish("zt.test.u", enc("2"));
    await flush(t);
    await quietFor(50); // absence check: nothing arrives after unsubscribe
    expect(got).toEqual(["1"]);
    await t.close();
  });
});

async function flush(t: Transport) {
  if (t instanceof NatsTransport) await t.flush();
  else await new Promise((r) => setTimeout(r, 0));
}

async function until(cond: () => boolean, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("NATS_URL credentials", () => {
  it("are taken out of the URLs into connection options", async () => {
    const { splitCredentials } = await import("../../transport/nats/nats-transport.js");
    expect(splitCredentials("nats://reg:s%40cret@127.0.0.1:4222, nats://127.0.0.1:4223")).toEqual({
      servers: ["nats://127.0.0.1:4222", "nats://127.0.0.1:4223"],
      auth: { user: "reg", pass: "s@cret" },
    });
    expect(splitCredentials("nats://tok123@h:1")).toEqual({ servers: ["nats://h:1"], auth: { token: "tok123" } });
    expect(splitCredentials("127.0.0.1:4222").auth).toEqual({});
  });
});
