// Reads a JSON request body while counting bytes: 413 the moment the limit is passed, never buffer-then-check.
import { InvalidJsonError, PayloadTooLargeError, UnsupportedMediaTypeError } from "../errors.js";
import type { RequestContext } from "./context.js";

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;.*)?$/i;

export class BodyAbortedError extends Error {}

/** Resolves to the parsed JSON, or undefined when the request has no body. Must be called synchronously. */
export function readJsonBody(ctx: RequestContext, maxBytes: number): Promise<unknown> {
  const declared = ctx.contentLength === undefined ? null : Number(ctx.contentLength);
  const hasBody = ctx.chunked || (declared !== null && declared > 0);
  if (!hasBody) return Promise.resolve(undefined);
  if (!ctx.contentType || !JSON_TYPE.test(ctx.contentType)) {
    return Promise.reject(new UnsupportedMediaTypeError("request bodies must be application/json"));
  }
  if (declared !== null && declared > maxBytes) {
    return Promise.reject(new PayloadTooLargeError(`body over ${maxBytes} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    ctx.res.onData((chunk, isLast) => {
      if (failed) return;
      size += chunk.byteLength;
      if (size > maxBytes) {
        failed = true;
        reject(new PayloadTooLargeError(`body over ${maxBytes} bytes`));
        return;
      }
      // uWS reuses the chunk's memory after this callback: copy it.
      chunks.push(Buffer.from(chunk.slice(0)));
      if (!isLast) return;
      const text = Buffer.concat(chunks, size).toString("utf8");
      if (text.trim() === "") return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new InvalidJsonError("request body is not valid JSON"));
      }
    });
  });
}
