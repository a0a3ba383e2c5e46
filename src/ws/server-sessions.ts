// Zent-instance sessions on /v1/ws/server (contract §4): hello, identify, heartbeats through the actors, deadlines,
// one session per domain, events about the server pushed to its session.
import { randomUUID } from "node:crypto";
import type { WebSocket, WebSocketBehavior } from "uWebSockets.js";
import { UWS_COMPRESSION_DISABLED } from "../uws.js";
import type { HeartbeatCommand, HeartbeatReply } from "../../actors/commands.js";
import type { RegistryEvent } from "../core/events.js";
import type { ErrorCode } from "../core/errors.js";
import type { Stats } from "../core/record.js";
import { tokenHashOf } from "../core/tokens.js";
import { normalizeDomain } from "../domain/domain-name.js";
import type { Logger } from "../log.js";
import { CloseCode, CloseError, closeCodeForError } from "./close-codes.js";
import { closeConnection, decodeMessage, newConnectionState, sendFrame, type ConnectionState, type InboundLimits } from "./connection.js";
import { heartbeatAckFrame, readyFrame, sessionHelloFrame } from "./frames.js";
import { upgradeWith } from "./upgrade.js";
import { describeIssues, HeartbeatMessage, Identify, PROTOCOLS, SESSION_OPS } from "./ws-messages.js";

export const SESSION_DEFAULTS = {
  /** What a session may leave unread before it is closed with 1013 (it only gets acks and a few events). */
  maxBufferedBytes: 256 * 1024,
  /** uWS closes bigger frames itself with 1009; up to here the registrar answers 4000 (contract §4). */
  maxFrameBytes: 1024 * 1024,
  maxSweepIntervalMs: 1000,
} as const;

/** The one command a session sends to its server's actor. */
export type HeartbeatPort = {
  send(cmd: HeartbeatCommand): Promise<HeartbeatReply>;
};

export type ServerSessionDeps = {
  actors: HeartbeatPort;
  heartbeatIntervalMs: number;
  identifyTimeoutMs: number;
  heartbeatTimeoutMs: number;
  limits: InboundLimits;
  /** Called once per accepted heartbeat (identify included), like the HTTP route's counter. */
  onHeartbeat: () => void;
  onClose: (code: number) => void;
  /** An identify or heartbeat refused for its token (registrar_auth_failures_total). */
  onAuthFailure?: (reason: "unauthorized" | "token_expired") => void;
  /**
   * Tells the other nodes that `domain` identified here, so they close their own older session for it (4010).
   * Wired to the cluster transport; absent on a single node.
   */
  announce?: (claim: SessionClaim) => void;
  log: Logger;
  now?: () => number;
};

/** "This domain has a session here since identifiedMs", as one node tells the others. */
export type SessionClaim = { domain: string; sessionId: string; identifiedMs: number };

type Phase = "awaiting_identify" | "identifying" | "ready";

type SessionState = ConnectionState & {
  phase: Phase;
  sessionId: string;
  domain: string;
  /**
   * The SHA-256 of the token the session identified with, hashed once at identify: later heartbeats present it
   * (the owner compares it with the current hash in constant time, so a rotation ends the session with 4001),
   * the session keeps no token and hashes nothing per heartbeat.
   */
  tokenHash: string | null;
  /** Identify deadline while awaiting identify, heartbeat deadline once ready (checked by one sweep). */
  deadlineMs: number;
  identifiedMs: number;
  /** The identify in flight: heartbeats pipelined behind it wait for it. */
  identified: Promise<void> | null;
};

type Session = WebSocket<SessionState>;

const NO_STATS: Stats = Object.freeze({});

export class ServerSessions {
  private readonly open = new Set<Session>();
  private readonly byDomain = new Map<string, Session>();
  private readonly hello: string;
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;
  private shuttingDown = false;

  constructor(private readonly d: ServerSessionDeps) {
    this.hello = sessionHelloFrame(d.heartbeatIntervalMs, d.identifyTimeoutMs);
    this.now = d.now ?? Date.now;
    // One interval checks every deadline (no timer per socket); its period is a fraction of the shortest one.
    const periodMs = Math.max(20, Math.min(SESSION_DEFAULTS.maxSweepIntervalMs, Math.min(d.identifyTimeoutMs, d.heartbeatTimeoutMs) / 10));
    this.sweeper = setInterval(() => this.sweep(), periodMs);
    this.sweeper.unref();
  }

  get size(): number {
    return this.open.size;
  }

  get identifiedCount(): number {
    return this.byDomain.size;
  }

  behavior(): WebSocketBehavior<SessionState> {
    return {
      compression: UWS_COMPRESSION_DISABLED,
      maxPayloadLength: SESSION_DEFAULTS.maxFrameBytes,
      // Above our own bound, so the 1013 close frame is never the one uWS drops.
      maxBackpressure: SESSION_DEFAULTS.maxBufferedBytes + 256 * 1024,
      idleTimeout: 120,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => upgradeWith(res, req, context, this.shuttingDown ? null : this.newState()),
      open: (ws) => {
        this.open.add(ws);
        ws.getUserData().deadlineMs = this.now() + this.d.identifyTimeoutMs;
        sendFrame(ws, this.hello, SESSION_DEFAULTS.maxBufferedBytes);
      },
      message: (ws, message, isBinary) => {
        try {
          this.onMessage(ws, message, isBinary);
        } catch (err) {
          this.fail(ws, err);
        }
      },
      close: (ws, code) => {
        const s = ws.getUserData();
        s.closed = true;
        this.open.delete(ws);
        if (s.domain && this.byDomain.get(s.domain) === ws) this.byDomain.delete(s.domain);
        this.d.onClose(code);
      },
    };
  }

  /** Pushes an event about a server to its session, if it has one on this node. */
  deliver(ev: RegistryEvent, frame: string): void {
    const ws = this.byDomain.get(ev.domain);
    if (!ws) return;
    sendFrame(ws, frame, SESSION_DEFAULTS.maxBufferedBytes);
    // The token went with the record: nothing this session sends can be accepted any more.
    if (ev.type === "server.removed") closeConnection(ws, CloseCode.authenticationFailed, "server removed");
  }

  /**
   * Another node has a session for this domain: the older of the two goes (contract §4, 4010). Ties break by
   * session id, so two nodes hearing each other's claims close the same one.
   */
  claimedElsewhere(claim: SessionClaim): void {
    const ws = this.byDomain.get(claim.domain);
    if (!ws) return;
    const s = ws.getUserData();
    if (s.sessionId === claim.sessionId) return;
    const older = s.identifiedMs < claim.identifiedMs || (s.identifiedMs === claim.identifiedMs && s.sessionId < claim.sessionId);
    if (older) closeConnection(ws, CloseCode.sessionReplaced, "session replaced by a newer connection");
  }

  /** Closes every session with 1012 so clients reconnect, possibly to another node; refuses new ones. */
  shutdown(): void {
    this.shuttingDown = true;
    clearInterval(this.sweeper);
    for (const ws of this.open) {
      closeConnection(ws, CloseCode.restarting, "registrar node shutting down; reconnect");
    }
  }

  private newState(): SessionState {
    return {
      ...newConnectionState(),
      phase: "awaiting_identify",
      sessionId: randomUUID(),
      domain: "",
      tokenHash: null,
      deadlineMs: Number.POSITIVE_INFINITY,
      identifiedMs: 0,
      identified: null,
    };
  }

  private onMessage(ws: Session, message: ArrayBuffer, isBinary: boolean): void {
    const s = ws.getUserData();
    const { op, value } = decodeMessage(s, message, isBinary, this.d.limits, SESSION_OPS, this.now());
    if (op === "identify") return this.identify(ws, s, value);
    if (s.phase === "awaiting_identify") throw new CloseError(CloseCode.invalidMessage, "identify first");
    const parsed = HeartbeatMessage.safeParse(value);
    if (!parsed.success) throw new CloseError(CloseCode.invalidMessage, describeIssues(parsed.error));
    // A client may pipeline heartbeats right behind its identify: they run once it succeeded.
    if (s.phase === "identifying") {
      void s.identified!.then(() => this.heartbeat(ws, s, parsed.data));
      return;
    }
    this.heartbeat(ws, s, parsed.data);
  }

  private identify(ws: Session, s: SessionState, value: Record<string, unknown>): void {
    if (s.phase !== "awaiting_identify") throw new CloseError(CloseCode.alreadyIdentified, "identify sent twice");
    const parsed = Identify.safeParse(value);
    if (!parsed.success) throw new CloseError(CloseCode.invalidMessage, describeIssues(parsed.error));
    const msg = parsed.data;
    if (!(PROTOCOLS as readonly number[]).includes(msg.protocol)) {
      throw new CloseError(CloseCode.unsupportedProtocol, `unsupported protocol ${msg.protocol}; supported: ${PROTOCOLS.join(", ")}`);
    }
    const domain = normalizeDomain(msg.domain);
    if (domain === null) throw new CloseError(CloseCode.authenticationFailed, "authentication failed");
    s.phase = "identifying";
    s.deadlineMs = Number.POSITIVE_INFINITY;
    // Identify counts as a heartbeat (contract §4): it takes the same actor path as POST .../heartbeat.
    const tokenHash = tokenHashOf(msg.token);
    s.identified = this.d.actors.send({ type: "heartbeat", domain, tokenHash, stats: NO_STATS }).then(
      () => {
        s.tokenHash = tokenHash;
        this.d.onHeartbeat();
        if (s.closed) return;
        s.phase = "ready";
        s.domain = domain;
        s.identifiedMs = this.now();
        s.deadlineMs = s.identifiedMs + this.d.heartbeatTimeoutMs;
        const previous = this.byDomain.get(domain);
        if (previous !== undefined && previous !== ws) {
          closeConnection(previous, CloseCode.sessionReplaced, "session replaced by a newer connection");
        }
        this.byDomain.set(domain, ws);
        sendFrame(ws, readyFrame(s.sessionId), SESSION_DEFAULTS.maxBufferedBytes);
        this.d.announce?.({ domain, sessionId: s.sessionId, identifiedMs: s.identifiedMs });
      },
      (err) => this.fail(ws, err),
    );
  }

  private heartbeat(ws: Session, s: SessionState, msg: HeartbeatMessage): void {
    if (s.closed || s.phase !== "ready") return;
    s.deadlineMs = this.now() + this.d.heartbeatTimeoutMs;
    this.d.actors.send({ type: "heartbeat", domain: s.domain, tokenHash: s.tokenHash, stats: msg.stats ?? NO_STATS }).then(
      () => {
        this.d.onHeartbeat();
        if (!s.closed) sendFrame(ws, heartbeatAckFrame(msg.seq), SESSION_DEFAULTS.maxBufferedBytes);
      },
      (err) => this.fail(ws, err),
    );
  }

  private fail(ws: Session, err: unknown): void {
    if (ws.getUserData().closed) return;
    const code = closeCodeForError(err);
    if (code === null) {
      this.d.log.error({ err }, "server session failed");
      closeConnection(ws, CloseCode.internalError, "internal error");
      return;
    }
    if (code === CloseCode.authenticationFailed) {
      const errorCode = (err as { code?: unknown }).code;
      if (errorCode === "token_expired") this.d.onAuthFailure?.("token_expired");
      else if (errorCode === "unauthorized" || err instanceof CloseError) this.d.onAuthFailure?.("unauthorized");
    }
    // Unknown domain and wrong token read the same (contract §1: existence is not leaked through auth).
    const reason = code === CloseCode.authenticationFailed && !(err instanceof CloseError) ? authReason(err) : (err as Error).message;
    closeConnection(ws, code, reason);
  }

  private sweep(): void {
    const now = this.now();
    for (const ws of this.open) {
      const s = ws.getUserData();
      if (now < s.deadlineMs || s.closed) continue;
      if (s.phase === "awaiting_identify") {
        closeConnection(ws, CloseCode.identifyTimeout, `identify not received within ${this.d.identifyTimeoutMs} ms`);
      } else if (s.phase === "ready") {
        closeConnection(ws, CloseCode.heartbeatTimeout, `no heartbeat for ${this.d.heartbeatTimeoutMs} ms`);
      }
    }
  }
}

function authReason(err: unknown): string {
  const code = (err as { code?: ErrorCode }).code;
  if (code === "token_expired") return "token expired";
  if (code === "not_owner") return "record belongs to another registrar";
  return "authentication failed";
}
