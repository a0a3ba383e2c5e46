// One PHP `servers` row → the record this registrar keeps: normalised domain, capabilities as a list, hashed token,
// status from last_seen, and the §2 rules it breaks (it is imported as it is; contract §7).
import { ServerRecord } from "../core/record.js";
import { normalizeDomain } from "../domain/domain-name.js";
import { zodIssuesToDetails, type ServerSchemas } from "../domain/schemas.js";
import { hashToken } from "../core/tokens.js";
import type { PhpServerRow } from "./php-source.js";

const DAY_MS = 86_400_000;
const MAX_INT = 2 ** 31 - 1;
const TOKEN = /^[0-9a-f]{64}$/;

export type Problem = { field: string; message: string };

export type ConvertSettings = {
  nowMs: number;
  registrarId: string;
  offlineAfterMs: number;
  tokenTtlDays: number;
  tokenMaxAgeDays: number;
  schemas: ServerSchemas;
};

export type TokenState = "valid" | "expired" | "malformed";

export type ImportedServer = {
  /** The PHP spelling of the domain (the key of its row and of its ratings there). */
  sourceDomain: string;
  record: ServerRecord;
  /** The token_expires_at column: the sliding expiry capped by the absolute one (src/store/servers-repo.ts). */
  tokenExpiresMs: number;
  tokenState: TokenState;
  /** §2 rules the row breaks, and what the import had to change to keep it (both reported). */
  problems: Problem[];
};

export type Unusable = { sourceDomain: string; reason: string };

export function convertServer(row: PhpServerRow, s: ConvertSettings): { server: ImportedServer } | { unusable: Unusable } {
  const domain = normalizeDomain(row.domain);
  // A record whose domain cannot be normalised could never be reached through a path (every route normalises
  // :domain) nor managed by its owner: it is reported, not imported.
  if (domain === null) {
    return { unusable: { sourceDomain: row.domain, reason: "not a domain name this registrar can serve (labels of a-z 0-9 and inner hyphens, at most 63 characters each, 253 in all)" } };
  }
  const problems: Problem[] = [];
  const rec = new ServerRecord(domain, s.registrarId);
  rec.applyFields({
    name: row.name ?? "",
    api_url: row.api_url ?? "",
    ws_url: orNull(row.ws_url),
    voice_url: orNull(row.voice_url),
    voice_provider: orNull(row.voice_provider),
    cdn_url: orNull(row.cdn_url),
    description: orNull(row.description),
    icon: orNull(row.icon),
    version: orNull(row.version),
    protocols: stringList(row.protocols, "protocols", problems),
    capabilities: capabilityList(row.capabilities, problems),
  });
  rec.userCount = count(row.user_count, "user_count", problems);
  rec.channelCount = count(row.channel_count, "channel_count", problems);
  rec.verified = Boolean(row.verified);
  rec.lastSeenMs = lastSeen(row, s.nowMs, problems);
  rec.createdAtMs = row.created_at ? row.created_at.getTime() : rec.lastSeenMs;
  // Status is decided now, from last_seen, as the running registrar's own timer would have (the PHP never stored it).
  rec.status = rec.lastSeenMs + s.offlineAfterMs <= s.nowMs ? "offline" : "online";
  rec.persistedStatus = rec.status;
  // The token keeps working: stored as its SHA-256 like every token here. Its sliding expiry is the PHP one (or,
  // without one, a TOKEN_TTL_DAYS after last_seen); its absolute expiry counts from this import (contract §7).
  const tokenText = row.server_token ?? "";
  rec.tokenHash = hashToken(tokenText).toString("hex");
  rec.tokenIssuedMs = s.nowMs;
  const slidingMs = row.token_expires_at ? row.token_expires_at.getTime() : rec.lastSeenMs + s.tokenTtlDays * DAY_MS;
  rec.tokenActivityMs = slidingMs - s.tokenTtlDays * DAY_MS;
  const tokenExpiresMs = Math.min(slidingMs, rec.tokenIssuedMs + s.tokenMaxAgeDays * DAY_MS);
  let tokenState: TokenState = tokenExpiresMs <= s.nowMs ? "expired" : "valid";
  if (!TOKEN.test(tokenText)) {
    tokenState = "malformed";
    problems.push({ field: "server_token", message: "not 64 lower-case hex characters: it can never be presented; the owner must recover the domain" });
  }
  problems.push(...ruleProblems(rec, s.schemas));
  return { server: { sourceDomain: row.domain, record: rec, tokenExpiresMs, tokenState, problems } };
}

/** The §2 rules the record breaks, checked by the same registration schema as POST /v1/servers. */
function ruleProblems(rec: ServerRecord, schemas: ServerSchemas): Problem[] {
  const fields = rec.clientFields();
  const body: Record<string, unknown> = { domain: rec.domain };
  for (const [key, value] of Object.entries(fields)) if (value !== null && value !== undefined) body[key] = value;
  const parsed = schemas.RegisterServer.safeParse(body);
  if (parsed.success) return [];
  return zodIssuesToDetails(parsed.error).map((d) => ({ field: d.path.split(".")[0] || "record", message: d.message }));
}

// The PHP stored "" where a client left an optional URL or text out; here that is null.
function orNull(value: string | null): string | null {
  return value === null || value === "" ? null : value;
}

function count(value: number | null, field: string, problems: Problem[]): number {
  const n = Number(value ?? 0);
  if (Number.isInteger(n) && n >= 0 && n <= MAX_INT) return n;
  problems.push({ field, message: `${value} is not a count: imported as 0` });
  return 0;
}

function lastSeen(row: PhpServerRow, nowMs: number, problems: Problem[]): number {
  const seen = row.last_seen?.getTime() ?? row.created_at?.getTime();
  if (seen === undefined || Number.isNaN(seen)) {
    problems.push({ field: "last_seen", message: "missing: set to the import time" });
    return nowMs;
  }
  // A clock ahead of ours would put the offline deadline too far out.
  if (seen > nowMs) {
    problems.push({ field: "last_seen", message: "in the future: set to the import time" });
    return nowMs;
  }
  return seen;
}

function parseJson(text: string | null, field: string, problems: Problem[]): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    problems.push({ field, message: "not valid JSON: imported as []" });
    return undefined;
  }
}

/** protocols: a list of strings; anything else the PHP stored (it kept any JSON) is reported. */
function stringList(text: string | null, field: string, problems: Problem[]): string[] {
  const value = parseJson(text, field, problems);
  if (value === null || value === undefined) return [];
  if (typeof value === "string") {
    problems.push({ field, message: `was the string ${JSON.stringify(value)}: imported as a list of it` });
    return [value];
  }
  if (Array.isArray(value)) {
    const strings = value.filter((v): v is string => typeof v === "string");
    if (strings.length < value.length) problems.push({ field, message: `${value.length - strings.length} entries that are not strings were left out` });
    return strings;
  }
  if (typeof value === "object") {
    problems.push({ field, message: "was an object: its keys with a true value were kept" });
    return trueKeys(value as Record<string, unknown>);
  }
  problems.push({ field, message: `was ${JSON.stringify(value)}: imported as []` });
  return [];
}

/** capabilities: the PHP's usual object `{"voice":true}` becomes the list of keys with a true value (contract §7). */
function capabilityList(text: string | null, problems: Problem[]): string[] {
  const value = parseJson(text, "capabilities", problems);
  if (value !== null && typeof value === "object" && !Array.isArray(value)) return trueKeys(value as Record<string, unknown>);
  return stringList(value === undefined ? null : text, "capabilities", problems);
}

function trueKeys(o: Record<string, unknown>): string[] {
  return Object.keys(o).filter((k) => o[k] === true);
}
