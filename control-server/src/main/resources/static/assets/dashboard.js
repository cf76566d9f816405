// Nightshift dashboard: refreshes each [data-live] section every 2 s by fetching its server-rendered fragment.
// No libraries. Open <details> (log tails) stay open across refreshes; refreshes pause while the tab is hidden.
(function () {
  "use strict";
  var EVERY = 2000;
  var busy = false;

  function stamp(text, stale) {
    var el = document.getElementById("stamp");
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("stale", !!stale);
  }

  function stale(message) {
    var el = document.getElementById("stale");
    if (el) {
      el.textContent = message;
      el.hidden = !message;
    }
    if (message) stamp("live updates paused", true);
  }

  function refresh(section) {
    var url = section.getAttribute("data-live");
    return fetch(url, { headers: { "X-Nightshift-Live": "1" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.redirected && new URL(r.url).pathname === "/login") {
          stale("Your session ended: reload the page to log in again.");
          return null;
        }
        if (!r.ok) {
          stale("Live updates paused: the server answered " + r.status + ".");
          return null;
        }
        return r.text();
      })
      .then(function (html) {
        if (html == null) return;
        var tpl = document.createElement("template");
        tpl.innerHTML = html.trim();
        var fresh = tpl.content.firstElementChild;
        if (!fresh || !fresh.hasAttribute("data-live")) return;
        section.querySelectorAll("details[open][id]").forEach(function (d) {
          var same = fresh.querySelector("#" + CSS.escape(d.id));
          if (same) same.open = true;
        });
        section.replaceWith(fresh);
        stale("");
        stamp("live · " + clock());
      })
      .catch(function () {
        stale("Live updates paused: the server cannot be reached.");
      });
  }

  /** 24-hour time, like every table on the pages (toLocaleTimeString is 12-hour in some locales). */
  function clock() {
    var d = new Date();
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
  }

  function tick() {
    if (busy || document.hidden) return;
    var sections = Array.prototype.slice.call(document.querySelectorAll("[data-live]"));
    if (!sections.length) return;
    busy = true;
    Promise.all(sections.map(refresh)).then(function () { busy = false; }, function () { busy = false; });
  }

  document.addEventListener("submit", function (e) {
    var ask = e.target.getAttribute("data-confirm");
    if (ask && !window.confirm(ask)) e.preventDefault();
  });

  if (document.querySelector("[data-live]")) {
    stamp("live · " + clock());
    setInterval(tick, EVERY);
  }
})();
