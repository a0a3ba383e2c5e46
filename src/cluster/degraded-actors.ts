// Degraded mode (NATS unreachable): a node runs any server's commands itself against MySQL, re-reading the token
// first (its copy may be stale), without timers: offline decisions wait until the cluster can talk again.
import type { ActorApi, ReplyTo, ServerCommand } from "../../actors/commands.js";
import type { Directory } from "../directory/directory.js";
import type { ServersRepo } from "../store/servers-repo.js";

export class DegradedActors implements ActorApi {
  constructor(
    private readonly actors: ActorApi,
    private readonly directory: Directory,
    private readonly repo: ServersRepo,
    private readonly registrarId: string,
  ) {}

  async send<C extends ServerCommand>(cmd: C): Promise<ReplyTo<C>> {
    // A registration needs no prior state; every other command authenticates against a fresh token.
    if (cmd.type !== "register") await this.refresh(cmd.domain);
    return this.actors.send(cmd);
  }

  // Our copy may be stale (a rotated token) or missing (registered at another node while we could not hear it).
  private async refresh(domain: string): Promise<void> {
    const rec = this.directory.get(domain);
    // Mirrored records are not in `servers`; the actors answer 403 for them from what is listed.
    if (rec && rec.origin !== this.registrarId) return;
    if (rec) {
      const gone = await this.repo.reloadOwnerState([rec]);
      if (gone.length > 0) this.directory.remove(rec);
      return;
    }
    const [fresh] = await this.repo.loadByDomains([domain]);
    if (fresh && !this.directory.get(domain)) this.directory.add(fresh);
  }
}
