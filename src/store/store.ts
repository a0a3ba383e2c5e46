// The store feature: migrations, the MySQL pool (with its own counters) and the repositories the node shares.
import type { Config } from "../config.js";
import { openDb, poolStats, type Db } from "./db.js";
import { migrate } from "./migrate.js";
import { RatingsRepo } from "./ratings-repo.js";
import { ServersRepo } from "./servers-repo.js";
import { UptimeRepo } from "./uptime-repo.js";

export type Store = {
  db: Db;
  servers: ServersRepo;
  ratings: RatingsRepo;
  uptime: UptimeRepo;
  pool: ReturnType<typeof poolStats>;
  stop(): Promise<void>;
};

/** Applies pending migrations, then opens the pool; stop closes it (last, after every feature that writes). */
export async function openStore(config: Pick<Config, "database" | "tokens" | "dbPool"> & Partial<Pick<Config, "uptimeRetentionDays">>): Promise<Store> {
  await migrate(config.database);
  const db = await openDb(config.database, config.dbPool);
  try {
    // The pool itself must work before anything is built on it (and the first request finds a warm connection).
    await db.query("SELECT 1");
  } catch (err) {
    await db.end();
    throw err;
  }
  return {
    db,
    servers: new ServersRepo(db, config.tokens, config.uptimeRetentionDays),
    ratings: new RatingsRepo(db),
    uptime: new UptimeRepo(db),
    pool: poolStats(db),
    stop: () => db.end(),
  };
}
