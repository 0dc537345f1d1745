"""The officers' household list of a village in headless Chromium: villages of the officer's
communes, search with or without diacritics, paging, links to edit and QR label, the head's
name read audited, another commune's village refused, no English in the Vietnamese page."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

import psycopg
import pytest

from agrimap.clicommon import run_async
from geo.values import fold
from layers import accounts
from tests.browser import browser_page, screenshot

pytestmark = pytest.mark.browser
PASSWORD = "mật-khẩu-danh-sách-01"
SCREENS = Path("/work/notes/screens")
ENGLISH = re.compile(r"\b(active|officer|admin|households?|village|search|next|edit)\b", re.I)


@pytest.fixture(scope="module")
def officers(demo_url: str) -> dict[str, str]:
    tag = uuid.uuid4().hex[:6]
    names = {"A": f"list-a-{tag}", "B": f"list-b-{tag}", "admin": f"list-admin-{tag}"}
    for key, role, communes in (("A", "officer", ["02923"]), ("B", "officer", ["02926"]),
                                ("admin", "admin", [])):  # fmt: skip
        run_async(
            demo_url, accounts.add_user, username=names[key], role=role, password=PASSWORD,
            communes=communes, by="tests",
        )  # fmt: skip
    return names


def _sign_in(page, base: str, username: str, target: str) -> None:
    page.goto(f"{base}{target}")
    assert "/login?next=" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _keep(path: Path, name: str) -> None:
    if SCREENS.is_dir():
        shutil.copy(path, SCREENS / name)


def _visible_text(page) -> str:
    return page.evaluate("document.body.innerText")


def test_officer_finds_a_household_by_name_without_diacritics(
    live_server: str, officers, demo_url: str, artifacts: Path
) -> None:
    with psycopg.connect(demo_url) as conn:
        hid, code, head, village_name = conn.execute(
            "SELECT h.id, h.code, h.head_name, v.name FROM household h "
            "JOIN village v ON v.code = h.village_code "
            "WHERE h.village_code = '02923-02' AND h.head_name IS NOT NULL ORDER BY h.code "
            "OFFSET 70 LIMIT 1"
        ).fetchone()
        total = conn.execute(
            "SELECT count(*) FROM household WHERE village_code = '02923-02'"
        ).fetchone()[0]
        before = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'read_personal' AND actor = %s",
            (officers["A"],),
        ).fetchone()[0]
    assert total > 50  # more than one page
    with browser_page() as page:
        _sign_in(page, live_server, officers["A"], "/maps/households")
        assert page.locator("h1").inner_text() == "Hộ gia đình"
        rows = page.locator("tbody tr")
        assert all(r.inner_text().count("02923-") for r in rows.all())  # own commune only
        page.click(f"text={village_name}")
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == f"Hộ gia đình – Thôn {village_name}"
        assert page.locator("tbody tr").count() == 50
        shown = page.locator("p.muted").nth(2).inner_text()
        assert f"trong {total} hộ" in shown or f"trong {total:,} hộ".replace(",", ".") in shown
        assert not ENGLISH.search(_visible_text(page)), _visible_text(page)
        page.click("text=Trang sau →")
        page.wait_for_load_state()
        assert "page=2" in page.url and page.locator("tbody tr").count() == min(50, total - 50)
        # Search by the head's name typed without diacritics, in lower case.
        page.fill("input[name=q]", fold(head))
        page.click("main button[type=submit]")
        page.wait_for_load_state()
        found = page.locator("tbody tr")
        assert found.count() >= 1
        row = page.locator("tbody tr", has_text=code)
        assert head in row.inner_text() and village_name in row.inner_text()
        assert row.locator(".qr").inner_text().count("-") == 3  # XXXX-XXXX-XXXX-XX
        label = row.locator("text=Nhãn QR").get_attribute("href")
        assert label == f"/collections/households/items/{hid}/qr.png"
        assert page.request.get(live_server + label).headers["content-type"] == "image/png"
        shot = screenshot(page, artifacts / "household_list.png")
        _keep(shot, "ws2-household-list.png")
        row.locator("text=Sửa").click()
        page.wait_for_load_state()
        assert (
            page.url.endswith(f"/maps/households/{hid}") and code in page.locator("h1").inner_text()
        )
        page.goto(f"{live_server}/maps/households?village=02923-02&q=khong-co-ai-ten-nay")
        assert page.locator("[role=status]").inner_text() == "Không có hộ nào khớp."
        page.goto(f"{live_server}/maps/households?village=02923-02&lang=en")
        assert "Households – Village" in page.locator("h1").inner_text()
    with psycopg.connect(demo_url) as conn:
        logged = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE detail->>'via' = 'village_list') "
            "FROM audit_log WHERE action = 'read_personal' AND actor = %s",
            (officers["A"],),
        ).fetchone()
    # Two list pages of 50, the search's rows, the edit page, the English page (50).
    assert logged[1] >= 50 + min(50, total - 50) + 1 + 50 and logged[0] > before + logged[1] - 1


def test_another_communes_village_is_refused_and_an_admin_sees_every_village(
    live_server: str, officers, demo_url: str, artifacts: Path
) -> None:
    with psycopg.connect(demo_url) as conn:
        villages = conn.execute("SELECT count(*) FROM village").fetchone()[0]
    with browser_page() as page:
        _sign_in(page, live_server, officers["B"], "/maps/households?village=02923-02")
        assert page.locator("h1").inner_text() == "Không có quyền"
        assert "không được xem thông tin cá nhân" in _visible_text(page)
        assert page.locator("tbody tr").count() == 0
        page.goto(f"{live_server}/maps/households?village=00000-99")
        assert page.locator("h1").inner_text() == "Không tìm thấy"
    with browser_page() as page:
        _sign_in(page, live_server, officers["admin"], "/maps/households")
        assert page.locator("tbody tr").count() == villages
        screenshot(page, artifacts / "household_villages.png")
