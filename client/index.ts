// Zent Registrar client SDK (`@zent/registrar-client`): typed HTTP calls, a server session, the public feed.
export { RegistrarClient, type RegistrarClientOptions } from "./http.js";
export { ServerSession, SESSION_PATH, SESSION_PROTOCOL, type ServerSessionEvents, type ServerSessionOptions, type SessionStatus } from "./session.js";
export { Feed, FEED_PATH, type FeedEvents, type FeedOptions, type FeedStatus } from "./feed.js";
export { RegistrarApiError, SessionClosedError, type ErrorDetail } from "./errors.js";
export { BACKOFF_DEFAULTS, type BackoffOptions } from "./backoff.js";
export type { WebSocketConstructor, WebSocketLike } from "./socket.js";
export * from "./types.js";
export {
  createIdentityAssertion, verifyIdentityAssertion, InvalidAssertionError, ASSERTION_TYPE, MAX_ASSERTION_LIFETIME_S,
  type AssertionRejection, type CreateAssertionOptions, type IssuerKeys, type VerifiedIdentity, type VerifyAssertionOptions,
} from "./identity.js";
export { buildZentDocument, generateIdentityKey, publicKeyOf, type DocumentKeyInput, type GeneratedIdentityKey } from "./zent-document.js";
export { parseZentSignature, verifyZentSignature, type ParsedSignature } from "./signature.js";
export {
  fetchKeysFromDomain, fetchKeysFromRegistrar, fetchRegistrarKeys, keysFromDomain, keysFromRegistrar, KeyDirectoryError, type KeyFetchOptions,
} from "./key-directory.js";
export type * from "./trust-types.js";
