/* Cadence enrolment: trade the one-time key in the link's fragment for this phone's upload token. */
(function () {
  "use strict";
  var urls = JSON.parse(document.getElementById("recorder-urls").textContent);
  var text = document.getElementById("enrol-text").dataset;
  var key = decodeURIComponent(location.hash.slice(1));

  function say(title, sentence) {
    if (title) { document.getElementById("enrol-title").textContent = title; document.title = title + " · Cadence"; }
    document.getElementById("enrol-status").textContent = sentence;
  }

  function forget() { history.replaceState(null, "", location.pathname); }  // the key is spent or useless

  if (!key) { say(text.failedTitle, text.incomplete); return; }
  fetch(urls.redeem, { method: "POST", credentials: "omit", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ link: key }) }).then(function (response) {
    return response.json().then(function (body) {
      if (response.status === 201) {
        return CadenceStore.setMeta("token", body.token).then(function () {
          return CadenceStore.setMeta("tokenRevoked", false);
        }).then(function () {
          forget();
          say(text.doneTitle, text.linked);
          document.getElementById("enrol-next").hidden = false;
          setTimeout(function () { location.replace(urls.recorder); }, 800);
        });
      }
      if (response.status === 404 || response.status === 410) forget();
      say(text.failedTitle, body.detail || ("HTTP " + response.status));
      // A phone linked before keeps its token: offer the way back to the recorder.
      return CadenceStore.getMeta("token").then(function (token) {
        document.getElementById("enrol-next").hidden = !token;
      });
    });
  }, function () { say(null, text.offline); });
})();
