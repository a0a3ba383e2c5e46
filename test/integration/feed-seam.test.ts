// The replay→live seam of /v1/feed (contract §5.2) under concurrent writes: a client that subscribes with
// after_seq while a writer runs receives exactly the committed seqs after it, in order: no gap, no duplicate.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { TestSocket } from "../support/ws-test-client.js";

describe("/v1/feed replay seam under concurrent writes", () => {
  const dbUrl = freshDatabaseUrl("feedseam");
  let reg: InProcessRegistrar;
  const servers: { domain: string; token: string }[] = [];

  beforeAll(async () => {
    // Twelve subscribers from one address: over the default FEED_MAX_PER_IP of 8.
    reg = await startRegistrar({ DATABASE_URL: dbUrl, RATE_LIMIT_REGISTER: "off", RATE_LIMIT_RATE: "off", RATINGS_ANONYMOUS: "true", FEED_MAX_PER_IP: "16" });
    const c = api(reg.url);
    for (let i = 0; i < 4; i++) {
      const body = newServer();
      const res = await c.post("/v1/servers", body);
      servers.push({ domain: body.domain, token: res.body.token });
    }
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  async function stored(): Promise<{ seq: number; type: string; domain: string }[]> {
    const [rows] = (await reg.node.db.query("SELECT seq, type, domain FROM events ORDER BY seq")) as any;
    return rows.map((r: any) => ({ seq: Number(r.seq), type: r.type, domain: r.domain }));
  }

  it("delivers exactly the committed seqs after after_seq, in order, to clients subscribing mid-write", async () => {
    const c = api(reg.url);
    let writing = true;
    let written = 0;
    // Four concurrent writers: ratings and updates over four servers, so commits interleave.
    const writers = servers.map(async (s, w) => {
      for (let i = 0; writing; i++) {
        if (i % 3 === 2) await c.put(`/v1/servers/${s.domain}`, { description: `w${w} i${i}` }, { token: s.token });
        else await c.post(`/v1/servers/${servers[(w + i) % servers.length].domain}/rate`, { user_id: `w${w}-${i % 7}`, rating: 1 + (i % 5) });
        written++;
      }
    });

    type Sub = { socket: TestSocket; after: number; filter: { types?: string[]; domains?: string[] } };
    const subs: Sub[] = [];
    const filters: Sub["filter"][] = [{}, { types: ["rating.created"] }, { domains: [servers[1].domain] }, {}];
    for (let k = 0; k < 12; k++) {
      await vi.waitFor(() => expect(written).toBeGreaterThan(k * 15), { timeout: 10_000, interval: 5 });
      const newest = (await stored()).at(-1)?.seq ?? 0;
      // Some start a little behind the newest (replay then seam), some exactly at it, some in the future of
      // this moment's MySQL read (their seam is the live stream alone).
      const after = Math.max(0, newest - [0, 3, 17, 40][k % 4]);
      const socket = await TestSocket.open(reg.url, "/v1/feed");
      await socket.op("hello");
      const filter = filters[k % filters.length];
      socket.send({ op: "subscribe", ...filter, after_seq: after });
      subs.push({ socket, after, filter });
    }
    writing = false;
    await Promise.all(writers);

    const all = await stored();
    const last = all.at(-1)!.seq;
    expect(written).toBeGreaterThan(150);
    for (const sub of subs) {
      const expected = all
        .filter((e) => e.seq > sub.after)
        .filter((e) => !sub.filter.types || sub.filter.types.includes(e.type))
        .filter((e) => !sub.filter.domains || sub.filter.domains.includes(e.domain))
        .map((e) => e.seq);
      const want = expected.at(-1) ?? last;
      if (expected.length > 0) await sub.socket.next((m) => m.op === "event" && m.seq === want, 10_000);
      const got = sub.socket.messages.filter((m) => m.op === "event").map((m) => m.seq);
      expect(sub.socket.messages.filter((m) => m.op === "reset")).toEqual([]);
      expect(got, `subscriber after_seq=${sub.after} ${JSON.stringify(sub.filter)}`).toEqual(expected);
      sub.socket.close();
    }
  }, 50_000);
});
