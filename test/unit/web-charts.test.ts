// Inline SVG charts (src/web/charts.ts): 90-day uptime bars and the rating distribution.
import { describe, expect, it } from "vitest";
import { lastDays, ratingBars, summarizeUptime, uptimeChart, uptimeClass } from "../../src/web/charts.js";

type Rect = { cls: string; x: number; y: number; width: number; height: number; title: string };

function rects(svg: string): Rect[] {
  return [...svg.matchAll(/<rect class="([^"]*)" x="([^"]*)" y="([^"]*)" width="([^"]*)" height="([^"]*)"><title>([^<]*)<\/title><\/rect>/g)].map(
    (m) => ({ cls: m[1], x: Number(m[2]), y: Number(m[3]), width: Number(m[4]), height: Number(m[5]), title: m[6] }),
  );
}

describe("uptime chart", () => {
  it("draws one bar per day, oldest first, as tall as the share of the day online", () => {
    const svg = uptimeChart([
      { date: "2026-11-01", online_ratio: 1 },
      { date: "2026-11-02", online_ratio: 0.5 },
      { date: "2026-11-03", online_ratio: 0.96 },
    ]).text;
    const bars = rects(svg);
    expect(bars.map((b) => b.x)).toEqual([0, 6, 12]);
    expect(bars.map((b) => b.height)).toEqual([32, 16, 30.72]);
    // Bars stand on the baseline.
    for (const b of bars) expect(b.y + b.height).toBeCloseTo(32, 6);
    expect(bars.map((b) => b.cls)).toEqual(["day good", "day poor", "day fair"]);
    expect(bars.map((b) => b.title)).toEqual(["2026-11-01: 100 % online", "2026-11-02: 50.0 % online", "2026-11-03: 96.0 % online"]);
    expect(svg).toMatch(/^<svg class="uptime-chart" viewBox="0 0 16 32" [^>]*role="img"/);
  });

  it("shows a day without data as a faint full-height bar, and a day at 0 % as a sliver", () => {
    const bars = rects(uptimeChart([{ date: "2026-11-01", online_ratio: null }, { date: "2026-11-02", online_ratio: 0 }]).text);
    expect(bars[0]).toMatchObject({ cls: "day none", height: 32, title: "2026-11-01: no data" });
    expect(bars[1]).toMatchObject({ cls: "day poor", height: 2, y: 30, title: "2026-11-02: 0.0 % online" });
  });

  it("clamps ratios outside 0…1, treats NaN as no data, and never prints a date it did not validate", () => {
    const bars = rects(
      uptimeChart([
        { date: "2026-11-01", online_ratio: 1.7 },
        { date: "2026-11-02", online_ratio: -3 },
        { date: "2026-11-03", online_ratio: Number.NaN },
        { date: '<script>"', online_ratio: 1 },
      ]).text,
    );
    expect(bars.map((b) => b.height)).toEqual([32, 2, 32, 32]);
    expect(bars[2].cls).toBe("day none");
    expect(bars[3].title).toBe("unknown day: 100 % online");
  });

  it("summarises for screen readers: mean of the days with data", () => {
    const svg = uptimeChart([
      { date: "2026-11-01", online_ratio: 1 },
      { date: "2026-11-02", online_ratio: 0.9 },
      { date: "2026-11-03", online_ratio: null },
    ]).text;
    expect(svg).toContain('aria-label="Uptime over the last 3 days: 95.0 % online on 2 days with data"');
    expect(summarizeUptime([{ date: "2026-11-01", online_ratio: null }])).toEqual({ ratio: null, daysWithData: 0, days: 1 });
    expect(uptimeChart([]).text).toContain('aria-label="No uptime data"');
  });

  it("draws 90 bars for 90 days, in a 538-unit-wide box", () => {
    const days = lastDays(90, Date.parse("2026-12-03T10:00:00Z"));
    expect(days[0].date).toBe("2026-09-05");
    expect(days[89].date).toBe("2026-12-03");
    const svg = uptimeChart(days.map((d, i) => ({ ...d, online_ratio: i % 2 ? 1 : null }))).text;
    expect(rects(svg)).toHaveLength(90);
    expect(svg).toContain('viewBox="0 0 538 32"');
  });

  it("colours by thresholds: ≥ 99.5 % good, ≥ 95 % fair, else poor", () => {
    expect([1, 0.995, 0.9949, 0.95, 0.9499, null].map(uptimeClass)).toEqual(["good", "good", "fair", "fair", "poor", "none"]);
  });
});

describe("rating distribution bars", () => {
  it("draws five rows, 5 stars first, each as wide as its share", () => {
    const svg = ratingBars([1, 0, 0, 1, 2]).text;
    const fills = [...svg.matchAll(/<rect class="fill s(\d)" x="0" y="(\d+)" width="([^"]+)"/g)].map((m) => ({ stars: Number(m[1]), y: Number(m[2]), w: Number(m[3]) }));
    expect(fills).toEqual([
      { stars: 5, y: 1, w: 50 },
      { stars: 4, y: 11, w: 25 },
      { stars: 3, y: 21, w: 0 },
      { stars: 2, y: 31, w: 0 },
      { stars: 1, y: 41, w: 25 },
    ]);
    expect(svg).toContain('aria-label="5 stars: 2, 4 stars: 1, 3 stars: 0, 2 stars: 0, 1 star: 1"');
  });

  it("draws empty tracks when there are no ratings, and ignores negative or broken counts", () => {
    const svg = ratingBars([0, -4, Number.NaN, 0, 0]).text;
    expect([...svg.matchAll(/class="fill s\d" x="0" y="\d+" width="0"/g)]).toHaveLength(5);
  });
});
