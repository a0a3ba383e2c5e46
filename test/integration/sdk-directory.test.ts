// The SDK's §9.2 calls against a real node: new record fields, cursor iteration over every page (while servers come
// and go), the listing's seq, the uptime call, and a bad cursor as a typed error.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistrarApiError, RegistrarClient } from "../../client/index.js";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

describe("RegistrarClient and the directory API", () => {
  const dbUrl = freshDatabaseUrl("sdkdir");
  let reg: InProcessRegistrar;
  let http: RegistrarClient;
  const tokens = new Map<string, string>();

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, RATE_LIMIT_REGISTER: "off", RATE_LIMIT_LIST: "off" });
    http = new RegistrarClient(reg.url);
    for (let i = 0; i < 23; i++) {
      const body = newServer({ languages: i % 2 ? ["de"] : ["en", "pt-BR"], registration: i % 3 ? "open" : "invite" });
      const r = await http.registerServer(body);
      tokens.set(body.domain, r.token);
    }
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("registers and updates web_url, languages and registration, and reads them back", async () => {
    const body = newServer();
    const created = await http.registerServer({ ...body, web_url: `https://${body.domain}/`, languages: ["fr"], registration: "approval" });
    expect(created.server).toMatchObject({ web_url: `https://${body.domain}/`, languages: ["fr"], registration: "approval", uptime_30d: null });
    const updated = await http.updateServer(body.domain, created.token, { registration: null, languages: ["fr", "it"] });
    expect(updated).toMatchObject({ registration: null, languages: ["fr", "it"] });
    await http.deleteServer(body.domain, created.token);
  });

  it("iterates every server of a query across pages with an async iterator, once each, while servers come and go", async () => {
    const before = (await http.listServers({ sort: "name", limit: 100 })).servers.map((s) => s.domain);
    const seen: string[] = [];
    const victims = [...before].reverse().slice(0, 3);
    let i = 0;
    for await (const s of http.servers({ sort: "name", limit: 4 })) {
      seen.push(s.domain);
      // Between pages: remove a server still ahead and register a new one.
      if (seen.length % 4 === 0 && i < victims.length) {
        await http.deleteServer(victims[i], tokens.get(victims[i])!);
        const body = newServer();
        tokens.set(body.domain, (await http.registerServer(body)).token);
        i++;
      }
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(before.filter((d) => !victims.includes(d) && !seen.includes(d))).toEqual([]);
    expect(victims.some((v) => seen.includes(v))).toBe(false);
  });

  it("walks pages with filters and answers next_cursor and seq on each", async () => {
    const pages = [];
    for await (const page of http.listPages({ language: "pt", registration: "invite", limit: 2 })) pages.push(page);
    const all = pages.flatMap((p) => p.servers);
    expect(all.length).toBe(pages[0].total);
    expect(all.every((s) => s.languages.includes("pt-BR") && s.registration === "invite")).toBe(true);
    expect(pages.at(-1)!.next_cursor).toBeNull();
    expect(pages.slice(0, -1).every((p) => typeof p.next_cursor === "string")).toBe(true);
    expect(pages.every((p) => Number.isInteger(p.seq) && p.seq! > 0)).toBe(true);
  });

  it("reads a server's uptime", async () => {
    const [domain] = tokens.keys();
    const up = await http.getUptime(domain, 3);
    expect(up.domain).toBe(domain);
    expect(up.days).toHaveLength(3);
    expect(up.days[2]).toEqual({ date: new Date().toISOString().slice(0, 10), online_ratio: 1 });
    expect(up.ratio).toBe(1);
    expect((await http.getUptime(domain)).days).toHaveLength(30);
  });

  it("throws a typed error for a cursor of another query", async () => {
    const first = await http.listServers({ sort: "users", limit: 1 });
    const err = await http.listServers({ sort: "name", cursor: first.next_cursor! }).catch((e) => e);
    expect(err).toBeInstanceOf(RegistrarApiError);
    expect(err.status).toBe(400);
    expect(err.code).toBe("validation_failed");
  });
});
