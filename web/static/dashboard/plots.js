/* Cadence patient plots: small hand-written SVG charts, no libraries, nothing fetched.
   Reads the JSON in <script id="plot-data"> (made by the patient view) and draws into
   <figure data-plot="risk"> and <figure data-plot="feature" data-feature="...">. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  /* The page's sentences in its language (the patient view's "text"), English when absent; {name} is filled in. */
  var WORDS = {risk_summary: "Predicted PHQ-9 over time: {scores} scores, {answers} PHQ-9 answers",
    risk_latest: "; latest predicted {value}", risk_point: "predicted PHQ-9",
    legend: ["Predicted PHQ-9", "Interval", "P(PHQ-9 ≥ 10)", "PHQ-9 answered"],
    feature_summary: "{label}: {n} measurements", feature_baseline: ", baseline {median} ± {scale} {unit}",
    feature_no_baseline: ", no baseline", no_data: "No measurements yet"};
  function say(key, values) {
    return String(WORDS[key]).replace(/\{(\w+)\}/g, function (all, name) {
      return values && values[name] !== undefined ? String(values[name]) : all;
    });
  }

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, s, attrs) {
    var t = el("text", Object.assign({x: x, y: y}, attrs || {}), parent);
    t.textContent = s;
    return t;
  }
  function title(parent, s) { el("title", {}, parent).textContent = s; }
  function scale(d0, d1, r0, r1) {
    var span = d1 - d0 || 1;
    return function (v) { return r0 + (v - d0) * (r1 - r0) / span; };
  }
  function isNum(v) { return typeof v === "number" && isFinite(v); }
  function fmtDate(ms) { var d = new Date(ms); return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()]; }
  function fmt(v, digits) { return isNum(v) ? v.toFixed(digits) : "–"; }
  function r1(v) { return Math.round(v * 10) / 10; }

  /* Path through points, broken where a value is missing. */
  function linePath(points, x, y) {
    var d = "", pen = false;
    points.forEach(function (p) {
      if (!isNum(p.v)) { pen = false; return; }
      d += (pen ? "L" : "M") + r1(x(p.t)) + "," + r1(y(p.v));
      pen = true;
    });
    return d;
  }

  function niceTicks(lo, hi, count) {
    var step = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(step || 1)));
    var norm = step / mag, nice = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
    step = nice * mag;
    var ticks = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) ticks.push(Math.round(v / step) * step);
    return ticks;
  }

  function timeAxis(svg, x, t0, t1, y0, width) {
    var g = el("g", {"class": "axis"}, svg);
    el("line", {x1: x(t0), x2: x(t1), y1: y0, y2: y0}, g);
    var n = Math.max(2, Math.min(6, Math.floor(width / 110)));
    for (var i = 0; i <= n; i++) {
      var t = t0 + (t1 - t0) * i / n;
      el("line", {x1: r1(x(t)), x2: r1(x(t)), y1: y0, y2: y0 + 4}, g);
      text(g, r1(x(t)), y0 + 16, fmtDate(t), {"text-anchor": i === 0 ? "start" : i === n ? "end" : "middle"});
    }
  }

  function valueAxis(svg, y, ticks, x0, x1, side, label) {
    var g = el("g", {"class": "axis"}, svg);
    ticks.forEach(function (v) {
      if (side === "left") el("line", {"class": "grid", x1: x0, x2: x1, y1: r1(y(v)), y2: r1(y(v))}, g);
      var tx = side === "left" ? x0 - 6 : x1 + 6;
      text(g, tx, r1(y(v)) + 4, label(v), {"text-anchor": side === "left" ? "end" : "start"});
    });
  }

  function newSvg(fig, width, height, label) {
    var svg = el("svg", {viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": label,
                         preserveAspectRatio: "xMidYMid meet"});
    fig.insertBefore(svg, fig.querySelector("figcaption").nextSibling);
    return svg;
  }

  function diamond(cx, cy, r) {
    return "M" + r1(cx) + "," + r1(cy - r) + "L" + r1(cx + r) + "," + r1(cy) + "L" + r1(cx) + "," + r1(cy + r) +
      "L" + r1(cx - r) + "," + r1(cy) + "Z";
  }

  function drawRisk(fig, data, domain) {
    var W = 900, H = 280, m = {l: 40, r: 48, t: 28, b: 28};
    var scores = data.scores, phq9 = data.phq9;
    // The PHQ-9 scale comes from the page (clinic.phq9 is the one place that defines it).
    var MAX_PHQ9 = data.phq9_scale.max, CUTOFF = data.phq9_scale.cutoff;
    var svg = newSvg(fig, W, H, say("risk_summary", {scores: scores.length, answers: phq9.length}) +
      (scores.length ? say("risk_latest", {value: fmt(scores[scores.length - 1].v, 1)}) : ""));
    var x = scale(domain[0], domain[1], m.l, W - m.r);
    var y = scale(0, MAX_PHQ9, H - m.b, m.t), yp = scale(0, 1, H - m.b, m.t);
    valueAxis(svg, y, data.phq9_scale.bands.concat([MAX_PHQ9]), m.l, W - m.r, "left", String);
    valueAxis(svg, yp, [0, 0.25, 0.5, 0.75, 1], m.l, W - m.r, "right", function (v) { return Math.round(v * 100) + "%"; });
    timeAxis(svg, x, domain[0], domain[1], H - m.b, W);
    el("line", {"class": "cutoff", x1: m.l, x2: W - m.r, y1: y(CUTOFF), y2: y(CUTOFF)}, svg);

    var banded = scores.filter(function (s) { return isNum(s.lo) && isNum(s.hi); });
    if (banded.length) {
      var up = banded.map(function (s) { return r1(x(s.t)) + "," + r1(y(s.hi)); });
      var down = banded.slice().reverse().map(function (s) { return r1(x(s.t)) + "," + r1(y(s.lo)); });
      el("path", {"class": "band", d: "M" + up.join("L") + "L" + down.join("L") + "Z"}, svg);
    }
    var risk = linePath(scores, x, y);
    if (risk) el("path", {"class": "series-risk", d: risk}, svg);
    var prob = linePath(scores.map(function (s) { return {t: s.t, v: s.p}; }), x, yp);
    if (prob) el("path", {"class": "series-prob", d: prob}, svg);
    scores.forEach(function (s) {
      if (isNum(s.p)) el("circle", {"class": "dot-prob", cx: r1(x(s.t)), cy: r1(yp(s.p)), r: 2.5}, svg);
      if (!isNum(s.v)) return;
      var c = el("circle", {"class": "dot-risk", cx: r1(x(s.t)), cy: r1(y(s.v)), r: 3}, svg);
      title(c, fmtDate(s.t) + ": " + say("risk_point") + " " + fmt(s.v, 1) + (isNum(s.lo) ? " (" + fmt(s.lo, 1) + "–" +
        fmt(s.hi, 1) + ")" : "") + (isNum(s.p) ? ", P(≥10) " + Math.round(s.p * 100) + "%" : ""));
    });
    phq9.forEach(function (q) {
      var d = el("path", {"class": "phq9 phq9-point", d: diamond(x(q.t), y(q.v), 6)}, svg);
      title(d, fmtDate(q.t) + ": PHQ-9 " + q.v + " (" + q.severity + ")");
    });
    legend(svg, m.l + 4, 14, [["series-risk", WORDS.legend[0]], ["band", WORDS.legend[1]],
      ["series-prob", WORDS.legend[2]], ["phq9", WORDS.legend[3]]]);
  }

  function legend(svg, x0, y0, items) {
    var g = el("g", {"class": "legend"}, svg), x = x0;
    items.forEach(function (it) {
      if (it[0] === "phq9") el("path", {"class": "phq9", d: diamond(x + 8, y0 - 4, 5)}, g);
      else if (it[0] === "band") el("rect", {"class": "band", x: x, y: y0 - 9, width: 16, height: 10}, g);
      else el("line", {"class": it[0], x1: x, x2: x + 16, y1: y0 - 4, y2: y0 - 4}, g);
      text(g, x + 21, y0, it[1]);
      x += 34 + it[1].length * 7.4;
    });
  }

  function drawFeature(fig, feat, domain) {
    var W = 360, H = 170, m = {l: 44, r: 10, t: 10, b: 26};
    var points = feat.points.filter(function (p) { return isNum(p.v); });
    var base = feat.baseline && isNum(feat.baseline.median) ? feat.baseline : null;
    var svg = newSvg(fig, W, H, say("feature_summary", {label: feat.label, n: points.length}) +
      (base ? say("feature_baseline", {median: fmt(base.median, 2), scale: fmt(base.scale, 2), unit: feat.unit})
        : say("feature_no_baseline")));
    if (!points.length) {
      text(svg, W / 2, H / 2, say("no_data"), {"class": "no-data", "text-anchor": "middle"});
      return;
    }
    var values = points.map(function (p) { return p.v; });
    if (base) { values.push(base.median - (base.scale || 0)); values.push(base.median + (base.scale || 0)); }
    var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values), pad = (hi - lo) * 0.12 || Math.abs(hi) * 0.1 || 1;
    var x = scale(domain[0], domain[1], m.l, W - m.r), y = scale(lo - pad, hi + pad, H - m.b, m.t);
    var ticks = niceTicks(lo - pad, hi + pad, 4);
    var digits = ticks.length > 1 && Math.abs(ticks[1] - ticks[0]) < 1 ? (Math.abs(ticks[1] - ticks[0]) < 0.1 ? 2 : 1) : 0;
    valueAxis(svg, y, ticks, m.l, W - m.r, "left", function (v) { return v.toFixed(digits); });
    timeAxis(svg, x, domain[0], domain[1], H - m.b, W);
    if (base) {
      var s = base.scale || 0;
      el("rect", {"class": "baseline-band", x: m.l, width: W - m.l - m.r, y: r1(y(base.median + s)),
                  height: Math.max(1, r1(y(base.median - s) - y(base.median + s)))}, svg);
      el("line", {"class": "baseline-median", x1: m.l, x2: W - m.r, y1: r1(y(base.median)), y2: r1(y(base.median))}, svg);
    }
    el("path", {"class": "series-feature", d: linePath(points, x, y)}, svg);
    points.forEach(function (p) {
      var outside = base && base.scale && Math.abs(p.v - base.median) > base.scale;
      var c = el("circle", {"class": outside ? "dot-outside" : "dot-feature", cx: r1(x(p.t)), cy: r1(y(p.v)), r: 3}, svg);
      title(c, fmtDate(p.t) + ": " + fmt(p.v, 2) + " " + feat.unit + (outside ? " (outside the baseline band)" : ""));
    });
  }

  function timeDomain(data) {
    var ts = [];
    data.scores.forEach(function (s) { ts.push(s.t); });
    data.phq9.forEach(function (q) { ts.push(q.t); });
    Object.keys(data.features).forEach(function (k) { data.features[k].points.forEach(function (p) { ts.push(p.t); }); });
    if (!ts.length) { var now = Date.now(); return [now - 7 * 864e5, now]; }
    var lo = Math.min.apply(null, ts), hi = Math.max.apply(null, ts);
    if (hi - lo < 864e5) { lo -= 864e5; hi += 864e5; }
    var pad = (hi - lo) * 0.02;
    return [lo - pad, hi + pad];
  }

  function parseTimes(data) {
    function t(p) { p.t = Date.parse(p.t); }
    data.scores.forEach(t);
    data.phq9.forEach(t);
    Object.keys(data.features).forEach(function (k) { data.features[k].points.forEach(t); });
    return data;
  }

  function main() {
    var source = document.getElementById("plot-data");
    if (!source) return;
    var data = parseTimes(JSON.parse(source.textContent));
    if (data.text) {
      Object.keys(data.text).forEach(function (k) { if (k !== "months") WORDS[k] = data.text[k]; });
      if (data.text.months && data.text.months.length === 12) MONTHS = data.text.months;
    }
    var domain = timeDomain(data);
    document.querySelectorAll("figure[data-plot='risk']").forEach(function (fig) { drawRisk(fig, data, domain); });
    document.querySelectorAll("figure[data-plot='feature']").forEach(function (fig) {
      var feat = data.features[fig.getAttribute("data-feature")];
      if (feat) drawFeature(fig, feat, domain);
    });
    document.documentElement.setAttribute("data-plots-ready", "true");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
  else main();
})();
