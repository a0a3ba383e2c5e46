// Housekeeping timers of a node: the audit log is kept AUDIT_RETENTION_DAYS and the uptime rollup
// UPTIME_RETENTION_DAYS, pruned hourly (and shortly after start) rather than growing forever.
import { HOUR_MS } from "./core/units.js";
import type { Logger } from "./log.js";
import { pruneAudit } from "./store/audit-repo.js";
import type { Db } from "./store/db.js";
import type { UptimeRepo } from "./store/uptime-repo.js";

const FIRST_PRUNE_AFTER_MS = 60_000;

export function startHousekeeping(d: {
  db: Db;
  auditRetentionMs: number;
  /** The daily uptime rollup, kept UPTIME_RETENTION_DAYS (contract §9.2). */
  uptime?: { repo: UptimeRepo; retentionDays: number };
  log: Logger;
  onError: (err: unknown) => void;
}): { stop(): void } {
  const pruneAuditLog = () => {
    void pruneAudit(d.db, Date.now() - d.auditRetentionMs).then((n) => n > 0 && d.log.info({ rows: n }, "audit log pruned"), d.onError);
    const up = d.uptime;
    if (up) void up.repo.prune(up.retentionDays, Date.now()).then((n) => n > 0 && d.log.info({ rows: n }, "uptime days pruned"), d.onError);
  };
  const hourly = setInterval(pruneAuditLog, HOUR_MS);
  hourly.unref();
  const first = setTimeout(pruneAuditLog, FIRST_PRUNE_AFTER_MS);
  first.unref();
  return {
    stop() {
      clearInterval(hourly);
      clearTimeout(first);
    },
  };
}
