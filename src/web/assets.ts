// The web directory's static files (src/web/static): read once at start, served under content-hashed URLs so a
// browser may keep them a year, with an ETag for revalidation.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../paths.js";
import type { AssetUrls } from "./layout.js";

export type Asset = { body: Buffer; contentType: string; etag: string; version: string };

const STATIC_DIR = path.join(PROJECT_ROOT, "src", "web", "static");
const FILES: Record<string, string> = {
  "style.css": "text/css; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
};

export type Assets = { get(name: string): Asset | undefined; urls: AssetUrls };

/** Loads every static file; a missing one fails start-up here rather than as a broken page later. */
export function loadAssets(dir = STATIC_DIR): Assets {
  const assets = new Map<string, Asset>();
  for (const [name, contentType] of Object.entries(FILES)) {
    const body = readFileSync(path.join(dir, name));
    const version = createHash("sha256").update(body).digest("base64url").slice(0, 16);
    assets.set(name, { body, contentType, etag: `"${version}"`, version });
  }
  const url = (name: string) => `/assets/${name}?v=${assets.get(name)!.version}`;
  return { get: (name) => assets.get(name), urls: { css: url("style.css"), js: url("app.js") } };
}
