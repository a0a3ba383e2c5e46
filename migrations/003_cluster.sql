-- Cluster mode: the fencing epoch of each shard's current owner. A shard owner's writes check, inside the same
-- transaction that holds the event lock, that its epoch is still the shard's epoch; a deposed owner's late writes fail.
CREATE TABLE IF NOT EXISTS shard_epochs (
  shard  SMALLINT UNSIGNED NOT NULL,
  node   VARCHAR(64) NOT NULL,
  epoch  BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (shard)
) ENGINE=InnoDB;
