// The PHQ-9 / GAD-7 trajectory on the patient's page, drawn with the vendored Chart.js.
// Data comes from <script type="application/json" id="trajectory-data"> (no inline script, so
// the page keeps its 'self'-only Content Security Policy). Severity bands are shaded and named
// in words; dashed vertical lines mark treatment sessions. The table under the chart holds
// every value, for screen readers and for anyone without JavaScript.
(function () {
  "use strict";

  var source = document.getElementById("trajectory-data");
  var canvas = document.getElementById("trajectory-chart");
  if (!source || !canvas || typeof window.Chart === "undefined") return;

  var data = JSON.parse(source.textContent);
  var css = window.getComputedStyle(document.documentElement);
  function cssVar(name, fallback) {
    return (css.getPropertyValue(name) || "").trim() || fallback;
  }
  var colours = {
    text: cssVar("--text", "#1d2433"),
    muted: cssVar("--muted", "#5b6576"),
    border: cssVar("--border", "#dde1e8"),
    line: cssVar("--primary", "#0f6e68"),
    danger: cssVar("--danger", "#b42318"),
  };
  // Lightest for "minimal", deepest for "severe"; the band's name is always written too.
  var bandFill = {
    minimal: "rgba(29, 122, 62, 0.10)",
    mild: "rgba(39, 83, 166, 0.08)",
    moderate: "rgba(217, 154, 30, 0.13)",
    moderately_severe: "rgba(180, 35, 24, 0.10)",
    severe: "rgba(180, 35, 24, 0.18)",
  };
  var dayFormat = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric" });
  var DAY = 24 * 60 * 60 * 1000;
  // The questionnaire shown: PHQ-9 first; the PHQ-9 / GAD-7 switch changes it.
  var current = data.series.phq9;

  function range(series) {
    var times = series.points.map(function (p) { return p.t; })
      .concat(data.sessions.map(function (s) { return s.t; }));
    if (!times.length) {
      var now = Date.now();
      return { min: now - 7 * DAY, max: now + DAY };
    }
    var min = Math.min.apply(null, times);
    var max = Math.max.apply(null, times);
    var span = Math.max(max - min, 7 * DAY);
    // Room on the right for the band names, so the latest point never sits under one.
    return { min: min - Math.max(DAY, span * 0.03), max: max + Math.max(2 * DAY, span * 0.16) };
  }

  var bandsPlugin = {
    id: "severityBands",
    beforeDatasetsDraw: function (chart) {
      var series = current;
      var area = chart.chartArea;
      var y = chart.scales.y;
      var ctx = chart.ctx;
      ctx.save();
      series.bands.forEach(function (band, i) {
        var next = series.bands[i + 1];
        var top = y.getPixelForValue(next ? next.low : series.max);
        var bottom = y.getPixelForValue(band.low);
        ctx.fillStyle = bandFill[band.code] || "rgba(0,0,0,0.04)";
        ctx.fillRect(area.left, top, area.right - area.left, bottom - top);
      });
      // Names on top of the line, on a light backing so a point under one stays readable.
      var narrow = area.right - area.left < 480;
      ctx.font = (narrow ? "600 10px " : "600 11px ") + "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
      ctx.textAlign = "right";
      ctx.textBaseline = "middle";
      series.bands.forEach(function (band, i) {
        var next = series.bands[i + 1];
        var top = y.getPixelForValue(next ? next.low : series.max);
        var bottom = y.getPixelForValue(band.low);
        var text = narrow
          ? band.label
          : band.label + " " + band.low + "\u2013" + (next ? next.low - 1 : series.max);
        var width = ctx.measureText(text).width;
        var middle = (top + bottom) / 2;
        ctx.fillStyle = "rgba(255, 255, 255, 0.75)";
        ctx.fillRect(area.right - width - 10, middle - 8, width + 8, 16);
        ctx.fillStyle = colours.muted;
        ctx.fillText(text, area.right - 6, middle);
      });
      ctx.restore();
    },
  };

  var sessionsPlugin = {
    id: "sessionMarks",
    beforeDatasetsDraw: function (chart) {
      var area = chart.chartArea;
      var x = chart.scales.x;
      var ctx = chart.ctx;
      var lastLabel = -Infinity;
      ctx.save();
      ctx.strokeStyle = "rgba(29, 36, 51, 0.35)";
      ctx.setLineDash([3, 3]);
      ctx.lineWidth = 1;
      ctx.fillStyle = colours.muted;
      ctx.font = "10px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "bottom";
      data.sessions.forEach(function (session) {
        var px = x.getPixelForValue(session.t);
        if (px < area.left || px > area.right) return;
        ctx.beginPath();
        ctx.moveTo(px, area.top);
        ctx.lineTo(px, area.bottom);
        ctx.stroke();
        if (px - lastLabel >= 22) {
          ctx.fillText("S" + session.number, px, area.top - 2);
          lastLabel = px;
        }
      });
      ctx.restore();
    },
  };

  var emptyPlugin = {
    id: "emptyNote",
    afterDraw: function (chart) {
      if (current.points.length) return;
      var area = chart.chartArea;
      var ctx = chart.ctx;
      ctx.save();
      ctx.fillStyle = colours.text;
      ctx.font = "14px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
      ctx.textAlign = "center";
      ctx.fillText(
        "No " + current.label + " answers yet",
        (area.left + area.right) / 2,
        (area.top + area.bottom) / 2
      );
      ctx.restore();
    },
  };

  function dataset(series) {
    return {
      label: series.label + " total",
      data: series.points.map(function (p) { return { x: p.t, y: p.y }; }),
      borderColor: colours.line,
      backgroundColor: colours.line,
      borderWidth: 2.5,
      tension: 0,
      // A positive item 9 shows as a larger red triangle: shape and colour both say it.
      pointStyle: series.points.map(function (p) { return p.item9 ? "triangle" : "circle"; }),
      pointRadius: series.points.map(function (p) { return p.item9 ? 7 : 4; }),
      pointBackgroundColor: series.points.map(function (p) {
        return p.item9 ? colours.danger : colours.line;
      }),
      pointBorderColor: "#fff",
      pointBorderWidth: 1.5,
    };
  }

  function options(series) {
    var span = range(series);
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      layout: { padding: { top: 16, right: 4 } },
      interaction: { mode: "nearest", intersect: false, axis: "x" },
      scales: {
        x: {
          type: "linear",
          min: span.min,
          max: span.max,
          grid: { display: false },
          border: { color: colours.border },
          ticks: {
            color: colours.muted,
            callback: function (value) { return dayFormat.format(new Date(value)); },
          },
          // Ticks on whole days (Mondays for weekly steps), not at arbitrary milliseconds.
          afterBuildTicks: function (axis) {
            var days = (axis.max - axis.min) / DAY;
            var wide = axis.width > 480;
            var step = days <= 10 ? 1 : days <= 21 ? (wide ? 2 : 4) : days <= 70 ? 7 : days <= 180 ? 14 : 28;
            if (!wide && step >= 7) step *= 2;
            var day = new Date(axis.min);
            day.setHours(0, 0, 0, 0);
            day.setDate(day.getDate() + 1);
            if (step >= 7) {
              while (day.getDay() !== 1) day.setDate(day.getDate() + 1);
            }
            var ticks = [];
            while (day.getTime() <= axis.max) {
              ticks.push({ value: day.getTime() });
              day.setDate(day.getDate() + step);
            }
            axis.ticks = ticks;
          },
        },
        y: {
          min: 0,
          max: series.max,
          grid: { color: "rgba(0,0,0,0.04)" },
          border: { color: colours.border },
          title: { display: true, text: series.label + " total", color: colours.muted },
          ticks: { color: colours.muted, stepSize: 1, autoSkip: false },
          afterBuildTicks: function (axis) {
            var marks = series.bands.map(function (b) { return b.low; }).concat([series.max]);
            axis.ticks = marks.map(function (v) { return { value: v }; });
          },
        },
      },
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            title: function (items) {
              return series.points[items[0].dataIndex].date;
            },
            label: function (item) {
              var p = series.points[item.dataIndex];
              var text = series.label + " " + p.y + " (" + p.severity + ")";
              return p.item9 ? [text, "Item 9 answered " + p.item9 + " of 3"] : text;
            },
          },
        },
      },
    };
  }

  var chart = new window.Chart(canvas, {
    type: "line",
    data: { datasets: [dataset(current)] },
    options: options(current),
    plugins: [bandsPlugin, sessionsPlugin, emptyPlugin],
  });

  document.querySelectorAll('input[name="trajectory-instrument"]').forEach(function (input) {
    input.addEventListener("change", function () {
      if (!input.checked) return;
      current = data.series[input.value];
      chart.data.datasets = [dataset(current)];
      chart.options = options(current);
      chart.update();
    });
  });
})();
