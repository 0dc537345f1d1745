"""Household QR codes end to end: image → decoder → page; enumeration; re-issue; sheets."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from agrimap.clicommon import run_async
from geo import qrtoken
from layers import accounts
from tests.browser import browser_page, page_log, screenshot
from tests.conftest import serve

PASSWORD = "mật-khẩu-mã-qr-0123"


@pytest.fixture(scope="module")
def officer(demo_url: str) -> dict[str, str]:
    name = f"qr-{uuid.uuid4().hex[:6]}"
    run_async(
        demo_url, accounts.add_user, username=name, role="officer", password=PASSWORD,
        communes=["02923"], by="tests",
    )  # fmt: skip
    _, token = run_async(demo_url, accounts.create_token, username=name, name="tests", by="tests")
    return {"Authorization": f"Bearer {token}", "username": name}


def _headers(officer: dict) -> dict:
    return {"Authorization": officer["Authorization"]}


def _household(demo_url: str, offset: int = 0) -> tuple[int, str, str, str | None, str | None]:
    with psycopg.connect(demo_url) as conn:
        return conn.execute(
            "SELECT id, qr_token, label, head_name, phone FROM household "
            "WHERE qr_token IS NOT NULL ORDER BY id OFFSET %s LIMIT 1",
            (200 + offset,),
        ).fetchone()


def test_demo_tokens_are_well_formed(demo_url: str) -> None:
    with psycopg.connect(demo_url) as conn:
        tokens = [t for (t,) in conn.execute("SELECT qr_token FROM household")]
    assert len(tokens) > 2000 and len(set(tokens)) == len(tokens)
    assert all(qrtoken.normalise(t) == t for t in tokens)


def test_png_decodes_to_the_households_page(live_server, demo_url, officer, tmp_path: Path) -> None:
    hid, token, label, name, phone = _household(demo_url)
    r = httpx.get(
        f"{live_server}/collections/households/items/{hid}/qr.png", headers=_headers(officer)
    )
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    png = tmp_path / "qr.png"
    png.write_bytes(r.content)
    decoded = subprocess.run(
        ["zbarimg", "--raw", "-q", str(png)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert decoded == f"{live_server}/q/{token}"
    page = httpx.get(decoded)
    assert page.status_code == 200 and label in page.text
    assert len(page.content) < 100_000
    for secret in (name, phone):  # no consent given: no name, no phone
        assert secret and secret not in page.text
    assert "Chỉ đường" in page.text and "google.com/maps/dir" in page.text and "geo:" in page.text
    svg = httpx.get(
        f"{live_server}/collections/households/items/{hid}/qr.svg", headers=_headers(officer)
    )
    assert svg.status_code == 200 and label in svg.text
    assert httpx.get(f"{live_server}/collections/households/items/{hid}/qr.png").status_code == 401


def test_phone_page_is_light_and_shows_the_map(live_server, demo_url, artifacts: Path) -> None:
    _, token, label, *_ = _household(demo_url, 1)
    with browser_page(width=390, height=844, mobile=True) as page:
        sizes: list[int] = []
        page.on("response", lambda resp: sizes.append(len(resp.body())))
        page.goto(f"{live_server}/q/{token}")
        page.wait_for_load_state("load")
        assert page.locator("h1").inner_text() == label
        assert page.locator("svg.qr-map circle").count() == 2
        assert page.locator("a.btn").first.inner_text() == "Chỉ đường"
        screenshot(page, artifacts / "qr_page_phone.png")
        log = page_log(page)
    assert sum(sizes) < 100_000, sizes
    assert len(log.requested) == 1  # one request: no scripts, styles or images to fetch


def test_enumeration_learns_nothing(live_server, demo_url, officer) -> None:
    """A revoked code and a well-formed code that never existed answer byte for byte the same;
    a mistyped one (the check character is public) is told as such, whatever it was near."""
    hid, token, *_ = _household(demo_url, 2)
    random_token = qrtoken.new_token()
    last = token[-1]
    wrong_check = token[:-1] + ("0" if last != "0" else "1")
    assert qrtoken.normalise(wrong_check) is None
    r = httpx.post(
        f"{live_server}/collections/households/items/{hid}/qr/revoke", headers=_headers(officer)
    )
    assert r.status_code == 200
    unknown = [httpx.get(f"{live_server}/q/{t}") for t in (random_token, token)]
    assert {a.status_code for a in unknown} == {404}
    assert len({a.text for a in unknown}) == 1  # byte for byte the same page
    random_wrong = random_token[:-1] + ("0" if random_token[-1] != "0" else "1")
    mistyped = [httpx.get(f"{live_server}/q/{t}") for t in (wrong_check, random_wrong)]
    assert {a.status_code for a in mistyped} == {400}
    assert len({a.text for a in mistyped}) == 1  # a real code's typo looks like any typo
    assert "ký tự kiểm tra" in mistyped[0].text and mistyped[0].text != unknown[0].text
    for typed in ("xyz", "0" * 40):
        page = httpx.get(f"{live_server}/q/{typed}")
        assert page.status_code == 400 and "14 ký tự" in page.text
    as_json = httpx.get(f"{live_server}/q/{wrong_check}", headers={"Accept": "application/json"})
    assert as_json.status_code == 400 and as_json.json()["code"] == "mistyped"


def test_reissue_replaces_the_code_without_revealing_it(live_server, demo_url, officer) -> None:
    hid, old, label, *_ = _household(demo_url, 3)
    r = httpx.post(
        f"{live_server}/collections/households/items/{hid}/qr/reissue", headers=_headers(officer)
    )
    assert r.status_code == 200
    new_url = r.json()["url"]
    new_token = new_url.rsplit("/", 1)[1]
    assert new_token != old and label in httpx.get(new_url).text
    gone = httpx.get(f"{live_server}/q/{old}")
    assert gone.status_code == 410 and "đã được cấp mã QR mới" in gone.text
    assert new_token not in gone.text and qrtoken.display(new_token) not in gone.text
    with psycopg.connect(demo_url) as conn:
        who = conn.execute(
            "SELECT actor FROM audit_log WHERE object_type = 'household' AND object_id = %s "
            "AND action = 'update' ORDER BY id DESC LIMIT 1",
            (str(hid),),
        ).fetchone()[0]
    assert who == officer["username"]


def test_typed_code_is_forgiving_but_checked(live_server, demo_url) -> None:
    _, token, label, *_ = _household(demo_url, 4)
    typed = qrtoken.display(token).lower().replace("-", " ")
    r = httpx.get(f"{live_server}/q", params={"code": typed}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/q/{token}"
    form = httpx.get(f"{live_server}/q")
    assert form.status_code == 200 and 'name="code"' in form.text
    bad = httpx.get(
        f"{live_server}/q", params={"code": typed[:-1] + ("x" if typed[-1] != "x" else "y")}
    )
    assert bad.status_code == 400 and "Mã nhập chưa đúng" in bad.text
    assert "ký tự kiểm tra" in bad.text and "Không tìm thấy" not in bad.text
    # The household number people see on a list is not a lookup code, and the page says so.
    number = httpx.get(f"{live_server}/q", params={"code": "GP-01-0001"})
    assert number.status_code == 400 and "Mã hộ (như GP-01-0001) không dùng" in number.text
    unknown = httpx.get(f"{live_server}/q", params={"code": qrtoken.new_token()},
                        follow_redirects=True)  # fmt: skip
    assert unknown.status_code == 404 and "Không tìm thấy mã này" in unknown.text
    english = httpx.get(f"{live_server}/q", params={"code": "abc", "lang": "en"})
    assert english.status_code == 400 and "14 characters" in english.text


def test_consent_decides_what_the_page_shows(live_server, demo_url) -> None:
    hid, token, _, name, phone = _household(demo_url, 5)
    with psycopg.connect(demo_url) as conn:
        conn.execute("SELECT set_config('agrimap.system', 'on', true)")
        conn.execute("UPDATE household SET show_head_name = true WHERE id = %s", (hid,))
    page = httpx.get(f"{live_server}/q/{token}").text
    assert name in page and phone not in page


def test_a_burst_of_lookups_is_limited(demo_url) -> None:
    with serve(demo_url, AGRIMAP_QR_RATE="8/minute") as base:
        codes = [httpx.get(f"{base}/q/{qrtoken.new_token()}").status_code for _ in range(10)]
    assert codes[:8] == [404] * 8 and codes[8:] == [429, 429]


def test_village_sheet_lists_every_household(live_server, demo_url, officer) -> None:
    with psycopg.connect(demo_url) as conn:
        village, count = conn.execute(
            "SELECT village_code, count(*) FROM household WHERE qr_token IS NOT NULL "
            "AND village_code LIKE '02923-%' GROUP BY 1 ORDER BY 1 LIMIT 1"
        ).fetchone()
        labels = [lb for (lb,) in conn.execute(
            "SELECT label FROM household WHERE village_code = %s AND qr_token IS NOT NULL",
            (village,))]  # fmt: skip
    html = httpx.get(
        f"{live_server}/villages/{village}/qr-sheet", headers=_headers(officer), timeout=60
    )
    assert html.status_code == 200
    assert all(label in html.text for label in labels)
    pdf = httpx.get(
        f"{live_server}/villages/{village}/qr-sheet?f=pdf", headers=_headers(officer), timeout=120
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf.content))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert all(label in text for label in labels), count
    assert httpx.get(f"{live_server}/villages/{village}/qr-sheet").status_code == 401


def _village_centre(demo_url: str, offset: int = 0) -> tuple[str, float, float]:
    with psycopg.connect(demo_url) as conn:
        return conn.execute(
            "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
            "FROM village WHERE commune_code = '02923' ORDER BY code OFFSET %s LIMIT 1",
            (offset,),
        ).fetchone()


def test_households_are_added_and_moved_with_their_village_from_the_map(
    live_server, demo_url, officer
) -> None:
    village, lon, lat = _village_centre(demo_url)
    other, lon2, lat2 = _village_centre(demo_url, 1)
    point = {"type": "Point", "coordinates": [lon, lat]}
    url = f"{live_server}/collections/households/items"
    r = httpx.post(url, json={"type": "Feature", "geometry": point,
                              "properties": {"label": "Hộ mới thử", "head_name": "Lò Thị Mây"}},
                   headers=_headers(officer))  # fmt: skip
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["village_code"] == village and created["head_name"] == "Lò Thị Mây"
    wrong = httpx.post(url, json={"type": "Feature", "geometry": point,
                                  "properties": {"label": "x", "village_code": other}},
                       headers=_headers(officer))  # fmt: skip
    assert wrong.status_code == 400 and f"nằm trong thôn {village}" in wrong.json()["description"]
    outside = httpx.post(url, json={"type": "Feature", "properties": {"label": "x"},
                                    "geometry": {"type": "Point", "coordinates": [106.5, 20.5]}},
                         headers=_headers(officer))  # fmt: skip
    assert (
        outside.status_code == 400 and "không nằm trong thôn nào" in outside.json()["description"]
    )
    moved = httpx.patch(
        f"{url}/{created['id']}",
        json={"geometry": {"type": "Point", "coordinates": [lon2, lat2]}},
        headers=_headers(officer),
    )
    assert moved.status_code == 200, moved.text
    with psycopg.connect(demo_url) as conn:
        now = conn.execute(
            "SELECT village_code, ST_X(geom), ST_Y(geom), qr_token FROM household WHERE id = %s",
            (created["id"],),
        ).fetchone()
    assert now[:3] == (other, lon2, lat2) and qrtoken.normalise(now[3]) == now[3]
