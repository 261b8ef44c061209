// spectral_explorer: accessible names, plot descriptions, tab roles and visible focus for the
// Bokeh/Panel widgets of a page (served dashboards and notebook outputs alike).
//
// Bokeh and Panel draw their widgets in shadow roots and leave some controls nameless (a
// spinner's up/down buttons, slider handles, the player's range and buttons).  This script names
// them from the label the page shows, gives every plot a generated text alternative, makes tab
// headers ARIA tabs that Enter/Space open, and adds a visible focus ring and readable inline code.  It runs once per
// window; it re-applies itself whenever a shadow root changes (a MutationObserver per root) or
// the Bokeh document changes (a re-render, a new plot, a value from the server).
(function () {
  "use strict";
  if (window.__spectralA11y) { window.__spectralA11y.schedule(); return; }

  var OPTS = {subtree: true, childList: true, characterData: true, attributes: true,
              attributeFilter: ["class", "aria-valuenow", "aria-valuetext", "aria-label", "disabled"]};
  var SHEET_CSS = ":focus-visible{outline:3px solid #1a5fb4 !important;outline-offset:2px !important}" +
    ".noUi-handle:focus,.noUi-handle:focus-visible{outline:3px solid #1a5fb4 !important;outline-offset:1px}" +
    ".bk-tab:focus-visible{outline:3px solid #1a5fb4 !important;outline-offset:-3px !important}" +
    // Panel's Markdown draws inline code light blue (#82aaff, 2.3:1 on white): a dark blue, 8:1
    ":not(pre)>code{color:#1f4e8c !important}" +
    // Panel's default (notebook) design draws success buttons white on #28a745 (3.1:1) and
    // warning buttons white on #ffc107 (1.6:1): a darker green, and dark text on the yellow
    ".bk-btn-success{background-color:#1e7b34 !important;border-color:#1e7b34 !important;color:#fff !important}" +
    ".bk-btn-warning{color:#212529 !important}";
  var PLAYER = {first: "first frame", previous: "previous frame", reverse: "play backwards", pause: "pause",
                play: "play", next: "next frame", last: "last frame", slower: "slower", faster: "faster"};
  var observed = new WeakSet(), styled = new WeakSet(), keyed = new WeakSet();
  var timer = null, sheet = null;

  function schedule() { if (timer === null) { timer = setTimeout(pass, 120); } }
  var observer = new MutationObserver(schedule);

  function focusSheet() {
    if (sheet === null) {
      try { sheet = new CSSStyleSheet(); sheet.replaceSync(SHEET_CSS); } catch (e) { sheet = false; }
    }
    return sheet;
  }

  function roots() {
    var out = [document];
    for (var i = 0; i < out.length; i++) {
      var all = out[i].querySelectorAll("*");
      for (var j = 0; j < all.length; j++) { if (all[j].shadowRoot) { out.push(all[j].shadowRoot); } }
    }
    out.forEach(function (r) {
      if (!observed.has(r)) { observed.add(r); observer.observe(r, OPTS); }
      var s = focusSheet();
      if (r !== document && s && !styled.has(r)) {
        styled.add(r);
        try { r.adoptedStyleSheets = r.adoptedStyleSheets.concat([s]); } catch (e) { /* old browser */ }
      }
    });
    return out;
  }

  function text(el) { return el ? (el.textContent || "").replace(/\s+/g, " ").trim() : ""; }
  function set(el, name, value) {
    if (value !== null && value !== undefined && value !== "" && el.getAttribute(name) !== String(value)) {
      el.setAttribute(name, String(value));
    }
  }
  function named(el) {
    if (el.getAttribute("aria-label") || (el.labels && el.labels.length)) { return true; }
    var ids = (el.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean);
    var root = el.getRootNode();
    return ids.some(function (id) { var t = root.getElementById ? root.getElementById(id) : null; return t && text(t); });
  }
  // the text a widget shows before its value ("t: 50" -> "t"), without the zero-width marks
  function label(s) { return (s || "").replace(/\u200b/g, "").replace(/:\s*$/, "").trim(); }

  function titleBefore(host) {
    // a widget whose own title is hidden (Panel's DiscreteSlider): the Div shown just above it
    var prev = host && host.previousElementSibling;
    var t = prev ? text(prev.shadowRoot || prev) : "";
    return label(t.split(":")[0]);
  }

  function spinners(r) {
    r.querySelectorAll(".bk-spin-btn").forEach(function (b) {
      var group = b.closest(".bk-input-group") || r;
      var name = label(text(group.querySelector("label"))) || "value";
      set(b, "aria-label", (b.classList.contains("bk-spin-btn-up") ? "increase " : "decrease ") + name);
      set(b, "tabindex", "-1");   // the box itself steps with the arrow keys
    });
  }

  function sliders(r) {
    var handles = r.querySelectorAll("[role=slider]");
    if (!handles.length) { return; }
    var title = r.querySelector(".bk-slider-title");
    var name = "", value = "";
    if (title && title.style.display !== "none" && text(title)) {
      var first = title.firstChild;
      name = label(first && first.nodeType === 3 ? first.textContent : text(title).split(":")[0]);
      value = text(title.querySelector(".bk-slider-value"));
    } else if (r === document || !r.host) {
      // ipywidgets' sliders in a notebook (also noUiSlider): each handle names itself from its
      // widget's label and readout
      handles.forEach(function (h) {
        var w = h.closest(".widget-slider, .widget-hslider, .widget-vslider, .jupyter-widgets");
        if (!w) { return; }
        set(h, "aria-label", label(text(w.querySelector(".widget-label"))) || "slider");
        var ro = w.querySelector(".widget-readout");
        if (ro) { set(h, "aria-valuetext", text(ro) || ro.value); }
      });
      return;
    } else {
      var prev = r.host && r.host.previousElementSibling;
      var shown = prev ? text(prev.shadowRoot || prev) : "";
      name = label(shown.split(":")[0]);
      value = shown.indexOf(":") >= 0 ? shown.slice(shown.indexOf(":") + 1).trim() : "";
    }
    name = name || "slider";
    handles.forEach(function (h, i) {
      var suffix = handles.length > 1 ? (i === 0 ? " (lower end)" : " (upper end)") : "";
      set(h, "aria-label", name + suffix);
      if (value) {
        var parts = value.split(/\s*\.\.\s*/);
        set(h, "aria-valuetext", (handles.length > 1 && parts.length === handles.length ? parts[i] : value));
      }
    });
  }

  function players(r) {
    var range = r.querySelector("input[type=range]");
    if (!range || !r.querySelector("button")) { return; }
    // the title: "animate t: 0.2" (the value in effect after the colon, see _widgets.grid_player)
    var shown = text(r.querySelector(".pn-player-title")).replace(/\u200b/g, "");
    var name = label(shown.split(":")[0]) || titleBefore(r.host) || "animation";
    var v = Number(range.value), lo = Number(range.min || 0), hi = Number(range.max || 0);
    var frame = "frame " + (v - lo + 1) + " of " + (hi - lo + 1);
    set(range, "aria-label", name);
    set(range, "aria-valuetext", shown.indexOf(":") >= 0 ? shown.slice(shown.indexOf(":") + 1).trim() + ", " + frame : frame);
    r.querySelectorAll("button").forEach(function (b) {
      for (var cls in PLAYER) {
        if (b.classList.contains(cls)) { set(b, "aria-label", PLAYER[cls] + " (" + name + ")"); break; }
      }
    });
    r.querySelectorAll("input[type=radio]").forEach(function (x) { set(x, "aria-label", "loop policy: " + x.value); });
  }

  function checkboxes(r) {
    r.querySelectorAll("input[type=checkbox], input[type=radio]").forEach(function (x) {
      if (named(x)) { return; }
      var near = x.nextElementSibling && !x.nextElementSibling.querySelector("input") ? x.nextElementSibling : null;
      if (!near && r.querySelectorAll("input").length === 1) { near = r.querySelector(".bk-label, label, span"); }
      set(x, "aria-label", label(text(near)) || titleBefore(r.host) || x.value);
    });
  }

  function fallbacks(r) {
    r.querySelectorAll("button").forEach(function (b) {
      if (text(b) || named(b)) { return; }
      set(b, "aria-label", b.getAttribute("title") || (b.className || "button").split(" ")[0]);
    });
    r.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(function (x) {
      if (named(x)) { return; }
      var group = x.closest(".bk-input-group");
      var name = group ? label(text(group.querySelector("label, .bk-slider-title"))) : "";
      name = name || x.getAttribute("placeholder") || x.getAttribute("title") || titleBefore(r.host);
      if (x.type === "file") { name = name || "choose a file to upload"; }
      set(x, "aria-label", name);
    });
  }

  function tabs(r) {
    r.querySelectorAll(".bk-headers-wrapper").forEach(function (w) { set(w, "role", "tablist"); });
    r.querySelectorAll(".bk-tab").forEach(function (t) {
      set(t, "role", "tab");
      set(t, "aria-selected", t.classList.contains("bk-active") ? "true" : "false");
      if (!t.hasAttribute("tabindex")) { t.setAttribute("tabindex", "0"); }
      if (!keyed.has(t)) {
        keyed.add(t);
        t.addEventListener("keydown", function (ev) {
          if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); t.click(); }
        });
      }
    });
  }

  // ------------------------------------------------------------------ plots
  function str(v) {
    if (v === null || v === undefined) { return ""; }
    if (typeof v === "string") { return v; }
    if (v.text !== undefined) { return str(v.text); }
    return "";
  }
  var GLYPHS = {Scatter: "points", Circle: "points", Line: "line", MultiLine: "lines", Image: "image",
                ImageRGBA: "image", Quad: "bars", VBar: "bars", HBar: "bars", Rect: "cells", Patches: "areas",
                Patch: "area", Segment: "segments", Step: "line", VArea: "band", HArea: "band", Text: "labels"};
  function num(v) {
    if (typeof v !== "number" || !isFinite(v)) { return String(v); }
    var a = Math.abs(v);
    return (a !== 0 && (a < 1e-3 || a >= 1e5)) ? v.toExponential(2) : String(Number(v.toPrecision(3)));
  }
  function field(spec) { return spec && typeof spec === "object" && spec.field ? spec.field : null; }
  // the values of a few bars ("SVD 0.412, EoRA 0.118"): a bar chart's key numbers
  function bars(r) {
    var g = r.glyph, d = r.data_source.data || {};
    var col = function (k) { return k === null ? null : (d instanceof Map ? d.get(k) : d[k]); };
    var cats = col(field(g.type === "HBar" ? g.y : g.x)), vals = col(field(g.type === "HBar" ? g.right : g.top));
    if (!cats || !vals || cats.length > 12) { return ""; }
    var out = [];
    for (var i = 0; i < cats.length; i++) {
      var c = cats[i];
      out.push((Array.isArray(c) ? c.join(" ") : String(c)) + " " + num(Number(vals[i])));
    }
    return out.join(", ");
  }
  function span(range) {
    if (!range || range.factors || typeof range.start !== "number" || typeof range.end !== "number") { return ""; }
    return " (" + num(Math.min(range.start, range.end)) + " to " + num(Math.max(range.start, range.end)) + ")";
  }
  function describe(m) {
    var parts = [], colour = "", count = {}, values = [];
    (m.renderers || []).forEach(function (r) {
      if (!r.glyph || !r.data_source || r.visible === false) { return; }
      var kind = GLYPHS[r.glyph.type] || "marks";
      var n = 0;
      try { n = r.data_source.get_length ? (r.data_source.get_length() || 0) : 0; } catch (e) { n = 0; }
      if (kind === "line" || kind === "image" || kind === "area" || kind === "band") { n = n > 0 ? 1 : 0; }
      count[kind] = (count[kind] || 0) + n;
      if (kind === "bars") { var b = bars(r); if (b) { values.push(b); } }
      ["fill_color", "line_color", "color"].forEach(function (p) {
        var c = r.glyph[p];
        if (!colour && c && typeof c === "object" && c.field && !/^(color|colour|fill_color|line_color)$/.test(c.field)) {
          colour = c.field;
        }
      });
    });
    Object.keys(count).forEach(function (k) {
      if (!count[k]) { return; }
      var n = count[k], noun = k;
      if (n === 1 && /s$/.test(k) && k !== "lines") { noun = k.replace(/s$/, ""); }
      if (k === "line" || k === "image" || k === "area" || k === "band") { noun = n > 1 ? k + "s" : k; }
      parts.push(n + " " + noun);
    });
    var panels = [].concat(m.right || [], m.left || [], m.above || [], m.below || [], m.center || []);
    var x = [], y = [];
    (m.below || []).concat(m.above || []).forEach(function (a) { if (str(a.axis_label)) { x.push(str(a.axis_label)); } });
    (m.left || []).concat(m.right || []).forEach(function (a) { if (str(a.axis_label)) { y.push(str(a.axis_label)); } });
    panels.forEach(function (b) { if (b.type === "ColorBar" && str(b.title)) { colour = str(b.title); } });
    var title = str(m.title).trim();
    var out = (title || "Plot") + ": " + (parts.length ? parts.join(", ") : "no data");
    if (values.length) { out += " (" + values.join("; ") + ")"; }
    if (x.length || y.length) {
      out += "; x: " + (x.join(", ") || "none") + span(m.x_range) + ", y: " + (y.join(", ") || "none") + span(m.y_range);
    }
    if (colour) { out += "; colour: " + colour; }
    return out;
  }
  function plots() {
    var B = window.Bokeh;
    if (!B || !B.index || !B.index.all_views) { return; }
    var views;
    try { views = B.index.all_views(); } catch (e) { return; }
    for (var v of views) {
      var m = v.model;
      if (!m || !m.x_range || !m.renderers || !v.el) { continue; }
      // the canvas's event layer: focusable (Bokeh's keyboard tools), so a keyboard user reaches
      // the description; nothing inside it is interactive
      var canvas = v.el.shadowRoot ? v.el.shadowRoot.querySelector(".bk-Canvas") : null;
      var host = canvas && canvas.shadowRoot ? canvas.shadowRoot.querySelector(".bk-events") : null;
      if (!host) { continue; }
      set(host, "role", "figure");
      try { set(host, "aria-label", describe(m)); } catch (e) {
        set(host, "aria-label", str(m.title) || "plot");
        if (window.console) { console.warn("spectral_explorer a11y: plot description", e); }
      }
      host.classList.add("se-plot");
    }
  }

  function hookDocuments() {
    var B = window.Bokeh;
    if (!B || !B.documents) { return; }
    B.documents.forEach(function (d) {
      if (d.__spectralA11y) { return; }
      d.__spectralA11y = true;
      try { d.on_change(function () { schedule(); }, true); } catch (e) { /* older Bokeh */ }
    });
  }

  function pass() {
    timer = null;
    try {
      roots().forEach(function (r) {
        spinners(r); sliders(r); players(r); checkboxes(r); tabs(r); fallbacks(r);
      });
      plots();
      hookDocuments();
    } catch (e) {
      if (window.console) { console.warn("spectral_explorer a11y:", e); }
    }
  }

  window.__spectralA11y = {schedule: schedule, pass: pass, describe: describe};
  pass();
  // Bokeh renders after this script in a page: a few passes while it does, then on change only
  [300, 1000, 3000].forEach(function (ms) { setTimeout(schedule, ms); });
  document.addEventListener("input", schedule, true);
  document.addEventListener("change", schedule, true);
})();
