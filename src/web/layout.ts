// The document around every page: head (stylesheet, deferred live script, JSON alternate), header, footer.
import { html, type SafeHtml } from "./html.js";

/** Versioned URLs of the static files (src/web/assets.ts), so they can be cached for a year. */
export type AssetUrls = { css: string; js: string };

export type LayoutInput = {
  title: string;
  assets: AssetUrls;
  registrarId: string;
  /** The JSON resource with the same content (`<link rel="alternate">`), if any. */
  alternate: string | null;
  /** Newest event seq the page reflects: the live script replays the feed from here, so nothing is missed. */
  seq: number;
  main: SafeHtml;
};

export function layout(p: LayoutInput): SafeHtml {
  const alternate = p.alternate ? html`<link rel="alternate" type="application/json" href="${p.alternate}">` : null;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${p.title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${p.assets.css}">
${alternate}
<script src="${p.assets.js}" defer></script>
</head>
<body data-seq="${String(p.seq)}" data-feed="/v1/feed">
<a class="skip" href="#main">Skip to content</a>
<header class="site"><a class="brand" href="/">Zent server directory</a><p id="live" class="live" role="status" hidden></p></header>
<main id="main" tabindex="-1">
${p.main}
</main>
<footer class="site">
<p>Listed by the registrar <strong>${p.registrarId}</strong>. Apps can read the same data from the <a href="/v1/servers">JSON API</a> and follow changes on the <code>/v1/feed</code> WebSocket.</p>
<p>This site sets no cookies. Your IP address is used only to limit request rates. Server icons load directly from each server's own host, which sees your IP address.</p>
</footer>
</body>
</html>
`;
}

/** A short page for "not found" and "too many requests". */
export function messagePage(base: Omit<LayoutInput, "main" | "alternate" | "title">, heading: string, text: string): SafeHtml {
  return layout({ ...base, title: `${heading} · Zent server directory`, alternate: null, main: html`<h1>${heading}</h1><p>${text}</p><p><a href="/">Back to the directory</a></p>` });
}
