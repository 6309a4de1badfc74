/* Lodestone tracking snippet. <script defer src="https://HOST/s.js" data-site="pub_..."></script> */
(function (w, d) {
  var s = d.currentScript, site = s && s.getAttribute("data-site"), api = s && (s.getAttribute("data-api") || s.src.replace(/\/s\.js.*$/, ""));
  if (!site || w.__ls) return;
  var n = w.navigator, q = [], ls = w.localStorage, K = "ls_vid";
  if (n.doNotTrack == "1" || n.globalPrivacyControl) { w.__ls = { track: function () {} }; return; }
  function id() { return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (c) { return (c ^ (w.crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16); }); }
  var vid = "";
  try { if (s.getAttribute("data-storage") == "local") { vid = ls.getItem(K) || id(); ls.setItem(K, vid); } } catch (e) {}
  var sid = id();
  function utm(k) { return new URLSearchParams(w.location.search).get("utm_" + k) || ""; }
  function track(ev, p) {
    p = p || {};
    var e = { event: ev, event_id: id(), ts: Date.now(), url: w.location.href, referrer: d.referrer, visitor_id: vid, session_id: sid,
      utm_source: utm("source"), utm_medium: utm("medium"), utm_campaign: utm("campaign"), utm_term: utm("term"), utm_content: utm("content") };
    for (var k in p) e[k] = p[k];
    q.push(e);
    if (q.length >= 20) flush();
  }
  function flush() {
    if (!q.length) return;
    var b = JSON.stringify({ site: site, events: q }); q = [];
    if (!(n.sendBeacon && n.sendBeacon(api + "/e", b))) fetch(api + "/e", { method: "POST", body: b, keepalive: true });
  }
  function page() { track("pageview"); d.querySelectorAll("[data-ls-magnet]").forEach(function (el) { if (el.tagName != "FORM") track("magnet_view", { magnet_id: el.getAttribute("data-ls-magnet"), variant: el.getAttribute("data-ls-variant") || "" }); }); }
  d.addEventListener("submit", function (ev) {
    var f = ev.target, m = f.getAttribute && f.getAttribute("data-ls-magnet");
    if (m) { track("lead", { magnet_id: m, variant: f.getAttribute("data-ls-variant") || "" }); flush(); }
  }, true);
  var h = w.history, push = h.pushState;
  h.pushState = function () { push.apply(h, arguments); page(); };
  w.addEventListener("popstate", page);
  d.addEventListener("visibilitychange", function () { if (d.visibilityState == "hidden") flush(); });
  w.addEventListener("pagehide", flush);
  w.__ls = { track: track, flush: flush };
  page();
  setTimeout(flush, 1000);
})(window, document);
