// Webhook signatures: `X-Zent-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` (issue 4).
import { createHmac, timingSafeEqual } from "node:crypto";

/** The header value for `body` signed at `unixS` (whole seconds). The secret is used exactly as handed out. */
export function signatureHeader(secret: string, body: string, unixS: number): string {
  return `t=${unixS},v1=${hmacHex(secret, `${unixS}.${body}`)}`;
}

function hmacHex(secret: string, text: string): string {
  return createHmac("sha256", secret).update(text, "utf8").digest("hex");
}

/**
 * What a receiver does (docs/webhooks.md shows the same code): recompute the HMAC over the raw body and the
 * signed timestamp, compare in constant time, and refuse old timestamps so a captured request cannot be
 * replayed later. Several `v1=` entries are accepted (room for secret rotation).
 */
export function verifySignature(header: string | undefined, body: string, secret: string, opts: { toleranceS?: number; nowS?: number } = {}): boolean {
  if (!header) return false;
  let t: number | null = null;
  const candidates: string[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === "t" && /^\d{1,12}$/.test(value)) t = Number(value);
    else if (key === "v1" && /^[0-9a-f]{64}$/.test(value)) candidates.push(value);
  }
  if (t === null || candidates.length === 0) return false;
  const now = opts.nowS ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (opts.toleranceS ?? 300)) return false;
  const expected = Buffer.from(hmacHex(secret, `${t}.${body}`), "hex");
  return candidates.some((c) => timingSafeEqual(Buffer.from(c, "hex"), expected));
}
