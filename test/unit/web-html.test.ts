// The `html` tagged template (src/web/html.ts): escaping by position, URL checks, refused positions.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BLOCKED_URL, escapeHtml, html, safeUrl, trustedHtml } from "../../src/web/html.js";

const HOSTILE = `<img src=x onerror=alert(1)></script>"'&amp;\u202e\u200b`;

describe("html tagged template", () => {
  it("escapes every interpolated string in text: markup from data shows as text", () => {
    expect(html`<p>${HOSTILE}</p>`.text).toBe(
      "<p>&lt;img src=x onerror=alert(1)&gt;&lt;/script&gt;&quot;&#39;&amp;amp;\u202e\u200b</p>",
    );
  });

  it("escapes quotes in attribute values, so data cannot end the attribute or add another", () => {
    expect(html`<a title="${`" onmouseover="alert(1)`}">x</a>`.text).toBe('<a title="&quot; onmouseover=&quot;alert(1)">x</a>');
    expect(html`<a title='${"' onfocus='alert(1)"}'>x</a>`.text).toBe("<a title='&#39; onfocus=&#39;alert(1)'>x</a>");
    expect(html`<li class="card x" data-domain="${"a.example"}" id="${"<b>"}">`.text).toBe('<li class="card x" data-domain="a.example" id="&lt;b&gt;">');
  });

  it("passes SafeHtml through in text, and nests templates without escaping twice", () => {
    const inner = html`<b>${"<i>"}</b>`;
    expect(html`<p>${inner}</p>`.text).toBe("<p><b>&lt;i&gt;</b></p>");
    expect(html`<p>${trustedHtml("<br>")}</p>`.text).toBe("<p><br></p>");
  });

  it("joins arrays, drops null, undefined and booleans, and prints numbers", () => {
    expect(html`<ul>${["<a>", html`<li>b</li>`, null, undefined, false, 7]}</ul>`.text).toBe("<ul>&lt;a&gt;<li>b</li>7</ul>");
  });

  it("lets only http(s) and same-origin URLs into href and src", () => {
    const href = (u: string) => html`<a href="${u}">x</a>`.text;
    expect(href("https://chat.example.com/?a=1&b=2")).toBe('<a href="https://chat.example.com/?a=1&amp;b=2">x</a>');
    expect(href("http://chat.example.com")).toBe('<a href="http://chat.example.com">x</a>');
    expect(href("/server/a.example")).toBe('<a href="/server/a.example">x</a>');
    expect(href("?sort=name")).toBe('<a href="?sort=name">x</a>');
    for (const bad of [
      "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)", "data:text/html,<script>",
      "vbscript:x", "//evil.example/", "/\\evil.example", "https://ok.example/\nx", "", "ftp://x.example",
    ]) {
      expect(href(bad), bad).toBe(`<a href="${BLOCKED_URL}">x</a>`);
    }
    expect(html`<img src="${"javascript:alert(1)"}" alt="">`.text).toBe(`<img src="${BLOCKED_URL}" alt="">`);
  });

  it("checks a URL only at the start of the attribute; later parts are escaped", () => {
    expect(html`<a href="/server/${"a\" onclick=\"x"}">x</a>`.text).toBe('<a href="/server/a&quot; onclick=&quot;x">x</a>');
    // Two interpolations with nothing literal before them: both are checked.
    expect(html`<a href="${""}${"javascript:alert(1)"}">x</a>`.text).toBe(`<a href="${BLOCKED_URL}${BLOCKED_URL}">x</a>`);
  });

  it("refuses interpolation where no escaping is safe: event handlers, style, unquoted values, tag bodies, script", () => {
    expect(() => html`<a onclick="${"x"}">`).toThrow(/onclick/);
    expect(() => html`<a style="${"x"}">`).toThrow(/style/);
    expect(() => html`<a title=${"x"}>`).toThrow(/quoted/);
    expect(() => html`<a ${"title"}="x">`).toThrow(/only in text/);
    expect(() => html`<script>var x = ${"1"};</script>`).toThrow(/script/);
    expect(() => html`<style>${"a{}"}</style>`).toThrow(/style/);
    expect(() => html`<a title="${html`<b>`}">`).toThrow(/attribute/);
  });

  it("allows text after a script element has closed", () => {
    expect(html`<script src="/a.js"></script><p>${"<x>"}</p>`.text).toBe('<script src="/a.js"></script><p>&lt;x&gt;</p>');
  });

  it("never lets an interpolated string produce a tag or an unescaped quote (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (s) => {
        const attribute = html`<p title="${s}">`.text.slice('<p title="'.length, -'">'.length);
        const text = html`<p>${s}</p>`.text.slice("<p>".length, -"</p>".length);
        for (const escaped of [attribute, text]) expect(escaped.replace(/&(amp|lt|gt|quot|#39);/g, "")).not.toMatch(/[<>"'&]/);
      }),
    );
  });
});

describe("escapeHtml and safeUrl", () => {
  it("round-trips: the browser-decoded escape equals the input", () => {
    const decode = (t: string) => t.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");
    expect(decode(escapeHtml(HOSTILE))).toBe(HOSTILE);
  });

  it("keeps a string with nothing to escape as it is", () => {
    const s = "plain text";
    expect(escapeHtml(s)).toBe(s);
  });

  it("accepts https URLs with paths and queries, refuses spaces and control characters anywhere", () => {
    expect(safeUrl("https://a.example/x?y=1#z")).toBe("https://a.example/x?y=1#z");
    expect(safeUrl("https://a.example/x y")).toBe(BLOCKED_URL);
    expect(safeUrl("https://a.example/\u0085")).toBe(BLOCKED_URL);
  });
});
