// Minimal typings for the parts of autocannon (no bundled types) that bench/load-worker.ts uses.
declare module "autocannon" {
  import type { EventEmitter } from "node:events";
  namespace autocannon {
    interface Request {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
      setupRequest?: (req: Request, context: Record<string, unknown>) => Request;
    }
    interface Options {
      url: string;
      connections?: number;
      pipelining?: number;
      duration?: number;
      amount?: number;
      timeout?: number;
      requests?: Request[];
    }
    interface Instance extends EventEmitter {
      stop(): void;
    }
  }
  function autocannon(opts: autocannon.Options, cb?: (err: unknown, result: unknown) => void): autocannon.Instance;
  export default autocannon;
}
