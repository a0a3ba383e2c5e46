// Mass-expiry protection (contract §10): when a large share of this node's online servers reach their offline
// deadline within a minute, the likely cause is the registrar's own ingress, not the servers. Further offline
// transitions are held until heartbeats come back or the hold ends; below the threshold nothing is held.
import type { Clock } from "./clock.js";

export type MassExpirySettings = {
  /** Share of the servers that were online whose deadlines, within `windowMs`, start a hold (MASS_EXPIRY_RATIO). */
  ratio: number;
  /** And at least this many (MASS_EXPIRY_MIN). */
  min: number;
  /** Longest hold (MASS_EXPIRY_HOLD_S); 0 turns the protection off. */
  holdMs: number;
};

/** The contract's defaults (§10): 20 % and at least 50 servers within a minute, held up to 10 minutes. */
export const MASS_EXPIRY_DEFAULTS: MassExpirySettings = { ratio: 0.2, min: 50, holdMs: 600_000 };

export const EXPIRY_WINDOW_MS = 60_000;
/** How often a hold checks whether it has run out. */
const HOLD_CHECK_MS = 250;

export type ExpiryState = "normal" | "held";
export type ReleaseReason = "heartbeats" | "timeout";

export type ExpiryListener = {
  held(info: { expired: number; online: number }): void;
  released(info: { reason: ReleaseReason; stillSilent: number; heldMs: number }): void;
};

export type ExpiryActions<T> = {
  /** Records online with an armed deadline (not counting the held ones). */
  armed(): number;
  /** Hold ended by time: these are still silent and go offline now. */
  expireNow(items: T[]): void;
  /** Heartbeats came back: these are still silent and get a usual offline deadline from now. */
  rearm(items: T[]): void;
};

export class MassExpiryGuard<T> {
  /** When each transition of the last window happened (oldest first, from `head`). */
  private recent: number[] = [];
  private head = 0;
  private readonly held = new Set<T>();
  private heldSinceMs = 0;
  private ticker: { stop(): void } | null = null;
  private listener: ExpiryListener | null = null;
  readonly stats = { holds: 0, releases: { heartbeats: 0, timeout: 0 } };

  constructor(
    private readonly settings: MassExpirySettings,
    private readonly clock: Clock,
    private readonly actions: ExpiryActions<T>,
  ) {}

  get state(): ExpiryState {
    return this.ticker ? "held" : "normal";
  }

  /** Servers whose offline transition is held right now. */
  get heldCount(): number {
    return this.held.size;
  }

  listen(l: ExpiryListener): void {
    this.listener = l;
  }

  /**
   * Records that reached their deadline (one from the timer wheel, or all overdue ones of an adoption at once).
   * Returns those to turn offline now; the others are held.
   */
  admit(items: T[]): T[] {
    if (items.length === 0) return items;
    if (this.ticker) {
      for (const i of items) this.held.add(i);
      return [];
    }
    const now = this.clock.now();
    this.prune(now);
    const expired = this.recent.length - this.head + items.length;
    // Servers that were online: those still armed, those now due, and those that went offline in the window.
    const online = this.actions.armed() + expired;
    if (this.settings.holdMs > 0 && this.above(expired, online)) {
      this.hold(items, now, expired, online);
      return [];
    }
    for (let i = 0; i < items.length; i++) this.recent.push(now);
    return items;
  }

  /** A held server was heard from (heartbeat): it is online as usual; enough of them end the hold. */
  heard(item: T): void {
    if (!this.held.delete(item) || !this.ticker) return;
    if (!this.above(this.held.size, this.actions.armed() + this.held.size)) this.release("heartbeats");
  }

  /** A held server left this node (removed, or its shard moved): no longer held here. */
  forget(item: T): void {
    this.held.delete(item);
  }

  stop(): void {
    this.ticker?.stop();
    this.ticker = null;
  }

  private above(expired: number, online: number): boolean {
    return expired >= this.settings.min && expired > this.settings.ratio * online;
  }

  private hold(items: T[], now: number, expired: number, online: number): void {
    for (const i of items) this.held.add(i);
    this.heldSinceMs = now;
    this.stats.holds++;
    this.ticker = this.clock.every(Math.min(HOLD_CHECK_MS, this.settings.holdMs), () => {
      if (this.clock.now() - this.heldSinceMs >= this.settings.holdMs) this.release("timeout");
    });
    this.listener?.held({ expired, online });
  }

  private release(reason: ReleaseReason): void {
    this.stop();
    const items = [...this.held];
    this.held.clear();
    // The released transitions are not a new mass expiry: the window starts afresh.
    this.recent = [];
    this.head = 0;
    this.stats.releases[reason]++;
    this.listener?.released({ reason, stillSilent: items.length, heldMs: this.clock.now() - this.heldSinceMs });
    if (reason === "timeout") this.actions.expireNow(items);
    else this.actions.rearm(items);
  }

  private prune(now: number): void {
    while (this.head < this.recent.length && this.recent[this.head] <= now - EXPIRY_WINDOW_MS) this.head++;
    // Compact now and then rather than shifting the array at every transition.
    if (this.head > 1024 && this.head * 2 > this.recent.length) {
      this.recent = this.recent.slice(this.head);
      this.head = 0;
    }
  }
}
