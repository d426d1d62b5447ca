/* Copy buttons: <button data-copy="ID of a text field">. Shown only when this script runs (no inline script). */
(function () {
  "use strict";
  function say(button, text) {
    var status = document.getElementById(button.dataset.copy + "-status");
    if (status) status.textContent = text;
  }
  function copy(button) {
    var field = document.getElementById(button.dataset.copy);
    if (!field) return;
    var fallback = function () {
      field.focus();
      field.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      say(button, ok ? button.dataset.copied : button.dataset.copyFailed);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () { say(button, button.dataset.copied); }, fallback);
    } else {
      fallback();
    }
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { copy(button); });
  });
})();
