// Degraded mode (NATS unreachable): a node runs any server's messages itself against MySQL, re-reading the token
// first (its copy may be stale), without timers: offline decisions wait until the cluster can talk again.
import type { Actor } from "../../actors/ports.js";
import type { ServerFields, Stats } from "../../actors/server-record.js";
import type { ActorApi, ServerActors } from "../../actors/server-actors.js";
import type { Directory } from "../directory/directory.js";
import type { Db } from "../store/db.js";
import type { ServersRepo } from "../store/servers-repo.js";
import { reloadOwnerState } from "./shard-store.js";

export class DegradedActors implements ActorApi {
  constructor(
    private readonly actors: ServerActors,
    private readonly directory: Directory,
    private readonly db: Db,
    private readonly repo: ServersRepo,
    private readonly tokenTtlDays: number,
    private readonly registrarId: string,
  ) {}

  // Our copy may be stale (a rotated token) or missing (registered at another node while we could not hear it).
  private async refresh(domain: string): Promise<void> {
    const rec = this.directory.get(domain);
    // Mirrored records are not in `servers`; the actors answer 403 for them from what is listed.
    if (rec && rec.origin !== this.registrarId) return;
    if (rec) {
      const gone = await reloadOwnerState(this.db, [rec], this.tokenTtlDays);
      if (gone.length > 0) this.directory.remove(rec);
      return;
    }
    const [fresh] = await this.repo.loadByDomains([domain], { tokenTtlDays: this.tokenTtlDays });
    if (fresh && !this.directory.get(domain)) this.directory.add(fresh);
  }

  register(domain: string, fields: ServerFields, by: Actor) {
    return this.actors.register(domain, fields, by);
  }
  async heartbeat(domain: string, token: string | null, stats: Stats, sessionTokenIssuedMs?: number) {
    await this.refresh(domain);
    return this.actors.heartbeat(domain, token, stats, sessionTokenIssuedMs);
  }
  async update(domain: string, token: string | null, changed: Partial<ServerFields>, by: Actor) {
    await this.refresh(domain);
    return this.actors.update(domain, token, changed, by);
  }
  async remove(domain: string, token: string | null, by: Actor) {
    await this.refresh(domain);
    return this.actors.remove(domain, token, by);
  }
  async rotateToken(domain: string, token: string | null, by: Actor) {
    await this.refresh(domain);
    return this.actors.rotateToken(domain, token, by);
  }
}
