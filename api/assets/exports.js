// deskbind console: while one of the exports on /exports is queued or
// running, the page reads itself again every two seconds and puts the new
// table in place, so progress, failures and the download link appear
// without a reload. It stops once none is unfinished, or on an error (the
// status line then says to reload). Without this script the page is a
// snapshot that says to reload.
"use strict";

(function () {
  var table = document.getElementById("exports-table");
  var status = document.getElementById("exports-status");
  if (!table || !status || !window.fetch || !window.DOMParser) return;
  var EVERY_MS = 2000;
  var updates = 0;

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
    say("Following your exports: this table updates by itself.");
    window.setTimeout(refresh, EVERY_MS);
  }

  follow();
})();
