// ProofService with fakes: a node whose fetch slots are all taken says 503 (with Retry-After) instead of queueing
// without bound, and a failed proof changes nothing through the actors (issue 9: bounded cost of hostile documents).
import { describe, expect, it } from "vitest";
import type { ActorApi, ServerCommand } from "../../actors/commands.js";
import { UnavailableError, VerificationFailedError } from "../../src/core/errors.js";
import { ServerRecord } from "../../src/core/record.js";
import { FetchSlotsFullError } from "../../src/trust/fetch-slots.js";
import { ProofService, type ProofDeps } from "../../src/trust/proof-service.js";

function service(fetch: () => Promise<never> | Promise<{ ok: false; url: string; reason: "timeout"; message: string }>) {
  const sent: ServerCommand["type"][] = [];
  const actors: ActorApi = {
    send: (async (cmd: ServerCommand) => {
      sent.push(cmd.type);
      return { verified: false };
    }) as ActorApi["send"],
  };
  const rec = new ServerRecord("chat.example.com", "reg.test");
  const deps = {
    registrarId: "reg.test", db: {} as ProofDeps["db"], actors, listed: () => rec, fetcher: { fetch },
    challenges: { get: async () => ({ challenge: "c".repeat(43), createdAtMs: 0, expiresAtMs: Date.now() + 1000 }) },
    checks: {}, keys: {}, bans: {}, wellKnownUrl: "https://{domain}/.well-known/zent", recheckIntervalMs: 1000,
  } as unknown as ProofDeps;
  return { proofs: new ProofService(deps), sent };
}

describe("ProofService", () => {
  it("answers 503 with Retry-After when every fetch slot and the queue are taken", async () => {
    const { proofs, sent } = service(async () => {
      throw new FetchSlotsFullError("full");
    });
    const err = await proofs.checkVerification("chat.example.com", "a".repeat(64), { kind: "domain", id: "chat.example.com" }).catch((e) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.headers).toEqual([["Retry-After", "1"]]);
    expect(sent).toEqual(["authorize"]);
  });

  it("sends no state change when the proof is not found", async () => {
    const { proofs, sent } = service(async () => ({ ok: false, url: "u", reason: "timeout", message: "no complete answer within 5 s" }));
    const err = await proofs.checkVerification("chat.example.com", "a".repeat(64), { kind: "domain", id: "chat.example.com" }).catch((e) => e);
    expect(err).toBeInstanceOf(VerificationFailedError);
    expect(err.details).toEqual([{ path: "u", reason: "timeout", message: "no complete answer within 5 s" }]);
    expect(sent).toEqual(["authorize"]);
  });
});
