-- Fair webhook delivery (issue 8, security review H2): a webhook that keeps timing out is paused, its pending
-- deliveries are bounded (the oldest are dropped), and claims count the attempts in flight per webhook and domain.

ALTER TABLE webhooks
  -- Timeouts (no answer within the time limits) in a row; any HTTP answer resets it.
  ADD COLUMN consecutive_timeouts INT UNSIGNED NOT NULL DEFAULT 0 AFTER after_seq,
  -- Set while the webhook is paused; no delivery of it is claimed before this time (UTC).
  ADD COLUMN paused_until DATETIME(3) NULL AFTER consecutive_timeouts,
  -- How many times it was paused, for the listing and the logs.
  ADD COLUMN pauses INT UNSIGNED NOT NULL DEFAULT 0 AFTER paused_until;

-- 'dropped': pushed out of the bounded pending queue by newer deliveries (WEBHOOK_MAX_PENDING).
ALTER TABLE webhook_deliveries
  MODIFY status ENUM('pending','succeeded','failed','dropped') NOT NULL DEFAULT 'pending',
  -- Pending count and oldest-first trimming per webhook; attempts in flight per webhook.
  ADD KEY webhook_deliveries_queue (webhook_id, status, id),
  ADD KEY webhook_deliveries_lease (claimed_until),
  -- The fair claim reads every due row's webhook and lease: from this index alone, without touching the rows.
  ADD KEY webhook_deliveries_fair (status, next_attempt_at, webhook_id, claimed_until),
  DROP KEY webhook_deliveries_due;
