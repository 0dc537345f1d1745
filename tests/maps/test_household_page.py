"""The officers' household page in headless Chromium: sign in, commune scope, save, audit."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from agrimap.clicommon import run_async
from layers import accounts
from tests.browser import browser_page, screenshot

pytestmark = pytest.mark.browser
PASSWORD = "mật-khẩu-trang-0123"


@pytest.fixture(scope="module")
def officers(demo_url: str) -> dict[str, str]:
    tag = uuid.uuid4().hex[:6]
    names = {"A": f"page-a-{tag}", "B": f"page-b-{tag}"}
    for key, commune in (("A", "02923"), ("B", "02926")):
        run_async(
            demo_url, accounts.add_user, username=names[key], role="officer", password=PASSWORD,
            communes=[commune], by="tests",
        )  # fmt: skip
    return names


@pytest.fixture(scope="module")
def household(demo_url: str) -> int:
    with psycopg.connect(demo_url) as conn:
        return conn.execute(
            "SELECT id FROM household WHERE village_code LIKE '02923-%' ORDER BY id DESC LIMIT 1"
        ).fetchone()[0]


def _sign_in(page, base: str, username: str, target: str) -> None:
    page.goto(f"{base}{target}")
    assert "/login?next=" in page.url  # a protected page sends people to sign in first
    assert page.locator("h1").inner_text() == "Đăng nhập"
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_officer_of_another_commune_gets_403_on_the_page(
    live_server: str, officers, household: int, artifacts: Path
) -> None:
    with browser_page() as page:
        _sign_in(page, live_server, officers["B"], f"/maps/households/{household}")
        assert page.locator("h1").inner_text() == "Không có quyền"
        assert "không được xem thông tin cá nhân" in page.locator("[role=alert]").inner_text()
        screenshot(page, artifacts / "household_page_403.png")
        # Posting the form anyway (with a valid session and CSRF token) is refused too.
        csrf = page.evaluate("fetch('/auth/me').then(r => r.json()).then(j => j.csrf_token)")
        r = page.request.post(
            f"{live_server}/maps/households/{household}",
            form={"csrf_token": csrf, "label": "x", "has_fibre": "1"},
        )
        assert r.status == 403 and "Không có quyền" in r.text() and "không được" in r.text()


def test_officer_saves_a_household_and_the_change_is_audited(
    live_server: str, officers, household: int, artifacts: Path, demo_url: str
) -> None:
    with browser_page() as page:
        _sign_in(page, live_server, officers["A"], f"/maps/households/{household}")
        assert page.locator("h1").inner_text().startswith("Hộ gia đình")
        page.fill("input[name=phone]", "0987 654 321")
        page.check("input[name=has_fibre]")
        page.click("form[action^='/maps/households'] button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("[role=status]").inner_text() == "Đã lưu."
        assert page.input_value("input[name=phone]") == "0987654321"
        screenshot(page, artifacts / "household_page_saved.png")
        page.fill("input[name=phone]", "12")
        page.click("form[action^='/maps/households'] button[type=submit]")
        page.wait_for_load_state()
        alert = page.locator("[role=alert]").inner_text()
        assert "điện thoại: giá trị '12' không hợp lệ" in alert and "Các trường sửa được" in alert
    with psycopg.connect(demo_url) as conn:
        phone, fibre = conn.execute(
            "SELECT phone, has_fibre FROM household WHERE id = %s", (household,)
        ).fetchone()
        actions = conn.execute(
            "SELECT action, after->>'phone' FROM audit_log WHERE actor = %s AND object_id = %s "
            "ORDER BY id",
            (officers["A"], str(household)),
        ).fetchall()
    assert (phone, fibre) == ("0987654321", True)  # the refused edit changed nothing
    assert ("update", "0987654321") in actions and actions[0][0] == "read_personal"


def test_officer_adds_a_household_by_clicking_and_moves_it_by_dragging(
    live_server: str, officers, artifacts: Path, demo_url: str
) -> None:
    with browser_page() as page:
        _sign_in(page, live_server, officers["A"], "/maps/households/new")
        page.wait_for_function("document.body.dataset.mapReady === '1'")
        box = page.locator("#map").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        assert page.input_value("#lat") != ""
        page.fill("input[name=label]", "Hộ Lò Văn Pểnh")
        page.fill("input[name=head_name]", "Lò Văn Pểnh")
        page.click("form[action='/maps/households/new'] button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("[role=status]").inner_text() == "Đã lưu."
        assert page.locator("img[alt^='Mã QR']").count() == 1
        hid = int(page.url.split("/maps/households/")[1].split("?")[0])
        page.wait_for_function("document.body.dataset.mapReady === '1'")
        screenshot(page, artifacts / "household_added.png")
        marker = page.locator(".leaflet-marker-icon").bounding_box()
        mx, my = marker["x"] + marker["width"] / 2, marker["y"] + marker["height"] - 4
        page.mouse.move(mx, my)
        page.mouse.down()
        page.mouse.move(mx + 40, my + 25, steps=8)
        page.mouse.up()
        moved_lat = page.input_value("#lat")
        page.click("form[action^='/maps/households/'] button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("[role=status]").inner_text() == "Đã lưu."
    with psycopg.connect(demo_url) as conn:
        label, lat, village = conn.execute(
            "SELECT label, ST_Y(geom), village_code FROM household WHERE id = %s", (hid,)
        ).fetchone()
    assert label == "Hộ Lò Văn Pểnh" and village.startswith("02923-")
    assert abs(lat - float(moved_lat)) < 1e-6
