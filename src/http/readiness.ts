// Whether this node should be sent traffic (contract §10 /readyz): listening and not draining. MySQL is not part of
// it on purpose: a node without MySQL still takes heartbeats from memory, and pulling every node out of the load
// balancer during a MySQL outage would turn every server offline.

export type ReadinessState = "starting" | "ready" | "draining";

export class Readiness {
  private current: ReadinessState = "starting";

  get state(): ReadinessState {
    return this.current;
  }

  get ready(): boolean {
    return this.current === "ready";
  }

  /** The listener is open; the directory was loaded before it (src/node.ts). */
  listening(): void {
    if (this.current === "starting") this.current = "ready";
  }

  /** Shutdown has begun: from now on /readyz answers 503, whatever else still works. */
  drain(): void {
    this.current = "draining";
  }
}
