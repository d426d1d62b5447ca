/* Cadence recorder page: today's task, recording with a level meter, the on-device check, the take list.
   Takes go through CadenceStore (IndexedDB) and are sent by it, here and from the service worker. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("recorder-config").textContent);
  var M = config.messages;
  var $ = function (id) { return document.getElementById(id); };
  // Bit rates: the lowest setting of each codec at which the server keeps every voice feature it can
  // (voice_features/codec_trust.py; Opus 64 kbit/s keeps all, AAC 128 kbit/s all but F1 and the MFCC SDs).
  var FORMATS = [
    { mime: "audio/webm;codecs=opus", ext: "webm", bitRate: 64000 },
    { mime: "audio/mp4;codecs=mp4a.40.2", ext: "m4a", bitRate: 128000 },
    { mime: "audio/mp4", ext: "m4a", bitRate: 128000 },
    { mime: "audio/ogg;codecs=opus", ext: "ogg", bitRate: 64000 },
    { mime: "audio/webm", ext: "webm", bitRate: 64000 }
  ];
  var QUIET_RMS = 0.01;        // -40 dBFS: below this a window counts as silence
  var MIN_VOICED_SHARE = 0.15; // at least this share of windows must be louder
  var MAX_CLIPPED_SHARE = 0.001;

  CadenceStore.configure(config.urls);
  var today = todaysTask();
  var session = null;  // the recording in progress
  var pending = null;  // the finished take awaiting Send or Record again
  var retryDelay = 5000, retryTimer = null;
  var deviceModel = "";  // the phone's model where the browser tells it, sent with each take

  function fill(template, values) {
    return template.replace("{n}", values.n).replace("{s}", values.s);
  }

  function dayNumber() {
    var now = new Date();
    return Math.floor((now.getTime() - now.getTimezoneOffset() * 60000) / 86400000);
  }

  function todaysTask() {
    var day = dayNumber(), tasks = config.tasks;
    var task = tasks[day % tasks.length];
    var texts = task.texts;
    var chosen = texts.length ? texts[Math.floor(day / tasks.length) % texts.length] : { detail: "", text: "" };
    return { code: task.code, title: task.title, instructions: task.instructions, detail: chosen.detail,
      text: chosen.text, minS: chosen.minS || 0 };
  }

  function showTask() {
    $("task-name").textContent = today.title;
    $("task-instructions").textContent = today.instructions;
    if (today.text) { $("task-text").textContent = today.text; $("task-text").hidden = false; }
  }

  function formatTime(seconds) {
    var s = Math.floor(seconds);
    return Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
  }

  function pickFormat() {
    if (!window.MediaRecorder) return null;
    for (var i = 0; i < FORMATS.length; i++) {
      if (MediaRecorder.isTypeSupported(FORMATS[i].mime)) return FORMATS[i];
    }
    return null;
  }

  function showError(text) { $("record-error").textContent = text; $("record-error").hidden = !text; }

  function findDeviceModel() {
    // Chromium tells the model through User-Agent Client Hints; other Android browsers still put it in the
    // user agent ("Android 14; Pixel 8 Build/..."). "K" is the placeholder of Chrome's reduced user agent.
    var uaData = navigator.userAgentData;
    if (uaData && uaData.getHighEntropyValues) {
      uaData.getHighEntropyValues(["model"]).then(function (values) {
        if (values.model) deviceModel = values.model;
      }, function () {});
    }
    var match = /Android [^;)]*;\s*([^;)]+?)(?:\s+Build\/[^;)]*)?\s*[;)]/.exec(navigator.userAgent);
    if (match && match[1] !== "K" && !/^(wv|Mobile|Linux)$/.test(match[1])) deviceModel = match[1];
    else if (/iPhone/.test(navigator.userAgent)) deviceModel = "iPhone";
    else if (/iPad/.test(navigator.userAgent)) deviceModel = "iPad";
  }

  function start() {
    showError("");
    if (!window.isSecureContext) { showError(M.insecure); return; }
    var format = pickFormat();
    if (!format || !navigator.mediaDevices) { showError(M.noRecorder); return; }
    // Created within the tap: browsers only let a page start audio processing in answer to a gesture.
    var audio = new (window.AudioContext || window.webkitAudioContext)();
    navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false,
      autoGainControl: false } }).then(function (stream) { begin(stream, format, audio); }, function () {
      audio.close();
      showError(M.noMicrophone);
    });
  }

  function monoStream(audio, source, stream) {
    // Phones (and Chromium's microphone) often deliver two channels even when asked for one; mixed down here,
    // the take is stored as the mono it is meant to be.
    if (!audio.createMediaStreamDestination) return stream;
    var mono = audio.createMediaStreamDestination();
    mono.channelCount = 1;
    mono.channelCountMode = "explicit";
    mono.channelInterpretation = "speakers";
    source.connect(mono);
    return mono.stream;
  }

  function begin(stream, format, audio) {
    if (audio.state === "suspended") audio.resume();
    var analyser = audio.createAnalyser();
    analyser.fftSize = 2048;
    var source = audio.createMediaStreamSource(stream);
    source.connect(analyser);
    var recorder = new MediaRecorder(monoStream(audio, source, stream), { mimeType: format.mime,
      audioBitsPerSecond: format.bitRate });
    session = { stream: stream, audio: audio, analyser: analyser, recorder: recorder, format: format, chunks: [],
      startedAt: performance.now(), recordedAt: new Date().toISOString(), windows: 0, voiced: 0, clipped: 0,
      samples: 0, buffer: new Float32Array(analyser.fftSize) };
    recorder.ondataavailable = function (e) { if (e.data && e.data.size) session.chunks.push(e.data); };
    recorder.onstop = finish;
    recorder.start(1000);
    if (navigator.wakeLock) {  // keep the screen on while the patient reads from it
      navigator.wakeLock.request("screen").then(function (lock) { if (session) session.wakeLock = lock; }, function () {});
    }
    session.timer = setInterval(measure, 100);
    $("start").hidden = true; $("stop").hidden = false; $("check").hidden = true;
    $("stop").focus();
  }

  function measure() {
    var s = session, buf = s.buffer, sum = 0, clipped = 0;
    s.analyser.getFloatTimeDomainData(buf);
    for (var i = 0; i < buf.length; i++) {
      sum += buf[i] * buf[i];
      if (Math.abs(buf[i]) >= 0.999) clipped++;
    }
    var rms = Math.sqrt(sum / buf.length);
    s.windows++; s.samples += buf.length; s.clipped += clipped;
    if (rms > QUIET_RMS) s.voiced++;
    var level = Math.max(0, Math.min(100, Math.round((20 * Math.log10(rms + 1e-9) + 60) / 60 * 100)));
    $("level").setAttribute("aria-valuenow", String(level));
    $("level").firstElementChild.style.width = level + "%";
    var elapsed = (performance.now() - s.startedAt) / 1000;
    $("elapsed").textContent = formatTime(elapsed);
    if (elapsed >= config.maxDurationS) stop();
  }

  function stop() {
    if (!session || session.recorder.state === "inactive") return;
    clearInterval(session.timer);
    session.durationS = (performance.now() - session.startedAt) / 1000;
    session.recorder.stop();
    session.stream.getTracks().forEach(function (t) { t.stop(); });
    session.audio.close();
    if (session.wakeLock) session.wakeLock.release().catch(function () {});
    $("level").setAttribute("aria-valuenow", "0");
    $("level").firstElementChild.style.width = "0%";
  }

  function verdict(s) {
    if (s.durationS < config.minDurationS) {
      return { ok: false, blocking: true, text: fill(M.tooShort, { n: s.durationS.toFixed(1), s: Math.ceil(config.minDurationS) }) };
    }
    if (s.durationS < today.minS) {
      return { ok: false, blocking: true, text: fill(M.stoppedEarly, { n: Math.round(s.durationS), s: "" }) };
    }
    if (s.windows === 0 || s.voiced / s.windows < MIN_VOICED_SHARE) return { ok: false, text: M.tooQuiet };
    if (s.clipped / Math.max(1, s.samples) > MAX_CLIPPED_SHARE) return { ok: false, text: M.clipped };
    return { ok: true, text: M.checkOk };
  }

  function finish() {
    var s = session;
    session = null;
    var blob = new Blob(s.chunks, { type: s.format.mime.split(";")[0] });
    var result = verdict(s);
    pending = { blob: blob, ext: s.format.ext, mimeType: blob.type, recordedAt: s.recordedAt, task: today.code,
      taskDetail: today.detail, deviceModel: deviceModel, language: config.language,
      durationS: Math.round(s.durationS * 10) / 10 };
    var preview = $("preview");
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(blob);
    $("check-text").textContent = result.text;
    $("check").className = "check " + (result.ok ? "check-ok" : "check-problem");
    $("send").hidden = !!result.blocking;
    $("send").textContent = result.ok ? $("send").dataset.label : $("send").dataset.anyway;
    $("stop").hidden = true; $("start").hidden = true; $("check").hidden = false; $("record-bar").hidden = true;
    (result.ok ? $("send") : $("retake")).focus();
  }

  function retake() {
    pending = null;
    $("check").hidden = true; $("start").hidden = false; $("record-bar").hidden = false; $("elapsed").textContent = "0:00";
    $("start").focus();
  }

  function send() {
    if (!pending) return;
    var take = pending;
    pending = null;
    CadenceStore.addTake(take).then(function () {
      retake();
      return render();
    }).then(function () {
      requestBackgroundSync();
      syncNow();
    }, function (error) { showError(String(error)); });
  }

  function requestBackgroundSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.sync) return reg.sync.register("cadence-upload");
    }).catch(function () { /* the page's own retries still run */ });
  }

  function stateText(take) {
    if (take.state === "rejected") {  // in the patient's words by the server's code; a take stored before codes: as sent
      var reasons = M.reasons || {};
      var why = take.reasonCode !== undefined ? (reasons[take.reasonCode] || reasons.other) : take.reason;
      return M.rejected + ": " + (why || "");
    }
    return M[take.state] || take.state;
  }

  function render() {
    return CadenceStore.allTakes().then(function (takes) {
      var list = $("takes");
      list.textContent = "";
      $("no-takes").hidden = takes.length > 0;
      takes.forEach(function (take) {
        var item = document.createElement("li");
        item.className = "take take-" + take.state;
        item.dataset.state = take.state;
        var when = new Date(take.recordedAt).toLocaleString(document.documentElement.lang || [], { dateStyle: "medium", timeStyle: "short" });
        var head = document.createElement("span");
        head.className = "take-when";
        head.textContent = fill(M.recordedOn, { s: when }) + " · " + formatTime(take.durationS || 0);
        var state = document.createElement("span");
        state.className = "take-state";
        state.textContent = stateText(take);
        item.appendChild(head); item.appendChild(state);
        list.appendChild(item);
      });
      return takes;
    });
  }

  function scheduleSync(takes) {
    clearTimeout(retryTimer);
    var waiting = takes.some(function (t) { return t.state === "queued"; });
    var sent = takes.some(function (t) { return t.state === "sent"; });
    if (!waiting && !sent) { retryDelay = 5000; return; }
    retryDelay = waiting && !navigator.onLine ? 30000 : (sent && !waiting ? 3000 : Math.min(retryDelay * 2, 120000));
    retryTimer = setTimeout(syncNow, retryDelay);
  }

  function syncNow() {
    return CadenceStore.sync(M).then(function () {
      return Promise.all([render(), CadenceStore.getMeta("tokenRevoked"), CadenceStore.getMeta("token")]);
    }).then(function (r) {
      showLinkState(r[2], r[1]);
      scheduleSync(r[0]);
    }, function (error) { showError(String(error)); });
  }

  function showLinkState(token, revoked) {
    var box = $("not-linked");
    box.textContent = !token ? M.notLinked : (revoked ? M.tokenRevoked : "");
    box.hidden = !box.textContent;
    $("start").disabled = !token;
  }

  function showConnection() {
    $("connection").textContent = navigator.onLine ? "" : M.offline;
    $("connection").hidden = navigator.onLine;
  }

  // The page speaks its patient's language (set by the care team, GET /api/v1/patient/): when the care team has
  // set or changed it, the page reloads once in it (the server remembers it for this phone); without a network,
  // or in a language Cadence does not speak, the page stays as it is (the browser's language).
  function followPatientLanguage(token) {
    var asked = /[?&]lang=/.test(location.search);
    if (asked) history.replaceState(null, "", location.pathname);
    if (!token || asked) return;
    CadenceStore.authHeaders().then(function (headers) {
      return fetch(config.urls.patient, { headers: headers, credentials: "omit", cache: "no-store" });
    }).then(function (response) { return response.ok ? response.json() : null; }).then(function (body) {
      var wanted = body && body.interface_language;
      if (wanted && wanted !== config.language && config.languages.indexOf(wanted) !== -1 && !session && !pending) {
        location.replace(config.urls.recorder + "?lang=" + encodeURIComponent(wanted));
      }
    }, function () { /* offline: keep the page as it is */ });
  }

  function init() {
    showTask();
    showConnection();
    findDeviceModel();
    if (!window.isSecureContext) { $("insecure").textContent = M.insecure; $("insecure").hidden = false; }
    $("send").dataset.label = $("send").textContent;
    $("start").addEventListener("click", start);
    $("stop").addEventListener("click", stop);
    $("retake").addEventListener("click", retake);
    $("send").addEventListener("click", send);
    window.addEventListener("online", function () { showConnection(); retryDelay = 5000; syncNow(); });
    window.addEventListener("offline", showConnection);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) syncNow(); });
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register(config.urls.serviceWorker, { scope: config.urls.recorder }).catch(function () {});
      navigator.serviceWorker.addEventListener("message", function (e) { if (e.data === "takes-changed") render(); });
    }
    CadenceStore.getMeta("token").then(function (token) { showLinkState(token, false); followPatientLanguage(token); });
    render().then(syncNow);
  }

  init();
})();
