// Directory under random add/update/remove (fast-check): every sort index stays ordered and every filtered total
// equals a brute-force count — the index-and-mask protocol that a wrong mask would corrupt silently (issue 15).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ALL_FIELDS, CLIENT_FIELDS, LIVENESS_FIELDS, NO_SORT_FIELD, SORT_FIELD, ServerRecord, type Status } from "../../src/core/record.js";
import { Directory } from "../../src/directory/directory.js";
import { SORT_KEYS, comparator, type SortOrder } from "../../src/directory/sort-index.js";

const DOMAINS = ["a.example.com", "b.example.com", "c.example.net", "d.example.org", "e.example.com", "f.example.io"];
const ORIGINS = ["local", "peer.example.net"];
const ORDERS: SortOrder[] = ["asc", "desc"];

const small = fc.integer({ min: 0, max: 5 });
const name = fc.constantFrom("alpha", "Bravo", "charlie", "Alpha", "delta");
const op = fc.oneof(
  fc.record({ kind: fc.constant("add" as const), domain: fc.constantFrom(...DOMAINS), origin: fc.constantFrom(...ORIGINS), users: small, name, created: small, verified: fc.boolean() }),
  // What a heartbeat moves (users, channels, last_seen), possibly bringing the record online.
  fc.record({ kind: fc.constant("heartbeat" as const), domain: fc.constantFrom(...DOMAINS), users: small, channels: small, seen: small }),
  fc.record({ kind: fc.constant("rename" as const), domain: fc.constantFrom(...DOMAINS), name }),
  fc.record({ kind: fc.constant("rate" as const), domain: fc.constantFrom(...DOMAINS), count: small, sum: fc.integer({ min: 0, max: 25 }) }),
  fc.record({ kind: fc.constant("status" as const), domain: fc.constantFrom(...DOMAINS), status: fc.constantFrom<Status>("online", "offline") }),
  fc.record({ kind: fc.constant("replace" as const), domain: fc.constantFrom(...DOMAINS), users: small, created: small, verified: fc.boolean() }),
  fc.record({ kind: fc.constant("remove" as const), domain: fc.constantFrom(...DOMAINS) }),
  // Lists (and so builds) one index mid-way, so later changes must keep it right.
  fc.record({ kind: fc.constant("list" as const), sort: fc.constantFrom(...SORT_KEYS), order: fc.constantFrom(...ORDERS) }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

function apply(d: Directory, o: Op): void {
  if (o.kind === "list") {
    d.list({ sort: o.sort, order: o.order, status: "any", origin: "any", limit: 1, offset: 0 });
    return;
  }
  if (o.kind === "add") {
    const r = new ServerRecord(o.domain, o.origin);
    r.applyFields({ name: o.name, api_url: `https://${o.domain}/api` });
    r.userCount = o.users;
    r.createdAtMs = o.created;
    r.verified = o.verified;
    d.add(r);
    return;
  }
  const r = d.get(o.domain);
  if (!r) return;
  switch (o.kind) {
    case "heartbeat":
      return d.update(r, LIVENESS_FIELDS, false, () => {
        r.userCount = o.users;
        r.channelCount = o.channels;
        r.lastSeenMs += o.seen;
      });
    case "rename":
      return d.update(r, CLIENT_FIELDS, true, () => r.applyFields({ name: o.name }));
    case "rate":
      return d.update(r, SORT_FIELD.rating, false, () => {
        r.ratingCount = o.count;
        r.ratingSum = o.count === 0 ? 0 : Math.max(o.count, Math.min(o.sum, 5 * o.count));
      });
    case "status":
      return d.update(r, NO_SORT_FIELD, false, () => (r.status = o.status));
    case "replace":
      return d.update(r, ALL_FIELDS, true, () => {
        r.userCount = o.users;
        r.createdAtMs = o.created;
        r.verified = o.verified;
      });
    case "remove":
      return d.remove(r);
  }
}

/** Every index, in both orders, against a sort of the brute-force record set; every filter's total against a count. */
function check(d: Directory, all: ServerRecord[]): void {
  for (const sort of SORT_KEYS) {
    for (const order of ORDERS) {
      const page = d.list({ sort, order, status: "any", origin: "any", limit: 1000, offset: 0 });
      expect(page.records.map((r) => r.domain), `${sort} ${order}`).toEqual([...all].sort(comparator(sort, order)).map((r) => r.domain));
    }
  }
  for (const status of ["any", "online", "offline"] as const) {
    for (const verified of [undefined, true, false]) {
      for (const origin of ["any", ...ORIGINS]) {
        const page = d.list({ sort: "users", order: "desc", status, verified, origin, limit: 1, offset: 0 });
        const count = all.filter((r) => (status === "any" || r.status === status) && (verified === undefined || r.verified === verified) && (origin === "any" || r.origin === origin)).length;
        expect(page.total, `${status} ${verified} ${origin}`).toBe(count);
      }
    }
  }
  expect(d.countBy("online")).toBe(all.filter((r) => r.status === "online").length);
}

describe("Directory", () => {
  it("keeps every sort index ordered and every total equal to a brute-force count under random changes", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const d = new Directory();
        for (const o of ops) apply(d, o);
        check(d, [...d.values()]);
      }),
      { numRuns: 300 },
    );
  });

  it("fails the same check when a change is made with a mask that omits the sort it moves", () => {
    const d = new Directory();
    for (const [i, domain] of DOMAINS.entries()) apply(d, { kind: "add", domain, origin: "local", users: i, name: "alpha", created: 0, verified: false });
    d.list({ sort: "users", order: "desc", status: "any", origin: "any", limit: 1, offset: 0 });
    const r = d.get(DOMAINS[0])!;
    // A heartbeat's user count changed under the name mask: the users index is now out of order.
    d.update(r, CLIENT_FIELDS, false, () => (r.userCount = 99));
    expect(() => check(d, [...d.values()])).toThrow();
  });
});
