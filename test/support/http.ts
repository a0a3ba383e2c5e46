// A small JSON client for tests: what a real HTTP client sees (status, headers, parsed body); every /v1 answer is
// checked against the OpenAPI document the registrar serves (test/support/openapi-check.ts, openapi-setup.ts).
import { checkerFor, type Answer } from "./openapi-check.js";

export type ApiResponse<T = any> = { status: number; headers: Headers; body: T; text: string };

export function api(base: string) {
  async function call<T = any>(method: string, path: string, opts: { body?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
      headers["content-type"] ??= "application/json";
    }
    const res = await fetch(base + path, { method, headers, body });
    const text = await res.text();
    let parsed: any = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    checkAgainstDocument(base, { method, path, status: res.status, contentType: res.headers.get("content-type"), text });
    return { status: res.status, headers: res.headers, body: parsed, text };
  }
  return {
    call,
    get: <T = any>(path: string, opts?: Parameters<typeof call>[2]) => call<T>("GET", path, opts),
    post: <T = any>(path: string, body?: unknown, opts?: Parameters<typeof call>[2]) => call<T>("POST", path, { ...opts, body }),
    put: <T = any>(path: string, body?: unknown, opts?: Parameters<typeof call>[2]) => call<T>("PUT", path, { ...opts, body }),
    del: <T = any>(path: string, opts?: Parameters<typeof call>[2]) => call<T>("DELETE", path, opts),
  };
}

const documented = (path: string) => path.startsWith("/v1/") || path.startsWith("/.well-known/");
const answers: { base: string; answer: Answer }[] = [];

/**
 * Every /v1 answer must match the served OpenAPI document (docs/api.md). Answers are only recorded here; the
 * check (fetching the document, ajv) runs after the test (test/support/openapi-setup.ts), so it adds no latency
 * and no CPU to the test's own timing, and a mismatch fails the test.
 */
function checkAgainstDocument(base: string, answer: Answer): void {
  if (documented(answer.path)) answers.push({ base, answer });
}

/** Checks the answers recorded so far; throws the first mismatch. */
export async function settleDocumentChecks(): Promise<void> {
  const problems: string[] = [];
  for (const { base, answer } of answers.splice(0)) {
    const checker = await checkerFor(base);
    const problem = checker.covers(answer.path) ? checker.problem(answer) : null;
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) throw new Error(`OpenAPI: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ""}`);
}

let counter = 0;
/** A valid registration body for a unique domain. */
export function newServer(overrides: Record<string, unknown> = {}) {
  const domain = `srv${Date.now().toString(36)}${(counter++).toString(36)}.example.com`;
  return { domain, name: `Server ${domain}`, api_url: `https://${domain}/api`, ...overrides };
}
