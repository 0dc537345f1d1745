"""The soil page in headless Chromium over the demo commune: switch the property, click a
growing area, read its statistics, grades, reliability and note; screenshots in Vietnamese."""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg
import pytest

from tests.browser import browser_page, map_render_stats, page_log, screenshot

pytestmark = pytest.mark.browser
SCREENS = Path("/work/notes/screens")


def _screens(artifacts: Path) -> Path:
    # The lead's notes folder when it exists (this machine), else the test artifacts.
    return SCREENS if SCREENS.parent.is_dir() else artifacts


def test_soil_page_switch_property_click_area_and_read_its_soil(
    live_server: str, demo_url: str, artifacts: Path
) -> None:
    with psycopg.connect(demo_url) as conn:
        area_id, code, lon, lat = conn.execute(
            "SELECT id, code, ST_X(p), ST_Y(p) FROM (SELECT id, code, "
            "ST_PointOnSurface(geom) p FROM growing_area ORDER BY area_ha DESC LIMIT 1) s"
        ).fetchone()
        ph_id = conn.execute(
            "SELECT max(id) FROM soil_raster WHERE property = 'ph_kcl'"
        ).fetchone()[0]
    out = _screens(artifacts)
    with browser_page(width=1400, height=860) as page:
        page.goto(f"{live_server}/maps/soil")
        page.wait_for_function("document.body.dataset.areasLoaded && document.body.dataset.zonesLoaded",
                               timeout=30_000)  # fmt: skip
        assert page.evaluate("document.body.dataset.property") == "om"
        legend = page.inner_text("#soil-legend")
        assert "rất giàu: > 6 %" in legend and "rất nghèo: < 1 %" in legend
        assert "Kriging" in page.inner_text("#soil-reliability")
        source = page.inner_text("#soil-class-source")
        assert "giá trị tham chiếu TCVN" in source and "very" not in source
        page.wait_for_timeout(800)
        screenshot(page, out / "soil-om.png")

        # Switch to pH(KCl): legend, tiles and zones follow the pH class table.
        page.click("label:has(input[data-property='ph_kcl'])")
        page.wait_for_function("document.body.dataset.property === 'ph_kcl'")
        page.wait_for_function("document.body.dataset.zonesLoaded !== undefined")
        legend = page.inner_text("#soil-legend")
        assert "rất chua: pH < 4,5" in legend and "thích hợp: pH 5,5 – 7,7" in legend
        reliability = page.inner_text("#soil-reliability")
        assert "RMSE" in reliability and "pH " in reliability and "150" in reliability
        page.wait_for_timeout(800)

        # Click the largest growing area where it really is (a pixel inside it).
        page.evaluate(f"agrimapMap.setView([{lat}, {lon}], 16, {{animate: false}})")
        page.wait_for_timeout(500)
        box = page.locator("#soil-map").bounding_box()
        x, y = page.evaluate(
            f"(() => {{ const p = agrimapMap.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }})()"
        )
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_function(
            f"document.body.dataset.reportLoaded === '{area_id}'", timeout=20_000
        )
        page.wait_for_timeout(600)
        field = page.inner_text("#soil-field")
        panel = page.inner_text(".soil-panel")
        stats = map_render_stats(page)
        screenshot(page, out / "soil-field.png")
        page.locator("#soil-note").scroll_into_view_if_needed()
        page.wait_for_timeout(200)
        screenshot(page, out / "soil-note.png")
        log = page_log(page)

    assert code in field and "Trung bình" in field and "Cấp" in field
    assert "Độ chua pH(KCl)" in field and "Chất hữu cơ (OM)" in field
    assert "Tỷ lệ diện tích theo cấp" in field and "Xác suất theo cấp" in field
    assert "mg/100 g" in field and " %" in field and "pH " in field
    assert "Nhận xét cho cán bộ" in field
    note = [line for line in field.splitlines() if "(" in line and ")" in line]
    assert any("bón" in line or "vôi" in line for line in note)
    # The pH raster's tiles were requested after the switch; every tile drawn came back.
    assert any(f"/soil_rasters/items/{ph_id}/tiles/" in u for u in log.requested)
    assert stats["tile_errors"] == 0 or all("openstreetmap" in u for u in log.blocked)
    assert log.page_errors == []
    assert all("ERR_BLOCKED_BY_CLIENT" in e for e in log.console_errors)
    for word in ("Legend", "Grade", "Mean", "Method", "below", "undefined", "null", "NaN"):
        assert word not in panel, word  # no English word or bare JS value on the Vietnamese page


def test_soil_page_in_english(live_server: str) -> None:
    html = httpx.get(f"{live_server}/maps/soil?lang=en").text
    assert "<title>Soil fertility map</title>" in html and 'lang="en"' in html
    vi = httpx.get(f"{live_server}/maps/soil").text
    assert "<title>Bản đồ nông hóa thổ nhưỡng</title>" in vi and 'lang="vi"' in vi
