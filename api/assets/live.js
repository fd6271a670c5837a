// deskbind console: the live board follows /live/events (server-sent
// events), a call list's page its report (/call-lists/{id}/events). Each
// `board` event carries the re-rendered fragment, which replaces the one
// on the page; `end` means the stream is over. `data-what` names the
// fragment in the status line. Without this script (or EventSource) the
// page is a snapshot with a Refresh link.
"use strict";

(function () {
  var board = document.getElementById("live-board");
  var status = document.getElementById("live-status");
  if (!board || !status || !window.EventSource) return;
  var updates = 0;
  var what = board.getAttribute("data-what") || "the board";

  function say(text) {
    if (status.textContent !== text) status.textContent = text;
  }

  var source = new EventSource(board.getAttribute("data-events"));
  source.addEventListener("open", function () {
    say("Live: " + what + " updates as things happen.");
  });
  source.addEventListener("board", function (event) {
    board.innerHTML = event.data;
    updates += 1;
    board.setAttribute("data-updates", String(updates));
  });
  // The server ends the stream for good: the session is over, or a newer
  // board of the same person took this one's place (too many tabs).
  source.addEventListener("end", function (event) {
    source.close();
    if (String(event.data).indexOf("replaced") === 0) {
      say("Live updates stopped: " + what + " is open in too many tabs. Use Refresh to follow it here.");
    } else {
      say("Live updates stopped: your session ended. Sign in again to continue.");
    }
  });
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) {
      say("Live updates stopped. Use Refresh to load " + what + " again.");
    } else {
      say("Reconnecting to live updates…");
    }
  });
  window.addEventListener("pagehide", function () {
    source.close();
  });
})();
