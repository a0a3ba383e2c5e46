// Write-behind for heartbeat soft state: dirty records are flushed in batches every flush interval, at most one
// row write per server per flush, retried while MySQL is away, and flushed once more on shutdown.
import type { LivenessSink } from "../../actors/ports.js";
import type { ServerRecord } from "../core/record.js";
import { tokenExpiresMs, type TokenPolicy } from "../core/tokens.js";
import type { Liveness, ServersRepo } from "./servers-repo.js";

export type FlushStats = { rows: number; ms: number };

export class WriteBehind implements LivenessSink {
  private dirty = new Set<ServerRecord>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  rowsWritten = 0;

  constructor(
    private readonly repo: ServersRepo,
    private readonly tokens: TokenPolicy,
    private readonly intervalMs: number,
    private readonly onFlush: (s: FlushStats) => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  get backlog(): number {
    return this.dirty.size;
  }

  markDirty(rec: ServerRecord): void {
    if (rec.dirty) return;
    rec.dirty = true;
    this.dirty.add(rec);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  /** Writes everything dirty now; a failed batch stays dirty for the next flush. */
  flush(): Promise<void> {
    this.flushing ??= this.flushOnce().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    if (this.dirty.size === 0) return;
    const records = this.dirty;
    this.dirty = new Set();
    const batch: Liveness[] = [];
    for (const r of records) {
      r.dirty = false;
      batch.push({ domain: r.domain, lastSeenMs: r.lastSeenMs, userCount: r.userCount, channelCount: r.channelCount, version: r.version, tokenExpiresMs: tokenExpiresMs(r, this.tokens) });
    }
    const started = performance.now();
    try {
      await this.repo.flushLiveness(batch);
      this.rowsWritten += batch.length;
      this.onFlush({ rows: batch.length, ms: performance.now() - started });
    } catch (err) {
      for (const r of records) this.markDirty(r);
      this.onError(err);
    }
  }
}
