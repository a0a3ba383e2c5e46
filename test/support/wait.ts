// Fixed waits, named for why they cannot be a condition. Anything observable is waited for with vi.waitFor or a
// latch instead; these two are for what has no event to wait on.

/** An absence check: a window in which something must NOT happen (a loop, a leak, a lapse). */
export const quietFor = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Lets wall-clock time pass that the code under test measures (a bucket refilling, timestamps apart, a key expiring). */
export const letTimePass = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
