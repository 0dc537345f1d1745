"""The registration page on the real server over the demo commune: an officer signs in, draws a
field, sees it checked, registers it and gets its code; an overlap and an upload are shown too."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from pathlib import Path

import psycopg
import pytest

from agrimap.clicommon import run_async
from layers import accounts
from tests.browser import browser_page, page_log, screenshot
from tests.drawing import DRAW_ZOOM, draw, screen_points, square, wait_checked

pytestmark = pytest.mark.browser
PASSWORD = "mật-khẩu-đăng-ký-0123"
COMMUNE = "02923"
CODE = re.compile(r"^VN-15-02923-\d{2,}-\d{2}$")  # today's province, no district

# A point inside the commune, at least 150 m from its edge and from every growing area, as far
# from the ones already used as possible (each run of the suite registers new areas).
FREE_SPOT_SQL = """
WITH free AS (
  SELECT ST_Difference(
           ST_Buffer(c.geom::geography, -150)::geometry,
           coalesce((SELECT ST_Union(ST_Buffer(a.geom::geography, 150)::geometry)
                     FROM growing_area a WHERE ST_Intersects(a.geom, c.geom)),
                    'GEOMETRYCOLLECTION EMPTY'::geometry)) AS g
  FROM commune c WHERE c.code = %(commune)s
),
part AS (
  SELECT (ST_Dump(g)).geom AS g FROM free
)
SELECT ST_X(p), ST_Y(p)
FROM (SELECT ST_PointOnSurface(g) AS p, ST_Area(g::geography) AS m2 FROM part) s
WHERE m2 > 100000
ORDER BY m2 DESC, ST_X(p)
LIMIT 1
"""
ACTIVE_AREA_SQL = """
SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))
FROM growing_area
WHERE commune_code = %(commune)s AND status = 'active'
ORDER BY area_ha DESC
LIMIT 1
"""


@pytest.fixture(scope="module")
def officer(demo_url: str) -> str:
    name = f"dang-ky-{uuid.uuid4().hex[:6]}"
    run_async(
        demo_url, accounts.add_user, username=name, role="officer", password=PASSWORD,
        communes=[COMMUNE], by="tests",
    )  # fmt: skip
    return name


def _free_spot(demo_url: str) -> tuple[float, float]:
    with psycopg.connect(demo_url) as conn:
        row = conn.execute(FREE_SPOT_SQL, {"commune": COMMUNE}).fetchone()
    assert row is not None, "no free space left in the demo commune"
    return row[0], row[1]


def _sign_in_to_register(page, base: str, username: str) -> None:
    page.goto(f"{base}/maps/register")
    assert "/login?next=" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/maps/register*")
    page.wait_for_function("document.body.dataset.registerReady === '1'", timeout=30_000)
    assert page.evaluate("document.body.dataset.existingFailed") is None
    assert page.locator("#agrimap-notices").is_hidden()
    # The page fits the commune with a zoom animation; a view set while it runs is undone at its
    # end, so the tests wait for it before they centre the map on the spot they draw.
    page.wait_for_function("!agrimapRegister.map._animatingZoom", timeout=5_000)
    page.wait_for_timeout(50)


def test_officer_draws_and_registers_a_growing_area(
    live_server: str, demo_url: str, officer: str, artifacts: Path
) -> None:
    corners = square(*_free_spot(demo_url))
    with browser_page() as page:
        _sign_in_to_register(page, live_server, officer)
        assert page.locator("h1").inner_text() == "Đăng ký mã số vùng trồng"
        assert "Xã Gia Phú" in page.inner_text(".register-commune")
        assert int(page.evaluate("document.body.dataset.existingCount")) > 0
        screenshot(page, artifacts / "register_live_ready.png")

        draw(page, screen_points(page, corners))
        check = wait_checked(page)
        assert check["area_ha"] == pytest.approx(0.64, rel=0.03)
        assert check["commune_code"] == COMMUNE
        assert [p for p in check["problems"] if p["severity"] == "error"] == []
        area = page.inner_text("#register-area")
        assert re.fullmatch(r"0,6\d{3} ha", area), area  # Vietnamese decimal comma, 4 places
        assert "Ranh giới hợp lệ" in page.inner_text("#register-problems")
        assert "Thuộc xã Gia Phú (mã 02923)" in page.inner_text("#register-commune-check")
        assert page.is_enabled("#register-submit")

        page.fill("#register-crop", "Chè")
        page.fill("#register-owner", "HTX Chè Gia Phú")
        page.fill("#register-members", "12")
        page.fill("#register-issued", "05/11/2026")  # dd/mm/yyyy: 5 November
        page.fill("#register-note", "Đăng ký thử từ trang bản đồ.")
        screenshot(page, artifacts / "register_live_checked.png")
        page.click("#register-submit")

        success = page.locator("#register-success")
        success.wait_for(state="visible", timeout=15_000)
        code = page.inner_text("#register-success .register-code")
        assert CODE.fullmatch(code), code
        assert success.inner_text().startswith(f"Đã đăng ký mã số vùng trồng: {code}")
        assert page.locator("#register-error").is_hidden()
        screenshot(page, artifacts / "register_live_registered.png")

        # The links lead to the new record's sheet and GeoJSON.
        sheet = page.get_attribute("#register-success .register-sheet-link", "href")
        geojson_href = page.get_attribute("#register-success .register-geojson-link", "href")
        assert re.fullmatch(r"/collections/growing_areas/items/\d+/sheet", sheet)
        feature = json.loads(page.request.get(live_server + geojson_href).text())
        assert feature["properties"]["code"] == code
        assert feature["properties"]["crop"] == "Chè"
        assert page.request.get(live_server + sheet).status == 200

        # The new area is now among the registered ones; the drawing is cleared for the next.
        assert page.evaluate("agrimapRegister.drawnLayer()") is None
        assert page.is_disabled("#register-submit")
        assert page_log(page).page_errors == []

    with psycopg.connect(demo_url) as conn:
        row = conn.execute(
            "SELECT crop, cooperative, member_households, commune_code, registered_by, "
            "issued_on FROM growing_area WHERE code = %s",
            (code,),
        ).fetchone()
    assert row == ("Chè", "HTX Chè Gia Phú", 12, COMMUNE, officer, dt.date(2026, 11, 5))


def test_overlap_is_shown_in_red_and_blocks_submitting(
    live_server: str, demo_url: str, officer: str, artifacts: Path
) -> None:
    with psycopg.connect(demo_url) as conn:
        other, lon, lat = conn.execute(ACTIVE_AREA_SQL, {"commune": COMMUNE}).fetchone()
    corners = square(lon, lat, 60)
    with browser_page() as page:
        _sign_in_to_register(page, live_server, officer)
        points = page.evaluate(
            """([corners, zoom]) => {
              const map = agrimapRegister.map;
              map.setView(L.latLngBounds(corners.map(([x, y]) => [y, x])).getCenter(), zoom,
                          { animate: false });
              const box = map.getContainer().getBoundingClientRect();
              return corners.map(([x, y]) => {
                const p = map.latLngToContainerPoint([y, x]);
                return [box.left + p.x, box.top + p.y];
              });
            }""",
            [corners, DRAW_ZOOM],
        )
        draw(page, points)
        check = wait_checked(page)
        overlaps = [p for p in check["problems"] if p["kind"] == "overlap"]
        assert [p["other_code"] for p in overlaps] == [other]
        assert overlaps[0]["severity"] == "error"
        item = page.locator(f"#register-problems li.problem.error[data-other-code='{other}']")
        assert other in item.inner_text() and "Chồng lấn" in item.inner_text()
        assert item.evaluate("el => getComputedStyle(el).color") == "rgb(155, 28, 28)"
        assert page.is_disabled("#register-submit")
        assert page.inner_text("#register-submit-hint") == (
            "Hãy sửa các lỗi của ranh giới trước khi đăng ký."
        )
        # The registered area it overlaps is drawn in red.
        colours = page.evaluate(
            "(code) => agrimapRegister.existing.getLayers()"
            ".filter(l => l.feature.properties.code === code).map(l => l.options.color)",
            other,
        )
        assert colours and set(colours) == {"#c62828"}
        screenshot(page, artifacts / "register_live_overlap.png")
        assert page_log(page).page_errors == []


def test_uploaded_boundary_becomes_the_drawn_shape(
    live_server: str, demo_url: str, officer: str, tmp_path: Path, artifacts: Path
) -> None:
    corners = square(*_free_spot(demo_url))
    boundary = tmp_path / "thua_che_gps.geojson"
    boundary.write_text(
        json.dumps({"type": "Polygon", "coordinates": [[*corners, corners[0]]]}), encoding="utf-8"
    )
    with browser_page() as page:
        _sign_in_to_register(page, live_server, officer)
        page.set_input_files("#register-file", str(boundary))
        page.wait_for_function(
            "document.getElementById('register-upload-status').className.includes(' ok')",
            timeout=15_000,
        )
        assert "thua_che_gps.geojson" in page.inner_text("#register-upload-status")
        check = wait_checked(page)
        assert check["area_ha"] == pytest.approx(0.64, rel=0.03)
        assert page.evaluate("agrimapRegister.drawnLayer() instanceof L.Polygon")
        assert page.is_enabled("#register-submit")
        screenshot(page, artifacts / "register_live_uploaded.png")
        assert page_log(page).page_errors == []
