/* AgriMap overview page: fetch each layer's GeoJSON from our API and draw it on the map. */
(function () {
  "use strict";

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function formatValue(value, strings, field) {
    if (value === null || value === undefined || value === "") return strings.empty;
    const words = field && strings.values && strings.values[field];
    if (words && Object.prototype.hasOwnProperty.call(words, String(value))) return words[String(value)];
    if (typeof value === "boolean") return value ? strings.yes : strings.no;
    // Grouping off: numeric codes (commune, village) must not gain thousands separators.
    if (typeof value === "number") {
      return value.toLocaleString(strings.locale, { useGrouping: false, maximumFractionDigits: 6 });
    }
    return String(value);
  }

  function popupHtml(spec, properties, strings, featureId) {
    const rows = spec.fields.map(function (field) {
      const value = formatValue(properties[field[0]], strings, field[0]);
      return "<tr><th>" + escapeHtml(field[1]) + "</th><td>" + escapeHtml(value) + "</td></tr>";
    });
    // The feature's own page (a growing area's, for staff), its id only ever a number.
    const id = featureId;
    const link = spec.pageUrl && (typeof id === "number" || /^[0-9]+$/.test(String(id)))
      ? '<p class="agrimap-popup-link"><a href="' + escapeHtml(spec.pageUrl.replace("{id}", String(id))) +
        '">' + escapeHtml(strings.openPage) + "</a></p>"
      : "";
    return '<div class="agrimap-popup"><strong>' + escapeHtml(spec.title) + "</strong>" +
      "<table>" + rows.join("") + "</table>" + link + "</div>";
  }

  function tooltipText(spec, properties, strings) {
    if (!spec.fields.length) return spec.title;
    const first = spec.fields[0];
    return spec.title + " · " + first[1] + ": " + formatValue(properties[first[0]], strings, first[0]);
  }

  function pointStyle(spec) {
    return { radius: 4, color: "#ffffff", weight: 1, opacity: 1, fillColor: spec.color, fillOpacity: 0.9 };
  }

  function areaStyle(spec) {
    return { color: spec.color, weight: 2, opacity: 0.9, fillColor: spec.color, fillOpacity: 0.2 };
  }

  function geoJsonLayer(spec, strings) {
    return L.geoJSON(null, {
      // GeoJSON's style also reaches circle markers, so points keep their own look here.
      style: function (feature) {
        const type = feature && feature.geometry ? feature.geometry.type : "";
        return type === "Point" || type === "MultiPoint" ? pointStyle(spec) : areaStyle(spec);
      },
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, pointStyle(spec));
      },
      onEachFeature: function (feature, layer) {
        const properties = feature.properties || {};
        layer.bindPopup(popupHtml(spec, properties, strings, feature.id), { maxWidth: 420 });
        layer.bindTooltip(escapeHtml(tooltipText(spec, properties, strings)), { sticky: true });
        // The tooltip repeats the popup's first line and would sit on top of it.
        layer.on("popupopen", function () { layer.closeTooltip(); });
      },
    });
  }

  async function loadLayer(spec, group, strings) {
    const response = await fetch(spec.url, { headers: { Accept: "application/geo+json, application/json" } });
    if (!response.ok) throw new Error("HTTP " + response.status);
    const data = await response.json();
    const features = Array.isArray(data.features) ? data.features : [];
    const layer = geoJsonLayer(spec, strings);
    layer.addData(features);
    group.addLayer(layer);
    return features.length;
  }

  function showNotice(text) {
    const box = document.getElementById("agrimap-notices");
    const item = document.createElement("p");
    item.textContent = text;
    box.appendChild(item);
    box.hidden = false;
  }

  // Everything shares one canvas (the map prefers canvas, for thousands of households), so
  // drawing order is stacking order: points must be raised after any polygon layer is drawn.
  function raisePoints(config) {
    config.layers.forEach(function (spec) {
      if (spec.kind === "point") config.groups[spec.id].bringToFront();
    });
  }

  window.agrimapOverview = async function (config) {
    const map = config.map;
    window.agrimapMap = map;  // lets tests and the browser helper read what Leaflet drew
    map.on("overlayadd", function () { raisePoints(config); });
    const results = await Promise.allSettled(config.layers.map(function (spec) {
      return loadLayer(spec, config.groups[spec.id], config.strings).then(function (count) {
        raisePoints(config);
        return count;
      });
    }));
    const counts = {};
    results.forEach(function (result, i) {
      const spec = config.layers[i];
      if (result.status === "fulfilled") {
        counts[spec.id] = result.value;
      } else {
        showNotice(config.strings.loadFailed.replace("{layer}", spec.title));
        console.warn("AgriMap: layer " + spec.id + " failed:", result.reason);
      }
    });
    window.agrimapFeatureCounts = counts;
    document.body.dataset.layersFailed = String(config.layers.length - Object.keys(counts).length);
    document.body.dataset.layersLoaded = String(Object.keys(counts).length);
  };
})();
