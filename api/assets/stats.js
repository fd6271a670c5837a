// Statistics page: typing a custom day switches the period to "Custom
// days", so the form shows what was typed. Without this script the period
// select says so itself (its "Custom days" choice).
"use strict";

(function () {
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!el.hasAttribute || !el.hasAttribute("data-stats-day") || !el.form) return;
    var period = el.form.querySelector("[data-stats-period]");
    if (period) period.value = "custom";
  });
})();
