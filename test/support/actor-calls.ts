// Method-style calls over an actor's command API, for tests: the edge's part (generate the token, hash the bearer)
// done here, so a test reads like the old `actors.register(domain, fields, by)` and gets the token back.
import type { ActorApi } from "../../actors/commands.js";
import type { Initiator } from "../../src/core/events.js";
import type { ServerFields, Stats } from "../../src/core/record.js";
import { generateToken, hashToken, tokenHashOf } from "../../src/core/tokens.js";

const hex = (token: string) => hashToken(token).toString("hex");

export function actorCalls(api: ActorApi) {
  return {
    async register(domain: string, fields: ServerFields, by: Initiator) {
      const token = generateToken();
      return { ...(await api.send({ type: "register", domain, fields, tokenHash: hex(token), by })), token };
    },
    heartbeat: (domain: string, token: string | null, stats: Stats) => api.send({ type: "heartbeat", domain, tokenHash: tokenHashOf(token), stats }),
    update: (domain: string, token: string | null, changed: Partial<ServerFields>, by: Initiator) =>
      api.send({ type: "update", domain, tokenHash: tokenHashOf(token), changed, by }),
    remove: (domain: string, token: string | null, by: Initiator) => api.send({ type: "remove", domain, tokenHash: tokenHashOf(token), by }),
    async rotateToken(domain: string, token: string | null, by: Initiator) {
      const fresh = generateToken();
      return { ...(await api.send({ type: "rotate_token", domain, tokenHash: tokenHashOf(token), newTokenHash: hex(fresh), by })), token: fresh };
    },
  };
}
