// Contract §9.2 DEAD_AFTER_DAYS: marks servers offline for longer than that as dead (left out of listings unless
// include_dead=true). Nothing happens at the moment a server passes the limit, so a sweep looks; a server that
// comes back is alive again at once (Directory.update clears the mark with the status).
import type { Directory } from "./directory.js";

/** The sweep runs this often, or more often when DEAD_AFTER_DAYS is tiny (tests), but never below the floor. */
const SWEEP_MAX_MS = 60_000;
const SWEEP_MIN_MS = 200;

/** Dead: offline, and no heartbeat for longer than deadAfterMs. */
export function sweepDead(directory: Directory, deadAfterMs: number, nowMs: number): void {
  const cutoff = nowMs - deadAfterMs;
  for (const r of directory.values()) directory.setDead(r, r.status === "offline" && r.lastSeenMs < cutoff);
}

export function startDeadSweep(directory: Directory, deadAfterMs: number): { stop(): void } {
  sweepDead(directory, deadAfterMs, Date.now());
  const every = Math.max(SWEEP_MIN_MS, Math.min(SWEEP_MAX_MS, Math.floor(deadAfterMs / 4)));
  const timer = setInterval(() => sweepDead(directory, deadAfterMs, Date.now()), every);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
