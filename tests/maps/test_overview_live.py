"""The overview page served by the real server over the demo commune, in headless Chromium."""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg
import pytest

from tests.browser import browser_page, map_render_stats, page_log, screenshot

pytestmark = pytest.mark.browser


def _demo_counts(demo_url: str) -> dict[str, int]:
    with psycopg.connect(demo_url) as c:
        return {
            "growing_areas": c.execute("SELECT count(*) FROM growing_area").fetchone()[0],
            "households": c.execute("SELECT count(*) FROM household").fetchone()[0],
            "villages": c.execute("SELECT count(*) FROM village").fetchone()[0],
        }


def test_overview_page_draws_the_demo_commune(
    live_server: str, demo_url: str, artifacts: Path
) -> None:
    expected = _demo_counts(demo_url)
    assert expected["households"] > 2000  # the demo really holds a commune's households
    with browser_page() as page:
        page.goto(f"{live_server}/maps/overview")
        page.wait_for_function("document.body.dataset.layersLoaded !== undefined", timeout=30_000)
        counts = page.evaluate("window.agrimapFeatureCounts")
        stats = map_render_stats(page)
        shot = screenshot(page, artifacts / "overview_demo.png")
        log = page_log(page)

    # Every layer loaded, with every feature the database holds (no silent page cut-off).
    assert counts["growing_areas"] == expected["growing_areas"]
    assert counts["households"] == expected["households"]
    assert counts["villages"] == expected["villages"]
    assert stats["canvas_points"] == expected["households"]
    assert stats["canvas_painted_pixels"] > 50_000
    assert stats["notices"] == ""
    assert "Vùng trồng" in stats["legend_text"]
    assert log.page_errors == []
    # The only console errors are the OSM basemap tiles the test browser keeps offline.
    assert all("ERR_BLOCKED_BY_CLIENT" in e for e in log.console_errors)
    assert {u.split("/")[2] for u in log.blocked} <= {"tile.openstreetmap.org"}
    assert shot.stat().st_size > 20_000


def test_overview_page_in_english(live_server: str) -> None:
    html = httpx.get(
        f"{live_server}/maps/overview", headers={"Accept-Language": "en-GB,en;q=0.8"}
    ).text
    assert "Digital agriculture map – overview" in html


OPEN_POPUP = """(code) => {
    let found = null;
    window.agrimapMap.eachLayer((l) => {
        if (!found && l.feature && l.feature.properties && l.feature.properties.code === code) {
            found = l;
        }
    });
    found.openPopup();
    return document.querySelector(".leaflet-popup-content").innerHTML;
}"""


def test_a_growing_areas_popup_opens_its_page_for_staff_only(
    live_server: str, demo_url: str, artifacts: Path
) -> None:
    import uuid

    from agrimap.clicommon import run_async
    from layers import accounts

    with psycopg.connect(demo_url) as conn:
        fid, code = conn.execute(
            "SELECT id, code FROM growing_area WHERE status = 'active' ORDER BY id LIMIT 1"
        ).fetchone()
    name, password = f"pop-{uuid.uuid4().hex[:6]}", "mật-khẩu-popup-0123"
    run_async(demo_url, accounts.add_user, username=name, role="planner", password=password,
              by="tests")  # fmt: skip
    with browser_page() as page:
        page.goto(f"{live_server}/maps/overview")
        page.wait_for_function("document.body.dataset.layersLoaded !== undefined", timeout=30_000)
        assert "/maps/growing-areas/" not in page.evaluate(OPEN_POPUP, code)  # the public
        page.goto(f"{live_server}/login?next=/maps/overview")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/maps/overview*")  # not the sign-in page mid-redirect
        page.wait_for_function("document.body.dataset.layersLoaded !== undefined", timeout=30_000)
        popup = page.evaluate(OPEN_POPUP, code)
        assert f'href="/maps/growing-areas/{fid}"' in popup and "Mở trang chi tiết" in popup
        assert "Còn hiệu lực" in popup and "active" not in popup  # the status in words
        page.wait_for_timeout(400)  # the popup's fade-in
        screenshot(page, artifacts / "overview_popup_link.png")
        page.click(".leaflet-popup-content a")
        page.wait_for_url(f"**/maps/growing-areas/{fid}")
        assert code in page.inner_text("h1")
        assert page_log(page).page_errors == []
