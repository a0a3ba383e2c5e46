-- The people's directory (issue 12, contract §9.2): record fields apps filter on, and the uptime rollup.
-- Times are UTC DATETIME(3); days are UTC dates.

-- web_url: https on the domain; languages: a JSON list of canonical language tags (like protocols);
-- registration: open | approval | invite | closed, NULL when the server did not say.
-- status_since: when the persisted status last changed (or the row was created); the uptime rollup counts the time
-- between two transitions when the second is persisted. Existing rows start counting from this migration.
ALTER TABLE servers
  ADD COLUMN web_url VARCHAR(2048) NULL AFTER cdn_url,
  ADD COLUMN languages TEXT NULL AFTER web_url,
  ADD COLUMN registration ENUM('open','approval','invite','closed') NULL AFTER languages,
  ADD COLUMN status_since DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) AFTER status;

-- One row per (server, UTC day) it was listed: milliseconds observed and milliseconds online, written in the
-- transaction that persists a status transition (src/store/servers-repo.ts persistStatuses), never recomputed from
-- the event log (which is pruned after FEED_RETENTION_DAYS). The interval still open (since status_since) is added
-- at read time. Rows older than UPTIME_RETENTION_DAYS are pruned by housekeeping; a removed server's rows go with it.
CREATE TABLE IF NOT EXISTS server_uptime_days (
  domain       VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  day          DATE NOT NULL,
  observed_ms  INT UNSIGNED NOT NULL,
  online_ms    INT UNSIGNED NOT NULL,
  PRIMARY KEY (domain, day),
  KEY server_uptime_days_day (day),
  CONSTRAINT server_uptime_days_server FOREIGN KEY (domain) REFERENCES servers (domain) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
