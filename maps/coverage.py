"""The planner's coverage page (bản đồ phủ sóng, tiêu chí 8): coverage by operator and
technology, villages and H3 hexagons shaded by % of households served, households as dots when
zoomed in, and the commune's criterion-8 table beside the map, all following the switches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import folium
from branca.element import MacroElement
from folium.template import Template

from .coverage_text import STRINGS
from .overview import OSM_ATTRIBUTION, OSM_TILES, _OverviewPage, _view_bounds
from .register import commune_label

TECHNOLOGIES = ("2G", "3G", "4G", "5G", "fibre")
# Operators' colours: their brands' hues where known, then a fixed palette for the others.
OPERATOR_COLOURS = {"Viettel": "#d7191c", "VNPT": "#2b83ba", "MobiFone": "#7b3294"}
OTHER_COLOURS = ("#1a9641", "#fdae61", "#636363", "#a6611a", "#018571")
# % of households served: upper bounds of the classes and their colours (red to green).
SHARE_CLASSES = ((1, "#b2182b"), (50, "#ef8a62"), (90, "#fddbc7"), (100.01, "#1a9850"))
MIN_HOUSEHOLDS = 5
HOUSEHOLDS_ZOOM = 15  # household dots appear from this zoom on


def operator_colours(operators: Sequence[str]) -> dict[str, str]:
    """A colour per operator, stable for the known ones."""
    out, others = {}, iter(OTHER_COLOURS * 4)
    for name in operators:
        out[name] = OPERATOR_COLOURS.get(name) or next(others, "#444444")
    return out


class _CoveragePage(_OverviewPage):
    """The page with the shared header slot first in <body>, then the map and the panel."""

    _template = Template(
        "<!DOCTYPE html>\n"
        '<html lang="{{ this.lang }}">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>{{ this.title|e }}</title>\n"
        "{{ this.header.render(**kwargs) }}\n"
        "</head>\n"
        '<body class="coverage-page">\n'
        '<div class="coverage-header">{{ this.header_html }}</div>\n'
        "{{ this.html.render(**kwargs) }}\n"
        "<script>\n{{ this.script.render(**kwargs) }}\n</script>\n"
        "</body>\n"
        "</html>\n"
    )

    def __init__(self, *, title: str, lang: str, header_html: str) -> None:
        super().__init__(title=title, lang=lang)
        self.header_html = header_html


class _CoverageChrome(MacroElement):
    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <link rel="stylesheet" href="{{ this.static_prefix|e }}/agrimap/coverage.css">
        <script src="{{ this.static_prefix|e }}/agrimap/coverage.js"></script>
        {% endmacro %}

        {% macro html(this, kwargs) %}
        {% set s = this.strings %}
        <div id="agrimap-notices" role="alert" hidden></div>
        <aside class="coverage-panel" aria-labelledby="coverage-title">
          <h1 id="coverage-title">{{ s.title|e }}</h1>
          <p class="coverage-commune" data-commune-code="{{ this.commune_code|e }}">
            {{ this.commune_line|e }}</p>
          <form id="coverage-filters" class="coverage-filters" aria-label="{{ s.filters|e }}">
            <label>{{ s.operator|e }}
              <select name="operator" id="coverage-operator">
                <option value="">{{ s.allOperators|e }}</option>
                {% for op in this.operators %}<option value="{{ op|e }}">{{ op|e }}</option>{% endfor %}
              </select></label>
            <label>{{ s.technology|e }}
              <select name="technology" id="coverage-technology">
                {% for t, label in this.technologies %}
                <option value="{{ t|e }}"{% if t == this.technology %} selected{% endif %}>{{ label|e }}</option>
                {% endfor %}
              </select></label>
            <label>{{ s.tier|e }}
              <select name="tier" id="coverage-tier">
                <option value="">{{ s.anyTier|e }}</option>
                {% for t in this.tiers %}
                <option value="{{ t.code|e }}" data-technology="{{ t.technology|e }}">{{ t.label|e }}</option>
                {% endfor %}
              </select></label>
            <label>{{ s.asOf|e }}
              <input type="text" name="as_of" id="coverage-as-of" value="{{ this.as_of_dmy|e }}"
                inputmode="numeric" placeholder="{{ s.datePlaceholder|e }}" autocomplete="off"
                pattern="[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}" required></label>
          </form>
          <p id="coverage-as-of-line" class="coverage-muted"></p>
          <p id="coverage-status" class="coverage-muted" aria-live="polite">{{ s.loading|e }}</p>
          <section aria-labelledby="coverage-summary-title">
            <p id="coverage-served-line" class="coverage-big"></p>
            <p id="coverage-villages-line"></p>
          </section>
          <section aria-labelledby="coverage-c8-title">
            <h2 id="coverage-c8-title">{{ s.criterion8|e }}</h2>
            <table id="coverage-criterion8" class="coverage-table">
              <thead><tr><th>{{ s.indicator|e }}</th><th>{{ s.value|e }}</th>
                <th>{{ s.target|e }}</th><th>{{ s.verdict|e }}</th></tr></thead>
              <tbody></tbody>
            </table>
            <p class="coverage-muted">{{ s.criterion8Note|e }}</p>
          </section>
          <section aria-labelledby="coverage-dead-title">
            <h2 id="coverage-dead-title">{{ s.deadZones|e }}</h2>
            <ul id="coverage-dead-zones" class="coverage-dead"></ul>
          </section>
          <section aria-labelledby="coverage-villages-title">
            <h2 id="coverage-villages-title">{{ s.villages|e }}</h2>
            <table id="coverage-villages" class="coverage-table">
              <thead><tr><th>{{ s.village|e }}</th><th>{{ s.households|e }}</th>
                <th>{{ s.served|e }}</th><th>%</th><th>{{ s.status|e }}</th>
                <th>{{ s.fibreSubs|e }}</th></tr></thead>
              <tbody></tbody>
            </table>
            <p id="coverage-empty-villages" class="coverage-muted" hidden></p>
          </section>
          <section aria-labelledby="coverage-reports-title">
            <h2 id="coverage-reports-title">{{ s.reports|e }}</h2>
            <p class="coverage-reports">
              <a id="coverage-report-csv" href="#">{{ s.csv|e }}</a>
              <a id="coverage-report-xlsx" href="#">{{ s.xlsx|e }}</a>
              <a id="coverage-report-pdf" href="#">{{ s.pdf|e }}</a>
            </p>
          </section>
        </aside>
        {% endmacro %}

        {% macro script(this, kwargs) %}
        (function () {
          const map = {{ this._parent.get_name() }};
          L.control.zoom({ position: "topleft", zoomInTitle: {{ this.strings.zoomIn|tojson }},
            zoomOutTitle: {{ this.strings.zoomOut|tojson }} }).addTo(map);
          L.control.scale({ imperial: false }).addTo(map);
          agrimapCoveragePage({
            map: map,
            basemap: {{ this.basemap.get_name() }},
            communeCode: {{ this.commune_code|tojson }},
            lang: {{ this.lang|tojson }},
            strings: {{ this.strings|tojson }},
            operatorColours: {{ this.colours|tojson }},
            shareClasses: {{ this.share_classes|tojson }},
            minHouseholds: {{ this.min_households|tojson }},
            householdsZoom: {{ this.households_zoom|tojson }},
          });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, basemap: folium.TileLayer, **kw: Any) -> None:
        super().__init__()
        self._name = "AgrimapCoverage"
        self.basemap = basemap
        for key, value in kw.items():
            setattr(self, key, value)


def render_coverage(
    *,
    commune_code: str,
    commune_name: str,
    province_name: str,
    bounds: tuple[float, float, float, float],
    operators: Sequence[str],
    tiers: Sequence[dict[str, Any]],
    as_of: dt.date,
    lang: str = "vi",
    technology: str = "4G",
    header_html: str = "",
    static_prefix: str = "/static",
) -> str:
    """The planner's page for one commune as a full HTML page. The browser asks
    /coverage/indicators, /coverage/hexagons, /coverage/polygons and /coverage/households for
    the selection of the switches; ``tiers`` are coverage_tier rows (code, technology,
    label_vi, label_en). When a selection has been drawn the page sets
    ``document.body.dataset.coverageLoaded`` to a counter and exposes ``window.agrimapMap``."""
    if lang not in STRINGS:
        raise ValueError(f"lang {lang!r} is not one of {tuple(STRINGS)}")
    strings = STRINGS[lang]
    lon_min, lat_min, lon_max, lat_max = _view_bounds(bounds)
    prefix = static_prefix.rstrip("/")
    fmap = folium.Map(
        location=((lat_min + lat_max) / 2, (lon_min + lon_max) / 2),
        tiles=None,
        zoom_control=False,
        prefer_canvas=True,
    )
    fmap.default_js = [("leaflet", f"{prefix}/leaflet/leaflet.js")]
    fmap.default_css = [("leaflet_css", f"{prefix}/leaflet/leaflet.css")]
    label = commune_label(commune_name, lang)
    title = strings["pageTitle"].format(commune=label[:1].upper() + label[1:])
    _CoveragePage(title=title, lang=lang, header_html=header_html).add_child(fmap)
    basemap = folium.TileLayer(
        OSM_TILES, attr=OSM_ATTRIBUTION, max_zoom=19, name=strings["basemap"]
    ).add_to(fmap)
    fmap.fit_bounds([[lat_min, lon_min], [lat_max, lon_max]])
    line = strings["communeLine"].format(commune=label, province=province_name, code=commune_code)
    chrome = _CoverageChrome(
        basemap,
        strings=strings,
        lang=lang,
        static_prefix=prefix,
        commune_code=commune_code,
        commune_line=line[:1].upper() + line[1:],
        operators=list(operators),
        colours=operator_colours(operators),
        technologies=[(t, strings["fibre"] if t == "fibre" else t) for t in TECHNOLOGIES],
        technology=technology,
        tiers=[
            {
                "code": t["code"],
                "technology": t["technology"],
                "label": t["label_en"] if lang == "en" else t["label_vi"],
            }
            for t in tiers
        ],  # fmt: skip
        as_of_dmy=as_of.strftime("%d/%m/%Y"),
        share_classes=[list(c) for c in SHARE_CLASSES],
        min_households=MIN_HOUSEHOLDS,
        households_zoom=HOUSEHOLDS_ZOOM,
    )
    fmap.add_child(chrome)
    return fmap.get_root().render()
