// Numbers, percentages and times as the pages print them: one locale (en) and UTC, so a cached page is the same
// for everyone and a test can read it.

const INTEGER = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
const MONTH_YEAR = new Intl.DateTimeFormat("en", { month: "short", year: "numeric", timeZone: "UTC" });
const DAY = new Intl.DateTimeFormat("en", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });

/** 1,204 */
export function formatCount(n: number): string {
  return INTEGER.format(n);
}

/** A ratio 0…1 as "99.2 %" (one decimal; 100 % only when it really is 1). */
export function formatPercent(ratio: number): string {
  const tenths = Math.floor(ratio * 1000) / 10;
  return `${ratio >= 1 ? "100" : tenths.toFixed(1)} %`;
}

/** "Nov 2026" */
export function formatMonth(ms: number): string {
  return MONTH_YEAR.format(ms);
}

/** "22 Nov 2026" */
export function formatDay(ms: number): string {
  return DAY.format(ms);
}

/** ISO-8601 with milliseconds, for `<time datetime>`. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** "just now", "5 min ago", "3 h ago", "12 days ago" — coarse on purpose: cached pages live about a second. */
export function formatAgo(ms: number, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  const days = Math.floor(s / 86_400);
  return days === 1 ? "1 day ago" : `${formatCount(days)} days ago`;
}

/** "4.5" (averages have two decimals at most; the page shows one). */
export function formatStars(average: number): string {
  return (Math.round(average * 10) / 10).toFixed(1);
}
