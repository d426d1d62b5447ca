{% load static %}/* Cadence recorder service worker: the page opens without a network, and queued takes are sent
   when the connection returns (Background Sync), even if the page was closed. */
"use strict";
importScripts("{% static 'recorder/store.js' %}");
CadenceStore.configure({ recordings: "{% url 'recording-list' %}", recording: "{% url 'recording-detail' 0 %}" });

var CACHE = "cadence-recorder-2";
var SHELL = ["{% url 'recorder:recorder' %}", "{% static 'recorder/recorder.css' %}", "{% static 'recorder/store.js' %}",
             "{% static 'recorder/recorder.js' %}", "{% static 'recorder/phq9.js' %}", "{% static 'recorder/push.js' %}", "{% static 'dashboard/favicon.svg' %}"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

// The shell: network first (so a new version arrives at once), the cached copy when offline.
self.addEventListener("fetch", function (event) {
  var url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || SHELL.indexOf(url.pathname) === -1) return;
  event.respondWith(fetch(event.request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(url.pathname, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(url.pathname).then(function (hit) { return hit || Response.error(); });
  }));
});

function syncAndTell() {
  var left = false;
  return CadenceStore.sync().then(function (takes) {
    left = takes.some(function (t) { return t.state === "queued"; });
    return self.clients.matchAll({ type: "window" });
  }).then(function (windows) {
    windows.forEach(function (client) { client.postMessage("takes-changed"); });
    if (left) throw new Error("takes still queued; the browser retries this sync later");
  });
}

self.addEventListener("sync", function (event) {
  if (event.tag === "cadence-upload") event.waitUntil(syncAndTell());
});

// Reminders: every push shows a notification (a silent push would cost the subscription on iOS).
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  event.waitUntil(self.registration.showNotification(data.title || "Cadence", {
    body: data.body || "{{ push_fallback_text|escapejs }}", tag: "cadence-reminder",
    icon: "{% static 'dashboard/favicon.svg' %}",
    data: { url: data.url || "{% url 'recorder:recorder' %}", delivery: data.delivery || "" }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var d = event.notification.data || {};
  var told = d.delivery ? fetch("{{ opened_url }}".replace("00000000-0000-0000-0000-000000000000", d.delivery),
                                { method: "POST" }).catch(function () {}) : Promise.resolve();
  var focus = self.clients.matchAll({ type: "window" }).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      if (new URL(windows[i].url).pathname === d.url && "focus" in windows[i]) return windows[i].focus();
    }
    return self.clients.openWindow(d.url);
  });
  event.waitUntil(Promise.all([told, focus]));
});
