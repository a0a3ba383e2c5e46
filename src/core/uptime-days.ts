// UTC-day arithmetic of the uptime rollup (contract §9.2): a time interval cut at midnights into per-day milliseconds.
import { DAY_MS } from "./units.js";

/** The UTC date of an instant as `YYYY-MM-DD`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Midnight UTC at the start of the day holding `ms`. */
export function dayStartMs(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** The start of the window of the last `days` UTC days, today included. */
export function windowStartMs(nowMs: number, days: number): number {
  return dayStartMs(nowMs) - (days - 1) * DAY_MS;
}

/** [fromMs, toMs) cut into UTC days, oldest first; empty when the interval is empty. */
export function splitByDay(fromMs: number, toMs: number): { day: string; ms: number }[] {
  const out: { day: string; ms: number }[] = [];
  let t = fromMs;
  while (t < toMs) {
    const end = Math.min(dayStartMs(t) + DAY_MS, toMs);
    out.push({ day: utcDay(t), ms: end - t });
    t = end;
  }
  return out;
}
