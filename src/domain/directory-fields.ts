// The §9.2 record fields apps filter on: language tags (`languages`, `language=`) and the registration policy.
import { z } from "zod";

export const REGISTRATION_POLICIES = ["open", "approval", "invite", "closed"] as const;
export type RegistrationPolicy = (typeof REGISTRATION_POLICIES)[number];

// A practical subset of BCP 47 (RFC 5646): language (2–3 letters), optional script (4 letters), optional region
// (2 letters or 3 digits). `en`, `de`, `pt-BR`, `zh-Hant-TW`, `es-419`.
const LANGUAGE_TAG = /^([A-Za-z]{2,3})(?:-([A-Za-z]{4}))?(?:-([A-Za-z]{2}|[0-9]{3}))?$/;

/** The tag in its canonical case (`pt-br` → `pt-BR`, `ZH-hant` → `zh-Hant`), or null when it is not one. */
export function canonicalLanguageTag(value: string): string | null {
  const m = LANGUAGE_TAG.exec(value);
  if (!m) return null;
  const [, lang, script, region] = m;
  let tag = lang.toLowerCase();
  if (script) tag += `-${script[0].toUpperCase()}${script.slice(1).toLowerCase()}`;
  if (region) tag += `-${region.toUpperCase()}`;
  return tag;
}

const TAG_MESSAGE = "must be a language tag such as en, de or pt-BR";

/** One language tag, output canonical. */
export const LanguageTag = z.string().transform((value, ctx) => {
  const tag = canonicalLanguageTag(value);
  if (tag === null) {
    ctx.issues.push({ code: "custom", message: TAG_MESSAGE, input: value });
    return z.NEVER;
  }
  return tag;
});

/** `languages`: at most 8 distinct tags (distinct after case is made canonical). */
export const LanguageList = z
  .array(LanguageTag)
  .max(8, { error: "must have at most 8 entries" })
  .superRefine((tags, ctx) => {
    const seen = new Set<string>();
    tags.forEach((tag, index) => {
      if (seen.has(tag)) ctx.addIssue({ code: "custom", path: [index], message: "duplicate entry", input: tag });
      seen.add(tag);
    });
  });

export const Registration = z.enum(REGISTRATION_POLICIES, { error: `must be one of ${REGISTRATION_POLICIES.join(", ")}` });

/**
 * RFC 4647 basic filtering: `language=pt` matches `pt` and `pt-BR`; `language=pt-BR` matches only `pt-BR`.
 * Both sides are canonical tags.
 */
export function languageMatches(tags: readonly string[], wanted: string): boolean {
  for (const t of tags) if (t === wanted || (t.length > wanted.length && t.startsWith(wanted) && t[wanted.length] === "-")) return true;
  return false;
}
