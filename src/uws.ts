// Loads uWebSockets.js and refuses to run on its slow JavaScript fallback (the package falls back silently).
import uWS from "uWebSockets.js";

export function requireNativeUws(): typeof uWS {
  const native = /\[native code\]/.test(Function.prototype.toString.call(uWS.App));
  // Only the values the package itself obeys: UWS_USE_FALLBACK=0 or =false loads the native module as usual.
  if (["true", "True", "TRUE", "1"].includes(process.env.UWS_USE_FALLBACK ?? "")) {
    throw new Error("UWS_USE_FALLBACK is set: uWebSockets.js would run on its slow JavaScript fallback; refusing to start (unset it)");
  }
  if (!native) {
    throw new Error(
      "uWebSockets.js native module did not load (JavaScript fallback in use); refusing to start slow. " +
        `Node ${process.version} ABI ${process.versions.modules} on ${process.platform}-${process.arch} needs a matching binary.`,
    );
  }
  return uWS;
}
