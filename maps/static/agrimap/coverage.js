/* AgriMap planner's coverage page: the switches ask /coverage/* for one selection and draw
   coverage, villages and hexagons shaded by % of households served, household dots when zoomed
   in, and the commune's criterion-8 table. */
(function () {
  "use strict";

  const TECH_DASH = { "2G": "2 5", "3G": "7 4", "4G": null, "5G": null, fibre: "1 5" };
  const TECH_WEIGHT = { "2G": 1.5, "3G": 1.5, "4G": 2, "5G": 3, fibre: 2.5 };

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, key) {
      return key in values ? values[key] : m;
    });
  }

  window.agrimapCoveragePage = function (options) {
    const map = options.map;
    const s = options.strings;
    const numbers = new Intl.NumberFormat(s.locale, { maximumFractionDigits: 1 });
    const form = document.getElementById("coverage-filters");
    const techSelect = document.getElementById("coverage-technology");
    const tierSelect = document.getElementById("coverage-tier");
    const status = document.getElementById("coverage-status");
    let loads = 0;
    let generation = 0;
    let lastIndicators = null;
    let householdsKey = null;

    window.agrimapMap = map;
    const groups = {
      villages: L.featureGroup().addTo(map),
      hexagons: L.featureGroup().addTo(map),
      coverage: L.featureGroup().addTo(map),
      gaps: L.featureGroup().addTo(map),
      households: L.featureGroup().addTo(map),
    };
    L.control.layers(
      { [s.basemap]: options.basemap },
      { [s.layerVillages]: groups.villages, [s.layerHexagons]: groups.hexagons,
        [s.layerCoverage]: groups.coverage, [s.layerGaps]: groups.gaps,
        [s.layerHouseholds]: groups.households },
      { collapsed: window.innerWidth < 800 }
    ).addTo(map);
    const legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      const div = L.DomUtil.create("div", "agrimap-box coverage-legend");
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    legend.addTo(map);

    function num(value) {
      return value === null || value === undefined ? s.empty : numbers.format(value);
    }

    function dmy(iso) {
      const p = String(iso).split("-");
      return p.length === 3 ? p[2] + "/" + p[1] + "/" + p[0] : iso;
    }

    function shareColour(pct) {
      for (const [bound, colour] of options.shareClasses) if (pct < bound) return colour;
      return options.shareClasses[options.shareClasses.length - 1][1];
    }

    // dd/mm/yyyy as typed (Vietnamese order, whatever the browser's language) to ISO; null
    // when it is not a real date.
    function isoDate(text) {
      const m = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4})\s*$/.exec(text || "");
      if (!m) return null;
      const d = new Date(Date.UTC(+m[3], +m[2] - 1, +m[1]));
      if (d.getUTCDate() !== +m[1] || d.getUTCMonth() !== +m[2] - 1) return null;
      return d.toISOString().slice(0, 10);
    }

    function selection() {
      const data = new FormData(form);
      const q = new URLSearchParams({ level: "commune", code: options.communeCode });
      for (const key of ["operator", "technology", "tier"]) {
        const value = data.get(key);
        if (value) q.set(key, value);
      }
      const day = isoDate(data.get("as_of"));
      if (day) q.set("as_of", day);
      return q;
    }

    function withLang(q) {
      const out = new URLSearchParams(q);
      out.set("lang", options.lang);
      return out;
    }

    async function getJson(path, q) {
      const response = await fetch(path + "?" + withLang(q).toString(), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const body = await response.json().catch(function () { return {}; });
      if (!response.ok) throw new Error(body.description || "HTTP " + response.status);
      return body;
    }

    function showTiers() {
      const tech = techSelect.value;
      for (const option of tierSelect.options) {
        if (!option.value) continue;
        option.hidden = option.dataset.technology !== tech;
        if (option.hidden && option.selected) tierSelect.value = "";
      }
    }

    // --- the map ---------------------------------------------------------------------

    function drawVillages(outlines, indicators) {
      const byCode = {};
      for (const v of indicators.villages) byCode[v.code] = v;
      groups.villages.clearLayers();
      L.geoJSON(outlines, {
        style: function (feature) {
          const v = byCode[feature.properties.code];
          if (!v) return { color: "#555", weight: 1.5, fillColor: "#bbbbbb", fillOpacity: 0.35, dashArray: "4 4" };
          return { color: "#333", weight: 1.5, fillColor: shareColour(v.served_pct), fillOpacity: 0.35 };
        },
        onEachFeature: function (feature, layer) {
          const v = byCode[feature.properties.code];
          const text = v
            ? feature.properties.name + ": " + num(v.served) + " / " + num(v.households) + " " +
              s.households.toLowerCase() + " (" + num(v.served_pct) + " %) · " + s["status_" + v.status]
            : feature.properties.name + ": " + s.legendNoHouseholds;
          layer.bindTooltip(escapeHtml(text), { sticky: true });
        },
      }).addTo(groups.villages);
    }

    function drawHexagons(collection) {
      groups.hexagons.clearLayers();
      L.geoJSON(collection, {
        style: function (feature) {
          const p = feature.properties;
          if (p.too_few) return { color: "#777", weight: 0.6, fillColor: "#ffffff", fillOpacity: 0.35 };
          return { color: "#444", weight: 0.6, fillColor: shareColour(p.served_pct), fillOpacity: 0.55 };
        },
        onEachFeature: function (feature, layer) {
          const p = feature.properties;
          const text = p.too_few
            ? fill(s.hexTooltipFew, { households: num(p.households) })
            : fill(s.hexTooltip, { households: num(p.households), pct: num(p.served_pct) });
          layer.bindTooltip(escapeHtml(text), { sticky: true });
        },
      }).addTo(groups.hexagons);
    }

    function coverageStyle(p) {
      const colour = options.operatorColours[p.operator] || "#444";
      return { color: colour, weight: TECH_WEIGHT[p.technology] || 2, dashArray: TECH_DASH[p.technology],
        fillColor: colour, fillOpacity: 0.08, interactive: false };
    }

    function drawCoverage(collection) {
      groups.coverage.clearLayers();
      L.geoJSON(collection, { style: function (f) { return coverageStyle(f.properties); } })
        .addTo(groups.coverage);
      return collection.features;
    }

    function drawGaps(collection) {
      groups.gaps.clearLayers();
      L.geoJSON(collection, {
        style: function () {
          return { color: "#000000", weight: 2.5, dashArray: "6 3", fill: false };
        },
        onEachFeature: function (feature, layer) {
          const p = feature.properties;
          layer.bindTooltip(escapeHtml(fill(s.gapTooltip, { area: num(p.area_km2),
            unserved: num(p.unserved), households: num(p.households) })), { sticky: true });
        },
      }).addTo(groups.gaps);
      return collection.features.length;
    }

    async function drawHouseholds(force) {
      if (map.getZoom() < options.householdsZoom) {
        groups.households.clearLayers();
        householdsKey = null;
        return;
      }
      const q = selection();
      const key = q.toString();
      if (!force && key === householdsKey) return;
      householdsKey = key;
      const collection = await getJson("/coverage/households", q);
      if (householdsKey !== key) return;
      groups.households.clearLayers();
      L.geoJSON(collection, {
        pointToLayer: function (feature, latlng) {
          const served = feature.properties.served;
          return L.circleMarker(latlng, { radius: 4, color: "#ffffff", weight: 1,
            fillColor: served ? "#1a9850" : "#d7191c", fillOpacity: 0.95,
            interactive: false });
        },
      }).addTo(groups.households);
    }

    function drawLegend(features) {
      const seen = {};
      const items = [];
      for (const f of features) {
        const key = f.properties.operator + " · " + (f.properties.technology === "fibre" ? s.fibre : f.properties.technology);
        if (seen[key]) continue;
        seen[key] = true;
        const st = coverageStyle(f.properties);
        items.push('<li><span class="coverage-swatch" style="border:2px ' +
          (st.dashArray ? "dashed" : "solid") + " " + st.color + '"></span>' + escapeHtml(key) + "</li>");
      }
      if (!items.length) items.push("<li>" + escapeHtml(s.noCoverage) + "</li>");
      const bounds = [0].concat(options.shareClasses.map(function (c) { return c[0]; }));
      const shares = options.shareClasses.map(function (c, i) {
        const upper = Math.min(c[0], 100);
        const label = i === options.shareClasses.length - 1 ? "≥ " + num(bounds[i]) + " %"
          : num(bounds[i]) + "–" + num(upper) + " %";
        return '<li><span class="coverage-swatch" style="background:' + c[1] + '"></span>' + label + "</li>";
      });
      shares.push('<li><span class="coverage-swatch" style="background:#fff"></span>' +
        escapeHtml(fill(s.legendTooFew, { n: options.minHouseholds })) + "</li>");
      shares.push('<li><span class="coverage-swatch" style="background:#bbb"></span>' +
        escapeHtml(s.legendNoHouseholds) + "</li>");
      legend.getContainer().innerHTML =
        "<strong>" + escapeHtml(s.legendCoverage) + "</strong><ul>" + items.join("") + "</ul>" +
        "<strong>" + escapeHtml(s.legendShare) + "</strong><ul>" + shares.join("") + "</ul>" +
        '<ul><li><span class="coverage-swatch" style="border:2px dashed #000"></span>' +
        escapeHtml(s.legendGaps) + "</li></ul>" +
        "<strong>" + escapeHtml(s.legendHouseholds) + "</strong><ul>" +
        '<li><span class="coverage-dot" style="background:#1a9850"></span>' + escapeHtml(s.householdServed) + "</li>" +
        '<li><span class="coverage-dot" style="background:#d7191c"></span>' + escapeHtml(s.householdUnserved) + "</li></ul>";
    }

    // --- the panel -------------------------------------------------------------------

    function verdictCell(met) {
      if (met === true) return '<td class="verdict-met">' + escapeHtml(s.met) + "</td>";
      if (met === false) return '<td class="verdict-not-met">' + escapeHtml(s.notMet) + "</td>";
      return "<td>" + escapeHtml(s.notJudged) + "</td>";
    }

    function drawPanel(result) {
      const c = result.communes[0];
      document.getElementById("coverage-as-of-line").textContent = fill(s.asOfLine, { date: dmy(result.as_of) });
      if (!c) return;
      document.getElementById("coverage-served-line").textContent = fill(s.servedLine, {
        served: num(c.served), households: num(c.households), pct: num(c.served_pct) });
      document.getElementById("coverage-villages-line").textContent = fill(s.villagesLine, {
        covered: num(c.villages_covered), partly: num(c.villages_partly_covered), none: num(c.villages_not_covered) });
      const rows = c.criterion8.map(function (t) {
        const pct = t.indicator.endsWith("_pct");
        const value = t.value === null ? s.empty : num(t.value) + (pct ? " %" : "");
        const target = t.target === null ? s.empty : t.comparison.replace(">=", "≥ ").replace("<=", "≤ ") +
          num(t.target) + (pct ? " %" : "");
        return '<tr data-indicator="' + escapeHtml(t.indicator) + '"><td>' +
          escapeHtml(options.lang === "en" ? t.label_en : t.label_vi) + '</td><td class="num">' +
          escapeHtml(value) + '</td><td class="num">' + escapeHtml(target) + "</td>" + verdictCell(t.met) + "</tr>";
      });
      document.querySelector("#coverage-criterion8 tbody").innerHTML = rows.join("");
      const dead = c.villages_without_4g_list.map(function (v) {
        const reason = fill(s["reason_" + v.reason], { pct: num(v.mobile_broadband_pct) });
        return '<li data-village="' + escapeHtml(v.code) + '">' + escapeHtml(fill(s.deadZoneLine, {
          name: v.name, reason: reason, unserved: num(v.unserved), households: num(v.households) })) + "</li>";
      });
      document.getElementById("coverage-dead-zones").innerHTML =
        dead.length ? dead.join("") : "<li>" + escapeHtml(s.deadZonesNone) + "</li>";
      const deadCodes = new Set(c.villages_without_4g_list.map(function (v) { return v.code; }));
      document.querySelector("#coverage-villages tbody").innerHTML = result.villages.map(function (v) {
        return '<tr data-village="' + escapeHtml(v.code) + '"' + (deadCodes.has(v.code) ? ' class="dead"' : "") +
          "><td>" + escapeHtml(v.name) + '</td><td class="num">' + num(v.households) +
          '</td><td class="num">' + num(v.served) + '</td><td class="num">' + num(v.served_pct) +
          "</td><td>" + escapeHtml(s["status_" + v.status]) + '</td><td class="num">' +
          num(v.fibre_subscriptions) + "</td></tr>";
      }).join("");
      const empty = document.getElementById("coverage-empty-villages");
      empty.hidden = !result.villages_without_households.length;
      empty.textContent = s.emptyVillages + ": " +
        result.villages_without_households.map(function (v) { return v.name; }).join(", ");
    }

    function reportLinks(q) {
      for (const kind of ["csv", "xlsx", "pdf"]) {
        document.getElementById("coverage-report-" + kind).href =
          "/coverage/report." + kind + "?" + withLang(q).toString();
      }
    }

    // --- loading ---------------------------------------------------------------------

    let outlines = null;
    async function refresh() {
      const mine = ++generation;
      document.body.dataset.coverageBusy = "1";
      const q = selection();
      status.textContent = s.loading;
      status.hidden = false;
      reportLinks(q);
      const page = new URLSearchParams(q);
      page.delete("level");
      page.set("commune", page.get("code"));
      page.delete("code");
      if (options.lang !== "vi") page.set("lang", options.lang);
      history.replaceState(null, "", location.pathname + "?" + page.toString());
      try {
        if (!outlines) {
          outlines = getJson("/collections/villages/items",
            new URLSearchParams({ f: "json", limit: "1000", commune_code: options.communeCode }));
        }
        const [indicators, hexagons, polygons, villageOutlines, gapFragments] = await Promise.all([
          getJson("/coverage/indicators", q), getJson("/coverage/hexagons", q),
          getJson("/coverage/polygons", q), outlines, getJson("/coverage/gaps", q),
        ]);
        if (mine !== generation) return;
        lastIndicators = indicators;
        drawVillages(villageOutlines, indicators);
        drawHexagons(hexagons);
        drawLegend(drawCoverage(polygons));
        drawPanel(indicators);
        document.body.dataset.coverageGaps = String(drawGaps(gapFragments));
        await drawHouseholds(true);
        if (mine !== generation) return;
        status.hidden = true;
      } catch (error) {
        if (mine !== generation) return;
        status.textContent = fill(s.loadFailed, { reason: error.message });
        status.hidden = false;
      }
      document.body.dataset.coverageBusy = "0";
      document.body.dataset.coverageLoaded = String(++loads);
    }

    const dateInput = document.getElementById("coverage-as-of");
    form.addEventListener("change", function (event) {
      if (event.target === techSelect) showTiers();
      if (event.target === dateInput && !isoDate(dateInput.value)) {
        status.textContent = s.badDate;
        status.hidden = false;
        dateInput.setAttribute("aria-invalid", "true");
        return;
      }
      dateInput.removeAttribute("aria-invalid");
      refresh();
    });
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    map.on("zoomend moveend", function () {
      drawHouseholds(false).catch(function (error) {
        status.textContent = fill(s.loadFailed, { reason: error.message });
        status.hidden = false;
      });
    });

    // The page's own address may carry the switches (a planner's bookmark).
    const given = new URLSearchParams(location.search);
    for (const key of ["operator", "technology", "tier"]) {
      const el = form.elements[key];
      if (given.get(key) && el) el.value = given.get(key);
    }
    if (/^\d{4}-\d{2}-\d{2}$/.test(given.get("as_of") || "")) dateInput.value = dmy(given.get("as_of"));
    showTiers();
    refresh();
    window.agrimapCoverageIndicators = function () { return lastIndicators; };
  };
})();
