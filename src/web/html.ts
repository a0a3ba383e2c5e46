// The `html` tagged template: every interpolation is escaped for where it lands (text, quoted attribute, URL
// attribute) unless it is already SafeHtml; positions where no escaping can be safe are refused (contract §9.1).

/** Markup this module produced (or a caller vouched for with `trustedHtml`): interpolated as is. */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

/** Marks a string as markup. Only for text this codebase wrote itself, never for anything from a record or request. */
export function trustedHtml(text: string): SafeHtml {
  return new SafeHtml(text);
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const NEEDS_ESCAPE = /[&<>"']/;
const ESCAPABLE = /[&<>"']/g;

/** Escapes the five characters that can end text or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return NEEDS_ESCAPE.test(text) ? text.replace(ESCAPABLE, (c) => ESCAPES[c]) : text;
}

// Absolute http(s) URLs, or a path / query / fragment on this page's own origin (not "//host", which is absolute).
const ALLOWED_URL = /^(?:https?:\/\/|\/(?!\/)|\?|#)/i;
// Browsers drop tabs and newlines inside URLs ("java\tscript:"), trim spaces, and read "\" as "/" ("/\evil.example"
// is protocol-relative): refuse all of them outright.
const UNSAFE_URL_CHAR = /[\u0000-\u0020\u007f-\u009f\\]/;
/** What a refused URL becomes: a link that goes nowhere rather than `javascript:` or `data:`. */
export const BLOCKED_URL = "about:invalid";

/** The URL if it is http(s) or same-origin relative, else BLOCKED_URL. Control characters and spaces count against it. */
export function safeUrl(url: string): string {
  return ALLOWED_URL.test(url) && !UNSAFE_URL_CHAR.test(url) ? url : BLOCKED_URL;
}

// Attributes whose value the browser loads or navigates to.
const URL_ATTRIBUTES = new Set(["href", "src", "action", "formaction", "poster", "cite", "srcset", "xlink:href", "data"]);

type Slot = { kind: "text" } | { kind: "attribute" } | { kind: "url"; atStart: boolean };

/**
 * Where each interpolation of a template lands, from its literal parts alone (interpolated values are escaped, so
 * they cannot change the structure). Computed once per call site: a TemplateStringsArray is the same object on
 * every call of the same template.
 */
const slotCache = new WeakMap<TemplateStringsArray, Slot[]>();

function slotsOf(strings: TemplateStringsArray): Slot[] {
  let slots = slotCache.get(strings);
  if (!slots) {
    slots = scan(strings);
    slotCache.set(strings, slots);
  }
  return slots;
}

type State = "text" | "tag" | "attrName" | "afterName" | "beforeValue" | "value" | "rawText";

function scan(strings: TemplateStringsArray): Slot[] {
  const slots: Slot[] = [];
  let state: State = "text";
  let quote = "";
  let attr = "";
  let tagName = "";
  let readingTagName = false;
  let valueChars = 0;
  for (let part = 0; part < strings.length; part++) {
    const s = strings[part];
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      switch (state) {
        case "text":
          if (c === "<" && /[a-z/!]/i.test(s[i + 1] ?? "")) {
            state = "tag";
            tagName = "";
            readingTagName = true;
          }
          break;
        case "rawText":
          if (c === "<" && s.slice(i + 2, i + 2 + tagName.length).toLowerCase() === tagName && s[i + 1] === "/") state = "text";
          break;
        case "tag":
          if (readingTagName && /[a-z0-9!/-]/i.test(c)) tagName += c;
          else readingTagName = false;
          if (c === ">") state = /^(script|style)$/i.test(tagName) ? "rawText" : "text";
          else if (!readingTagName && /[^\s/]/.test(c)) {
            state = "attrName";
            attr = c;
          }
          break;
        case "attrName":
          if (c === "=") state = "beforeValue";
          else if (/\s/.test(c)) state = "afterName";
          else if (c === ">") state = "text";
          else attr += c;
          break;
        case "afterName":
          if (c === "=") state = "beforeValue";
          else if (c === ">") state = "text";
          else if (/\S/.test(c)) {
            state = "attrName";
            attr = c;
          }
          break;
        case "beforeValue":
          if (c === '"' || c === "'") {
            state = "value";
            quote = c;
            valueChars = 0;
          } else if (/\S/.test(c)) throw new Error(`html: attribute ${attr} must be quoted`);
          break;
        case "value":
          if (c === quote) state = "tag";
          else valueChars++;
          break;
      }
    }
    if (part === strings.length - 1) break;
    slots.push(slotFor(state, attr.toLowerCase(), tagName.toLowerCase(), valueChars));
  }
  return slots;
}

function slotFor(state: State, attr: string, tagName: string, valueChars: number): Slot {
  switch (state) {
    case "text":
      return { kind: "text" };
    case "value":
      if (attr.startsWith("on") || attr === "style") throw new Error(`html: no interpolation in ${attr}= (event handlers and inline style are never built from data)`);
      return URL_ATTRIBUTES.has(attr) ? { kind: "url", atStart: valueChars === 0 } : { kind: "attribute" };
    case "rawText":
      throw new Error(`html: no interpolation inside <${tagName}>`);
    default:
      throw new Error("html: interpolation allowed only in text and in quoted attribute values");
  }
}

function renderValue(value: HtmlValue, slot: Slot): string {
  if (value === null || value === undefined || value === false || value === true) return "";
  if (slot.kind === "url") {
    if (typeof value !== "string") throw new Error("html: a URL attribute takes a plain string");
    return escapeHtml(slot.atStart ? safeUrl(value) : value);
  }
  if (value instanceof SafeHtml) {
    if (slot.kind !== "text") throw new Error("html: markup cannot go into an attribute");
    return value.text;
  }
  if (typeof value === "string") return escapeHtml(value);
  if (typeof value === "number") return String(value);
  let out = "";
  for (const item of value as readonly HtmlValue[]) out += renderValue(item, slot);
  return out;
}

/** Builds markup; see the file comment for what each interpolation position does. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  const slots = slotsOf(strings);
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += renderValue(values[i], slots[i]) + strings[i + 1];
  return new SafeHtml(out);
}
