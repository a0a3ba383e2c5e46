// Pieces both pages show for a server: icon, status with last seen, rating summary, badges, the facts list and the
// directory's server card. Absent fields render "—" or nothing, never a made-up value (issue 12).
import { ratingBars } from "./charts.js";
import { formatAgo, formatCount, formatMonth, formatPercent, formatStars, isoTime } from "./format.js";
import { html, type SafeHtml } from "./html.js";
import type { Registration, ServerView } from "./view-model.js";

export const REGISTRATION_LABEL: Record<Registration, string> = {
  open: "Open to everyone",
  approval: "Needs approval",
  invite: "Invite only",
  closed: "Closed",
};

const DASH = "—";

export function serverHref(domain: string): string {
  return `/server/${encodeURIComponent(domain)}`;
}

/** The host a visitor lands on, for the link text ("Visit chat.example.com"). */
function visitHost(v: ServerView): string {
  try {
    return new URL(v.visitUrl).host;
  } catch {
    return v.domain;
  }
}

export function avatar(v: ServerView): SafeHtml {
  const initial = [...v.name.trim()][0]?.toLocaleUpperCase("en") ?? "?";
  // The initial sits under the icon: an icon that fails to load (or is refused by the CSP) leaves the initial visible.
  const icon = v.iconUrl
    ? html`<img src="${v.iconUrl}" alt="" data-initial="${initial}" width="48" height="48" loading="lazy" decoding="async" referrerpolicy="no-referrer">`
    : null;
  return html`<span class="avatar" aria-hidden="true"><span class="initial">${initial}</span>${icon}</span>`;
}

export function statusBadge(v: ServerView): SafeHtml {
  return html`<span class="status" data-status="${v.status}"><span class="dot"></span><span class="status-text">${v.status === "online" ? "Online" : "Offline"}</span></span>`;
}

export function lastSeen(v: ServerView, nowMs: number): SafeHtml {
  if (v.lastSeenMs === null) return html`<span data-last-seen>${DASH}</span>`;
  return html`<time data-last-seen datetime="${isoTime(v.lastSeenMs)}">${formatAgo(v.lastSeenMs, nowMs)}</time>`;
}

export function verifiedBadge(v: ServerView): SafeHtml | null {
  return v.verified ? html`<span class="badge verified" title="The owner proved control of this domain">Verified</span>` : null;
}

export function ratingSummary(v: ServerView): SafeHtml {
  const r = v.rating;
  if (r.average === null) return html`<span class="muted">No ratings yet</span>`;
  const count = `${formatCount(r.count)} ${r.count === 1 ? "rating" : "ratings"}`;
  return html`<span class="stars" aria-hidden="true">★</span> <span class="rating-average">${formatStars(r.average)}</span><span class="visually-hidden"> out of 5</span> <span class="muted">(${count})</span>`;
}

/** The 1–5 bars; none when nobody rated yet ("No ratings yet" says it, and five empty bars weigh ~1 KB a card). */
export function ratingDistribution(v: ServerView): SafeHtml | null {
  return v.rating.distribution && v.rating.count > 0 ? ratingBars(v.rating.distribution) : null;
}

/** One definition-list entry; `value` null drops the entry (for optional fields that are unknown). */
function fact(label: string, value: SafeHtml | string | null, cls: string): SafeHtml | null {
  return value === null ? null : html`<div class="${`fact ${cls}`}"><dt>${label}</dt><dd>${value}</dd></div>`;
}

/** The facts a card and the server page share (contract §9.1 list). */
export function facts(v: ServerView, nowMs: number): SafeHtml {
  return html`<dl class="facts">${[
    fact("Status", html`${statusBadge(v)} <span class="seen">seen ${lastSeen(v, nowMs)}</span>`, "f-status"),
    fact("Users", v.userCount === null ? DASH : formatCount(v.userCount), "f-users"),
    fact("Uptime, 30 days", v.uptime30d === null ? DASH : formatPercent(v.uptime30d), "f-uptime"),
    fact("Listed since", v.createdAtMs === null ? DASH : html`<time datetime="${isoTime(v.createdAtMs)}">${formatMonth(v.createdAtMs)}</time>`, "f-age"),
    fact("Rating", html`${ratingSummary(v)}${ratingDistribution(v)}`, "f-rating"),
    fact("Languages", v.languages.length ? v.languages.join(", ") : null, "f-languages"),
    fact("Registration", v.registration ? REGISTRATION_LABEL[v.registration] : null, "f-registration"),
  ]}</dl>`;
}

export function visitLink(v: ServerView): SafeHtml {
  // ugc/nofollow: the link is the server's own claim, not an endorsement by the registrar.
  return html`<a class="visit" href="${v.visitUrl}" rel="noopener noreferrer nofollow ugc">Visit ${visitHost(v)}</a>`;
}

/** A server in the directory; `data-domain` and the status and last-seen hooks are what the live script updates. */
export function serverCard(v: ServerView, nowMs: number, index: number): SafeHtml {
  const id = `srv-${index}`;
  return html`<li class="card" data-domain="${v.domain}">
<article aria-labelledby="${id}">
<header class="card-head">${avatar(v)}<div class="titles"><h2 id="${id}" class="name"><a href="${serverHref(v.domain)}">${v.name}</a></h2>${verifiedBadge(v)}<p class="domain">${v.domain}</p></div></header>
${v.description ? html`<p class="description">${v.description}</p>` : null}
${facts(v, nowMs)}
<p class="actions">${visitLink(v)}</p>
</article>
</li>`;
}
