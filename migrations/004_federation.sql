-- Peer-registrar mirroring (issue 5, docs/federation.md). Times are UTC DATETIME(3).

-- This registrar's id, written at start-up when federation is on. The trigger below versions only events whose
-- origin is this id; while the table is empty it does nothing.
CREATE TABLE IF NOT EXISTS fed_self (
  id            TINYINT UNSIGNED NOT NULL,
  registrar_id  VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB;

-- The version of each of this registrar's own records as peers see it: the seq of the last event about it.
-- Every public change (registration, update, status, rating, removal) writes an events row in its transaction,
-- so the trigger bumps the version atomically with the change, whichever code path or node made it.
-- deleted = 1 is a tombstone (kept FED_TOMBSTONE_TTL_S after changed_at, then pruned).
CREATE TABLE IF NOT EXISTS fed_local_versions (
  domain      VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  version     BIGINT UNSIGNED NOT NULL,
  deleted     TINYINT(1) NOT NULL DEFAULT 0,
  changed_at  DATETIME(3) NOT NULL,
  PRIMARY KEY (domain),
  KEY fed_local_versions_tombstones (deleted, changed_at)
) ENGINE=InnoDB;

-- Records mirrored from peer registrars, one row per (domain, origin): the same domain may be registered at two
-- registrars; only the winner is listed (src/federation/winner.ts), the others stay here. version is the origin's
-- event seq; a change is applied only when its version is higher. record is the public JSON of contract §2
-- (NULL for a tombstone); via is the peer it came from.
CREATE TABLE IF NOT EXISTS mirrored_servers (
  domain       VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  origin       VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  version      BIGINT UNSIGNED NOT NULL,
  deleted      TINYINT(1) NOT NULL DEFAULT 0,
  changed_at   DATETIME(3) NOT NULL,
  received_at  DATETIME(3) NOT NULL,
  via          VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  record       MEDIUMTEXT NULL,
  PRIMARY KEY (domain, origin),
  KEY mirrored_servers_tombstones (deleted, changed_at),
  KEY mirrored_servers_origin (origin)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Last, and dropped first, so a run interrupted before it can simply be repeated.
DROP TRIGGER IF EXISTS events_fed_version;
CREATE TRIGGER events_fed_version AFTER INSERT ON events FOR EACH ROW
  INSERT INTO fed_local_versions (domain, version, deleted, changed_at)
  SELECT NEW.domain, NEW.seq, NEW.type = 'server.removed', NEW.at FROM fed_self
  WHERE fed_self.id = 1 AND fed_self.registrar_id = NEW.origin
  ON DUPLICATE KEY UPDATE version = VALUES(version), deleted = VALUES(deleted), changed_at = VALUES(changed_at);
