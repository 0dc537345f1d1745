"""The officer's workspace over HTTP on the real server and the demo commune (issue 14): the
page header, the language switch that sticks, the growing-area list (search by any spelling,
filters, paging, downloads read back by openpyxl and GDAL), an area's page, saving only what
changed, status actions, the history timeline and the code lookup page."""

from __future__ import annotations

import csv
import html
import io
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import morecantile
import psycopg
import pytest
from openpyxl import load_workbook

from agrimap.clicommon import run_async
from layers import accounts

PASSWORD = "mật-khẩu-bàn-làm-việc-0123"
COMMUNE = "02923"


def sign_in(base: str, username: str) -> tuple[httpx.Client, str]:
    """A client holding a session of ``username``, and its CSRF token for forms."""
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf, "next": "/"},
    )
    assert r.status_code == 303, r.text
    return client, client.get("/auth/me").json()["csrf_token"]


@pytest.fixture(scope="module")
def people(demo_url: str) -> dict[str, str]:
    tag = uuid.uuid4().hex[:6]
    names = {}
    for role, communes, display in (
        ("officer", [COMMUNE], "Cán Bộ Thử Nghiệm"),
        ("planner", [], "Trần Quy Hoạch"),
        ("admin", [], "Quản Trị"),
    ):
        names[role] = f"ws-{role}-{tag}"
        run_async(
            demo_url, accounts.add_user, username=names[role], role=role, password=PASSWORD,
            communes=communes, display_name=display, by="tests",
        )  # fmt: skip
    return names


@pytest.fixture(scope="module")
def officer(live_server: str, people) -> tuple[httpx.Client, str]:
    return sign_in(live_server, people["officer"])


@pytest.fixture()
def area(demo_url: str) -> dict:
    """An active area of the demo commune no other test of this module touches."""
    with psycopg.connect(demo_url) as conn:
        row = conn.execute(
            "SELECT id, code, crop, version FROM growing_area WHERE commune_code = %s "
            "AND status = 'active' AND cooperative IS NULL AND owner_name IS NOT NULL "
            "ORDER BY id DESC LIMIT 1",
            (COMMUNE,),
        ).fetchone()
    assert row is not None, "the demo commune has no active area owned by a person"
    return dict(zip(("id", "code", "crop", "version"), row, strict=True))


def _text(page: str) -> str:
    body = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", page)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


def test_the_header_names_the_reader_and_their_pages(officer, live_server: str) -> None:
    client, _ = officer
    page = client.get("/maps/growing-areas")
    assert page.status_code == 200
    header = re.search(r'<header class="agrimap-header".*?</header>', page.text).group(0)
    text = _text(header)
    assert "Cán Bộ Thử Nghiệm" in text and "cán bộ nông nghiệp" in text and "xã Gia Phú" in text
    for title in ("Tổng quan", "Đăng ký vùng trồng", "Vùng trồng", "Tra cứu mã", "Đăng xuất"):
        assert title in text
    assert "Quản trị" not in text  # an officer's header offers no administration
    assert "aria-current=page>Vùng trồng" in header
    anonymous = httpx.get(f"{live_server}/maps/code-check")
    assert "Đăng nhập" in _text(anonymous.text) and "Đăng ký vùng trồng" not in anonymous.text


def test_the_language_switch_sticks_and_the_browser_only_chooses_the_first_visit(
    live_server: str,
) -> None:
    first = httpx.get(f"{live_server}/maps/code-check", headers={"Accept-Language": "en-GB"})
    assert "Look up a growing-area code" in first.text
    with httpx.Client(base_url=live_server, follow_redirects=False) as client:
        r = client.get("/lang/vi", params={"next": "/maps/code-check?code=x"})
        assert r.status_code == 303 and r.headers["location"] == "/maps/code-check?code=x"
        # The choice wins over an English browser from then on, on every page.
        again = client.get("/maps/code-check", headers={"Accept-Language": "en-GB"})
        assert "Tra cứu mã số vùng trồng" in again.text
        assert (
            client.get("/lang/en", params={"next": "//evil.example"}).headers["location"]
            == "/maps/overview"
        )  # never an open redirect
        assert client.get("/lang/xx").status_code == 404


def test_search_by_any_spelling_of_a_code(officer, area) -> None:
    client, _ = officer
    spaced = area["code"].lower().replace("-", " ")
    page = client.get("/maps/growing-areas", params={"code": spaced})
    assert page.status_code == 200
    assert f"/maps/growing-areas/{area['id']}" in page.text
    assert "Tìm thấy 1 vùng trồng" in _text(page.text)


def test_filters_and_paging(officer, demo_url: str) -> None:
    client, _ = officer
    with psycopg.connect(demo_url) as conn:
        total = conn.execute(
            "SELECT count(*) FROM growing_area WHERE commune_code = %s", (COMMUNE,)
        ).fetchone()[0]
        suspended = conn.execute(
            "SELECT count(*) FROM growing_area WHERE commune_code = %s AND status = 'suspended'",
            (COMMUNE,),
        ).fetchone()[0]
        crop, year, n_crop_year = conn.execute(
            "SELECT crop, extract(year FROM issued_on)::int, count(*) FROM growing_area "
            "WHERE commune_code = %s AND issued_on IS NOT NULL GROUP BY 1, 2 "
            "ORDER BY 3 DESC LIMIT 1",
            (COMMUNE,),
        ).fetchone()
    assert total > 50, "paging needs more than a page of areas"
    first = client.get("/maps/growing-areas")
    assert f"Tìm thấy {total:,} vùng trồng".replace(",", ".") in _text(first.text)
    assert first.text.count('<tr data-id="') == 50
    assert 'rel="next"' in first.text
    last_page = -(-total // 50)
    last = client.get("/maps/growing-areas", params={"page": last_page})
    assert last.text.count('<tr data-id="') == total - 50 * (last_page - 1)
    assert 'rel="next"' not in last.text and 'rel="prev"' in last.text
    s = client.get("/maps/growing-areas", params={"status": "suspended"})
    assert s.text.count('<tr data-id="') == min(suspended, 50)
    assert "còn hiệu lực" not in _text(s.text.split("<tbody>")[1])
    cy = client.get("/maps/growing-areas", params={"crop": crop, "year": str(year)})
    assert f"Tìm thấy {n_crop_year} vùng trồng" in _text(cy.text)
    bad = client.get("/maps/growing-areas", params={"status": "hoạt động?"})
    assert bad.status_code == 400 and "Không có trạng thái" in bad.text
    bad_year = client.get("/maps/growing-areas", params={"year": "20x5"})
    assert bad_year.status_code == 400 and "<html" in bad_year.text


def test_downloads_of_the_filtered_list(officer, demo_url: str, tmp_path: Path) -> None:
    client, _ = officer
    with psycopg.connect(demo_url) as conn:
        n = conn.execute(
            "SELECT count(*) FROM growing_area WHERE commune_code = %s AND status = 'active'",
            (COMMUNE,),
        ).fetchone()[0]
    params = {"status": "active"}
    c = client.get("/maps/growing-areas/download", params={**params, "f": "csv"})
    assert c.status_code == 200 and c.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(c.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Mã số vùng trồng", "Cây trồng", "Diện tích (ha)"]
    assert len(rows) == n + 1 and {r[rows[0].index("Trạng thái")] for r in rows[1:]} == {
        "còn hiệu lực"
    }
    assert "Chủ hộ (cá nhân)" not in rows[0]  # an officer's list carries no persons' names
    x = client.get("/maps/growing-areas/download", params={**params, "f": "xlsx"})
    sheet = load_workbook(io.BytesIO(x.content)).active
    assert sheet.max_row == n + 1 and sheet.cell(1, 1).value == "Mã số vùng trồng"
    assert isinstance(sheet.cell(2, 3).value, float)  # areas stay numbers in Excel
    g = client.get("/maps/growing-areas/download", params={**params, "f": "gpkg"})
    path = tmp_path / "list.gpkg"
    path.write_bytes(g.content)
    info = subprocess.run(
        ["ogrinfo", "-so", "-al", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert f"Feature Count: {n}" in info
    refused = client.get("/maps/growing-areas/download", params={"f": "docx"})
    assert refused.status_code == 400 and "Không có định dạng tải" in refused.text


def test_saving_only_what_changed_keeps_a_persons_name(officer, area, demo_url: str) -> None:
    client, csrf = officer
    page = client.get(f"/maps/growing-areas/{area['id']}")
    assert page.status_code == 200
    # The owner is a person: the form does not show the name, and saving the crop keeps it.
    with psycopg.connect(demo_url) as conn:
        owner = conn.execute(
            "SELECT owner_name FROM growing_area WHERE id = %s", (area["id"],)
        ).fetchone()[0]
    assert owner and owner not in page.text
    form = dict(re.findall(r'<input type="hidden" name="(\w+_was)" value="([^"]*)"', page.text))
    fields = {k[:-4]: v for k, v in form.items()}
    r = client.post(
        f"/maps/growing-areas/{area['id']}",
        data={"csrf_token": csrf, "version": area["version"], **{f"{k}_was": v for k, v in fields.items()},
              **fields, "crop": "Chè Shan tuyết"},
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].endswith("?saved=record")
    with psycopg.connect(demo_url) as conn:
        crop, kept, version = conn.execute(
            "SELECT crop, owner_name, version FROM growing_area WHERE id = %s", (area["id"],)
        ).fetchone()
    assert (crop, kept, version) == ("Chè Shan tuyết", owner, area["version"] + 1)
    shown = client.get(r.headers["location"])
    assert "Đã lưu thông tin vùng trồng." in shown.text
    assert f"Cây trồng: {area['crop']} → Chè Shan tuyết" in _text(shown.text)
    # An old version is refused, not written over the newer one.
    stale = client.post(
        f"/maps/growing-areas/{area['id']}",
        data={"csrf_token": csrf, "version": area["version"], "crop": "Lúa", "crop_was": "x"},
    )
    assert stale.status_code in (409, 412) and "<html" in stale.text
    nothing = client.post(
        f"/maps/growing-areas/{area['id']}",
        data={"csrf_token": csrf, "version": version, "crop": "a", "crop_was": "a"},
    )
    assert nothing.status_code == 400 and "Không có gì để sửa" in nothing.text
    no_csrf = client.post(f"/maps/growing-areas/{area['id']}", data={"version": version})
    assert no_csrf.status_code == 403


def test_status_actions_and_the_timeline_that_names_them(officer, area, demo_url: str) -> None:
    client, csrf = officer
    url = f"/maps/growing-areas/{area['id']}"
    version = area["version"]
    r = client.post(
        url + "/status",
        data={"csrf_token": csrf, "version": version, "action": "suspend",
              "reason": "Phát hiện ruồi đục quả", "on": "30/11/2026"},
    )  # fmt: skip
    assert r.status_code == 303, r.text
    missing_reason = client.post(
        url + "/status", data={"csrf_token": csrf, "version": version + 1, "action": "revoke"}
    )
    assert missing_reason.status_code == 400 and "lý do" in missing_reason.text
    r = client.post(
        url + "/status",
        data={"csrf_token": csrf, "version": version + 1, "action": "reinstate", "on": ""},
    )
    assert r.status_code == 303, r.text
    page = client.get(url)
    # The form's dates are written dd/mm/yyyy whatever the browser's locale.
    assert re.search(r'name="on" value="\d{2}/\d{2}/\d{4}"', page.text)
    bad_date = client.post(
        url + "/status",
        data={"csrf_token": csrf, "version": version + 2, "action": "suspend", "reason": "x",
              "on": "31/02/2026"},
    )  # fmt: skip
    assert bad_date.status_code == 400 and "dd/mm/yyyy" in bad_date.text
    items = re.findall(r'<li class="timeline-(\w+)"', page.text)
    assert items[:2] == ["reinstate", "suspend"]
    text = _text(page.text)
    assert "Khôi phục mã" in text and "Tạm dừng mã" in text
    assert "Phát hiện ruồi đục quả (30/11/2026)" in text
    assert "Trạng thái còn hiệu lực" in text or "còn hiệu lực" in text


def test_a_planner_reads_but_cannot_edit(live_server: str, people, area) -> None:
    client, csrf = sign_in(live_server, people["planner"])
    page = client.get(f"/maps/growing-areas/{area['id']}")
    assert page.status_code == 200 and "area-edit-form" not in page.text
    assert "chỉ được xem" in page.text
    r = client.post(
        f"/maps/growing-areas/{area['id']}",
        data={"csrf_token": csrf, "version": 1, "crop": "x", "crop_was": "y"},
    )
    assert r.status_code == 403 and "cán bộ quy hoạch" in r.text
    assert client.get(f"/maps/growing-areas/{area['id']}/boundary").status_code == 403


def test_the_redraw_page_holds_the_area_ready_to_edit(officer, area) -> None:
    client, _ = officer
    page = client.get(f"/maps/growing-areas/{area['id']}/boundary")
    assert page.status_code == 200
    assert f"Vẽ lại ranh giới {area['code']}" in page.text
    assert f"exclude={area['id']}" in page.text and '"version":' in page.text
    assert 'id="register-crop"' not in page.text  # only the boundary changes here


def test_an_unknown_area_is_a_vietnamese_404_page(officer) -> None:
    client, _ = officer
    r = client.get("/maps/growing-areas/999999999")
    assert r.status_code == 404 and "Không tìm thấy" in r.text and "agrimap-header" in r.text


def test_the_code_lookup_page(live_server: str, demo_url: str) -> None:
    seed = httpx.get(f"{live_server}/maps/code-check", params={"code": "vn 51 522 21214 13 24"})
    text = _text(seed.text)
    for name in ("Tỉnh Quảng Ngãi", "Thành phố Quảng Ngãi", "Xã Tịnh Long", "Xã Tịnh Khê"):
        assert name in text
    assert 'data-valid="1"' in seed.text and "không có trong sổ đăng ký" in text
    bad = httpx.get(f"{live_server}/maps/code-check", params={"code": "VN-15-0292-03-25"})
    assert bad.status_code == 400 and "phần xã '0292' phải gồm 5 chữ số" in _text(bad.text)
    with psycopg.connect(demo_url) as conn:
        gid, code = conn.execute("SELECT id, code FROM growing_area ORDER BY id LIMIT 1").fetchone()
    ours = httpx.get(f"{live_server}/maps/code-check", params={"code": code.lower()})
    assert f'href="/maps/growing-areas/{gid}"' in ours.text


def test_the_area_page_gives_the_soil_summary_of_the_area(officer, area) -> None:
    """The same figures as the soil API for this area, in the page's language."""
    client, _ = officer
    report = client.get(f"/soil/growing-areas/{area['id']}").json()
    mapped = [p for p in report["properties"] if p["mean"] is not None]
    assert mapped  # the demo's soil maps cover its growing areas
    page = client.get(f"/maps/growing-areas/{area['id']}")
    table = page.text.split('id="area-soil"', 1)[1].split("</table>", 1)[0]
    assert "Nông hóa thổ nhưỡng" in page.text
    for p in mapped:
        assert p["label_vi"] in table and p["mean_text"] in table, p["property"]
        assert (p["grade"] or "—") in table
    for note in report["note"]:
        assert note in page.text
    english = client.get(f"/maps/growing-areas/{area['id']}?lang=en").text
    assert "Soil fertility" in english and mapped[0]["label_en"] in english


@pytest.fixture(params=["gone", "truncated"])
def missing_om_raster(request, demo_url: str, tmp_path: Path) -> Iterator[int]:
    """The current organic-matter raster's catalogue row copied with a path whose file is gone
    (a data directory restored without its rasters) or cut short (a disk that filled up while
    it was copied): it becomes the current 'om' raster."""
    with psycopg.connect(demo_url, autocommit=True) as conn:
        (path,) = conn.execute(
            "SELECT path FROM soil_raster WHERE property = 'om' ORDER BY id DESC LIMIT 1"
        ).fetchone()
        broken = tmp_path / f"om-{request.param}.tif"
        if request.param == "truncated":
            whole = Path(path).read_bytes()
            broken.write_bytes(whole[: len(whole) // 3])
        rid = conn.execute(
            "INSERT INTO soil_raster (property, unit, depth_cm, path, source, surveyed_on, "
            "geom, method, params, reliability, cell_m, bands, source_unit) "
            "SELECT property, unit, depth_cm, %s, source, surveyed_on, geom, "
            "method, params, reliability, cell_m, bands, source_unit FROM soil_raster "
            "WHERE property = 'om' ORDER BY id DESC LIMIT 1 RETURNING id",
            (str(broken),),
        ).fetchone()[0]
        try:
            yield rid
        finally:
            conn.execute("DELETE FROM soil_raster WHERE id = %s", (rid,))


def test_a_soil_raster_missing_on_disk_is_said_and_never_a_500(
    officer, area, demo_url: str, missing_om_raster: int
) -> None:
    """The pages and the soil API give the other properties and name the one they cannot
    read; its tiles are a bilingual 503 naming the raster (were 500s)."""
    client, _ = officer
    report = client.get(f"/soil/growing-areas/{area['id']}")
    assert report.status_code == 200
    props = {p["property"]: p for p in report.json()["properties"]}
    assert props["om"]["unavailable"] is True and props["om"]["mean"] is None
    assert all(
        p["mean"] is not None and not p["unavailable"] for k, p in props.items() if k != "om"
    )
    page = client.get(f"/maps/growing-areas/{area['id']}")
    assert page.status_code == 200
    said = _text(page.text.split('id="area-soil-unavailable"', 1)[1].split("</p>", 1)[0])
    assert "Tạm thời không đọc được ảnh nông hóa" in said and props["om"]["label_vi"] in said
    table = page.text.split('id="area-soil"', 1)[1].split("</table>", 1)[0]
    assert props["ph_kcl"]["mean_text"] in table and props["om"]["label_vi"] not in table
    english = client.get(f"/maps/growing-areas/{area['id']}?lang=en").text
    assert "cannot be read on the server" in english and props["om"]["label_en"] in english
    sheet = client.get(f"/collections/growing_areas/items/{area['id']}/sheet")
    assert sheet.status_code == 200 and "Tạm thời không đọc được ảnh nông hóa" in sheet.text
    point = client.get("/soil/point", params={"lon": 104.08, "lat": 22.365})
    assert point.status_code == 200
    at = {p["property"]: p for p in point.json()["properties"]}
    assert at["om"]["unavailable"] is True and at["ph_kcl"]["value"] is not None
    with psycopg.connect(demo_url) as conn:
        lon, lat = conn.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) c FROM soil_raster "
            "WHERE id = %s) s",
            (missing_om_raster,),
        ).fetchone()
    tile = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, 14)
    r = client.get(
        f"/collections/soil_rasters/items/{missing_om_raster}/tiles/WebMercatorQuad/"
        f"14/{tile.x}/{tile.y}.png"
    )
    assert r.status_code == 503, r.text
    body = r.json()
    assert f"Ảnh nông hóa số {missing_om_raster}" in body["description"]
    assert "agrimap restore" in body["description"] and "restore" in body["description_en"]
