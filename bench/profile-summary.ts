// CPU-profile summaries shared by bench/profile.ts and bench/ws.ts: the hottest functions of a .cpuprofile, and
// which of a process's profiles (main thread vs tsx's loader thread) was the busiest.
import { readFileSync } from "node:fs";
import path from "node:path";

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] };
type Profile = { nodes: Node[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };

export function summarize(file: string, limit: number): string {
  const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const totalUs = p.endTime - p.startTime;
  const usPerSample = totalUs / Math.max(1, p.samples.length);
  const byId = new Map(p.nodes.map((nd) => [nd.id, nd]));
  const key = (nd: Node) => {
    const u = nd.callFrame.url.replace(/^file:\/\/.*?\/work\/main\/(bench\/results\/dist\/)?/, "").replace(/^file:\/\//, "");
    return `${nd.callFrame.functionName || "(anonymous)"} ${u ? `${u}:${nd.callFrame.lineNumber + 1}` : ""}`.trim();
  };
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const walk = (nd: Node, stack: Set<string>): number => {
    let t = (nd.hitCount ?? 0) * usPerSample;
    const k = key(nd);
    self.set(k, (self.get(k) ?? 0) + t);
    const fresh = !stack.has(k);
    if (fresh) stack.add(k);
    for (const c of nd.children ?? []) t += walk(byId.get(c)!, stack);
    if (fresh) {
      stack.delete(k);
      incl.set(k, (incl.get(k) ?? 0) + t);
    }
    return t;
  };
  walk(p.nodes[0], new Set());
  const fmt = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([k, us]) => `${((100 * us) / totalUs).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`)
      .join("\n");
  return `profile ${path.basename(file)}: ${(totalUs / 1e6).toFixed(1)} s\n\n-- self time --\n${fmt(self)}\n\n-- inclusive time --\n${fmt(incl)}\n`;
}

/** The profile with the most non-idle samples (the main thread's, not tsx's loader thread's). */
export function busiest(files: string[]): string {
  const busy = (f: string) => {
    const p = JSON.parse(readFileSync(f, "utf8")) as Profile;
    const idle = new Set(p.nodes.filter((nd) => nd.callFrame.functionName === "(idle)").map((nd) => nd.id));
    return p.samples.filter((s) => !idle.has(s)).length;
  };
  return files.map((f) => [f, busy(f)] as const).sort((a, b) => b[1] - a[1])[0][0];
}
