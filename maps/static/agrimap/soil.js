// The soil page: property switch, raster tiles and legend from one class table, graded zones,
// and a growing area's statistics, grades, reliability and advice on click.
function agrimapSoil(cfg) {
  "use strict";
  const s = cfg.strings;
  const nf = (v, d) => new Intl.NumberFormat(s.locale, { maximumFractionDigits: d, minimumFractionDigits: d }).format(v);
  const pct = (v) => nf(v * 100, 0) + " %";
  const esc = (t) => String(t == null ? "" : t).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const map = L.map("soil-map", { preferCanvas: false }).fitBounds(cfg.bounds);
  window.agrimapMap = map;
  const state = { raster: null, tiles: null, zones: null, areas: null, report: null };
  window.agrimapSoilState = state;
  L.tileLayer(cfg.basemap.url, { attribution: cfg.basemap.attribution, maxZoom: 19 }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);
  map.createPane("soilRaster").style.zIndex = 350;

  const props = document.getElementById("soil-properties");
  if (!cfg.rasters.length) props.textContent = s.noMaps;
  cfg.rasters.forEach((r, i) => {
    const label = document.createElement("label");
    label.innerHTML = `<input type="radio" name="soil-property" value="${r.id}" data-property="${esc(r.property)}"> ` +
      `${esc(cfg.lang === "en" ? r.label_en : r.label_vi)} (${esc(unitName(r.unit))})`;
    label.querySelector("input").addEventListener("change", () => select(r));
    props.appendChild(label);
  });

  const gname = (g) => (cfg.lang === "en" && g.label_en ? g.label_en : g.grade);
  function unitName(u) { return u === "mg/100g" ? "mg/100 g" : u === "meq/100g" ? "meq/100 g" : u; }

  function select(r) {
    state.raster = r;
    document.body.dataset.property = r.property;
    props.querySelector(`input[value="${r.id}"]`).checked = true;
    if (state.tiles) map.removeLayer(state.tiles);
    state.tiles = L.tileLayer(r.tiles, { pane: "soilRaster", opacity: 0.75, maxZoom: 19 }).addTo(map);
    const legend = document.getElementById("soil-legend");
    legend.innerHTML = r.class_table.classes.map((c) =>
      `<li><span class="soil-swatch" style="background:${esc(c.colour)}"></span>` +
      `<span>${esc(cfg.lang === "en" ? c.label_en : c.grade)}: ${esc(c.range)}</span></li>`).join("");
    document.getElementById("soil-class-source").textContent = s.classSource + ": " +
      (cfg.lang === "en" ? r.class_table.source : r.class_table.source_vi);
    reliability(r);
    loadZones(r);
    if (state.report) showReport(state.report);
  }

  function reliability(r) {
    const rel = r.reliability || {};
    const rows = [[s.method, s[r.method] || r.method]];
    if (r.depth_cm) rows.push([s.depth, r.depth_cm + " cm"]);
    if (r.cell_m) rows.push([s.cell, nf(r.cell_m, 0) + " " + s.m]);
    if (r.params && r.params.samples) rows.push([s.samples, nf(r.params.samples, 0)]);
    if (rel.rmse_text) {
      rows.push([s.rmse, rel.rmse_text]);
      rows.push([s.bias, rel.bias_text]);
    }
    const dl = document.getElementById("soil-reliability");
    dl.innerHTML = rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("") +
      (rel.rmse_text ? "" : `<dt></dt><dd>${esc(s.noCv)}</dd>`);
  }

  function loadZones(r) {
    if (state.zones) map.removeLayer(state.zones);
    fetch(cfg.zonesUrl.replace("{id}", r.id)).then((res) => res.json()).then((fc) => {
      if (state.raster !== r) return;
      const colours = Object.fromEntries(r.class_table.classes.map((c) => [c.grade, c.colour]));
      state.zones = L.geoJSON(fc, {
        style: (f) => ({ color: "#333", weight: 0.8, fillColor: colours[f.properties.grade], fillOpacity: 0 }),
        interactive: false,
      }).addTo(map);
      document.body.dataset.zonesLoaded = String(fc.features.length);
    });
  }

  fetch(cfg.areasUrl, { headers: { Accept: "application/geo+json" } }).then((res) => res.json()).then((fc) => {
    state.areas = L.geoJSON(fc, {
      style: () => ({ color: "#0b3d91", weight: 1.5, fillColor: "#0b3d91", fillOpacity: 0.08 }),
      onEachFeature: (f, layer) => layer.on("click", () => openArea(f.id, layer)),
    }).addTo(map);
    window.agrimapSoilAreas = fc.features.map((f) => f.id);
    document.body.dataset.areasLoaded = String(fc.features.length);
  }).catch(() => { document.body.dataset.areasLoaded = "failed"; });

  let selected = null;
  function openArea(id, layer) {
    if (selected) selected.setStyle({ weight: 1.5, color: "#0b3d91" });
    selected = layer || null;
    if (selected) selected.setStyle({ weight: 3, color: "#000" });
    const box = document.getElementById("soil-field");
    box.innerHTML = `<p>${esc(s.loading)}</p>`;
    delete document.body.dataset.reportLoaded;
    fetch(cfg.reportUrl.replace("{id}", id)).then((res) => {
      if (!res.ok) throw new Error(res.status);
      return res.json();
    }).then((report) => {
      state.report = report;
      showReport(report);
      document.body.dataset.reportLoaded = String(report.id);
    }).catch(() => { box.innerHTML = `<p>${esc(s.loadFailed)}</p>`; });
  }
  window.agrimapSoilOpenArea = openArea;

  function showReport(rep) {
    const box = document.getElementById("soil-field");
    const current = state.raster ? state.raster.property : null;
    let out = `<h2>${esc(s.field)} ${esc(rep.code)}</h2><dl class="soil-dl">` +
      `<dt>${esc(s.crop)}</dt><dd>${esc(rep.crop)}</dd>` +
      `<dt>${esc(s.area)}</dt><dd>${esc(nf(rep.area_ha, 2))} ${esc(s.ha)}</dd></dl>`;
    const ordered = rep.properties.slice().sort((a, b) => (b.property === current) - (a.property === current));
    for (const p of ordered) {
      out += `<div class="soil-prop" data-property="${esc(p.property)}"><h3>${esc(cfg.lang === "en" ? p.label_en : p.label_vi)}` +
        (p.depth_cm ? ` · ${esc(p.depth_cm)} cm` : "") + `</h3>`;
      if (p.mean == null) { out += `<p>${esc(p.unavailable ? s.unavailable : s.noData)}</p></div>`; continue; }
      out += `<dl class="soil-dl"><dt>${esc(s.mean)}</dt><dd>${esc(p.mean_text)}` + (p.sd_text ? ` (± ${esc(p.sd_text)})` : "") + `</dd>` +
        `<dt>${esc(s.range)}</dt><dd>${esc(p.min_text)} – ${esc(p.max_text)}</dd>` +
        `<dt>${esc(s.grade)}</dt><dd>${esc(cfg.lang === "en" && p.grade_en ? p.grade_en : p.grade)}</dd>` +
        `<dt>${esc(s.covered)}</dt><dd>${esc(pct(p.covered))}</dd>`;
      const rel = p.reliability || {};
      if (rel.rmse_text) out += `<dt>${esc(s.rmse)}</dt><dd>${esc(rel.rmse_text)}</dd>`;
      out += `</dl><div class="soil-bar">` + p.grades.filter((g) => g.share > 0).map((g) =>
        `<span title="${esc(gname(g))}" style="width:${(g.share * 100).toFixed(2)}%;background:${esc(g.colour)}"></span>`).join("") + `</div>`;
      out += `<div class="soil-shares">${esc(s.shares)}: ` + p.grades.filter((g) => g.share > 0).map((g) => `${esc(gname(g))} ${esc(pct(g.share))}`).join("; ") + `</div>`;
      if (p.probabilities) out += `<div class="soil-shares">${esc(s.probabilities)}: ` + p.probabilities.filter((g) => g.probability >= 0.005).map((g) => `${esc(gname(g))} ${esc(pct(g.probability))}`).join("; ") + `</div>`;
      out += `</div>`;
    }
    out += `<h3>${esc(s.note)}</h3>` + (rep.note.length ? `<ul class="soil-note" id="soil-note">${rep.note.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>` : `<p id="soil-note">${esc(s.noNote)}</p>`);
    box.innerHTML = out;
  }

  if (cfg.rasters.length) select(cfg.rasters.find((r) => r.property === "om") || cfg.rasters[0]);
  document.body.dataset.ready = "1";
}
