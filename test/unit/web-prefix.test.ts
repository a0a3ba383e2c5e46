import { describe, expect, it } from "vitest";
import { html } from "../../src/web/html.js";
import { underPrefix } from "../../src/web/prefix.js";

describe("underPrefix (PATH_PREFIX for the web pages)", () => {
  const text = 'a "/b" <x> href="/c"';
  const page = html`<a href="/">home</a><a href="${"/server/x.example"}">x</a><script src="/assets/app.js"></script><form action="/"></form><body data-feed="/v1/feed"><a href="#main">skip</a><a href="//cdn.example/">cdn</a><img src="https://h.example/i.png"><p>${text}</p>`;

  it("moves the templates' root-relative URLs under the prefix and nothing else", () => {
    expect(underPrefix(page, "/registrar").text).toBe(
      '<a href="/registrar/">home</a><a href="/registrar/server/x.example">x</a><script src="/registrar/assets/app.js"></script><form action="/registrar/"></form>' +
        '<body data-feed="/registrar/v1/feed"><a href="#main">skip</a><a href="//cdn.example/">cdn</a><img src="https://h.example/i.png"><p>a &quot;/b&quot; &lt;x&gt; href=&quot;/c&quot;</p>',
    );
  });

  it("leaves a page alone without a prefix", () => {
    expect(underPrefix(page, "")).toBe(page);
  });
});
