// The hand-made ISO and DATETIME text must equal what Date gives, across days, years and odd inputs.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isoTime, sqlDateTime } from "../../src/core/iso-time.js";

describe("isoTime / sqlDateTime", () => {
  it("equals Date#toISOString for any millisecond from 1970 to 9999, in any order", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 253_402_300_799_999 }), { minLength: 1, maxLength: 20 }), (times) => {
        for (const ms of times) {
          expect(isoTime(ms)).toBe(new Date(ms).toISOString());
          expect(sqlDateTime(ms)).toBe(new Date(ms).toISOString().replace("T", " ").slice(0, 23));
        }
      }),
      { numRuns: 500 },
    );
  });

  it("handles day edges and what Date alone can format", () => {
    const day = Date.UTC(2026, 11, 3);
    for (const ms of [day - 1, day, day + 86_399_999, day + 86_400_000, 0, 951_782_400_000 /* 2000-02-29 */, -1, 253_402_300_800_000, day, 1.5 + day, day + 7, NaN]) {
      if (Number.isNaN(ms)) {
        expect(() => isoTime(ms)).toThrow(RangeError);
        continue;
      }
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
  });
});
