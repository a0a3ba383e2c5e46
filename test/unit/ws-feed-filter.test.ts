// Feed filters and their uWS topics: a subscriber's topics catch exactly the events its filter matches, once.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EVENT_TYPES, type RegistryEvent } from "../../src/core/events.js";
import { matches, topicsFor, topicsOf, type FeedFilter } from "../../src/ws/feed-filter.js";

const DOMAINS = ["a.example.com", "b.example.com", "c.example.org"];
const event = fc.record({
  seq: fc.nat(),
  type: fc.constantFrom(...EVENT_TYPES),
  domain: fc.constantFrom(...DOMAINS),
  origin: fc.constant("local"),
  at: fc.constant("2026-11-22T13:00:00.000Z"),
  data: fc.constant({}),
}) as fc.Arbitrary<RegistryEvent>;
const filter = fc.record({
  types: fc.option(fc.uniqueArray(fc.constantFrom(...EVENT_TYPES), { minLength: 1 }).map((a) => new Set(a)), { nil: null }),
  domains: fc.option(fc.uniqueArray(fc.constantFrom(...DOMAINS), { minLength: 1 }).map((a) => new Set(a)), { nil: null }),
}) as fc.Arbitrary<FeedFilter>;

describe("feed topics", () => {
  it("deliver an event to a subscriber exactly once when its filter matches, and never otherwise", () => {
    fc.assert(
      fc.property(filter, event, (f, ev) => {
        const subscribed = new Set(topicsFor(f));
        const hits = topicsOf(ev).filter((t) => subscribed.has(t)).length;
        expect(hits).toBe(matches(f, ev) ? 1 : 0);
      }),
    );
  });

  it("subscribe an unfiltered client to one topic", () => {
    expect(topicsFor({ types: null, domains: null })).toHaveLength(1);
  });
});
