// §9.2 listing cursors: the last record's sort key and domain plus a fingerprint of the query, as an opaque string.
// A cursor seeks into the sort index (SortIndex.after), so a record that did not change between two pages keeps its
// place relative to the cursor: it is neither repeated nor skipped, whatever was added or removed meanwhile.
import { createHash } from "node:crypto";
import { ServerRecord } from "../core/record.js";
import type { SortKey } from "./sort-index.js";

const VERSION = 1;

type KeyValue = number | string | null | [string, string] | [boolean, number];

/** The query a cursor belongs to: every listing parameter but limit, offset and cursor, in a fixed order. */
export function queryFingerprint(parts: Record<string, string | number | boolean | undefined>): string {
  const canonical = JSON.stringify(Object.keys(parts).sort().map((k) => [k, parts[k] ?? null]));
  return createHash("sha256").update(canonical).digest("base64url").slice(0, 16);
}

function keyOf(sort: SortKey, r: ServerRecord): KeyValue {
  switch (sort) {
    case "users": return r.userCount;
    case "channels": return r.channelCount;
    case "name": return [r.nameKey, r.name];
    case "created": return r.createdAtMs;
    case "last_seen": return r.lastSeenMs;
    case "rating": return [r.ratingCount > 0, r.ratingCount === 0 ? 0 : r.ratingSum / r.ratingCount];
    case "uptime": return r.uptime30d;
  }
}

export function encodeCursor(sort: SortKey, fingerprint: string, last: ServerRecord): string {
  return Buffer.from(JSON.stringify({ v: VERSION, f: fingerprint, k: keyOf(sort, last), d: last.domain })).toString("base64url");
}

export type CursorProblem = "malformed" | "other_query";

/**
 * The stand-in record that compares like the cursor's last record (sort key, then domain), or why the cursor cannot
 * be used. Any string may arrive here: every field is checked before it is trusted.
 */
export function decodeCursor(cursor: string, sort: SortKey, fingerprint: string): ServerRecord | CursorProblem {
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return "malformed";
  let c: { v?: unknown; f?: unknown; k?: unknown; d?: unknown };
  try {
    c = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    return "malformed";
  }
  if (typeof c !== "object" || c === null || c.v !== VERSION || typeof c.f !== "string" || typeof c.d !== "string" || c.d.length > 253) return "malformed";
  if (c.f !== fingerprint) return "other_query";
  const probe = new ServerRecord(c.d, "");
  return setKey(probe, sort, c.k) ? probe : "malformed";
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

function setKey(p: ServerRecord, sort: SortKey, k: unknown): boolean {
  switch (sort) {
    case "users":
      return isInt(k) && ((p.userCount = k), true);
    case "channels":
      return isInt(k) && ((p.channelCount = k), true);
    case "created":
      return isInt(k) && ((p.createdAtMs = k), true);
    case "last_seen":
      return isInt(k) && ((p.lastSeenMs = k), true);
    case "name":
      if (!Array.isArray(k) || k.length !== 2 || typeof k[0] !== "string" || typeof k[1] !== "string") return false;
      p.nameKey = k[0];
      p.name = k[1];
      return true;
    case "rating":
      if (!Array.isArray(k) || k.length !== 2 || typeof k[0] !== "boolean" || !isNum(k[1])) return false;
      // average × 1 rating: compares exactly like sum/count of the real record.
      p.ratingCount = k[0] ? 1 : 0;
      p.ratingSum = k[0] ? k[1] : 0;
      return true;
    case "uptime":
      if (k !== null && !isNum(k)) return false;
      p.uptime30d = k;
      return true;
  }
}
