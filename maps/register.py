"""The growing-area registration page (đăng ký mã số vùng trồng): draw or upload, check, submit."""

from __future__ import annotations

import folium
from branca.element import MacroElement
from folium.template import Template

from .overview import OSM_ATTRIBUTION, OSM_TILES, _OverviewPage, _view_bounds
from .register_text import DRAW_LOCAL, STRINGS

CHECK_URL = "/collections/growing_areas/check"
ITEMS_URL = "/collections/growing_areas/items"
BOUNDARY_URL = "/growing-areas/boundary"
UPLOAD_ACCEPT = ".kml,.kmz,.geojson,.json,.zip,.csv,.gpx"
# Offered in the crop field's list; any other crop may still be typed.
COMMON_CROPS = (
    "Chè", "Lúa", "Quế", "Ngô", "Sắn", "Chuối", "Dứa", "Cà phê", "Hồ tiêu", "Điều",
    "Sầu riêng", "Thanh long", "Vải", "Nhãn", "Xoài", "Bưởi", "Cam", "Mận", "Rau",
)  # fmt: skip
_ADMIN_PREFIXES = ("xã ", "phường ", "thị trấn ", "đặc khu ")


def commune_label(name: str, lang: str = "vi") -> str:
    """'xã Gia Phú' for 'Gia Phú'; a name that already says its kind ('Phường 3') is kept."""
    if name.lower().startswith(_ADMIN_PREFIXES):
        return name
    return STRINGS[lang]["commune"].format(name=name)


def _capitalised(text: str) -> str:
    # At the start of a line or after a dash, "xã Gia Phú" is written "Xã Gia Phú".
    return text[:1].upper() + text[1:]


class _RegisterChrome(MacroElement):
    """The side panel (boundary, checks, record form), notices and the call to register.js."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <meta name="csrf-token" content="{{ this.csrf_token|e }}">
        <link rel="stylesheet" href="{{ this.static_prefix|e }}/leaflet-draw/leaflet.draw.css">
        <link rel="stylesheet" href="{{ this.static_prefix|e }}/agrimap/register.css">
        <script src="{{ this.static_prefix|e }}/leaflet-draw/leaflet.draw.js"></script>
        <script src="{{ this.static_prefix|e }}/agrimap/register.js"></script>
        {% endmacro %}

        {% macro html(this, kwargs) %}
        {% set s = this.strings %}
        <div id="agrimap-notices" role="alert" hidden></div>
        <aside class="register-panel" aria-labelledby="register-title">
          <header>
            {% if this.edit %}
            <a class="register-back" href="{{ this.edit.pageUrl|e }}">← {{ this.back_text|e }}</a>
            {% else %}
            <a class="register-back" href="/maps/overview">← {{ s.backToOverview|e }}</a>
            {% endif %}
            <h1 id="register-title">{{ this.title_text|e }}</h1>
            <p class="register-commune" data-commune-code="{{ this.commune_code|e }}">
              {{ this.commune_line|e }}</p>
          </header>

          <section aria-labelledby="register-step-boundary">
            <h2 id="register-step-boundary">{{ s.stepBoundary|e }}</h2>
            <p class="register-help">{{ (s.editHelp if this.edit else s.drawHelp)|e }}</p>
            <div class="register-upload">
              <span id="register-upload-label">{{ s.uploadLabel|e }}</span>
              <input type="file" id="register-file" name="file" class="register-file-input"
                accept="{{ this.upload_accept|e }}" aria-labelledby="register-upload-label">
              <label for="register-file" class="register-upload-button">{{ s.chooseFile|e }}</label>
            </div>
            <p class="register-help">{{ s.uploadHelp|e }}</p>
            <p id="register-upload-status" class="register-upload-status" hidden></p>
            <div id="register-check" class="register-check" aria-live="polite">
              <p class="register-area"><span>{{ s.areaLabel|e }}:</span>
                <strong id="register-area">{{ s.noShape|e }}</strong>
                <small id="register-area-note"></small></p>
              <p id="register-commune-check" class="register-commune-check" hidden></p>
              <p id="register-check-status" class="register-check-status" hidden></p>
              <ul id="register-problems" class="register-problems"></ul>
            </div>
          </section>

          <form id="register-form" novalidate aria-labelledby="register-step-record">
            {% if not this.edit %}
            <h2 id="register-step-record">{{ s.stepRecord|e }}</h2>
            <label for="register-crop">{{ s.crop|e }}
              <abbr title="{{ s.required|e }}">*</abbr></label>
            <input id="register-crop" name="crop" required maxlength="100" autocomplete="off"
              list="register-crops" placeholder="{{ s.cropPlaceholder|e }}">
            <datalist id="register-crops">
              {% for crop in this.crops %}<option value="{{ crop|e }}">{% endfor %}
            </datalist>
            <label for="register-owner">{{ s.owner|e }}</label>
            <input id="register-owner" name="owner" maxlength="200"
              placeholder="{{ s.ownerPlaceholder|e }}">
            <div class="register-row">
              <div>
                <label for="register-members">{{ s.members|e }}</label>
                <input id="register-members" name="member_households" type="number" min="0"
                  step="1" inputmode="numeric">
              </div>
              <div>
                <label for="register-issued">{{ s.issuedOn|e }}</label>
                <input id="register-issued" name="issued_on" placeholder="dd/mm/yyyy"
                  inputmode="numeric" maxlength="10" pattern="\\d{1,2}/\\d{1,2}/\\d{4}">
              </div>
            </div>
            <label for="register-note">{{ s.note|e }}</label>
            <textarea id="register-note" name="note" rows="3" maxlength="2000"></textarea>
            {% endif %}
            <p id="register-error" class="register-error" role="alert" hidden></p>
            <div id="register-success" class="register-success" role="status" hidden></div>
            <button type="submit" id="register-submit" disabled>
              {{ (s.editSubmit if this.edit else s.submit)|e }}</button>
            <p id="register-submit-hint" class="register-help">{{ s.needShape|e }}</p>
          </form>
        </aside>
        {% endmacro %}

        {% macro script(this, kwargs) %}
        (function () {
          const map = {{ this._parent.get_name() }};
          L.control.zoom({ position: "topright", zoomInTitle: {{ this.strings.zoomIn|tojson }},
            zoomOutTitle: {{ this.strings.zoomOut|tojson }} }).addTo(map);
          L.control.scale({ imperial: false }).addTo(map);
          agrimapRegisterPage({
            map: map,
            basemap: {{ this.basemap.get_name() }},
            communeCode: {{ this.commune_code|tojson }},
            communeLabel: {{ this.commune_label|tojson }},
            existingUrl: {{ this.existing_url|tojson }},
            communeUrl: {{ this.commune_url|tojson }},
            urls: {{ this.urls|tojson }},
            lang: {{ this.lang|tojson }},
            strings: {{ this.strings|tojson }},
            drawLocal: {{ this.draw_local|tojson }},
            edit: {{ this.edit|tojson }},
          });
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        basemap: folium.TileLayer,
        *,
        commune_code: str,
        commune_name: str,
        csrf_token: str,
        existing_url: str,
        commune_url: str | None,
        lang: str,
        static_prefix: str,
        edit: dict | None = None,
    ) -> None:
        super().__init__()
        self._name = "AgrimapRegister"
        self.edit = edit
        strings = STRINGS[lang]
        code = (edit or {}).get("code", "")
        self.title_text = strings["editTitle"].format(code=code) if edit else strings["title"]
        self.back_text = strings["backToArea"].format(code=code)
        self.basemap = basemap
        self.lang = lang
        self.strings = STRINGS[lang]
        self.draw_local = DRAW_LOCAL[lang]
        self.commune_code = commune_code
        self.commune_label = commune_label(commune_name, lang)
        self.commune_line = _capitalised(
            self.strings["communeLine"].format(commune=self.commune_label, code=commune_code)
        )
        self.csrf_token = csrf_token
        self.existing_url = existing_url
        self.commune_url = commune_url
        self.static_prefix = static_prefix
        self.upload_accept = UPLOAD_ACCEPT
        self.crops = COMMON_CROPS
        # The API answers in the page's language when asked with ?lang=.
        exclude = f"&exclude={int(edit['id'])}" if edit else ""
        self.urls = {
            "check": f"{CHECK_URL}?lang={lang}{exclude}",
            "items": f"{ITEMS_URL}?lang={lang}",
            "boundary": f"{BOUNDARY_URL}?lang={lang}",
            "item": ITEMS_URL + "/{id}",
        }


def render_register(
    *,
    commune_code: str,
    commune_name: str,
    bounds: tuple[float, float, float, float],
    csrf_token: str,
    existing_url: str,
    lang: str = "vi",
    commune_url: str | None = None,
    static_prefix: str = "/static",
    header_html: str = "",
    edit: dict | None = None,
) -> str:
    """The registration page for one commune's officers, as a full HTML page.

    With ``edit`` ({id, version, code, geometry (GeoJSON), pageUrl}) it redraws that registered
    area: its boundary is drawn ready to change, the checks leave it out of the overlaps, and
    saving sends the new boundary alone (PATCH with If-Match) and goes back to ``pageUrl``.

    ``bounds`` is the commune's (lon_min, lat_min, lon_max, lat_max) in WGS84; the map is
    fitted to it. ``existing_url`` serves the registered growing areas as a GeoJSON
    FeatureCollection (drawn faintly, code as tooltip); ``commune_url``, when given, serves the
    commune's boundary (a Feature or FeatureCollection) drawn as a dashed outline.
    ``csrf_token`` goes in ``<meta name="csrf-token">`` and is sent as ``X-CSRF-Token`` with
    the check, upload and registration requests. The page references only Leaflet,
    Leaflet.draw and our files under ``static_prefix``, and the OpenStreetMap tiles.
    """
    if lang not in STRINGS:
        raise ValueError(f"lang {lang!r} is not one of {tuple(STRINGS)}")
    lon_min, lat_min, lon_max, lat_max = _view_bounds(bounds)
    prefix = static_prefix.rstrip("/")
    strings = STRINGS[lang]
    fmap = folium.Map(
        location=((lat_min + lat_max) / 2, (lon_min + lon_max) / 2),
        tiles=None,
        zoom_control=False,
    )
    # Instance attributes, so folium's CDN lists (jQuery, Bootstrap, Font Awesome...) stay unused.
    fmap.default_js = [("leaflet", f"{prefix}/leaflet/leaflet.js")]
    fmap.default_css = [("leaflet_css", f"{prefix}/leaflet/leaflet.css")]
    commune_title = _capitalised(commune_label(commune_name, lang))
    title = (
        strings["editPageTitle"].format(code=edit["code"], commune=commune_title)
        if edit
        else strings["pageTitle"].format(commune=commune_title)
    )
    _OverviewPage(title=title, lang=lang, header_html=header_html).add_child(fmap)
    basemap = folium.TileLayer(
        OSM_TILES, attr=OSM_ATTRIBUTION, max_zoom=19, name=strings["basemap"]
    ).add_to(fmap)
    fmap.fit_bounds([[lat_min, lon_min], [lat_max, lon_max]])
    chrome = _RegisterChrome(
        basemap,
        commune_code=commune_code,
        commune_name=commune_name,
        csrf_token=csrf_token,
        existing_url=existing_url,
        commune_url=commune_url,
        lang=lang,
        static_prefix=prefix,
        edit=edit,
    )
    fmap.add_child(chrome)
    return fmap.get_root().render()
