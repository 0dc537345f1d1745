"""Coverage reports (issue 13) from the live demo server: CSV and XLSX with Vietnamese headings
and numbers, the one-page commune PDF; and every /coverage/ route refusing unknown parameters."""

from __future__ import annotations

import csv
import io
import uuid

import httpx
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from agrimap.clicommon import run_async
from layers import accounts

COMMUNE = {"level": "commune", "code": "02923"}


@pytest.fixture(scope="module")
def planner(demo_url: str) -> dict[str, str]:
    name = f"bao-cao-{uuid.uuid4().hex[:6]}"
    run_async(demo_url, accounts.add_user, username=name, role="planner",
              password="mật-khẩu-thử-0123", by="tests")  # fmt: skip
    _, token = run_async(demo_url, accounts.create_token, username=name, name="t", by="tests")
    return {"Authorization": f"Bearer {token}"}


def _get(base: str, path: str, headers: dict, **params) -> httpx.Response:
    return httpx.get(f"{base}{path}", params=params, headers=headers, timeout=60)


def test_csv_in_vietnamese_numbers(live_server: str, planner: dict) -> None:
    r = _get(live_server, "/coverage/report.csv", planner, **COMMUNE)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="phu-song-commune-02923-' in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Báo cáo phủ sóng viễn thông theo thôn (tiêu chí 8)"]
    assert "Nhà mạng: tất cả" in rows[1][0]
    head = rows[3]
    assert head[:4] == ["Mã xã", "Mã thôn", "Tên thôn", "Số hộ"]
    village = {r[1]: dict(zip(head, r, strict=True)) for r in rows[4:18]}
    phu_hai = village["02923-02"]
    assert phu_hai["Tên thôn"] == "Phú Hải 1"
    assert phu_hai["Tỷ lệ hộ có 4G/5G (%)"] == "14,6"
    assert phu_hai["Thôn lõm sóng 4G"] == "Có"
    assert phu_hai["Trạng thái phủ sóng"] == "Phủ một phần"
    totals = next(r for r in rows if r[:1] == ["02923"] and len(r) == 13)
    assert totals[1] == "Gia Phú" and totals[2] == "14"
    assert totals[3].startswith("2.6")  # 2.626 and whatever other tests added: thousands '.'
    verdicts = {r[1]: r[2:] for r in rows if len(r) == 6 and r[0] == "02923"}
    assert verdicts["Tỷ lệ thôn có cáp quang"] == ["85,7", ">=", "100", "Chưa đạt"]


def test_xlsx_keeps_numbers_as_numbers(live_server: str, planner: dict) -> None:
    r = _get(live_server, "/coverage/report.xlsx", planner, operator="MobiFone", **COMMUNE)
    assert r.status_code == 200, r.text
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["Thôn", "Xã", "Tiêu chí 8"]
    ws = wb["Thôn"]
    assert "Nhà mạng: MobiFone" in ws["A1"].value
    head = [c.value for c in ws[3]]
    rows = [dict(zip(head, [c.value for c in row], strict=True)) for row in ws.iter_rows(min_row=4)]
    assert len(rows) == 14
    first = rows[0]
    assert isinstance(first["Số hộ"], int) and isinstance(first["Tỷ lệ hộ có sóng (%)"], float)
    assert all(r["Số hộ có sóng (theo lựa chọn)"] <= r["Số hộ"] for r in rows)
    assert ws.cell(4, head.index("Tỷ lệ hộ có sóng (%)") + 1).number_format == "0.0"
    c8 = {row[1].value: row[2].value for row in wb["Tiêu chí 8"].iter_rows(min_row=4)}
    assert c8["Tỷ lệ thôn có cáp quang"] == 85.7


def test_commune_pdf_one_page(live_server: str, planner: dict) -> None:
    r = _get(live_server, "/coverage/report.pdf", planner, **COMMUNE)
    assert r.status_code == 200, r.text
    pdf = PdfReader(io.BytesIO(r.content))
    assert len(pdf.pages) == 1
    text = pdf.pages[0].extract_text()
    for words in ("Gia Phú", "Tiêu chí 8", "Phú Hải 1", "Chưa đạt", "85,7 %", "Thôn lõm sóng"):
        assert words in text, words
    province = _get(live_server, "/coverage/report.pdf", planner, level="province", code="15")
    assert province.status_code == 400 and "một xã" in province.json()["description"]


@pytest.mark.parametrize(
    "path",
    ["/coverage/indicators", "/coverage/hexagons", "/coverage/at", "/coverage/polygons",
     "/coverage/households", "/coverage/options", "/coverage/report.csv"],
)  # fmt: skip
def test_unknown_parameters_refused(live_server: str, planner: dict, path: str) -> None:
    r = _get(live_server, path, planner, operater="Viettel", lon=104.07, lat=22.37, **COMMUNE)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["description"].startswith("Tham số không được hỗ trợ: ")
    assert "operater" in body["description"] and "operater" in body["description_en"]
    assert (
        "Các tham số hợp lệ: " in body["description"]
        and "operator" in body["description"]
        or (path in ("/coverage/at", "/coverage/options"))
    )
    # The same request without the typo is answered (lang is always allowed).
    if path == "/coverage/at":
        good = {"lon": 104.07, "lat": 22.37, "lang": "vi"}
    elif path == "/coverage/options":
        good = {"lang": "en"}
    else:
        good = {**COMMUNE, "lang": "vi"}
    assert _get(live_server, path, planner, **good).status_code == 200


def test_gaps_compare_and_disagreements_routes(live_server: str, planner: dict) -> None:
    gaps = _get(live_server, "/coverage/gaps", planner, min_area_km2=0, **COMMUNE)
    assert gaps.status_code == 200, gaps.text
    assert gaps.headers["content-type"].startswith("application/geo+json")
    fc = gaps.json()
    # Phú Hải 1's 134 households without 4G sit in cells outside coverage.
    assert sum(f["properties"]["unserved"] for f in fc["features"]) >= 100
    big = _get(live_server, "/coverage/gaps", planner, **COMMUNE).json()
    assert len(big["features"]) <= len(fc["features"])
    cmp = _get(live_server, "/coverage/compare", planner, **{"from": "2000-01-01", "to": "2099-01-01"},
               **COMMUNE)  # fmt: skip
    assert cmp.status_code == 200, cmp.text
    body = cmp.json()
    # In 2000 no coverage existed: every village was a dead zone; all but Phú Hải 1 left the list.
    assert body["dead_zones_before"] == 14 and body["dead_zones_after"] == 1
    assert [v["name"] for v in body["still"]] == ["Phú Hải 1"] and len(body["removed"]) == 13
    bad = _get(
        live_server, "/coverage/compare", planner, **{"from": "2025-01-01", "to": "2024-01-01"}
    )
    assert bad.status_code == 400 and "Ngày đầu phải trước ngày sau" in bad.json()["description"]
    dis = _get(live_server, "/coverage/disagreements", planner, operator="Viettel", **COMMUNE)
    assert dis.status_code == 200 and dis.json()["villages"] == []  # no speed test in the demo
    assert _get(live_server, "/coverage/disagreements", planner, **COMMUNE).status_code == 400
    assert httpx.get(f"{live_server}/coverage/gaps").status_code == 401
