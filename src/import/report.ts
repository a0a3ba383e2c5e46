// The import's report: counts, and every row that was left alone, not imported, or imported breaking a §2 rule.
import type { Problem, Unusable } from "./php-server.js";
import type { RatingIssue } from "./php-ratings.js";

export type ExistingServer = { domain: string; sourceDomain: string; reason: string };

export type ImportReport = {
  source: string;
  target: string;
  dryRun: boolean;
  /** Migrations the target still lacks (a real run applies them first; a dry run only names them). */
  pendingMigrations: string[];
  startedAt: string;
  durationMs: number;
  servers: {
    read: number;
    imported: number;
    online: number;
    offline: number;
    /** Brought over by an earlier run (kept even if removed here since): left as they are. */
    alreadyImported: number;
    /** The domain exists here (registered here, or mirrored from a peer): never overwritten. */
    existingHere: ExistingServer[];
    notImported: Unusable[];
    /** Imported as they are; they must conform at their next update (contract §7). */
    nonConforming: { domain: string; problems: Problem[] }[];
    /** Imported with a token that no longer works: the owner gets back in through recovery (contract §8.2). */
    expiredTokens: string[];
    malformedTokens: string[];
  };
  ratings: {
    read: number;
    imported: number;
    /** Older ratings by the same user of the same server: one rating per user is kept here, the newest. */
    superseded: number;
    /** Ratings of servers that were not imported in this run (left alone, not importable, or imported earlier). */
    ofServersNotImported: number;
    /** Made at the PHP registrar after their server was imported by an earlier run, and copied now. */
    importedLater: number;
    /** Ratings made at the PHP registrar after the import whose user has a newer rating here: left out. */
    olderThanHere: number;
    invalid: RatingIssue[];
  };
};

export function emptyReport(source: string, target: string, dryRun: boolean, startedMs: number): ImportReport {
  return {
    source, target, dryRun, pendingMigrations: [], startedAt: new Date(startedMs).toISOString(), durationMs: 0,
    servers: {
      read: 0, imported: 0, online: 0, offline: 0, alreadyImported: 0, existingHere: [], notImported: [], nonConforming: [],
      expiredTokens: [], malformedTokens: [],
    },
    ratings: { read: 0, imported: 0, superseded: 0, ofServersNotImported: 0, importedLater: 0, olderThanHere: 0, invalid: [] },
  };
}

/** The report for a person: a summary first, then the lists. */
export function formatReport(r: ImportReport): string {
  const s = r.servers;
  const q = r.ratings;
  const lines = [
    `PHP import from ${r.source} into ${r.target}${r.dryRun ? " — DRY RUN: nothing was written" : ""}`,
  ];
  if (r.pendingMigrations.length > 0) lines.push(`migrations ${r.dryRun ? "a real run applies first" : "applied first"}: ${r.pendingMigrations.join(", ")}`);
  lines.push(
    `servers: ${s.read} read, ${s.imported} imported (${s.online} online, ${s.offline} offline), ${s.alreadyImported} imported by an earlier run, ` +
      `${s.existingHere.length} left alone (the domain exists here), ${s.notImported.length} not imported, ${s.nonConforming.length} imported breaking a field rule`,
    `ratings: ${q.read} read, ${q.imported} imported, ${q.importedLater} made since an earlier run and imported, ${q.superseded} older ratings by the same user left out, ` +
      `${q.olderThanHere} older than the user's rating here, ${q.invalid.length} invalid, ${q.ofServersNotImported} of servers not imported in this run`,
    `tokens: ${s.expiredTokens.length} already expired, ${s.malformedTokens.length} malformed (their owners must recover their domains)`,
  );
  const section = (title: string, items: string[]) => {
    if (items.length === 0) return;
    lines.push("", title, ...items.map((i) => `  ${i}`));
  };
  section("Left alone (the domain exists here):", s.existingHere.map((e) => `${e.domain} (PHP: ${e.sourceDomain}) — ${e.reason}`));
  section("Not imported:", s.notImported.map((u) => `${u.sourceDomain} — ${u.reason}`));
  section(
    "Imported as they are, breaking a field rule (they must conform at their next update):",
    s.nonConforming.map((n) => `${n.domain}: ${n.problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`),
  );
  section("Imported with an expired token:", s.expiredTokens);
  section("Imported with a malformed token:", s.malformedTokens);
  section("Ratings not imported:", q.invalid.map((i) => `#${i.sourceId} of ${i.domain}: ${i.reason}`));
  lines.push("", `${r.dryRun ? "dry run" : "import"} took ${(r.durationMs / 1000).toFixed(1)} s`);
  return lines.join("\n");
}
