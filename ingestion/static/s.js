/* Lodestone tracking snippet, source (ES5). `python -m ingestion.snippet` inlines lsAssign
 * (experiments/assignment.js), minifies this with local names shortened and publishes it as
 * ingestion/static/vN.js, served at /s/vN.js (immutable) and /s.js (current). The collector
 * fills utm_* from the page URL, event ids and cookieless visitor ids. docs/tracking.md. */
(function (w, d) {
  var S = d.currentScript, n = w.navigator, L = w.location;
  if (!S || w.lodestone) return;
  var site = attr(S, "data-site"),
    api = attr(S, "data-api") || S.src.replace(/\/s(\/v\d+)?\.js([?#].*)?$/, ""),
    off = n.doNotTrack == "1" || w.doNotTrack == "1" || n.globalPrivacyControl,
    q = [], X = {}, G = {}, asg = {}, shown = {}, seen = {},
    ready, timer, tm, vid = "", unit = "", ref, last, ls, sid = id();
  try { ls = w.localStorage; } catch (e) {}

  /*@lsAssign*/

  function attr(el, a) { return el.getAttribute(a); }
  function id() {
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, function (c) {
      return (c ^ (w.crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16);
    });
  }
  function get(k) { try { return ls.getItem(k); } catch (e) {} }
  function set(k, v) { try { v ? ls.setItem(k, v) : ls.removeItem(k); } catch (e) {} }
  function each(s, f) { d.querySelectorAll(s).forEach(f); }

  // Variant of experiment k for this visitor; "" = control (outside it, or no config yet).
  function pick(k) {
    var x = X[k], i;
    if (ready && !(k in asg)) {
      i = !x ? -1 : x.p ? 0 : unit ? lsAssign(k, unit, x.w, x.c) : -1;
      asg[k] = i < 0 ? "" : x.v[i];
    }
    return asg[k] || "";
  }

  function track(ev, p) {
    if (off) return;
    var e = { event: ev, ts: Date.now(), url: L.href, referrer: ref, session_id: sid }, k;
    for (k in p) e[k] = p[k];
    q.push(e);
    if (q.length > 9) flush();
    else tm = tm || setTimeout(flush, 1000);
  }

  // Send the queue; waits for the visitor's identity unless the page is going away (h).
  function flush(h) {
    clearTimeout(tm);
    tm = 0;
    if (!q.length) return;
    if (!ready && h != 1) return tm = setTimeout(flush, 300);
    q.forEach(function (e) { if (vid) e.visitor_id = vid; });
    var b = JSON.stringify({ site: site, events: q });
    q = [];
    (n.sendBeacon && n.sendBeacon(api + "/e", b)) || fetch(api + "/e", { method: "POST", body: b, keepalive: true });
  }

  function tag(el) {
    var m = attr(el, "data-ls-magnet"), x = el.closest("[data-ls-exp]"),
      k = x ? attr(x, "data-ls-exp") : G[m], p = { magnet_id: m };
    if (shown[k]) p.experiment_id = k, p.variant = shown[k];
    if (attr(el, "data-ls-variant")) p.variant = attr(el, "data-ls-variant");
    return p;
  }

  // Reveal experiment slots (one variant kept, exposure logged once) and report magnets.
  function scan() {
    if (!ready) return;
    each("[data-ls-exp]:not([data-ls-done])", function (el) {
      var k = attr(el, "data-ls-exp"), v = pick(k), all = el.querySelectorAll("[data-ls-variant]"), keep = all[0], x = X[k];
      all.forEach(function (c) { if (v && attr(c, "data-ls-variant") == v) keep = c; });
      all.forEach(function (c) { if (c != keep) c.remove(); });
      el.setAttribute("data-ls-done", "");
      if (!v || !keep || attr(keep, "data-ls-variant") != v) return;
      shown[k] = v;
      if (x.p || seen[k] || (vid && get("ls_x_" + k) == vid)) return;
      seen[k] = 1;
      set("ls_x_" + k, vid);
      track("exposure", { experiment_id: k, variant: v });
    });
    each("[data-ls-magnet]:not([data-ls-seen])", function (el) {
      el.setAttribute("data-ls-seen", "");
      if (el.tagName != "FORM") track("magnet_view", tag(el));
    });
  }

  function show() {
    if (!ready) ready = 1, clearTimeout(timer), scan();
  }

  // The organization's config: consent mode, today's cookieless id, experiments, and
  // whether an id may be stored (s: first_party, or the stored id's consent in force).
  function conf(c) {
    (c.x || []).forEach(function (e) { X[e.k] = e; G[e.g] = e.k; });
    vid = c.s && get("ls_vid") || "";
    if (c.m == "first_party" && !vid) vid = id();
    set("ls_vid", vid);
    unit = vid || c.v || "";
    show();
  }

  function page() {
    if (L.href != last) ref = last || d.referrer, last = L.href, track("pageview");
  }

  var st = d.createElement("style"), H = w.history, P = H.pushState;
  st.textContent = "[data-ls-exp]:not([data-ls-done]){visibility:hidden}";
  (d.head || d.documentElement).appendChild(st);
  new MutationObserver(scan).observe(d.documentElement, { childList: true, subtree: true });
  H.pushState = function () { P.apply(H, arguments); page(); };
  w.addEventListener("popstate", page);
  w.addEventListener("pagehide", function () { flush(1); });
  d.addEventListener("visibilitychange", function () { if (d.hidden) flush(1); });
  d.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (f.getAttribute && attr(f, "data-ls-magnet")) track("lead", tag(f)), flush(1);
  }, true);
  w.lodestone = {
    track: track,
    flush: flush,
    variant: pick,
    // Recorded by the collector (an analytics consent record) before anything else.
    consent: function (y) {
      var v = vid || unit || id();
      set("ls_vid", vid = y ? v : "");
      off || fetch(api + "/consent", { method: "POST", keepalive: true,
        body: JSON.stringify({ site: site, visitor_id: v, granted: !!y }) });
    }
  };
  if (off) show();
  else {
    timer = setTimeout(show, +attr(S, "data-timeout") || 1000);
    fetch(api + "/c.json?site=" + site + "&vid=" + (get("ls_vid") || "")).then(function (r) { return r.json(); }).then(conf, show);
  }
  page();
  scan();
})(window, document);
