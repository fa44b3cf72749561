/* kefuguard report: draws the SVG charts from the embedded JSON and wires the filters.
   No libraries and no network: everything the page needs is in the page. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var data = JSON.parse(document.getElementById("kg-data").textContent || "{}");

  function el(name, attrs, text) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function niceMax(v) {
    if (v <= 0) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
  }

  function fmt(v) {
    return Math.round(v) === v ? v.toLocaleString("zh-CN") : v.toFixed(1);
  }

  /* draw at the box's real pixel width so 12px text stays 12px */
  function width(box) {
    return Math.max(280, Math.round(box.getBoundingClientRect().width) || 560);
  }

  function clip(text, n) {
    return text.length > n ? text.slice(0, n - 1) + "…" : text;
  }

  /* vertical bars: one per item, value on top, label below */
  function columnChart(box, items) {
    var W = width(box), H = 260, L = 40, R = 10, T = 18, B = 34;
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, class: "chart-svg", "data-kind": "column" });
    var max = niceMax(Math.max.apply(null, items.map(function (d) { return d.value; }).concat([0])));
    var plotW = W - L - R, plotH = H - T - B;
    for (var g = 0; g <= 4; g++) {
      var gy = T + plotH - plotH * g / 4;
      svg.appendChild(el("line", { x1: L, x2: W - R, y1: gy, y2: gy, class: g ? "grid" : "axis" }));
      svg.appendChild(el("text", { x: L - 6, y: gy + 4, "text-anchor": "end" }, fmt(max * g / 4)));
    }
    var slot = plotW / Math.max(items.length, 1), bw = Math.min(56, slot * 0.62);
    items.forEach(function (d, i) {
      var h = plotH * d.value / max, x = L + slot * i + (slot - bw) / 2, y = T + plotH - h;
      var rect = el("rect", { x: x, y: y, width: bw, height: Math.max(h, d.value ? 1 : 0), rx: 3,
        class: "bar " + (d.tone || ""), "data-label": d.label, "data-value": d.value });
      rect.appendChild(el("title", {}, d.label + "：" + fmt(d.value)));
      svg.appendChild(rect);
      svg.appendChild(el("text", { x: x + bw / 2, y: y - 5, "text-anchor": "middle", class: "value" }, fmt(d.value)));
      svg.appendChild(el("text", { x: x + bw / 2, y: H - B + 18, "text-anchor": "middle" }, clip(d.label, 8)));
    });
    box.appendChild(svg);
  }

  /* horizontal bars: label left, value right; `fixedMax` for scores out of 100 */
  function barChart(box, items, fixedMax) {
    var row = 28, W = width(box), L = Math.min(150, W * 0.3), R = 56, T = 6;
    var H = T * 2 + row * Math.max(items.length, 1);
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, class: "chart-svg", "data-kind": "bar" });
    var max = fixedMax || niceMax(Math.max.apply(null, items.map(function (d) { return d.value; }).concat([0])));
    var plotW = W - L - R;
    svg.appendChild(el("line", { x1: L, x2: L, y1: T, y2: H - T, class: "axis" }));
    items.forEach(function (d, i) {
      var y = T + row * i, w = plotW * Math.min(d.value, max) / max;
      var label = el("text", { x: L - 8, y: y + row / 2 + 4, "text-anchor": "end" }, clip(d.label, 11));
      if (d.sub) label.appendChild(el("title", {}, d.label + " · " + d.sub));
      svg.appendChild(label);
      var rect = el("rect", { x: L, y: y + 5, width: Math.max(w, d.value ? 1 : 0), height: row - 10, rx: 3,
        class: "bar " + (d.tone || ""), "data-label": d.label, "data-value": d.value });
      rect.appendChild(el("title", {}, d.label + (d.sub ? "（" + d.sub + "）" : "") + "：" + fmt(d.value)));
      svg.appendChild(rect);
      var shown = fixedMax ? d.value.toFixed(1) : fmt(d.value);
      svg.appendChild(el("text", { x: L + w + 6, y: y + row / 2 + 4, class: "value" }, shown));
    });
    box.appendChild(svg);
  }

  function empty(box) {
    var p = document.createElement("p");
    p.className = "muted";
    p.textContent = "没有数据";
    box.appendChild(p);
  }

  var charts = {
    histogram: function (box) { columnChart(box, data.histogram || []); },
    categories: function (box) { barChart(box, data.categories || []); },
    agents: function (box) { barChart(box, data.agents || [], 100); }
  };
  document.querySelectorAll("[data-chart]").forEach(function (box) {
    var kind = box.getAttribute("data-chart");
    var items = data[kind] || [];
    if (!items.length) return empty(box);
    charts[kind](box);
  });

  /* sortable agent table */
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("th[data-sort]");
    heads.forEach(function (th, col) {
      th.addEventListener("click", function () {
        var asc = !th.classList.contains("sorted-asc");
        heads.forEach(function (h) { h.classList.remove("sorted-asc", "sorted-desc"); });
        th.classList.add(asc ? "sorted-asc" : "sorted-desc");
        var numeric = th.getAttribute("data-sort") === "num";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          var vx = numeric ? parseFloat(x.getAttribute("data-v")) : x.textContent.trim();
          var vy = numeric ? parseFloat(y.getAttribute("data-v")) : y.textContent.trim();
          var c = numeric ? vx - vy : String(vx).localeCompare(String(vy), "zh-CN");
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });

  /* conversation filters */
  var shop = document.getElementById("filter-shop");
  var sev = document.getElementById("filter-severity");
  var abuse = document.getElementById("filter-abuse");
  var count = document.getElementById("filter-count");
  var convs = document.querySelectorAll("article.conv");
  function applyFilters() {
    var shown = 0;
    convs.forEach(function (c) {
      var ok = (!shop || !shop.value || c.getAttribute("data-shop") === shop.value) &&
        (!sev || !sev.value || c.getAttribute("data-severity") === sev.value) &&
        (!abuse || !abuse.checked || c.getAttribute("data-abuse") === "yes");
      c.classList.toggle("hidden", !ok);
      if (ok) shown++;
    });
    if (count) count.textContent = "显示 " + shown + " / " + convs.length + " 个会话";
  }
  [shop, sev, abuse].forEach(function (x) { if (x) x.addEventListener("change", applyFilters); });
  applyFilters();
})();
