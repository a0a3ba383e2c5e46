// `GET /`: the directory of listed servers — search form, filters, sort links, server cards and pager (§9.1).
import { REGISTRATION_LABEL, serverCard } from "./components.js";
import { formatCount } from "./format.js";
import { html, type SafeHtml } from "./html.js";
import type { WebPage } from "./listing.js";
import { directoryHref, REGISTRATIONS, WEB_SORTS, type ListingFeatures, type WebQuery } from "./query.js";
import { toServerView } from "./view-model.js";

export type DirectoryPageInput = {
  query: WebQuery;
  problems: readonly string[];
  features: ListingFeatures;
  page: WebPage;
  online: number;
  listed: number;
  nowMs: number;
};

function option(value: string, label: string, current: string): SafeHtml {
  return value === current ? html`<option value="${value}" selected>${label}</option>` : html`<option value="${value}">${label}</option>`;
}

function field(id: string, label: string, control: SafeHtml): SafeHtml {
  return html`<div class="field"><label for="${id}">${label}</label>${control}</div>`;
}

function searchForm(q: WebQuery, f: ListingFeatures): SafeHtml {
  const status = html`<select id="status" name="status">${[
    option("any", "Any", q.status), option("online", "Online now", q.status), option("offline", "Offline", q.status),
  ]}</select>`;
  const verified = html`<select id="verified" name="verified">${[
    option("any", "Any", q.verified), option("true", "Verified only", q.verified), option("false", "Not verified", q.verified),
  ]}</select>`;
  const language = f.language
    ? field("language", "Language", html`<input id="language" name="language" value="${q.language}" maxlength="35" autocomplete="off" placeholder="e.g. en, pt-BR" aria-describedby="language-hint"><span id="language-hint" class="visually-hidden">A language tag such as en, de or pt-BR</span>`)
    : null;
  const registration = f.registration
    ? field("registration", "Registration", html`<select id="registration" name="registration">${[
        option("", "Any", q.registration), ...REGISTRATIONS.map((r) => option(r, REGISTRATION_LABEL[r], q.registration)),
      ]}</select>`)
    : null;
  return html`<form class="search" method="get" action="/" role="search" aria-label="Search servers">
<div class="field field-q"><label for="q">Search</label><input id="q" name="q" type="search" value="${q.q}" maxlength="100" placeholder="Name, domain or description"></div>
<fieldset class="filters"><legend>Filters</legend>${field("status", "Status", status)}${field("verified", "Verified", verified)}${language}${registration}</fieldset>
<input type="hidden" name="sort" value="${q.sort}">
<div class="form-actions"><button type="submit">Search</button><a class="reset" href="/">Clear all</a></div>
</form>`;
}

function sortLinks(q: WebQuery, f: ListingFeatures): SafeHtml {
  const links = f.sorts.map((s) =>
    s === q.sort
      ? html`<li><a href="${directoryHref(q, { sort: s })}" aria-current="true">${WEB_SORTS[s].label}</a></li>`
      : html`<li><a href="${directoryHref(q, { sort: s })}">${WEB_SORTS[s].label}</a></li>`,
  );
  return html`<nav class="sorts" aria-labelledby="sort-label"><span id="sort-label">Sort by</span><ul>${links}</ul></nav>`;
}

function pager(q: WebQuery, page: WebPage): SafeHtml | null {
  if (page.prev === null && page.next === null) return null;
  const prev = page.prev === null ? null : page.prevLabel === "Previous"
      ? html`<a rel="prev" href="${directoryHref(q, { cursor: page.prev })}">← Previous</a>`
      : html`<a rel="first" href="${directoryHref(q, { cursor: page.prev })}">← First page</a>`;
  const next = page.next === null ? null : html`<a rel="next" href="${directoryHref(q, { cursor: page.next })}">Next →</a>`;
  return html`<nav class="pager" aria-label="Pages">${prev}${next}</nav>`;
}

function countLine(page: WebPage): SafeHtml {
  if (page.total === 0) return html`<p class="count" id="results-count">No servers match. Try fewer filters or another search.</p>`;
  const last = page.first + page.records.length - 1;
  const noun = page.total === 1 ? "server" : "servers";
  const more = page.truncated ? html` <span class="muted">Paging stops here; refine the search to see the rest.</span>` : null;
  return html`<p class="count" id="results-count">Showing ${formatCount(page.first)}–${formatCount(last)} of ${formatCount(page.total)} ${noun}.${more}</p>`;
}

export function directoryMain(p: DirectoryPageInput): SafeHtml {
  const problems = p.problems.length
    ? html`<div class="notice" role="alert"><ul>${p.problems.map((t) => html`<li>${t}</li>`)}</ul></div>`
    : null;
  const cards = p.page.records.map((r, i) => serverCard(toServerView(r.toPublic()), p.nowMs, i));
  return html`<h1>Find a Zent server</h1>
<p class="summary">${formatCount(p.online)} online of ${formatCount(p.listed)} listed</p>
${problems}
${searchForm(p.query, p.features)}
${sortLinks(p.query, p.features)}
${countLine(p.page)}
<ol class="servers" aria-labelledby="results-count">${cards}</ol>
${pager(p.query, p.page)}`;
}
