/* The web import pages: the preview's map (each row of the file, refused rows in red, the
   stored villages around them) and the progress bar of a running import. */
(function () {
  "use strict";
  const OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";

  window.agrimapImportPreview = function (config) {
    const map = L.map("import-map");
    L.tileLayer(OSM, { maxZoom: 19, attribution: "&copy; OpenStreetMap" }).addTo(map);
    L.control.scale({ imperial: false }).addTo(map);
    const refused = new Set((config.refused || []).map(String));
    function colour(feature) { return refused.has(String(feature.properties.row)) ? "#d62728" : "#2ca02c"; }
    const rows = L.geoJSON(config.features, {
      style: function (f) { return { color: colour(f), weight: 2, fillOpacity: 0.25 }; },
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, { radius: 5, color: colour(f), fillColor: colour(f), fillOpacity: 0.8, weight: 1 });
      },
      onEachFeature: function (f, layer) { layer.bindTooltip(String(f.properties.row)); },
    }).addTo(map);
    // The valid rows frame the map (a refused row far away would shrink them to a dot);
    // a click on a refused row in the table shows it.
    let bounds = L.latLngBounds([]);
    rows.eachLayer(function (layer) {
      if (!refused.has(String(layer.feature.properties.row))) {
        bounds.extend(layer.getBounds ? layer.getBounds() : layer.getLatLng());
      }
    });
    if (!bounds.isValid()) bounds = rows.getBounds();
    if (bounds.isValid()) {
      map.fitBounds(bounds, { maxZoom: 17, padding: [20, 20] });
      const b = bounds.pad(0.2);
      const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); });
      fetch("/collections/villages/items?f=json&limit=1000&bbox=" + bbox.join(","))
        .then(function (r) { return r.ok ? r.json() : { features: [] }; })
        .then(function (data) {
          L.geoJSON(data, { style: { color: "#4b5e4d", weight: 1, dashArray: "4 3", fill: false }, interactive: false })
            .addTo(map).bringToBack();
        })
        .catch(function () {})
        .finally(function () { document.body.dataset.importReady = "1"; });
    } else {
      map.setView([16.0, 106.0], 6);
      document.body.dataset.importReady = "1";
    }
    document.querySelectorAll("#import-problems tbody tr").forEach(function (tr) {
      tr.addEventListener("click", function () {
        rows.eachLayer(function (layer) {
          if (String(layer.feature.properties.row) === tr.dataset.row) {
            if (layer.getBounds) map.fitBounds(layer.getBounds(), { maxZoom: 18 });
            else map.setView(layer.getLatLng(), 18);
            layer.openTooltip();
          }
        });
      });
    });
  };

  window.agrimapImportProgress = function (config) {
    const fill = document.querySelector("#import-bar .import-bar-fill");
    const bar = document.getElementById("import-bar");
    function poll() {
      fetch(config.statusUrl, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          fill.style.width = s.percent + "%";
          bar.setAttribute("aria-valuenow", String(s.percent));
          document.getElementById("import-stage").textContent = s.stage_name;
          document.getElementById("import-percent").textContent = s.percent + " %";
          document.getElementById("import-rows").textContent = s.rows || "";
          document.body.dataset.importPercent = String(s.percent);
          if (s.state === "done" || s.state === "failed") window.location.reload();
          else window.setTimeout(poll, 400);
        })
        .catch(function () { window.setTimeout(poll, 1500); });
    }
    window.setTimeout(poll, 200);
  };
})();
