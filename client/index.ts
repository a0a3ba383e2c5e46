// Zent Registrar client SDK (`@zent/registrar-client`): typed HTTP calls, a server session, the public feed.
export { RegistrarClient, type RegistrarClientOptions } from "./http.js";
export { ServerSession, SESSION_PATH, SESSION_PROTOCOL, type ServerSessionEvents, type ServerSessionOptions, type SessionStatus } from "./session.js";
export { Feed, FEED_PATH, type FeedEvents, type FeedOptions, type FeedStatus } from "./feed.js";
export { RegistrarApiError, SessionClosedError, type ErrorDetail } from "./errors.js";
export { BACKOFF_DEFAULTS, type BackoffOptions } from "./backoff.js";
export type { WebSocketConstructor, WebSocketLike } from "./socket.js";
export * from "./types.js";
