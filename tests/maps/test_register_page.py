"""The growing-area registration page: its HTML, and drawing on it in headless Chromium.

The page is served here by a plain static server with no API behind it, so every fetch the page
makes (registered areas, checks, registration) fails; the page must say so and keep working.
The flow against the real API is in ``test_register_live.py``.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from maps.overview import STATIC_DIR
from maps.register import COMMON_CROPS, DRAW_LOCAL, render_register
from tests.browser import browser_page, chromium_available, page_log, screenshot

# Gia Phú commune (Lào Cai), as the demo data draws it.
BOUNDS = (104.0435, 22.3316, 104.1190, 22.3957)
EXISTING_URL = "/collections/growing_areas/items?f=json&limit=10000"
OSM_HOSTS = {"tile.openstreetmap.org", "www.openstreetmap.org"}


def _render(**kw) -> str:
    args = {
        "commune_code": "02923",
        "commune_name": "Gia Phú",
        "bounds": BOUNDS,
        "csrf_token": "csrf-0123",
        "existing_url": EXISTING_URL,
    }
    return render_register(**{**args, **kw})


def _page_config(html: str, key: str) -> object:
    """One value of the object the page passes to ``agrimapRegisterPage``, parsed as JSON."""
    return json.loads(re.search(rf"^\s*{key}: (.*),$", html, re.M).group(1))


# --- the HTML alone ---------------------------------------------------------------------


def test_html_references_only_our_static_files() -> None:
    html = _render()
    scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", html)
    styles = re.findall(r"<link[^>]*\bhref=\"([^\"]+)\"", html)
    assert scripts == [
        "/static/leaflet/leaflet.js",
        "/static/leaflet-draw/leaflet.draw.js",
        "/static/agrimap/register.js",
    ]
    assert styles == [
        "/static/leaflet/leaflet.css",
        "/static/leaflet-draw/leaflet.draw.css",
        "/static/agrimap/register.css",
    ]
    external = set(re.findall(r"""https?://[^\s"'\\<>]+""", html))
    assert {urlsplit(url).hostname for url in external} <= OSM_HOSTS
    for cdn in ("jsdelivr", "cdnjs", "jquery", "bootstrap", "fontawesome", "unpkg"):
        assert cdn not in html.lower()


def test_static_assets_are_vendored() -> None:
    draw = STATIC_DIR / "leaflet-draw"
    for name in ("leaflet.draw.js", "leaflet.draw.css", "LICENSE", "images/spritesheet.svg",
                 "images/spritesheet.png", "images/spritesheet-2x.png"):  # fmt: skip
        assert (draw / name).is_file(), name
    assert "Leaflet.draw 1.0.4" in (draw / "leaflet.draw.js").read_text(encoding="utf-8")
    licence = (draw / "LICENSE").read_text(encoding="utf-8")
    assert "Jacob Toye" in licence and "Permission is hereby granted" in licence  # MIT
    # Every image the plugin's stylesheet asks for is there, next to it.
    css = (draw / "leaflet.draw.css").read_text(encoding="utf-8")
    for url in set(re.findall(r"url\('([^']+)'\)", css)):
        assert (draw / url).is_file(), url
    assert (STATIC_DIR / "agrimap/register.js").is_file()
    assert (STATIC_DIR / "agrimap/register.css").is_file()


def test_html_is_a_vietnamese_utf8_page_with_the_form() -> None:
    html = _render()
    assert html.startswith('<!DOCTYPE html>\n<html lang="vi">')
    assert '<meta charset="utf-8">' in html
    assert "<title>Đăng ký vùng trồng – Xã Gia Phú</title>" in html
    assert '<h1 id="register-title">Đăng ký mã số vùng trồng</h1>' in html
    assert "Xã Gia Phú · mã xã 02923" in html
    for label in ("Cây trồng", "Chủ sở hữu / tổ chức đại diện", "Số hộ tham gia", "Ngày cấp",
                  "Ghi chú", "1. Ranh giới vùng trồng", "Hoặc tải lên tệp ranh giới",
                  "Đăng ký và cấp mã"):  # fmt: skip
        assert label in html, label
    assert re.search(r'<input id="register-crop" name="crop" required', html)
    assert re.search(r'name="member_households" type="number" min="0"\s+step="1"', html)
    # A text field in dd/mm/yyyy: a browser date input follows the system locale, not the page.
    assert re.search(r'name="issued_on" placeholder="dd/mm/yyyy"\s+inputmode="numeric" '
                     r'maxlength="10" pattern="\\d\{1,2\}/\\d\{1,2\}/\\d\{4\}"', html)  # fmt: skip
    assert 'accept=".kml,.kmz,.geojson,.json,.zip,.csv,.gpx"' in html
    assert '<button type="submit" id="register-submit" disabled>' in html
    assert '<option value="Chè">' in html and len(COMMON_CROPS) > 10
    assert "[[22.3316, 104.0435], [22.3957, 104.119]]" in html  # fitted to (lat, lon) corners


def test_csrf_token_is_in_a_meta_tag() -> None:
    html = _render(csrf_token="abc-DEF_123")
    assert '<meta name="csrf-token" content="abc-DEF_123">' in html
    assert html.count("abc-DEF_123") == 1  # nowhere else: the script reads the meta tag


def test_page_passes_urls_and_vietnamese_draw_texts_to_the_script() -> None:
    html = _render()
    assert _page_config(html, "existingUrl") == EXISTING_URL
    assert _page_config(html, "communeCode") == "02923"
    assert _page_config(html, "urls") == {
        "check": "/collections/growing_areas/check?lang=vi",
        "items": "/collections/growing_areas/items?lang=vi",
        "boundary": "/growing-areas/boundary?lang=vi",
        "item": "/collections/growing_areas/items/{id}",
    }
    draw_local = _page_config(html, "drawLocal")
    assert draw_local == DRAW_LOCAL["vi"]
    assert (
        draw_local["draw"]["toolbar"]["buttons"]["polygon"] == "Vẽ ranh giới vùng trồng (đa giác)"
    )
    assert draw_local["draw"]["handlers"]["polygon"]["tooltip"]["end"] == (
        "Nhấp vào điểm đầu tiên để khép kín vùng."
    )
    assert draw_local["edit"]["toolbar"]["actions"]["save"]["text"] == "Lưu"
    strings = _page_config(html, "strings")
    assert strings["locale"] == "vi-VN"
    assert strings["registered"] == "Đã đăng ký mã số vùng trồng: {code}"


def test_english_page() -> None:
    html = _render(lang="en")
    assert '<html lang="en">' in html
    assert "Register a growing-area code" in html and "Crop" in html
    assert "Cây trồng" not in html
    assert _page_config(html, "urls")["check"].endswith("?lang=en")
    assert _page_config(html, "strings")["locale"] == "en-GB"


def test_a_name_that_says_its_kind_is_not_prefixed() -> None:
    assert "<title>Đăng ký vùng trồng – Phường 3</title>" in _render(commune_name="Phường 3")


def test_everything_from_the_caller_is_escaped() -> None:
    evil = "</script><script>alert(1)</script>"
    html = _render(commune_name=evil, commune_code='0"2<9>', csrf_token='"><b>x', existing_url=evil)
    assert "<script>alert(1)" not in html
    assert "</script><script>" not in html
    assert '<meta name="csrf-token" content="&#34;&gt;&lt;b&gt;x">' in html
    assert 'data-commune-code="0&#34;2&lt;9&gt;"' in html
    assert _page_config(html, "existingUrl") == evil  # intact, once the JSON is read
    assert _page_config(html, "communeCode") == '0"2<9>'


@pytest.mark.parametrize(
    "bounds", [(104.2, 22.3, 104.0, 22.45), (22.3, 104.0, 22.45, 104.2), (104.0, 95.0, 104.2, 96.0)]
)
def test_render_refuses_bad_bounds(bounds: tuple[float, float, float, float]) -> None:
    with pytest.raises(ValueError, match="bounds"):
        _render(bounds=bounds)


def test_render_refuses_an_unknown_language() -> None:
    with pytest.raises(ValueError, match="lang"):
        _render(lang="fr")


# --- in headless Chromium, with no API behind the page ----------------------------------

needs_chromium = pytest.mark.skipif(not chromium_available(), reason="Chromium not installed")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # keep pytest's output for failures


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A loopback static server: maps/static at /static and the pages; no API at all."""
    root = tmp_path_factory.mktemp("register-site")
    (root / "static").symlink_to(STATIC_DIR, target_is_directory=True)
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _publish(site: tuple[Path, str], name: str, html: str) -> str:
    root, base = site
    (root / name).write_text(html, encoding="utf-8")
    return f"{base}/{name}"


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("document.body.dataset.registerReady === '1'", timeout=15_000)


def _screen_points(page, lonlats: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Page coordinates of WGS84 points on the page's map."""
    return page.evaluate(
        """(lonlats) => {
          const map = agrimapRegister.map;
          const box = map.getContainer().getBoundingClientRect();
          return lonlats.map(([lon, lat]) => {
            const p = map.latLngToContainerPoint([lat, lon]);
            return [box.left + p.x, box.top + p.y];
          });
        }""",
        [list(p) for p in lonlats],
    )


def _draw_polygon(page, points: list[tuple[float, float]]) -> None:
    """Draw with the mouse as an officer does: the polygon button, each corner, the first again."""
    page.click(".leaflet-draw-draw-polygon")
    for x, y in [*points, points[0]]:
        page.mouse.move(x, y, steps=3)
        page.mouse.click(x, y)
        page.wait_for_timeout(120)  # Leaflet.draw ignores clicks closer than 50 ms together


SQUARE = [(104.070, 22.355), (104.078, 22.355), (104.078, 22.362), (104.070, 22.362)]


@pytest.mark.browser
@needs_chromium
def test_browser_draws_a_polygon_and_reports_the_missing_api(
    site: tuple[Path, str], artifacts: Path
) -> None:
    url = _publish(site, "register.html", _render())
    with browser_page() as page:
        _open(page, url)
        log = page_log(page)

        # The registered areas could not be loaded: said in Vietnamese over the map.
        notice = page.locator("#agrimap-notices")
        assert notice.is_visible()
        assert "Không tải được các vùng trồng đã đăng ký (HTTP 404)" in notice.inner_text()
        assert page.evaluate("document.body.dataset.existingFailed") == "1"

        # Leaflet.draw's toolbar speaks Vietnamese; only the polygon tool is offered.
        assert page.get_attribute(".leaflet-draw-draw-polygon", "title") == (
            "Vẽ ranh giới vùng trồng (đa giác)"
        )
        assert page.locator(".leaflet-draw-draw-polyline, .leaflet-draw-draw-marker").count() == 0
        assert page.get_attribute(".leaflet-draw-edit-edit", "title") == "Chưa có ranh giới để sửa"
        assert (
            page.get_attribute(".leaflet-draw-edit-remove", "title") == "Chưa có ranh giới để xóa"
        )
        assert page.get_attribute(".leaflet-control-zoom-in", "title") == "Phóng to"
        assert page.evaluate("agrimapRegister.drawnLayer()") is None
        assert page.is_disabled("#register-submit")
        assert page.inner_text("#register-submit-hint") == (
            "Hãy vẽ hoặc tải lên ranh giới vùng trồng trước."
        )
        assert page.input_value("#register-issued") == page.evaluate(
            "new Date().toLocaleDateString('en-GB')"  # today, as dd/mm/yyyy in local time
        )
        screenshot(page, artifacts / "register_static_ready.png")

        points = _screen_points(page, SQUARE)
        page.click(".leaflet-draw-draw-polygon")
        page.mouse.move(*points[0], steps=3)
        page.mouse.click(*points[0])
        page.wait_for_timeout(120)
        page.mouse.move(*points[1], steps=3)
        assert "Nhấp" in page.inner_text(".leaflet-draw-tooltip")  # Vietnamese drawing hints
        assert page.get_attribute(".leaflet-draw-actions a[title='Hủy vẽ']", "title") == "Hủy vẽ"
        for x, y in [*points[1:], points[0]]:
            page.mouse.move(x, y, steps=3)
            page.mouse.click(x, y)
            page.wait_for_timeout(120)
        page.wait_for_function("agrimapRegister.drawnLayer() !== null", timeout=5_000)
        geometry = page.evaluate("agrimapRegister.geometry()")
        assert geometry["type"] == "Polygon"
        ring = geometry["coordinates"][0]
        assert len(ring) == 5 and ring[0] == ring[-1]
        for (lon, lat), expected in zip(ring[:4], SQUARE, strict=True):
            assert lon == pytest.approx(expected[0], abs=2e-4)
            assert lat == pytest.approx(expected[1], abs=2e-4)

        # The check cannot reach an API: the officer is told, in Vietnamese, and may go on.
        page.wait_for_function("document.body.dataset.checkState === 'failed'", timeout=5_000)
        assert page.evaluate("agrimapRegister.lastCheck") is None
        status = page.inner_text("#register-check-status")
        assert status.startswith("Không kiểm tra được ranh giới (HTTP 501)")
        area = page.inner_text("#register-area")
        assert re.fullmatch(r"\d+,\d{4} ha", area), area  # a Vietnamese decimal comma
        assert 55 < float(area.split()[0].replace(",", ".")) < 75  # ≈ 820 m × 780 m
        assert "ước tính" in page.inner_text("#register-area-note")
        assert page.is_enabled("#register-submit")
        assert page.evaluate("agrimapRegister.drawnLayer() instanceof L.Polygon")

        # Crop is required: the browser refuses to submit without it.
        page.click("#register-submit")
        assert page.evaluate("document.getElementById('register-crop').validity.valueMissing")
        assert page.locator("#register-error").is_hidden()
        page.fill("#register-crop", "Chè")
        page.fill("#register-members", "12")
        page.click("#register-submit")
        error = page.locator("#register-error")
        error.wait_for(state="visible", timeout=5_000)
        assert error.inner_text() == "Không đăng ký được (HTTP 501)."
        assert page.evaluate("agrimapRegister.drawnLayer()") is not None  # the drawing is kept
        screenshot(page, artifacts / "register_static_drawn.png")

        # A second drawing replaces the first: one polygon at a time.
        second = _screen_points(page, [(104.09, 22.37), (104.095, 22.37), (104.095, 22.375)])
        _draw_polygon(page, second)
        page.wait_for_function(
            "agrimapRegister.geometry().coordinates[0].length === 4", timeout=5_000
        )
        assert page.evaluate("agrimapRegister.map.hasLayer(agrimapRegister.drawnLayer())")
        assert page.evaluate("agrimapRegister.drawnLayer() instanceof L.Polygon")

        # Delete it with the toolbar: click the shape, then "Lưu".
        page.click(".leaflet-draw-edit-remove")
        assert page.is_disabled("#register-submit")
        centre = _screen_points(page, [(104.0935, 22.3715)])[0]
        page.mouse.click(*centre)
        page.click(".leaflet-draw-actions a:text-is('Lưu')")
        page.wait_for_function("agrimapRegister.drawnLayer() === null", timeout=5_000)
        assert page.inner_text("#register-area") == "Chưa có ranh giới."
        assert page.is_disabled("#register-submit")

        assert log.page_errors == []
        assert {urlsplit(u).hostname for u in log.blocked} <= {"tile.openstreetmap.org"}
        assert all(urlsplit(u).hostname in {"127.0.0.1", "tile.openstreetmap.org"}
                   for u in log.requested)  # fmt: skip


@pytest.mark.browser
@needs_chromium
def test_browser_upload_without_api_says_so(
    site: tuple[Path, str], tmp_path: Path, artifacts: Path
) -> None:
    url = _publish(site, "register-upload.html", _render())
    boundary = tmp_path / "thua_che.geojson"
    boundary.write_text(
        json.dumps({"type": "Polygon", "coordinates": [[[*p] for p in [*SQUARE, SQUARE[0]]]]}),
        encoding="utf-8",
    )
    with browser_page() as page:
        _open(page, url)
        page.set_input_files("#register-file", str(boundary))
        status = page.locator("#register-upload-status")
        page.wait_for_function(
            "document.getElementById('register-upload-status').className.includes('failed')"
        )
        assert status.inner_text() == "Không đọc được tệp thua_che.geojson. HTTP 501"
        assert page.evaluate("agrimapRegister.drawnLayer()") is None
        assert page_log(page).page_errors == []


@pytest.mark.browser
@needs_chromium
def test_browser_phone_and_english(site: tuple[Path, str], artifacts: Path) -> None:
    url = _publish(site, "register-en.html", _render(lang="en"))
    with browser_page(width=390, height=780, mobile=True) as page:
        _open(page, url)
        assert page.get_attribute(".leaflet-draw-draw-polygon", "title") == (
            "Draw the growing area's boundary (polygon)"
        )
        assert "Could not load the registered growing areas" in page.inner_text("#agrimap-notices")
        # The map takes the top of the screen, the form follows below it.
        map_box = page.locator(".folium-map").bounding_box()
        panel_box = page.locator(".register-panel").bounding_box()
        assert map_box["width"] == pytest.approx(390, abs=1) and map_box["height"] > 300
        assert panel_box["y"] >= map_box["y"] + map_box["height"] - 1
        screenshot(page, artifacts / "register_phone_en.png")
        assert page_log(page).page_errors == []
