// Text-field building blocks for the request schemas: lengths in code points, control characters, tokens.
import { z } from "zod";

// C0, DEL and C1 (contract §2 `name`).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// The same, but line breaks and tabs are fine in free text such as descriptions and comments.
const CONTROL_EXCEPT_NEWLINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
// A lone surrogate (legal in a JSON `\ud800` escape) is not Unicode text and cannot be stored as UTF-8.
const LONE_SURROGATE = /\p{Cs}/u;
const TOKEN = /^[a-z0-9._/-]{1,32}$/;

/** Length in Unicode code points, so an emoji counts once (as it does in a utf8mb4 column). */
export function codePointLength(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

function lengthRule(min: number, max: number) {
  return (value: string) => {
    const length = codePointLength(value);
    return length >= min && length <= max;
  };
}

function lengthMessage(min: number, max: number): string {
  return min > 0 ? `must be ${min}–${max} characters` : `must be at most ${max} characters`;
}

/** Well-formed text of `min`–`max` code points with no control characters at all. */
export function singleLineText(max: number, min = 0) {
  return z
    .string()
    .refine((v) => !LONE_SURROGATE.test(v), { error: "must be valid Unicode text" })
    .refine((v) => !CONTROL.test(v), { error: "must not contain control characters" })
    .refine(lengthRule(min, max), { error: lengthMessage(min, max) });
}

/** Well-formed text of at most `max` code points; line breaks and tabs allowed. */
export function multiLineText(max: number) {
  return z
    .string()
    .refine((v) => !LONE_SURROGATE.test(v), { error: "must be valid Unicode text" })
    .refine((v) => !CONTROL_EXCEPT_NEWLINES.test(v), {
      error: "must not contain control characters other than line breaks and tabs",
    })
    .refine(lengthRule(0, max), { error: lengthMessage(0, max) });
}

/** A name trimmed of surrounding whitespace, then 1–`max` code points without control characters. */
export function trimmedName(max: number) {
  return z
    .string()
    .trim()
    .refine((v) => !LONE_SURROGATE.test(v), { error: "must be valid Unicode text" })
    .refine((v) => !CONTROL.test(v), { error: "must not contain control characters" })
    .refine(lengthRule(1, max), { error: `${lengthMessage(1, max)} after trimming` });
}

/** Up to `max` distinct tokens of 1–32 characters from `a-z0-9._/-` (protocols, capabilities). */
export function tokenList(max: number) {
  return z
    .array(z.string().regex(TOKEN, { error: "must be 1–32 characters of a-z 0-9 . _ / -" }))
    .max(max, { error: `must have at most ${max} entries` })
    .superRefine((items, ctx) => {
      const seen = new Set<string>();
      items.forEach((item, index) => {
        if (seen.has(item)) ctx.addIssue({ code: "custom", path: [index], message: "duplicate entry", input: item });
        seen.add(item);
      });
    });
}
