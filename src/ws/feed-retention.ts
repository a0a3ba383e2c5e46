// Feed retention (contract §5.2, FEED_RETENTION_DAYS): events older than the window are pruned on a schedule.
export type RetentionDeps = {
  retentionMs: number;
  /** Deletes events older than the given time; resolves to how many went. */
  prune: (olderThanMs: number) => Promise<number>;
  onPruned: (rows: number) => void;
  onError: (err: unknown) => void;
  now?: () => number;
};

export const RETENTION_DEFAULTS = { maxIntervalMs: 5 * 60_000, minIntervalMs: 1000 } as const;

/** Prunes now and then every tenth of the window (1 s – 5 min); runs never overlap. stop() waits for a run. */
export function startRetention(d: RetentionDeps): { stop(): Promise<void>; runNow(): Promise<void> } {
  const now = d.now ?? Date.now;
  const intervalMs = Math.min(RETENTION_DEFAULTS.maxIntervalMs, Math.max(RETENTION_DEFAULTS.minIntervalMs, d.retentionMs / 10));
  let running: Promise<void> | null = null;
  const run = (): Promise<void> =>
    (running ??= d
      .prune(now() - d.retentionMs)
      .then((rows) => d.onPruned(rows), d.onError)
      .finally(() => {
        running = null;
      }));
  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();
  void run();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
    runNow: run,
  };
}
