// The rating summary a rating.created event carries (count, sum, stars and verified raters after the rating),
// applied to the directory.
import type { RegistryEvent } from "../core/events.js";
import { NO_STARS, SORT_FIELD, type RatingSummary } from "../core/record.js";
import type { Directory } from "./directory.js";

/** The summary of a `rating.created` event (src/store/ratings-repo.ts); distribution and verified_count since §8.4. */
export function readSummary(raw: unknown): RatingSummary | null {
  const s = raw as { count?: unknown; sum?: unknown; distribution?: unknown; verified_count?: unknown } | undefined;
  if (!s || typeof s.count !== "number" || typeof s.sum !== "number") return null;
  const stars = Array.isArray(s.distribution) && s.distribution.length === 5 && s.distribution.every((n) => Number.isInteger(n) && n >= 0)
    ? (s.distribution as number[]) : NO_STARS;
  return { count: s.count, sum: s.sum, distribution: stars, verified_count: typeof s.verified_count === "number" ? s.verified_count : 0 };
}

/** A rating.created event carries the server's rating summary after it: applied in seq order, the last one wins. */
export function applyRatingSummary(directory: Directory, ev: RegistryEvent): void {
  const rec = directory.get(ev.domain);
  const summary = readSummary(ev.data.summary);
  if (rec && summary) directory.update(rec, SORT_FIELD.rating, false, () => rec.setRatingSummary(summary));
}
