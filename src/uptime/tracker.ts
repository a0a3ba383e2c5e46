// Each record's `uptime_30d` (contract §9.2), kept in memory so listings and sort=uptime never touch MySQL: loaded
// from the daily rollup at start and each UTC midnight, then advanced by the server.status events every node sees in
// seq order (the same spans, at the same instants, that persistStatuses writes into the rollup).
import type { RegistryEvent } from "../core/events.js";
import { SORT_FIELD, type ServerRecord } from "../core/record.js";
import { DAY_MS } from "../core/units.js";
import { windowStartMs } from "../core/uptime-days.js";
import type { Directory } from "../directory/directory.js";
import type { UptimeRepo } from "../store/uptime-repo.js";

/** `uptime_30d` covers the last 30 UTC days, today included (the uptime route's `ratio` for days=30). */
export const UPTIME_WINDOW_DAYS = 30;
/** The open stretch grows with time: ratios are refreshed this often (a transition refreshes its record at once). */
const REFRESH_MS = 60_000;
// After midnight, the rollup is re-read a little later, so the last transitions of the old day are committed.
const RELOAD_AFTER_MIDNIGHT_MS = 5_000;

export type UptimeTracker = {
  /** The sequencer listener. */
  onEvent(ev: RegistryEvent): void;
  /** Loads the window's sums and starts the refresh and midnight timers. */
  start(): Promise<void>;
  stop(): void;
};

export function createUptimeTracker(d: {
  directory: Directory;
  repo: UptimeRepo;
  /** Only this registrar's own records have a rollup; mirrored ones show null (docs/api.md). */
  registrarId: string;
  onError: (err: unknown) => void;
  now?: () => number;
}): UptimeTracker {
  const now = d.now ?? Date.now;
  const own = (r: ServerRecord) => r.origin === d.registrarId;
  let windowStart = windowStartMs(now(), UPTIME_WINDOW_DAYS);
  let refreshTimer: NodeJS.Timeout | null = null;
  let midnightTimer: NodeJS.Timeout | null = null;
  /** Domains whose spans moved while a reload was reading: the reload must not overwrite them with older sums. */
  let touchedDuringReload: Set<string> | null = null;

  /** The ratio as of `atMs`: closed sums plus the stretch still open since statusSinceMs. */
  function ratioAt(r: ServerRecord, atMs: number): number | null {
    const open = r.statusSinceMs > 0 ? Math.max(0, atMs - Math.max(r.statusSinceMs, windowStart)) : 0;
    const observed = r.uptimeObservedMs + open;
    if (observed <= 0) return null;
    const online = r.uptimeOnlineMs + (r.uptimeStatus === "online" ? open : 0);
    return Math.round((online / observed) * 10_000) / 10_000;
  }

  function refresh(r: ServerRecord, atMs: number): void {
    const next = ratioAt(r, atMs);
    if (next === r.uptime30d) return;
    d.directory.update(r, SORT_FIELD.uptime, false, () => {
      r.uptime30d = next;
    });
  }

  function refreshAll(): void {
    const t = now();
    for (const r of d.directory.values()) if (own(r)) refresh(r, t);
  }

  async function reload(): Promise<void> {
    const t = now();
    windowStart = windowStartMs(t, UPTIME_WINDOW_DAYS);
    touchedDuringReload = new Set();
    try {
      const sums = await d.repo.sumsSince(windowStart);
      for (const r of d.directory.values()) {
        if (!own(r) || touchedDuringReload.has(r.domain)) continue;
        const s = sums.get(r.domain);
        r.uptimeObservedMs = s?.observed ?? 0;
        r.uptimeOnlineMs = s?.online ?? 0;
      }
    } finally {
      touchedDuringReload = null;
    }
    refreshAll();
  }

  function armMidnight(): void {
    const t = now();
    const next = Math.floor(t / DAY_MS) * DAY_MS + DAY_MS + RELOAD_AFTER_MIDNIGHT_MS;
    midnightTimer = setTimeout(() => {
      reload().catch(d.onError).finally(armMidnight);
    }, next - t);
    midnightTimer.unref();
  }

  function onEvent(ev: RegistryEvent): void {
    if (ev.type !== "server.status" && ev.type !== "server.registered") return;
    const r = d.directory.get(ev.domain);
    if (!r || !own(r)) return;
    const at = Date.parse(ev.at);
    if (ev.type === "server.registered") {
      r.uptimeStatus = "online";
      r.statusSinceMs = at;
      r.uptimeObservedMs = 0;
      r.uptimeOnlineMs = 0;
    } else {
      // The stretch that ended (within the window), counted like the rollup counts it.
      if (r.statusSinceMs > 0) {
        const span = Math.max(0, at - Math.max(r.statusSinceMs, windowStart));
        r.uptimeObservedMs += span;
        if (r.uptimeStatus === "online") r.uptimeOnlineMs += span;
      }
      r.uptimeStatus = ev.data.status === "offline" ? "offline" : "online";
      r.statusSinceMs = at;
    }
    touchedDuringReload?.add(r.domain);
    refresh(r, at);
  }

  return {
    onEvent,
    async start() {
      await reload();
      refreshTimer = setInterval(refreshAll, REFRESH_MS);
      refreshTimer.unref();
      armMidnight();
    },
    stop() {
      if (refreshTimer) clearInterval(refreshTimer);
      if (midnightTimer) clearTimeout(midnightTimer);
    },
  };
}
