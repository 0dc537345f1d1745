"""Numbers, dates and statuses in Vietnamese pages read the same everywhere (issue 14):
"1,4765" with a decimal comma, dd/mm/yyyy, "Còn hiệu lực"; English pages keep 1.4765."""

from __future__ import annotations

import datetime as dt
import re

import httpx

from geo.values import format_number
from maps.formats import shown as display_value
from maps.sheet_svg import vn_number


def test_one_formatter_behind_every_vietnamese_number() -> None:
    assert vn_number(1.4765, 4) == format_number(1.4765, 4) == display_value(1.4765, "area_ha")
    assert display_value(1.4765, "area_ha") == "1,4765"
    assert display_value(12345, "member_households") == "12.345"
    assert display_value(True) == "Có" and display_value(False, lang="en") == "No"
    assert display_value("2024-03-15", "issued_on") == "15/03/2024"
    assert display_value("suspended", "status") == "Tạm dừng"
    assert display_value("02923", "commune_code") == "02923"  # codes are text
    assert display_value(dt.date(2026, 1, 2), lang="en") == "2026-01-02"


def test_collection_pages_write_areas_with_a_decimal_comma(live_server: str) -> None:
    data = httpx.get(f"{live_server}/collections/growing_areas/items?limit=5").json()
    first = data["features"][0]
    page = httpx.get(f"{live_server}/collections/growing_areas/items?limit=5&f=html").text
    assert format_number(first["properties"]["area_ha"], 4) in page
    assert not re.search(r"<td>\d+\.\d{4}</td>", page)  # no "1.4765" beside "1,4765 ha"
    assert not re.search(r"<td>(active|suspended|revoked)</td>", page)
    item = httpx.get(f"{live_server}/collections/growing_areas/items/{first['id']}?f=html").text
    assert format_number(first["properties"]["area_ha"], 4) in item
    english = httpx.get(
        f"{live_server}/collections/growing_areas/items/{first['id']}?f=html&lang=en"
    ).text
    assert format_number(first["properties"]["area_ha"], 4, lang="en") in english
