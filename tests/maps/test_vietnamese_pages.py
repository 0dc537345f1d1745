"""Every page a person sees, opened in headless Chromium with a Vietnamese locale as each kind of
reader, reads as Vietnamese: no English status, role, unit or interface word in what the page
shows (issue 14). Names of products and formats (GeoPackage, OpenStreetMap…) are not words."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import psycopg
import pytest

from agrimap.clicommon import run_async
from layers import accounts
from tests.browser import browser_page, screenshot

pytestmark = pytest.mark.browser
PASSWORD = "mật-khẩu-đọc-trang-0123"
COMMUNE = "02923"

# English words that must not appear in a Vietnamese page: statuses, roles, units and the
# interface's own words. Checked as whole words, case-insensitive.
ENGLISH = {
    "active", "suspended", "revoked", "officer", "admin", "administrator", "planner", "public",
    "visitor", "status", "crop", "area", "areas", "owner", "village", "villages", "commune",
    "communes", "household", "households", "code", "version", "page", "next", "previous",
    "download", "search", "submit", "save", "cancel", "edit", "delete", "error", "loading",
    "legend", "layer", "layers", "none", "null", "undefined", "true", "false", "nan",
    "hectare", "hectares", "sign", "signed", "login", "logout", "history", "issued", "reason",
    "date", "yes", "no", "unknown", "feature", "features", "collection", "collections",
    "overview", "map", "soil", "coverage", "register", "registered", "the", "of", "and",
}  # fmt: skip


# What a reader reads: the page's text without identifiers set in <code> (collection and
# property names of the API, which are not words of the interface).
VISIBLE_WORDS_JS = """() => {
  const style = document.createElement("style");
  style.textContent = "code { display: none !important; }";
  document.head.appendChild(style);
  const text = document.body.innerText;
  style.remove();
  return text;
}"""


def english_words(text: str) -> list[str]:
    """The words of ``text`` that are English interface words (ENGLISH). A run of letters and
    digits (a household code, a token) is not a word."""
    words = re.findall(r"[^\W_]+", text)
    return sorted({w for w in words if w.isascii() and w.isalpha() and w.lower() in ENGLISH})


def test_the_checker_finds_english_and_leaves_vietnamese() -> None:
    assert english_words("Trạng thái: active · Role officer") == ["active", "officer"]
    assert english_words("Đang hiệu lực · cán bộ nông nghiệp · 1,4765 ha · GeoPackage") == []
    assert english_words("Mã hộ X7AND2Q · growing_areas") == ["areas"]


@pytest.fixture(scope="module")
def readers(demo_url: str) -> dict[str, str]:
    tag = uuid.uuid4().hex[:6]
    names = {}
    for role, communes in (("officer", [COMMUNE]), ("planner", []), ("admin", [])):
        names[role] = f"vi-{role}-{tag}"
        run_async(
            demo_url, accounts.add_user, username=names[role], role=role, password=PASSWORD,
            communes=communes, display_name="Người đọc thử", by="tests",
        )  # fmt: skip
    return names


@pytest.fixture(scope="module")
def ids(demo_url: str) -> dict[str, object]:
    with psycopg.connect(demo_url) as conn:
        area = (
            conn.execute(
                "SELECT id FROM growing_area WHERE commune_code = %s AND status = 'suspended' "
                "ORDER BY id LIMIT 1",
                (COMMUNE,),
            ).fetchone()
            or conn.execute("SELECT id FROM growing_area ORDER BY id LIMIT 1").fetchone()
        )
        household, token, village = conn.execute(
            "SELECT h.id, h.qr_token, h.village_code FROM household h "
            "JOIN village v ON v.code = h.village_code "
            "WHERE v.commune_code = %s AND h.qr_token IS NOT NULL ORDER BY h.id LIMIT 1",
            (COMMUNE,),
        ).fetchone()
    return {"area": area[0], "household": household, "token": token, "village": village}


def pages_for(role: str, ids: dict) -> list[str]:
    a, h = ids["area"], ids["household"]
    public = [
        "/maps/overview",
        "/maps/code-check",
        "/maps/soil",
        "/maps/code-check?code=VN-51-522-21214-13-24",
        "/maps/code-check?code=VN-15-0292-03-25",
        f"/q/{ids['token']}",
        "/q",
        "/?f=html",
        "/collections?f=html",
        "/collections/growing_areas?f=html",
        "/collections/growing_areas/items?f=html&limit=5",
        f"/collections/growing_areas/items/{a}?f=html",
        f"/collections/growing_areas/items/{a}/sheet",
        "/maps/growing-areas/999999999",
    ]
    signed_in = [
        "/maps/growing-areas?status=suspended",
        f"/maps/growing-areas/{a}",
        "/maps/coverage",
        "/maps/coverage?province=15",
    ]
    officer = [
        "/maps/register",
        f"/maps/growing-areas/{a}/boundary",
        f"/maps/households/{h}",
        "/maps/households/new",
        f"/villages/{ids['village']}/qr-sheet",
        "/maps/households",
        f"/maps/households?village={ids['village']}",
        "/maps/imports",
        "/maps/imports/history",
    ]
    return {
        "public": public + ["/login"],
        "planner": signed_in + ["/maps/register", "/maps/imports"],  # refusal pages, Vietnamese too
        "officer": signed_in + officer,
        "admin": signed_in + officer[:2] + ["/maps/imports", "/maps/imports/history"],
    }[role]


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.parametrize("role", ["public", "officer", "planner", "admin"])
def test_every_page_reads_as_vietnamese(
    live_server: str, readers, ids, role: str, artifacts: Path
) -> None:
    leaks: dict[str, list[str]] = {}
    with browser_page() as page:  # Chromium in vi-VN
        if role != "public":
            _sign_in(page, live_server, readers[role])
        for path in pages_for(role, ids):
            page.goto(f"{live_server}{path}")
            page.wait_for_load_state("networkidle")
            assert page.evaluate("document.documentElement.lang") == "vi", path
            found = english_words(page.evaluate(VISIBLE_WORDS_JS))
            if found:
                leaks[path] = found
                slug = re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_")
                screenshot(page, artifacts / f"english_leak_{role}_{slug}.png")
    assert not leaks, f"English words in Vietnamese pages ({role}): {leaks}"
