/* Cadence recorder: the PHQ-9 self-report, on the clinic's schedule. An item-9 answer above 0 shows the
   crisis resources at once, before anything is sent; the server raises the self-harm alert on receipt. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("recorder-config").textContent);
  var M = config.messages;
  var $ = function (id) { return document.getElementById(id); };
  var DAY_MS = 86400000;

  function status(text) { $("phq9-status").textContent = text; }

  function showCrisis() {
    var crisis = $("crisis");
    if (!crisis.hidden) return;
    crisis.hidden = false;
    crisis.scrollIntoView({ block: "center" });
  }

  function lastAnswered() {
    return CadenceStore.authHeaders().then(function (headers) {
      return fetch(config.urls.phq9, { headers: headers, credentials: "omit", cache: "no-store" });
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (body) {
      var rows = Array.isArray(body) ? body : (body.results || []);
      var latest = rows.reduce(function (acc, r) { return !acc || r.answered_at > acc ? r.answered_at : acc; }, null);
      return CadenceStore.setMeta("phq9LastAt", latest || "").then(function () { return latest; });
    }, function () { return CadenceStore.getMeta("phq9LastAt"); });  // offline: the last answer we know of
  }

  function schedule() {
    if (!config.phq9IntervalDays) return;
    CadenceStore.getMeta("token").then(function (token) {
      if (!token) return;
      lastAnswered().then(function (latest) {
        $("phq9").hidden = false;
        var due = latest ? new Date(new Date(latest).getTime() + config.phq9IntervalDays * DAY_MS) : new Date(0);
        if (due <= new Date()) {
          status(M.phq9Due);
          $("phq9-form").hidden = false;
        } else {
          status(M.phq9NotDue.replace("{s}", due.toLocaleDateString(document.documentElement.lang || [], { dateStyle: "long" })));
        }
      });
    });
  }

  function answers(form) {
    var items = [];
    for (var n = 1; n <= 9; n++) {
      var checked = form.querySelector("input[name='item" + n + "']:checked");
      if (!checked) return { missing: n };
      items.push(parseInt(checked.value, 10));
    }
    var difficulty = form.elements.difficulty.value;
    return { items: items, difficulty: difficulty === "" ? null : parseInt(difficulty, 10) };
  }

  function submit(event) {
    event.preventDefault();
    var form = event.target, data = answers(form);
    if (data.missing) {
      status(M.phq9Missing.replace("{n}", data.missing));
      form.querySelector("input[name='item" + data.missing + "']").focus();
      return;
    }
    if (data.items[8] > 0) showCrisis();
    var button = form.querySelector("button[type='submit']");
    button.disabled = true;
    CadenceStore.authHeaders().then(function (headers) {
      headers["Content-Type"] = "application/json";
      return fetch(config.urls.phq9, { method: "POST", headers: headers, credentials: "omit", body: JSON.stringify({
        items: data.items, difficulty: data.difficulty, answered_at: new Date().toISOString() }) });
    }).then(function (response) {
      if (response.status === 201) {
        form.classList.add("phq9-done");  // the questions go; the crisis resources, if shown, stay
        status(data.items[8] > 0 ? M.phq9Sent + " " + M.phq9Alerted : M.phq9Sent);
        return CadenceStore.setMeta("phq9LastAt", new Date().toISOString());
      }
      return response.json().then(function (body) { status(M.phq9Error.replace("{s}", body.detail || "")); });
    }, function () { status(M.phq9Offline); }).finally(function () { button.disabled = false; });
  }

  $("phq9-form").addEventListener("submit", submit);
  $("phq9-form").addEventListener("change", function (event) {
    if (event.target.name === "item9" && parseInt(event.target.value, 10) > 0) showCrisis();
  });
  schedule();
})();
