// deskbind console: while one of the exports on /exports is queued or
// running, the page reads itself again every two seconds and puts the new
// table in place, so progress, failures and the download link appear
// without a reload. It stops once none is unfinished, on an error, or
// after ten minutes (an export waiting that long waits for a worker; the
// status line then says to reload), and it pauses while the tab is hidden,
// so an unattended tab does not keep the session awake. Without this
// script the page is a snapshot that says to reload.
"use strict";

(function () {
  var table = document.getElementById("exports-table");
  var status = document.getElementById("exports-status");
  if (!table || !status || !window.fetch || !window.DOMParser) return;
  var EVERY_MS = 2000;
  var FOR_MS = 10 * 60 * 1000;
  var started = Date.now();
  var updates = 0;
  var waiting = false;

  function unfinished() {
    return table.querySelector('tr[data-state="queued"], tr[data-state="running"]') !== null;
  }

  function say(text) {
    if (status.textContent !== text) status.textContent = text;
  }

  function refresh() {
    fetch(window.location.pathname, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("exports-table");
        if (!fresh) throw new Error("no table");
        if (fresh.innerHTML !== table.innerHTML) table.innerHTML = fresh.innerHTML;
        updates += 1;
        table.setAttribute("data-updates", String(updates));
        follow();
      })
      .catch(function () {
        say("Progress updates stopped. Reload the page to see where your exports are.");
      });
  }

  function follow() {
    if (!unfinished()) {
      say("Every export here is finished.");
      return;
    }
    if (Date.now() - started > FOR_MS) {
      say("Progress updates stopped after ten minutes. Reload the page to see where your exports are.");
      return;
    }
    say("Following your exports: this table updates by itself.");
    window.setTimeout(function () {
      if (document.hidden) {
        waiting = true;
      } else {
        refresh();
      }
    }, EVERY_MS);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && waiting) {
      waiting = false;
      refresh();
    }
  });

  follow();
})();
