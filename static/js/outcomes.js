// The outcomes dashboard's two charts, drawn with the vendored Chart.js: response and remission
// rates by quarter (one colour and point shape per treatment; remission dashed) and courses
// started by quarter. Data comes from <script type="application/json" id="report-data"> (no
// inline script, so the page keeps its 'self'-only Content Security Policy). The table under
// the charts holds every figure, for screen readers and for anyone without JavaScript.
(function () {
  "use strict";

  var source = document.getElementById("report-data");
  var ratesCanvas = document.getElementById("report-rates-chart");
  var startedCanvas = document.getElementById("report-started-chart");
  if (!source || !ratesCanvas || !startedCanvas || typeof window.Chart === "undefined") return;

  var data = JSON.parse(source.textContent);
  var css = window.getComputedStyle(document.documentElement);
  function cssVar(name, fallback) {
    return (css.getPropertyValue(name) || "").trim() || fallback;
  }
  var muted = cssVar("--muted", "#5b6576");
  var border = cssVar("--border", "#dde1e8");
  // The colours of the cards' swatches (static/css/trellis.css); shapes repeat the difference.
  var looks = {
    iv_ketamine: { colour: cssVar("--report-iv-ketamine", "#0f6e68"), point: "circle" },
    esketamine: { colour: cssVar("--report-esketamine", "#2753a6"), point: "rectRot" },
    tms: { colour: cssVar("--report-tms", "#b15c12"), point: "triangle" },
  };
  function look(modality) {
    return looks[modality] || { colour: muted, point: "rect" };
  }
  // "2026-Q1" written on two lines, "Q1" over "2026", so the axis needs no slanting.
  var labels = data.quarters.map(function (code) {
    var parts = code.split("-");
    return parts.length === 2 ? [parts[1], parts[0]] : code;
  });
  var font = { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" };
  window.Chart.defaults.font.family = font.family;
  window.Chart.defaults.color = muted;

  function percent(rate) {
    return rate === null || rate === undefined ? null : Math.round(rate * 1000) / 10;
  }

  var rateSets = [];
  data.series.forEach(function (series) {
    var style = look(series.modality);
    [
      { key: "response", count: "responders", words: "responded", dash: [] },
      { key: "remission", count: "remitters", words: "remitted", dash: [6, 4] },
    ].forEach(function (kind) {
      rateSets.push({
        modality: series.modality,
        kind: kind.key,
        label: series.label + " · " + kind.words,
        data: series[kind.key].map(percent),
        counts: series[kind.count],
        assessed: series.assessed,
        words: kind.words,
        borderColor: style.colour,
        backgroundColor: style.colour,
        borderDash: kind.dash,
        borderWidth: kind.dash.length ? 2 : 2.5,
        pointStyle: style.point,
        pointRadius: 4,
        pointHoverRadius: 6,
        spanGaps: true,
        tension: 0,
      });
    });
  });

  function matching(chart, key, value) {
    var found = [];
    chart.data.datasets.forEach(function (set, i) { if (set[key] === value) found.push(i); });
    return found;
  }
  function hiddenIn(chart) {
    return function (i) { return !chart.isDatasetVisible(i); };
  }

  new window.Chart(ratesCanvas, {
    type: "line",
    data: { labels: labels, datasets: rateSets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "nearest", intersect: false, axis: "x" },
      scales: {
        x: { grid: { display: false }, border: { color: border }, ticks: { maxRotation: 0 } },
        y: {
          min: 0,
          max: 100,
          border: { color: border },
          grid: { color: "rgba(0,0,0,0.05)" },
          ticks: { stepSize: 20, callback: function (v) { return v + " %"; } },
          title: { display: true, text: "Assessed courses" },
        },
      },
      plugins: {
        legend: {
          position: "bottom",
          // One entry per treatment (its colour and point shape), then the two line styles;
          // a click hides or shows both lines of a treatment, or one kind across treatments.
          labels: {
            usePointStyle: true,
            boxHeight: 9,
            generateLabels: function (chart) {
              var entries = data.series.map(function (series) {
                var style = look(series.modality);
                return {
                  text: series.label,
                  pointStyle: style.point,
                  fillStyle: style.colour,
                  strokeStyle: style.colour,
                  lineWidth: 1,
                  fontColor: muted,
                  hidden: matching(chart, "modality", series.modality).every(hiddenIn(chart)),
                  select: { modality: series.modality },
                };
              });
              return entries.concat(
                [["response", "responded", []], ["remission", "remitted", [2, 2]]].map(function (k) {
                  return {
                    text: k[1],
                    pointStyle: "line",
                    strokeStyle: muted,
                    fillStyle: muted,
                    lineWidth: 2.5,
                    lineDash: k[2],
                    fontColor: muted,
                    hidden: matching(chart, "kind", k[0]).every(hiddenIn(chart)),
                    select: { kind: k[0] },
                  };
                })
              );
            },
          },
          onClick: function (event, entry, legend) {
            var chart = legend.chart;
            var key = entry.select.modality ? "modality" : "kind";
            var indexes = matching(chart, key, entry.select[key]);
            var show = indexes.every(hiddenIn(chart));
            indexes.forEach(function (i) { chart.setDatasetVisibility(i, show); });
            chart.update();
          },
        },
        tooltip: {
          callbacks: {
            title: function (items) { return data.quarters[items[0].dataIndex]; },
            label: function (item) {
              var set = item.dataset;
              var i = item.dataIndex;
              if (set.data[i] === null) return set.label + ": none assessed";
              return (
                set.label + ": " + Math.round(set.data[i]) + " % (" + set.counts[i] + " of " +
                set.assessed[i] + ")"
              );
            },
          },
        },
      },
    },
  });

  new window.Chart(startedCanvas, {
    type: "bar",
    data: {
      labels: labels,
      datasets: data.series.map(function (series) {
        var style = look(series.modality);
        return {
          label: series.label,
          data: series.started.map(function (n) { return n || 0; }),
          backgroundColor: style.colour,
          borderColor: style.colour,
          borderWidth: 1,
          pointStyle: style.point,
          maxBarThickness: 28,
        };
      }),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: {
        x: { grid: { display: false }, border: { color: border }, ticks: { maxRotation: 0 } },
        y: {
          beginAtZero: true,
          border: { color: border },
          grid: { color: "rgba(0,0,0,0.05)" },
          ticks: { precision: 0 },
          title: { display: true, text: "Courses started" },
        },
      },
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 12, boxHeight: 12 } },
        tooltip: {
          callbacks: {
            title: function (items) { return data.quarters[items[0].dataIndex]; },
            label: function (item) {
              return item.dataset.label + ": " + item.parsed.y + " course" + (item.parsed.y === 1 ? "" : "s");
            },
          },
        },
      },
    },
  });
})();
