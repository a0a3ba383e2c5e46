// Reads a JSON request body while counting bytes: 413 the moment the limit is passed, never buffer-then-check.
import { InvalidJsonError, PayloadTooLargeError, UnsupportedMediaTypeError } from "../core/errors.js";
import type { RequestContext } from "./context.js";

/** The client went away before its body was complete: the request ends here, with nobody left to answer. */
export class BodyAbortedError extends Error {}

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;.*)?$/i;

// fatal: invalid UTF-8 throws; ignoreBOM: a BOM stays in the text, so JSON.parse refuses it as before.
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Resolves to the parsed JSON, or undefined when the request has no body. Must be called synchronously.
 * With `parse` false (routes that take no body) the same type and size rules apply and the bytes are discarded.
 */
export function readJsonBody(ctx: RequestContext, maxBytes: number, parse = true, anyContentType = false): Promise<unknown> {
  const declared = ctx.contentLength === undefined ? null : Number(ctx.contentLength);
  const hasBody = ctx.chunked || (declared !== null && declared > 0);
  if (!hasBody) return Promise.resolve(undefined);
  if (!anyContentType && (!ctx.contentType || !JSON_TYPE.test(ctx.contentType))) {
    return Promise.reject(new UnsupportedMediaTypeError("request bodies must be application/json"));
  }
  if (declared !== null && declared > maxBytes) {
    return Promise.reject(new PayloadTooLargeError(`body over ${maxBytes} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    // Without this the promise never settles and the request stays "in flight" for good (review M8: every later
    // graceful shutdown then waited its full budget).
    ctx.onAbort.push(() => {
      if (settled) return;
      settled = true;
      reject(new BodyAbortedError("client closed the connection before the body was complete"));
    });
    ctx.res.onData((chunk, isLast) => {
      if (settled) return;
      size += chunk.byteLength;
      if (size > maxBytes) {
        settled = true;
        reject(new PayloadTooLargeError(`body over ${maxBytes} bytes`));
        return;
      }
      // uWS reuses the chunk's memory after this callback: copy it.
      if (parse) chunks.push(Buffer.from(chunk.slice(0)));
      if (!isLast) return;
      settled = true; // a late abort changes nothing now
      if (!parse) return resolve(undefined);
      // Zero bytes (an empty chunked body) is no body; whitespace only, or bytes that are not UTF-8, are not JSON
      // (Buffer#toString would quietly turn bad bytes into U+FFFD and store them).
      if (size === 0) return resolve(undefined);
      try {
        resolve(JSON.parse(UTF8.decode(Buffer.concat(chunks, size))));
      } catch {
        reject(new InvalidJsonError("request body is not valid JSON"));
      }
    });
  });
}
