// `GET /server/:domain`: one server — the card's facts plus full description, 90-day uptime chart, latest ratings,
// verification state and keys, and endpoints (§9.1).
import { uptimeChart, summarizeUptime } from "./charts.js";
import { avatar, facts, ratingDistribution, ratingSummary, verifiedBadge, visitLink } from "./components.js";
import { formatDay, formatPercent, isoTime } from "./format.js";
import { html, type SafeHtml } from "./html.js";
import type { KeyView, RatingView, ServerView, UptimeDay } from "./view-model.js";

export type ServerPageInput = {
  server: ServerView;
  /** null: the ratings could not be read (store unavailable). */
  ratings: readonly RatingView[] | null;
  /** null: this registrar does not keep server keys (yet); [] : it keeps none for this server. */
  keys: readonly KeyView[] | null;
  uptime: readonly UptimeDay[];
  nowMs: number;
};

function stars(n: number): SafeHtml {
  return html`<span class="stars" aria-hidden="true">${"★".repeat(n)}${"☆".repeat(5 - n)}</span><span class="visually-hidden">${n} out of 5 stars</span>`;
}

function ratingItem(r: RatingView): SafeHtml {
  const rater = r.verified === true ? html` <span class="badge verified">verified rater</span>` : null;
  const when = r.createdAtMs === null ? null : html` · <time datetime="${isoTime(r.createdAtMs)}">${formatDay(r.createdAtMs)}</time>`;
  const comment = r.comment ? html`<p class="comment">${r.comment}</p>` : null;
  return html`<li class="rating"><p>${stars(r.stars)} <span class="rater">${r.user}</span>${rater}${when}</p>${comment}</li>`;
}

function ratingsSection(v: ServerView, ratings: readonly RatingView[] | null): SafeHtml {
  const list =
    ratings === null
      ? html`<p class="muted">The ratings cannot be read right now; try again shortly.</p>`
      : ratings.length
        ? html`<ol class="ratings">${ratings.map(ratingItem)}</ol>`
        : html`<p class="muted">Nobody has rated this server yet.</p>`;
  const verifiedCount = v.rating.verifiedCount === null ? null : html` <span class="muted">(${v.rating.verifiedCount} from verified raters)</span>`;
  return html`<section aria-labelledby="ratings-h"><h2 id="ratings-h">Ratings</h2>
<p class="rating-line">${ratingSummary(v)}${verifiedCount}</p>${ratingDistribution(v)}
<h3>Latest</h3>${list}
<p><a href="${`/v1/servers/${encodeURIComponent(v.domain)}/ratings`}">All ratings as JSON</a></p></section>`;
}

function uptimeSection(days: readonly UptimeDay[]): SafeHtml {
  const s = summarizeUptime(days);
  const text = s.ratio === null
    ? "No uptime has been recorded for this server in this period."
    : `${formatPercent(s.ratio)} online on the ${s.daysWithData} ${s.daysWithData === 1 ? "day" : "days"} with data.`;
  return html`<section aria-labelledby="uptime-h"><h2 id="uptime-h">Uptime, last ${days.length} days</h2>
<figure class="uptime">${uptimeChart(days)}<figcaption>${text} Taller bars mean more time online; faint bars are days without data.</figcaption></figure></section>`;
}

function keyRow(k: KeyView): SafeHtml {
  const until = k.validUntilMs === null ? "—" : html`<time datetime="${isoTime(k.validUntilMs)}">${formatDay(k.validUntilMs)}</time>`;
  return html`<tr><td><code>${k.kid}</code></td><td>${k.alg}</td><td><code class="key">${k.publicKey}</code></td><td>${until}</td></tr>`;
}

function trustSection(v: ServerView, keys: readonly KeyView[] | null): SafeHtml {
  const state = v.verified
    ? v.verifiedAtMs === null
      ? html`<p class="trust-state">${verifiedBadge(v)} The owner proved control of <strong>${v.domain}</strong>.</p>`
      : html`<p class="trust-state">${verifiedBadge(v)} The owner proved control of <strong>${v.domain}</strong> on <time datetime="${isoTime(v.verifiedAtMs)}">${formatDay(v.verifiedAtMs)}</time>.</p>`
    : html`<p class="trust-state"><span class="badge unverified">Not verified</span> The owner has not proved control of <strong>${v.domain}</strong> to this registrar.</p>`;
  const keyList =
    keys === null
      ? html`<p class="muted">This registrar does not keep server keys yet.</p>`
      : keys.length === 0
        ? html`<p class="muted">No signing keys are known for this server.</p>`
        : html`<div class="table-wrap"><table class="keys"><caption class="visually-hidden">Signing keys</caption><thead><tr><th scope="col">Key id</th><th scope="col">Algorithm</th><th scope="col">Public key</th><th scope="col">Valid until</th></tr></thead><tbody>${keys.map(keyRow)}</tbody></table></div>`;
  return html`<section aria-labelledby="trust-h"><h2 id="trust-h">Verification and keys</h2>${state}<h3>Signing keys</h3>${keyList}</section>`;
}

function endpoint(label: string, value: string | null): SafeHtml | null {
  return value === null ? null : html`<div><dt>${label}</dt><dd><code>${value}</code></dd></div>`;
}

function endpointsSection(v: ServerView): SafeHtml {
  const e = v.endpoints;
  const list = (items: readonly string[]) => (items.length ? items.join(", ") : null);
  return html`<section aria-labelledby="endpoints-h"><h2 id="endpoints-h">Endpoints</h2><dl class="endpoints">${[
    endpoint("API", e.api), endpoint("WebSocket", e.ws), endpoint("Voice", e.voice), endpoint("Voice provider", e.voiceProvider),
    endpoint("CDN", e.cdn), endpoint("Protocols", list(v.protocols)), endpoint("Capabilities", list(v.capabilities)),
    endpoint("Version", v.version), endpoint("Listed by registrar", v.origin),
  ]}</dl></section>`;
}

export function serverMain(p: ServerPageInput): SafeHtml {
  const v = p.server;
  const about = v.description ? html`<p class="description full">${v.description}</p>` : html`<p class="muted">No description.</p>`;
  return html`<p class="crumbs"><a href="/">← All servers</a></p>
<article class="server-page" data-domain="${v.domain}" aria-labelledby="server-h">
<header class="card-head">${avatar(v)}<div class="titles"><h1 id="server-h" class="name">${v.name}</h1>${verifiedBadge(v)}<p class="domain">${v.domain}</p></div></header>
<p class="actions">${visitLink(v)}</p>
${facts(v, p.nowMs)}
<section aria-labelledby="about-h"><h2 id="about-h">About</h2>${about}</section>
${uptimeSection(p.uptime)}
${ratingsSection(v, p.ratings)}
${trustSection(v, p.keys)}
${endpointsSection(v)}
</article>`;
}
