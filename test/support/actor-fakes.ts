// In-memory fakes of the actors' ports for unit tests: a hand-cranked clock, a directory and a durable store in
// Maps (with switchable failure and a gate to hold updates in flight).
import type { Clock } from "../../actors/clock.js";
import type { DirectoryPort, ServerStore, StatusChange } from "../../actors/ports.js";
import type { Initiator, RegistryEvent } from "../../src/core/events.js";
import { ServerRecord, type ServerFields } from "../../src/core/record.js";
import { DomainTakenError } from "../../src/core/errors.js";

export const T0 = Date.UTC(2026, 10, 22, 13, 0, 0);

export class ManualClock implements Clock {
  private readonly intervals = new Set<() => void>();
  constructor(public t = T0) {}
  now(): number {
    return this.t;
  }
  every(_ms: number, fn: () => void) {
    this.intervals.add(fn);
    return { stop: () => void this.intervals.delete(fn) };
  }
  advance(ms: number, step = 25): void {
    const end = this.t + ms;
    while (this.t < end) {
      this.t = Math.min(end, this.t + step);
      for (const fn of this.intervals) fn();
    }
  }
}

export class FakeDirectory implements DirectoryPort {
  readonly map = new Map<string, ServerRecord>();
  get(domain: string) {
    return this.map.get(domain);
  }
  add(r: ServerRecord) {
    this.map.set(r.domain, r);
  }
  remove(r: ServerRecord) {
    if (this.map.get(r.domain) === r) this.map.delete(r.domain);
  }
  update(_r: ServerRecord, _fields: number, _text: boolean, mutate: () => void) {
    mutate();
  }
  values() {
    return this.map.values();
  }
}

export type Row = { status: "online" | "offline"; lastSeenMs: number; name: string; tokenHash: string | null; verified?: boolean; verifiedChallenge?: string | null };

export function storeDown(): Error {
  return Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:3306"), { code: "ECONNREFUSED" });
}

/** A durable store in a Map: what "MySQL" holds, with switchable failure and a gate to hold updates in flight. */
export class FakeStore implements ServerStore {
  readonly rows = new Map<string, Row>();
  readonly persistCalls: StatusChange[][] = [];
  down = false;
  updateGate: Promise<void> | null = null;
  private seq = 0;

  private event(type: RegistryEvent["type"], domain: string, data: Record<string, unknown> = {}): RegistryEvent {
    return { seq: ++this.seq, type, domain, origin: "local", at: new Date(T0).toISOString(), data };
  }
  private check() {
    if (this.down) throw storeDown();
  }
  async insertServer(rec: ServerRecord, _by: Initiator) {
    this.check();
    if (this.rows.has(rec.domain)) throw new DomainTakenError(rec.domain);
    this.rows.set(rec.domain, { status: rec.status, lastSeenMs: rec.lastSeenMs, name: rec.name, tokenHash: rec.tokenHash });
    return this.event("server.registered", rec.domain);
  }
  async updateServer(rec: ServerRecord, _changed: Partial<ServerFields>, _by: Initiator) {
    if (this.updateGate) await this.updateGate;
    this.check();
    const row = this.rows.get(rec.domain);
    if (!row) return null;
    row.name = rec.name;
    return this.event("server.updated", rec.domain);
  }
  async deleteServer(domain: string) {
    this.check();
    return this.rows.delete(domain) ? this.event("server.removed", domain) : null;
  }
  async rotateToken(domain: string, tokenHash: string) {
    this.check();
    const row = this.rows.get(domain);
    if (!row) return false;
    row.tokenHash = tokenHash;
    return true;
  }
  async loadServers(domains: string[]) {
    this.check();
    return domains.flatMap((domain) => {
      const row = this.rows.get(domain);
      if (!row) return [];
      const rec = new ServerRecord(domain, "local");
      rec.applyFields({ name: row.name, api_url: `https://${domain}/api` });
      rec.status = row.status;
      rec.persistedStatus = row.status;
      rec.lastSeenMs = row.lastSeenMs;
      rec.tokenHash = row.tokenHash;
      rec.tokenIssuedMs = T0;
      rec.tokenActivityMs = T0;
      return [rec];
    });
  }
  async writeTrust(rec: ServerRecord, _by: Initiator, _action: string, _detail: Record<string, unknown>, _fence?: unknown, token?: { expiresMs: number }) {
    this.check();
    const row = this.rows.get(rec.domain);
    if (!row) return null;
    row.verified = rec.verified;
    row.verifiedChallenge = rec.verifiedChallenge;
    if (token) row.tokenHash = rec.tokenHash;
    return this.event("server.updated", rec.domain, rec.toPublic());
  }
  async persistStatuses(changes: StatusChange[]) {
    this.persistCalls.push(changes.map((c) => ({ ...c })));
    this.check();
    const events: RegistryEvent[] = [];
    for (const c of changes) {
      const row = this.rows.get(c.domain);
      if (!row || row.status === c.status) continue;
      row.status = c.status;
      row.lastSeenMs = c.lastSeenMs;
      events.push(this.event("server.status", c.domain, { status: c.status, last_seen: new Date(c.lastSeenMs).toISOString() }));
    }
    return events;
  }
}
