// Who may rate (contract §8.4): the body read into a claim, and the claim into the rater's identity.
import { describe, expect, it } from "vitest";
import { UnauthorizedError, ValidationError } from "../../src/core/errors.js";
import { resolveRater, type RaterPorts } from "../../src/trust/rater.js";
import { claimOf, RateBody } from "../../src/trust/rating-claim.js";

const ports = (over: Partial<RaterPorts> = {}): RaterPorts => ({
  verifyAssertion: async () => ({ iss: "home.example.net", sub: "alice" }),
  authenticateHome: async (domain, token) => {
    if (token !== "good") throw new UnauthorizedError("invalid token");
    return { verified: domain === "verified.example.net" };
  },
  ratingsAnonymous: false,
  ...over,
});

const parse = (body: unknown) => RateBody.safeParse(body);

describe("RateBody", () => {
  it("reads the three forms into claims", () => {
    expect(claimOf(parse({ rating: 5, assertion: "a.b.c" }).data!, null)).toEqual({ kind: "assertion", assertion: "a.b.c" });
    expect(claimOf(parse({ rating: 4, from_domain: "Home.Example.NET", user_id: "bob" }).data!, "tok")).toEqual({
      kind: "token", homeDomain: "home.example.net", userId: "bob", token: "tok",
    });
    expect(claimOf(parse({ rating: 3, user_id: "carol" }).data!, null)).toEqual({ kind: "anonymous", userId: "carol" });
    expect(claimOf(parse({ rating: 3, comment: null }).data!, "tok")).toEqual({ kind: "none" });
  });

  it.each([
    ["an assertion with from_domain", { rating: 5, assertion: "a.b.c", from_domain: "x.example.com", user_id: "u" }],
    ["from_domain without user_id", { rating: 5, from_domain: "x.example.com" }],
    ["a token-mode user_id over 64 characters", { rating: 5, from_domain: "x.example.com", user_id: "u".repeat(65) }],
    ["an anonymous user_id shaped like an identity", { rating: 5, user_id: "alice@home.example.net" }],
    ["a bad from_domain", { rating: 5, from_domain: "not a domain", user_id: "u" }],
    ["a rating of 6", { rating: 6, assertion: "a.b.c" }],
    ["an unknown field", { rating: 5, assertion: "a.b.c", verified: true }],
    ["a huge assertion", { rating: 5, assertion: "a".repeat(5000) }],
  ])("refuses %s", (_name, body) => {
    expect(parse(body).success).toBe(false);
  });
});

describe("resolveRater", () => {
  it("takes an assertion's identity as verified", async () => {
    expect(await resolveRater("chat.example.com", { kind: "assertion", assertion: "x" }, ports())).toEqual({
      identity: "alice@home.example.net", homeDomain: "home.example.net", verified: true, proof: "assertion",
    });
  });

  it("takes a home server's word with its token; verified is the home server's", async () => {
    const claim = (homeDomain: string, token: string | null) => ({ kind: "token" as const, homeDomain, userId: "bob", token });
    expect(await resolveRater("chat.example.com", claim("verified.example.net", "good"), ports())).toEqual({
      identity: "bob@verified.example.net", homeDomain: "verified.example.net", verified: true, proof: "token",
    });
    expect((await resolveRater("chat.example.com", claim("plain.example.net", "good"), ports())).verified).toBe(false);
    await expect(resolveRater("chat.example.com", claim("plain.example.net", "bad"), ports())).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(resolveRater("chat.example.com", claim("plain.example.net", null), ports())).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it("refuses anonymous ratings unless RATINGS_ANONYMOUS, and a rating without identity always", async () => {
    await expect(resolveRater("chat.example.com", { kind: "anonymous", userId: "carol" }, ports())).rejects.toBeInstanceOf(UnauthorizedError);
    expect(await resolveRater("chat.example.com", { kind: "anonymous", userId: "carol" }, ports({ ratingsAnonymous: true }))).toEqual({
      identity: "carol", homeDomain: null, verified: false, proof: "anonymous",
    });
    await expect(resolveRater("chat.example.com", { kind: "none" }, ports())).rejects.toBeInstanceOf(UnauthorizedError);
    // With anonymous ratings allowed, the old form's user_id is what is missing.
    await expect(resolveRater("chat.example.com", { kind: "none" }, ports({ ratingsAnonymous: true }))).rejects.toBeInstanceOf(ValidationError);
  });

  it("refuses a server rating itself, by either proof", async () => {
    await expect(resolveRater("home.example.net", { kind: "assertion", assertion: "x" }, ports())).rejects.toBeInstanceOf(ValidationError);
    await expect(resolveRater("verified.example.net", { kind: "token", homeDomain: "verified.example.net", userId: "bob", token: "good" }, ports())).rejects.toBeInstanceOf(ValidationError);
  });
});
