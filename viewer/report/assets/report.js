// Loupe report: draws the runs table, plots (uPlot), media and run details from the
// JSON block #loupe-data. Text from runs only ever goes through textContent: nothing a
// run wrote is parsed as HTML.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("loupe-data").textContent);
  const runs = data.runs;
  const state = { logY: false, envelope: false, smoothing: 0, hidden: new Set() };
  const charts = [];

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function swatch(color) {
    const s = el("span", "swatch");
    s.style.background = color;
    return s;
  }
  function runName(i) {
    return runs[i].cells.name || runs[i].id;
  }
  function fmt(v) {
    if (v === null || v === undefined) return "—";
    const a = Math.abs(v);
    if (v === 0 || (a >= 1e-3 && a < 1e5)) return String(Number(v.toPrecision(4)));
    return v.toExponential(3);
  }
  function alpha(hex, a) {
    const n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + a + ")";
  }

  // The dashboard's smoothing: debiased EMA; gaps stay gaps.
  function ema(values, w) {
    if (!(w > 0)) return values;
    const out = new Array(values.length);
    let last = 0, n = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === null) { out[i] = null; continue; }
      last = last * w + (1 - w) * v;
      n++;
      out[i] = last / (1 - Math.pow(w, n));
    }
    return out;
  }

  // -- header and controls -----------------------------------------------------------
  document.getElementById("generated").textContent =
    "Generated " + data.generated + " by Loupe · " + runs.length + (runs.length === 1 ? " run" : " runs");
  const notes = document.getElementById("notes");
  for (const n of data.notes) notes.appendChild(el("li", null, n));

  const chips = document.getElementById("run-chips");
  runs.forEach((r, i) => {
    const b = el("button", "chip");
    b.type = "button";
    b.title = runName(i);
    b.appendChild(swatch(r.color));
    b.appendChild(document.createTextNode(runName(i)));
    b.addEventListener("click", () => {
      if (state.hidden.has(i)) state.hidden.delete(i); else state.hidden.add(i);
      b.classList.toggle("off", state.hidden.has(i));
      for (const c of charts) {
        const s = c.seriesOf.indexOf(i);
        if (s >= 0) c.u.setSeries(s + 1, { show: !state.hidden.has(i) });
      }
    });
    chips.appendChild(b);
  });
  document.getElementById("log-y").addEventListener("change", (e) => {
    state.logY = e.target.checked;
    rebuildAll();
  });
  document.getElementById("envelope").addEventListener("change", (e) => {
    state.envelope = e.target.checked;
    for (const c of charts) c.u.redraw(false);
  });
  const smoothing = document.getElementById("smoothing");
  smoothing.max = String(data.smoothing_steps.length - 1);
  smoothing.addEventListener("input", () => {
    state.smoothing = data.smoothing_steps[Number(smoothing.value)];
    document.getElementById("smoothing-value").textContent = String(state.smoothing);
    for (const c of charts) c.u.setData(chartData(c.panel), false);
  });

  // -- runs table --------------------------------------------------------------------
  function drawRunsTable() {
    const table = document.getElementById("runs-table");
    const head = el("thead");
    const tr = el("tr");
    let sortCol = null, desc = false;
    const body = el("tbody");
    data.columns.forEach((col) => {
      const th = el("th", null, col);
      th.title = "sort by " + col;
      th.addEventListener("click", () => {
        desc = sortCol === col ? !desc : false;
        sortCol = col;
        for (const t of tr.children) t.removeAttribute("aria-sort");
        th.setAttribute("aria-sort", desc ? "descending" : "ascending");
        fill(sortedRows(col, desc));
      });
      tr.appendChild(th);
    });
    head.appendChild(tr);
    table.appendChild(head);
    table.appendChild(body);
    function fill(order) {
      body.textContent = "";
      for (const i of order) {
        const row = el("tr");
        row.dataset.run = runs[i].id;
        data.columns.forEach((col) => {
          const td = el("td", typeof runs[i].sort[col] === "number" ? "num" : null, runs[i].cells[col]);
          td.title = runs[i].cells[col];
          if (col === "name") td.prepend(swatch(runs[i].color));
          row.appendChild(td);
        });
        body.appendChild(row);
      }
    }
    fill(runs.map((_, i) => i));
  }
  function sortedRows(col, desc) {
    const idx = runs.map((_, i) => i);
    const key = (i) => runs[i].sort[col];
    const present = idx.filter((i) => key(i) !== null && key(i) !== undefined);
    const missing = idx.filter((i) => key(i) === null || key(i) === undefined);
    present.sort((a, b) => {
      const x = key(a), y = key(b);
      const c = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === "number" ? -1 : 1);
      return desc ? -c : c;
    });
    return present.concat(missing);  // runs without the value stay last either way
  }

  // -- plots -------------------------------------------------------------------------
  // uPlot wants one shared x array per plot: runs are joined on the union of their x.
  function chartData(panel) {
    const xs = Array.from(new Set(panel.series.flatMap((s) => s.x))).sort((a, b) => a - b);
    const at = new Map(xs.map((x, i) => [x, i]));
    const out = [xs];
    panel.joined = [];
    for (const s of panel.series) {
      const ys = ema(s.y, state.smoothing);
      const y = new Array(xs.length).fill(null), lo = new Array(xs.length).fill(null), hi = new Array(xs.length).fill(null);
      for (let k = 0; k < s.x.length; k++) {
        const j = at.get(s.x[k]);
        y[j] = ys[k];
        lo[j] = s.lo[k];
        hi[j] = s.hi[k];
      }
      if (state.logY) for (const a of [y, lo, hi]) for (let j = 0; j < a.length; j++) if (!(a[j] > 0)) a[j] = null;
      out.push(y);
      panel.joined.push({ lo: lo, hi: hi });
    }
    return out;
  }

  // The bucket min/max band of each shown run, under its line.
  function drawEnvelope(u, panel, seriesOf) {
    if (!state.envelope || !panel.joined) return;
    const ctx = u.ctx, xs = u.data[0], b = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(b.left, b.top, b.width, b.height);
    ctx.clip();
    panel.joined.forEach((band, s) => {
      if (!u.series[s + 1].show) return;
      ctx.fillStyle = alpha(runs[seriesOf[s]].color, 0.18);
      const pts = [];
      for (let j = 0; j < xs.length; j++) if (band.lo[j] !== null && band.hi[j] !== null) pts.push(j);
      if (pts.length < 2) return;
      ctx.beginPath();
      pts.forEach((j, k) => {
        const x = u.valToPos(xs[j], "x", true), y = u.valToPos(band.hi[j], "y", true);
        if (k === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      for (let k = pts.length - 1; k >= 0; k--) ctx.lineTo(u.valToPos(xs[pts[k]], "x", true), u.valToPos(band.lo[pts[k]], "y", true));
      ctx.closePath();
      ctx.fill();
    });
    ctx.restore();
  }

  const AXIS = { stroke: "#8a96a3", grid: { stroke: "#2a333d", width: 1 }, ticks: { stroke: "#2a333d", width: 1 } };

  function makeChart(c) {
    const { panel, host, xLabel, sync } = c;
    const opts = {
      width: Math.max(280, host.clientWidth - 16),
      height: 220,
      cursor: { sync: { key: sync }, drag: { x: true, y: false } },
      scales: { x: { time: false }, y: state.logY ? { distr: 3 } : {} },
      axes: [Object.assign({ label: xLabel, size: 44 }, AXIS), Object.assign({ size: 60 }, AXIS)],
      legend: { live: true },
      series: [{ label: xLabel, value: (u, v) => fmt(v) }].concat(
        c.seriesOf.map((i) => ({
          label: runName(i), stroke: runs[i].color, width: 1.5, spanGaps: true, points: { show: false },
          show: !state.hidden.has(i), value: (u, v) => fmt(v),
        }))
      ),
      hooks: { drawClear: [(u) => drawEnvelope(u, panel, c.seriesOf)] },
    };
    c.u = new uPlot(opts, chartData(panel), host);
  }

  function rebuildAll() {
    for (const c of charts) {
      c.u.destroy();
      makeChart(c);
    }
  }

  function drawSections(sectionId, sections, xLabel, sync) {
    const root = document.getElementById(sectionId);
    if (!sections.length) {
      root.appendChild(el("p", "note", sectionId === "system" ? "No system metrics recorded." : "No metrics logged."));
      return;
    }
    for (const sec of sections) {
      root.appendChild(el("h3", null, sec.title));
      const grid = el("div", "grid");
      root.appendChild(grid);
      for (const panel of sec.panels) {
        const box = el("div", "loupe-plot");
        box.dataset.metric = panel.metric;
        box.appendChild(el("p", "plot-title", panel.metric));
        const host = el("div");
        box.appendChild(host);
        grid.appendChild(box);
        const c = { panel: panel, host: host, xLabel: xLabel, sync: sync, seriesOf: panel.series.map((s) => s.run) };
        makeChart(c);
        charts.push(c);
      }
    }
  }

  // -- media ---------------------------------------------------------------------------
  function drawMedia() {
    const root = document.getElementById("media");
    let any = false;
    for (const m of data.media) {
      if (!m.images.length && !m.histograms.length) continue;
      any = true;
      const block = el("div", "media-run");
      const h = el("h3");
      h.appendChild(swatch(runs[m.run].color));
      h.appendChild(document.createTextNode(runName(m.run)));
      block.appendChild(h);
      const grid = el("div", "grid");
      for (const im of m.images) {
        const fig = el("figure", "media-item");
        const img = el("img");
        img.alt = im.key;
        img.src = im.src;
        fig.appendChild(img);
        fig.appendChild(el("figcaption", null, im.key + " · step " + im.step + (im.caption ? " · " + im.caption : "")));
        grid.appendChild(fig);
      }
      for (const hist of m.histograms) grid.appendChild(histogram(hist, runs[m.run].color));
      block.appendChild(grid);
      if (m.skipped) block.appendChild(el("p", "note", m.skipped + " more images not included (size limit)"));
      root.appendChild(block);
    }
    if (!any) root.appendChild(el("p", "note", "No images or histograms logged."));
  }

  function histogram(hist, color) {
    const box = el("div", "media-item histogram");
    box.appendChild(el("p", "plot-title", hist.key + " · step " + hist.step));
    const host = el("div");
    box.appendChild(host);
    const centers = hist.counts.map((_, i) => (hist.edges[i] + hist.edges[i + 1]) / 2);
    requestAnimationFrame(() => {
      new uPlot({
        width: Math.max(280, host.clientWidth - 16), height: 180, legend: { show: false },
        scales: { x: { time: false } }, axes: [AXIS, Object.assign({ size: 50 }, AXIS)],
        series: [{}, { stroke: color, fill: alpha(color, 0.5), paths: uPlot.paths.bars({ size: [0.9, 100] }), points: { show: false } }],
      }, [centers, hist.counts], host);
    });
    return box;
  }

  // -- details -------------------------------------------------------------------------
  function kvTable(rows) {
    const t = el("table", "kv");
    for (const [k, v] of rows) {
      const tr = el("tr");
      tr.appendChild(el("td", null, k));
      tr.appendChild(el("td", null, v));
      t.appendChild(tr);
    }
    return t;
  }
  function drawDetails() {
    const root = document.getElementById("details");
    for (const d of data.details) {
      const det = el("details");
      det.dataset.run = runs[d.run].id;
      const sum = el("summary");
      sum.appendChild(swatch(runs[d.run].color));
      sum.appendChild(document.createTextNode(d.name));
      det.appendChild(sum);
      const cols = el("div", "columns");
      const meta = el("div");
      meta.appendChild(el("h3", null, "Run"));
      meta.appendChild(kvTable(d.meta));
      cols.appendChild(meta);
      for (const [title, part] of [["Config", d.config], ["Summary", d.summary]]) {
        const box = el("div");
        box.appendChild(el("h3", null, title));
        box.appendChild(part.rows.length ? kvTable(part.rows) : el("p", "note", "(empty)"));
        if (part.more) box.appendChild(el("p", "note", part.more + " more keys not shown"));
        cols.appendChild(box);
      }
      det.appendChild(cols);
      det.appendChild(el("h3", null, d.log_complete ? "Console log" : "Console log (last " + d.log.length + " lines)"));
      det.appendChild(d.log.length ? el("pre", "log", d.log.join("\n")) : el("p", "note", "(no console output)"));
      root.appendChild(det);
    }
  }

  drawRunsTable();
  drawSections("metrics", data.metrics, "step", "metrics");
  drawSections("system", data.system, "runtime (s)", "system");
  drawMedia();
  drawDetails();
  window.addEventListener("resize", () => {
    for (const c of charts) c.u.setSize({ width: Math.max(280, c.host.clientWidth - 16), height: 220 });
  });
  document.body.dataset.ready = "true";
})();
