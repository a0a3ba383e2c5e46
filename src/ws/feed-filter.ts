// A feed subscription's filter (contract §5): which events match, and the uWS topics that deliver exactly those.
import type { EventType, RegistryEvent } from "../core/events.js";

export type FeedFilter = {
  types: ReadonlySet<EventType> | null;
  domains: ReadonlySet<string> | null;
};

export function matches(f: FeedFilter, ev: RegistryEvent): boolean {
  return (f.types === null || f.types.has(ev.type)) && (f.domains === null || f.domains.has(ev.domain));
}

// Live events reach subscribers through uWS pub/sub, so the fan-out loop runs in C++ rather than in JavaScript.
// A subscriber joins the topics of exactly one family, chosen by which filters it has; within a family an event
// belongs to exactly one topic, so a subscriber gets every matching event once and nothing else.
const ALL = "all";
const byType = (t: string) => `t:${t}`;
const byDomain = (d: string) => `d:${d}`;
const byBoth = (t: string, d: string) => `x:${t} ${d}`;

/** The topics a subscriber with this filter joins. */
export function topicsFor(f: FeedFilter): string[] {
  if (f.types === null && f.domains === null) return [ALL];
  if (f.domains === null) return [...f.types!].map(byType);
  if (f.types === null) return [...f.domains].map(byDomain);
  const out: string[] = [];
  for (const t of f.types) for (const d of f.domains) out.push(byBoth(t, d));
  return out;
}

/** The topics an event is published to: one per family. */
export function topicsOf(ev: RegistryEvent): [string, string, string, string] {
  return [ALL, byType(ev.type), byDomain(ev.domain), byBoth(ev.type, ev.domain)];
}
