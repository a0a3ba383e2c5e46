// `npm run import:php`: copies the PHP registrar's servers and ratings into this registrar (contract §7), batch by
// batch, and reports what it did; a dry run reads the same rows and reports the same, writing nothing.
import type { RegistryEvent } from "../core/events.js";
import type { Config } from "../config.js";
import { makeServerSchemas } from "../domain/schemas.js";
import { existingDomains, auditRun, userIdMaxChars, writeBatch, type Existing } from "./import-store.js";
import { copyLaterRatings } from "./later-ratings.js";
import { convertRatings, type ConvertedRatings } from "./php-ratings.js";
import { convertServer, type ConvertSettings, type ImportedServer } from "./php-server.js";
import { PhpSource, type PhpServerRow } from "./php-source.js";
import { emptyReport, type ImportReport } from "./report.js";
import { openEventPublisher, type EventPublisher } from "./publish.js";
import { openTarget, type Target } from "./target.js";

export const IMPORT_DEFAULTS = {
  /** Servers per transaction: the event lock is held for one batch, so live writes wait at most that long. */
  batchSize: 500,
  sourceTimeZone: "+00:00",
} as const;

export type ImportOptions = {
  config: Config;
  sourceUrl: string;
  dryRun: boolean;
  batchSize?: number;
  /** The PHP database server's time zone, in which its DATETIMEs were written (NOW()). */
  sourceTimeZone?: string;
  /** Called with each batch's events once committed (the live pick-up publishes them). */
  onCommitted?: (events: RegistryEvent[]) => void | Promise<void>;
  /** Progress lines for the operator. */
  progress?: (line: string) => void;
};

export async function importPhp(o: ImportOptions): Promise<ImportReport> {
  const startedMs = Date.now();
  const source = await PhpSource.open(o.sourceUrl, o.sourceTimeZone ?? IMPORT_DEFAULTS.sourceTimeZone);
  let target: Target | null = null;
  let publisher: EventPublisher | null = null;
  try {
    target = await openTarget(o.config.databaseUrl, o.dryRun);
    if (!o.dryRun) publisher = await openEventPublisher(o.config, (line) => o.progress?.(line));
    const published = publisher;
    const onCommitted = o.onCommitted;
    o = { ...o, onCommitted: async (events) => (published?.publish(events), await onCommitted?.(events)) };
    const report = emptyReport(source.display, target.display, o.dryRun, startedMs);
    report.pendingMigrations = target.pendingMigrations;
    await run(o, source, target, report, startedMs);
    report.durationMs = Date.now() - startedMs;
    if (!o.dryRun && target.db) await auditRun(target.db, { source: source.display, servers: report.servers.imported, ratings: report.ratings.imported + report.ratings.importedLater });
    return report;
  } finally {
    await source.close();
    await target?.close();
    await publisher?.close();
  }
}

type Prepared = { batch: ImportedServer[]; ratings: ConvertedRatings; superseded: Map<string, number[]> };

async function run(o: ImportOptions, source: PhpSource, target: Target, report: ImportReport, nowMs: number): Promise<void> {
  const settings: ConvertSettings = {
    nowMs,
    registrarId: o.config.registrarId,
    offlineAfterMs: o.config.offlineAfterMs,
    tokenTtlDays: o.config.tokenTtlDays,
    tokenMaxAgeDays: o.config.tokenMaxAgeDays,
    schemas: makeServerSchemas({ allowInsecureUrls: o.config.allowInsecureUrls }),
  };
  const userIdMax = target.db ? await userIdMaxChars(target.db) : 128;
  const total = await source.countServers();
  const seen = new Set<string>();
  const pages = source.servers(o.batchSize ?? IMPORT_DEFAULTS.batchSize)[Symbol.asyncIterator]();
  const prepareNext = async (): Promise<Prepared | null> => {
    const page = await pages.next();
    return page.done ? null : prepare(page.value, source, settings, seen, userIdMax, report);
  };
  // Reading and converting the next page overlaps with writing this one (the CPU and MySQL work side by side).
  let next = prepareNext();
  for (;;) {
    const p = await next;
    if (!p) return;
    next = prepareNext();
    // A failed write must not leave the read of the next page unobserved.
    await apply(o, target, p, report, nowMs).catch(async (err) => {
      await next.catch(() => {});
      throw err;
    });
    o.progress?.(`${report.servers.read}/${total} PHP rows read, ${report.servers.imported} servers imported`);
  }
}

/** Converts one page of PHP rows and their ratings; rows that cannot be imported go to the report. */
async function prepare(page: PhpServerRow[], source: PhpSource, settings: ConvertSettings, seen: Set<string>, userIdMax: number, report: ImportReport): Promise<Prepared> {
  report.servers.read += page.length;
  const batch: ImportedServer[] = [];
  for (const row of page) {
    const c = convertServer(row, settings);
    if ("unusable" in c) {
      report.servers.notImported.push(c.unusable);
    } else if (seen.has(c.server.record.domain)) {
      // Only a database edited by hand can hold two spellings of one name (its collation ignores case).
      report.servers.notImported.push({ sourceDomain: row.domain, reason: `another PHP row is the same domain ${c.server.record.domain}` });
    } else {
      seen.add(c.server.record.domain);
      batch.push(c.server);
    }
  }
  const bySource = new Map(batch.map((s) => [s.sourceDomain.toLowerCase(), s.record.domain]));
  const ratingRows = await source.ratingsOf(batch.map((s) => s.sourceDomain));
  report.ratings.read += ratingRows.length;
  const ratings = convertRatings(ratingRows, (d) => bySource.get(d.toLowerCase()), userIdMax);
  for (const s of batch) {
    const list = ratings.byDomain.get(s.record.domain) ?? [];
    s.record.ratingCount = list.length;
    s.record.ratingSum = list.reduce((sum, r) => sum + r.rating, 0);
  }
  const superseded = new Map<string, number[]>();
  for (const r of ratings.superseded) superseded.set(r.domain, [...(superseded.get(r.domain) ?? []), r.sourceId]);
  return { batch, ratings, superseded };
}

/** Writes one prepared batch (or, in a dry run, finds what would be written) and accounts for it. */
async function apply(o: ImportOptions, target: Target, p: Prepared, report: ImportReport, nowMs: number): Promise<void> {
  const { batch, ratings } = p;
  let written: ImportedServer[];
  let existing: Map<string, Existing>;
  if (o.dryRun) {
    existing = target.db ? await existingDomains(target.db, batch.map((s) => s.record.domain), target.tables) : new Map();
    written = batch.filter((s) => !existing.has(s.record.domain));
  } else {
    const res = await writeBatch(target.db!, batch, ratings.byDomain, p.superseded, nowMs);
    ({ written, existing } = res);
    if (res.events.length > 0) await o.onCommitted?.(res.events);
  }
  const later = batch.filter((s) => existing.get(s.record.domain)?.kind === "imported_earlier");
  if (later.length > 0 && target.db) {
    const res = await copyLaterRatings(target.db, later.map((s) => s.record.domain), ratings, o.dryRun, nowMs);
    report.ratings.importedLater += res.copied;
    report.ratings.olderThanHere += res.olderThanHere;
    if (res.events.length > 0) await o.onCommitted?.(res.events);
  }
  account(report, batch, written, existing, ratings);
}

function account(
  report: ImportReport,
  batch: ImportedServer[],
  written: ImportedServer[],
  existing: Map<string, Existing>,
  ratings: ConvertedRatings,
): void {
  const s = report.servers;
  const writtenDomains = new Set(written.map((w) => w.record.domain));
  for (const w of written) {
    s.imported++;
    if (w.record.status === "online") s.online++;
    else s.offline++;
    if (w.problems.length > 0) s.nonConforming.push({ domain: w.record.domain, problems: w.problems });
    if (w.tokenState === "expired") s.expiredTokens.push(w.record.domain);
    if (w.tokenState === "malformed") s.malformedTokens.push(w.record.domain);
    report.ratings.imported += ratings.byDomain.get(w.record.domain)?.length ?? 0;
  }
  for (const b of batch) {
    if (writtenDomains.has(b.record.domain)) continue;
    report.ratings.ofServersNotImported += ratings.byDomain.get(b.record.domain)?.length ?? 0;
    const e = existing.get(b.record.domain);
    if (e?.kind === "imported_earlier") s.alreadyImported++;
    else if (e) s.existingHere.push({ domain: b.record.domain, sourceDomain: b.sourceDomain, reason: e.kind === "mirrored" ? `mirrored from registrar ${e.origin}` : "registered here" });
  }
  report.ratings.superseded += ratings.superseded.filter((r) => writtenDomains.has(r.domain)).length;
  // A left-alone server's PHP ratings are moot here; those of servers imported now or earlier are reported.
  const ours = (d: string) => writtenDomains.has(d) || existing.get(d)?.kind === "imported_earlier";
  report.ratings.invalid.push(...ratings.invalid.filter((i) => ours(i.domain)));
}
