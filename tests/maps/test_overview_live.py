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
