// The WebSocket fallback for browsers and other non-Node runtimes: there is nothing to load (browsers have a global
// WebSocket, which is used first), so a runtime without one gets an explanation instead of Node's `ws`.
import type { WebSocketConstructor } from "./socket.js";

export function loadFallbackWebSocket(): Promise<WebSocketConstructor> {
  return Promise.reject(new Error("no global WebSocket in this runtime: pass the WebSocket option (a WHATWG WebSocket constructor)"));
}
