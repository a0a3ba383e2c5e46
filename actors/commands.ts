// Messages to a server's actor as data: one zod schema per command, tagged by `type`, with a typed reply each, and
// the versioned envelope they travel in between nodes. A node runs only these commands, never an arbitrary method.
import { z } from "zod";
import { Initiator } from "../src/core/events.js";
import { ServerFields, Stats } from "../src/core/record.js";
import { WireError } from "../src/core/errors.js";

const Domain = z.string().min(1).max(253);
/** The hex SHA-256 of a token: the edge hashes the bearer token, no raw token crosses the cluster (security H5). */
const TokenHash = z.string().regex(/^[0-9a-f]{64}$/);
/** The presented token's hash; null when the bearer was not a registrar token at all (fails like a wrong one). */
const PresentedHash = TokenHash.nullable();

export const RegisterCommand = z.strictObject({
  type: z.literal("register"),
  domain: Domain,
  fields: ServerFields,
  /** Hash of the token the edge generated: the reply never carries a token. */
  tokenHash: TokenHash,
  by: Initiator,
});
export const HeartbeatCommand = z.strictObject({
  type: z.literal("heartbeat"),
  domain: Domain,
  /** HTTP: hashed per request; a WebSocket session sends the hash it kept from identify (no hashing per beat). */
  tokenHash: PresentedHash,
  stats: Stats,
});
export const UpdateCommand = z.strictObject({
  type: z.literal("update"),
  domain: Domain,
  tokenHash: PresentedHash,
  changed: ServerFields.partial(),
  by: Initiator,
});
export const RemoveCommand = z.strictObject({
  type: z.literal("remove"),
  domain: Domain,
  tokenHash: PresentedHash,
  by: Initiator,
});
export const RotateTokenCommand = z.strictObject({
  type: z.literal("rotate_token"),
  domain: Domain,
  tokenHash: PresentedHash,
  /** Hash of the new token, generated at the edge. */
  newTokenHash: TokenHash,
  by: Initiator,
});

/** A challenge as the registrar issues them (contract §8.1: ≥ 32 random bytes, base64url). */
const Challenge = z.string().regex(/^[A-Za-z0-9_-]{43,128}$/);
/** Why the operator acted (contract §8.5 `reason`), kept in the audit row. */
const Reason = z.string().max(500).optional();

/** Checks a token without changing anything: the edge's gate before a slow step (a document fetch, a rating). */
export const AuthorizeCommand = z.strictObject({
  type: z.literal("authorize"),
  domain: Domain,
  tokenHash: PresentedHash,
});
/**
 * Sets the proof state (contract §8.1, §8.5) after a document check at the edge, an operator action or a re-check.
 * `challenge`: the one that proved it (the standing proof), null to clear it, absent to keep it. With `tokenHash`
 * the owner's token is checked again in the mailbox. Changes nothing (no event) when the state is already this one.
 */
export const SetVerifiedCommand = z.strictObject({
  type: z.literal("set_verified"),
  domain: Domain,
  tokenHash: PresentedHash.optional(),
  verified: z.boolean(),
  challenge: Challenge.nullable().optional(),
  by: Initiator,
  reason: Reason,
});
/** Recovery (contract §8.2): the document proved the recovery challenge; a new token, every earlier one dead. */
export const RecoverCommand = z.strictObject({
  type: z.literal("recover"),
  domain: Domain,
  challenge: Challenge,
  newTokenHash: TokenHash,
  by: Initiator,
});
/** The operator issues a new token (contract §8.5); every earlier one stops working. */
export const ReissueTokenCommand = z.strictObject({
  type: z.literal("reissue_token"),
  domain: Domain,
  newTokenHash: TokenHash,
  by: Initiator,
  reason: Reason,
});
/** The operator removes a server like its owner's DELETE (contract §8.5), also when banning it. */
export const EvictCommand = z.strictObject({
  type: z.literal("evict"),
  domain: Domain,
  by: Initiator,
  reason: Reason,
});

/** Adding a command: one schema above, one entry here and in REPLIES, one case in ServerActors.handle. */
export const ServerCommand = z.discriminatedUnion("type", [
  RegisterCommand, HeartbeatCommand, UpdateCommand, RemoveCommand, RotateTokenCommand,
  AuthorizeCommand, SetVerifiedCommand, RecoverCommand, ReissueTokenCommand, EvictCommand,
]);
export type ServerCommand = z.infer<typeof ServerCommand>;
export type CommandType = ServerCommand["type"];
export type CommandOf<T extends CommandType> = Extract<ServerCommand, { type: T }>;
export type RegisterCommand = CommandOf<"register">;
export type HeartbeatCommand = CommandOf<"heartbeat">;
export type UpdateCommand = CommandOf<"update">;
export type RemoveCommand = CommandOf<"remove">;
export type RotateTokenCommand = CommandOf<"rotate_token">;
export type AuthorizeCommand = CommandOf<"authorize">;
export type SetVerifiedCommand = CommandOf<"set_verified">;
export type RecoverCommand = CommandOf<"recover">;
export type ReissueTokenCommand = CommandOf<"reissue_token">;
export type EvictCommand = CommandOf<"evict">;

const Ms = z.number().int();
/** Replies carry the record as JSON so they cross the network unchanged; seq lets the edge wait for its directory. */
export const REPLIES = {
  register: z.strictObject({ recordJson: z.string(), tokenExpiresMs: Ms, seq: z.number().int() }),
  heartbeat: z.strictObject({ status: z.literal("online"), lastSeenMs: Ms, tokenExpiresMs: Ms }),
  update: z.strictObject({ recordJson: z.string(), seq: z.number().int() }),
  remove: z.strictObject({ seq: z.number().int() }),
  rotate_token: z.strictObject({ tokenExpiresMs: Ms }),
  authorize: z.strictObject({ verified: z.boolean() }),
  /** seq 0: nothing changed, no event. */
  set_verified: z.strictObject({ recordJson: z.string(), verifiedAtMs: Ms, seq: z.number().int() }),
  recover: z.strictObject({ recordJson: z.string(), tokenExpiresMs: Ms, seq: z.number().int() }),
  reissue_token: z.strictObject({ tokenExpiresMs: Ms }),
  evict: z.strictObject({ seq: z.number().int() }),
} as const satisfies Record<CommandType, z.ZodType>;
export type Replies = { [K in CommandType]: z.infer<(typeof REPLIES)[K]> };
export type ReplyTo<C extends ServerCommand> = Replies[C["type"]];
export type RegisterReply = Replies["register"];
export type HeartbeatReply = Replies["heartbeat"];
export type UpdateReply = Replies["update"];
export type RemoveReply = Replies["remove"];
export type RotateReply = Replies["rotate_token"];
export type AuthorizeReply = Replies["authorize"];
export type SetVerifiedReply = Replies["set_verified"];
export type RecoverReply = Replies["recover"];
export type ReissueReply = Replies["reissue_token"];
export type EvictReply = Replies["evict"];

/** What the edge (HTTP, WebSocket) asks of a server's actor, wherever that actor lives. */
export interface ActorApi {
  send<C extends ServerCommand>(cmd: C): Promise<ReplyTo<C>>;
}

/** Version of the shard mailbox envelope; a message of another version is dropped and counted, never run. */
export const COMMAND_WIRE_VERSION = 1;
export const CommandEnvelope = z.strictObject({ v: z.literal(COMMAND_WIRE_VERSION), cmd: ServerCommand });
export type CommandEnvelope = z.infer<typeof CommandEnvelope>;
/** The owner's answer: the command's reply (checked against REPLIES at the edge), or a contract error `{code,…}`. */
export const ReplyEnvelope = z.union([
  z.strictObject({ v: z.literal(COMMAND_WIRE_VERSION), ok: z.unknown() }),
  z.strictObject({ v: z.literal(COMMAND_WIRE_VERSION), error: WireError }),
]);
export type ReplyEnvelope = z.infer<typeof ReplyEnvelope>;

/**
 * Heartbeats an edge forwards to one owner node in one request (docs/cluster.md): each item is a heartbeat command
 * without its type, as a tuple [domain, tokenHash, stats], so the owner checks three fields and not a whole
 * CommandEnvelope per heartbeat. The owner answers one item per beat, in order.
 */
export const BEATS_PER_BATCH = 256;
export const ForwardedBeat = z.tuple([Domain, PresentedHash, Stats]);
export type ForwardedBeat = z.infer<typeof ForwardedBeat>;
export const BeatBatch = z.strictObject({ v: z.literal(COMMAND_WIRE_VERSION), beats: z.array(ForwardedBeat).min(1).max(BEATS_PER_BATCH) });
export type BeatBatch = z.infer<typeof BeatBatch>;
const BeatOutcome = z.union([z.strictObject({ ok: REPLIES.heartbeat }), z.strictObject({ error: WireError })]);
export type BeatOutcome = z.infer<typeof BeatOutcome>;
/** `error` without `replies`: the owner could not read the batch at all. */
export const BeatReplies = z.union([
  z.strictObject({ v: z.literal(COMMAND_WIRE_VERSION), replies: z.array(BeatOutcome).max(BEATS_PER_BATCH) }),
  z.strictObject({ v: z.literal(COMMAND_WIRE_VERSION), error: WireError }),
]);
export type BeatReplies = z.infer<typeof BeatReplies>;
