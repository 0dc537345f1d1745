/* AgriMap growing-area registration page: draw or upload a boundary, check it live, register it. */
(function () {
  "use strict";

  const EXISTING_STYLE = {
    color: "#2e7d32", weight: 1, opacity: 0.75, fillColor: "#2e7d32", fillOpacity: 0.08,
  };
  const INACTIVE_STYLE = {
    color: "#757575", weight: 1, opacity: 0.6, dashArray: "3 3", fillColor: "#757575",
    fillOpacity: 0.05,
  };
  const OVERLAP_STYLE = {
    color: "#c62828", weight: 3, opacity: 1, dashArray: null, fillColor: "#c62828", fillOpacity: 0.35,
  };
  const DRAWN_STYLE = { color: "#e65100", weight: 3, opacity: 1, fillColor: "#ff9800", fillOpacity: 0.25 };
  const COMMUNE_STYLE = { color: "#37474f", weight: 2, opacity: 0.8, dashArray: "8 6", fill: false };
  const CHECK_DELAY_MS = 400;

  function deepMerge(target, source) {
    Object.keys(source).forEach(function (key) {
      const value = source[key];
      if (value && typeof value === "object" && !Array.isArray(value)) {
        if (!target[key] || typeof target[key] !== "object") target[key] = {};
        deepMerge(target[key], value);
      } else {
        target[key] = value;
      }
    });
    return target;
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match;
    });
  }

  async function readJson(response) {
    try {
      return await response.json();
    } catch (err) {
      return null;  // an HTML error page, an empty body…
    }
  }

  function describe(body) {
    return body && typeof body.description === "string" && body.description ? body.description : "";
  }

  function todayVi() {
    // The officer's own calendar day (not UTC's: Vietnam is UTC+7), written dd/mm/yyyy as
    // Vietnamese forms write dates; a browser date input follows the system's locale instead
    // (Chromium showed 12/02/2026 for 2 December).
    const now = new Date();
    const pad = function (n) { return String(n).padStart(2, "0"); };
    return pad(now.getDate()) + "/" + pad(now.getMonth() + 1) + "/" + now.getFullYear();
  }

  // A feature's polygons as lists of rings of [lon, lat]; anything else gives none.
  function polygonsOf(geometry) {
    if (!geometry) return [];
    if (geometry.type === "Polygon") return [geometry.coordinates];
    if (geometry.type === "MultiPolygon") return geometry.coordinates;
    if (geometry.type === "GeometryCollection") {
      return (geometry.geometries || []).reduce(function (all, g) { return all.concat(polygonsOf(g)); }, []);
    }
    return [];
  }

  window.agrimapRegisterPage = function (config) {
    const map = config.map;
    const s = config.strings;
    const locale = s.locale;
    const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
    const byId = function (id) { return document.getElementById(id); };
    const ui = {
      notices: byId("agrimap-notices"),
      file: byId("register-file"),
      uploadStatus: byId("register-upload-status"),
      area: byId("register-area"),
      areaNote: byId("register-area-note"),
      communeCheck: byId("register-commune-check"),
      checkStatus: byId("register-check-status"),
      problems: byId("register-problems"),
      form: byId("register-form"),
      crop: byId("register-crop"),
      owner: byId("register-owner"),
      members: byId("register-members"),
      issued: byId("register-issued"),
      note: byId("register-note"),
      error: byId("register-error"),
      success: byId("register-success"),
      submit: byId("register-submit"),
      hint: byId("register-submit-hint"),
    };
    const state = {
      lastCheck: null,    // the last answer of the check endpoint for the current shape
      checkFailed: false, // the check could not be made (network, server)
      checkSeq: 0,        // answers to older shapes are dropped
      checkTimer: null,
      toolActive: null,   // a Leaflet.draw mode is open: its shape is not final yet
      submitting: false,
      existingByCode: {},
    };

    // The notices float over the map, not over the panel.
    map.getContainer().appendChild(ui.notices);
    function showNotice(text) {
      const item = document.createElement("p");
      item.textContent = text;
      ui.notices.appendChild(item);
      ui.notices.hidden = false;
    }

    // Redrawing a registered area (config.edit): only the boundary changes, the record stays.
    const edit = config.edit || null;
    if (ui.issued) {
      ui.issued.value = todayVi();
    }

    deepMerge(L.drawLocal, config.drawLocal);

    // Registered areas sit in a pane below the overlay pane, so the new drawing stays on top.
    map.createPane("agrimapExisting").style.zIndex = 350;
    const commune = L.geoJSON(null, { style: COMMUNE_STYLE, interactive: false, pane: "agrimapExisting" });
    const existing = L.geoJSON(null, {
      pane: "agrimapExisting",
      style: existingStyle,
      // The area being redrawn is the drawing itself, not a neighbour it could overlap.
      filter: function (feature) {
        const id = feature.id !== undefined ? feature.id : (feature.properties || {}).id;
        return !edit || String(id) !== String(edit.id);
      },
      onEachFeature: function (feature, layer) {
        const code = (feature.properties || {}).code;
        if (!code) return;
        layer.bindTooltip(String(code), { sticky: true, className: "register-code-tooltip" });
        (state.existingByCode[code] = state.existingByCode[code] || []).push(layer);
      },
    });
    commune.addTo(map);
    existing.addTo(map);
    const drawn = new L.FeatureGroup().addTo(map);

    function existingStyle(feature) {
      const status = feature && feature.properties ? feature.properties.status : undefined;
      return status && status !== "active" ? INACTIVE_STYLE : EXISTING_STYLE;
    }

    L.control.layers(
      { [s.basemap]: config.basemap },
      {
        ['<span class="register-swatch drawn"></span> ' + escapeHtml(s.drawnLegend)]: drawn,
        ['<span class="register-swatch existing"></span> ' + escapeHtml(s.existingLegend)]: existing,
        ['<span class="register-swatch commune"></span> ' + escapeHtml(s.communeLegend)]: commune,
      },
      { collapsed: window.innerWidth < 760, position: "topright" }
    ).addTo(map);

    const drawControl = new L.Control.Draw({
      position: "topleft",
      draw: {
        polygon: {
          allowIntersection: false,
          showArea: false,
          metric: true,
          shapeOptions: DRAWN_STYLE,
          drawError: { color: "#c62828", timeout: 2500 },
        },
        polyline: false,
        rectangle: false,
        circle: false,
        marker: false,
        circlemarker: false,
      },
      edit: { featureGroup: drawn, edit: { selectedPathOptions: { dashArray: "6 6", fillOpacity: 0.15 } } },
    });
    map.addControl(drawControl);

    // --- the shape -------------------------------------------------------------------

    function currentGeometry() {
      const polygons = [];
      drawn.eachLayer(function (layer) {
        polygons.push.apply(polygons, polygonsOf(layer.toGeoJSON().geometry));
      });
      if (!polygons.length) return null;
      if (polygons.length === 1) return { type: "Polygon", coordinates: polygons[0] };
      return { type: "MultiPolygon", coordinates: polygons };
    }

    function drawnLayer() {
      const layers = drawn.getLayers();
      if (!layers.length) return null;
      return layers.length === 1 ? layers[0] : drawn;
    }

    function estimatedHectares() {
      let m2 = 0;
      drawn.eachLayer(function (layer) {
        const latlngs = layer.getLatLngs();
        // A Polygon holds rings; a multi-part one holds polygons of rings.
        const polygons = L.LineUtil.isFlat(latlngs[0]) ? [latlngs] : latlngs;
        polygons.forEach(function (rings) {
          rings.forEach(function (ring, i) {
            const a = L.GeometryUtil.geodesicArea(ring);
            m2 += i === 0 ? a : -a;
          });
        });
      });
      return m2 / 10000;
    }

    // One drawn polygon at a time: a new one (or an uploaded file) replaces the old.
    function setShape(geometry) {
      drawn.clearLayers();
      polygonsOf(geometry).forEach(function (rings) {
        const latlngs = rings.map(function (ring) {
          return ring.map(function (c) { return L.latLng(c[1], c[0]); });
        });
        drawn.addLayer(L.polygon(latlngs, DRAWN_STYLE));
      });
      shapeChanged();
    }

    map.on(L.Draw.Event.CREATED, function (e) {
      drawn.clearLayers();
      drawn.addLayer(e.layer);
      shapeChanged();
    });
    map.on(L.Draw.Event.EDITED + " " + L.Draw.Event.DELETED, shapeChanged);
    map.on(L.Draw.Event.EDITVERTEX + " " + L.Draw.Event.EDITMOVE, function () {
      scheduleCheck();
    });
    [
      [L.Draw.Event.DRAWSTART, "draw"], [L.Draw.Event.EDITSTART, "edit"],
      [L.Draw.Event.DELETESTART, "delete"],
    ].forEach(function (pair) {
      map.on(pair[0], function () { state.toolActive = pair[1]; updateSubmit(); });
    });
    map.on(L.Draw.Event.DRAWSTOP + " " + L.Draw.Event.DELETESTOP, function () {
      state.toolActive = null;
      updateSubmit();
    });
    map.on(L.Draw.Event.EDITSTOP, function () {
      state.toolActive = null;
      shapeChanged();  // a cancelled edit puts the old vertices back
    });

    // --- live checks -----------------------------------------------------------------

    function scheduleCheck() {
      clearTimeout(state.checkTimer);
      state.checkTimer = setTimeout(shapeChanged, CHECK_DELAY_MS);
    }

    function shapeChanged() {
      clearTimeout(state.checkTimer);
      const geometry = currentGeometry();
      state.checkSeq += 1;
      state.lastCheck = null;
      state.checkFailed = false;
      highlightOverlaps([]);
      ui.problems.replaceChildren();
      ui.communeCheck.hidden = true;
      if (!geometry) {
        ui.area.textContent = s.noShape;
        ui.areaNote.textContent = "";
        setCheckStatus("", null);
        document.body.dataset.checkState = "none";
        updateSubmit();
        return;
      }
      ui.area.textContent = formatHectares(estimatedHectares());
      ui.areaNote.textContent = "(" + s.estimate + ")";
      runCheck(geometry, state.checkSeq);
    }

    function formatHectares(ha) {
      return ha.toLocaleString(locale, { minimumFractionDigits: 4, maximumFractionDigits: 4 }) + " ha";
    }

    function setCheckStatus(text, kind) {
      ui.checkStatus.textContent = text;
      ui.checkStatus.className = "register-check-status" + (kind ? " " + kind : "");
      ui.checkStatus.hidden = !text;
    }

    function postJson(url, body) {
      return fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/geo+json, application/json",
          "X-CSRF-Token": csrf,
        },
        body: JSON.stringify(body),
      });
    }

    async function runCheck(geometry, seq) {
      setCheckStatus(s.checking, "pending");
      document.body.dataset.checkState = "pending";
      updateSubmit();
      let reason;
      try {
        const response = await postJson(config.urls.check, { type: "Feature", geometry: geometry, properties: {} });
        const body = await readJson(response);
        if (seq !== state.checkSeq) return;
        if (response.ok && body && Array.isArray(body.problems) && typeof body.area_ha === "number") {
          state.lastCheck = body;
          showCheck(body);
          document.body.dataset.checkState = "done";
          updateSubmit();
          return;
        }
        reason = describe(body) || (response.ok ? s.badAnswer : "HTTP " + response.status);
      } catch (err) {
        if (seq !== state.checkSeq) return;
        reason = s.networkError;
        console.warn("AgriMap: boundary check failed:", err);
      }
      state.checkFailed = true;
      setCheckStatus(format(s.checkFailed, { reason: reason }), "failed");
      document.body.dataset.checkState = "failed";
      updateSubmit();
    }

    function problemText(problem) {
      const text = config.lang === "en" ? problem.message_en : problem.message_vi;
      return text || problem.message_vi || problem.message_en || problem.kind;
    }

    function showCheck(result) {
      ui.area.textContent = formatHectares(result.area_ha);
      ui.areaNote.textContent = "";
      setCheckStatus("", null);
      if (result.commune_code) {
        const name = result.commune_name || result.commune_code;
        const elsewhere = result.commune_code !== config.communeCode;
        ui.communeCheck.textContent = format(elsewhere ? s.otherCommune : s.inCommune, {
          name: name, code: result.commune_code, commune: config.communeLabel,
        });
        ui.communeCheck.className = "register-commune-check" + (elsewhere ? " warning" : "");
        ui.communeCheck.hidden = false;
      }
      const items = result.problems.map(function (problem) {
        const li = document.createElement("li");
        const severity = problem.severity === "error" ? "error" : "warning";
        li.className = "problem " + severity;
        li.dataset.kind = problem.kind;
        const label = document.createElement("strong");
        label.textContent = (severity === "error" ? s.error : s.warning) + ": ";
        li.append(label, problemText(problem));
        const layers = problem.other_code ? state.existingByCode[problem.other_code] : null;
        if (layers && layers.length) {
          li.dataset.otherCode = problem.other_code;
          const show = document.createElement("button");
          show.type = "button";
          show.className = "register-show-area";
          show.textContent = format(s.showArea, { code: problem.other_code });
          show.addEventListener("click", function () {
            map.fitBounds(L.featureGroup(layers).getBounds().extend(drawn.getBounds()), { padding: [40, 40] });
          });
          li.append(" ", show);
        }
        return li;
      });
      if (!items.length) {
        const ok = document.createElement("li");
        ok.className = "problem ok";
        ok.textContent = s.checkOk;
        items.push(ok);
      }
      ui.problems.replaceChildren.apply(ui.problems, items);
      highlightOverlaps(result.problems
        .filter(function (p) { return p.kind === "overlap" && p.other_code; })
        .map(function (p) { return p.other_code; }));
    }

    function highlightOverlaps(codes) {
      existing.eachLayer(function (layer) { layer.setStyle(existingStyle(layer.feature)); });
      codes.forEach(function (code) {
        (state.existingByCode[code] || []).forEach(function (layer) {
          layer.setStyle(OVERLAP_STYLE);
          layer.bringToFront();
        });
      });
    }

    function errorsOf(check) {
      return check ? check.problems.filter(function (p) { return p.severity === "error"; }) : [];
    }

    function updateSubmit() {
      let hint = "";
      if (state.submitting) hint = s.submitting;
      else if (state.toolActive === "edit" || state.toolActive === "delete") hint = s.finishTool;
      else if (!drawn.getLayers().length) hint = s.needShape;
      else if (errorsOf(state.lastCheck).length) hint = s.fixErrors;
      else if (!state.lastCheck && !state.checkFailed) hint = s.waitCheck;
      // A check that could not be made does not block: the server checks again on submit.
      ui.submit.disabled = Boolean(hint);
      ui.hint.textContent = hint;
      ui.hint.hidden = !hint;
    }

    // --- upload ----------------------------------------------------------------------

    function setUploadStatus(text, kind) {
      ui.uploadStatus.textContent = text;
      ui.uploadStatus.className = "register-upload-status" + (kind ? " " + kind : "");
      ui.uploadStatus.hidden = !text;
    }

    ui.file.addEventListener("change", async function () {
      const file = ui.file.files && ui.file.files[0];
      if (!file) return;
      const name = file.name;
      setUploadStatus(format(s.uploading, { name: name }), "pending");
      const data = new FormData();
      data.append("file", file, name);
      try {
        const response = await fetch(config.urls.boundary, {
          method: "POST",
          credentials: "same-origin",
          headers: { Accept: "application/json", "X-CSRF-Token": csrf },
          body: data,
        });
        const body = await readJson(response);
        const parts = body && response.ok ? polygonsOf(body.geometry) : [];
        if (parts.length) {
          setShape(body.geometry);
          map.fitBounds(drawn.getBounds(), { padding: [30, 30], maxZoom: 18 });
          // The server's note says what it read (format, CRS, points); it is in Vietnamese.
          const note = config.lang === "vi" && body.note_vi ? body.note_vi : "";
          setUploadStatus(note || format(s.uploaded, { name: name }), "ok");
        } else {
          const reason = describe(body) || (response.ok ? s.badAnswer : "HTTP " + response.status);
          setUploadStatus(format(s.uploadFailed, { name: name }) + " " + reason, "failed");
        }
      } catch (err) {
        console.warn("AgriMap: boundary upload failed:", err);
        setUploadStatus(format(s.uploadFailed, { name: name }) + " " + s.uploadNetwork, "failed");
      } finally {
        ui.file.value = "";  // the same file may be chosen again after a fix
      }
    });

    // --- submit ----------------------------------------------------------------------

    function textOrNull(input) {
      const value = input.value.trim();
      return value ? value : null;
    }

    function showError(text) {
      ui.error.textContent = text;
      ui.error.hidden = false;
      ui.error.scrollIntoView({ block: "nearest" });
    }

    function showSuccess(feature) {
      const props = feature.properties || {};
      const id = feature.id !== undefined && feature.id !== null ? feature.id : props.id;
      const itemUrl = format(config.urls.item, { id: encodeURIComponent(id) });
      ui.success.replaceChildren();
      const head = document.createElement("p");
      const [before, after] = s.registered.split("{code}");
      const code = document.createElement("strong");
      code.className = "register-code";
      code.textContent = props.code;
      head.append(before, code, after || "");
      const more = document.createElement("p");
      more.textContent = format(s.registeredMore, { version: props.version });
      const links = document.createElement("p");
      links.className = "register-links";
      const sheet = document.createElement("a");
      sheet.href = itemUrl + "/sheet";
      sheet.textContent = s.sheetLink;
      sheet.className = "register-sheet-link";
      const geojson = document.createElement("a");
      geojson.href = itemUrl + "?f=json";
      geojson.textContent = s.geojsonLink;
      geojson.className = "register-geojson-link";
      links.append(sheet, " · ", geojson);
      ui.success.append(head, more, links);
      ui.success.hidden = false;
      ui.success.scrollIntoView({ block: "nearest" });
    }

    async function saveBoundary(geometry) {
      state.submitting = true;
      updateSubmit();
      try {
        const response = await fetch(format(config.urls.item, { id: encodeURIComponent(edit.id) }) + "?lang=" + config.lang, {
          method: "PATCH",
          credentials: "same-origin",
          headers: {
            "Content-Type": "application/json",
            Accept: "application/geo+json, application/json",
            "X-CSRF-Token": csrf,
            "If-Match": '"v' + edit.version + '"',
          },
          body: JSON.stringify({ type: "Feature", geometry: geometry, properties: {} }),
        });
        const body = await readJson(response);
        if (response.ok) {
          document.body.dataset.saved = "1";
          window.location.assign(edit.pageUrl + "?saved=boundary");
          return;
        }
        showError(describe(body) || format(s.submitFailed, { status: response.status }));
        if (response.status === 409) shapeChanged();
      } catch (err) {
        console.warn("AgriMap: saving the boundary failed:", err);
        showError(s.submitNetwork);
      } finally {
        state.submitting = false;
        updateSubmit();
      }
    }

    ui.form.addEventListener("submit", async function (event) {
      event.preventDefault();
      ui.error.hidden = true;
      if (!ui.form.reportValidity()) return;
      const geometry = currentGeometry();
      if (!geometry || ui.submit.disabled) return;
      if (edit) {
        await saveBoundary(geometry);
        return;
      }
      ui.success.hidden = true;
      const members = ui.members.value.trim();
      const feature = {
        type: "Feature",
        geometry: geometry,
        properties: {
          crop: ui.crop.value.trim(),
          owner: textOrNull(ui.owner),
          member_households: members === "" ? null : Number(members),
          issued_on: ui.issued.value || null,
          note: textOrNull(ui.note),
        },
      };
      state.submitting = true;
      updateSubmit();
      try {
        const response = await postJson(config.urls.items, feature);
        const body = await readJson(response);
        if (response.status === 201 && body && body.properties && body.properties.code) {
          existing.addData(body);
          drawn.clearLayers();
          ui.note.value = "";
          showSuccess(body);
          document.body.dataset.registered = body.properties.code;
          shapeChanged();
        } else {
          showError(describe(body) || format(s.submitFailed, { status: response.status }));
          if (response.status === 409) shapeChanged();  // shows and highlights the overlap
        }
      } catch (err) {
        console.warn("AgriMap: registration failed:", err);
        showError(s.submitNetwork);
      } finally {
        state.submitting = false;
        updateSubmit();
      }
    });

    // --- loading ---------------------------------------------------------------------

    async function loadGeoJson(url, layer) {
      const response = await fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/geo+json, application/json" },
      });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const data = await readJson(response);
      if (!data || !(data.type === "FeatureCollection" || data.type === "Feature")) {
        throw new Error(s.badAnswer);
      }
      layer.addData(data);
      return data.type === "Feature" ? 1 : (data.features || []).length;
    }

    function reasonOf(err) {
      return err instanceof TypeError ? s.networkError : err.message;
    }

    const api = {
      map: map,
      drawnLayer: drawnLayer,
      geometry: currentGeometry,
      setShape: setShape,
      existing: existing,
    };
    Object.defineProperty(api, "lastCheck", { get: function () { return state.lastCheck; } });
    window.agrimapRegister = api;

    updateSubmit();
    document.body.dataset.checkState = "none";
    const loads = [
      loadGeoJson(config.existingUrl, existing).then(function (count) {
        document.body.dataset.existingCount = String(count);
      }, function (err) {
        document.body.dataset.existingFailed = "1";
        showNotice(format(s.existingFailed, { reason: reasonOf(err) }));
        console.warn("AgriMap: registered areas failed:", err);
      }),
    ];
    if (config.communeUrl) {
      loads.push(loadGeoJson(config.communeUrl, commune).then(null, function (err) {
        showNotice(format(s.communeFailed, { reason: reasonOf(err) }));
      }));
    }
    Promise.all(loads).then(function () {
      if (edit) {
        setShape(edit.geometry);
        map.fitBounds(drawn.getBounds(), { maxZoom: 18, padding: [40, 40], animate: false });
      }
      document.body.dataset.registerReady = "1";
    });
  };

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
})();
