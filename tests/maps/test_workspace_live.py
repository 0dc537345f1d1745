"""The officer's daily loop in headless Chromium, only by clicking (issue 14): sign in, find an
area by its code, change its crop, redraw its boundary, suspend and reinstate it, read the
history naming both actions, and download its GeoPackage in VN-2000, which ogrinfo reads with
the province's TM-3 zone."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest

from agrimap.clicommon import run_async
from layers import accounts
from tests.browser import browser_page, page_log, screenshot
from tests.drawing import draw, screen_points, square, wait_checked

pytestmark = pytest.mark.browser
PASSWORD = "mật-khẩu-vòng-làm-việc-0123"
COMMUNE = "02923"


@pytest.fixture(scope="module")
def officer(demo_url: str) -> str:
    name = f"vong-{uuid.uuid4().hex[:6]}"
    run_async(
        demo_url, accounts.add_user, username=name, role="officer", password=PASSWORD,
        communes=[COMMUNE], display_name="Hoàng Văn Nam", by="tests",
    )  # fmt: skip
    return name


@pytest.fixture(scope="module")
def area(demo_url: str) -> dict:
    """A big active area (room to redraw inside it), and a point well inside it."""
    with psycopg.connect(demo_url) as conn:
        row = conn.execute(
            "SELECT id, code, crop, area_ha, ST_X(c), ST_Y(c) FROM ("
            "  SELECT *, (ST_MaximumInscribedCircle(geom)).center AS c,"
            "    (ST_MaximumInscribedCircle(geom)).radius AS r FROM growing_area"
            "  WHERE commune_code = %s AND status = 'active' AND area_ha > 1) a "
            "ORDER BY r DESC LIMIT 1",
            (COMMUNE,),
        ).fetchone()
    assert row is not None, "the demo commune has no active area over 1 ha"
    keys = ("id", "code", "crop", "area_ha", "lon", "lat")
    return dict(zip(keys, row, strict=True))


def test_the_officers_loop_by_clicking(
    live_server: str, demo_url: str, officer: str, area: dict, artifacts: Path, tmp_path: Path
) -> None:
    with browser_page(width=1400, height=900) as page:
        page.goto(f"{live_server}/maps/overview")
        page.click(".agrimap-header >> text=Đăng nhập")
        page.fill("input[name=username]", officer)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/maps/overview*")
        assert "Hoàng Văn Nam" in page.inner_text(".agrimap-header")

        # Find the area by its code, typed the way a person reads it off a paper.
        page.click(".agrimap-header nav a[href='/maps/growing-areas']")
        page.wait_for_function("document.body && document.body.dataset.areasReady === '1'")
        page.fill("input[name=code]", area["code"].lower().replace("-", " "))
        page.click(".areas-filter button[type=submit]")
        page.wait_for_function("document.body && document.body.dataset.areasReady === '1'")
        assert page.locator("#areas-table tbody tr").count() == 1
        page.click("#areas-table tbody tr td:nth-child(2)")  # the row shows it on the map
        assert page.evaluate("document.body.dataset.selectedArea") == str(area["id"])
        screenshot(page, artifacts / "workspace_list_found.png")
        page.click(f"#areas-table a:text('{area['code']}')")
        page.wait_for_url(f"{live_server}/maps/growing-areas/{area['id']}")
        page.wait_for_function("document.body && document.body.dataset.neighbours !== undefined")
        assert page.locator("h1").inner_text() == f"Vùng trồng {area['code']}"

        # Change the crop.
        page.fill("#area-edit-form input[name=crop]", "Chè Shan tuyết")
        page.click("#area-edit-form button[type=submit]")
        page.wait_for_url("**?saved=record")
        assert "Đã lưu thông tin vùng trồng." in page.inner_text("#area-saved")
        assert "Chè Shan tuyết" in page.inner_text(".area-fields")

        # Redraw the boundary: a 40 m square inside the old one, checked live, then saved.
        page.click("#area-redraw")
        page.wait_for_function(
            "document.body && document.body.dataset.registerReady === '1'", timeout=30_000
        )
        assert page.locator("h1").inner_text() == f"Vẽ lại ranh giới {area['code']}"
        wait_checked(page)  # the current boundary is checked first, without its own overlap
        page.wait_for_function("!agrimapRegister.map._animatingZoom", timeout=5_000)
        corners = square(area["lon"], area["lat"], side_m=40)
        draw(page, screen_points(page, corners))
        # The old boundary was checked already: wait for the new one's answer.
        page.wait_for_function(
            "document.body.dataset.checkState === 'done' && agrimapRegister.lastCheck"
            " && agrimapRegister.lastCheck.area_ha < 0.5", timeout=15_000,
        )  # fmt: skip
        check = page.evaluate("agrimapRegister.lastCheck")
        assert check["area_ha"] == pytest.approx(0.16, rel=0.05)
        assert [p for p in check["problems"] if p["severity"] == "error"] == []
        screenshot(page, artifacts / "workspace_redraw_checked.png")
        page.click("#register-submit")
        page.wait_for_url("**?saved=boundary", timeout=15_000)
        assert "Đã lưu ranh giới mới." in page.inner_text("#area-saved")
        assert "0,16" in page.inner_text(".area-fields")

        # Suspend, then reinstate.
        page.fill(
            ".area-status-form[data-action=suspend] input[name=reason]", "Phát hiện sâu đục thân"
        )
        page.click(".area-status-form[data-action=suspend] button[type=submit]")
        page.wait_for_url("**?saved=status")
        assert page.inner_text("#area-status") == "tạm dừng"
        page.click(".area-status-form[data-action=reinstate] button[type=submit]")
        page.wait_for_url("**?saved=status")
        assert page.inner_text("#area-status") == "còn hiệu lực"

        # The timeline names each action, newest first, with who did it and what changed.
        actions = page.eval_on_selector_all(
            "#area-timeline > li", "items => items.map(li => li.dataset.action)"
        )
        assert actions[:4] == ["reinstate", "suspend", "redraw", "update"]
        timeline = page.inner_text("#area-timeline")
        for words in (
            "Khôi phục mã",
            "Tạm dừng mã",
            "Phát hiện sâu đục thân",
            "Vẽ lại ranh giới",
            "Ranh giới đã đổi",
            f"Cây trồng: {area['crop']} → Chè Shan tuyết",
            officer,
        ):
            assert words in timeline, words  # fmt: skip
        page.locator("#area-history").scroll_into_view_if_needed()
        screenshot(page, artifacts / "workspace_area_timeline.png")

        # The GeoPackage in VN-2000, one click away.
        with page.expect_download() as download:
            page.click("#area-gpkg-vn2000")
        path = tmp_path / "area.gpkg"
        download.value.save_as(path)
        assert not page_log(page).page_errors
    info = subprocess.run(
        ["ogrinfo", "-so", "-al", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert "VN-2000" in info and "Feature Count: 1" in info
    assert 'ID["EPSG",9208]' in info or "EPSG:9208" in info or "104.75" in info.replace(",", ".")
    with psycopg.connect(demo_url) as conn:
        status, crop, ha = conn.execute(
            "SELECT status, crop, area_ha FROM growing_area WHERE id = %s", (area["id"],)
        ).fetchone()
    assert (status, crop) == ("active", "Chè Shan tuyết") and float(ha) == pytest.approx(
        0.16, rel=0.05
    )
