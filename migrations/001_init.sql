-- Zent Registrar initial schema. Runs on MariaDB 10.11 and MySQL 8.0+.
-- Times are UTC DATETIME(3); the pool sets time_zone = '+00:00'.

CREATE TABLE IF NOT EXISTS servers (
  domain           VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  origin           VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  name             VARCHAR(100) NOT NULL,
  description      VARCHAR(1000) NULL,
  icon             VARCHAR(2048) NULL,
  api_url          VARCHAR(2048) NOT NULL,
  ws_url           VARCHAR(2048) NULL,
  voice_url        VARCHAR(2048) NULL,
  voice_provider   VARCHAR(50) NULL,
  cdn_url          VARCHAR(2048) NULL,
  protocols        TEXT NOT NULL,
  capabilities     TEXT NOT NULL,
  version          VARCHAR(32) NULL,
  user_count       INT UNSIGNED NOT NULL DEFAULT 0,
  channel_count    INT UNSIGNED NOT NULL DEFAULT 0,
  verified         TINYINT(1) NOT NULL DEFAULT 0,
  status           ENUM('online','offline') NOT NULL DEFAULT 'online',
  last_seen        DATETIME(3) NOT NULL,
  created_at       DATETIME(3) NOT NULL,
  updated_at       DATETIME(3) NOT NULL,
  record_version   BIGINT UNSIGNED NOT NULL DEFAULT 1,
  token_hash       BINARY(32) NULL,
  token_issued_at  DATETIME(3) NULL,
  token_expires_at DATETIME(3) NULL,
  PRIMARY KEY (domain),
  KEY servers_created_at (created_at),
  KEY servers_user_count (user_count),
  KEY servers_channel_count (channel_count),
  KEY servers_name (name),
  KEY servers_status_last_seen (status, last_seen),
  KEY servers_origin (origin)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS ratings (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  domain      VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  user_id     VARCHAR(128) NOT NULL,
  rating      TINYINT UNSIGNED NOT NULL,
  comment     VARCHAR(500) NULL,
  created_at  DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY ratings_domain_user (domain, user_id),
  KEY ratings_domain_created (domain, created_at, id),
  CONSTRAINT ratings_server FOREIGN KEY (domain) REFERENCES servers (domain) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Append-only; seq is the cluster-wide event sequence (feed, mirroring, cross-node fan-out).
CREATE TABLE IF NOT EXISTS events (
  seq     BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  type    VARCHAR(32) NOT NULL,
  domain  VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  origin  VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  at      DATETIME(3) NOT NULL,
  data    MEDIUMTEXT NOT NULL,
  PRIMARY KEY (seq),
  KEY events_at (at),
  KEY events_domain (domain, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row, locked FOR UPDATE by every event-writing transaction so that seq order is commit order
-- (readers never see seq N+1 before N has committed or rolled back).
CREATE TABLE IF NOT EXISTS event_lock (
  id TINYINT UNSIGNED NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB;
INSERT IGNORE INTO event_lock (id) VALUES (1);

CREATE TABLE IF NOT EXISTS audit_log (
  id      BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  at      DATETIME(3) NOT NULL,
  actor   VARCHAR(253) NOT NULL,
  action  VARCHAR(64) NOT NULL,
  domain  VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NULL,
  detail  TEXT NULL,
  PRIMARY KEY (id),
  KEY audit_at (at),
  KEY audit_domain (domain, at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
