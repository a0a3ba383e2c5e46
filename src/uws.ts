// Loads uWebSockets.js and refuses to run on its slow JavaScript fallback (the package falls back silently).
import uWS from "uWebSockets.js";

export function requireNativeUws(): typeof uWS {
  const native = /\[native code\]/.test(Function.prototype.toString.call(uWS.App));
  if (!native || process.env.UWS_USE_FALLBACK) {
    throw new Error(
      "uWebSockets.js native module did not load (JavaScript fallback in use); refusing to start slow. " +
        `Node ${process.version} ABI ${process.versions.modules} on ${process.platform}-${process.arch} needs a matching binary.`,
    );
  }
  return uWS;
}
