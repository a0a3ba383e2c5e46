// PHP `ratings` rows → ratings here: one per (server, user) as this registrar keeps them (the newest wins, as a new
// rating replaces an older one), bad rows reported rather than stored.
import type { PhpRatingRow } from "./php-source.js";

export type ImportedRating = { sourceId: number; domain: string; userId: string; rating: number; comment: string | null; createdAtMs: number };

export type RatingIssue = { sourceId: number; domain: string; reason: string };

export type ConvertedRatings = {
  /** Per domain (normalised), the ratings to store. */
  byDomain: Map<string, ImportedRating[]>;
  /** Older ratings by the same user of the same server, left out (the PHP kept every one; here one counts). */
  superseded: ImportedRating[];
  invalid: RatingIssue[];
};

/**
 * `domainOf` maps a PHP spelling of a domain to the normalised one (ratings were linked case-insensitively).
 * `userIdMaxChars` is the width of ratings.user_id here: a longer user id cannot be stored and is reported.
 */
export function convertRatings(rows: PhpRatingRow[], domainOf: (sourceDomain: string) => string | undefined, userIdMaxChars: number): ConvertedRatings {
  const newest = new Map<string, ImportedRating>();
  const superseded: ImportedRating[] = [];
  const invalid: RatingIssue[] = [];
  for (const row of rows) {
    const domain = domainOf(row.domain);
    if (domain === undefined) continue;
    const rating = Number(row.rating);
    if (!Number.isInteger(rating) || rating < 1 || rating > 5) {
      invalid.push({ sourceId: row.id, domain, reason: `rating ${row.rating} is not 1–5` });
      continue;
    }
    const userId = row.user_id ?? "";
    if ([...userId].length > userIdMaxChars) {
      invalid.push({ sourceId: row.id, domain, reason: `user id longer than ${userIdMaxChars} characters` });
      continue;
    }
    const r: ImportedRating = { sourceId: row.id, domain, userId, rating, comment: row.comment, createdAtMs: row.created_at?.getTime() ?? 0 };
    // ratings_domain_user compares with PAD SPACE: "bob" and "bob " are one user there.
    const key = `${domain}\n${userId.replace(/ +$/, "")}`;
    const prior = newest.get(key);
    if (!prior) {
      newest.set(key, r);
    } else if (isNewer(r, prior)) {
      superseded.push(prior);
      newest.set(key, r);
    } else {
      superseded.push(r);
    }
  }
  const byDomain = new Map<string, ImportedRating[]>();
  for (const r of newest.values()) {
    let list = byDomain.get(r.domain);
    if (!list) byDomain.set(r.domain, (list = []));
    list.push(r);
  }
  return { byDomain, superseded, invalid };
}

export function isNewer(a: { createdAtMs: number; sourceId: number }, b: { createdAtMs: number; sourceId: number }): boolean {
  return a.createdAtMs > b.createdAtMs || (a.createdAtMs === b.createdAtMs && a.sourceId > b.sourceId);
}
