"""Growing areas (vùng trồng) with their growing-area codes (mã số vùng trồng): import mapping."""

from __future__ import annotations

import re
from typing import Any

from geo.values import fold, parse_choice, parse_date, parse_integer, parse_number, parse_text

from .schema import Field, LayerSpec

STATUS_WORDS = {
    "active": "active",
    "hoat dong": "active",
    "dang hoat dong": "active",
    "con hieu luc": "active",
    "suspended": "suspended",
    "tam dung": "suspended",
    "tam dinh chi": "suspended",
    "dinh chi": "suspended",
    "revoked": "revoked",
    "thu hoi": "revoked",
    "da thu hoi": "revoked",
    "huy": "revoked",
}

# An owner written like this is an organisation, which may be shown publicly; anything else
# is taken to be a person's name, which is personal data (Law 91/2025/QH15).
_ORGANISATION = re.compile(
    r"^(htx|hop tac xa|to hop tac|tht|cong ty|cty|doanh nghiep|dn|tong cong ty|"
    r"trung tam|vien|tram|ban quan ly|nong truong|lam truong|hiep hoi|chi hoi|hoi)\b"
)


def is_organisation(name: str) -> bool:
    """True for "HTX Nông nghiệp Gia Phú", "Công ty TNHH ..."; False for "Nguyễn Văn A"."""
    return bool(_ORGANISATION.match(fold(name)))


def _code(value: Any) -> str | None:
    text = parse_text(value)
    if text is None:
        return None
    text = re.sub(r"\s+", "", text).upper()
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9\-./]{2,63}", text):
        raise ValueError(f"'{value}' is not a growing-area code (e.g. VN-51-522-21214-13-24)")
    return text


def _area(value: Any) -> float | None:
    area = parse_number(value)
    if area is not None and area <= 0:
        raise ValueError(f"area {value} must be greater than 0 ha")
    return area


def _members(value: Any) -> int | None:
    n = parse_integer(value)
    if n is not None and n < 0:
        raise ValueError(f"member households {value} cannot be negative")
    return n


def split_owner(row: dict[str, Any]) -> dict[str, Any]:
    owner = row.pop("owner", None)
    org = owner is not None and is_organisation(owner)
    return {
        "cooperative": owner if org else None,
        "owner_name": None if org else owner,
    }


SPEC = LayerSpec(
    name="growing_areas",
    table="growing_area",
    kind="polygon",
    title_vi="Vùng trồng",
    fields=(
        Field(
            "code",
            "text",
            ("ma_vung", "ma_so_vung_trong", "msvt", "ma_vung_trong"),
            _code,
            True,
            "mã số vùng trồng",
        ),
        Field("crop", "text", ("cay_trong", "caytrong", "loai_cay"), parse_text, True, "cây trồng"),
        Field(
            "area_ha",
            "numeric",
            ("dien_tich", "dientich", "dt_ha", "area"),
            _area,
            False,
            "diện tích (ha)",
        ),
        Field(
            "owner",
            "text",
            ("chu_so_huu", "chu_so_hu", "dai_dien", "to_chuc", "htx"),
            parse_text,
            False,
            "chủ sở hữu / tổ chức đại diện",
        ),
        Field(
            "member_households",
            "integer",
            ("so_ho", "soho", "so_ho_tham_gia"),
            _members,
            False,
            "số hộ",
        ),
        Field(
            "status",
            "text",
            ("trang_thai", "trangthai"),
            lambda v: parse_choice(v, STATUS_WORDS),
            False,
            "trạng thái",
        ),
        Field(
            "issued_on", "date", ("ngay_cap", "ngaycap", "issued"), parse_date, False, "ngày cấp"
        ),
    ),
    sql_file="growing_areas.sql",
    unique=("code",),
    derive=split_owner,
    extra_columns=(("cooperative", "text"), ("owner_name", "text")),
)
