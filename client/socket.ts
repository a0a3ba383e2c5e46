// The WebSocket the SDK uses: the platform's (browsers) or the `ws` package (Node 20); URL building.
// `#websocket-fallback` is a package.json subpath import: `ws` on Node, an explanatory error in browsers, so
// bundlers never see `import("ws")` (client/package.json "imports").
import { loadFallbackWebSocket } from "#websocket-fallback";

/** The part of the standard WebSocket API the SDK needs; browsers' WebSocket and `ws` both provide it. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export const OPEN = 1;

let cached: Promise<WebSocketConstructor> | null = null;

/** The given constructor, else the global WebSocket (browsers, Node ≥ 22), else `ws` (Node 20). */
export function resolveWebSocket(given?: WebSocketConstructor): Promise<WebSocketConstructor> {
  if (given) return Promise.resolve(given);
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global) return Promise.resolve(global);
  return (cached ??= loadFallbackWebSocket());
}

/** `https://reg.example.com` → `wss://reg.example.com/v1/feed`; a ws(s) URL that already names the path is kept. */
export function endpointUrl(base: string, path: string): string {
  const u = new URL(base);
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  else if (u.protocol !== "ws:" && u.protocol !== "wss:") throw new Error(`not an http(s) or ws(s) URL: ${base}`);
  const trimmed = u.pathname.replace(/\/+$/, "");
  if (!trimmed.endsWith(path)) u.pathname = trimmed + path;
  return u.toString();
}

/** Text of a message event: a string in browsers and in `ws` for text frames. */
export function messageText(data: unknown): string | null {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(data);
  if (ArrayBuffer.isView(data)) return new TextDecoder().decode(data);
  return null;
}
