"""Tests for geo.codes: layouts, parsing, checks against today's and pre-reform lists, new codes."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

import pytest

from geo.adminunits import (
    PRE_REFORM_PROVINCE_CODES,
    AdminLists,
    Commune,
    District,
    package_lists,
)
from geo.codes import (
    DEFAULT_LAYOUT,
    ISSUE_LAYOUT,
    CodeLayout,
    ParsedCode,
    next_code,
    normalise,
    validate,
    validate_any,
)
from geo.errors import InvalidInput

TODAY = dt.date(2025, 11, 1)
SEED = "VN-51-522-21214-13-24"  # rice, 0.1001 ha, Tịnh Long commune, Quảng Ngãi city
GIA_PHU = "VN-10-086-02923-05-25"  # the demo commune, Bảo Thắng district, old Lào Cai (10)
POST_REFORM = CodeLayout("VN-{province:2}-{commune:5}-{serial:3+}-{year:2}")


def today_only() -> AdminLists:
    """The package's lists of today, with no pre-reform list (as vietnam-provinces < 2026.2)."""
    lists = package_lists()
    return AdminLists(lists.provinces, lists.communes, dict.fromkeys(PRE_REFORM_PROVINCE_CODES, ""))


def sample_pre_reform() -> AdminLists:
    """Today's lists from the package plus a few pre-reform units, entered by hand.

    Each entry is as vietnam-provinces 2026.2.3 lists it (``vietnam_provinces.legacy`` and
    ``Ward.get_legacy_sources()``); that release needs Python 3.12, the project runs 3.11.
    """
    return replace(
        today_only(),
        old_districts={
            "522": District("522", "Thành phố Quảng Ngãi", "51"),
            "524": District("524", "Huyện Bình Sơn", "51"),
            "086": District("086", "Huyện Bảo Thắng", "10"),
            "001": District("001", "Quận Ba Đình", "01"),
        },
        old_communes={
            "21214": Commune("21214", "Xã Tịnh Long", "51", "522"),
            "21211": Commune("21211", "Xã Tịnh Khê", "51", "522"),
            "02923": Commune("02923", "Xã Gia Phú", "10", "086"),
            "00007": Commune("00007", "Phường Cống Vị", "01", "001"),
        },
        successors={
            "21214": ("21211",), "21211": ("21211",), "02923": ("02923",),
            "00007": ("00008", "00025"),  # split between Ngọc Hà and Giảng Võ
        },
    )  # fmt: skip


# The package's own lists join the hand-entered ones wherever it has pre-reform data.
PRE_REFORM_SOURCES = [pytest.param(sample_pre_reform, id="sample")] + (
    [pytest.param(package_lists, id="package")] if package_lists().has_pre_reform else []
)


@pytest.fixture(params=PRE_REFORM_SOURCES)
def lists(request) -> AdminLists:
    return request.param()


def refused(code: str, **kw) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        validate(code, today=TODAY, **kw)
    return info.value


# --- layout: parse, format, configuration --------------------------------------------------


def test_seed_code_parses_into_its_parts():
    assert DEFAULT_LAYOUT.parse(SEED) == ParsedCode(
        code=SEED, province="51", district="522", commune="21214", serial=13, year=2024
    )


@pytest.mark.parametrize("written", [" vn-51-522-21214-13-24 ", "Vn-51-522-21214-13-24\n"])
def test_lower_case_and_blanks_are_normalised(written):
    assert normalise(written) == SEED
    assert DEFAULT_LAYOUT.parse(written).code == SEED


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("", "the code is empty"),
        ("   ", "the code is empty"),
        ("XX-51-522-21214-13-24", "must start with 'VN-'"),
        ("VN-51-522-21214-24", "has 5 parts separated by '-', expected 6"),
        ("VN-51-21214-13-24", "has 5 parts separated by '-', expected 6"),
        ("VN-51--21214-13-24", "the district part is missing"),
        ("VN-51-522-2121A-13-24", "the commune part '2121A' must be 5 digits"),
        ("VN-5-522-21214-13-24", "the province part '5' must be 2 digits"),
        ("VN-51-52-21214-13-24", "the district part '52' must be 3 digits"),
        ("VN-51-522-212145-13-24", "the commune part '212145' must be 5 digits"),
        ("VN-51-522-21214-1-24", "the serial part '1' must be 2–4 digits"),
        ("VN-51-522-21214-12345-24", "the serial part '12345' must be 2–4 digits"),
        ("VN-51-522-21214-13-2024", "the year part '2024' must be 2 digits"),
        ("VN-51-522-21214-13-2A", "the year part '2A' must be 2 digits"),
        ("VN-51-522-21214-13-24-7", "the year part '24-7' must be 2 digits"),
        ("VN-51-522-21214-１３-24", "the serial part '１３' must be 2–4 digits"),  # full-width
    ],
)
def test_malformed_codes_name_the_wrong_part(code, expected):
    err = refused(code)
    assert expected in err.en
    assert err.vi.startswith("Mã số vùng trồng") and "sai định dạng" in err.vi
    assert "VN-51-522-21214-13-24" in err.hint_vi and "VN-51-522-21214-13-24" in err.hint_en
    assert "[xã: 5 chữ số]" in err.hint_vi and "[commune: 5 digits]" in err.hint_en


def test_every_malformed_part_is_listed_in_one_error():
    err = refused("VN-5-522-2121A-1-24")
    assert len(err.details) == 3
    assert (
        err.details[0] == "phần tỉnh '5' phải gồm 2 chữ số / the province part '5' must be 2 digits"
    )
    assert all(" / " in d for d in err.details)


def test_layout_from_a_pattern_string():
    layout = CodeLayout("VN-{province:2}-{commune:5}-{serial:3+}-{year:4}")
    assert not layout.has_district
    assert [(p.name, p.min_digits, p.max_digits) for p in layout.parts.values()] == [
        ("province", 2, 2), ("commune", 5, 5), ("serial", 3, 4), ("year", 4, 4),
    ]  # fmt: skip
    assert layout.parse("VN-51-21211-0042-2025") == ParsedCode(
        code="VN-51-21211-0042-2025", province="51", commune="21211", serial=42, year=2025
    )
    assert layout.example == "VN-51-21211-013-2024"
    assert str(layout) == layout.pattern
    assert CodeLayout(DEFAULT_LAYOUT.pattern) == DEFAULT_LAYOUT
    assert {DEFAULT_LAYOUT: "usable as a key"}[CodeLayout(DEFAULT_LAYOUT.pattern)]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("VN-{province:2}-{town:3}-{commune:5}-{serial:2+}-{year:2}", "unknown part 'town'"),
        ("VN-{province:3}-{commune:5}-{serial:2+}-{year:2}", "bad width 'province:3'"),
        ("VN-{province:2}-{district:3+}-{commune:5}-{serial:2+}-{year:2}", "bad width"),
        ("VN-{province:2}-{commune:5}-{serial:0}-{year:2}", "bad width 'serial:0'"),
        ("VN-{province:2}-{commune:5}-{serial:5+}-{year:2}", "bad width 'serial:5+'"),
        ("VN-{province:2}-{commune:5}-{serial:2}-{year:x}", "bad width 'year:x'"),
        ("VN-{province:2}-{commune:5}-{serial:2}-{year:3}", "bad width 'year:3'"),
        ("VN-{province:2}-{serial:2+}-{year:2}", "missing part(s) commune"),
        ("VN-{commune:5}-{commune:5}-{serial:2}-{year:2}", "part 'commune' appears twice"),
        ("VN-{province:2}{commune:5}-{serial:2}-{year:2}", "two parts need a separator"),
        ("VN-{province:2-{commune:5}-{serial:2}-{year:2}", "unbalanced braces"),
        ("", "missing part(s) commune, serial, year"),
    ],
)
def test_bad_layouts_are_refused_clearly(pattern, expected):
    with pytest.raises(InvalidInput) as info:
        CodeLayout(pattern)
    assert expected in info.value.en
    assert info.value.vi.startswith(f"Mẫu mã số {pattern}")
    assert "{serial:3+}" in info.value.hint_vi and "{serial:3+}" in info.value.hint_en


def test_format_pads_and_round_trips():
    parts = {"province": "51", "district": "522", "commune": "21214", "serial": 7, "year": 2024}
    assert DEFAULT_LAYOUT.format(parts) == "VN-51-522-21214-07-24"
    assert DEFAULT_LAYOUT.format(DEFAULT_LAYOUT.parse(SEED)) == SEED
    assert POST_REFORM.format(POST_REFORM.parse("VN-51-21211-1234-25")) == "VN-51-21211-1234-25"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"serial": 12345}, "the serial part '12345' must be 2–4 digits"),
        ({"year": 1999}, "the year part '1999' must be 2 digits"),
        ({"district": "86"}, "the district part '86' must be 3 digits"),
        ({"province": None}, "the province part is missing"),
    ],
)
def test_format_refuses_parts_that_do_not_fit(change, expected):
    parts = {"province": "51", "district": "522", "commune": "21214", "serial": 1, "year": 2024}
    with pytest.raises(InvalidInput) as info:
        DEFAULT_LAYOUT.format(parts | change)
    assert expected in info.value.en


# --- the package's lists --------------------------------------------------------------------


def test_package_lists_today():
    lists = package_lists()
    assert lists is package_lists()  # built once
    assert len(lists.provinces) == 34 and lists.provinces["51"].endswith(
        "Quảng Ngãi"
    )  # "Tỉnh …" from 2026.1
    assert lists.communes["21211"] == Commune("21211", "Xã Tịnh Khê", "51")
    assert lists.communes["02923"] == Commune("02923", "Xã Gia Phú", "15")  # Lào Cai is 15 now
    assert "21214" not in lists.communes  # Tịnh Long merged into Tịnh Khê
    assert "10" not in lists.provinces and {"10", "51"} <= set(lists.old_provinces)
    assert len(lists.old_provinces) == 63


def test_package_pre_reform_lists_when_the_release_has_them():
    """vietnam-provinces >= 2026.2 adds the pre-reform lists and the conversion table; before
    that the pre-reform lists are empty and the checks fall back (see the today-only tests)."""
    lists = package_lists()
    if lists.has_pre_reform:
        assert lists.old_communes["21214"] == Commune("21214", "Xã Tịnh Long", "51", "522")
        assert lists.successors["21214"] == ("21211",)
        assert lists.old_districts["086"].province == "10"
    else:
        assert not lists.old_districts and not lists.successors


# --- validation with the pre-reform lists -----------------------------------------------------


def test_retired_commune_stays_valid_and_links_to_todays_commune(lists):
    check = validate(SEED, today=TODAY, lists=lists)
    assert check.code == SEED
    assert (check.commune.code, check.commune.name) == ("21214", "Xã Tịnh Long")
    now = check.current_commune
    assert (now.code, now.name, now.province) == ("21211", "Xã Tịnh Khê", "51")
    assert check.retired
    assert check.notes[0].vi == (
        "xã 21214 (Xã Tịnh Long) đã sáp nhập vào 21211 (Xã Tịnh Khê) từ 1/7/2025; mã vẫn hợp lệ"
    )
    assert "merged into 21211 (Xã Tịnh Khê) on 1 July 2025" in check.notes[0].en


def test_commune_that_kept_its_code(lists):
    check = validate(GIA_PHU.lower(), today=TODAY, lists=lists)
    assert check.code == GIA_PHU
    assert check.commune == Commune("02923", "Xã Gia Phú", "10", "086")
    assert check.current_commune == Commune("02923", "Xã Gia Phú", "15")
    assert not check.retired and check.notes == ()


def test_split_commune_lists_every_successor(lists):
    check = validate("VN-01-001-00007-01-24", today=TODAY, lists=lists)
    assert [c.code for c in check.current_communes] == ["00008", "00025"]
    assert check.current_commune.code == "00008" and check.retired
    assert "split between 00008 (Phường Ngọc Hà), 00025 (Phường Giảng Võ)" in check.notes[0].en


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("VN-99-522-21214-13-24", "no province has code 99"),
        ("VN-03-522-21214-13-24", "no province has code 03"),
        ("VN-10-522-21214-13-24", "district 522 (Thành phố Quảng Ngãi) is in province 51, not 10"),
        ("VN-51-999-21214-13-24", "no district has code 999"),
        ("VN-51-524-21214-13-24",
         "commune 21214 (Xã Tịnh Long) is in district 522, province 51, not district 524"),
        ("VN-10-086-21214-13-24", "is in district 522, province 51, not district 086"),
        ("VN-51-522-21299-13-24", "no commune has code 21299 in the list before 1 July 2025"),
        ("VN-51-522-21214-13-26", "the year of issue 2026 is in the future (today is 2025-11-01)"),
        ("VN-51-522-21214-13-14", "the year of issue 2014 is before 2015"),
        ("VN-51-522-21214-13-00", "the year of issue 2000 is before 2015"),
        ("VN-51-522-21214-00-24", "the serial must be 1 or more"),
    ],
)  # fmt: skip
def test_invalid_codes_say_why(lists, code, expected):
    err = refused(code, lists=lists)
    assert expected in err.en
    assert err.vi.startswith(f"Mã số vùng trồng '{code}' không hợp lệ: ")
    assert err.hint_vi and err.hint_en and SEED in err.hint_en


def test_every_problem_is_listed_in_one_error(lists):
    err = refused("VN-10-522-21214-00-30", lists=lists)
    assert len(err.details) == 3
    assert err.details[0].startswith("năm cấp 2030 chưa tới (hôm nay là 01/11/2025) / ")
    assert err.details[1] == "số thứ tự phải từ 1 trở lên / the serial must be 1 or more"
    assert "huyện 522 (Thành phố Quảng Ngãi) thuộc tỉnh 51, không thuộc tỉnh 10" in err.details[2]


def test_future_depends_on_today(lists):
    assert validate("VN-51-522-21214-13-26", today=dt.date(2026, 1, 2), lists=lists)
    assert validate(SEED, lists=lists).code == SEED  # today by default


# --- validation without pre-reform lists ------------------------------------------------------


def test_without_pre_reform_lists_district_and_commune_go_unchecked():
    check = validate(SEED, today=TODAY, lists=today_only())
    assert check.commune is None and check.current_commune is None
    assert "district and commune not checked" in check.notes[0].en
    assert "chưa kiểm tra huyện và xã" in check.notes[0].vi
    kept = validate(GIA_PHU, today=TODAY, lists=today_only())
    assert kept.current_commune == Commune("02923", "Xã Gia Phú", "15")
    assert "no province has code 99" in refused("VN-99-086-02923-05-25", lists=today_only()).en


# --- a post-reform layout (no district) -------------------------------------------------------


def test_post_reform_layout_checks_todays_list():
    check = validate("vn-51-21211-001-25", layout=POST_REFORM, today=TODAY)
    assert check.code == "VN-51-21211-001-25"
    assert check.current_commune == check.commune == Commune("21211", "Xã Tịnh Khê", "51")
    assert not check.retired and check.notes == ()


@pytest.mark.parametrize(
    ("code", "lists", "expected"),
    [
        ("VN-10-02923-001-25", today_only, "commune 02923 (Xã Gia Phú) is in province 15, not 10"),
        ("VN-51-21214-001-25", today_only, "no commune has code 21214 in today's list"),
        ("VN-51-21214-001-25", sample_pre_reform,
         "commune 21214 no longer exists since 1 July 2025 (now part of 21211 (Xã Tịnh Khê))"),
        ("VN-51-21211-01-25", today_only, "the serial part '01' must be 3–4 digits"),
    ],
)  # fmt: skip
def test_post_reform_layout_refusals(code, lists, expected):
    err = refused(code, layout=POST_REFORM, lists=lists())
    assert expected in err.en
    assert "VN-51-21211-013-24" in err.hint_en


# --- new codes --------------------------------------------------------------------------------


def test_next_code_takes_the_pre_reform_district(lists):
    assert next_code("02923", 2025, 3, lists=lists) == "VN-10-086-02923-03-25"
    assert next_code("21211", 2025, 14, lists=lists) == "VN-51-522-21211-14-25"
    assert validate(next_code("02923", 2025, 3, lists=lists), today=TODAY, lists=lists)


def test_new_codes_name_todays_province_and_no_district(lists):
    """Issue 14: a code issued today never embeds a unit that no longer exists."""
    code = next_code("02923", 2025, 3, layout=ISSUE_LAYOUT, lists=lists)
    assert code == "VN-15-02923-03-25"  # Lào Cai is 15 since July 2025 (it was 10)
    both = (ISSUE_LAYOUT, DEFAULT_LAYOUT)
    new = validate_any(code, layouts=both, today=TODAY, lists=lists)
    assert new.parsed.province == "15" and new.parsed.district is None
    old = validate_any("VN-51-522-21214-13-24", layouts=both, today=TODAY, lists=lists)
    assert old.code == "VN-51-522-21214-13-24" and old.commune.code == "21214"
    with pytest.raises(InvalidInput) as bad:
        validate_any("VN-15-0292-03-26", layouts=both, today=TODAY, lists=lists)
    assert "5 digits" in bad.value.message("en")


def test_next_code_with_district_and_province_given_needs_no_list():
    assert next_code("21211", 2025, 1, district="522", province="51") == "VN-51-522-21211-01-25"
    assert next_code("21211", 2025, 1234, district="522", province="51").endswith("-1234-25")


def test_next_code_for_the_post_reform_layout():
    assert next_code("21211", 2025, 7, layout=POST_REFORM) == "VN-51-21211-007-25"
    assert next_code("02923", 2026, 12, layout=POST_REFORM) == "VN-15-02923-012-26"


def test_next_code_refuses_a_retired_commune(lists):
    with pytest.raises(InvalidInput) as info:
        next_code("21214", 2025, 1, lists=lists)
    assert "commune 21214 is not in today's list (today's commune: 21211 (Xã Tịnh Khê))" in (
        info.value.en
    )


def test_next_code_without_pre_reform_lists_asks_for_the_district():
    with pytest.raises(InvalidInput) as info:
        next_code("02923", 2025, 1, lists=today_only())
    err = info.value
    assert re.search(r"needs the old district and province of commune 02923", err.en)
    assert "vietnam-provinces 2026.2" in err.en and "cần mã huyện" in err.vi
    assert "district=" in err.hint_en and "district=" in err.hint_vi


@pytest.mark.parametrize(("serial", "expected"), [(0, "1 or more"), (10000, "must be 2–4 digits")])
def test_next_code_refuses_bad_serials(serial, expected):
    with pytest.raises(InvalidInput) as info:
        next_code("21211", 2025, serial, district="522", province="51")
    assert expected in info.value.en
