// The listing-attack mix of issue 8 (contract §10, security review H3), shared by `npm run bench` and
// test/integration/listing-abuse.test.ts: crafted anonymous listing requests (every sort/order pair, hundreds of new
// `q` terms, junk parameters, filters that match nothing with deep offsets, legacy searches) from several connections,
// while a probe sends heartbeats and the registrar's own event-loop delay histogram is sampled.
import { benchToken, domainOf } from "./data.js";

const ADJ = ["amber", "arctic", "bold", "cosmic", "dark", "golden", "lunar", "misty", "silver", "wild"];
const NOUN = ["anchor", "beacon", "castle", "comet", "forge", "harbor", "lagoon", "otter", "pixel", "raven", "tide"];
const TOPIC = ["chess", "jazz", "linux", "cats", "coffee", "esports", "poetry", "rust", "synthwave", "hiking"];
const SORTS = ["users", "channels", "name", "created", "last_seen", "rating", "uptime"];
/** Every sort with both orders: the v1 sort/order pairs the mix reaches. */
export const SORT_PAIRS = 2 * SORTS.length;

/** Distinct search terms (≥ 400, case-insensitively distinct): word pairs, topic prefixes and made-up fragments. */
export function searchTerms(): string[] {
  const terms = new Set<string>();
  for (const a of ADJ) for (const n of NOUN) terms.add(`${a} ${n}`.slice(0, 7 + (n.length % 5)));
  for (const t of TOPIC) for (let k = 2; k <= t.length; k++) terms.add(t.slice(0, k));
  for (let i = 0; i < 250; i++) terms.add(`${NOUN[i % NOUN.length].slice(1, 4)}${(i * 7919).toString(36).slice(-2)}`);
  return [...terms];
}

/**
 * The crafted paths, in a fixed order, until every term has been used once: every sort/order pair, each term once
 * (half of them upper-cased, with filters), junk parameters, deep offsets past every match, legacy searches.
 */
export function attackPaths(): string[] {
  const q = searchTerms();
  const paths: string[] = [];
  let i = 0;
  let qi = 0;
  while (qi < q.length) {
    for (const sort of SORTS) {
      for (const order of ["asc", "desc"]) {
        const term = encodeURIComponent(q[qi % q.length]);
        const junk = `_=${i}&utm_source=x${i}`;
        // The shape moves by one each round of pairs, so every pair meets every shape.
        switch ((i + Math.floor(i / SORT_PAIRS)) % 6) {
          case 0:
            paths.push(`/v1/servers?sort=${sort}&order=${order}&offset=${(i * 37) % 10_000}&${junk}`);
            break;
          case 1:
            paths.push(`/v1/servers?q=${term}&sort=${sort}&order=${order}&limit=100`);
            qi++;
            break;
          case 2:
            paths.push(`/v1/servers?origin=nobody.example&offset=10000&sort=${sort}&order=${order}&${junk}`);
            break;
          case 3:
            paths.push(`/v1/servers?status=offline&verified=true&offset=${9_900 + (i % 100)}&sort=${sort}&order=${order}&limit=100`);
            break;
          case 4:
            paths.push(`/v1/servers?q=${term.toUpperCase()}&status=online&offset=${(i * 13) % 2000}&sort=${sort}&${junk}`);
            qi++;
            break;
          default:
            paths.push(`/servers?search=${term}&sort=name&${junk}`);
        }
        i++;
      }
    }
  }
  return paths;
}

/** Metric values by name, labels summed. */
export async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (m) out.set(m[1], (out.get(m[1]) ?? 0) + Number(m[2]));
  }
  return out;
}

export type AttackOptions = {
  url: string;
  /** 0: the probe alone (the baseline). */
  connections: number;
  /** The paths to send; `cycle` repeats them (with fresh junk) until maxMs, else each is sent once. */
  paths: string[];
  cycle: boolean;
  maxMs: number;
  probeEveryMs?: number;
  /** Heartbeats rotate over this many seeded servers (bench/data.ts domains), so no per-domain limit is reached. */
  probeDomains?: number;
};

export type AttackResult = {
  ms: number;
  sent: number;
  statuses: Record<number, number>;
  distinctQ: number;
  sortPairs: number;
  probes: number;
  probeFailures: number;
  heartbeatP50Ms: number;
  heartbeatP99Ms: number;
  heartbeatMaxMs: number;
  /** nodejs_eventloop_lag_max_seconds, sampled every second (prom-client resets it on each scrape), in ms. */
  maxStallMs: number;
  cacheBytes: number;
};

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

export async function runAttack(o: AttackOptions): Promise<AttackResult> {
  const probeEveryMs = o.probeEveryMs ?? 20;
  const probeDomains = o.probeDomains ?? 300;
  let maxStallS = 0;
  let last = await scrape(o.url); // resets the registrar's event-loop histogram: the max covers this run only
  const started = Date.now();
  let next = 0;
  let round = 0;
  const over = () => Date.now() - started > o.maxMs || (o.connections > 0 && !o.cycle && next >= o.paths.length);
  const statuses: Record<number, number> = {};
  const servedQ = new Set<string>();
  const servedSorts = new Set<string>();
  const attacker = async () => {
    while (!over()) {
      if (next >= o.paths.length) {
        next = 0;
        round++;
      }
      let path = o.paths[next++];
      if (round > 0) path += `&round=${round}`; // a cycled path is still a new raw query string
      const res = await fetch(`${o.url}${path}`);
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      const params = new URL(path, "http://x").searchParams;
      if (params.has("q")) servedQ.add(params.get("q")!.toLowerCase());
      if (path.startsWith("/v1/")) servedSorts.add(`${params.get("sort")}:${params.get("order")}`);
    }
  };
  const latencies: number[] = [];
  let probeFailures = 0;
  const probe = async () => {
    for (let k = 0; !over(); k++) {
      const domain = domainOf(k % probeDomains);
      const t = performance.now();
      const res = await fetch(`${o.url}/v1/servers/${domain}/heartbeat`, { method: "POST", headers: { authorization: `Bearer ${benchToken(domain)}` } });
      await res.arrayBuffer();
      latencies.push(performance.now() - t);
      if (res.status !== 200) probeFailures++;
      await new Promise((r) => setTimeout(r, probeEveryMs));
    }
  };
  const sampler = async () => {
    while (!over()) {
      await new Promise((r) => setTimeout(r, 1000));
      last = await scrape(o.url);
      maxStallS = Math.max(maxStallS, last.get("nodejs_eventloop_lag_max_seconds") ?? 0);
    }
  };
  await Promise.all([probe(), sampler(), ...Array.from({ length: o.connections }, attacker)]);
  last = await scrape(o.url);
  maxStallS = Math.max(maxStallS, last.get("nodejs_eventloop_lag_max_seconds") ?? 0);
  latencies.sort((a, b) => a - b);
  return {
    ms: Date.now() - started,
    sent: Object.values(statuses).reduce((a, b) => a + b, 0),
    statuses,
    distinctQ: servedQ.size,
    sortPairs: servedSorts.size,
    probes: latencies.length,
    probeFailures,
    heartbeatP50Ms: round2(percentile(latencies, 50)),
    heartbeatP99Ms: round2(percentile(latencies, 99)),
    heartbeatMaxMs: round2(latencies[latencies.length - 1] ?? NaN),
    maxStallMs: round2(maxStallS * 1000),
    cacheBytes: last.get("registrar_listing_cache_bytes") ?? NaN,
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;
