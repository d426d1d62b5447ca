/* Cadence recorder: reminders by Web Push. The phone's subscription is sent again on every visit (so the server
   always holds the live one); on iPhone, push only works once the page is added to the Home Screen, which is
   explained here. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("recorder-config").textContent);
  var P = config.push;
  var box = document.getElementById("reminders");
  if (!box || !P) return;
  var status = document.getElementById("reminders-status");
  var button = document.getElementById("reminders-on");
  var hint = document.getElementById("ios-hint");

  function b64ToBytes(text) {
    var pad = "=".repeat((4 - text.length % 4) % 4);
    var raw = atob((text + pad).replace(/-/g, "+").replace(/_/g, "/"));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function isIos() {
    return /iPad|iPhone|iPod/.test(navigator.userAgent) || (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  }

  function standalone() {
    return navigator.standalone === true || (window.matchMedia && window.matchMedia("(display-mode: standalone)").matches);
  }

  function say(text) { status.textContent = text; }

  function send(subscription) {
    return CadenceStore.authHeaders().then(function (headers) {
      headers["Content-Type"] = "application/json";
      return fetch(P.subscriptionUrl, { method: "POST", headers: headers, body: JSON.stringify(subscription.toJSON()) });
    }).then(function (response) {
      if (!response.ok) throw new Error("subscription refused");
      say(P.messages.on);
      button.hidden = true;
    });
  }

  function subscribe(key) {
    return navigator.serviceWorker.ready.then(function (reg) {
      return reg.pushManager.getSubscription().then(function (existing) {
        return existing || reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64ToBytes(key) });
      });
    }).then(send);
  }

  function start() {
    if (!P.publicKey) return;  // this clinic sends reminders by other means (e-mail, SMS) or none
    if (isIos() && !standalone()) {
      hint.hidden = false;
      box.hidden = false;
      return;
    }
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return;
    box.hidden = false;
    if (Notification.permission === "granted") {
      subscribe(P.publicKey).catch(function () { say(P.messages.failed); });
    } else if (Notification.permission === "denied") {
      say(P.messages.denied);
    } else {
      button.hidden = false;
      button.addEventListener("click", function () {
        Notification.requestPermission().then(function (answer) {
          if (answer !== "granted") { say(P.messages.denied); return null; }
          return subscribe(P.publicKey);
        }).catch(function () { say(P.messages.failed); });
      });
    }
  }

  start();
})();
