// The rating summary a rating.created event carries (count and sum after the rating), applied to the directory.
import type { RegistryEvent } from "../core/events.js";
import { SORT_FIELD } from "../core/record.js";
import type { Directory } from "./directory.js";

/** A rating.created event carries the server's rating summary after it: applied in seq order, the last one wins. */
export function applyRatingSummary(directory: Directory, ev: RegistryEvent): void {
  const rec = directory.get(ev.domain);
  const summary = ev.data.summary as { count?: number; sum?: number } | undefined;
  if (rec && summary && typeof summary.count === "number" && typeof summary.sum === "number") {
    directory.update(rec, SORT_FIELD.rating, false, () => {
      rec.ratingCount = summary.count!;
      rec.ratingSum = summary.sum!;
    });
  }
}

