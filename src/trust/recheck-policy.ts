// The re-check rule of contract §8.1: when to fetch a verified domain's document again, and when its proof lapses.

export type CheckState = {
  /** When the current run of failures began; null while the last fetch succeeded. */
  firstFailureAtMs: number | null;
};

export type RecheckTiming = { recheckIntervalMs: number; graceMs: number };

export type RecheckDecision = {
  firstFailureAtMs: number | null;
  /** The proof has been missing or unreachable for longer than the grace: `verified` turns false. */
  lapsed: boolean;
  /** When to fetch again (irrelevant once lapsed: the check is dropped). */
  nextCheckAtMs: number;
};

/**
 * After a successful fetch the next one is a full interval away. After a failure it is still at most an interval
 * away, but never later than just past the end of the grace, so a proof that stays missing lapses on time (not up
 * to one interval late) and one that comes back in time is seen before the grace ends.
 */
export function decideRecheck(state: CheckState, succeeded: boolean, nowMs: number, t: RecheckTiming): RecheckDecision {
  if (succeeded) return { firstFailureAtMs: null, lapsed: false, nextCheckAtMs: nowMs + t.recheckIntervalMs };
  const firstFailureAtMs = state.firstFailureAtMs ?? nowMs;
  const graceEndMs = firstFailureAtMs + t.graceMs;
  if (nowMs > graceEndMs) return { firstFailureAtMs, lapsed: true, nextCheckAtMs: nowMs + t.recheckIntervalMs };
  return { firstFailureAtMs, lapsed: false, nextCheckAtMs: Math.min(nowMs + t.recheckIntervalMs, graceEndMs + 1) };
}
