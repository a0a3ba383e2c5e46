// The federation wire format, version 1 (docs/federation.md): one zod schema per message, shared by publisher and
// consumer, so everything a peer sends is bounded and validated before it touches memory or MySQL.
import { z } from "zod";
import { LanguageList, Registration } from "../domain/directory-fields.js";
import { normalizeDomain } from "../domain/domain-name.js";
import { multiLineText, singleLineText, tokenList } from "../domain/text.js";
import { checkUrl } from "../domain/urls.js";

export const WIRE_VERSION = 1;
/** Leaf buckets of the anti-entropy digest, in GROUPS groups of GROUP_SIZE. */
export const BUCKETS = 4096;
export const GROUP_SIZE = 64;
export const GROUPS = BUCKETS / GROUP_SIZE;
/** A relay path longer than this is a loop or an attack. */
export const MAX_PATH = 16;
/** One message carries at most this many changes (and at most maxMessageBytes). */
export const MAX_CHANGES_PER_MESSAGE = 2000;
export const MAX_KEYS_PER_REQUEST = 1000;
export const MAX_BUCKETS_PER_REQUEST = 64;

export const RegistrarId = z.string().max(253).regex(/^[a-z0-9][a-z0-9.-]{0,252}$/, "not a registrar id");

/** A domain already in canonical form (the origin normalised it); anything else is refused, not repaired. */
const Domain = z
  .string()
  .max(253)
  .refine((d) => normalizeDomain(d) === d, "not a canonical domain name");

const IsoTime = z.iso.datetime({ offset: false, precision: 3 });

// Shape checks only: the origin applied its own URL policy (ALLOW_INSECURE_URLS may differ between registrars),
// but nothing that is not http(s)/ws(s), carries credentials or exceeds 2048 characters gets listed here.
const Url = z.string().superRefine((value, ctx) => {
  const problem = checkUrl(value, { schemes: ["https:", "wss:"], allowInsecure: true });
  if (problem !== null) ctx.addIssue({ code: "custom", message: problem, input: value });
});

const Count = z.number().int().min(0).max(2 ** 31 - 1);

/** The public server record of contract §2, as the origin serves it. */
export const PublicServer = z.strictObject({
  domain: Domain,
  name: singleLineText(100, 1),
  description: multiLineText(1000).nullable(),
  icon: Url.nullable(),
  api_url: Url,
  ws_url: Url.nullable(),
  voice_url: Url.nullable(),
  voice_provider: singleLineText(50).nullable(),
  cdn_url: Url.nullable(),
  protocols: tokenList(16),
  capabilities: tokenList(32),
  version: singleLineText(32).nullable(),
  user_count: Count,
  channel_count: Count,
  /** What the origin says; this registrar keeps its own check instead (contract §8.6, mirror-store.ts). */
  verified: z.boolean(),
  verified_at: IsoTime.nullable().optional(),
  status: z.enum(["online", "offline"]),
  last_seen: IsoTime,
  created_at: IsoTime,
  rating: z.strictObject({
    average: z.number().min(1).max(5).nullable(),
    count: Count,
    distribution: z.array(Count).length(5).optional(),
    verified_count: Count.optional(),
  }),
  origin: RegistrarId,
  // §9.2 (optional: a peer on an older version sends none of them). uptime_30d is the origin's figure; this
  // registrar shows its own (null for mirrored records, docs/api.md).
  web_url: Url.nullable().optional(),
  languages: LanguageList.optional(),
  registration: Registration.nullable().optional(),
  uptime_30d: z.number().min(0).max(1).nullable().optional(),
});
export type PublicServer = z.infer<typeof PublicServer>;

/**
 * The state of one record at one version: a snapshot, not a delta, so applying it twice or out of order is
 * harmless (a lower version never overwrites a higher one). deleted = tombstone, without `server`.
 */
export const FedChange = z
  .strictObject({
    domain: Domain,
    origin: RegistrarId,
    /** The origin's event seq of this change: strictly increasing per origin (0: unchanged since before federation). */
    version: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    /** When the change happened at the origin. */
    at: IsoTime,
    deleted: z.boolean(),
    server: PublicServer.optional(),
    /**
     * The origin's standing proof of control of the domain (contract §8.6): each registrar fetches the domain's
     * document itself and looks for it under `registrars[<origin>]`. Public anyway (it is in the document).
     */
    challenge: z.string().regex(/^[A-Za-z0-9_-]{43,128}$/).optional(),
    /** Registrars this change passed through, starting with its origin (relays only). */
    path: z.array(RegistrarId).min(1).max(MAX_PATH).optional(),
  })
  .refine((c) => (c.deleted ? c.server === undefined : c.server !== undefined), "server is required unless deleted, and only then")
  .refine((c) => !c.server || (c.server.domain === c.domain && c.server.origin === c.origin), "server.domain/origin differ from the change")
  .refine((c) => !c.path || c.path[0] === c.origin, "a path starts at the origin");
export type FedChange = z.infer<typeof FedChange>;

/** Published on `zent.fed.<from>.changes` (first-hand) and `zent.fed.<from>.relay.<to>` (relayed). */
export const ChangesMessage = z.strictObject({
  v: z.literal(WIRE_VERSION),
  from: RegistrarId,
  /** Relay messages only: the registrar this relay is addressed to. */
  to: RegistrarId.optional(),
  /** The publishing process's random epoch, and a per-subject message counter: a gap or a new epoch means "run anti-entropy". */
  pub: z.string().regex(/^[a-z0-9]{1,32}$/),
  n: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  changes: z.array(FedChange).max(MAX_CHANGES_PER_MESSAGE),
});
export type ChangesMessage = z.infer<typeof ChangesMessage>;

const Hash = z.string().regex(/^[0-9a-f]{16}$/);
const B64 = (bytes: number) => z.string().length(Math.ceil(bytes / 3) * 4).regex(/^[A-Za-z0-9+/]*={0,2}$/);

/** `…sync.digest`: with `root`, answers `same` or the 64 group hashes; with `groups`, their bucket hashes. */
export const DigestRequest = z.strictObject({
  v: z.literal(WIRE_VERSION),
  root: Hash.optional(),
  groups: z.array(z.number().int().min(0).max(GROUPS - 1)).max(GROUPS).optional(),
});
export type DigestRequest = z.infer<typeof DigestRequest>;

export const DigestReply = z.strictObject({
  v: z.literal(WIRE_VERSION),
  root: Hash,
  same: z.boolean().optional(),
  /** GROUPS × 8 bytes, base64. */
  groups: B64(GROUPS * 8).optional(),
  /** For each requested group: GROUP_SIZE × 8 bytes, base64. */
  buckets: z.array(z.strictObject({ g: z.number().int().min(0).max(GROUPS - 1), h: B64(GROUP_SIZE * 8) })).max(GROUPS).optional(),
});
export type DigestReply = z.infer<typeof DigestReply>;

/** `…sync.entries`: the (domain, origin, version, deleted) of everything held in these buckets. */
export const EntriesRequest = z.strictObject({
  v: z.literal(WIRE_VERSION),
  buckets: z.array(z.number().int().min(0).max(BUCKETS - 1)).min(1).max(MAX_BUCKETS_PER_REQUEST),
});
export type EntriesRequest = z.infer<typeof EntriesRequest>;

export const Entry = z.tuple([Domain, RegistrarId, z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.union([z.literal(0), z.literal(1)])]);
export type Entry = z.infer<typeof Entry>;

export const EntriesReply = z.strictObject({
  v: z.literal(WIRE_VERSION),
  /** The responder's own-version watermark: its own records up to this version are all listed (or tombstoned). */
  own: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** Buckets answered (a prefix of the request when the reply would be too large). */
  buckets: z.array(z.strictObject({ b: z.number().int().min(0).max(BUCKETS - 1), e: z.array(Entry).max(100_000) })).max(MAX_BUCKETS_PER_REQUEST),
});
export type EntriesReply = z.infer<typeof EntriesReply>;

/** `…sync.records`: the current snapshot of each (domain, origin). */
export const RecordsRequest = z.strictObject({
  v: z.literal(WIRE_VERSION),
  keys: z.array(z.tuple([Domain, RegistrarId])).min(1).max(MAX_KEYS_PER_REQUEST),
});
export type RecordsRequest = z.infer<typeof RecordsRequest>;

export const RecordsReply = z.strictObject({
  v: z.literal(WIRE_VERSION),
  /** Snapshots for a prefix of the keys (the rest did not fit); keys the responder does not hold are in `missing`. */
  records: z.array(FedChange).max(MAX_KEYS_PER_REQUEST),
  missing: z.array(z.tuple([Domain, RegistrarId])).max(MAX_KEYS_PER_REQUEST),
});
export type RecordsReply = z.infer<typeof RecordsReply>;

export const ErrorReply = z.strictObject({ v: z.literal(WIRE_VERSION), error: z.string().max(200) });

// Decoding (size, JSON, schema, drop reason) is the shared transport codec: transport/codec.ts.
export { decode, encode, DecodeError } from "../../transport/codec.js";
