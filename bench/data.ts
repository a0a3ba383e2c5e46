// Deterministic, realistic-looking bench data: domains, names, descriptions, user counts, and tokens that the
// load generator can re-derive from the domain alone (token = sha256(salt + domain) as 64 hex chars).
import { createHash } from "node:crypto";

export const TOKEN_SALT = "zent-bench-v1:";

/** The bench's bearer token for a domain: 64 lower-case hex chars, like a real registrar token. */
export function benchToken(domain: string): string {
  return createHash("sha256").update(TOKEN_SALT + domain, "utf8").digest("hex");
}

/** What the registrar stores: SHA-256 of the token's UTF-8 text (src/security/tokens.ts hashToken), as hex. */
export function benchTokenHashHex(domain: string): string {
  return createHash("sha256").update(benchToken(domain), "utf8").digest("hex");
}

/**
 * The search term used for the `q=` listing. It appears (capitalised, inside the description) in exactly one
 * record in a hundred (index % 100 === 37) and in no word list below, so `q=nebula` matches exactly 1 %.
 */
export const Q_TERM = "nebula";
export const Q_EVERY = 100;
export const Q_AT = 37;

const ADJ = [
  "amber", "ancient", "arctic", "autumn", "bold", "brave", "bright", "calm", "clever", "cosmic", "crimson", "crystal",
  "dark", "dawn", "deep", "electric", "emerald", "endless", "fading", "fierce", "frozen", "gentle", "golden", "grand",
  "hidden", "hollow", "honest", "iron", "jolly", "kind", "little", "lone", "lucky", "lunar", "mellow", "misty", "modern",
  "noble", "northern", "odd", "pale", "polar", "proud", "quiet", "rapid", "rustic", "scarlet", "secret", "silent",
  "silver", "sleepy", "solar", "stormy", "sunny", "swift", "tiny", "velvet", "wild", "windy", "young",
];
const NOUN = [
  "anchor", "arcade", "badger", "beacon", "bear", "bridge", "brook", "canyon", "castle", "cedar", "circle", "cloud",
  "comet", "coral", "cove", "crane", "dragon", "dune", "eagle", "ember", "falcon", "fern", "field", "forest", "forge",
  "fox", "garden", "glade", "guild", "harbor", "haven", "hawk", "hearth", "hill", "hive", "island", "lagoon", "lake",
  "lantern", "lodge", "maple", "meadow", "mesa", "mill", "moon", "mountain", "oak", "orchard", "otter", "owl", "palace",
  "peak", "pine", "pixel", "planet", "pond", "prairie", "quarry", "raven", "reef", "ridge", "river", "rocket", "sparrow",
  "spring", "star", "stone", "summit", "temple", "thicket", "tide", "tower", "trail", "valley", "village", "wave",
  "willow", "wolf", "workshop", "yard",
];
const TOPIC = [
  "gaming", "retro games", "speedrunning", "tabletop", "chess", "anime", "manga", "music", "synthwave", "jazz",
  "photography", "film", "books", "writing", "poetry", "coding", "rust", "typescript", "linux", "self-hosting",
  "homelab", "electronics", "3d printing", "woodworking", "gardening", "cooking", "baking", "coffee", "hiking",
  "climbing", "cycling", "running", "football", "esports", "art", "pixel art", "language learning", "astronomy",
  "science", "history", "philosophy", "pets", "cats", "dogs", "travel", "study group", "open source", "startups",
];
const TLD = ["com", "net", "org", "io", "chat", "gg", "dev", "app", "social", "community", "xyz", "eu", "de", "fr", "co.uk"];
const CAPS = [
  ["voice"], ["voice", "federation"], ["federation"], [], ["voice", "video"], ["voice", "video", "federation"],
  ["bots"], ["voice", "bots", "federation"], ["screen-share", "voice"], ["e2ee", "voice"],
];
const PROTOCOLS = [["zent/1"], ["zent/1"], ["zent/1"], ["zent/1", "zent/2"]];
const VOICE = ["mediasoup", "livekit", "janus", "jitsi"];
const SENTENCES = [
  "A friendly community for {t} fans.",
  "We talk about {t} every day, newcomers welcome.",
  "Weekly events, voice hangouts and a chill {t} crowd.",
  "Run by volunteers since {y}. Be kind, have fun.",
  "The {a} {n} is a cozy corner of the internet for {t}.",
  "Share your projects, ask questions, and meet people who love {t}.",
  "English, Deutsch, Français and more. Moderated 24/7.",
  "Tournaments every weekend; casual play the rest of the week.",
  "No ads, no tracking, self-hosted on our own hardware.",
  "Home of the {a} {n} collective.",
  "Looking for moderators! Ask in #help.",
  "Small but active; we read every message.",
];

/** Small fast PRNG (mulberry32), seeded per record so any record can be generated alone. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(r: () => number, a: readonly T[]): T => a[Math.floor(r() * a.length)];
const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** The domain of record i: unique (the base-36 index is always the last dash-separated piece of the label). */
export function domainOf(i: number): string {
  const r = rng(i * 7919 + 17);
  const id = i.toString(36);
  switch (i % 4) {
    case 0:
      return `${pick(r, ADJ)}-${pick(r, NOUN)}-${id}.${pick(r, TLD)}`;
    case 1:
      return `chat.${pick(r, NOUN)}-${id}.${pick(r, TLD)}`;
    case 2:
      return `${pick(r, NOUN)}${pick(r, NOUN)}-${id}.${pick(r, TLD)}`;
    default:
      return `zent.${pick(r, ADJ)}${pick(r, NOUN)}-${id}.${pick(r, TLD)}`;
  }
}

export type Kind = "mixed" | "online";

export type BenchRow = {
  domain: string;
  name: string;
  description: string | null;
  icon: string | null;
  apiUrl: string;
  wsUrl: string | null;
  voiceUrl: string | null;
  voiceProvider: string | null;
  cdnUrl: string | null;
  protocols: string;
  capabilities: string;
  version: string | null;
  userCount: number;
  channelCount: number;
  verified: boolean;
  status: "online" | "offline";
  lastSeenMs: number;
  createdAtMs: number;
  ratings: number[];
};

const DAY = 86_400_000;

/**
 * Record i. `mixed`: ~75 % online (seen in the last minute), the rest offline for hours to months.
 * `online`: everyone online (last_seen is rewritten by the lateness step anyway).
 */
export function rowOf(i: number, nowMs: number, kind: Kind): BenchRow {
  const r = rng(i * 104_729 + 3);
  const domain = domainOf(i);
  const a = pick(r, ADJ);
  const n = pick(r, NOUN);
  const t = pick(r, TOPIC);
  const nameStyle = r();
  const name =
    nameStyle < 0.3 ? `${cap(a)} ${cap(n)}`
    : nameStyle < 0.55 ? `The ${cap(n)} ${cap(t)} Club`
    : nameStyle < 0.75 ? `${cap(t)} @ ${cap(a)} ${cap(n)}`
    : nameStyle < 0.9 ? `${cap(n)}${cap(n === "fox" ? "den" : "hub")} #${(i % 997) + 1}`
    : `${cap(a)} ${cap(t)} ${cap(n)}s`;
  let description: string | null = null;
  if (r() > 0.1) {
    const k = 1 + Math.floor(r() * 3);
    const parts: string[] = [];
    for (let s = 0; s < k; s++) {
      parts.push(pick(r, SENTENCES).replace("{t}", t).replace("{a}", a).replace("{n}", n).replace("{y}", String(2015 + Math.floor(r() * 11))));
    }
    description = parts.join(" ");
  }
  if (i % Q_EVERY === Q_AT) description = `${description ?? ""} Part of the Nebula network.`.trim();
  // Heavy-tailed user counts: most servers are small, a few are huge.
  const u = r();
  const userCount = Math.min(5_000_000, Math.floor(3 * Math.pow(1 / (1 - u * 0.999999), 1.25)) - 2);
  const channelCount = 1 + Math.floor(Math.sqrt(userCount) / 3) + Math.floor(r() * 12);
  const host = domain;
  const online = kind === "online" || r() < 0.75;
  const ratingsN = r() < 0.06 ? 1 + Math.floor(r() * 6) : 0;
  const ratings: number[] = [];
  const voice = r() < 0.3;
  for (let k = 0; k < ratingsN; k++) ratings.push(1 + Math.floor(r() * 5));
  return {
    domain,
    name: name.slice(0, 100),
    description: description && description.slice(0, 1000),
    icon: r() < 0.6 ? `https://cdn.${host}/static/icon-${(i % 89) + 1}.png` : null,
    apiUrl: `https://${host}/api`,
    wsUrl: r() < 0.8 ? `wss://${host}/ws` : null,
    voiceUrl: voice ? `https://voice-${(i % 40) + 1}.example.net` : null,
    voiceProvider: voice ? pick(r, VOICE) : null,
    cdnUrl: r() < 0.4 ? `https://cdn-${(i % 25) + 1}.example-cdn.net/${domain}` : null,
    protocols: JSON.stringify(pick(r, PROTOCOLS)),
    capabilities: JSON.stringify(pick(r, CAPS)),
    version: r() < 0.9 ? `1.${Math.floor(r() * 10)}.${Math.floor(r() * 21)}` : null,
    userCount,
    channelCount,
    verified: r() < 0.03,
    status: online ? "online" : "offline",
    lastSeenMs: online ? nowMs - Math.floor(r() * 60_000) : nowMs - 3_600_000 - Math.floor(r() * 90 * DAY),
    createdAtMs: nowMs - 100 * DAY - Math.floor(r() * 630 * DAY),
    ratings,
  };
}
