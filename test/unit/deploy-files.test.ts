// Issue 13: the deploy files are consistent with the code without a cluster or a Docker engine: Kubernetes manifests
// valid against the API schemas and wired to the contract §10 probes, the Dockerfile on a base the uWebSockets.js
// loader supports, the systemd unit and compose file pointing at files the build produces.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Service } from "kubernetes-models/v1/Service";
import { Secret } from "kubernetes-models/v1/Secret";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

const ROOT = path.resolve(import.meta.dirname, "../..");
const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");
const yaml = (file: string) => parseYaml(read(file));
/** dist/src/x.js is built from src/x.ts. */
const builtFrom = (dist: string) => dist.replace(/^dist\//, "").replace(/\.js$/, ".ts");

describe("deploy/kubernetes", () => {
  const deployment = new Deployment(yaml("deploy/kubernetes/deployment.yaml"));
  const service = new Service(yaml("deploy/kubernetes/service.yaml"));
  const pdb = new PodDisruptionBudget(yaml("deploy/kubernetes/pdb.yaml"));
  const secret = new Secret(yaml("deploy/kubernetes/secret.example.yaml"));
  const pod = deployment.spec!.template;
  const container = pod.spec!.containers[0];
  const env = Object.fromEntries(container.env!.map((e) => [e.name, e]));

  it("validates every manifest against the Kubernetes API schema", () => {
    for (const m of [deployment, service, pdb, secret]) expect(() => m.validate(), m.kind).not.toThrow();
  });

  it("lists the manifests in kustomization.yaml, but not the example secret", () => {
    expect(yaml("deploy/kubernetes/kustomization.yaml").resources).toEqual(["deployment.yaml", "service.yaml", "pdb.yaml"]);
  });

  it("probes /livez for liveness and start-up and /readyz for readiness, on the container's port", () => {
    expect(container.livenessProbe?.httpGet?.path).toBe("/livez");
    expect(container.startupProbe?.httpGet?.path).toBe("/livez");
    expect(container.readinessProbe?.httpGet?.path).toBe("/readyz");
    const port = container.ports!.find((p) => p.name === container.readinessProbe!.httpGet!.port);
    expect(port?.containerPort).toBe(5000); // the image's PORT default
  });

  it("selects its own pods from the Service and the PodDisruptionBudget", () => {
    const labels = pod.metadata!.labels!;
    expect(deployment.spec!.selector.matchLabels).toEqual(labels);
    expect(service.spec!.selector).toEqual(labels);
    expect(pdb.spec!.selector!.matchLabels).toEqual(labels);
    expect(service.spec!.ports![0].targetPort).toBe("http");
  });

  it("gives the node time to drain and stop before SIGKILL", () => {
    const drainS = Number(env.SHUTDOWN_DRAIN_MS.value) / 1000;
    // 10 s: the registrar's own shutdown cap (README, "Graceful shutdown").
    expect(pod.spec!.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(drainS + 10);
  });

  it("runs as the image's non-root user on a read-only root file system, secrets from the Secret", () => {
    expect(pod.spec!.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    for (const key of ["DATABASE_URL", "NATS_URL"]) {
      expect(env[key].valueFrom?.secretKeyRef).toEqual({ name: secret.metadata!.name, key });
      expect(secret.stringData).toHaveProperty(key);
    }
  });
});

describe("deploy/Dockerfile", () => {
  const dockerfile = read("deploy/Dockerfile");

  it("builds and runs on Node 24 LTS on Debian 13 (glibc 2.41), the same base in both stages", () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-trixie-slim$/m);
    expect(dockerfile.match(/^FROM .*$/gm)).toEqual(["FROM ${NODE_IMAGE} AS build", "FROM ${NODE_IMAGE} AS runtime"]);
  });

  it("keeps only the uWebSockets.js binary the loader picks, checks it in the runtime stage, runs as `node`", () => {
    expect(dockerfile).toContain("node dist/src/uws-check.js --prune");
    const runtime = dockerfile.slice(dockerfile.indexOf("AS runtime"));
    expect(runtime).toMatch(/^RUN node dist\/src\/uws-check\.js$/m);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime.indexOf("USER node")).toBeGreaterThan(runtime.lastIndexOf("COPY "));
    expect(existsSync(path.join(ROOT, builtFrom("dist/src/uws-check.js")))).toBe(true);
  });

  it("health-checks /readyz and starts the built main", () => {
    expect(dockerfile).toMatch(/HEALTHCHECK[^]*'\/readyz'/);
    const cmd = JSON.parse(dockerfile.match(/^CMD (.*)$/m)![1]);
    expect(cmd).toEqual(["node", "dist/src/main.js"]);
    expect(existsSync(path.join(ROOT, builtFrom(cmd[1])))).toBe(true);
  });

  it("has every folder the build compiles in its build context (.dockerignore)", () => {
    const allowed = read(".dockerignore").split("\n").filter((l) => l.startsWith("!")).map((l) => l.slice(1));
    const compiled: string[] = JSON.parse(read("tsconfig.build.json")).include;
    expect(allowed).toEqual(expect.arrayContaining([...compiled, "package.json", "package-lock.json", "migrations"]));
  });
});

describe("deploy/systemd and docker-compose.yml", () => {
  it("starts the built main after the uWebSockets.js check, as an unprivileged user", () => {
    const unit = read("deploy/systemd/zent-registrar.service");
    const execs = [...unit.matchAll(/^Exec(?:StartPre|Start)=\/usr\/bin\/node (?:--\S+ )*(\S+)$/gm)].map((m) => m[1]);
    expect(execs).toEqual(["dist/src/uws-check.js", "dist/src/main.js"]);
    for (const f of execs) expect(existsSync(path.join(ROOT, builtFrom(f)))).toBe(true);
    expect(unit).toMatch(/^User=zent-registrar$/m);
    expect(unit).toMatch(/^NoNewPrivileges=yes$/m);
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
  });

  it("builds the registrar from deploy/Dockerfile with the repository root as context", () => {
    const compose = yaml("docker-compose.yml");
    expect(compose["x-registrar"].build).toEqual({ context: ".", dockerfile: "deploy/Dockerfile" });
    expect(existsSync(path.join(ROOT, compose["x-registrar"].build.dockerfile))).toBe(true);
  });

  it("runs NATS from the shipped config that requires a login, and the registrar logs in (H5, L8)", () => {
    const compose = yaml("docker-compose.yml");
    const nats = compose.services.nats;
    expect(nats.command).toEqual(["-c", "/etc/nats/registrar.conf"]);
    expect(nats.volumes).toContain("./deploy/nats/registrar.conf:/etc/nats/registrar.conf:ro");
    const conf = read("deploy/nats/registrar.conf");
    expect(conf).not.toMatch(/no_auth_user/);
    expect(conf).toMatch(/password: \$NATS_REGISTRAR_PASSWORD/);
    expect(compose["x-registrar"].environment.NATS_URL).toMatch(/^nats:\/\/registrar:\$\{NATS_REGISTRAR_PASSWORD:\?[^}]*\}@nats:4222$/);
    expect(nats.environment.NATS_REGISTRAR_PASSWORD).toMatch(/^\$\{NATS_REGISTRAR_PASSWORD:\?/);
    for (const f of ["deploy/nats-federation/hub-reg-a.conf", "deploy/nats-federation/leaf-reg-b.conf"]) expect(read(f)).not.toMatch(/^\s*no_auth_user/m);
  });
});
