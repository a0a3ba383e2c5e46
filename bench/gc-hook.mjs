// Preloaded into bench registrar children only (node --expose-gc --import bench/gc-hook.mjs ...): lets the harness
// force a full GC with SIGUSR2 before it reads heap used from /metrics. Plain JS so it needs no loader.
process.on("SIGUSR2", () => {
  if (typeof globalThis.gc === "function") globalThis.gc();
});
