// Which peer may tell this registrar about which origin's records (docs/federation.md "Trust"): origin X only on
// X's own subjects; other origins only relayed by a configured peer, never this registrar's own, never in a loop.
import type { FedChange } from "./wire.js";

/** How a change arrived: first-hand on a peer's `changes`, relayed on its `relay.<self>`, or pulled by anti-entropy. */
export type Channel = "changes" | "relay" | "sync";

/** Why a change was refused; `own_origin` and `first_hand_only` are normal in a mesh, the others are not. */
export type Refusal = "own_origin" | "wrong_origin" | "first_hand_only" | "bad_path" | "loop";

export type TrustPolicy = { self: string; peers: ReadonlySet<string> };

export function refusal(change: FedChange, via: string, channel: Channel, p: TrustPolicy): Refusal | null {
  // This registrar is the only source of truth for its own records (no echo, no hijack).
  if (change.origin === p.self) return "own_origin";
  if (channel === "changes") return change.origin === via ? null : "wrong_origin";
  if (change.origin === via) return channel === "sync" ? null : "wrong_origin";
  // A directly peered origin is believed only first-hand: a relay cannot overwrite what X itself says.
  if (p.peers.has(change.origin)) return "first_hand_only";
  if (channel === "relay") {
    const path = change.path;
    if (!path || path[path.length - 1] !== via) return "bad_path";
    if (path.includes(p.self)) return "loop";
  }
  return null;
}

/** The path to relay an accepted change with: where it came through, then this registrar. */
export function relayPath(change: FedChange, via: string, self: string): string[] {
  const path = change.path ?? (change.origin === via ? [change.origin] : [change.origin, via]);
  return [...path, self];
}
