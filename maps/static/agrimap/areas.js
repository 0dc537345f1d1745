/* AgriMap workspace maps: the growing-area list (table and map follow each other) and one
   growing area's page (its boundary and its neighbours). */
(function () {
  "use strict";
  const OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
  const COLOURS = { active: "#2ca02c", suspended: "#c99a06", revoked: "#9b1c1c" };

  function baseMap(id) {
    const map = L.map(id, { preferCanvas: false });
    L.tileLayer(OSM, { maxZoom: 19, attribution: "&copy; OpenStreetMap" }).addTo(map);
    L.control.scale({ imperial: false }).addTo(map);
    return map;
  }

  function styleOf(feature, selected) {
    const colour = COLOURS[(feature.properties || {}).status] || "#2ca02c";
    return { color: selected ? "#0b4f8a" : colour, weight: selected ? 4 : 2,
      fillColor: colour, fillOpacity: selected ? 0.45 : 0.25 };
  }

  window.agrimapAreaList = function (config) {
    const map = baseMap("areas-map");
    const rows = {};
    document.querySelectorAll("#areas-table tbody tr").forEach(function (tr) { rows[tr.dataset.id] = tr; });
    const layers = {};
    let selected = null;
    function select(id, from) {
      if (selected && layers[selected]) layers[selected].setStyle(styleOf(layers[selected].feature, false));
      if (selected && rows[selected]) rows[selected].classList.remove("selected");
      selected = String(id);
      const layer = layers[selected];
      if (layer) {
        layer.setStyle(styleOf(layer.feature, true));
        layer.bringToFront();
        if (from === "table") map.fitBounds(layer.getBounds(), { maxZoom: 17, padding: [30, 30] });
      }
      const tr = rows[selected];
      if (tr) {
        tr.classList.add("selected");
        if (from === "map") tr.scrollIntoView({ block: "nearest" });
      }
      document.body.dataset.selectedArea = selected;
    }
    const group = L.geoJSON(config.features, {
      style: function (f) { return styleOf(f, false); },
      onEachFeature: function (feature, layer) {
        layers[String(feature.id)] = layer;
        layer.bindTooltip(String(feature.properties.code), { sticky: true });
        layer.on("click", function () { select(feature.id, "map"); });
      },
    }).addTo(map);
    Object.keys(rows).forEach(function (id) {
      const tr = rows[id];
      tr.addEventListener("click", function (event) {
        if (event.target.closest("a")) return;  // the code opens the area's page
        select(id, "table");
      });
      tr.addEventListener("keydown", function (event) {
        if (event.key === "Enter") select(id, "table");
      });
    });
    if (config.features.length) map.fitBounds(group.getBounds(), { maxZoom: 16, padding: [20, 20] });
    else map.setView([16.0, 106.0], 5);
    window.agrimapAreas = { map: map, layers: layers, select: select };
    document.body.dataset.areasReady = "1";
  };

  window.agrimapAreaPage = function (config) {
    const map = baseMap("area-map");
    const own = L.geoJSON(config.feature, { style: function (f) { return styleOf(f, true); } }).addTo(map);
    map.fitBounds(own.getBounds(), { maxZoom: 18, padding: [40, 40] });
    const neighbours = L.geoJSON(null, {
      filter: function (f) { return String(f.id) !== String(config.feature.id); },
      style: function (f) { return Object.assign(styleOf(f, false), { fillOpacity: 0.12, dashArray: "4 3" }); },
      onEachFeature: function (feature, layer) {
        layer.bindTooltip(String((feature.properties || {}).code || ""), { sticky: true });
        layer.on("click", function () { window.location.assign("/maps/growing-areas/" + encodeURIComponent(feature.id)); });
      },
    }).addTo(map);
    own.bringToFront();
    fetch(config.neighboursUrl, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data) neighbours.addData(data);
        own.bringToFront();
        document.body.dataset.neighbours = String(neighbours.getLayers().length);
      })
      .catch(function () { document.body.dataset.neighbours = "failed"; });
    window.agrimapArea = { map: map, own: own, neighbours: neighbours };
  };
})();
