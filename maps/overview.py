"""The overview map page (bản đồ tổng quan): every layer the API serves, drawn by the browser."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import folium
from branca.element import Figure, MacroElement
from folium.template import Template

from geo.exports import STATUS_VI

STATIC_DIR = Path(__file__).parent / "static"
"""Served at ``static_prefix`` (``/static``): vendored Leaflet and our page script."""

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)

KINDS = ("polygon", "point")
# Hex, rgb()/hsl() or a CSS colour name: the colour lands in inline styles and must not break out.
_CSS_COLOR = re.compile(r"#[0-9a-fA-F]{3,8}|(?:rgb|rgba|hsl|hsla)\([0-9.,%\s]+\)|[a-zA-Z]+")
_LAYER_ID = re.compile(r"[A-Za-z0-9_.-]+")

STRINGS: dict[str, dict[str, str]] = {
    "vi": {
        "legend": "Chú giải",
        "footnote": "Dữ liệu: AgriMap",
        "loadFailed": "Không tải được lớp {layer}.",
        "basemap": "Bản đồ nền OpenStreetMap",
        "zoomIn": "Phóng to",
        "zoomOut": "Thu nhỏ",
        "empty": "—",
        "yes": "Có",
        "no": "Không",
        "openPage": "Mở trang chi tiết",
        # Stored values shown in words (a popup never shows a raw English value).
        "values": {"status": STATUS_VI, "technology": {"fibre": "Cáp quang"}},
        "locale": "vi-VN",
    },
    "en": {
        "legend": "Legend",
        "footnote": "Data: AgriMap",
        "loadFailed": "Could not load layer {layer}.",
        "basemap": "OpenStreetMap basemap",
        "zoomIn": "Zoom in",
        "zoomOut": "Zoom out",
        "empty": "—",
        "yes": "Yes",
        "no": "No",
        "openPage": "Open its page",
        "values": {
            "status": {"active": "Active", "suspended": "Suspended", "revoked": "Revoked"},
            "technology": {"fibre": "Fibre"},
        },
        "locale": "en-GB",
    },
}


@dataclass(frozen=True)
class LayerView:
    """One layer of the overview map, as the API serves it (a GeoJSON FeatureCollection)."""

    id: str
    title_vi: str
    title_en: str
    items_url: str
    kind: str
    color: str
    popup_fields: tuple[tuple[str, str], ...]
    show: bool = True
    # A feature's own page, "{id}" replaced by its id (None: the popup has no link).
    page_url: str | None = None

    def __post_init__(self) -> None:
        if not _LAYER_ID.fullmatch(self.id):
            raise ValueError(f"layer id {self.id!r} must be letters, digits, '_', '.' or '-'")
        if self.kind not in KINDS:
            raise ValueError(f"layer kind {self.kind!r} is not one of {KINDS}")
        if not _CSS_COLOR.fullmatch(self.color):
            raise ValueError(f"layer colour {self.color!r} is not a CSS colour")
        if self.page_url is not None and (
            "{id}" not in self.page_url or not self.page_url.startswith("/")
        ):
            raise ValueError(f"page_url {self.page_url!r} must be a local path holding {{id}}")

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" else self.title_vi


class _OverviewPage(Figure):
    """A folium Figure with a language, a UTF-8 charset first and the script inside <body>."""

    _template = Template(
        "<!DOCTYPE html>\n"
        '<html lang="{{ this.lang }}">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        "<title>{{ this.title|e }}</title>\n"
        "{{ this.header.render(**kwargs) }}\n"
        "</head>\n"
        "<body>\n"
        "{{ this.header_html }}\n"
        "{{ this.html.render(**kwargs) }}\n"
        "<script>\n{{ this.script.render(**kwargs) }}\n</script>\n"
        "</body>\n"
        "</html>\n"
    )

    def __init__(self, *, title: str, lang: str, header_html: str = "") -> None:
        super().__init__(title=title)
        self.lang = lang
        self.header_html = header_html  # the shared page header (api.chrome), already HTML
        # Our <meta charset> above replaces branca's http-equiv one.
        self.header._children.pop("meta_http", None)


class _PageChrome(MacroElement):
    """Title, layer control, legend, notices and the call that loads every layer; added last."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <script src="{{ this.static_prefix }}/agrimap/overview.js"></script>
        <style>
          body, .leaflet-container { font-family: system-ui, "Segoe UI", Roboto, sans-serif; }
          /* The shared page header on top, the map in the rest of the window. */
          body { display: flex; flex-direction: column; }
          body > .folium-map { flex: 1 1 auto; height: auto !important; min-height: 0; }
          .leaflet-container { background: #e8eee6; }
          .agrimap-box { background: rgba(255, 255, 255, 0.94); border-radius: 6px;
            box-shadow: 0 1px 5px rgba(0, 0, 0, 0.35); padding: 8px 10px; color: #1c2b1c; }
          .agrimap-title { margin: 0; font-size: 17px; font-weight: 600; max-width: 60vw; }
          .agrimap-legend { min-width: 150px; font-size: 13px; line-height: 1.5; }
          .agrimap-legend summary { font-weight: 600; font-size: 14px; cursor: pointer; }
          .agrimap-legend ul { list-style: none; margin: 6px 0; padding: 0; }
          .agrimap-legend li { display: flex; align-items: center; gap: 8px; }
          .agrimap-swatch { display: inline-block; width: 16px; height: 12px; border: 2px solid;
            box-sizing: border-box; flex: none; }
          .agrimap-swatch.point { width: 10px; height: 10px; margin: 0 3px; border-radius: 50%;
            border: 1px solid #fff; box-shadow: 0 0 0 1px rgba(0, 0, 0, 0.25); }
          .agrimap-footnote { margin: 4px 0 0; color: #5a6b5a; font-size: 11px; }
          #agrimap-notices { position: absolute; z-index: 1000; top: 10px; left: 50%;
            transform: translateX(-50%); max-width: 80vw; background: #fff3cd; color: #664d03;
            border: 1px solid #ffda6a; border-radius: 6px; padding: 6px 12px; font-size: 14px; }
          #agrimap-notices p { margin: 2px 0; }
          .agrimap-popup table { border-collapse: collapse; margin-top: 4px; }
          .agrimap-popup th { text-align: left; font-weight: 500; color: #5a6b5a; padding: 1px 10px 1px 0;
            white-space: nowrap; }
          .agrimap-popup td { padding: 1px 0; white-space: nowrap; }
          @media (max-width: 600px) {
            .agrimap-title { font-size: 15px; max-width: calc(100vw - 110px); }
            /* The attribution spans the whole bottom edge on a phone: lift the scale above it. */
            .leaflet-bottom.leaflet-left { bottom: 18px; }
          }
        </style>
        {% endmacro %}

        {% macro html(this, kwargs) %}
        <div id="agrimap-notices" role="alert" hidden></div>
        {% endmacro %}

        {% macro script(this, kwargs) %}
        (function () {
          const map = {{ this._parent.get_name() }};
          function box(position, className, inner) {
            const control = L.control({ position: position });
            control.onAdd = function () {
              const div = L.DomUtil.create("div", "agrimap-box " + className);
              div.innerHTML = inner;
              L.DomEvent.disableClickPropagation(div);
              L.DomEvent.disableScrollPropagation(div);
              return div;
            };
            return control.addTo(map);
          }
          // The title goes in first so that it sits above the zoom buttons.
          // Phones start with the layer list and the legend folded so that they do not hide the map.
          const narrow = window.innerWidth < 600;
          box("topleft", "agrimap-title-box", {{ this.title_html|tojson }});
          L.control.zoom({ position: "topleft", zoomInTitle: {{ this.strings.zoomIn|tojson }},
            zoomOutTitle: {{ this.strings.zoomOut|tojson }} }).addTo(map);
          L.control.scale({ imperial: false }).addTo(map);
          L.control.layers(
            { {{ this.basemap_name|tojson }}: {{ this.basemap.get_name() }} },
            { {% for name, group in this.overlays %}{{ name|tojson }}: {{ group.get_name() }},{% endfor %} },
            { collapsed: narrow }
          ).addTo(map);
          const legend = box("bottomright", "agrimap-legend", {{ this.legend_html|tojson }});
          if (narrow) legend.getContainer().querySelector("details").open = false;
          agrimapOverview({
            map: map,
            layers: {{ this.layer_specs|tojson }},
            groups: { {% for id, group in this.groups %}{{ id|tojson }}: {{ group.get_name() }},{% endfor %} },
            strings: {{ this.strings|tojson }},
          });
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        layers: Sequence[LayerView],
        groups: Sequence[folium.FeatureGroup],
        basemap: folium.TileLayer,
        *,
        title: str,
        lang: str,
        static_prefix: str,
    ) -> None:
        super().__init__()
        self._name = "AgrimapOverview"
        self.static_prefix = static_prefix
        self.strings = STRINGS[lang]
        self.title_html = f'<h1 class="agrimap-title">{html.escape(title)}</h1>'
        self.legend_html = legend_html(layers, lang=lang)
        self.layer_specs = [_layer_spec(layer, lang) for layer in layers]
        pairs = list(zip(layers, groups, strict=True))
        self.groups = [(layer.id, group) for layer, group in pairs]
        self.overlays = [(_layer_control_name(layer, lang), group) for layer, group in pairs]
        self.basemap = basemap
        self.basemap_name = self.strings["basemap"]


def _layer_spec(layer: LayerView, lang: str) -> dict[str, object]:
    """What the page script needs to fetch and draw one layer."""
    return {
        "id": layer.id,
        "title": layer.title(lang),
        "url": layer.items_url,
        "kind": layer.kind,
        "color": layer.color,
        "fields": [list(field) for field in layer.popup_fields],
        "pageUrl": layer.page_url,
    }


def _swatch(layer: LayerView) -> str:
    # Points get a dot, polygons an outlined box, as they are drawn on the map.
    if layer.kind == "point":
        return f'<span class="agrimap-swatch point" style="background:{layer.color}"></span>'
    return (
        f'<span class="agrimap-swatch" style="border-color:{layer.color};'
        f'background:color-mix(in srgb, {layer.color} 25%, transparent)"></span>'
    )


def legend_html(layers: Sequence[LayerView], *, lang: str = "vi") -> str:
    """The legend box (chú giải): a colour swatch and the name of each layer, and the source."""
    strings = STRINGS[lang]
    items = "".join(
        f"<li>{_swatch(layer)}<span>{html.escape(layer.title(lang))}</span></li>"
        for layer in layers
    )
    return (
        f"<details open><summary>{html.escape(strings['legend'])}</summary>"
        f"<ul>{items}</ul>"
        f'<p class="agrimap-footnote">{html.escape(strings["footnote"])}</p></details>'
    )


def _layer_control_name(layer: LayerView, lang: str) -> str:
    # Leaflet's layer control inserts names as HTML: escape the title, add the swatch.
    return f"{_swatch(layer)} {html.escape(layer.title(lang))}"


def _view_bounds(bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """Checked WGS84 bounds; a single point or line is padded so Leaflet can fit it."""
    lon_min, lat_min, lon_max, lat_max = (float(v) for v in bounds)
    if not (-180 <= lon_min <= lon_max <= 180 and -90 <= lat_min <= lat_max <= 90):
        raise ValueError(f"bounds {bounds} are not (lon_min, lat_min, lon_max, lat_max) in WGS84")
    pad = 0.005  # about 500 m: a single household still shows its surroundings
    if lon_min == lon_max:
        lon_min, lon_max = max(lon_min - pad, -180), min(lon_max + pad, 180)
    if lat_min == lat_max:
        lat_min, lat_max = max(lat_min - pad, -90), min(lat_max + pad, 90)
    return lon_min, lat_min, lon_max, lat_max


def render_overview(
    layers: Sequence[LayerView],
    *,
    bounds: tuple[float, float, float, float],
    title: str,
    lang: str = "vi",
    static_prefix: str = "/static",
    header_html: str = "",
) -> str:
    """The overview map as a full HTML page; the browser fetches each layer's ``items_url``.

    ``bounds`` is (lon_min, lat_min, lon_max, lat_max) in WGS84. The page references only
    Leaflet and our script under ``static_prefix`` and the OpenStreetMap tiles, which may fail
    offline without breaking the page. When every layer has loaded or failed, the page sets
    ``document.body.dataset.layersLoaded`` and ``window.agrimapFeatureCounts``.
    """
    if lang not in STRINGS:
        raise ValueError(f"lang {lang!r} is not one of {tuple(STRINGS)}")
    lon_min, lat_min, lon_max, lat_max = _view_bounds(bounds)
    if len({layer.id for layer in layers}) != len(layers):
        raise ValueError("layer ids must be unique")
    prefix = static_prefix.rstrip("/")
    fmap = folium.Map(
        location=((lat_min + lat_max) / 2, (lon_min + lon_max) / 2),
        tiles=None,
        zoom_control=False,
        # ~2,600 households: one canvas draws them far faster than one SVG node each.
        prefer_canvas=True,
    )
    # Instance attributes, so folium's CDN lists (jQuery, Bootstrap, Font Awesome...) stay unused.
    fmap.default_js = [("leaflet", f"{prefix}/leaflet/leaflet.js")]
    fmap.default_css = [("leaflet_css", f"{prefix}/leaflet/leaflet.css")]
    _OverviewPage(title=title, lang=lang, header_html=header_html).add_child(fmap)
    basemap = folium.TileLayer(OSM_TILES, attr=OSM_ATTRIBUTION, max_zoom=19).add_to(fmap)
    groups = [folium.FeatureGroup(show=layer.show).add_to(fmap) for layer in layers]
    fmap.fit_bounds([[lat_min, lon_min], [lat_max, lon_max]])
    # Our own layer control (in _PageChrome), because folium's cannot fold itself on phones.
    chrome = _PageChrome(layers, groups, basemap, title=title, lang=lang, static_prefix=prefix)
    fmap.add_child(chrome)
    return fmap.get_root().render()
