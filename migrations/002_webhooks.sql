-- Webhooks (issue 4): per-server endpoints, their deliveries (one per webhook and event seq) and each attempt.
-- Delivery state lives here so it survives restarts and any node can deliver; times are UTC DATETIME(3).

CREATE TABLE IF NOT EXISTS webhooks (
  id          CHAR(27) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,  -- "wh_" + 24 hex
  domain      VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  url         VARCHAR(2048) NOT NULL,
  -- NULL = every event type about the server; else a comma-separated list of event types.
  events      VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NULL,
  -- The signing secret, sealed by src/webhooks/secrets.ts: "aesgcm:…" when WEBHOOK_SECRET_KEY is set, else
  -- "plain:<hex>". It cannot be a hash like the server token: the registrar itself must compute HMACs with it.
  secret      VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  -- Events with seq <= after_seq committed before the webhook existed and are not delivered to it.
  after_seq   BIGINT UNSIGNED NOT NULL DEFAULT 0,
  created_at  DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  KEY webhooks_domain (domain, created_at),
  CONSTRAINT webhooks_server FOREIGN KEY (domain) REFERENCES servers (domain) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  webhook_id       CHAR(27) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  seq              BIGINT UNSIGNED NOT NULL,
  event_type       VARCHAR(32) NOT NULL,
  -- The exact JSON body sent on every attempt (the events table may be pruned before the retries end).
  payload          MEDIUMTEXT NOT NULL,
  status           ENUM('pending','succeeded','failed') NOT NULL DEFAULT 'pending',
  attempts         INT UNSIGNED NOT NULL DEFAULT 0,
  next_attempt_at  DATETIME(3) NULL,
  last_attempt_at  DATETIME(3) NULL,
  last_status_code SMALLINT UNSIGNED NULL,
  last_error       VARCHAR(500) NULL,
  -- Lease of the node delivering the current attempt; an expired lease may be taken by any node.
  claimed_by       VARCHAR(64) NULL,
  claim_token      CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL,
  claimed_until    DATETIME(3) NULL,
  created_at       DATETIME(3) NOT NULL,
  updated_at       DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  -- An event is enqueued once per webhook however many nodes see it (INSERT IGNORE).
  UNIQUE KEY webhook_deliveries_event (webhook_id, seq),
  KEY webhook_deliveries_due (status, next_attempt_at),
  KEY webhook_deliveries_claim (claim_token),
  KEY webhook_deliveries_recent (webhook_id, id),
  CONSTRAINT webhook_deliveries_webhook FOREIGN KEY (webhook_id) REFERENCES webhooks (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per attempt, so GET …/deliveries can show "500, 500, 200" rather than only the last outcome.
CREATE TABLE IF NOT EXISTS webhook_attempts (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  delivery_id  BIGINT UNSIGNED NOT NULL,
  attempt      INT UNSIGNED NOT NULL,
  at           DATETIME(3) NOT NULL,
  node         VARCHAR(64) NOT NULL,
  status_code  SMALLINT UNSIGNED NULL,
  error        VARCHAR(500) NULL,
  duration_ms  INT UNSIGNED NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY webhook_attempts_delivery (delivery_id, attempt),
  CONSTRAINT webhook_attempts_delivery FOREIGN KEY (delivery_id) REFERENCES webhook_deliveries (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- How far the event log has been turned into deliveries: every event with seq <= this was enqueued by some node.
-- A starting node enqueues the events after it (a node may crash between an event's commit and its enqueue).
CREATE TABLE IF NOT EXISTS webhook_cursor (
  id   TINYINT UNSIGNED NOT NULL,
  seq  BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB;
INSERT IGNORE INTO webhook_cursor (id, seq) SELECT 1, COALESCE(MAX(seq), 0) FROM events;
