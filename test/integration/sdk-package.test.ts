// The SDK as a published package (issue 13): the packed tarball passes publint and attw, installs into a fresh
// folder without the server's dependencies, and works against a real registrar from plain JavaScript on Node,
// from strict TypeScript (declarations only), and in a browser (bundled with the `browser` conditions, no `ws`,
// no Node built-ins, run in headless Chromium on a web app's own origin).
import { rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import { build, type Metafile } from "esbuild";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser } from "../browser/support.js";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { startRegistrar, ROOT, type InProcessRegistrar } from "../support/registrar.js";
import {
  CLIENT_DIR, consumerProject, installedPackages, packClient, PACKAGE_NAME, readJson, rootVersion, run, runScript, tempDir,
} from "../support/sdk-package.js";

const require = createRequire(import.meta.url);
const bin = (name: string) => path.join(ROOT, "node_modules/.bin", name);

describe("the SDK package, packed and installed", () => {
  const dbUrl = freshDatabaseUrl("sdkpkg");
  const dirs: string[] = [];
  let reg: InProcessRegistrar;
  let tarball: string;
  let bare: string; // the tarball alone
  let app: string; // the tarball and `ws`
  let browser: Browser | undefined;
  let site: Site;

  beforeAll(async () => {
    site = await serveSite();
    // OFFLINE_AFTER_S=2 makes the registrar announce 1 s heartbeats, so sessions see an ack quickly. The web app's
    // origin is allowed by CORS, as an operator would configure it for a site that uses the SDK.
    reg = await startRegistrar({ DATABASE_URL: dbUrl, RATE_LIMIT_REGISTER: "off", OFFLINE_AFTER_S: "2", CORS_ORIGINS: site.url });
    const packDir = tempDir("pack");
    dirs.push(packDir);
    tarball = await packClient(packDir);
    [bare, app] = await Promise.all([consumerProject("bare", [tarball]), consumerProject("app", [tarball, `ws@${rootVersion("ws")}`])]);
    dirs.push(bare, app);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await reg?.stop();
    await dropDatabase(dbUrl);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("packs a tarball that publint (strict) and attw (ESM-only profile) accept", async () => {
    const lint = await run(bin("publint"), ["run", "--strict", tarball], CLIENT_DIR);
    expect(lint.stdout).toContain("All good");
    // attw exits non-zero on any problem in the resolutions an ESM-only package supports (node16 from ESM,
    // bundler); `run` throws then. node10 resolves too (the top-level "types"); only require() from CJS is left out.
    const types = await run(bin("attw"), ["--profile", "esm-only", "--no-emoji", tarball], CLIENT_DIR);
    const table = types.stdout.replace(/\x1b\[[0-9;]*m/g, "");
    expect(table).toMatch(/node16 \(from ESM\)\s+│\s+OK \(ESM\)/);
    expect(table).toMatch(/bundler\s+│\s+OK\s+│/);
  });

  it("installs without any of the server's dependencies", () => {
    const sdk = readJson(path.join(CLIENT_DIR, "package.json"));
    const server = readJson(path.join(ROOT, "package.json"));
    const installed = installedPackages(bare);
    expect(installed).toContain(PACKAGE_NAME);
    const declared = new Set(Object.keys(sdk.dependencies ?? {}));
    expect(installed.filter((name) => name in (server.dependencies ?? {}) && !declared.has(name))).toEqual([]);
    // `ws` is an optional peer: not installed unless the user asks for it.
    expect(installed).not.toContain("ws");
  });

  it("says how to fix a missing `ws` on a runtime without a global WebSocket", async () => {
    const out = await runScript<{ globalWebSocket: boolean; reason: string }>(bare, "no-ws.mjs", reg.url);
    if (out.globalWebSocket) {
      // Node ≥ 22 has a global WebSocket: `ws` is never needed, so the feed just works (it was told to retry late).
      expect(out.reason).not.toMatch(/ws/);
    } else {
      expect(out.reason).toContain("install the optional peer dependency `ws`");
    }
  });

  it("works from plain JavaScript (ESM) on Node: register, get, heartbeat, feed event, session with acks", async () => {
    const out = await runScript<Record<string, any>>(app, "scenario.mjs", reg.url);
    // The installed copy, not the workspace's source.
    expect(out.resolved).toBe(`file://${app}/node_modules/@zent/registrar-client/dist/index.js`);
    expect(out.constants).toEqual({ eventTypes: ["server.registered", "server.updated", "server.status", "server.removed", "rating.created"], replaced: 4010 });
    expect(out.registered).toMatchObject({ token: 64 });
    expect(out.record).toEqual({ domain: out.registered.domain, status: "online" });
    expect(out.heartbeat).toBe("online");
    expect(out.feedEvent).toEqual({ type: "server.updated", domain: out.registered.domain, description: "from plain JavaScript", hasOp: false });
    expect(out.session).toEqual({ sessionId: "string", ackSeq: 1, pushed: "server.updated", status: "stopped" });
    expect(out.missing).toEqual({ isApiError: true, status: 404, code: "not_found" });
  });

  it("type-checks strictly against the emitted declarations alone and runs from TypeScript", async () => {
    // The consumer's tsconfig: strict, exactOptionalPropertyTypes, skipLibCheck off, no @types/node; consumer.ts
    // holds @ts-expect-error lines that fail the compile if the declarations were `any`.
    await run(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.json"], app);
    const out = await runScript<Record<string, unknown>>(app, "run-typed.mjs", reg.url);
    expect(out).toMatchObject({ status: "online", heartbeat: "online", event: "server.updated", sessionStatus: "online", closeCode: 4010 });
  });

  it("bundles for browsers with the browser fallback only (no ws, no Node built-ins), and for Node with `ws`", async () => {
    const bundle = (platform: "browser" | "node") =>
      build({
        entryPoints: [path.join(app, platform === "browser" ? "browser.mjs" : "scenario.mjs")], absWorkingDir: app,
        bundle: true, platform, format: "esm", target: "es2022", write: false, metafile: true, logLevel: "silent",
        packages: platform === "node" ? "external" : undefined,
      });
    const web = await bundle("browser");
    const inputs = Object.keys(web.metafile.inputs);
    expect(inputs).toContain("node_modules/@zent/registrar-client/dist/websocket-fallback-browser.js");
    expect(inputs.filter((i) => /websocket-fallback-node|node_modules\/ws\//.test(i))).toEqual([]);
    expect(importsOf(web.metafile).filter((p) => p.startsWith("node:") || p === "ws")).toEqual([]);
    expect(web.outputFiles[0].text).not.toMatch(/\bimport\(\s*["']ws["']\)|from\s*["'](ws|node:[a-z_/]+)["']/);

    // The same package under Node's conditions takes the other branch: proof that the conditions are what differ.
    const nodeApp = await build({
      entryPoints: [path.join(app, "node_modules/@zent/registrar-client/dist/index.js")], absWorkingDir: app,
      bundle: true, platform: "node", format: "esm", write: false, metafile: true, logLevel: "silent", packages: "external",
    });
    expect(Object.keys(nodeApp.metafile.inputs)).toContain("node_modules/@zent/registrar-client/dist/websocket-fallback-node.js");
    expect(importsOf(nodeApp.metafile)).toContain("ws");
  });

  it("runs in headless Chromium from another origin: register, heartbeat, feed event and a server session", async () => {
    const web = await build({
      entryPoints: [path.join(app, "browser.mjs")], absWorkingDir: app,
      bundle: true, platform: "browser", format: "esm", target: "es2022", write: false, logLevel: "silent",
    });
    site.script = web.outputFiles[0].text;
    browser = await launchBrowser();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(site.url);
    await page.waitForFunction(() => typeof (window as { runScenario?: unknown }).runScenario === "function", null, { timeout: 10_000 });
    const out = await page.evaluate((url) => (window as unknown as { runScenario(u: string): Promise<unknown> }).runScenario(url), reg.url);
    expect(out).toMatchObject({ heartbeat: "online", event: { type: "server.updated", description: "from Chromium" }, ackSeq: 1, users: 7 });
    expect(errors).toEqual([]);
    await page.close();
  });
});

type Site = { url: string; script: string; close(): Promise<void> };

/**
 * A web app on its own loopback origin: a page that loads the bundled SDK. (A page faked by request interception
 * has no address space, and Chromium's local-network checks then refuse its WebSockets to 127.0.0.1.)
 */
async function serveSite(): Promise<Site> {
  const site = { url: "", script: "" } as Site;
  const server = createServer((req, res) => {
    if (req.url === "/sdk.js") res.writeHead(200, { "content-type": "text/javascript" }).end(site.script);
    else res.writeHead(200, { "content-type": "text/html" }).end('<!doctype html><script type="module" src="/sdk.js"></script>');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  site.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  site.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return site;
}

/** Every import path in a bundle's module graph (resolved or external). */
function importsOf(meta: Metafile): string[] {
  return Object.values(meta.inputs).flatMap((input) => input.imports.map((i) => (i.external ? i.path : i.original ?? i.path)));
}
