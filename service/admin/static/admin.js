// seatlease admin: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // a form that asks first: the question is in data-confirm (the CSP allows no inline handlers)
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute ? form.getAttribute("data-confirm") : null;
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // --- drafts (issue 12): a checkbox that ticks every box named in data-select-all ---
  document.addEventListener("change", function (event) {
    var box = event.target;
    var name = box && box.getAttribute ? box.getAttribute("data-select-all") : null;
    if (!name) return;
    document.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (b) { b.checked = box.checked; });
  });

  // a select that opens another page when changed: data-navigate is the URL, {value} the choice
  document.addEventListener("change", function (event) {
    var select = event.target;
    var url = select && select.getAttribute ? select.getAttribute("data-navigate") : null;
    if (url) window.location = url.replace("{value}", encodeURIComponent(select.value));
  });

  function seatFrom(event) {
    var el = event.target;
    return el && el.closest ? el.closest("g.seat") : null;
  }

  // the seat map page: a click opens the seat's panel (htmx when loaded, else a page load)
  document.addEventListener("click", function (event) {
    var seat = seatFrom(event);
    if (!seat) return;
    var pick = seat.closest("[data-pick-target]");
    if (pick) { togglePick(pick, seat); return; }
    var map = seat.closest("#seatmap");
    if (!map) return;
    var id = seat.getAttribute("data-seat");
    document.querySelectorAll("#seatmap g.seat.selected").forEach(function (g) { g.classList.remove("selected"); });
    seat.classList.add("selected");
    if (window.htmx) {
      window.htmx.ajax("GET", map.getAttribute("data-panel-url").replace("{id}", id), { target: "#seat-panel", swap: "innerHTML" });
    } else {
      window.location = map.getAttribute("data-page-url").replace("{id}", id);
    }
  });

  // after a maintenance toggle the panel says the seat's new state: recolour it on the map
  document.addEventListener("htmx:afterSwap", function (event) {
    var body = event.detail && event.detail.target && event.detail.target.querySelector("[data-seat-id]");
    if (!body) return;
    var seat = document.querySelector('#seatmap g.seat[data-seat="' + body.getAttribute("data-seat-id") + '"]');
    if (!seat) return;
    var state = body.getAttribute("data-seat-state");
    seat.setAttribute("class", "seat selected " + state);
    seat.setAttribute("data-state", state);
  });

  // booking form: clicking a free seat adds or removes its label
  function togglePick(pick, seat) {
    var state = seat.getAttribute("data-state");
    var label = seat.getAttribute("data-label");
    var input = document.getElementById(pick.getAttribute("data-pick-target"));
    if (!input) return;
    var labels = input.value.split(/[\s,;]+/).filter(Boolean);
    var at = labels.indexOf(label);
    if (at >= 0) { labels.splice(at, 1); seat.classList.remove("picked"); }
    else if (state === "free") { labels.push(label); seat.classList.add("picked"); }
    else { return; }
    input.value = labels.join(", ");
    var mode = document.querySelector('input[name="seat_mode"][value="pick"]');
    if (mode) mode.checked = true;
  }

  // booking form: the site, shift, date or floor changes the choices and the map
  function reloadForm(extra) {
    var form = document.getElementById("lease-form");
    if (!form) return;
    var data = new FormData(form);
    data.delete("csrf_token");
    data.delete("action");
    Object.keys(extra || {}).forEach(function (k) { data.set(k, extra[k]); });
    var params = new URLSearchParams(data);
    window.location = "/admin/leases/new?" + params.toString();
  }
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!el || !el.closest) return;
    if (el.closest("#lease-form") && el.hasAttribute("data-reload")) {
      var extra = {};
      if (el.name === "site_id") { extra.plan_id = ""; extra.floor_id = ""; }
      reloadForm(extra);
    } else if (el.hasAttribute("data-floor-select")) {
      reloadForm({ floor_id: el.value });
    } else if (el.id === "plan_id") {
      document.querySelectorAll("fieldset.addons").forEach(function (fs) {
        var on = fs.getAttribute("data-plan") === el.value;
        fs.hidden = !on;
        fs.disabled = !on;
      });
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var plan = document.getElementById("plan_id");
    if (!plan) return;
    document.querySelectorAll("fieldset.addons").forEach(function (fs) {
      var on = fs.getAttribute("data-plan") === plan.value;
      fs.hidden = !on;
      fs.disabled = !on;
    });
  });
  // --- floor-plan editor (issue 13): drag a seat to a cell (saved on drop), click seats to choose them ---
  var drag = null;
  function svgPoint(svg, event) {
    var m = svg.getScreenCTM();
    if (!m) return { x: event.clientX, y: event.clientY };
    var p = new DOMPoint(event.clientX, event.clientY).matrixTransform(m.inverse());
    return { x: p.x, y: p.y };
  }
  function place(seat, px, py) { seat.setAttribute("transform", "translate(" + px + "," + py + ")"); }
  function cellOf(svg) {
    return { w: +svg.getAttribute("data-cell-w"), h: +svg.getAttribute("data-cell-h"), top: +svg.getAttribute("data-top") };
  }
  function say(text, bad) {
    var status = document.getElementById("editor-status");
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("error", !!bad);
    status.classList.toggle("muted", !bad);
  }
  function choose(editor, seat) {
    var input = document.getElementById(editor.getAttribute("data-pick-input"));
    if (!input) return;
    var label = seat.getAttribute("data-label");
    var labels = input.value.split(/[\s,;]+/).filter(Boolean);
    var at = labels.indexOf(label);
    if (at >= 0) { labels.splice(at, 1); seat.classList.remove("chosen"); }
    else { labels.push(label); seat.classList.add("chosen"); }
    input.value = labels.join(", ");
  }
  function saveDrop(editor, seat, x, y, back) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    var body = new URLSearchParams();
    body.set("layout", JSON.stringify([{ id: seat.getAttribute("data-seat"), x: x, y: y }]));
    var label = seat.getAttribute("data-label");
    say("Saving " + label + "…", false);
    editor.setAttribute("data-saving", "1");
    fetch(editor.getAttribute("data-layout-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": meta ? meta.getAttribute("content") : "", "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString()
    }).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, data: data }; }, function () { return { ok: false, data: { error: "HTTP " + r.status } }; });
    }).then(function (res) {
      editor.removeAttribute("data-saving");
      if (!res.ok) { back(); say("Not saved: " + (res.data.error || "refused"), true); return; }
      seat.setAttribute("data-x", x);
      seat.setAttribute("data-y", y);
      say("Saved: " + label + " at column " + x + ", row " + y, false);
    }, function () { editor.removeAttribute("data-saving"); back(); say("Not saved: no answer from the server", true); });
  }
  document.addEventListener("pointerdown", function (event) {
    var seat = seatFrom(event);
    var editor = seat && seat.closest("#floor-editor");
    if (!editor || event.button !== 0) return;
    var svg = seat.ownerSVGElement;
    var start = svgPoint(svg, event);
    drag = { seat: seat, svg: svg, editor: editor, sx: start.x, sy: start.y, x0: +seat.getAttribute("data-x"), y0: +seat.getAttribute("data-y"), moved: false };
    event.preventDefault();
  });
  document.addEventListener("pointermove", function (event) {
    if (!drag) return;
    var p = svgPoint(drag.svg, event), c = cellOf(drag.svg);
    var dx = p.x - drag.sx, dy = p.y - drag.sy;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 5) return;
    drag.moved = true;
    drag.seat.classList.add("dragging");
    place(drag.seat, drag.x0 * c.w + dx, c.top + drag.y0 * c.h + dy);
  });
  document.addEventListener("pointerup", function (event) {
    if (!drag) return;
    var d = drag;
    drag = null;
    d.seat.classList.remove("dragging");
    if (!d.moved) { choose(d.editor, d.seat); return; }
    var p = svgPoint(d.svg, event), c = cellOf(d.svg);
    var x = Math.max(0, Math.round(d.x0 + (p.x - d.sx) / c.w));
    var y = Math.max(0, Math.round(d.y0 + (p.y - d.sy) / c.h));
    var back = function () { place(d.seat, d.x0 * c.w, c.top + d.y0 * c.h); };
    if (x === d.x0 && y === d.y0) { back(); return; }
    place(d.seat, x * c.w, c.top + y * c.h);
    saveDrop(d.editor, d.seat, x, y, back);
  });
  document.addEventListener("pointercancel", function () {
    if (!drag) return;
    var c = cellOf(drag.svg);
    place(drag.seat, drag.x0 * c.w, c.top + drag.y0 * c.h);
    drag.seat.classList.remove("dragging");
    drag = null;
  });
  // the chosen seats typed or kept after a reload are marked on the plan
  document.addEventListener("DOMContentLoaded", function () {
    var editor = document.getElementById("floor-editor");
    var input = editor && document.getElementById(editor.getAttribute("data-pick-input"));
    if (!input) return;
    input.value.split(/[\s,;]+/).filter(Boolean).forEach(function (label) {
      var g = editor.querySelector('g.seat[data-label="' + CSS.escape(label) + '"]');
      if (g) g.classList.add("chosen");
    });
  });

  // --- phone width (issue 13): the navigation folds into a Menu button ---
  document.addEventListener("DOMContentLoaded", function () {
    var side = document.querySelector(".sidebar");
    var toggle = side && side.querySelector(".nav-toggle");
    if (!toggle) return;
    side.classList.add("foldable");
    toggle.addEventListener("click", function () {
      var open = side.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  });
})();

// --- people and keys (issue 13): a reset link carries its token in the fragment (never sent to a
// server); copy it into the form and hide the field, then drop it from the address bar ---
(function () {
  "use strict";
  var input = document.getElementById("reset-token");
  if (!input) return;
  var match = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(window.location.hash || "");
  if (!match) return;
  input.value = match[1];
  var label = input.closest("label");
  if (label) label.hidden = true;
  if (window.history && window.history.replaceState) window.history.replaceState(null, "", window.location.pathname);
})();
// --- portal: leases, seats and agents: the booking form shows another site's plans and shifts ---
document.addEventListener("change", function (event) {
  var el = event.target;
  if (!el || !el.closest || !el.closest("#book-form") || el.name !== "site_id") return;
  window.location = "/portal/book?site_id=" + encodeURIComponent(el.value);
});
