// Proof of domain control and recovery for this registrar's own records (contract §8.1, §8.2): challenges, the
// document check at the edge (never inside a mailbox: a fetch may take 5 s), and the state change through the actors.
import type { RowDataPacket } from "mysql2/promise";
import type { ActorApi } from "../../actors/commands.js";
import { AUTH_MESSAGES, BannedError, NotFoundError, NotOwnerError, UnauthorizedError, UnavailableError, VerificationFailedError } from "../core/errors.js";
import { FetchSlotsFullError } from "./fetch-slots.js";
import type { Initiator } from "../core/events.js";
import type { ServerRecord } from "../core/record.js";
import type { Db } from "../store/db.js";
import type { BansRepo } from "./bans-repo.js";
import type { ChallengesRepo } from "./challenges-repo.js";
import type { ChecksRepo } from "./checks-repo.js";
import { documentUrl } from "./document-url.js";
import type { DomainKeysRepo } from "./domain-keys-repo.js";
import { attemptProof, failureDetail, type ProofOutcome } from "./proof.js";
import type { DocumentFetcher } from "./document-fetcher.js";
import { TRUST_DEFAULTS } from "./settings.js";

export type ProofDeps = {
  registrarId: string;
  db: Db;
  actors: ActorApi;
  /** The listed record of a domain (this node's directory). */
  listed(domain: string): ServerRecord | undefined;
  fetcher: Pick<DocumentFetcher, "fetch">;
  challenges: ChallengesRepo;
  checks: ChecksRepo;
  keys: DomainKeysRepo;
  bans: BansRepo;
  wellKnownUrl: string;
  recheckIntervalMs: number;
  /** New keys of a domain were stored (caches forget the old ones). */
  onKeys?: (domain: string) => void;
  now?: () => number;
};

export type ChallengeReply = { challenge: string; registrar: string; document_url: string; expires_at: string | null };

const iso = (ms: number) => new Date(ms).toISOString();

export class ProofService {
  private readonly now: () => number;

  constructor(private readonly d: ProofDeps) {
    this.now = d.now ?? Date.now;
  }

  /**
   * A record of this registrar, or 403 not_owner (recovery and verification happen at the origin, §8.2); an unknown
   * domain is a 404, or a 401 on the Bearer routes (contract §1: auth routes do not reveal which domains exist).
   */
  private own(domain: string, authRoute = false): ServerRecord {
    const rec = this.d.listed(domain);
    if (!rec && authRoute) throw new UnauthorizedError(AUTH_MESSAGES.unauthorized);
    if (!rec) throw new NotFoundError(`${domain} is not registered`);
    if (rec.origin !== this.d.registrarId) throw new NotOwnerError(`${domain} belongs to registrar ${rec.origin}; prove it there`);
    return rec;
  }

  private reply(domain: string, c: { challenge: string; expiresAtMs: number | null }): ChallengeReply {
    return { challenge: c.challenge, registrar: this.d.registrarId, document_url: documentUrl(this.d.wellKnownUrl, domain), expires_at: c.expiresAtMs === null ? null : iso(c.expiresAtMs) };
  }

  /** The standing proof of a verified record, read from MySQL (only the shard owner holds it in memory). */
  private async standing(domain: string): Promise<string | null> {
    const [rows] = await this.d.db.query<RowDataPacket[]>("SELECT verified_challenge FROM servers WHERE domain = ?", [domain]);
    return rows[0]?.verified_challenge ?? null;
  }

  /**
   * `POST …/verification` (Bearer): the pending challenge (7 days), or a new one. A verified record answers its
   * standing challenge, which does not expire (`expires_at: null`).
   */
  async requestVerification(domain: string, tokenHash: string | null): Promise<ChallengeReply> {
    this.own(domain, true);
    const { verified } = await this.d.actors.send({ type: "authorize", domain, tokenHash });
    const standing = verified ? await this.standing(domain) : null;
    if (standing) return this.reply(domain, { challenge: standing, expiresAtMs: null });
    return this.reply(domain, await this.d.challenges.pending(domain, "verify", TRUST_DEFAULTS.verifyChallengeTtlMs, this.now()));
  }

  /**
   * `POST …/verification/check` (Bearer): fetches the document now. The pending challenge is tried, else the
   * standing one; success makes the record verified through its actor and keeps the document's keys.
   */
  async checkVerification(domain: string, tokenHash: string | null, by: Initiator): Promise<{ verified: true; verified_at: string }> {
    this.own(domain, true);
    await this.d.actors.send({ type: "authorize", domain, tokenHash });
    const pending = await this.d.challenges.get(domain, "verify", this.now());
    const challenge = pending?.challenge ?? (await this.standing(domain));
    if (!challenge) throw this.noChallenge(domain, "verification");
    const outcome = await this.prove(domain, this.d.registrarId, challenge);
    const r = await this.d.actors.send({ type: "set_verified", domain, tokenHash, verified: true, challenge, by });
    await this.proved(domain, this.d.registrarId, outcome);
    if (pending) await this.d.challenges.remove(domain, "verify");
    return { verified: true, verified_at: iso(r.verifiedAtMs) };
  }

  /** `POST …/recovery` (no auth): the pending recovery challenge (1 hour), the same one while it lasts. */
  async requestRecovery(domain: string): Promise<ChallengeReply> {
    if (await this.d.bans.isBanned(domain)) throw new BannedError(`${domain} is banned here`);
    this.own(domain);
    return this.reply(domain, await this.d.challenges.pending(domain, "recover", TRUST_DEFAULTS.recoveryChallengeTtlMs, this.now()));
  }

  /** `POST …/recovery/complete` (no auth): the document lists the recovery challenge → a new token, verified. */
  async completeRecovery(domain: string, newTokenHash: string, by: Initiator) {
    if (await this.d.bans.isBanned(domain)) throw new BannedError(`${domain} is banned here`);
    this.own(domain);
    const pending = await this.d.challenges.get(domain, "recover", this.now());
    if (!pending) throw this.noChallenge(domain, "recovery");
    const outcome = await this.prove(domain, this.d.registrarId, pending.challenge);
    const r = await this.d.actors.send({ type: "recover", domain, challenge: pending.challenge, newTokenHash, by });
    await this.proved(domain, this.d.registrarId, outcome);
    return r;
  }

  /** One fetch and check; a failure is the 422 with its reason (nothing changed). */
  private async prove(domain: string, registrarId: string, challenge: string): Promise<Extract<ProofOutcome, { ok: true }>> {
    let outcome: ProofOutcome;
    try {
      outcome = await attemptProof(this.d.fetcher, { domain, registrarId, challenge }, this.now);
    } catch (err) {
      // Every fetch slot and the queue behind them are taken: a bounded node says "later", it does not pile up.
      if (err instanceof FetchSlotsFullError) {
        const busy = new UnavailableError("too many documents are being fetched; retry shortly", { cause: err });
        busy.headers = [["Retry-After", "1"]];
        throw busy;
      }
      throw err;
    }
    if (!outcome.ok) throw new VerificationFailedError(`the proof of control of ${domain} was not found: ${outcome.message}`, [failureDetail(outcome)]);
    return outcome;
  }

  /** After a successful fetch: keep its keys (§8.3) and watch the proof from now on (re-checks, §8.1). */
  async proved(domain: string, origin: string, outcome: Extract<ProofOutcome, { ok: true }>): Promise<void> {
    await this.d.keys.put(domain, outcome.keys, outcome.fetchedAtMs);
    this.d.onKeys?.(domain);
    await this.d.checks.watch(domain, origin, outcome.fetchedAtMs, outcome.fetchedAtMs + this.d.recheckIntervalMs);
  }

  private noChallenge(domain: string, what: "verification" | "recovery"): VerificationFailedError {
    const route = what === "verification" ? "verification" : "recovery";
    return new VerificationFailedError(`there is no pending ${what} challenge for ${domain}`, [
      { path: documentUrl(this.d.wellKnownUrl, domain), reason: "no_challenge", message: `request one first: POST /v1/servers/${domain}/${route}` },
    ]);
  }

  /** The challenge a re-check of (domain, origin) looks for: this registrar's standing proof, or a mirrored record's. */
  async expectedChallenge(domain: string, origin: string): Promise<string | null> {
    if (origin === this.d.registrarId) return this.standing(domain);
    const [rows] = await this.d.db.query<RowDataPacket[]>("SELECT challenge FROM mirrored_servers WHERE domain = ? AND origin = ? AND deleted = 0", [domain, origin]);
    return rows[0]?.challenge ?? null;
  }

  /** One re-check attempt (src/trust/recheck-runner.ts); null when there is nothing to check any more. */
  async recheck(domain: string, origin: string): Promise<ProofOutcome | null> {
    const challenge = await this.expectedChallenge(domain, origin);
    if (!challenge) return null;
    return attemptProof(this.d.fetcher, { domain, registrarId: origin, challenge }, this.now);
  }
}
