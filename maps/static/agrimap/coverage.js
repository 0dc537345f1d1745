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
      disagreements: L.featureGroup().addTo(map),
      speedTests: L.featureGroup().addTo(map),
    };
    const province = options.level === "province";
    let speedPoints = [];
    let disagreeMarkers = [];
    L.control.layers(
      { [s.basemap]: options.basemap },
      Object.assign(
        { [province ? s.layerCommunes : s.layerVillages]: groups.villages, [s.layerHexagons]: groups.hexagons,
          [s.layerCoverage]: groups.coverage, [s.layerGaps]: groups.gaps },
        province ? {} : { [s.layerHouseholds]: groups.households },
        { [s.layerDisagreements]: groups.disagreements, [s.layerSpeedTests]: groups.speedTests }),
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
      const q = new URLSearchParams({ level: options.level, code: options.code });
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

    // Villages (a commune's page) or communes (a province's), shaded by % of households served.
    function drawUnits(outlines, indicators) {
      const byCode = {};
      for (const v of province ? indicators.communes : indicators.villages) byCode[v.code] = v;
      groups.villages.clearLayers();
      L.geoJSON(outlines, {
        style: function (feature) {
          const v = byCode[feature.properties.code];
          if (!v) return { color: "#555", weight: 1.5, fillColor: "#bbbbbb", fillOpacity: 0.35, dashArray: "4 4" };
          return { color: "#333", weight: 1.5, fillColor: shareColour(v.served_pct), fillOpacity: 0.35 };
        },
        onEachFeature: function (feature, layer) {
          const v = byCode[feature.properties.code];
          let text = feature.properties.name + ": " + s.legendNoHouseholds;
          if (v && province) {
            text = fill(s.communeTooltip, { name: feature.properties.name, served: num(v.served),
              households: num(v.households), pct: num(v.served_pct) });
          } else if (v) {
            text = feature.properties.name + ": " + num(v.served) + " / " + num(v.households) + " " +
              s.households.toLowerCase() + " (" + num(v.served_pct) + " %) · " + s["status_" + v.status];
          }
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
      if (province || map.getZoom() < options.householdsZoom) {
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

    // --- claims against speed tests ----------------------------------------------------

    function tierLabel(code) {
      return options.tierLabels[code] || code;
    }

    // Every operator of the selection (one, or all): the tests and the villages where the
    // claim and the tests disagree. A failure (no tier for the technology) is said in the
    // panel; the rest of the page stands.
    async function loadSpeedTests(q) {
      const operators = q.get("operator") ? [q.get("operator")] : options.operators;
      const answers = await Promise.all(operators.map(async function (operator) {
        const one = new URLSearchParams(q);
        one.set("operator", operator);
        try {
          const [found, points] = await Promise.all([
            getJson("/coverage/disagreements", one), getJson("/coverage/speed-tests", one)]);
          return { operator: operator, found: found, points: points };
        } catch (error) {
          return { operator: operator, error: error.message };
        }
      }));
      return answers;
    }

    function drawDisagreements(answers, outlines) {
      const tbody = document.querySelector("#coverage-disagreements tbody");
      const note = document.getElementById("coverage-disagree-note");
      const empty = document.getElementById("coverage-disagree-empty");
      const shapes = {};
      if (!province && outlines) for (const f of outlines.features) shapes[f.properties.code] = f;
      groups.disagreements.clearLayers();
      speedPoints = [];
      disagreeMarkers = [];
      const rows = [];
      const failures = [];
      let tierText = null;
      let minTests = null;
      for (const a of answers) {
        if (a.error) { failures.push(a.error); continue; }
        tierText = tierLabel(a.found.tier.code);
        minTests = a.found.min_tests;
        for (const p of a.points.features) speedPoints.push(p);
        for (const v of a.found.villages) {
          const claimed = v.kind === "claim_not_met";
          const tests = a.points.features.filter(function (p) {
            return p.properties.village_code === v.code && p.properties.claimed === claimed;
          });
          const finding = s["kind_" + v.kind];
          const tooltip = fill(s.disagreeTooltip, { name: v.name, operator: a.operator, finding: finding,
            tests: num(v.tests), down: num(v.median_down_mbps), up: num(v.median_up_mbps), tier: tierText });
          rows.push('<tr data-village="' + escapeHtml(v.code) + '" data-operator="' + escapeHtml(a.operator) +
            '" data-kind="' + escapeHtml(v.kind) + '"><td>' + escapeHtml(v.name) + "</td><td>" +
            escapeHtml(a.operator) + "</td><td>" + escapeHtml(finding) + '</td><td class="num">' + num(v.tests) +
            '</td><td class="num">' + num(v.median_down_mbps) + '</td><td class="num">' +
            num(v.median_up_mbps) + "</td></tr>");
          if (shapes[v.code]) {
            L.geoJSON(shapes[v.code], { style: { color: "#e66101", weight: 4, dashArray: "2 6", fill: false } })
              .bindTooltip(escapeHtml(tooltip), { sticky: true }).addTo(groups.disagreements);
          }
          if (tests.length) {
            // The marker sits where the tests were made (a province's page has no village shapes).
            let lon = 0, lat = 0;
            for (const t of tests) { lon += t.geometry.coordinates[0]; lat += t.geometry.coordinates[1]; }
            disagreeMarkers.push(L.marker([lat / tests.length, lon / tests.length], {
              icon: L.divIcon({ className: "coverage-disagree-marker", html: "!", iconSize: [22, 22] }),
              title: tooltip, keyboard: false,
            }).bindTooltip(escapeHtml(tooltip)));
          }
        }
      }
      tbody.innerHTML = rows.join("");
      note.textContent = tierText === null ? "" : fill(s.disagreeNote, { tier: tierText, n: num(minTests) });
      empty.hidden = rows.length > 0;
      empty.textContent = failures.length ? fill(s.disagreeFailed, { reason: failures[0] }) : s.disagreeNone;
      document.body.dataset.coverageDisagreements = String(rows.length);
      drawSpeedTests();
    }

    // Zoomed out, a marker per village and finding; zoomed in, the tests themselves (the
    // marker would hide them).
    function drawSpeedTests() {
      groups.speedTests.clearLayers();
      const near = map.getZoom() >= options.householdsZoom;
      for (const m of disagreeMarkers) {
        if (near) groups.disagreements.removeLayer(m);
        else groups.disagreements.addLayer(m);
      }
      if (!near) return;
      for (const p of speedPoints) {
        const t = p.properties;
        const [lon, lat] = p.geometry.coordinates;
        const text = fill(s.speedTooltip, { operator: t.operator, date: dmy(t.measured_at.slice(0, 10)) + " " +
          t.measured_at.slice(11, 16), down: num(t.down_mbps), up: num(t.up_mbps),
          verdict: t.meets ? s.testMeets : s.testBelow });
        L.circleMarker([lat, lon], { radius: 6, color: "#000000", weight: 1.5,
          fillColor: t.meets ? "#2c7bb6" : "#fdae61", fillOpacity: 1 })
          .bindTooltip(escapeHtml(text)).addTo(groups.speedTests);
      }
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
        escapeHtml(province ? s.legendNoHouseholdsCommune : s.legendNoHouseholds) + "</li>");
      // Folded by a click (it covers part of the map), open at first.
      const open = legend.getContainer().querySelector("details");
      legend.getContainer().innerHTML = "<details" + (open && !open.open ? "" : " open") + "><summary>" +
        escapeHtml(s.legend) + "</summary>" +
        "<strong>" + escapeHtml(s.legendCoverage) + "</strong><ul>" + items.join("") + "</ul>" +
        "<strong>" + escapeHtml(province ? s.legendShareProvince : s.legendShare) + "</strong><ul>" + shares.join("") + "</ul>" +
        '<ul><li><span class="coverage-swatch" style="border:2px dashed #000"></span>' +
        escapeHtml(s.legendGaps) + "</li></ul>" +
        (province ? "<ul>" : "<strong>" + escapeHtml(s.legendHouseholds) + "</strong><ul>") +
        (province ? "" : '<li><span class="coverage-dot" style="background:#1a9850"></span>' + escapeHtml(s.householdServed) + "</li>" +
        '<li><span class="coverage-dot" style="background:#d7191c"></span>' + escapeHtml(s.householdUnserved) + "</li>") + "</ul>" +
        "<ul>" + (province ? "" : '<li><span class="coverage-swatch" style="border:3px dotted #e66101"></span>' +
          escapeHtml(s.legendDisagree) + "</li>") +
        '<li><span class="coverage-disagree-marker coverage-legend-marker">!</span>' + escapeHtml(s.legendDisagreeMarker) + "</li></ul>" +
        "<strong>" + escapeHtml(s.legendSpeedTests) + "</strong><ul>" +
        '<li><span class="coverage-dot coverage-dot-test" style="background:#2c7bb6"></span>' + escapeHtml(s.testMeets) + "</li>" +
        '<li><span class="coverage-dot coverage-dot-test" style="background:#fdae61"></span>' + escapeHtml(s.testBelow) + "</li></ul></details>";
    }

    // --- the panel -------------------------------------------------------------------

    function verdictCell(met) {
      if (met === true) return '<td class="verdict-met">' + escapeHtml(s.met) + "</td>";
      if (met === false) return '<td class="verdict-not-met">' + escapeHtml(s.notMet) + "</td>";
      return "<td>" + escapeHtml(s.notJudged) + "</td>";
    }

    function drawPanel(result) {
      const c = province ? result.provinces[0] : result.communes[0];
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
      if (province) {
        drawCommunes(result);
        return;
      }
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

    // The page's own address for the switches of ``q`` at another scope (a commune, a province).
    function pageAddress(q, key, code) {
      const page = new URLSearchParams(q);
      page.delete("level");
      page.delete("code");
      page.set(key, code);
      if (options.lang !== "vi") page.set("lang", options.lang);
      return location.pathname + "?" + page.toString();
    }

    function drawCommunes(result) {
      const q = selection();
      document.querySelector("#coverage-communes tbody").innerHTML = result.communes.map(function (c) {
        return '<tr data-commune="' + escapeHtml(c.code) + '"><td><a href="' +
          escapeHtml(pageAddress(q, "commune", c.code)) + '">' + escapeHtml(c.name) + '</a></td><td class="num">' +
          num(c.households) + '</td><td class="num">' + num(c.served) + '</td><td class="num">' +
          num(c.served_pct) + '</td><td class="num">' + num(c.villages_covered) + " / " + num(c.villages) +
          '</td><td class="num">' + num(c.villages_without_4g_list.length) + '</td><td class="num">' +
          num(c.fibre_subscriptions) + "</td></tr>";
      }).join("");
    }

    function reportLinks(q) {
      for (const kind of ["csv", "xlsx", "pdf"]) {
        const link = document.getElementById("coverage-report-" + kind);
        if (link) link.href = "/coverage/report." + kind + "?" + withLang(q).toString();
      }
      const scope = document.getElementById("coverage-scope-link");
      if (!province) scope.href = pageAddress(q, "province", options.provinceCode);
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
      history.replaceState(null, "", pageAddress(q, options.level, options.code));
      try {
        if (!outlines) {
          outlines = province
            ? getJson("/collections/communes/items",
              new URLSearchParams({ f: "json", limit: "1000", province_code: options.code }))
            : getJson("/collections/villages/items",
              new URLSearchParams({ f: "json", limit: "1000", commune_code: options.code }));
        }
        const [indicators, hexagons, polygons, unitOutlines, gapFragments, tested] = await Promise.all([
          getJson("/coverage/indicators", q), getJson("/coverage/hexagons", q),
          getJson("/coverage/polygons", q), outlines, getJson("/coverage/gaps", q), loadSpeedTests(q),
        ]);
        if (mine !== generation) return;
        lastIndicators = indicators;
        drawUnits(unitOutlines, indicators);
        drawDisagreements(tested, unitOutlines);
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
    map.on("zoomend", drawSpeedTests);
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
