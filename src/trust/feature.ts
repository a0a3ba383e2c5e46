// The trust feature of a node (contract §8): document fetcher, proofs and recovery, the registrar's signing key,
// assertions, rater identities, bans, the audit reader, and the timers (re-checks, pruning of spent ids).
import type { ActorApi } from "../../actors/commands.js";
import type { Config } from "../config.js";
import { UnauthorizedError, NotOwnerError } from "../core/errors.js";
import type { RegistryEvent } from "../core/events.js";
import type { ServerRecord } from "../core/record.js";
import { tokenHashOf } from "../core/tokens.js";
import type { Logger } from "../log.js";
import type { RateLimiter } from "../security/rate-limit.js";
import type { Db } from "../store/db.js";
import type { RatingsRepo } from "../store/ratings-repo.js";
import { SecretBox } from "../webhooks/secrets.js";
import { AdminAuth } from "./admin-auth.js";
import { AssertionVerifier } from "./assertion-verifier.js";
import { AuditReader } from "./audit-reader.js";
import { BansRepo } from "./bans-repo.js";
import { ChallengesRepo } from "./challenges-repo.js";
import { ChecksRepo } from "./checks-repo.js";
import { DocumentFetcher } from "./document-fetcher.js";
import { DomainKeysRepo } from "./domain-keys-repo.js";
import { IssuerKeys } from "./issuer-keys.js";
import { MysqlJtiLedger } from "./jti-ledger.js";
import { ProofService } from "./proof-service.js";
import { RatingService } from "./rating-service.js";
import { RecheckRunner } from "./recheck-runner.js";
import { RegistrarKeysRepo } from "./registrar-keys-repo.js";
import { RegistrarSigner } from "./registrar-signer.js";

const PRUNE_EVERY_MS = 10 * 60_000;

/** What federation does with a re-check of a mirrored record (§8.6); absent without peers. */
export type MirroredProofs = {
  proved(domain: string, origin: string, verifiedAtMs: number): Promise<void>;
  lapsed(domain: string, origin: string): Promise<void>;
};

export type TrustDeps = {
  config: Config;
  db: Db;
  log: Logger;
  actors: ActorApi;
  listed(domain: string): ServerRecord | undefined;
  update(rec: ServerRecord, fields: number, mutate: () => void): void;
  publish(ev: RegistryEvent): void;
  ratings: RatingsRepo;
  limits: { ratePerHome: RateLimiter | null };
  /** Cluster mode: this node re-checks only the domains whose shard it owns. */
  owns(domain: string): boolean;
  userAgent: string;
  onError(err: unknown): void;
};

export type Trust = Awaited<ReturnType<typeof createTrust>>;

export async function createTrust(d: TrustDeps) {
  const t = d.config.trust;
  const repos = {
    challenges: new ChallengesRepo(d.db),
    checks: new ChecksRepo(d.db),
    keys: new DomainKeysRepo(d.db),
    bans: new BansRepo(d.db),
    audit: new AuditReader(d.db),
  };
  const signer = await RegistrarSigner.load({
    registrarId: d.config.registrarId, keyFile: t.signingKeyFile, repo: new RegistrarKeysRepo(d.db), box: new SecretBox(d.config.webhooks.secretKeyHex),
  });
  const fetcher = new DocumentFetcher({
    urlTemplate: t.wellKnownUrl, allowPrivate: t.allowPrivateFetch, allowInsecure: t.allowInsecureFetch, timeoutMs: t.fetchTimeoutMs,
    maxBytes: t.fetchMaxBytes, concurrency: t.fetchConcurrency, maxQueued: t.fetchMaxQueued, userAgent: d.userAgent,
    // Addresses and library texts stay in the log (review L1).
    onFailure: (f) => d.log.info({ domain: f.domain, reason: f.reason, detail: f.detail }, "document fetch failed"),
  });
  const issuerKeys = new IssuerKeys(d.listed, repos.keys);
  const proofs = new ProofService({
    registrarId: d.config.registrarId, db: d.db, actors: d.actors, listed: d.listed, fetcher, ...repos, wellKnownUrl: t.wellKnownUrl,
    recheckIntervalMs: t.recheckIntervalMs, onKeys: (domain) => issuerKeys.forget(domain),
  });
  const jtis = new MysqlJtiLedger(d.db);
  const assertions = new AssertionVerifier(d.config.registrarId, issuerKeys, jtis);
  const ratings = new RatingService({
    registrarId: d.config.registrarId, listed: d.listed, update: d.update, ratings: d.ratings, publish: d.publish, perHome: d.limits.ratePerHome,
    rater: {
      verifyAssertion: (a) => assertions.verify(a),
      authenticateHome: async (home, token) => {
        try {
          return await d.actors.send({ type: "authorize", domain: home, tokenHash: tokenHashOf(token) });
        } catch (err) {
          // A mirrored home domain's token is not known here: it is not "registered here" (§8.4).
          if (err instanceof NotOwnerError) throw new UnauthorizedError(`${home} is not registered at this registrar`, { cause: err });
          throw err;
        }
      },
      ratingsAnonymous: t.ratingsAnonymous,
    },
  });
  let mirrored: MirroredProofs | null = null;
  const runner = new RecheckRunner(
    {
      checks: repos.checks,
      attempt: (domain, origin) => proofs.recheck(domain, origin),
      owns: d.owns,
      proved: async (domain, origin, outcome) => {
        await repos.keys.put(domain, outcome.keys, outcome.fetchedAtMs);
        issuerKeys.forget(domain);
        if (origin !== d.config.registrarId) return void (await mirrored?.proved(domain, origin, outcome.fetchedAtMs));
        // A lapsed record whose standing proof is back becomes verified again.
        const rec = d.listed(domain);
        if (rec && rec.origin === origin && !rec.verified) {
          await d.actors.send({ type: "set_verified", domain, verified: true, by: { kind: "system", id: "recheck" } });
        }
      },
      lapsed: async (domain, origin, outcome) => {
        if (origin !== d.config.registrarId) return void (await mirrored?.lapsed(domain, origin));
        const rec = d.listed(domain);
        if (!rec || rec.origin !== origin || !rec.verified) return;
        d.log.info({ domain, reason: outcome.reason }, "proof of domain control lapsed");
        await d.actors.send({ type: "set_verified", domain, verified: false, by: { kind: "system", id: "recheck" }, reason: outcome.reason });
      },
      onError: d.onError,
    },
    { recheckIntervalMs: t.recheckIntervalMs, graceMs: t.graceMs },
  );
  const prune = setInterval(() => {
    const now = Date.now();
    void jtis.prune(now).then(() => repos.challenges.prune(now)).catch(d.onError);
  }, PRUNE_EVERY_MS);
  prune.unref();
  return {
    signer,
    fetcher,
    proofs,
    assertions,
    issuerKeys,
    ratings,
    runner,
    admin: new AdminAuth(t.adminToken),
    ...repos,
    /** Federation plugs in what a re-check of a mirrored record does. */
    setMirrored(m: MirroredProofs) {
      mirrored = m;
    },
    /** Starts the re-checks (after the actors: they send commands); the returned stop waits for a running round. */
    start(): { stop(): Promise<void> } {
      runner.start();
      return { stop: () => runner.stop() };
    },
    async stop() {
      clearInterval(prune);
      await runner.stop();
    },
  };
}
