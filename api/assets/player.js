// deskbind console: the call detail's recording player. The page works
// without this file (the browser's own <audio controls> and a download
// link); this adds speed, skip -10 s / +10 s and keys J, K, L.
"use strict";

(function () {
  var player = document.querySelector("[data-player]");
  if (!player) return;
  var audio = player.querySelector("audio");
  var controls = player.querySelector("[data-player-controls]");
  var speed = player.querySelector("[data-player-speed]");
  if (!audio || !controls || !speed) return;
  controls.hidden = false;

  function skip(seconds) {
    var end = isFinite(audio.duration) ? audio.duration : Infinity;
    audio.currentTime = Math.max(0, Math.min(end, audio.currentTime + seconds));
  }

  controls.addEventListener("click", function (event) {
    var button = event.target.closest("[data-player-skip]");
    if (button) skip(Number(button.getAttribute("data-player-skip")));
  });

  speed.addEventListener("change", function () {
    var rate = Number(speed.value);
    if (rate > 0) audio.playbackRate = rate;
  });
  // A new source resets the rate; keep the one chosen.
  audio.addEventListener("loadedmetadata", function () {
    audio.playbackRate = Number(speed.value) || 1;
  });

  // J / K / L as in most players, unless the person is typing or using a
  // control that takes keys itself.
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && target.closest && target.closest("input, select, textarea, button")) return;
    var key = event.key.toLowerCase();
    if (key === "j") skip(-10);
    else if (key === "l") skip(10);
    else if (key === "k") {
      if (audio.paused) audio.play().catch(function () { /* blocked or no source: the controls show it */ });
      else audio.pause();
    }
    else return;
    event.preventDefault();
  });
})();
