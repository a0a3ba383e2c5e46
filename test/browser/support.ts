// Browser-test helpers: headless Chromium through playwright-core, seeding a registrar over its HTTP API, and the
// page checks several tests share (card order, sideways scrolling).
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { expect } from "vitest";
import { api } from "../support/http.js";

/** Debian's Chromium (issue 12); never a downloaded browser. */
export const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/**
 * A context whose requests leave loopback never: anything else (server icons on their own https hosts) is answered
 * with a failure and recorded, so a test can still see which icon URLs the page asked for.
 */
export async function loopbackContext(browser: Browser, opts: { javaScriptEnabled?: boolean; width?: number } = {}) {
  const context = await browser.newContext({
    javaScriptEnabled: opts.javaScriptEnabled ?? true,
    viewport: { width: opts.width ?? 1280, height: 900 },
  });
  // A missing element fails the test in seconds, not after the 30 s default.
  context.setDefaultTimeout(5000);
  const external: string[] = [];
  await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => {
    external.push(route.request().url());
    return route.abort("addressunreachable");
  });
  return { context, external };
}

export type SeedServer = {
  domain: string;
  name: string;
  description?: string;
  icon?: string;
  users?: number;
  ratings?: { user: string; stars: number; comment?: string }[];
};

export type Seeded = SeedServer & { token: string };

/** Registers, heartbeats (with user counts) and rates servers through the public API, as real clients would. */
export async function seed(url: string, servers: SeedServer[]): Promise<Seeded[]> {
  const c = api(url);
  const out: Seeded[] = [];
  for (const s of servers) {
    const reg = await c.post("/v1/servers", {
      domain: s.domain, name: s.name, api_url: `https://${s.domain}/api`, ws_url: `wss://${s.domain}/ws`,
      ...(s.description ? { description: s.description } : {}), ...(s.icon ? { icon: s.icon } : {}),
      protocols: ["zent/1"], capabilities: ["voice"], version: "1.4.2",
    });
    expect(reg.status, reg.text).toBe(201);
    const token = reg.body.token as string;
    if (s.users !== undefined) {
      const hb = await c.post(`/v1/servers/${s.domain}/heartbeat`, { user_count: s.users, channel_count: 3 }, { token });
      expect(hb.status, hb.text).toBe(200);
    }
    for (const r of s.ratings ?? []) {
      const res = await c.post(`/v1/servers/${s.domain}/rate`, { user_id: r.user, rating: r.stars, ...(r.comment ? { comment: r.comment } : {}) });
      expect([200, 201], res.text).toContain(res.status);
    }
    out.push({ ...s, token });
  }
  return out;
}

/** Domains of the server cards on the page, in order. */
export function cardDomains(page: Page): Promise<string[]> {
  return page.$$eval("li.card", (els) => els.map((e) => (e as HTMLElement).dataset.domain ?? ""));
}

/** Domains the JSON listing answers for the same question (the page must show the same order). */
export async function apiDomains(url: string, query: string): Promise<string[]> {
  const res = await api(url).get(`/v1/servers?limit=20&${query}`);
  expect(res.status, res.text).toBe(200);
  return res.body.servers.map((s: { domain: string }) => s.domain);
}

/** Contract §9.1 "fits a 360 px wide screen": nothing scrolls sideways. */
export async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const m = await page.evaluate(() => ({ scroll: document.scrollingElement!.scrollWidth, client: document.scrollingElement!.clientWidth }));
  expect(m.scroll, `page ${page.url()} is ${m.scroll}px wide in a ${m.client}px viewport`).toBeLessThanOrEqual(m.client);
}

/** Records CSP violations and dialogs from the first script on, so a test can assert that nothing ran. */
export async function watchForScript(context: BrowserContext): Promise<{ dialogs: string[] }> {
  const dialogs: string[] = [];
  context.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await context.addInitScript(() => {
    (window as unknown as { __violations: string[] }).__violations = [];
    document.addEventListener("securitypolicyviolation", (e) => (window as unknown as { __violations: string[] }).__violations.push(e.violatedDirective));
  });
  return { dialogs };
}
