// Request schemas (heartbeat, rating) and the zod-issue → error `details` mapping; re-exports the others.
import { z } from "zod";
import { multiLineText, singleLineText } from "./text.js";

export * from "./server-schemas.js";
export * from "./query-schemas.js";

export const MAX_COUNT = 2 ** 31 - 1;
const Count = z.int().min(0, { error: `must be 0–${MAX_COUNT}` }).max(MAX_COUNT, { error: `must be 0–${MAX_COUNT}` });

/** Optional body of `POST /v1/servers/:domain/heartbeat`. */
export const Heartbeat = z.strictObject({
  user_count: Count.optional(),
  channel_count: Count.optional(),
  version: singleLineText(32).optional(),
});
export type Heartbeat = z.output<typeof Heartbeat>;

/** Body of `POST /v1/servers/:domain/rate`; a null comment means no comment. */
export const RateServer = z.strictObject({
  user_id: singleLineText(128, 1),
  rating: z.int().min(1, { error: "must be an integer 1–5" }).max(5, { error: "must be an integer 1–5" }),
  comment: multiLineText(500).nullable().optional(),
});
export type RateServer = z.output<typeof RateServer>;

/** One entry of the `details` array of a `validation_failed` error. */
export interface IssueDetail {
  path: string;
  message: string;
}

/** Flattens zod issues to `{path, message}`; each unknown key becomes its own entry at its own path. */
export function zodIssuesToDetails(error: z.ZodError): IssueDetail[] {
  return error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ path: joinPath([...issue.path, key]), message: "unknown field" }))
      : [{ path: joinPath(issue.path), message: issue.message }],
  );
}

function joinPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((segment) => String(segment)).join(".");
}
