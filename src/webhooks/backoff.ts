// Retry schedule for webhook deliveries: exponential backoff with full jitter, capped, with a give-up horizon.
export type RetryPolicy = {
  /** Cap of the first retry delay; doubles per failed attempt (WEBHOOK_RETRY_BASE_MS). */
  baseMs: number;
  /** Largest cap (WEBHOOK_RETRY_MAX_MS). */
  maxMs: number;
  /** No attempt is scheduled later than this after the delivery was enqueued (WEBHOOK_GIVE_UP_AFTER_S). */
  giveUpAfterMs: number;
};

/**
 * Delay before the attempt after `failedAttempts` failures: uniform in [0, min(max, base·2^(n−1))] ("full
 * jitter", AWS Architecture Blog, "Exponential Backoff and Jitter"), so receivers coming back from an outage are
 * not hit by every registrar node in lockstep.
 */
export function retryDelayMs(failedAttempts: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exp = Math.min(failedAttempts - 1, 40); // 2^40 ms is decades: no overflow, the cap wins long before
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, exp));
  return Math.floor(random() * cap);
}

/** After a failed attempt: when to try again, or null to give up (the delivery becomes `failed`). */
export function nextAttemptDelayMs(failedAttempts: number, ageMs: number, policy: RetryPolicy, random?: () => number): number | null {
  const delay = retryDelayMs(failedAttempts, policy, random);
  return ageMs + delay > policy.giveUpAfterMs ? null : delay;
}
