// A PHP registrar database for import tests: the deployed schema (shared/background/php-database.md), a hand-made
// sample of rows like the real ones, and a seeded generator for any size (the 100,000-row benchmark).
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";

/** The deployed PHP schema, as php-database.md describes it: unicode_ci, DATETIME, TEXT, JSON, the token in clear. */
export const PHP_SCHEMA = [
  `CREATE TABLE servers (
     domain           VARCHAR(255) NOT NULL,
     name             TEXT NOT NULL,
     api_url          TEXT NOT NULL,
     ws_url           TEXT NOT NULL,
     voice_url        TEXT NULL,
     voice_provider   VARCHAR(64) DEFAULT 'livekit',
     cdn_url          TEXT NULL,
     protocols        JSON DEFAULT ('["zent-v1"]'),
     capabilities     JSON DEFAULT ('{}'),
     description      TEXT NULL,
     icon             TEXT NULL,
     version          TEXT NULL,
     user_count       INT DEFAULT 0,
     channel_count    INT DEFAULT 0,
     verified         BOOLEAN DEFAULT FALSE,
     server_token     TEXT NOT NULL,
     token_expires_at DATETIME NULL,
     status           VARCHAR(32) DEFAULT 'online',
     last_seen        DATETIME DEFAULT CURRENT_TIMESTAMP,
     created_at       DATETIME DEFAULT CURRENT_TIMESTAMP,
     PRIMARY KEY (domain)
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
  `CREATE TABLE ratings (
     id          INT NOT NULL AUTO_INCREMENT,
     domain      VARCHAR(255) NOT NULL,
     user_id     VARCHAR(255) NOT NULL,
     rating      INT NOT NULL,
     comment     TEXT NULL,
     created_at  DATETIME DEFAULT CURRENT_TIMESTAMP,
     PRIMARY KEY (id),
     CONSTRAINT ratings_domain FOREIGN KEY (domain) REFERENCES servers (domain) ON DELETE CASCADE
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
  `CREATE TABLE rate_limits (
     ip             VARCHAR(45) NOT NULL,
     endpoint       VARCHAR(64) NOT NULL,
     window_start   DATETIME NOT NULL,
     request_count  INT DEFAULT 1,
     PRIMARY KEY (ip, endpoint)
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
];

/** One `servers` row; undefined columns take the PHP defaults. JSON columns are given as JSON text. */
export type PhpServer = {
  domain: string;
  name: string;
  api_url: string;
  ws_url: string;
  voice_url?: string | null;
  voice_provider?: string | null;
  cdn_url?: string | null;
  protocols?: string;
  capabilities?: string;
  description?: string | null;
  icon?: string | null;
  version?: string | null;
  user_count?: number;
  channel_count?: number;
  verified?: boolean;
  server_token: string;
  token_expires_at: Date | null;
  last_seen: Date;
  created_at: Date;
};

export type PhpRating = { domain: string; user_id: string; rating: number; comment: string | null; created_at: Date };

const DAY_MS = 86_400_000;
const MIN_MS = 60_000;

/** Creates the database (dropping an earlier one of that name) with the PHP schema. */
export async function createPhpDatabase(url: string): Promise<void> {
  const { conn, name } = await adminConnection(url);
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await conn.query(`USE \`${name}\``);
    for (const sql of PHP_SCHEMA) await conn.query(sql);
  } finally {
    await conn.end();
  }
}

/** Inserts rows the way the PHP registrar wrote them (DATETIME in UTC), in multi-row batches. */
export async function insertPhpRows(url: string, servers: PhpServer[], ratings: PhpRating[] = []): Promise<void> {
  const conn = await phpConnection(url);
  try {
    for (let i = 0; i < servers.length; i += 1000) {
      const part = servers.slice(i, i + 1000);
      await conn.query(
        `INSERT INTO servers (domain, name, api_url, ws_url, voice_url, voice_provider, cdn_url, protocols, capabilities,
           description, icon, version, user_count, channel_count, verified, server_token, token_expires_at, status,
           last_seen, created_at) VALUES ?`,
        [
          part.map((s) => [
            s.domain, s.name, s.api_url, s.ws_url, s.voice_url ?? null, s.voice_provider === undefined ? "livekit" : s.voice_provider,
            s.cdn_url ?? null, s.protocols ?? '["zent-v1"]', s.capabilities ?? "{}", s.description ?? null, s.icon ?? null,
            s.version ?? null, s.user_count ?? 0, s.channel_count ?? 0, s.verified ? 1 : 0, s.server_token, s.token_expires_at,
            "online", s.last_seen, s.created_at,
          ]),
        ],
      );
    }
    for (let i = 0; i < ratings.length; i += 2000) {
      const part = ratings.slice(i, i + 2000);
      await conn.query("INSERT INTO ratings (domain, user_id, rating, comment, created_at) VALUES ?", [
        part.map((r) => [r.domain, r.user_id, r.rating, r.comment, r.created_at]),
      ]);
    }
  } finally {
    await conn.end();
  }
}

/** A connection to the PHP database with DATETIME read and written as UTC, like the deployed host. */
export async function phpConnection(url: string): Promise<mysql.Connection> {
  const u = new URL(url);
  return mysql.createConnection({
    host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username || "root"),
    password: decodeURIComponent(u.password), database: u.pathname.slice(1), timezone: "Z",
  });
}

async function adminConnection(url: string): Promise<{ conn: mysql.Connection; name: string }> {
  const u = new URL(url);
  const name = u.pathname.slice(1);
  if (!/^[A-Za-z0-9_]{1,64}$/.test(name)) throw new Error(`bad database name ${name}`);
  const conn = await mysql.createConnection({
    host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username || "root"), password: decodeURIComponent(u.password),
  });
  return { conn, name };
}

export const token = (): string => randomBytes(32).toString("hex");

/** A comment of exactly `bytes` UTF-8 bytes, mixing one-, two- and three-byte characters (PHP allowed 2,000 bytes). */
export function commentOfBytes(bytes: number): string {
  const pieces = ["Sehr gut, ", "très bien ", "とても良い", " ok. "];
  let out = "";
  for (let i = 0; Buffer.byteLength(out) < bytes; i++) {
    const next = pieces[i % pieces.length];
    if (Buffer.byteLength(out + next) > bytes) {
      out += "x".repeat(bytes - Buffer.byteLength(out));
      break;
    }
    out += next;
  }
  return out;
}

/**
 * Rows like the real ones, one per case an import must get right; `nowMs` anchors every time. Keys are labels the
 * tests refer to. Tokens are fresh random ones.
 */
export function phpSample(nowMs: number) {
  const at = (msAgo: number) => new Date(Math.floor((nowMs - msAgo) / 1000) * 1000);
  const inDays = (days: number) => new Date(Math.floor((nowMs + days * DAY_MS) / 1000) * 1000);
  const servers = {
    // Mixed case, the usual capabilities object, the default protocols, heartbeating a minute ago.
    mixedCase: {
      domain: "Chat.Example.COM", name: "Example Chat", api_url: "https://chat.example.com/api", ws_url: "wss://chat.example.com/ws",
      voice_url: "https://voice.example.net", voice_provider: "livekit", cdn_url: "https://cdn.example.net",
      capabilities: '{"voice": true, "video": false, "federation": true}', description: "A friendly place\nwith two lines",
      icon: "https://chat.example.com/icon.png", version: "1.4.2", user_count: 120, channel_count: 14, verified: true,
      server_token: token(), token_expires_at: inDays(300), last_seen: at(MIN_MS), created_at: at(400 * DAY_MS),
    },
    // Silent for a month: offline at import. http: URLs were accepted by PHP. No capabilities at all.
    oldHttp: {
      domain: "old.example.org", name: "Old Server", api_url: "http://old.example.org/api", ws_url: "ws://old.example.org/ws",
      voice_provider: null, server_token: token(), token_expires_at: inDays(335), last_seen: at(30 * DAY_MS), created_at: at(700 * DAY_MS),
    },
    // API on a host outside its domain; capabilities as an array, one entry breaking the token rule.
    foreignHost: {
      domain: "Gamers.Example.NET", name: "Gamers", api_url: "https://api.hosting-provider.com/gamers", ws_url: "wss://gamers.example.net/ws",
      capabilities: '["voice", "Screen Share"]', protocols: '["zent-v1", "zent-v2"]', user_count: 45, channel_count: 3,
      server_token: token(), token_expires_at: inDays(360), last_seen: at(2 * MIN_MS), created_at: at(90 * DAY_MS),
    },
    // Name and description past the §2 limits, a control character in the name.
    tooLong: {
      domain: "long.example.com", name: `${"N".repeat(150)}\u0007`, api_url: "https://long.example.com/api", ws_url: "wss://long.example.com/ws",
      description: "d".repeat(1500), version: "v".repeat(40), voice_provider: "a-provider-name-that-is-longer-than-fifty-characters-x",
      server_token: token(), token_expires_at: inDays(200), last_seen: at(3 * MIN_MS), created_at: at(30 * DAY_MS),
    },
    // Its token's sliding expiry passed at PHP; it never came back.
    expired: {
      domain: "expired.example.com", name: "Expired", api_url: "https://expired.example.com/api", ws_url: "wss://expired.example.com/ws",
      server_token: token(), token_expires_at: at(5 * DAY_MS), last_seen: at(370 * DAY_MS), created_at: at(800 * DAY_MS),
    },
    // Hand-edited JSON: capabilities a string, protocols an object; an empty ws_url.
    oddJson: {
      domain: "odd-json.example.com", name: "Odd JSON", api_url: "https://odd-json.example.com/api", ws_url: "",
      capabilities: '"voice"', protocols: '{"zent-v1": true}', server_token: token(), token_expires_at: inDays(100),
      last_seen: at(4 * MIN_MS), created_at: at(10 * DAY_MS),
    },
    // Unrated, conforming, heartbeating: the control case.
    plain: {
      domain: "plain.example.io", name: "Plain", api_url: "https://plain.example.io/api", ws_url: "wss://plain.example.io/ws",
      capabilities: '{"voice": true}', server_token: token(), token_expires_at: inDays(364), last_seen: at(30_000),
      created_at: at(5 * DAY_MS),
    },
  } satisfies Record<string, PhpServer>;
  const ratings: PhpRating[] = [
    // The FK matched case-insensitively: ratings may spell the domain differently from the server row.
    { domain: "chat.example.com", user_id: "alice", rating: 5, comment: "Great community", created_at: at(20 * DAY_MS) },
    { domain: "CHAT.EXAMPLE.COM", user_id: "Bob Smith", rating: 4, comment: commentOfBytes(2000), created_at: at(10 * DAY_MS) },
    { domain: "Chat.Example.COM", user_id: "3f2b9c1e-8a5d-4f7e-9b1a-2c3d4e5f6a7b", rating: 3, comment: null, created_at: at(5 * DAY_MS) },
    // alice again, later: one rating per user here, the newest wins.
    { domain: "Chat.Example.COM", user_id: "alice", rating: 4, comment: "Still good", created_at: at(2 * DAY_MS) },
    { domain: "old.example.org", user_id: "user-123@old.example.org", rating: 2, comment: "slow", created_at: at(60 * DAY_MS) },
    // Hand-edited: outside 1–5.
    { domain: "Gamers.Example.NET", user_id: "mallory", rating: 9, comment: null, created_at: at(DAY_MS) },
    { domain: "gamers.example.net", user_id: "carol", rating: 5, comment: "", created_at: at(3 * DAY_MS) },
  ];
  return { servers, ratings };
}

/**
 * A server that heartbeated at PHP `secondsAgo` before now (whole seconds, as DATETIME keeps them): online at an
 * import made right after, a few seconds from its deadline. Tests of offline timers create it just before importing.
 */
export function recentPhpServer(secondsAgo = 0, domain = "Soon.Example.com"): PhpServer {
  const nowMs = Date.now();
  const host = domain.toLowerCase();
  return {
    domain, name: "Soon", api_url: `https://${host}/api`, ws_url: `wss://${host}/ws`, server_token: token(),
    token_expires_at: new Date(nowMs + 100 * DAY_MS), last_seen: new Date(Math.floor(nowMs / 1000) * 1000 - secondsAgo * 1000),
    created_at: new Date(nowMs - DAY_MS),
  };
}

/** A seeded pseudo-random source (mulberry32), so a generated database is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ["chat", "guild", "voice", "games", "devs", "music", "art", "study", "club", "hub", "crew", "den", "lounge", "forge"];
const TLDS = ["com", "net", "org", "io", "de", "fr", "chat", "gg"];
const CAPS = ["voice", "video", "federation", "bots", "screen-share", "e2ee", "threads"];

/**
 * `count` servers and about 0.6 ratings per server, mixing the cases of phpSample in proportions like the real
 * directory's: 10 % mixed-case domains, 5 % http: URLs, 3 % API hosts outside the domain, 2 % over-long names,
 * 8 % expired tokens, 45 % silent for more than an hour, capabilities mostly objects.
 */
export function generatePhpRows(count: number, opts: { seed?: number; nowMs: number }): { servers: PhpServer[]; ratings: PhpRating[] } {
  const rnd = prng(opts.seed ?? 42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const at = (msAgo: number) => new Date(Math.floor((opts.nowMs - msAgo) / 1000) * 1000);
  const servers: PhpServer[] = [];
  const ratings: PhpRating[] = [];
  for (let i = 0; i < count; i++) {
    const host = `${pick(WORDS)}${i}.${pick(WORDS)}.${pick(TLDS)}`;
    const domain = rnd() < 0.1 ? host.replace(/^./, (c) => c.toUpperCase()).replace(/\.[a-z]+$/, (t) => t.toUpperCase()) : host;
    const scheme = rnd() < 0.05 ? "http" : "https";
    const apiHost = rnd() < 0.03 ? `api.host${i % 97}.example` : host;
    const caps = CAPS.filter(() => rnd() < 0.3);
    const capRoll = rnd();
    const capabilities =
      capRoll < 0.75 ? JSON.stringify(Object.fromEntries(caps.map((c) => [c, rnd() < 0.9]))) : capRoll < 0.95 ? JSON.stringify(caps) : "{}";
    const silentMs = rnd() < 0.45 ? (1 + rnd() * 200) * 3_600_000 * (rnd() < 0.5 ? 1 : 24) : rnd() * 250_000;
    const expired = rnd() < 0.08;
    servers.push({
      domain,
      name: rnd() < 0.02 ? `${pick(WORDS)} `.repeat(30).trim() : `${pick(WORDS)} ${pick(WORDS)} ${i}`,
      api_url: `${scheme}://${apiHost}/api`,
      ws_url: `${scheme === "https" ? "wss" : "ws"}://${host}/ws`,
      voice_url: rnd() < 0.4 ? `https://voice.${host}` : null,
      cdn_url: rnd() < 0.2 ? `https://cdn${i % 13}.example.net` : null,
      capabilities,
      protocols: rnd() < 0.9 ? undefined : '["zent-v1", "zent-v2"]',
      description: rnd() < 0.6 ? `The ${pick(WORDS)} server number ${i}. `.repeat(1 + Math.floor(rnd() * 8)) : null,
      icon: rnd() < 0.5 ? `https://${host}/icon.png` : null,
      version: `1.${Math.floor(rnd() * 9)}.${Math.floor(rnd() * 20)}`,
      user_count: Math.floor(rnd() * 5000),
      channel_count: Math.floor(rnd() * 80),
      verified: rnd() < 0.05,
      server_token: randomBytes(32).toString("hex"),
      token_expires_at: expired ? at((1 + rnd() * 100) * 86_400_000) : new Date(opts.nowMs + Math.floor((1 + rnd() * 364) * 86_400_000)),
      last_seen: at(silentMs),
      created_at: at(silentMs + rnd() * 700 * 86_400_000),
    });
    for (let r = 0; rnd() < 0.4 && r < 5; r++) {
      ratings.push({
        domain: rnd() < 0.2 ? domain.toLowerCase() : domain,
        user_id: `user${Math.floor(rnd() * 50_000)}`,
        rating: 1 + Math.floor(rnd() * 5),
        comment: rnd() < 0.5 ? commentOfBytes(Math.floor(rnd() * 2000)) : null,
        created_at: at(rnd() * 300 * 86_400_000),
      });
    }
  }
  return { servers, ratings };
}
