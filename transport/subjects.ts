// Every subject name is built here and only here. Tokens are [a-z0-9_-]; user text never appears raw.
export function subjects(clusterId: string) {
  const root = `zent.${clusterId}`;
  return {
    /** Committed registry events, in any order; receivers order them by seq. */
    events: `${root}.events`,
    /** Membership gossip. */
    gossip: `${root}.gossip`,
    /** Mailbox of one shard's actors. */
    shard: (shard: number) => `${root}.shard.${shard}`,
    /** Heartbeat soft state from shard owners. */
    liveness: `${root}.liveness`,
    /** Zent-instance session claims: a newer session for a domain on any node replaces older ones (4010). */
    sessions: `${root}.sessions`,
    /** Rate-limit counts shared across nodes. */
    rateLimits: `${root}.ratelimit`,
  };
}

/**
 * Subjects of one registrar's federation link (docs/federation.md), shared by every registrar that peers with it.
 * Registrar ids are `[a-z0-9.-]`, so "." becomes "_" and the token stays readable in NATS permission configs.
 */
export function fedSubjects(registrarId: string) {
  const root = `zent.fed.${fedToken(registrarId)}`;
  return {
    /** Everything this registrar may publish or serve (for permission configs). */
    all: `${root}.>`,
    /** First-hand changes of this registrar's own records, in seq order. */
    changes: `${root}.changes`,
    /** Changes of other origins this registrar mirrors, relayed to one peer (never back along their path). */
    relay: (to: string) => `${root}.relay.${fedToken(to)}`,
    /** Anti-entropy request/reply: digest (root, group and bucket hashes), bucket entries, records by key. */
    digest: `${root}.sync.digest`,
    entries: `${root}.sync.entries`,
    records: `${root}.sync.records`,
  };
}

export function fedToken(registrarId: string): string {
  return registrarId.replaceAll(".", "_");
}

/** Encodes arbitrary text (domains contain dots) into a subject-safe token. */
export function encodeToken(text: string): string {
  return Buffer.from(text, "utf8").toString("hex");
}
