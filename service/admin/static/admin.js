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
