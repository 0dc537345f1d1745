"""The growing-area registration page (đăng ký mã số vùng trồng): draw or upload, check, submit."""

from __future__ import annotations

import folium
from branca.element import MacroElement
from folium.template import Template

from .overview import OSM_ATTRIBUTION, OSM_TILES, _OverviewPage, _view_bounds

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

STRINGS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Đăng ký mã số vùng trồng",
        "pageTitle": "Đăng ký vùng trồng – {commune}",
        "commune": "xã {name}",
        "communeLine": "{commune} · mã xã {code}",
        "backToOverview": "Bản đồ tổng quan",
        "stepBoundary": "1. Ranh giới vùng trồng",
        "drawHelp": "Bấm nút đa giác ở góc trái bản đồ, nhấp lần lượt từng góc thửa rồi nhấp lại "
        "điểm đầu để khép kín. Vẽ vùng mới sẽ thay cho vùng đang có.",
        "uploadLabel": "Hoặc tải lên tệp ranh giới",
        "chooseFile": "Chọn tệp…",
        "uploadHelp": "KML, KMZ, GeoJSON, shapefile nén .zip, hoặc CSV/GPX các điểm GPS đi quanh thửa.",
        "uploading": "Đang đọc tệp {name}…",
        "uploaded": "Đã đọc ranh giới từ tệp {name}.",
        "uploadFailed": "Không đọc được tệp {name}.",
        "uploadNetwork": "Không gửi được tệp tới máy chủ (lỗi mạng hoặc máy chủ không phản hồi).",
        "areaLabel": "Diện tích",
        "noShape": "Chưa có ranh giới.",
        "estimate": "ước tính trên máy, chưa kiểm tra",
        "checking": "Đang kiểm tra ranh giới…",
        "checkFailed": "Không kiểm tra được ranh giới ({reason}). Máy chủ sẽ kiểm tra lại khi đăng ký.",
        "checkOk": "Ranh giới hợp lệ, có thể đăng ký.",
        "inCommune": "Thuộc xã {name} (mã {code}).",
        "otherCommune": "Vùng này thuộc xã {name} (mã {code}), không phải {commune}.",
        "error": "Lỗi",
        "warning": "Cảnh báo",
        "showArea": "Xem vùng {code}",
        "stepRecord": "2. Thông tin vùng trồng",
        "crop": "Cây trồng",
        "cropPlaceholder": "Ví dụ: Chè",
        "owner": "Chủ sở hữu / tổ chức đại diện",
        "ownerPlaceholder": "Họ tên chủ hộ hoặc tên HTX, tổ hợp tác",
        "members": "Số hộ tham gia",
        "issuedOn": "Ngày cấp",
        "note": "Ghi chú",
        "required": "bắt buộc",
        "submit": "Đăng ký và cấp mã",
        "submitting": "Đang đăng ký…",
        "needShape": "Hãy vẽ hoặc tải lên ranh giới vùng trồng trước.",
        "fixErrors": "Hãy sửa các lỗi của ranh giới trước khi đăng ký.",
        "waitCheck": "Đang chờ kết quả kiểm tra ranh giới…",
        "finishTool": "Bấm “Lưu” hoặc “Hủy” trên thanh công cụ bản đồ để kết thúc thao tác.",
        "registered": "Đã đăng ký mã số vùng trồng: {code}",
        "registeredMore": "Phiên bản {version}. Ranh giới đã được thêm vào bản đồ; có thể vẽ vùng tiếp theo.",
        "sheetLink": "Xem phiếu bản đồ",
        "geojsonLink": "Tải GeoJSON",
        "submitFailed": "Không đăng ký được (HTTP {status}).",
        "submitNetwork": "Không gửi được dữ liệu tới máy chủ. Kiểm tra kết nối mạng rồi thử lại.",
        "existingFailed": "Không tải được các vùng trồng đã đăng ký ({reason}).",
        "communeFailed": "Không tải được ranh giới xã ({reason}).",
        "existingLegend": "Vùng trồng đã đăng ký",
        "drawnLegend": "Vùng đang đăng ký",
        "communeLegend": "Ranh giới xã",
        "basemap": "Bản đồ nền OpenStreetMap",
        "zoomIn": "Phóng to",
        "zoomOut": "Thu nhỏ",
        "networkError": "lỗi mạng",
        "badAnswer": "máy chủ trả lời không đúng định dạng",
        "locale": "vi-VN",
    },
    "en": {
        "title": "Register a growing-area code",
        "pageTitle": "Register a growing area – {commune}",
        "commune": "{name} commune",
        "communeLine": "{commune} · commune code {code}",
        "backToOverview": "Overview map",
        "stepBoundary": "1. Growing-area boundary",
        "drawHelp": "Press the polygon button at the map's top left, click each corner of the "
        "field, then click the first point again to close it. A new drawing replaces the old one.",
        "uploadLabel": "Or upload a boundary file",
        "chooseFile": "Choose a file…",
        "uploadHelp": "KML, KMZ, GeoJSON, zipped shapefile, or CSV/GPX of GPS points walked "
        "around the field.",
        "uploading": "Reading {name}…",
        "uploaded": "Boundary read from {name}.",
        "uploadFailed": "Could not read {name}.",
        "uploadNetwork": "Could not send the file to the server (network error or no answer).",
        "areaLabel": "Area",
        "noShape": "No boundary yet.",
        "estimate": "estimated in the browser, not checked yet",
        "checking": "Checking the boundary…",
        "checkFailed": "Could not check the boundary ({reason}). The server checks it again on "
        "registration.",
        "checkOk": "The boundary is valid and can be registered.",
        "inCommune": "In commune {name} (code {code}).",
        "otherCommune": "This area lies in commune {name} (code {code}), not in {commune}.",
        "error": "Error",
        "warning": "Warning",
        "showArea": "Show area {code}",
        "stepRecord": "2. Growing-area record",
        "crop": "Crop",
        "cropPlaceholder": "e.g. Chè (tea)",
        "owner": "Owner / representing organisation",
        "ownerPlaceholder": "Household head, cooperative or cooperative group",
        "members": "Member households",
        "issuedOn": "Issued on",
        "note": "Note",
        "required": "required",
        "submit": "Register and issue code",
        "submitting": "Registering…",
        "needShape": "Draw or upload the growing area's boundary first.",
        "fixErrors": "Fix the boundary's errors before registering.",
        "waitCheck": "Waiting for the boundary check…",
        "finishTool": "Press “Save” or “Cancel” in the map toolbar to finish first.",
        "registered": "Registered growing-area code: {code}",
        "registeredMore": "Version {version}. The boundary is now on the map; you can draw the "
        "next area.",
        "sheetLink": "Open the map sheet",
        "geojsonLink": "Download GeoJSON",
        "submitFailed": "Registration failed (HTTP {status}).",
        "submitNetwork": "Could not reach the server. Check the connection and try again.",
        "existingFailed": "Could not load the registered growing areas ({reason}).",
        "communeFailed": "Could not load the commune boundary ({reason}).",
        "existingLegend": "Registered growing areas",
        "drawnLegend": "Area being registered",
        "communeLegend": "Commune boundary",
        "basemap": "OpenStreetMap basemap",
        "zoomIn": "Zoom in",
        "zoomOut": "Zoom out",
        "networkError": "network error",
        "badAnswer": "the server's answer is not in the expected form",
        "locale": "en-GB",
    },
}

# Leaflet.draw's own texts (L.drawLocal), merged over its English defaults by register.js.
DRAW_LOCAL: dict[str, dict] = {
    "vi": {
        "draw": {
            "toolbar": {
                "actions": {"title": "Hủy vẽ", "text": "Hủy"},
                "finish": {"title": "Kết thúc vẽ", "text": "Xong"},
                "undo": {"title": "Xóa điểm vừa vẽ", "text": "Xóa điểm cuối"},
                "buttons": {
                    "polygon": "Vẽ ranh giới vùng trồng (đa giác)",
                    "polyline": "Vẽ đường",
                    "rectangle": "Vẽ hình chữ nhật",
                    "circle": "Vẽ hình tròn",
                    "marker": "Đặt điểm",
                    "circlemarker": "Đặt điểm tròn",
                },
            },
            "handlers": {
                "polygon": {
                    "tooltip": {
                        "start": "Nhấp để bắt đầu vẽ ranh giới.",
                        "cont": "Nhấp để vẽ tiếp ranh giới.",
                        "end": "Nhấp vào điểm đầu tiên để khép kín vùng.",
                    }
                },
                "polyline": {
                    "error": "<strong>Lỗi:</strong> các cạnh không được cắt nhau!",
                    "tooltip": {
                        "start": "Nhấp để bắt đầu vẽ đường.",
                        "cont": "Nhấp để vẽ tiếp.",
                        "end": "Nhấp vào điểm cuối để kết thúc.",
                    },
                },
                "rectangle": {"tooltip": {"start": "Nhấp và kéo để vẽ hình chữ nhật."}},
                "circle": {
                    "tooltip": {"start": "Nhấp và kéo để vẽ hình tròn."},
                    "radius": "Bán kính",
                },
                "circlemarker": {"tooltip": {"start": "Nhấp vào bản đồ để đặt điểm tròn."}},
                "marker": {"tooltip": {"start": "Nhấp vào bản đồ để đặt điểm."}},
                "simpleshape": {"tooltip": {"end": "Thả chuột để kết thúc."}},
            },
        },
        "edit": {
            "toolbar": {
                "actions": {
                    "save": {"title": "Lưu thay đổi", "text": "Lưu"},
                    "cancel": {"title": "Hủy sửa, bỏ mọi thay đổi", "text": "Hủy"},
                    "clearAll": {"title": "Xóa toàn bộ ranh giới", "text": "Xóa hết"},
                },
                "buttons": {
                    "edit": "Sửa ranh giới",
                    "editDisabled": "Chưa có ranh giới để sửa",
                    "remove": "Xóa ranh giới",
                    "removeDisabled": "Chưa có ranh giới để xóa",
                },
            },
            "handlers": {
                "edit": {
                    "tooltip": {
                        "text": "Kéo các điểm vuông để sửa ranh giới.",
                        "subtext": "Bấm Hủy để bỏ thay đổi.",
                    }
                },
                "remove": {"tooltip": {"text": "Nhấp vào ranh giới cần xóa."}},
            },
        },
    },
    "en": {
        "draw": {
            "toolbar": {
                "actions": {"title": "Cancel drawing", "text": "Cancel"},
                "finish": {"title": "Finish drawing", "text": "Finish"},
                "undo": {"title": "Delete the last point drawn", "text": "Delete last point"},
                "buttons": {"polygon": "Draw the growing area's boundary (polygon)"},
            },
            "handlers": {
                "polygon": {
                    "tooltip": {
                        "start": "Click to start drawing the boundary.",
                        "cont": "Click to continue the boundary.",
                        "end": "Click the first point to close the area.",
                    }
                },
            },
        },
        "edit": {
            "toolbar": {
                "buttons": {
                    "edit": "Edit the boundary",
                    "editDisabled": "No boundary to edit",
                    "remove": "Delete the boundary",
                    "removeDisabled": "No boundary to delete",
                },
            },
        },
    },
}


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
            <a class="register-back" href="/maps/overview">← {{ s.backToOverview|e }}</a>
            <h1 id="register-title">{{ s.title|e }}</h1>
            <p class="register-commune" data-commune-code="{{ this.commune_code|e }}">
              {{ this.commune_line|e }}</p>
          </header>

          <section aria-labelledby="register-step-boundary">
            <h2 id="register-step-boundary">{{ s.stepBoundary|e }}</h2>
            <p class="register-help">{{ s.drawHelp|e }}</p>
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
                <input id="register-issued" name="issued_on" type="date">
              </div>
            </div>
            <label for="register-note">{{ s.note|e }}</label>
            <textarea id="register-note" name="note" rows="3" maxlength="2000"></textarea>
            <p id="register-error" class="register-error" role="alert" hidden></p>
            <div id="register-success" class="register-success" role="status" hidden></div>
            <button type="submit" id="register-submit" disabled>{{ s.submit|e }}</button>
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
    ) -> None:
        super().__init__()
        self._name = "AgrimapRegister"
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
        self.urls = {
            "check": f"{CHECK_URL}?lang={lang}",
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
) -> str:
    """The registration page for one commune's officers, as a full HTML page.

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
    title = strings["pageTitle"].format(commune=_capitalised(commune_label(commune_name, lang)))
    _OverviewPage(title=title, lang=lang).add_child(fmap)
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
    )
    fmap.add_child(chrome)
    return fmap.get_root().render()
