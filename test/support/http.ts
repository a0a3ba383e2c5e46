// A small JSON client for tests: what a real HTTP client sees (status, headers, parsed body).
export type ApiResponse<T = any> = { status: number; headers: Headers; body: T; text: string };

export function api(base: string) {
  async function call<T = any>(method: string, path: string, opts: { body?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
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

let counter = 0;
/** A valid registration body for a unique domain. */
export function newServer(overrides: Record<string, unknown> = {}) {
  const domain = `srv${Date.now().toString(36)}${(counter++).toString(36)}.example.com`;
  return { domain, name: `Server ${domain}`, api_url: `https://${domain}/api`, ...overrides };
}
