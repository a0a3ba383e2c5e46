// Directory pages against a brute-force listing (issue 8, contract §10): whichever way a page is found (index walk,
// selection from the candidates, the short cut past the last match) and whether the sort's index and the q match set
// were made at once or in slices with changes landing between the slices, the page is the one the contract orders.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CLIENT_FIELDS, LIVENESS_FIELDS, NO_SORT_FIELD, ServerRecord, type Status } from "../../src/core/record.js";
import { Directory, type ListFilter } from "../../src/directory/directory.js";
import { matchesQuery } from "../../src/directory/search-cache.js";
import { NewestFirst, SORT_KEYS, SortIndex, comparator } from "../../src/directory/sort-index.js";

const ORIGINS = ["local", "peer.example.net"];
const WORDS = ["alpha", "Bravo", "charlie", "Nebula", "delta", "echo"];

function record(i: number, seed: number): ServerRecord {
  const r = new ServerRecord(`s${String(i).padStart(4, "0")}.example.com`, ORIGINS[seed % 7 === 0 ? 1 : 0]);
  r.applyFields({ name: `${WORDS[seed % WORDS.length]} ${i % 13}`, api_url: `https://s${i}.example.com/api`, description: seed % 3 === 0 ? `about ${WORDS[(seed >> 2) % WORDS.length]}` : undefined });
  r.userCount = (seed >> 3) % 20;
  r.channelCount = (seed >> 5) % 7;
  r.createdAtMs = (seed >> 7) % 50;
  r.lastSeenMs = (seed >> 9) % 40;
  r.verified = seed % 5 === 0;
  r.status = seed % 4 === 0 ? "offline" : "online";
  if (seed % 6 === 1) {
    r.ratingCount = 1 + (seed % 3);
    r.ratingSum = r.ratingCount * (1 + (seed % 5));
  }
  return r;
}

/** The contract's page, computed from the records alone. */
function expected(all: ServerRecord[], f: ListFilter): { domains: string[]; total: number } {
  const q = f.q?.toLowerCase();
  const hits = all
    .filter((r) => (f.status === "any" || r.status === f.status) && (f.verified === undefined || r.verified === f.verified) && (f.origin === "any" || r.origin === f.origin))
    .filter((r) => q === undefined || (f.qIn === "name_domain" ? r.domain.includes(q) || r.name.toLowerCase().includes(q) : matchesQuery(r, q)))
    .sort(comparator(f.sort, f.order));
  return { domains: hits.slice(f.offset, f.offset + f.limit).map((r) => r.domain), total: hits.length };
}

const filter = fc.record({
  q: fc.option(fc.constantFrom("a", "ebu", "NEB", "zzz", "example", "s00", "about", "o 1"), { nil: undefined }),
  qIn: fc.constantFrom<"all" | "name_domain">("all", "name_domain"),
  sort: fc.constantFrom(...SORT_KEYS),
  order: fc.constantFrom<"asc" | "desc">("asc", "desc"),
  status: fc.constantFrom<Status | "any">("any", "online", "offline"),
  verified: fc.option(fc.boolean(), { nil: undefined }),
  origin: fc.constantFrom("any", ...ORIGINS, "nobody.example"),
  limit: fc.integer({ min: 1, max: 40 }),
  offset: fc.integer({ min: 0, max: 400 }),
});

describe("Directory pages", () => {
  it("equal a brute-force listing for every sort, order, filter, q and offset", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer(), fc.array(filter, { minLength: 1, maxLength: 8 }), (n, salt, filters) => {
        const d = new Directory();
        for (let i = 0; i < n; i++) d.add(record(i, Math.abs((i * 2654435761) ^ salt)));
        const all = [...d.values()];
        for (const f of filters) {
          const page = d.list(f);
          expect({ domains: page.records.map((r) => r.domain), total: page.total }).toEqual(expected(all, f));
        }
      }),
      { numRuns: 150 },
    );
  });

  it("equal it too when indexes and match sets are made in slices while records change between the slices", async () => {
    let changesLanded = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer(), fc.array(filter, { minLength: 1, maxLength: 6 }), async (salt, filters) => {
        const d = new Directory();
        // Large enough that a fill or a scan takes several slices.
        for (let i = 0; i < 3000; i++) d.add(record(i, Math.abs((i * 2654435761) ^ salt)));
        d.buildIndexesAhead();
        let stop = false;
        let k = 0;
        // Changes of every kind land between slices: heartbeats, renames, status flips, removals and additions.
        const churn = async () => {
          while (!stop) {
            await new Promise((r) => setImmediate(r));
            const r = d.get(`s${String(k % 3000).padStart(4, "0")}.example.com`);
            k += 7;
            if (!r) d.add(record(k % 3000, k));
            else if (k % 5 === 0) d.remove(r);
            else if (k % 5 === 1) d.update(r, CLIENT_FIELDS, true, () => r.applyFields({ name: `${WORDS[k % WORDS.length]} x` }));
            else if (k % 5 === 2) d.update(r, NO_SORT_FIELD, false, () => (r.status = r.status === "online" ? "offline" : "online"));
            else d.update(r, LIVENESS_FIELDS, false, () => { r.userCount = k % 17; r.lastSeenMs += 3; });
          }
        };
        const churning = churn();
        try {
          // Each page is checked as soon as it is selected, against the records as they are at that moment.
          await Promise.all(
            filters.map((f) =>
              d.listWhenReady(f).then((page) => {
                expect({ domains: page.records.map((r) => r.domain), total: page.total }).toEqual(expected([...d.values()], f));
              }),
            ),
          );
          changesLanded += k;
        } finally {
          stop = true;
          await churning;
        }
        // Every index, once complete, holds exactly the listed records in order.
        for (const sort of SORT_KEYS) for (const order of ["asc", "desc"] as const) {
          const f: ListFilter = { sort, order, status: "any", origin: "any", limit: 100, offset: 0 };
          expect(d.list(f).records.map((r) => r.domain)).toEqual(expected([...d.values()], f).domains);
        }
      }),
      { numRuns: 15 },
    );
    expect(changesLanded, "changes landed while pages were being made").toBeGreaterThan(0);
  });

  it("orders by the sort's value, then by domain ascending in both orders, with the written-out comparators", () => {
    const value = { users: (r: ServerRecord) => r.userCount, channels: (r: ServerRecord) => r.channelCount, last_seen: (r: ServerRecord) => r.lastSeenMs, created: (r: ServerRecord) => r.createdAtMs };
    const rec = fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 3 })).map(([v, d]) => {
      const r = new ServerRecord(`s${d}.example.com`, "local");
      r.userCount = v;
      r.channelCount = v;
      r.lastSeenMs = 1_700_000_000_000 + v;
      r.createdAtMs = v;
      return r;
    });
    fc.assert(
      fc.property(rec, rec, fc.constantFrom(...(Object.keys(value) as (keyof typeof value)[])), fc.constantFrom<"asc" | "desc">("asc", "desc"), (a, b, sort, order) => {
        const byValue = (order === "asc" ? 1 : -1) * Math.sign(value[sort](a) - value[sort](b));
        const want = byValue || (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0);
        expect(Math.sign(comparator(sort, order)(a, b))).toBe(want);
      }),
      { numRuns: 500 },
    );
  });

  it("read newest first from the ascending last_seen index: ties by domain ascending, cursors resume after any stand-in", () => {
    const newestFirst = comparator("last_seen", "desc");
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 9 })), { maxLength: 200 }), fc.array(fc.tuple(fc.integer({ min: -1, max: 61 }), fc.integer({ min: 0, max: 10 })), { maxLength: 10 }), (rows, probes) => {
        const byDomain = new Map<string, ServerRecord>();
        rows.forEach(([ms], i) => {
          const r = new ServerRecord(`s${String(i % 150).padStart(3, "0")}.example.com`, "local");
          r.lastSeenMs = ms;
          byDomain.set(r.domain, r);
        });
        const all = [...byDomain.values()];
        const view = new NewestFirst(new SortIndex("last_seen", "asc", all));
        const want = [...all].sort(newestFirst);
        const seen: string[] = [];
        view.each((r) => (seen.push(r.domain), false));
        expect(seen).toEqual(want.map((r) => r.domain));
        // A stand-in carries only the sort key and domain (src/directory/cursor.ts); it need not be a listed record.
        for (const [ms, d] of probes) {
          const probe = Object.assign(new ServerRecord(`s${String(d * 15).padStart(3, "0")}.example.com`, "local"), { lastSeenMs: ms });
          expect([...view.after(probe)].map((r) => r.domain)).toEqual(want.filter((r) => newestFirst(r, probe) > 0).map((r) => r.domain));
        }
        // Stopping early stops the walk.
        let visits = 0;
        view.each(() => ++visits === 3);
        expect(visits).toBe(Math.min(3, all.length));
      }),
      { numRuns: 300 },
    );
  });
});
