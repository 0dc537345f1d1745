"""The planner's coverage page (bản đồ phủ sóng, tiêu chí 8): coverage by operator and
technology, villages and H3 hexagons shaded by % of households served, households as dots when
zoomed in, and the commune's criterion-8 table beside the map, all following the switches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

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
          <p class="coverage-commune" data-level="{{ this.level|e }}" data-code="{{ this.code|e }}">
            {{ this.scope_line|e }}</p>
          <p class="coverage-scope"><a id="coverage-scope-link" href="{{ this.scope_href|e }}">{{ this.scope_link|e }}</a></p>
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
          <section aria-labelledby="coverage-disagree-title">
            <h2 id="coverage-disagree-title">{{ s.disagreements|e }}</h2>
            <p id="coverage-disagree-note" class="coverage-muted"></p>
            <table id="coverage-disagreements" class="coverage-table">
              <thead><tr><th>{{ s.village|e }}</th><th>{{ s.operator|e }}</th>
                <th>{{ s.finding|e }}</th><th>{{ s.tests|e }}</th>
                <th>{{ s.medianDown|e }}</th><th>{{ s.medianUp|e }}</th></tr></thead>
              <tbody></tbody>
            </table>
            <p id="coverage-disagree-empty" class="coverage-muted" hidden></p>
          </section>
          {% if this.level == "province" %}
          <section aria-labelledby="coverage-communes-title">
            <h2 id="coverage-communes-title">{{ s.communes|e }}</h2>
            <table id="coverage-communes" class="coverage-table">
              <thead><tr><th>{{ s.commune|e }}</th><th>{{ s.households|e }}</th>
                <th>{{ s.served|e }}</th><th>%</th><th>{{ s.villagesCovered|e }}</th>
                <th>{{ s.deadZonesShort|e }}</th><th>{{ s.fibreSubs|e }}</th></tr></thead>
              <tbody></tbody>
            </table>
          </section>
          {% else %}
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
          {% endif %}
          <section aria-labelledby="coverage-reports-title">
            <h2 id="coverage-reports-title">{{ s.reports|e }}</h2>
            <p class="coverage-reports">
              <a id="coverage-report-csv" href="#">{{ s.csv|e }}</a>
              <a id="coverage-report-xlsx" href="#">{{ s.xlsx|e }}</a>
              {% if this.level == "commune" %}<a id="coverage-report-pdf" href="#">{{ s.pdf|e }}</a>{% endif %}
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
            level: {{ this.level|tojson }},
            code: {{ this.code|tojson }},
            provinceCode: {{ this.province_code|tojson }},
            operators: {{ this.operators|tojson }},
            tierLabels: {{ this.tier_labels|tojson }},
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
    level: str = "commune",
    code: str,
    name: str,
    province_code: str,
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
    """The planner's page for one commune (``level`` "commune": villages, households) or one
    province (``level`` "province": communes, H3 cells of resolution 8) as a full HTML page.
    The browser asks /coverage/indicators, /coverage/hexagons, /coverage/polygons,
    /coverage/gaps, /coverage/disagreements, /coverage/speed-tests and (commune) /coverage/households
    for the selection of the switches; ``tiers`` are coverage_tier rows (code, technology,
    label_vi, label_en). When a selection has been drawn the page sets
    ``document.body.dataset.coverageLoaded`` to a counter and exposes ``window.agrimapMap``."""
    if level not in ("commune", "province"):
        raise ValueError(f"level {level!r} is not commune or province")
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
    if level == "commune":
        label = commune_label(name, lang)
        line = strings["communeLine"].format(commune=label, province=province_name, code=code)
        scope_link = strings["toProvince"].format(province=province_name)
        scope_href = f"/maps/coverage?province={quote(province_code)}"
    else:
        label = (
            name
            if name.lower().startswith(("tỉnh", "thành phố"))
            else (strings["provinceLabel"].format(province=name))
        )
        line = strings["provinceLine"].format(province=label, code=code)
        scope_link = strings["toCommunes"]
        scope_href = "#coverage-communes"
    title = strings["pageTitle"].format(commune=label[:1].upper() + label[1:])
    _CoveragePage(title=title, lang=lang, header_html=header_html).add_child(fmap)
    basemap = folium.TileLayer(
        OSM_TILES, attr=OSM_ATTRIBUTION, max_zoom=19, name=strings["basemap"]
    ).add_to(fmap)
    fmap.fit_bounds([[lat_min, lon_min], [lat_max, lon_max]])
    chrome = _CoverageChrome(
        basemap,
        strings=strings,
        lang=lang,
        static_prefix=prefix,
        level=level,
        code=code,
        province_code=province_code,
        scope_line=line[:1].upper() + line[1:],
        scope_link=scope_link,
        scope_href=scope_href,
        tier_labels={t["code"]: t["label_en"] if lang == "en" else t["label_vi"] for t in tiers},
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
