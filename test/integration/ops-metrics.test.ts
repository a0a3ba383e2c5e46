// Issue 13: the alert rules (deploy/prometheus/rules.yml) and the Grafana dashboard (deploy/grafana/registrar.json)
// parse as PromQL and name only metrics, and label names, that a running registrar exposes on /metrics: a single
// node for everything but the cluster and federation parts, a cluster node with peer mirroring for those.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parser } from "@prometheus-io/lezer-promql";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { ROOT, startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

type Part = "node" | "cluster" | "federation";
type Use = { where: string; part: Part; expr: string };

// Prometheus adds these to every series at scrape time; `le` is the histogram bucket label.
const TARGET_LABELS = new Set(["job", "instance", "le"]);
// Series Prometheus makes itself, not the registrar.
const SYNTHETIC = new Set(["up"]);

function ruleUses(): Use[] {
  const doc = parseYaml(readFileSync(path.join(ROOT, "deploy/prometheus/rules.yml"), "utf8"));
  const part = (group: string): Part => (group.endsWith("-cluster") ? "cluster" : group.endsWith("-federation") ? "federation" : "node");
  return doc.groups.flatMap((g: any) => g.rules.map((r: any) => ({ where: `rule ${r.alert}`, part: part(g.name), expr: String(r.expr) })));
}

function dashboardUses(): Use[] {
  const dash = JSON.parse(readFileSync(path.join(ROOT, "deploy/grafana/registrar.json"), "utf8"));
  // Grafana's variables, replaced by what they stand for, so the text is plain PromQL.
  const plain = (expr: string) => expr.replaceAll("$__rate_interval", "5m").replaceAll("$__range", "1h").replaceAll("$instance", ".*");
  const uses: Use[] = dash.templating.list
    .filter((v: any) => v.type === "query")
    .map((v: any) => ({ where: `variable ${v.name}`, part: "node" as Part, expr: v.query.query.replace(/^label_values\((\w+),.*\)$/, "$1") }));
  let part: Part = "node";
  for (const p of dash.panels) {
    if (p.type === "row") {
      part = p.title.startsWith("Cluster") ? "cluster" : p.title.startsWith("Federation") ? "federation" : "node";
      continue;
    }
    for (const t of p.targets) uses.push({ where: `panel "${p.title}"`, part, expr: plain(t.expr) });
  }
  return uses;
}

/** Metric names and matcher label names in one PromQL expression; throws on a syntax error. */
function selectors(expr: string): { metric: string; labels: string[] }[] {
  const tree = parser.parse(expr);
  const out: { metric: string; labels: string[] }[] = [];
  const c = tree.cursor();
  do {
    if (c.type.isError) throw new Error(`PromQL syntax error at ${c.from}: ${expr}`);
    if (c.name === "VectorSelector") {
      const text = expr.slice(c.from, c.to);
      const metric = text.match(/^[a-zA-Z_:][a-zA-Z0-9_:]*/)?.[0] ?? "";
      const labels = [...text.slice(metric.length).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]);
      out.push({ metric, labels });
    }
  } while (c.next());
  return out;
}

/** Series names a scrape yields (histogram families as _bucket/_sum/_count) → label names seen in samples. */
async function exposed(url: string): Promise<Map<string, Set<string>>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const series = new Map<string, Set<string>>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m;
    const names = type === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : type === "summary" ? [name, `${name}_sum`, `${name}_count`] : [name];
    for (const n of names) series.set(n, new Set());
  }
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/gm)) {
    for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) series.get(m[1])?.add(l[1]);
  }
  return series;
}

/** What a use names that `series` lacks: unknown metrics, and label names absent from samples that do exist. */
function missing(uses: Use[], series: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  for (const u of uses) {
    for (const s of selectors(u.expr)) {
      if (SYNTHETIC.has(s.metric)) continue;
      const labels = series.get(s.metric);
      if (!labels) {
        problems.push(`${u.where}: ${s.metric}`);
        continue;
      }
      // A labelled counter no one incremented yet has no samples: its labels cannot be seen, only its name.
      if (labels.size === 0) continue;
      for (const l of s.labels) if (!TARGET_LABELS.has(l) && !labels.has(l)) problems.push(`${u.where}: ${s.metric}{${l}}`);
    }
  }
  return problems;
}

type DocRow = { file: string; name: string; labels: string[] | null; type: string };

/** The metric tables of the README and docs/federation.md: `| \`name{labels}\`, … | type | what |`. */
function documentedMetrics(): DocRow[] {
  const rows: DocRow[] = [];
  for (const file of ["README.md", "docs/federation.md"]) {
    for (const line of readFileSync(path.join(ROOT, file), "utf8").split("\n")) {
      const cells = line.split("|").map((c) => c.trim());
      if (cells.length < 4 || !cells[1].includes("`registrar_")) continue;
      for (const m of cells[1].matchAll(/`(registrar_[a-z_]+)(?:\{([a-z_,]*)\})?`/g)) {
        rows.push({ file, name: m[1], labels: m[2] === undefined ? null : m[2].split(","), type: cells[2] });
      }
    }
  }
  return rows;
}

/** `# TYPE` of every registrar_* family a scrape has. */
async function exposedTypes(url: string): Promise<Map<string, string>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return new Map([...text.matchAll(/^# TYPE (registrar_\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
}

describe("the operations files name only metrics a registrar exposes", () => {
  const uses = [...ruleUses(), ...dashboardUses()];
  const dbs = [freshDatabaseUrl("opsm1"), freshDatabaseUrl("opsm2")];
  let single: InProcessRegistrar;
  let clustered: InProcessRegistrar;

  beforeAll(async () => {
    single = await startRegistrar({ DATABASE_URL: dbs[0], LOG_LEVEL: "warn" });
    clustered = await startRegistrar({
      DATABASE_URL: dbs[1], LOG_LEVEL: "warn", NATS_URL: inject("natsUrl"), CLUSTER_ID: `ops${randomBytes(4).toString("hex")}`,
      REGISTRAR_ID: "reg.ops-test.example", PEERS: "reg.ops-peer.example",
    });
    // Some traffic, so labelled series have samples whose label names can be checked.
    for (const node of [single, clustered]) {
      const c = api(node.url);
      const reg = await c.post("/v1/servers", newServer());
      expect(reg.status).toBe(201);
      expect((await c.post(`/v1/servers/${reg.body.server.domain}/heartbeat`, {}, { token: reg.body.token })).status).toBe(200);
      expect((await c.get("/v1/servers")).status).toBe(200);
    }
  }, 60_000);

  afterAll(async () => {
    await single?.stop();
    await clustered?.stop();
    for (const db of dbs) await dropDatabase(db);
  });

  it("reads rules for all three parts and dashboard panels, and every expression parses as PromQL", () => {
    expect(new Set(uses.map((u) => u.part))).toEqual(new Set(["node", "cluster", "federation"]));
    expect(uses.filter((u) => u.where.startsWith("rule")).length).toBeGreaterThanOrEqual(15);
    expect(uses.filter((u) => u.where.startsWith("panel")).length).toBeGreaterThanOrEqual(30);
    for (const u of uses) expect(() => selectors(u.expr), u.where).not.toThrow();
  });

  it("finds the single-node metrics on a single node", async () => {
    expect(missing(uses.filter((u) => u.part === "node"), await exposed(single.url))).toEqual([]);
  });

  it("finds everything, cluster and federation metrics included, on a cluster node with peer mirroring", async () => {
    expect(missing(uses, await exposed(clustered.url))).toEqual([]);
  });

  // The README table drifted before (issue 13): every registrar_* metric of a cluster node with peer mirroring has
  // exactly one row, with its type and label names; no row names a metric that does not exist.
  it("documents every registrar_* metric once, with the type and labels it has", async () => {
    const rows = documentedMetrics();
    const types = await exposedTypes(clustered.url);
    const samples = await exposed(clustered.url);
    expect(rows.map((r) => r.name).sort()).toEqual([...types.keys()].sort());
    for (const r of rows) {
      expect(r.type, `${r.file}: ${r.name}`).toBe(types.get(r.name));
      const seen = [...(samples.get(r.type === "histogram" ? `${r.name}_count` : r.name) ?? [])].filter((l) => !TARGET_LABELS.has(l));
      // A labelled counter nothing incremented yet has no samples to read its labels from.
      if (seen.length > 0) expect((r.labels ?? []).sort(), `${r.file}: ${r.name}`).toEqual(seen.sort());
    }
  });

  it("would notice a metric that does not exist", async () => {
    const typo: Use = { where: "typo", part: "node", expr: 'rate(registrar_heartbeat_total[5m]) > 0 and registrar_servers{staus="x"}' };
    expect(missing([typo], await exposed(single.url))).toEqual(["typo: registrar_heartbeat_total"]);
    const badLabel: Use = { where: "label", part: "node", expr: 'registrar_http_request_duration_seconds_count{staus="500"}' };
    expect(missing([badLabel], await exposed(single.url))).toEqual(["label: registrar_http_request_duration_seconds_count{staus}"]);
    expect(() => selectors("sum(rate(registrar_servers[5m])")).toThrow(/syntax error/);
  });
});
