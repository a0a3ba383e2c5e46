// The web directory under PATH_PREFIX (contract §7) in Chromium: clicking through sorts, a server page, the search
// form and back never leaves the prefix; the stylesheet, the script and the live feed load from under it too.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { launchBrowser, loopbackContext, seed } from "./support.js";

const PREFIX = "/registrar";

describe("web directory under PATH_PREFIX", () => {
  const dbUrl = freshDatabaseUrl("webprefix");
  let reg: InProcessRegistrar;
  let browser: Browser;
  let page: Page;
  const requested: string[] = [];
  const failed: string[] = [];
  const sockets: string[] = [];

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, PATH_PREFIX: PREFIX, RATE_LIMIT_LIST: "off", RATE_LIMIT_REGISTER: "off", RATINGS_ANONYMOUS: "true" });
    await seed(reg.url, [
      { domain: "alpha.example.org", name: "Alpha", users: 9, description: "Board games on Fridays." },
      { domain: "beta.example.org", name: "Beta", users: 5, ratings: [{ user: "u1", stars: 5 }] },
    ]);
    browser = await launchBrowser();
    const { context } = await loopbackContext(browser);
    page = await context.newPage();
    page.on("request", (r) => requested.push(r.url()));
    page.on("response", (r) => void (r.status() >= 400 && failed.push(`${r.status()} ${r.url()}`)));
    page.on("websocket", (ws) => sockets.push(ws.url()));
  });
  afterAll(async () => {
    await browser?.close();
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  const pathOf = () => new URL(page.url()).pathname + new URL(page.url()).search;

  it("stays under the prefix while clicking through, and loads its files and the feed from under it", async () => {
    await page.goto(`${reg.url}${PREFIX}/`);
    await expect.poll(() => page.locator("#live").textContent()).toBe("Live");
    expect(sockets.map((u) => new URL(u).pathname)).toEqual([`${PREFIX}/v1/feed`]);

    await page.click("nav.sorts >> text=Best rated");
    expect(pathOf()).toMatch(new RegExp(`^${PREFIX}/\\?.*sort=rating`));
    expect(await page.locator("li.card").first().getAttribute("data-domain")).toBe("beta.example.org");

    await page.click('a[href$="/server/alpha.example.org"]');
    expect(pathOf()).toBe(`${PREFIX}/server/alpha.example.org`);
    await expect.poll(() => page.locator("#live").textContent()).toBe("Live");

    await page.click("text=← All servers");
    expect(pathOf()).toBe(`${PREFIX}/`);

    await page.fill("#q", "board games");
    await page.click("form.search button[type=submit]");
    await page.waitForURL(/q=board/);
    expect(pathOf()).toMatch(new RegExp(`^${PREFIX}/\\?`));
    expect(await page.locator("li.card").evaluateAll((cards) => cards.map((c) => c.getAttribute("data-domain")))).toEqual(["alpha.example.org"]);

    const sameOrigin = requested.filter((u) => u.startsWith(reg.url));
    expect(sameOrigin.filter((u) => !new URL(u).pathname.startsWith(`${PREFIX}/`))).toEqual([]);
    expect(sameOrigin.some((u) => new URL(u).pathname.startsWith(`${PREFIX}/assets/`))).toBe(true);
    expect(failed).toEqual([]);
    // Styles applied: the stylesheet under the prefix loaded (an unstyled page has no card border radius).
    expect(await page.locator("li.card article").first().evaluate((el) => getComputedStyle(el).borderTopLeftRadius)).not.toBe("0px");
  });
});
