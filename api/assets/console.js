// deskbind console: behaviour shared by every page. No inline script is
// allowed (Content-Security-Policy), so pages declare behaviour with data-
// attributes and this file attaches it. Everything here is an enhancement:
// each page works as plain links and forms without it.
"use strict";

(function () {
  // Forms that ask before they act: <form data-confirm="Revoke the credential?">
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Selects that submit their form on change: <select data-autosubmit>
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) {
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
  });

  // File pickers that fill a text field, so a urlencoded form can carry
  // the file: <input type="file" data-file-into="field-id">
  document.addEventListener("change", function (event) {
    var el = event.target;
    var id = el.getAttribute && el.getAttribute("data-file-into");
    var field = id && document.getElementById(id);
    if (!field || !el.files || !el.files[0]) {
      return;
    }
    el.files[0].text().then(function (text) {
      field.value = text;
    });
  });
})();
