-- Trust (issues 9 and 10, contract §8): proof of domain control, recovery, bans, domain keys, the registrar's own
-- signing key, single-use assertion ids, and rater identities. Times are UTC DATETIME(3).

-- §8.1: verified_at is set by a proof (or the operator); verified_challenge is the challenge that proved it, the
-- standing proof that re-checks look for under registrars[REGISTRAR_ID] (it does not expire), and the one that
-- travels with the record to peers (§8.6). Both NULL while unverified.
ALTER TABLE servers
  ADD COLUMN verified_at DATETIME(3) NULL AFTER verified,
  ADD COLUMN verified_challenge VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER verified_at;

-- Pending challenges: one per (domain, purpose). 'verify' lasts 7 days (§8.1), 'recover' 1 hour (§8.2). A request
-- while one is pending answers the same challenge, so a stranger asking for recovery cannot replace the challenge
-- the owner is publishing. Removed with the server (a new registrant never inherits one).
CREATE TABLE IF NOT EXISTS trust_challenges (
  domain      VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  purpose     ENUM('verify','recover') CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  challenge   VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at  DATETIME(3) NOT NULL,
  expires_at  DATETIME(3) NOT NULL,
  PRIMARY KEY (domain, purpose),
  KEY trust_challenges_expiry (expires_at),
  CONSTRAINT trust_challenges_server FOREIGN KEY (domain) REFERENCES servers (domain) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- §8.6: a mirrored record carries its origin's standing challenge; verified_at is what THIS registrar found when it
-- fetched the domain's document (NULL: not verified here, whatever the peer says). first_seen_at is when this
-- registrar first received the record, for the per-origin quota and for operators.
ALTER TABLE mirrored_servers
  ADD COLUMN challenge VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER record,
  ADD COLUMN verified_at DATETIME(3) NULL AFTER challenge,
  ADD COLUMN first_seen_at DATETIME(3) NULL AFTER verified_at;

-- Re-check bookkeeping (§8.1 "Re-check"), one row per record whose proof this registrar watches: its own verified
-- records (origin = REGISTRAR_ID) and mirrored ones (origin = the peer). The grace counts from first_failure_at
-- (NULL while the last fetch succeeded). next_check_at drives the scheduler; in a cluster only the owner of the
-- domain's shard runs the check, so no claim column is needed.
CREATE TABLE IF NOT EXISTS trust_checks (
  domain            VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  origin            VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  next_check_at     DATETIME(3) NOT NULL,
  last_attempt_at   DATETIME(3) NULL,
  last_success_at   DATETIME(3) NULL,
  first_failure_at  DATETIME(3) NULL,
  failures          INT UNSIGNED NOT NULL DEFAULT 0,
  last_reason       VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL,
  PRIMARY KEY (domain, origin),
  KEY trust_checks_due (next_check_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- §8.3: the keys of a domain's document from the last successful fetch (one row per domain, replaced whole).
-- `keys_json` is the validated `keys` array (≤ 64 KiB, as fetched); served only while a record of the domain is
-- verified here. Keyed by domain, not origin: the document belongs to the domain, whichever record it proved.
CREATE TABLE IF NOT EXISTS domain_keys (
  domain      VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  keys_json   MEDIUMTEXT NOT NULL,
  fetched_at  DATETIME(3) NOT NULL,
  PRIMARY KEY (domain)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- §8.5: banned domains cannot register or recover.
CREATE TABLE IF NOT EXISTS bans (
  domain      VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  reason      VARCHAR(500) NOT NULL,
  created_at  DATETIME(3) NOT NULL,
  PRIMARY KEY (domain)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- §8.3: the registrar's own Ed25519 signing keys when REGISTRAR_SIGNING_KEY_FILE is unset. `active` is 1 for the
-- key every node signs with and NULL for retired ones; the unique key on it lets exactly one of several nodes that
-- start at once insert the first key (INSERT IGNORE), and all of them then read the same one. private_key is a
-- PKCS#8 PEM, sealed like webhook secrets ("aesgcm:…" with WEBHOOK_SECRET_KEY, else "plain:…").
CREATE TABLE IF NOT EXISTS registrar_keys (
  kid          VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  active       TINYINT UNSIGNED NULL,
  public_key   CHAR(43) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  private_key  TEXT CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at   DATETIME(3) NOT NULL,
  retired_at   DATETIME(3) NULL,
  PRIMARY KEY (kid),
  UNIQUE KEY registrar_keys_active (active)
) ENGINE=InnoDB;

-- §8.3: an assertion's jti is accepted once. The primary key is the cluster-wide guard: the second INSERT of the
-- same (iss, jti), from any node, fails. Rows are pruned after expires_at (the assertion is dead by then anyway).
CREATE TABLE IF NOT EXISTS assertion_jtis (
  iss         VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  jti         VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  expires_at  DATETIME(3) NOT NULL,
  PRIMARY KEY (iss, jti),
  KEY assertion_jtis_expiry (expires_at)
) ENGINE=InnoDB;

-- §8.4: user_id is the rater identity `user@home-domain` (up to 128 + 1 + 253 characters through the legacy route);
-- ratings stay one per (domain, user_id). home_domain is NULL for anonymous ratings (RATINGS_ANONYMOUS) and rows
-- from before; verified is what the proof established; proof says how the identity was established, so an
-- anonymous write can never replace a proved identity's rating.
ALTER TABLE ratings
  MODIFY COLUMN user_id VARCHAR(382) NOT NULL,
  ADD COLUMN home_domain VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER user_id,
  ADD COLUMN verified TINYINT(1) NOT NULL DEFAULT 0 AFTER comment,
  ADD COLUMN proof ENUM('assertion','token','anonymous') CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT 'anonymous' AFTER verified,
  ADD KEY ratings_home (home_domain, created_at);
