// Live status on an open page (contract §9.1): a server.status event from /v1/feed changes the card within 2 s, with
// no reload; the script reconnects after the registrar restarts and catches up from the last event it saw.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api } from "../support/http.js";
import { freePort } from "../support/nats-server.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { TestSocket } from "../support/ws-test-client.js";
import { launchBrowser, loopbackContext, seed, type Seeded } from "./support.js";
import { subscribeAndWait } from "../support/feed.js";

const UPDATE_WITHIN_MS = 2000;

describe("live status on the web directory", () => {
  const dbUrl = freshDatabaseUrl("weblive");
  let port: number;
  let env: Record<string, string>;
  let reg: InProcessRegistrar;
  let browser: Browser;
  let page: Page;
  let quiet: Seeded; // stops heartbeating in the tests
  let steady: Seeded; // heartbeats throughout: its card must not change
  let beating: Set<string>;
  let beat: ReturnType<typeof setInterval>;

  const statusOf = (domain: string) => page.locator(`[data-domain="${domain}"] .status`).getAttribute("data-status");

  beforeAll(async () => {
    port = await freePort();
    env = { DATABASE_URL: dbUrl, PORT: String(port), OFFLINE_AFTER_S: "2", RATE_LIMIT_LIST: "off", RATE_LIMIT_REGISTER: "off" };
    reg = await startRegistrar(env);
    [quiet, steady] = await seed(reg.url, [
      { domain: "quiet.example.org", name: "Quiet", users: 5 },
      { domain: "steady.example.org", name: "Steady", users: 9 },
    ]);
    beating = new Set([quiet.domain, steady.domain]);
    // Heartbeats every 400 ms (OFFLINE_AFTER_S is 2) for the servers in `beating`; a failed one is retried next tick.
    beat = setInterval(() => {
      for (const s of [quiet, steady]) {
        if (beating.has(s.domain)) void api(reg.url).post(`/v1/servers/${s.domain}/heartbeat`, {}, { token: s.token }).catch(() => {});
      }
    }, 400);
    browser = await launchBrowser();
    const { context } = await loopbackContext(browser);
    page = await context.newPage();
  });
  afterAll(async () => {
    clearInterval(beat);
    await browser?.close();
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  /** Waits for the next server.status event of `domain` on a feed of our own; resolves with its arrival time. */
  async function statusEvent(domain: string, status: string): Promise<{ promise: Promise<number>; close: () => void }> {
    const feed = await TestSocket.open(reg.url, "/v1/feed");
    await feed.op("hello");
    await subscribeAndWait(reg.url, feed, { types: ["server.status"], domains: [domain] });
    const promise = feed.next((m) => m.op === "event" && m.data.status === status, 10_000).then(() => Date.now());
    return { promise, close: () => feed.close() };
  }

  it("turns a card offline within 2 s of the server.status event, without a reload, and leaves other cards alone", async () => {
    await page.goto(reg.url + "/");
    await expect.poll(() => page.locator("#live").textContent()).toBe("Live");
    expect(await statusOf(quiet.domain)).toBe("online");
    await page.evaluate(() => ((window as unknown as { __samePage: boolean }).__samePage = true));
    const event = await statusEvent(quiet.domain, "offline");
    beating.delete(quiet.domain);
    const eventAtMs = await event.promise;
    await page.waitForFunction((d) => document.querySelector(`[data-domain="${d}"] .status`)?.getAttribute("data-status") === "offline", quiet.domain, {
      timeout: UPDATE_WITHIN_MS,
    });
    const shownAtMs = Date.now();
    event.close();
    console.info(`status shown ${shownAtMs - eventAtMs} ms after the feed event reached a test client`);
    expect(shownAtMs - eventAtMs).toBeLessThanOrEqual(UPDATE_WITHIN_MS);
    expect(await page.locator(`[data-domain="${quiet.domain}"] .status-text`).textContent()).toBe("Offline");
    expect(await page.evaluate(() => (window as unknown as { __samePage?: boolean }).__samePage)).toBe(true);
    expect(await statusOf(steady.domain)).toBe("online");
  });

  it("turns it back online within 2 s when the server heartbeats again", async () => {
    const event = await statusEvent(quiet.domain, "online");
    beating.add(quiet.domain);
    const eventAtMs = await event.promise;
    await page.waitForFunction((d) => document.querySelector(`[data-domain="${d}"] .status`)?.getAttribute("data-status") === "online", quiet.domain, {
      timeout: UPDATE_WITHIN_MS,
    });
    expect(Date.now() - eventAtMs).toBeLessThanOrEqual(UPDATE_WITHIN_MS);
    event.close();
    expect(await page.locator(`[data-domain="${quiet.domain}"] [data-last-seen]`).textContent()).toBe("just now");
  });

  it("updates the server page too", async () => {
    await page.goto(`${reg.url}/server/${quiet.domain}`);
    await expect.poll(() => page.locator("#live").textContent()).toBe("Live");
    beating.delete(quiet.domain);
    await page.waitForFunction(() => document.querySelector(".server-page .status")?.getAttribute("data-status") === "offline", null, { timeout: 5000 });
    beating.add(quiet.domain);
    await page.waitForFunction(() => document.querySelector(".server-page .status")?.getAttribute("data-status") === "online", null, { timeout: 5000 });
  });

  it("reconnects after the registrar restarts, resuming the feed from the last event it saw", async () => {
    // What the page subscribes with and which events it receives, per connection.
    const subscriptions: { after_seq?: number }[] = [];
    let lastSeqSeen = -1;
    page.on("websocket", (ws) => {
      ws.on("framesent", (f) => {
        const m = JSON.parse(String(f.payload));
        if (m.op === "subscribe") subscriptions.push(m);
      });
      ws.on("framereceived", (f) => {
        const m = JSON.parse(String(f.payload));
        if (m.op === "event") lastSeqSeen = Math.max(lastSeqSeen, m.seq);
      });
    });
    await page.goto(reg.url + "/");
    await expect.poll(() => page.locator("#live").textContent()).toBe("Live");
    const renderedSeq = Number(await page.locator("body").getAttribute("data-seq"));
    expect(subscriptions).toEqual([{ op: "subscribe", types: ["server.status"], domains: [steady.domain, quiet.domain], after_seq: renderedSeq }]);
    expect(await statusOf(quiet.domain)).toBe("online");
    beating.clear();
    await reg.stop(); // feed sockets close with 1012 (contract §4)
    // Chromium reports the close once the closing handshake ends or times out (about 2 s here).
    await expect.poll(() => page.locator("#live").textContent(), { timeout: 5000 }).toBe("Reconnecting…");
    const seenBeforeRestart = Math.max(renderedSeq, lastSeqSeen);
    reg = await startRegistrar(env); // same port and database
    // Nobody heartbeats: both servers turn offline on the new node; the page learns it by replay or live.
    await page.waitForFunction(
      (ds) => ds.every((d) => document.querySelector(`[data-domain="${d}"] .status`)?.getAttribute("data-status") === "offline"),
      [quiet.domain, steady.domain],
      { timeout: 15_000 },
    );
    await expect.poll(() => page.locator("#live").textContent(), { timeout: 5000 }).toBe("Live");
    expect(subscriptions.length).toBeGreaterThanOrEqual(2);
    expect(subscriptions[1].after_seq).toBe(seenBeforeRestart);
  });
});
