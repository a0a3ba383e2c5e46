// Validators and content codings of 200 answers (contract §9.2): an ETag on every GET with If-None-Match → 304,
// and gzip or brotli for bodies over 1 KiB when Accept-Encoding allows. Compressed forms are kept next to the
// plain bytes they came from, so a cached listing page is compressed once, not per request.
import { createHash } from "node:crypto";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { etagMatches } from "../web/headers.js";

/** Bodies up to this size go out as they are (§9.2 "bodies over 1 KiB"). */
export const COMPRESS_ABOVE_BYTES = 1024;
// Quality 5 / level 6: most of the gain for a few milliseconds on a 33 KB page (docs/benchmarks.md, gzip cost).
const BROTLI_QUALITY = 5;
const GZIP_LEVEL = 6;

export type Coding = "br" | "gzip";
type Forms = { etag: string; br?: Buffer; gzip?: Buffer };

// Keyed by the plain body's Buffer: a cached page (PageCache) keeps its forms alive exactly as long as itself.
const forms = new WeakMap<Buffer, Forms>();

function formsOf(body: Buffer): Forms {
  let f = forms.get(body);
  if (!f) {
    // Weak: the same tag names the plain and the compressed forms (RFC 9110 §8.8.1), which If-None-Match accepts.
    f = { etag: `W/"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` };
    forms.set(body, f);
  }
  return f;
}

export function etagOf(body: Buffer): string {
  return formsOf(body).etag;
}

/** RFC 9110 §12.5.3: the coding the client accepts with the highest q (br before gzip on a tie), or null. */
export function pickCoding(acceptEncoding: string | undefined): Coding | null {
  if (!acceptEncoding) return null;
  let br = -1;
  let gzip = -1;
  let star = -1;
  for (const part of acceptEncoding.split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/.exec(p);
      if (m) q = Number(m[1]);
    }
    if (name === "br") br = q;
    else if (name === "gzip" || name === "x-gzip") gzip = q;
    else if (name === "*") star = q;
  }
  if (br < 0) br = star;
  if (gzip < 0) gzip = star;
  if (br <= 0 && gzip <= 0) return null;
  return br >= gzip ? "br" : "gzip";
}

export function compressed(body: Buffer, coding: Coding): Buffer {
  const f = formsOf(body);
  if (coding === "br") {
    return (f.br ??= brotliCompressSync(body, {
      params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: body.length },
    }));
  }
  return (f.gzip ??= gzipSync(body, { level: GZIP_LEVEL }));
}

/** Whether a header list names `name` (exact case, as the registrar writes them); no allocation. */
export function hasHeader(headers: readonly [string, string][], name: string): boolean {
  for (const h of headers) if (h[0] === name) return true;
  return false;
}

export type Representation = { status: number; body: Buffer | string | null; headers: [string, string][] };

/**
 * The answer to send for a handler's reply: 200s to GET/HEAD get an ETag (unless the route set its own) and become
 * a 304 when If-None-Match names it; bodies over 1 KiB are compressed per Accept-Encoding.
 */
export function represent(
  req: { method: string; ifNoneMatch: string | undefined; acceptEncoding: string | undefined },
  status: number,
  body: Buffer | string | null,
  headers: [string, string][] = [],
): Representation {
  if (body === null || status === 204 || status === 304) return { status, body, headers };
  const conditional = status === 200 && (req.method === "GET" || req.method === "HEAD");
  // Nothing to add to a small answer that is no GET (every heartbeat): no copy of the body or the headers.
  if (!conditional && (typeof body === "string" ? Buffer.byteLength(body) : body.length) <= COMPRESS_ABOVE_BYTES) return { status, body, headers };
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  const out = [...headers];
  if (conditional && !hasHeader(out, "ETag")) {
    const etag = etagOf(bytes);
    out.push(["ETag", etag]);
    if (etagMatches(req.ifNoneMatch, etag)) return { status: 304, body: null, headers: out };
  }
  if (bytes.length <= COMPRESS_ABOVE_BYTES || hasHeader(out, "Content-Encoding")) return { status, body: bytes, headers: out };
  out.push(["Vary", "Accept-Encoding"]);
  const coding = pickCoding(req.acceptEncoding);
  if (coding === null) return { status, body: bytes, headers: out };
  out.push(["Content-Encoding", coding]);
  return { status, body: compressed(bytes, coding), headers: out };
}
