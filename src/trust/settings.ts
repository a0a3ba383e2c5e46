// Trust settings (contract §8): the environment variables of issues 9 and 10, their defaults and config-time checks.
import { z } from "zod";
import { parseRateLimit, type RateLimit } from "../security/rate-limit.js";

export const TRUST_DEFAULTS = {
  wellKnownUrl: "https://{domain}/.well-known/zent",
  verifyRecheckS: 86_400,
  verifyGraceS: 259_200,
  rateLimitRecovery: "5/3600",
  rateLimitRatePerHome: "100/3600",
  fedMaxRecordsPerOrigin: 200_000,
  /** §8.1: a fetch gives up after 5 s and reads at most 64 KiB. */
  fetchTimeoutMs: 5_000,
  fetchMaxBytes: 65_536,
  /** Documents fetched at once by one node, and requests allowed to wait for a slot (issue 9: bounded cost). */
  fetchConcurrency: 8,
  fetchMaxQueued: 256,
  /** §8.1: a pending verification challenge lasts 7 days; §8.2: a recovery challenge 1 hour. */
  verifyChallengeTtlMs: 7 * 86_400_000,
  recoveryChallengeTtlMs: 3_600_000,
  /** §8.3: exp - iat of an identity assertion. */
  assertionMaxLifetimeS: 600,
} as const;

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const positiveNumber = z.coerce.number().positive().finite();
const rateSpec = z.string().regex(/^(off|[1-9][0-9]*\/[1-9][0-9]*)$/i, "expected N/seconds (e.g. 30/60) or off");

/** The variables merged into config.ts's Env schema. */
export const TrustEnv = {
  WELL_KNOWN_URL: z
    .string()
    .refine((v) => v.includes("{domain}"), "must contain {domain}")
    .refine((v) => /^https?:\/\//.test(v) && URL.canParse(v.replaceAll("{domain}", "example.com")), "must be an http(s) URL template")
    .default(TRUST_DEFAULTS.wellKnownUrl),
  ALLOW_PRIVATE_FETCH: bool.default(false),
  VERIFY_RECHECK_S: positiveNumber.default(TRUST_DEFAULTS.verifyRecheckS),
  VERIFY_GRACE_S: z.coerce.number().min(0).finite().default(TRUST_DEFAULTS.verifyGraceS),
  REGISTRAR_SIGNING_KEY_FILE: z.string().min(1).optional(),
  // A secret: its value is never echoed in a config error (config.ts hides SECRET_ENV).
  ADMIN_TOKEN: z.string().regex(/^[0-9a-f]{64}$/i, "expected 64 hex characters (32 bytes)").optional(),
  RATINGS_ANONYMOUS: bool.default(false),
  RATE_LIMIT_RECOVERY: rateSpec.default(TRUST_DEFAULTS.rateLimitRecovery),
  RATE_LIMIT_RATE_PER_HOME: rateSpec.default(TRUST_DEFAULTS.rateLimitRatePerHome),
  FED_MAX_RECORDS_PER_ORIGIN: z.coerce.number().int().min(1).max(100_000_000).default(TRUST_DEFAULTS.fedMaxRecordsPerOrigin),
};

/** Names whose values config errors must not print. */
export const SECRET_ENV: ReadonlySet<string> = new Set(["ADMIN_TOKEN"]);

const TrustEnvSchema = z.object(TrustEnv);
type TrustEnvValues = z.output<typeof TrustEnvSchema>;

export type TrustSettings = Readonly<{
  /** `{domain}` template of the document URL (§8.1). */
  wellKnownUrl: string;
  allowPrivateFetch: boolean;
  /** Development only: the document may be fetched over http and on any port (needs ALLOW_INSECURE_URLS). */
  allowInsecureFetch: boolean;
  recheckIntervalMs: number;
  graceMs: number;
  signingKeyFile: string | undefined;
  /** Lower-cased; undefined disables every admin route (404). */
  adminToken: string | undefined;
  ratingsAnonymous: boolean;
  /** Per client IP, for both recovery routes; null = off. */
  rateLimitRecovery: RateLimit | null;
  /** Per rater home domain; null = off. */
  rateLimitRatePerHome: RateLimit | null;
  fedMaxRecordsPerOrigin: number;
  fetchTimeoutMs: number;
  fetchMaxBytes: number;
  fetchConcurrency: number;
  fetchMaxQueued: number;
}>;

/** Runs one value's parser and names the variable when it refuses (config.ts turns that into a ConfigError). */
export type ParseNamed = <T>(name: string, parse: () => T) => T;

/**
 * The trust settings. A WELL_KNOWN_URL other than the default would let the registrar fetch over http or from any
 * port, which §8.1 allows only for development (ALLOW_INSECURE_URLS=true): refused here otherwise.
 */
export function trustSettings(e: TrustEnvValues, allowInsecureUrls: boolean, parsed: ParseNamed): TrustSettings {
  parsed("WELL_KNOWN_URL", () => {
    if (e.WELL_KNOWN_URL !== TRUST_DEFAULTS.wellKnownUrl && !allowInsecureUrls) {
      throw new Error(`a value other than ${TRUST_DEFAULTS.wellKnownUrl} needs ALLOW_INSECURE_URLS=true (development only)`);
    }
  });
  return Object.freeze({
    wellKnownUrl: e.WELL_KNOWN_URL,
    allowPrivateFetch: e.ALLOW_PRIVATE_FETCH,
    allowInsecureFetch: allowInsecureUrls && e.WELL_KNOWN_URL !== TRUST_DEFAULTS.wellKnownUrl,
    recheckIntervalMs: Math.round(e.VERIFY_RECHECK_S * 1000),
    graceMs: Math.round(e.VERIFY_GRACE_S * 1000),
    signingKeyFile: e.REGISTRAR_SIGNING_KEY_FILE,
    adminToken: e.ADMIN_TOKEN?.toLowerCase(),
    ratingsAnonymous: e.RATINGS_ANONYMOUS,
    rateLimitRecovery: parsed("RATE_LIMIT_RECOVERY", () => parseRateLimit(e.RATE_LIMIT_RECOVERY, TRUST_DEFAULTS.rateLimitRecovery)),
    rateLimitRatePerHome: parsed("RATE_LIMIT_RATE_PER_HOME", () => parseRateLimit(e.RATE_LIMIT_RATE_PER_HOME, TRUST_DEFAULTS.rateLimitRatePerHome)),
    fedMaxRecordsPerOrigin: e.FED_MAX_RECORDS_PER_ORIGIN,
    fetchTimeoutMs: TRUST_DEFAULTS.fetchTimeoutMs,
    fetchMaxBytes: TRUST_DEFAULTS.fetchMaxBytes,
    fetchConcurrency: TRUST_DEFAULTS.fetchConcurrency,
    fetchMaxQueued: TRUST_DEFAULTS.fetchMaxQueued,
  });
}
