// Errors the SDK throws or reports: the registrar's error envelope (contract §1) and fatal session closes.

export type ErrorDetail = { path: string; message: string };

/** A non-2xx answer from the registrar, with the envelope's code and details. */
export class RegistrarApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
    /** Retry-After in seconds (429, 503), when sent. */
    readonly retryAfterS: number | null = null,
    readonly requestId: string | null = null,
  ) {
    super(message);
    this.name = "RegistrarApiError";
  }
}

/** The registrar closed a WebSocket with a code that retrying cannot fix (bad token, protocol, replaced). */
export class SessionClosedError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`registrar closed the session with ${code}${reason ? `: ${reason}` : ""}`);
    this.name = "SessionClosedError";
  }
}
