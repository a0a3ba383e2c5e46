// Legacy request bodies → the /v1 shapes (contract §7): camelCase keys mapped, unknown keys ignored, a capabilities
// object turned into its true keys. The result goes through the /v1 schemas: one set of rules, two wire formats.
import { ValidationError, type ErrorDetail } from "../../core/errors.js";

/** Legacy key → /v1 field, for every field a legacy server body may carry. */
export const LEGACY_TO_V1 = {
  domain: "domain",
  name: "name",
  apiUrl: "api_url",
  wsUrl: "ws_url",
  voiceUrl: "voice_url",
  voiceProvider: "voice_provider",
  cdnUrl: "cdn_url",
  protocols: "protocols",
  capabilities: "capabilities",
  description: "description",
  icon: "icon",
  version: "version",
  userCount: "user_count",
  channelCount: "channel_count",
  fromDomain: "from_domain",
  userId: "user_id",
  rating: "rating",
  comment: "comment",
} as const;

type LegacyKey = keyof typeof LEGACY_TO_V1;

/** /v1 field → legacy key, so an error names the field the client sent. */
export const V1_TO_LEGACY: Record<string, string> = Object.fromEntries(Object.entries(LEGACY_TO_V1).map(([l, v]) => [v, l]));

const SERVER_FIELDS: LegacyKey[] = ["name", "apiUrl", "wsUrl", "voiceUrl", "voiceProvider", "cdnUrl", "protocols", "capabilities", "description", "icon", "version"];
// Optional fields: the PHP registrar stored "" for "none", and its clients still send it.
const OPTIONAL: ReadonlySet<LegacyKey> = new Set(["voiceUrl", "voiceProvider", "cdnUrl", "description", "icon", "version"]);
const REGISTRATION_REQUIRED: LegacyKey[] = ["domain", "name", "apiUrl", "wsUrl"];

/** Thrown for a body that is JSON but not an object (the PHP read keys out of an array, so only objects make sense). */
function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body === "object" && body !== null && !Array.isArray(body)) return body as Record<string, unknown>;
  throw new ValidationError("the body must be a JSON object", [{ path: "", message: "must be a JSON object" }]);
}

function required(v1Field: string): ValidationError {
  return new ValidationError(`${v1Field} is required`, [{ path: v1Field, message: "required" }]);
}

/** PHP `capabilities` came as a list or as `{"voice":true,…}`: the keys with a value of true make the list. */
function capabilities(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const o = value as Record<string, unknown>;
  return Object.keys(o).filter((k) => o[k] === true);
}

function serverFields(raw: Record<string, unknown>, keys: LegacyKey[], forUpdate: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    let value = raw[key];
    if (value === undefined) continue;
    if (OPTIONAL.has(key) && (value === "" || value === null)) {
      // Absent at registration, cleared by an update.
      if (forUpdate) out[LEGACY_TO_V1[key]] = null;
      continue;
    }
    if (key === "capabilities") value = capabilities(value);
    out[LEGACY_TO_V1[key]] = value;
  }
  return out;
}

/** `POST /servers` → the /v1 registration body (to be parsed by RegisterServer). */
export function legacyRegistration(body: unknown): Record<string, unknown> {
  const raw = objectBody(body);
  for (const key of REGISTRATION_REQUIRED) {
    if (raw[key] === undefined || raw[key] === null) throw required(LEGACY_TO_V1[key]);
  }
  return { domain: raw.domain, ...serverFields(raw, SERVER_FIELDS, false) };
}

export type LegacyUpdate = { fields: Record<string, unknown> | null; stats: Record<string, unknown> | null };

/**
 * `PUT /servers/:domain` → the /v1 update body and heartbeat stats (userCount/channelCount are applied like a
 * heartbeat's, contract §7). Both null: nothing to update.
 */
export function legacyUpdate(body: unknown): LegacyUpdate {
  const raw = body === undefined ? {} : objectBody(body);
  const fields = serverFields(raw, SERVER_FIELDS, true);
  const stats = legacyStats(raw);
  return { fields: Object.keys(fields).length > 0 ? fields : null, stats: Object.keys(stats).length > 0 ? stats : null };
}

/** `POST /servers/:domain/heartbeat` (and a PUT's counts) → the /v1 heartbeat body. */
export function legacyStats(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  const raw = objectBody(body);
  const out: Record<string, unknown> = {};
  if (raw.userCount !== undefined && raw.userCount !== null) out.user_count = raw.userCount;
  if (raw.channelCount !== undefined && raw.channelCount !== null) out.channel_count = raw.channelCount;
  return out;
}

const NUMERIC = /^\s*[0-9]+\s*$/;

/** `POST /servers/:domain/rate` → the /v1 server-token rating body (contract §8.4); "4" is read as 4. */
export function legacyRating(body: unknown): Record<string, unknown> {
  const raw = objectBody(body);
  const out: Record<string, unknown> = {};
  for (const key of ["fromDomain", "userId", "comment"] as const) {
    if (raw[key] !== undefined) out[LEGACY_TO_V1[key]] = raw[key];
  }
  const rating = raw.rating;
  out.rating = typeof rating === "string" && NUMERIC.test(rating) ? Number(rating) : rating;
  return out;
}

/** Renames /v1 paths in error details to the legacy keys the client sent (`api_url` → `apiUrl`). */
export function legacyDetails(details: ErrorDetail[]): ErrorDetail[] {
  return details.map((d) => {
    const [head, ...rest] = d.path.split(".");
    return { ...d, path: [V1_TO_LEGACY[head] ?? head, ...rest].join(".") };
  });
}
