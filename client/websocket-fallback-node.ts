// The WebSocket for Node without a global one (Node 20): the optional peer dependency `ws`, loaded on first use.
// Chosen through package.json "imports" (`#websocket-fallback`, conditions `node`/`default`); never in browsers.
import type { WebSocketConstructor } from "./socket.js";

export async function loadFallbackWebSocket(): Promise<WebSocketConstructor> {
  let mod: { default?: unknown };
  try {
    mod = await import("ws");
  } catch (err) {
    // `ws` is an optional peer (Node ≥ 22 has a global WebSocket): when it is missing, say how to fix it.
    if ((err as { code?: unknown }).code !== "ERR_MODULE_NOT_FOUND") throw err;
    throw new Error(
      "no global WebSocket in this runtime (Node 20): install the optional peer dependency `ws` (npm install ws) or pass the WebSocket option",
      { cause: err },
    );
  }
  return (mod.default ?? mod) as WebSocketConstructor;
}
