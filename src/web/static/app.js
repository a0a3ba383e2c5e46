// Live status for the directory pages (docs/web.md): follows /v1/feed (contract §5) and updates the servers shown.
// Hand-written, no framework, no build step; the pages work the same without it.
(function () {
  "use strict";

  var MAX_DOMAINS = 256; // contract §5: a subscription names at most 256 domains
  var BACKOFF_MIN_MS = 1000;
  var BACKOFF_MAX_MS = 30000;
  var RELATIVE_REFRESH_MS = 30000;
  var INVALID_MESSAGE = 4000; // our subscription was refused: retrying would be refused again

  var byDomain = new Map();
  document.querySelectorAll("[data-domain]").forEach(function (el) {
    var domain = el.getAttribute("data-domain");
    if (!byDomain.has(domain)) byDomain.set(domain, []);
    byDomain.get(domain).push(el);
  });

  function ago(ms) {
    var s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    if (s < 60) return "just now";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    var days = Math.floor(s / 86400);
    return days === 1 ? "1 day ago" : days.toLocaleString("en") + " days ago";
  }

  function refreshTimes() {
    document.querySelectorAll("[data-last-seen][datetime]").forEach(function (el) {
      var ms = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(ms)) el.textContent = ago(ms);
    });
  }
  setInterval(refreshTimes, RELATIVE_REFRESH_MS);

  if (byDomain.size === 0 || !("WebSocket" in window)) return;

  var live = document.getElementById("live");
  function say(text, state) {
    if (!live) return;
    live.textContent = text;
    live.setAttribute("data-state", state);
    live.hidden = false;
  }

  function applyStatus(domain, data) {
    var els = byDomain.get(domain);
    if (!els || !data || (data.status !== "online" && data.status !== "offline")) return;
    els.forEach(function (root) {
      var badge = root.querySelector(".status");
      if (badge) {
        badge.setAttribute("data-status", data.status);
        var text = badge.querySelector(".status-text");
        if (text) text.textContent = data.status === "online" ? "Online" : "Offline";
        badge.classList.remove("changed");
        void badge.offsetWidth; // restart the highlight animation
        badge.classList.add("changed");
      }
      var seen = root.querySelector("[data-last-seen]");
      var ms = typeof data.last_seen === "string" ? Date.parse(data.last_seen) : NaN;
      if (seen && !isNaN(ms)) {
        seen.setAttribute("datetime", data.last_seen);
        seen.textContent = ago(ms);
      }
    });
  }

  // The page says which event it reflects; replaying from there means nothing between render and subscribe is lost,
  // and after a reconnect the feed resumes where this page stopped (contract §5.2).
  var seq = Number(document.body.getAttribute("data-seq"));
  var afterSeq = Number.isSafeInteger(seq) && seq >= 0 ? seq : null;
  // The feed's path as the page wrote it: under PATH_PREFIX when the page was asked for under it.
  var feedPath = document.body.getAttribute("data-feed") || "/v1/feed";
  var attempt = 0;
  var stopped = false;

  function connect() {
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + feedPath);
    ws.onmessage = function (m) {
      var msg;
      try {
        msg = JSON.parse(m.data);
      } catch {
        return;
      }
      if (msg.op === "hello") {
        if (afterSeq === null && Number.isSafeInteger(msg.last_seq)) afterSeq = msg.last_seq;
        var sub = { op: "subscribe", types: ["server.status"], domains: Array.from(byDomain.keys()).slice(0, MAX_DOMAINS) };
        if (afterSeq !== null) sub.after_seq = afterSeq;
        ws.send(JSON.stringify(sub));
        attempt = 0;
        say("Live", "live");
      } else if (msg.op === "event") {
        if (Number.isSafeInteger(msg.seq) && (afterSeq === null || msg.seq > afterSeq)) afterSeq = msg.seq;
        if (msg.type === "server.status") applyStatus(msg.domain, msg.data);
      } else if (msg.op === "reset") {
        // The events since this page was rendered are gone from the feed: newer ones still arrive, older ones cannot.
        afterSeq = msg.last_seq;
        say("Live; reload for statuses older than the feed keeps", "reset");
      }
    };
    ws.onclose = function (ev) {
      if (stopped) return;
      if (ev.code === INVALID_MESSAGE) {
        say("Live updates unavailable", "off");
        return;
      }
      say("Reconnecting…", "retry");
      // Exponential backoff with jitter, so a registrar restart is not met by every open page at once.
      var ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, attempt++));
      setTimeout(connect, ceiling / 2 + Math.random() * (ceiling / 2));
    };
  }

  window.addEventListener("pagehide", function () {
    stopped = true;
  });
  window.addEventListener("pageshow", function (ev) {
    if (ev.persisted && stopped) {
      stopped = false;
      connect(); // back from the back/forward cache: resume from the last event seen
    }
  });
  connect();
})();
