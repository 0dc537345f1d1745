"""The overview map page: its HTML, and what headless Chromium draws from small GeoJSON files."""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from maps.overview import STATIC_DIR, LayerView, legend_html, render_overview
from tests.browser import browser_page, chromium_available, map_render_stats, page_log, screenshot

# Gia Phú commune (Lào Cai), roughly.
BOUNDS = (104.00, 22.30, 104.20, 22.45)
TITLE = "Bản đồ số nông nghiệp – tổng quan"
OSM_HOSTS = {"tile.openstreetmap.org", "www.openstreetmap.org"}


def _square(lon: float, lat: float, size: float) -> list[list[list[float]]]:
    return [
        [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    ]


GROWING_AREAS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": _square(lon, lat, 0.03)},
            "properties": {"code": code, "crop": crop, "area_ha": area},
        }
        for lon, lat, code, crop, area in [
            (104.02, 22.32, "VN-51-522-21214-13-24", "Lúa", 0.1001),
            (104.08, 22.36, "VN-10-082-02866-01-25", "Chè", 2.5),
            (104.14, 22.40, "VN-10-082-02866-02-25", "Quế", 12.0),
        ]
    ],
}
HOUSEHOLDS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [104.03 + 0.012 * i, 22.425 - 0.004 * j]},
            "properties": {"label": f"Hộ {5 * i + j + 1}", "has_fibre": (i + j) % 2 == 0},
        }
        for i in range(5)
        for j in range(5)
    ],
}


def _views(households_url: str = "/data/households.json") -> list[LayerView]:
    return [
        LayerView(
            id="growing_areas",
            title_vi="Vùng trồng",
            title_en="Growing areas",
            items_url="/data/growing_areas.json",
            kind="polygon",
            color="#2ca02c",
            popup_fields=(
                ("code", "Mã số vùng trồng"),
                ("crop", "Cây trồng"),
                ("area_ha", "Diện tích (ha)"),
            ),
        ),
        LayerView(
            id="households",
            title_vi="Hộ gia đình",
            title_en="Households",
            items_url=households_url,
            kind="point",
            color="#d62728",
            popup_fields=(("label", "Hộ"), ("has_fibre", "Cáp quang")),
        ),
    ]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # keep pytest's output for failures


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A loopback static server for the page, maps/static at /static and the GeoJSON at /data."""
    root = tmp_path_factory.mktemp("site")
    (root / "static").symlink_to(STATIC_DIR, target_is_directory=True)
    (root / "data").mkdir()
    (root / "data" / "growing_areas.json").write_text(json.dumps(GROWING_AREAS), encoding="utf-8")
    (root / "data" / "households.json").write_text(json.dumps(HOUSEHOLDS), encoding="utf-8")
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


def _open_overview(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("document.body.dataset.layersLoaded !== undefined", timeout=15_000)


def _external_urls(html: str) -> set[str]:
    return set(re.findall(r"""https?://[^\s"'\\<>]+""", html))


# --- the HTML alone ---------------------------------------------------------------------


def test_html_references_only_our_static_files() -> None:
    html = render_overview(_views(), bounds=BOUNDS, title=TITLE)
    scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", html)
    styles = re.findall(r"<link[^>]*\bhref=\"([^\"]+)\"", html)
    assert scripts == ["/static/leaflet/leaflet.js", "/static/agrimap/overview.js"]
    assert styles == ["/static/leaflet/leaflet.css"]
    # Only the basemap template and its attribution link leave our server.
    assert {urlsplit(url).hostname for url in _external_urls(html)} <= OSM_HOSTS
    for cdn in ("jsdelivr", "cdnjs", "jquery", "bootstrap", "fontawesome", "unpkg"):
        assert cdn not in html.lower()


def test_static_assets_are_vendored() -> None:
    for name in ("leaflet/leaflet.js", "leaflet/leaflet.css", "leaflet/LICENSE",
                 "leaflet/images/layers.png", "agrimap/overview.js"):  # fmt: skip
        assert (STATIC_DIR / name).is_file(), name
    assert 't.version="1.9.4"' in (STATIC_DIR / "leaflet/leaflet.js").read_text(encoding="utf-8")


def test_html_is_vietnamese_utf8_page() -> None:
    html = render_overview(_views(), bounds=BOUNDS, title=TITLE, static_prefix="/assets/")
    assert html.startswith('<!DOCTYPE html>\n<html lang="vi">')
    assert '<meta charset="utf-8">' in html
    assert f"<title>{TITLE}</title>" in html
    assert '<script src="/assets/leaflet/leaflet.js">' in html
    assert "[[22.3, 104.0], [22.45, 104.2]]" in html  # fitted to (lat, lon) corners


def test_english_page_uses_english_titles() -> None:
    html = render_overview(_views(), bounds=BOUNDS, title="Overview", lang="en")
    assert '<html lang="en">' in html
    assert "Growing areas" in html and "Households" in html
    assert "V\\u00f9ng tr\\u1ed3ng" not in html  # the Vietnamese title, as the page JSON spells it


def test_legend_names_each_layer_with_its_colour() -> None:
    legend = legend_html(_views())
    assert "<summary>Chú giải</summary>" in legend
    assert "Vùng trồng" in legend and "Hộ gia đình" in legend
    assert "#2ca02c" in legend and "#d62728" in legend
    assert "Dữ liệu: AgriMap" in legend


def test_titles_are_escaped() -> None:
    html = render_overview(_views(), bounds=BOUNDS, title="<b>Thôn</b>")
    assert "<title>&lt;b&gt;Thôn&lt;/b&gt;</title>" in html
    assert "<b>Thôn" not in html


@pytest.mark.parametrize(
    ("field", "value"),
    [("kind", "line"), ("color", "red;background:url(x)"), ("id", "a b")],
)
def test_layer_view_refuses_bad_values(field: str, value: str) -> None:
    args = {**_views()[0].__dict__, field: value}
    with pytest.raises(ValueError, match=field.replace("color", "colour")):
        LayerView(**args)


@pytest.mark.parametrize(
    "bounds", [(104.2, 22.3, 104.0, 22.45), (22.3, 104.0, 22.45, 104.2), (104.0, 95.0, 104.2, 96.0)]
)
def test_render_refuses_bad_bounds(bounds: tuple[float, float, float, float]) -> None:
    with pytest.raises(ValueError, match="bounds"):
        render_overview(_views(), bounds=bounds, title=TITLE)


def test_render_pads_a_single_point() -> None:
    html = render_overview(_views(), bounds=(104.1, 22.4, 104.1, 22.4), title=TITLE)
    fitted = json.loads(re.search(r"fitBounds\(\s*(\[\[.*?\]\])", html).group(1))
    assert fitted == [[pytest.approx(22.395), pytest.approx(104.095)],
                      [pytest.approx(22.405), pytest.approx(104.105)]]  # fmt: skip


# --- in headless Chromium ---------------------------------------------------------------

needs_chromium = pytest.mark.skipif(not chromium_available(), reason="Chromium not installed")


@pytest.mark.browser
@needs_chromium
def test_browser_draws_every_layer(site: tuple[Path, str], artifacts: Path) -> None:
    url = _publish(site, "overview.html", render_overview(_views(), bounds=BOUNDS, title=TITLE))
    with browser_page() as page:
        _open_overview(page, url)
        shot = screenshot(page, artifacts / "overview_desktop.png")
        stats = map_render_stats(page)
        counts = page.evaluate("window.agrimapFeatureCounts")
        log = page_log(page)

        assert page.evaluate("document.body.dataset.layersLoaded") == "2"
        assert counts == {"growing_areas": 3, "households": 25}
        assert stats["canvas_areas"] == 3
        assert stats["canvas_points"] == 25
        assert stats["canvas_painted_pixels"] > 10_000  # the shapes were really painted
        assert stats["svg_paths"] == 0 and stats["markers"] == 0
        assert stats["legend"] is True
        assert "Chú giải" in stats["legend_text"]
        assert "Vùng trồng" in stats["legend_text"] and "Hộ gia đình" in stats["legend_text"]
        assert "Dữ liệu: AgriMap" in stats["legend_text"]
        assert "Vùng trồng" in stats["layer_control_text"]
        assert "Bản đồ nền OpenStreetMap" in stats["layer_control_text"]
        assert stats["notices"] == ""
        assert page.title() == TITLE
        assert page.inner_text("h1.agrimap-title") == TITLE
        assert shot.stat().st_size > 10_000
        # Nothing but OSM tiles tried to leave the loopback, and they were blocked.
        assert {urlsplit(u).hostname for u in log.blocked} <= {"tile.openstreetmap.org"}
        assert all(urlsplit(u).hostname in {"127.0.0.1", "tile.openstreetmap.org"}
                   for u in log.requested)  # fmt: skip
        assert log.page_errors == []

        # The first growing area's popup shows Vietnamese labels and Vietnamese number format.
        x, y = page.evaluate(
            "() => { const p = agrimapMap.latLngToContainerPoint([22.335, 104.035]);"
            " return [p.x, p.y]; }"
        )
        page.mouse.click(x, y)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=5_000)
        text = popup.inner_text()
        assert "Mã số vùng trồng" in text and "VN-51-522-21214-13-24" in text
        assert "0,1001" in text and "Lúa" in text
        page.mouse.move(5, 400)  # off the feature, so its tooltip goes
        page.wait_for_function(
            "getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'"
        )
        screenshot(page, artifacts / "overview_popup.png")


@pytest.mark.browser
@needs_chromium
def test_browser_reports_a_layer_that_fails(site: tuple[Path, str], artifacts: Path) -> None:
    views = _views(households_url="/data/missing.json")
    url = _publish(site, "broken.html", render_overview(views, bounds=BOUNDS, title=TITLE))
    with browser_page() as page:
        _open_overview(page, url)
        screenshot(page, artifacts / "overview_broken_layer.png")
        stats = map_render_stats(page)

        assert page.evaluate("document.body.dataset.layersLoaded") == "1"
        assert page.evaluate("window.agrimapFeatureCounts") == {"growing_areas": 3}
        assert "Không tải được lớp Hộ gia đình" in stats["notices"]
        assert page.locator("#agrimap-notices").is_visible()
        assert stats["canvas_areas"] == 3  # the layer that loaded is still drawn
        assert stats["canvas_points"] == 0
        assert page_log(page).page_errors == []


@pytest.mark.browser
@needs_chromium
def test_browser_on_a_phone_folds_the_legend(site: tuple[Path, str], artifacts: Path) -> None:
    url = _publish(site, "phone.html", render_overview(_views(), bounds=BOUNDS, title=TITLE))
    with browser_page(width=390, height=780, mobile=True) as page:
        _open_overview(page, url)
        screenshot(page, artifacts / "overview_phone.png")

        assert page.evaluate("document.querySelector('.agrimap-legend details').open") is False
        assert page.locator(".agrimap-legend summary").inner_text() == "Chú giải"
        assert not page.locator(".leaflet-control-layers-expanded").count()
        assert map_render_stats(page)["canvas_features"] == 3 + 25


@pytest.mark.browser
@needs_chromium
def test_browser_hidden_layer_appears_above_polygons_when_ticked(site: tuple[Path, str]) -> None:
    views = [_views()[0], replace(_views()[1], show=False)]
    url = _publish(site, "hidden.html", render_overview(views, bounds=BOUNDS, title=TITLE))
    with browser_page() as page:
        _open_overview(page, url)
        assert page.evaluate("window.agrimapFeatureCounts") == {
            "growing_areas": 3,
            "households": 25,
        }
        assert map_render_stats(page)["canvas_points"] == 0

        page.get_by_label("Hộ gia đình").check()
        assert map_render_stats(page)["canvas_points"] == 25
        page.get_by_label("Vùng trồng").uncheck()
        page.get_by_label("Vùng trồng").check()  # re-added polygons go to the end of the canvas
        # Points are still drawn after (above) the polygons on the shared canvas.
        assert page.evaluate("agrimapMap._renderer._drawLast.layer instanceof L.CircleMarker")
