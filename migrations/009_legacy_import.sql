-- Moving from the PHP registrar (issue 11, contract §7, docs/migrating-from-php.md).

-- Imported rows that break a §2 field rule are kept as they are (contract §7), and the PHP registrar stored every
-- text field as TEXT with no limit: the columns take what it held. New writes are still held to §2 by the request
-- schemas, not by these widths. A TEXT column can only be indexed by a prefix.
ALTER TABLE servers
  DROP INDEX servers_name,
  MODIFY name           TEXT NOT NULL,
  MODIFY description    TEXT NULL,
  MODIFY icon           TEXT NULL,
  MODIFY api_url        TEXT NOT NULL,
  MODIFY ws_url         TEXT NULL,
  MODIFY voice_url      TEXT NULL,
  MODIFY voice_provider TEXT NULL,
  MODIFY cdn_url        TEXT NULL,
  MODIFY version        TEXT NULL,
  ADD KEY servers_name (name(100));

-- PHP comments went up to 2,000 bytes; ratings made here stay within 500 characters (the request schema).
ALTER TABLE ratings MODIFY comment TEXT NULL;

-- Every domain an import brought over, kept after the server is gone: a later run never brings back a server
-- that its owner removed here (a second run changes nothing). source_domain is the PHP spelling (mixed case).
CREATE TABLE IF NOT EXISTS php_import_servers (
  domain         VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  source_domain  VARCHAR(255) NOT NULL,
  imported_at    DATETIME(3) NOT NULL,
  PRIMARY KEY (domain)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Every PHP rating an import brought over, by its PHP id: a later run copies only ratings made at the PHP registrar
-- since (for servers imported earlier), and never one twice.
CREATE TABLE IF NOT EXISTS php_import_ratings (
  source_id    BIGINT UNSIGNED NOT NULL,
  domain       VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  imported_at  DATETIME(3) NOT NULL,
  PRIMARY KEY (source_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
