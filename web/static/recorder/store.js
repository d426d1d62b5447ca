/* Cadence recorder: the take queue in IndexedDB, shared by the page and the service worker.
   A take stays on the phone until the server has confirmed it (202/200); it is sent with an
   Idempotency-Key, so a retry after a lost answer, or a send from the page and the service worker at
   once, is still one recording. States: queued -> sent -> processed | rejected. */
(function (global) {
  "use strict";
  var DB_NAME = "cadence-recorder";
  var KEEP_FINISHED = 30;
  var API = { recordings: "/api/v1/recordings/", recording: "/api/v1/recordings/0/" };

  function request(req) {
    return new Promise(function (resolve, reject) {
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function open() {
    var req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = function () {
      req.result.createObjectStore("meta");
      req.result.createObjectStore("takes", { keyPath: "id" });
    };
    return request(req);
  }

  function withStore(name, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(name, mode);
        var result;
        tx.oncomplete = function () { db.close(); resolve(result); };
        tx.onabort = tx.onerror = function () { db.close(); reject(tx.error); };
        request(work(tx.objectStore(name))).then(function (value) { result = value; });
      });
    });
  }

  function getMeta(key) { return withStore("meta", "readonly", function (s) { return s.get(key); }); }
  function setMeta(key, value) { return withStore("meta", "readwrite", function (s) { return s.put(value, key); }); }
  function putTake(take) { return withStore("takes", "readwrite", function (s) { return s.put(take); }); }
  function deleteTake(id) { return withStore("takes", "readwrite", function (s) { return s.delete(id); }); }

  function allTakes() {
    return withStore("takes", "readonly", function (s) { return s.getAll(); }).then(function (takes) {
      return takes.sort(function (a, b) { return b.createdAt.localeCompare(a.createdAt); });
    });
  }

  function update(id, patch) {
    return withStore("takes", "readonly", function (s) { return s.get(id); }).then(function (take) {
      if (!take) return null;
      Object.keys(patch).forEach(function (k) { take[k] = patch[k]; });
      return putTake(take).then(function () { return take; });
    });
  }

  function newId() {
    if (global.crypto && global.crypto.randomUUID) return global.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    global.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function addTake(fields) {
    var id = newId();
    var take = Object.assign({
      id: id, idempotencyKey: "web-" + id, state: "queued", attempts: 0, reason: "", serverId: null,
      createdAt: new Date().toISOString()
    }, fields);
    return putTake(take).then(function () { return take; });
  }

  function TokenRevoked() { this.name = "TokenRevoked"; }

  function authHeaders() {
    return getMeta("token").then(function (token) {
      if (!token) throw new TokenRevoked();
      var headers = { Authorization: "Bearer " + token };
      // The API's sentences (a refused answer, a rejected take) in the page's language, not the browser's.
      if (typeof document !== "undefined" && document.documentElement.lang) {
        headers["Accept-Language"] = document.documentElement.lang;
      }
      return headers;
    });
  }

  /* The refusal's sentence and code ({detail, code}); the page shows its own words for the code. */
  function problem(response) {
    return response.json().then(function (body) { return { detail: body.detail || body.error || "", code: body.error || "" }; },
      function () { return { detail: "HTTP " + response.status, code: "" }; });
  }

  function upload(take) {
    return authHeaders().then(function (headers) {
      headers["Idempotency-Key"] = take.idempotencyKey;
      var form = new FormData();
      form.append("audio", take.blob, "take-" + take.id + "." + take.ext);
      form.append("recorded_at", take.recordedAt);
      form.append("task", take.task);
      form.append("task_detail", take.taskDetail || "");
      if (take.deviceModel) form.append("device_model", take.deviceModel);
      if (take.language) form.append("language", take.language);  // the language the take was spoken in
      return fetch(API.recordings, { method: "POST", headers: headers, body: form, credentials: "omit" });
    }).then(function (response) {
      if (response.status === 200 || response.status === 202) {
        return response.json().then(function (body) {
          // The server has the file: the phone's copy is no longer needed.
          return update(take.id, { state: "sent", serverId: body.id, blob: null, reason: "", sentAt: new Date().toISOString() });
        });
      }
      if (response.status === 401) throw new TokenRevoked();
      if (response.status === 429 || response.status >= 500) {
        return update(take.id, { attempts: take.attempts + 1, lastError: "HTTP " + response.status });
      }
      return problem(response).then(function (refusal) {
        return update(take.id, { state: "rejected", reason: refusal.detail, reasonCode: refusal.code, blob: null });
      });
    }, function (error) {
      if (error instanceof TokenRevoked) throw error;
      return update(take.id, { attempts: take.attempts + 1, lastError: String(error) });  // offline: try later
    });
  }

  function poll(take, messages) {
    return authHeaders().then(function (headers) {
      var url = API.recording.replace("/0/", "/" + take.serverId + "/");
      return fetch(url, { headers: headers, credentials: "omit", cache: "no-store" });
    }).then(function (response) {
      if (response.status === 401) throw new TokenRevoked();
      if (!response.ok) return take;
      return response.json().then(function (body) {
        if (body.status === "done") return update(take.id, { state: "processed" });
        if (body.status === "rejected") {
          return update(take.id, { state: "rejected", reason: body.status_reason, reasonCode: body.status_code || "" });
        }
        if (body.status === "failed") {
          return update(take.id, { state: "rejected", reason: (messages && messages.failed) || body.status_reason,
            reasonCode: body.status_code || "processing_failed" });
        }
        return take;
      });
    }, function (error) {
      if (error instanceof TokenRevoked) throw error;
      return take;
    });
  }

  var busy = null;

  /* Send every queued take, then ask for the state of every sent one; resolves to the list of takes.
     One run at a time per page or worker; a second caller waits for the running one. */
  function sync(messages) {
    if (busy) return busy;
    busy = allTakes().then(function (takes) {
      var chain = Promise.resolve();
      takes.forEach(function (take) {
        if (take.state === "queued" && take.blob) chain = chain.then(function () { return upload(take); });
      });
      return chain;
    }).then(allTakes).then(function (takes) {
      return Promise.all(takes.filter(function (t) { return t.state === "sent" && t.serverId; })
        .map(function (t) { return poll(t, messages); }));
    }).then(prune).then(allTakes).then(function (takes) {
      return setMeta("tokenRevoked", false).then(function () { return takes; });
    }, function (error) {
      if (error instanceof TokenRevoked) return setMeta("tokenRevoked", true).then(allTakes);
      throw error;
    }).finally(function () { busy = null; });
    return busy;
  }

  function prune() {
    return allTakes().then(function (takes) {
      var finished = takes.filter(function (t) { return t.state === "processed" || t.state === "rejected"; });
      return Promise.all(finished.slice(KEEP_FINISHED).map(function (t) { return deleteTake(t.id); }));
    });
  }

  global.CadenceStore = {
    configure: function (urls) { API.recordings = urls.recordings; API.recording = urls.recording; },
    getMeta: getMeta, setMeta: setMeta, addTake: addTake, allTakes: allTakes, sync: sync, authHeaders: authHeaders,
    TokenRevoked: TokenRevoked
  };
})(self);
