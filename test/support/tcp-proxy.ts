// A loopback TCP proxy for fault tests: forwards to a target port; pause() cuts every connection and refuses new ones.
import net from "node:net";

export type TcpProxy = {
  /** The loopback port clients connect to; stays the same across pause/resume. */
  readonly port: number;
  /** Connections accepted and forwarded since start (for assertions that the proxy was really used). */
  readonly accepted: number;
  /** Destroys every open connection (both sides) and closes the listener, so new connects are refused. */
  pause(): Promise<void>;
  /**
   * A network partition rather than a closed port: open connections stop carrying bytes (nothing is reset) and
   * new connections are accepted but never answered, so clients only notice through their own timeouts.
   */
  stall(): Promise<void>;
  /** Ends a pause or a stall: stalled connections are reset, and new connections are forwarded again. */
  resume(): Promise<void>;
  close(): Promise<void>;
};

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  let stalled = false;
  let server: net.Server | null = null;
  let port = 0;

  function onConnection(client: net.Socket): void {
    if (stalled) {
      // Accept and hold: the handshake the client waits for never comes.
      client.pause();
      client.on("error", () => client.destroy());
      sockets.add(client);
      return;
    }
    accepted++;
    const upstream = net.connect({ host: target.host, port: target.port });
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async function listen(): Promise<void> {
    const s = net.createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen({ host: "127.0.0.1", port, exclusive: true }, () => {
        s.off("error", reject);
        resolve();
      });
    });
    port = (s.address() as net.AddressInfo).port;
    server = s;
  }

  async function pause(): Promise<void> {
    const s = server;
    server = null;
    // Reset rather than end: the client sees the connection die the way it does when the database host goes away.
    for (const sock of sockets) sock.resetAndDestroy();
    sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  function stall(): Promise<void> {
    stalled = true;
    for (const sock of sockets) {
      sock.unpipe();
      sock.pause();
    }
    return Promise.resolve();
  }

  await listen();
  return {
    get port() {
      return port;
    },
    get accepted() {
      return accepted;
    },
    pause,
    stall,
    resume: async () => {
      if (stalled) {
        stalled = false;
        for (const sock of sockets) sock.resetAndDestroy();
        sockets.clear();
      }
      if (!server) await listen();
    },
    close: pause,
  };
}
