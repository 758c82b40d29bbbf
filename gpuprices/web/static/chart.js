// The SKU chart: median with the p25–p75 band, sold median and list price per day (uPlot, vendored).
// Data comes from a JSON block in the page; every text is set with textContent, never as HTML.
(function () {
  "use strict";
  var holder = document.getElementById("chart");
  var source = document.getElementById("chart-data");
  if (!holder || !source || typeof uPlot === "undefined") return;
  var points = JSON.parse(source.textContent);
  var num = function (v) { return v === null || v === undefined ? null : Number(v); };
  var pick = function (side, key) {
    return points.map(function (p) { return p[side] ? num(p[side][key]) : null; });
  };
  var xs = points.map(function (p) { return Date.parse(p.day + "T00:00:00Z") / 1000; });
  var data = [xs, pick("asking", "median_usd"), pick("asking", "p25_usd"), pick("asking", "p75_usd"),
              pick("sold", "median_usd"), points.map(function (p) { return num(p.list_price_usd); })];
  var count = function (values) { return values.filter(function (v) { return v !== null; }).length; };
  holder.dataset.askingPoints = String(count(data[1]));
  holder.dataset.soldPoints = String(count(data[4]));
  var usd = function (v) { return v === null ? "—" : "$" + Math.round(v).toLocaleString("en-US"); };
  // Exact amounts from the decimal text ("40742.50" → "$40,742.50"): no float rounding in what people read.
  var money = function (text) {
    if (text === null || text === undefined) return "—";
    var parts = String(text).split(".");
    return "$" + parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (parts[1] ? "." + parts[1] : "");
  };
  var tooltip = document.getElementById("tooltip");

  function describe(i) {
    var p = points[i];
    var lines = [p.day];
    ["asking", "sold"].forEach(function (side) {
      var s = p[side];
      if (s) {
        lines.push(side + " median " + money(s.median_usd) + "  n=" + s.n +
                   "  p25/p75 " + money(s.p25_usd) + " / " + money(s.p75_usd));
      }
    });
    if (p.list_price_usd !== null) lines.push("list price " + money(p.list_price_usd));
    return lines.join("\n");
  }

  function showTooltip(u) {
    var i = u.cursor.idx;
    if (i === null || i === undefined || u.cursor.left < 0) { tooltip.hidden = true; return; }
    tooltip.textContent = describe(i);
    tooltip.hidden = false;
    var box = holder.getBoundingClientRect(), over = u.over.getBoundingClientRect();
    var left = over.left - box.left + u.valToPos(data[0][i], "x") + 12;
    tooltip.style.left = Math.max(0, Math.min(left, holder.clientWidth - 300)) + "px";
    tooltip.style.top = (over.top - box.top + 8) + "px";
  }

  var dot = { show: true, size: 6 };
  var options = {
    width: Math.max(holder.clientWidth, 320),
    height: 320,
    scales: { x: { time: true } },
    series: [
      { label: "day", value: function (u, v) { return v === null ? "—" : new Date(v * 1000).toISOString().slice(0, 10); } },
      { label: "asking median", stroke: "#1f6feb", width: 2, points: dot, value: function (u, v) { return usd(v); } },
      { label: "p25", stroke: "rgba(31,111,235,0.35)", points: { show: false }, value: function (u, v) { return usd(v); } },
      { label: "p75", stroke: "rgba(31,111,235,0.35)", points: { show: false }, value: function (u, v) { return usd(v); } },
      { label: "sold median", stroke: "#b35900", width: 2, points: dot, value: function (u, v) { return usd(v); } },
      { label: "list price", stroke: "#5f6b76", dash: [6, 4], points: { show: false }, value: function (u, v) { return usd(v); } }
    ],
    bands: [{ series: [3, 2], fill: "rgba(31,111,235,0.12)" }],
    // Whole days on the time axis: the index has one value per UTC day.
    axes: [{ incrs: [86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400, 365 * 86400],
             values: function (u, ticks) { return ticks.map(function (t) { return new Date(t * 1000).toISOString().slice(5, 10); }); } },
           { values: function (u, ticks) { return ticks.map(usd); }, size: 70 }],
    hooks: { setCursor: [showTooltip] }
  };
  var plot = new uPlot(options, data, holder);
  holder.addEventListener("mouseleave", function () { tooltip.hidden = true; });
  window.addEventListener("resize", function () { plot.setSize({ width: Math.max(holder.clientWidth, 320), height: 320 }); });
})();
