// Inline SVG charts (no script, no external files, styled by the page's CSS): daily uptime bars (§9.1, 90 days on a
// server's page) and the 1–5 star distribution of its ratings.
import { formatPercent } from "./format.js";
import { html, type SafeHtml } from "./html.js";
import type { UptimeDay } from "./view-model.js";

const DAY_WIDTH = 6;
const BAR_WIDTH = 4;
const CHART_HEIGHT = 32;
/** A day at 0 % still shows a sliver, so "down all day" is not mistaken for "no data". */
const MIN_BAR_HEIGHT = 2;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The last `n` UTC days ending today, oldest first, with no data: what the chart shows before any is recorded. */
export function lastDays(n: number, nowMs: number): UptimeDay[] {
  const today = Math.floor(nowMs / 86_400_000);
  return Array.from({ length: n }, (_, i) => ({ date: new Date((today - n + 1 + i) * 86_400_000).toISOString().slice(0, 10), online_ratio: null }));
}

export type UptimeSummary = { ratio: number | null; daysWithData: number; days: number };

/** Thresholds of the bar colours; the bar height carries the same information for people who cannot tell them apart. */
export function uptimeClass(ratio: number | null): "none" | "good" | "fair" | "poor" {
  if (ratio === null) return "none";
  return ratio >= 0.995 ? "good" : ratio >= 0.95 ? "fair" : "poor";
}

function cleanRatio(r: number | null | undefined): number | null {
  return typeof r === "number" && Number.isFinite(r) ? Math.min(1, Math.max(0, r)) : null;
}

/** The mean of the days that have data (each day counts once), or null when none has. */
export function summarizeUptime(days: readonly UptimeDay[]): UptimeSummary {
  let sum = 0;
  let n = 0;
  for (const d of days) {
    const r = cleanRatio(d.online_ratio);
    if (r !== null) {
      sum += r;
      n++;
    }
  }
  return { ratio: n === 0 ? null : sum / n, daysWithData: n, days: days.length };
}

function describe(s: UptimeSummary): string {
  if (s.days === 0) return "No uptime data";
  const span = `the last ${s.days} ${s.days === 1 ? "day" : "days"}`;
  if (s.ratio === null) return `Uptime over ${span}: no data recorded`;
  return `Uptime over ${span}: ${formatPercent(s.ratio)} online on ${s.daysWithData} ${s.daysWithData === 1 ? "day" : "days"} with data`;
}

/**
 * One bar per day, oldest first: height and colour by the share of the day online; a day without data (not listed
 * yet, or nothing recorded) is a faint full-height bar. Each bar has a <title> (the browser's tooltip).
 */
export function uptimeChart(days: readonly UptimeDay[]): SafeHtml {
  const width = Math.max(1, days.length * DAY_WIDTH - (DAY_WIDTH - BAR_WIDTH));
  const bars = days.map((d, i) => {
    const r = cleanRatio(d.online_ratio);
    const date = DATE.test(d.date) ? d.date : "unknown day";
    const height = r === null ? CHART_HEIGHT : Math.max(MIN_BAR_HEIGHT, Math.round(r * CHART_HEIGHT * 100) / 100);
    const label = r === null ? `${date}: no data` : `${date}: ${formatPercent(r)} online`;
    return html`<rect class="${`day ${uptimeClass(r)}`}" x="${i * DAY_WIDTH}" y="${CHART_HEIGHT - height}" width="${BAR_WIDTH}" height="${height}"><title>${label}</title></rect>`;
  });
  return html`<svg class="uptime-chart" viewBox="${`0 0 ${width} ${CHART_HEIGHT}`}" preserveAspectRatio="none" role="img" aria-label="${describe(summarizeUptime(days))}" xmlns="http://www.w3.org/2000/svg">${bars}</svg>`;
}

const ROW_HEIGHT = 10;
const BARS_WIDTH = 100;

/** Five horizontal bars, 5 stars at the top, each as long as its share of the ratings. */
export function ratingBars(distribution: readonly number[]): SafeHtml {
  const counts = [0, 1, 2, 3, 4].map((i) => {
    const c = distribution[i];
    return typeof c === "number" && Number.isFinite(c) && c > 0 ? Math.floor(c) : 0;
  });
  const total = counts.reduce((a, b) => a + b, 0);
  const label = [5, 4, 3, 2, 1].map((stars) => `${stars} ${stars === 1 ? "star" : "stars"}: ${counts[stars - 1]}`).join(", ");
  const rows = [5, 4, 3, 2, 1].map((stars, row) => {
    const c = counts[stars - 1];
    const w = total === 0 ? 0 : Math.round((c / total) * BARS_WIDTH * 100) / 100;
    const y = row * ROW_HEIGHT + 1;
    return html`<rect class="track" x="0" y="${y}" width="${BARS_WIDTH}" height="${ROW_HEIGHT - 3}"></rect><rect class="${`fill s${stars}`}" x="0" y="${y}" width="${w}" height="${ROW_HEIGHT - 3}"></rect>`;
  });
  return html`<svg class="rating-bars" viewBox="${`0 0 ${BARS_WIDTH} ${5 * ROW_HEIGHT - 2}`}" preserveAspectRatio="none" role="img" aria-label="${label}" xmlns="http://www.w3.org/2000/svg">${rows}</svg>`;
}
