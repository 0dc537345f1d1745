"""The soil fertility page (bản đồ nông hóa thổ nhưỡng): a property switch, raster tiles and the
legend from the class table, graded zones, and a growing area's statistics, grades,
reliability and advice when clicked."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from .overview import OSM_ATTRIBUTION, OSM_TILES, _view_bounds

STRINGS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Bản đồ nông hóa thổ nhưỡng",
        "property": "Chỉ tiêu",
        "legend": "Chú giải",
        "classSource": "Nguồn bảng phân cấp",
        "zones": "Vùng phân cấp",
        "areas": "Vùng trồng",
        "reliability": "Độ tin cậy của bản đồ",
        "method": "Phương pháp",
        "imported": "ảnh nhập từ tệp",
        "idw": "nội suy nghịch đảo khoảng cách (IDW)",
        "ordinary_kriging": "nội suy Kriging thông thường",
        "samples": "Số mẫu",
        "rmse": "Sai số kiểm định chéo (RMSE)",
        "bias": "Độ lệch (bias)",
        "noCv": "Ảnh nhập sẵn: không có kiểm định chéo.",
        "cell": "Kích thước ô",
        "depth": "Tầng đất",
        "clickHint": "Bấm vào một vùng trồng trên bản đồ để xem chỉ tiêu đất và khuyến cáo.",
        "field": "Vùng trồng",
        "crop": "Cây trồng",
        "area": "Diện tích",
        "mean": "Trung bình",
        "range": "Thấp nhất – cao nhất",
        "grade": "Cấp",
        "shares": "Tỷ lệ diện tích theo cấp",
        "probabilities": "Xác suất theo cấp (Kriging)",
        "covered": "Phần diện tích có số liệu",
        "note": "Nhận xét cho cán bộ",
        "noNote": "Không có khuyến cáo nào cho vùng này.",
        "noData": "Vùng này nằm ngoài bản đồ đất.",
        "unavailable": "Tạm thời không đọc được ảnh này trên máy chủ (đã báo quản trị viên).",
        "noMaps": "Chưa có bản đồ nông hóa nào. Hãy nhập ảnh GeoTIFF hoặc bảng mẫu đất.",
        "loading": "Đang tải…",
        "loadFailed": "Không tải được dữ liệu.",
        "basemap": "Bản đồ nền OpenStreetMap",
        "locale": "vi-VN",
        "ha": "ha",
        "m": "m",
    },
    "en": {
        "title": "Soil fertility map",
        "property": "Property",
        "legend": "Legend",
        "classSource": "Class table source",
        "zones": "Graded zones",
        "areas": "Growing areas",
        "reliability": "Reliability of the map",
        "method": "Method",
        "imported": "imported raster",
        "idw": "inverse distance weighting (IDW)",
        "ordinary_kriging": "ordinary kriging",
        "samples": "Samples",
        "rmse": "Cross-validation error (RMSE)",
        "bias": "Bias",
        "noCv": "Imported raster: no cross-validation.",
        "cell": "Cell size",
        "depth": "Depth",
        "clickHint": "Click a growing area on the map to see its soil and advice.",
        "field": "Growing area",
        "crop": "Crop",
        "area": "Area",
        "mean": "Mean",
        "range": "Lowest – highest",
        "grade": "Grade",
        "shares": "Share of the area by grade",
        "probabilities": "Probability by grade (kriging)",
        "covered": "Share of the area with data",
        "note": "Note for the officer",
        "noNote": "No advice for this area.",
        "noData": "This area lies outside the soil map.",
        "unavailable": "This raster cannot be read on the server for now (the administrator is told).",
        "noMaps": "No soil map yet. Import a GeoTIFF or a sample table.",
        "loading": "Loading…",
        "loadFailed": "Could not load the data.",
        "basemap": "OpenStreetMap basemap",
        "locale": "en-GB",
        "ha": "ha",
        "m": "m",
    },
}

_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{static}/leaflet/leaflet.css">
<link rel="stylesheet" href="{static}/agrimap/soil.css">
<script src="{static}/leaflet/leaflet.js"></script>
<script src="{static}/agrimap/soil.js"></script>
</head>
<body>
{header_html}
<div class="soil-layout">
  <div id="soil-map" class="soil-map"></div>
  <aside class="soil-panel" aria-labelledby="soil-title">
    <h1 id="soil-title">{title}</h1>
    <section>
      <h2>{s_property}</h2>
      <div id="soil-properties" class="soil-properties" role="radiogroup"></div>
    </section>
    <section>
      <h2>{s_legend}</h2>
      <ul id="soil-legend" class="soil-legend"></ul>
      <p id="soil-class-source" class="soil-small"></p>
    </section>
    <section>
      <h2>{s_reliability}</h2>
      <dl id="soil-reliability" class="soil-dl"></dl>
    </section>
    <section id="soil-field" aria-live="polite">
      <p class="soil-hint">{s_hint}</p>
    </section>
  </aside>
</div>
<script>
agrimapSoil({config});
</script>
</body>
</html>
"""


def render_soil_page(
    rasters: Sequence[dict[str, Any]],
    *,
    bounds: tuple[float, float, float, float],
    lang: str = "vi",
    static_prefix: str = "/static",
    header_html: str = "",
) -> str:
    """The soil page as HTML. ``rasters`` are ``SoilRaster.public`` dicts (one per property);
    ``header_html`` (the shared page header) is the first thing in <body>."""
    if lang not in STRINGS:
        raise ValueError(f"lang {lang!r} is not one of {tuple(STRINGS)}")
    s = STRINGS[lang]
    lon_min, lat_min, lon_max, lat_max = _view_bounds(bounds)
    config = {
        "lang": lang,
        "strings": s,
        "rasters": list(rasters),
        "bounds": [[lat_min, lon_min], [lat_max, lon_max]],
        "basemap": {"url": OSM_TILES, "attribution": OSM_ATTRIBUTION},
        "areasUrl": "/collections/growing_areas/items?f=json&limit=10000",
        "reportUrl": "/soil/growing-areas/{id}?lang=" + lang,
        "zonesUrl": "/soil/rasters/{id}/zones",
    }
    # </script> cannot appear inside the JSON: json.dumps escapes "/" only when asked.
    payload = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    return _PAGE.format(
        lang=lang,
        title=html.escape(s["title"]),
        static=html.escape(static_prefix.rstrip("/")),
        header_html=header_html,
        s_property=html.escape(s["property"]),
        s_legend=html.escape(s["legend"]),
        s_reliability=html.escape(s["reliability"]),
        s_hint=html.escape(s["clickHint"]),
        config=payload,
    )
