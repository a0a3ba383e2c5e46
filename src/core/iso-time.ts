// Timestamps as ISO 8601 text on hot paths (heartbeat replies, request log lines, write-behind rows): the date part
// is formatted once per UTC day and the time of day by hand, several times cheaper than Date#toISOString.
const DAY_MS = 86_400_000;
/** Date#toISOString's four-digit-year range ends here (year 10000); outside it, and for bad input, defer to it. */
const MAX_FAST_MS = 253_402_300_800_000;
/** Distinct days kept (a heartbeat reply mixes today with the token's expiry day; write-behind many expiry days). */
const MAX_DAYS = 512;

const prefixes = new Map<number, string>();
// The two most recent days answer most calls without a map lookup.
let dayA = -1;
let prefixA = "";
let dayB = -1;
let prefixB = "";

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/** "YYYY-MM-DD" of the UTC day holding `ms`, or null when Date must format it (not an integer, out of range). */
function datePart(ms: number): string | null {
  if (!Number.isInteger(ms) || ms < 0 || ms >= MAX_FAST_MS) return null;
  const day = Math.floor(ms / DAY_MS);
  if (day === dayA) return prefixA;
  if (day === dayB) return prefixB;
  let prefix = prefixes.get(day);
  if (prefix === undefined) {
    if (prefixes.size >= MAX_DAYS) prefixes.clear();
    prefix = new Date(day * DAY_MS).toISOString().slice(0, 10);
    prefixes.set(day, prefix);
  }
  dayB = dayA;
  prefixB = prefixA;
  dayA = day;
  prefixA = prefix;
  return prefix;
}

function timeOfDay(ms: number): string {
  let t = ms % DAY_MS;
  const milli = t % 1000;
  t = (t - milli) / 1000;
  const s = t % 60;
  t = (t - s) / 60;
  const m = t % 60;
  return `${pad2((t - m) / 60)}:${pad2(m)}:${pad2(s)}.${pad3(milli)}`;
}

/** Same text as `new Date(ms).toISOString()`, e.g. 2026-12-03T14:00:00.123Z. */
export function isoTime(ms: number): string {
  const date = datePart(ms);
  return date === null ? new Date(ms).toISOString() : `${date}T${timeOfDay(ms)}Z`;
}

/** A DATETIME(3) literal in UTC, e.g. 2026-12-03 14:00:00.123. */
export function sqlDateTime(ms: number): string {
  const date = datePart(ms);
  return date === null ? new Date(ms).toISOString().replace("T", " ").slice(0, 23) : `${date} ${timeOfDay(ms)}`;
}
