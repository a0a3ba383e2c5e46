// Query-string parameters for listing servers and paging ratings (contract §3 "Listing parameters").
import { z } from "zod";
import { singleLineText } from "./text.js";
import { LanguageTag, Registration } from "./directory-fields.js";

// Plain decimal integers only: `1.5`, `10abc`, `+1`, `01`, `1e2` and the empty string are all refused.
const DECIMAL_INTEGER = /^(0|[1-9][0-9]*)$/;
const REGISTRAR_ID = /^[a-z0-9.-]{1,253}$/;

export function integerParam(min: number, max: number, fallback: number) {
  return z
    .string()
    .regex(DECIMAL_INTEGER, { error: "must be a plain decimal integer" })
    .transform(Number)
    .pipe(z.number().min(min, { error: `must be ${min}–${max}` }).max(max, { error: `must be ${min}–${max}` }))
    .default(fallback);
}

export const SORT_KEYS = ["users", "channels", "name", "created", "last_seen", "rating", "uptime"] as const;

const booleanParam = z
  .enum(["true", "false"])
  .transform((v) => v === "true");

/** Listing parameters; unknown parameters are ignored, defaults filled in. */
export const ListQuery = z
  .object({
    q: singleLineText(100)
      .transform((q) => (q === "" ? undefined : q))
      .optional(),
    sort: z.enum(SORT_KEYS).default("users"),
    order: z.enum(["asc", "desc"]).optional(),
    status: z.enum(["online", "offline", "any"]).default("any"),
    verified: booleanParam.optional(),
    // "local", "any" or a registrar id (contract §6 REGISTRAR_ID / PEERS).
    origin: z.string().regex(REGISTRAR_ID, { error: "must be local, any or a registrar id" }).default("any"),
    limit: integerParam(1, 100, 50),
    offset: integerParam(0, 10_000, 0),
    // §9.2.
    language: LanguageTag.optional(),
    registration: Registration.optional(),
    include_dead: booleanParam.default(false),
    cursor: z.string().min(1, { error: "must not be empty" }).max(2048, { error: "must be at most 2048 characters" }).optional(),
  })
  .transform(({ order, ...rest }) => ({
    ...rest,
    // Names read naturally A→Z; every other key is "most first".
    order: order ?? (rest.sort === "name" ? ("asc" as const) : ("desc" as const)),
  }));
export type ListQuery = z.output<typeof ListQuery>;

/** Paging parameters for `GET /v1/servers/:domain/ratings`. */
export const PageQuery = z.object({
  limit: integerParam(1, 100, 50),
  offset: integerParam(0, 10_000, 0),
});
export type PageQuery = z.output<typeof PageQuery>;
