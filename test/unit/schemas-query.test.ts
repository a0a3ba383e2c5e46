// Unit tests for the listing and paging query parameters (contract §3 "Listing parameters").
import { describe, it, expect } from "vitest";
import { ListQuery, PageQuery, zodIssuesToDetails } from "../../src/domain/schemas.js";

function pathsOf(query: Record<string, string>) {
  const result = ListQuery.safeParse(query);
  return result.success ? [] : zodIssuesToDetails(result.error).map((d) => d.path);
}

describe("ListQuery", () => {
  it("fills in the defaults", () => {
    expect(ListQuery.parse({})).toEqual({
      sort: "users",
      order: "desc",
      status: "any",
      origin: "any",
      limit: 50,
      offset: 0,
      include_dead: false,
    });
  });

  it.each([
    ["users", "desc"],
    ["channels", "desc"],
    ["name", "asc"],
    ["created", "desc"],
    ["last_seen", "desc"],
    ["rating", "desc"],
  ])("defaults the order for sort=%s to %s", (sort, order) => {
    expect(ListQuery.parse({ sort }).order).toBe(order);
  });

  it("keeps an explicit order", () => {
    expect(ListQuery.parse({ sort: "name", order: "desc" }).order).toBe("desc");
    expect(ListQuery.parse({ order: "asc" }).order).toBe("asc");
  });

  it("parses every parameter and ignores unknown ones", () => {
    const query = ListQuery.parse({
      q: "50%_off",
      sort: "rating",
      order: "asc",
      status: "online",
      verified: "true",
      origin: "reg.3aka.com",
      limit: "100",
      offset: "10000",
      language: "PT-br",
      registration: "invite",
      include_dead: "true",
      cursor: "abc",
      page: "3",
    });
    expect(query).toEqual({
      q: "50%_off",
      sort: "rating",
      order: "asc",
      status: "online",
      verified: true,
      origin: "reg.3aka.com",
      limit: 100,
      offset: 10000,
      language: "pt-BR",
      registration: "invite",
      include_dead: true,
      cursor: "abc",
    });
  });

  it.each([
    ["true", true],
    ["false", false],
  ])("reads verified=%s as %s", (verified, expected) => {
    expect(ListQuery.parse({ verified }).verified).toBe(expected);
  });

  it.each(["local", "any", "reg.example.org", "peer-1"])("accepts origin=%s", (origin) => {
    expect(ListQuery.parse({ origin }).origin).toBe(origin);
  });

  it("treats an empty q as no search and accepts 100 characters", () => {
    expect(ListQuery.parse({ q: "" }).q).toBeUndefined();
    expect(ListQuery.parse({ q: "é".repeat(100) }).q).toHaveLength(100);
  });

  it.each([
    ["limit", { limit: "1.5" }],
    ["limit", { limit: "10abc" }],
    ["limit", { limit: "" }],
    ["limit", { limit: "0" }],
    ["limit", { limit: "101" }],
    ["limit", { limit: "-1" }],
    ["limit", { limit: "+5" }],
    ["limit", { limit: "05" }],
    ["limit", { limit: "1e2" }],
    ["limit", { limit: " 5" }],
    ["limit", { limit: "0x10" }],
    ["limit", { limit: "99999999999999999999999" }],
    ["offset", { offset: "10001" }],
    ["offset", { offset: "-0" }],
    ["order", { order: "ASC" }],
    ["order", { order: "" }],
    ["sort", { sort: "Users" }],
    ["sort", { sort: "domain" }],
    ["status", { status: "all" }],
    ["verified", { verified: "1" }],
    ["verified", { verified: "TRUE" }],
    ["origin", { origin: "Reg.Example" }],
    ["origin", { origin: "" }],
    ["origin", { origin: "a".repeat(254) }],
    ["q", { q: "x".repeat(101) }],
  ])("rejects a bad %s: %j", (path, query) => {
    expect(pathsOf(query)).toEqual([path]);
  });

  it("accepts the numeric bounds exactly", () => {
    expect(ListQuery.parse({ limit: "1", offset: "0" })).toMatchObject({ limit: 1, offset: 0 });
    expect(ListQuery.parse({ limit: "100", offset: "10000" })).toMatchObject({ limit: 100, offset: 10000 });
  });
});

describe("PageQuery", () => {
  it("defaults to the first 50 and ignores unknown parameters", () => {
    expect(PageQuery.parse({ sort: "x" })).toEqual({ limit: 50, offset: 0 });
  });

  it("parses plain decimal integers", () => {
    expect(PageQuery.parse({ limit: "7", offset: "14" })).toEqual({ limit: 7, offset: 14 });
  });

  it.each([{ limit: "1.5" }, { limit: "0" }, { limit: "101" }, { offset: "10001" }, { offset: "1,000" }])(
    "rejects %j",
    (query) => {
      expect(PageQuery.safeParse(query).success).toBe(false);
    },
  );
});
