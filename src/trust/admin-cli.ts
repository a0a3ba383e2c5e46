// `npm run admin -- <command>` (contract §8.5): drives the operator's routes of a running registrar over HTTP.
import { z } from "zod";

export const ADMIN_USAGE = `Usage: npm run admin -- <command> [arguments]

Talks to a running registrar's admin routes. Environment:
  REGISTRAR_URL   base URL of any node (default http://127.0.0.1:5000)
  ADMIN_TOKEN     the registrar's ADMIN_TOKEN (64 hex characters)

Commands:
  verify <domain>                      mark the server verified
  unverify <domain>                    mark the server not verified
  reissue-token <domain>               issue a new token (every earlier one stops working); prints it
  remove <domain> [--reason <text>]    remove the server, like its owner's DELETE
  ban <domain> --reason <text>         ban the domain (a registered one is removed)
  unban <domain>                       lift a ban
  bans                                 list the bans
  remove-rating <domain> <user_id>     remove one rating (user_id is the full identity, e.g. alice@chat.example.com)
  audit [--domain <d>] [--limit <n>] [--before <id or ISO time>]
                                       audit log entries, newest first

Prints the answer as JSON. Exit status: 0 done, 1 refused by the registrar (or unreachable), 2 usage error.`;

const CliEnv = z.object({
  REGISTRAR_URL: z.string().url().default("http://127.0.0.1:5000"),
  ADMIN_TOKEN: z.string().regex(/^[0-9a-fA-F]{64}$/, "ADMIN_TOKEN must be 64 hex characters"),
});

export type AdminIo = { out: (line: string) => void; err: (line: string) => void; fetch?: typeof fetch };

type Request = { method: "GET" | "PUT" | "POST" | "DELETE"; path: string; body?: unknown };

class UsageError extends Error {}

/** Splits `--name value` options from positional arguments; only the names in `allowed`. */
function parseArgs(args: string[], allowed: string[]): { positional: string[]; options: Record<string, string> } {
  const positional: string[] = [];
  const options: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const name = a.slice(2);
    if (!allowed.includes(name)) throw new UsageError(`unknown option ${a}`);
    const value = args[++i];
    if (value === undefined) throw new UsageError(`${a} needs a value`);
    options[name] = value;
  }
  return { positional, options };
}

function exactly(positional: string[], n: number, what: string): string[] {
  if (positional.length !== n) throw new UsageError(`expected ${what}`);
  return positional;
}

const enc = encodeURIComponent;

/** The HTTP request for one command line. */
export function requestFor(command: string, args: string[]): Request {
  switch (command) {
    case "verify":
    case "unverify": {
      const [domain] = exactly(parseArgs(args, []).positional, 1, "<domain>");
      return { method: "PUT", path: `/v1/admin/servers/${enc(domain)}/verified`, body: { verified: command === "verify" } };
    }
    case "reissue-token": {
      const [domain] = exactly(parseArgs(args, []).positional, 1, "<domain>");
      return { method: "POST", path: `/v1/admin/servers/${enc(domain)}/token` };
    }
    case "remove": {
      const { positional, options } = parseArgs(args, ["reason"]);
      const [domain] = exactly(positional, 1, "<domain>");
      return { method: "DELETE", path: `/v1/admin/servers/${enc(domain)}`, body: options.reason !== undefined ? { reason: options.reason } : undefined };
    }
    case "ban": {
      const { positional, options } = parseArgs(args, ["reason"]);
      const [domain] = exactly(positional, 1, "<domain>");
      if (options.reason === undefined) throw new UsageError("ban needs --reason <text>");
      return { method: "PUT", path: `/v1/admin/bans/${enc(domain)}`, body: { reason: options.reason } };
    }
    case "unban": {
      const [domain] = exactly(parseArgs(args, []).positional, 1, "<domain>");
      return { method: "DELETE", path: `/v1/admin/bans/${enc(domain)}` };
    }
    case "bans":
      exactly(parseArgs(args, []).positional, 0, "no arguments");
      return { method: "GET", path: "/v1/admin/bans" };
    case "remove-rating": {
      const [domain, userId] = exactly(parseArgs(args, []).positional, 2, "<domain> <user_id>");
      return { method: "DELETE", path: `/v1/admin/servers/${enc(domain)}/ratings/${enc(userId)}` };
    }
    case "audit": {
      const { positional, options } = parseArgs(args, ["domain", "limit", "before"]);
      exactly(positional, 0, "only --domain, --limit, --before");
      const query = new URLSearchParams(options).toString();
      return { method: "GET", path: `/v1/admin/audit${query ? `?${query}` : ""}` };
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

/** Runs one command; returns the exit status. Never prints the admin token. */
export async function runAdmin(argv: string[], env: Record<string, string | undefined>, io: AdminIo): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    (command === undefined ? io.err : io.out)(ADMIN_USAGE);
    return command === undefined ? 2 : 0;
  }
  let req: Request;
  try {
    req = requestFor(command, args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`admin: ${err.message}\n\n${ADMIN_USAGE}`);
    return 2;
  }
  const parsed = CliEnv.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== "")));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    io.err(`admin: ${issue.path[0] === "ADMIN_TOKEN" ? "set ADMIN_TOKEN to the registrar's admin token (64 hex characters)" : `invalid ${String(issue.path[0])}: ${issue.message}`}`);
    return 2;
  }
  const { REGISTRAR_URL: base, ADMIN_TOKEN: token } = parsed.data;
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (req.body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await (io.fetch ?? fetch)(`${base.replace(/\/+$/, "")}${req.path}`, {
      method: req.method, headers, body: req.body === undefined ? undefined : JSON.stringify(req.body), signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    io.err(`admin: cannot reach ${base}: ${(err as Error).message}`);
    return 1;
  }
  const text = await res.text();
  if (res.ok) {
    io.out(text ? JSON.stringify(JSON.parse(text), null, 2) : JSON.stringify({ ok: true, status: res.status }));
    return 0;
  }
  // Without ADMIN_TOKEN on the registrar every admin route is a 404, which looks like an unknown domain: say so.
  const hint = res.status === 404 ? " (an unknown domain, or ADMIN_TOKEN is not set on the registrar)" : "";
  io.err(`admin: HTTP ${res.status}: ${text}${hint}`);
  return 1;
}
