/*! Lodestone embed v1: a magnet's opt-in form inline or in a popup, on any site.
 * <script src=".../embed/v1.js" integrity="sha384-..." crossorigin="anonymous" async
 *   data-ls-embed="https://go.example.com/m/acme/seo-checklist" data-mode="inline|popup"
 *   data-target="#id" data-delay="5" data-scroll="50" data-exit="1" data-every-days="7"></script>
 * Styles are set through the DOM (no inline <style>), so a strict CSP on the host page holds. */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || !window.fetch || !window.FormData) return;
  var page = me.getAttribute("data-ls-embed") || "", mode = me.getAttribute("data-mode") || "inline";
  if (!/^https?:\/\//.test(page)) return;
  var key = page.replace(/^https?:\/\/[^/]+/, "");
  function num(name, dflt) { var v = parseFloat(me.getAttribute(name)); return isNaN(v) ? dflt : v; }
  function get(k) { try { return window.localStorage.getItem(k); } catch (e) { return null; } }
  function put(k, v) { try { window.localStorage.setItem(k, v); } catch (e) { /* private mode */ } }
  function css(node, rules) { for (var k in rules) node.style[k] = rules[k]; return node; }
  function el(tag, attrs, rules, text) {
    var n = document.createElement(tag);
    for (var k in attrs || {}) n.setAttribute(k, attrs[k]);
    if (rules) css(n, rules);
    if (text) n.textContent = text;
    return n;
  }
  var vid = get("ls_vid");
  if (!vid || !/^[A-Za-z0-9_-]{8,64}$/.test(vid)) {
    vid = ""; for (var i = 0; i < 32; i++) vid += "0123456789abcdef"[Math.floor(Math.random() * 16)];
    put("ls_vid", vid);
  }
  var font = { fontFamily: "system-ui,-apple-system,'Segoe UI',Roboto,sans-serif", color: "#111827", lineHeight: "1.5" };
  var input = { display: "block", width: "100%", boxSizing: "border-box", padding: "10px", font: "inherit", border: "1px solid #6b7280", borderRadius: "8px" };

  function form(cfg, onDone) {
    var box = css(el("div", { "class": "ls-embed", "data-ls-variant": cfg.variant || "" }), font);
    box.appendChild(el("h2", {}, { fontSize: "1.35rem", margin: "0 0 .5rem" }, cfg.headline));
    if (cfg.subheadline) box.appendChild(el("p", {}, { margin: "0 0 1rem", color: "#4b5563" }, cfg.subheadline));
    var f = el("form", { method: "post", action: cfg.action, novalidate: "" });
    var uid = "ls" + Math.floor(Math.random() * 1e9);
    function field(name, label, type, required) {
      f.appendChild(el("label", { "for": uid + name }, { display: "block", fontWeight: "600", margin: ".6rem 0 .2rem" }, label));
      var i = el("input", { id: uid + name, name: name, type: type }, input);
      if (required) i.required = true;
      f.appendChild(i);
      return i;
    }
    f.appendChild(el("input", { type: "hidden", name: "token", value: cfg.token }));
    var first = field("email", "Email address", "email", true);
    field("name", "First name (optional)", "text", false);
    (cfg.fields || []).forEach(function (d) { field("field_" + d.key, d.label + (d.required ? "" : " (optional)"), "text", d.required); });
    var hp = css(el("div", { "aria-hidden": "true" }), { position: "absolute", left: "-10000px", width: "1px", height: "1px", overflow: "hidden" });
    hp.appendChild(el("input", { type: "text", name: "website", tabindex: "-1", autocomplete: "off", "aria-label": "Leave empty" }));
    f.appendChild(hp);
    (cfg.consents || []).forEach(function (c) {
      var l = el("label", {}, { display: "flex", gap: ".5rem", marginTop: ".8rem" });
      l.appendChild(el("input", { type: "checkbox", name: "consent_" + c.purpose, value: "yes" }));
      l.appendChild(el("span", {}, null, c.text));
      f.appendChild(l);
    });
    var b = el("button", { type: "submit" }, { display: "block", width: "100%", marginTop: "1rem", padding: "12px", font: "inherit", fontWeight: "700", color: "#fff", background: cfg.accent || "#1d4ed8", border: "0", borderRadius: "8px", cursor: "pointer" }, cfg.cta);
    f.appendChild(b);
    var status = el("p", { role: "status", "aria-live": "polite" }, { margin: ".75rem 0 0" });
    box.appendChild(f);
    box.appendChild(status);
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      b.disabled = true;
      fetch(cfg.action, { method: "POST", body: new FormData(f), headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); })
        .then(function (x) {
          if (x[0]) { f.parentNode.removeChild(f); status.textContent = x[1].message; if (onDone) onDone(); }
          else { b.disabled = false; status.textContent = (x[1].error || {}).message || "Please try again."; }
        })
        .catch(function () { b.disabled = false; status.textContent = "Network error; please try again."; });
    });
    return { box: box, focus: function () { first.focus(); } };
  }

  function inline(cfg) {
    var target = me.getAttribute("data-target");
    var host = (target && document.querySelector(target)) || me.parentNode;
    var made = form(cfg);
    css(made.box, { border: "1px solid #e5e7eb", borderRadius: "12px", padding: "16px", background: "#fff", maxWidth: "32rem" });
    if (target && host !== me.parentNode) host.appendChild(made.box);
    else host.insertBefore(made.box, me.nextSibling);
  }

  function popup(cfg) {
    var capKey = "ls_pop_" + key, days = num("data-every-days", 7), last = parseFloat(get(capKey) || "0");
    if (last && Date.now() - last < days * 864e5) return;
    var shown = false;
    function show() {
      if (shown) return;
      shown = true;
      put(capKey, String(Date.now()));
      var overlay = css(el("div", { "class": "ls-popup" }), { position: "fixed", inset: "0", background: "rgba(17,24,39,.55)", display: "flex", alignItems: "center", justifyContent: "center", zIndex: "2147483647", padding: "16px" });
      var dialog = css(el("div", { role: "dialog", "aria-modal": "true", "aria-label": cfg.headline }), { position: "relative", background: "#fff", borderRadius: "12px", padding: "24px", maxWidth: "28rem", width: "100%", maxHeight: "90vh", overflow: "auto" });
      var made = form(cfg);
      var close = el("button", { type: "button", "aria-label": "Close" }, { position: "absolute", top: "8px", right: "8px", border: "0", background: "transparent", fontSize: "1.5rem", cursor: "pointer" }, "\u00d7");
      function hide() { if (overlay.parentNode) overlay.parentNode.removeChild(overlay); document.removeEventListener("keydown", esc); }
      function esc(e) { if (e.key === "Escape") hide(); }
      close.addEventListener("click", hide);
      overlay.addEventListener("click", function (e) { if (e.target === overlay) hide(); });
      document.addEventListener("keydown", esc);
      dialog.appendChild(close);
      dialog.appendChild(made.box);
      overlay.appendChild(dialog);
      document.body.appendChild(overlay);
      made.focus();
    }
    var delay = num("data-delay", -1), depth = num("data-scroll", -1);
    if (delay >= 0) setTimeout(show, delay * 1000);
    if (depth >= 0) window.addEventListener("scroll", function () {
      var h = document.documentElement, seen = (h.scrollTop + window.innerHeight) / h.scrollHeight * 100;
      if (seen >= depth) show();
    }, { passive: true });
    if (me.getAttribute("data-exit") === "1") document.addEventListener("mouseout", function (e) {
      if (!e.relatedTarget && e.clientY <= 0) show();
    });
    if (delay < 0 && depth < 0 && me.getAttribute("data-exit") !== "1") setTimeout(show, 5000);
  }

  var firstView = get("ls_xv_" + key) ? "" : "&first=1";
  fetch(page + "/form.json?vid=" + encodeURIComponent(vid) + firstView)
    .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(function (cfg) {
      put("ls_xv_" + key, "1");
      if (mode === "popup") popup(cfg); else inline(cfg);
    })
    .catch(function () { /* the page stays as it was */ });
})();
