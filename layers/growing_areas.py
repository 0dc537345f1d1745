"""Growing areas (vùng trồng) with their growing-area codes (mã số vùng trồng): the layer's
schema (columns, import aliases, export names) and its value parsers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from geo.exports import ExportFeature, ExportField, export, export_crs
from geo.values import fold, parse_choice, parse_date, parse_integer, parse_number, parse_text

from .schema import Column, Layer

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


def split_owner(row: dict[str, Any]) -> dict[str, Any]:
    owner = row.pop("owner", None)
    org = owner is not None and is_organisation(owner)
    return {
        "cooperative": owner if org else None,
        "owner_name": None if org else owner,
    }


# Registry fields (records, exports, checks) come from this one list.
LAYER = Layer(
    id="growing_areas",
    table="growing_area",
    geometry_type="MultiPolygon",
    title_vi="Vùng trồng",
    title_en="Growing areas",
    description_vi="Vùng trồng đã được cấp mã số vùng trồng.",
    description_en="Growing areas with their growing-area codes.",
    columns=(
        Column("code", "text", "Mã số vùng trồng", "Growing-area code", _code,
               ("ma_vung", "ma_so_vung_trong", "msvt", "ma_vung_trong"), required=True,
               public=True, export_name="MA_VUNG", popup=1),
        Column("crop", "text", "Cây trồng", "Crop", parse_text,
               ("cay_trong", "caytrong", "loai_cay"), required=True, public=True, editable=True,
               export_name="CAY_TRONG", popup=2),
        Column("area_ha", "numeric", "Diện tích (ha)", "Area (ha)", _area,
               ("dien_tich", "dientich", "dt_ha", "area"), public=True, export_name="DIEN_TICH",
               popup=3),
        # Entered as one "owner" (imports; the registry's old name, still taken): an
        # organisation is public (cooperative), a person is not (owner_name). The registry also
        # takes cooperative and owner_name by the names its records return them under.
        Column("owner", "text", "Chủ sở hữu / tổ chức đại diện",
               "Owner / representing organisation",
               parse_text, ("chu_so_huu", "chu_so_hu", "dai_dien", "to_chuc", "htx"),
               editable=True, stored=False, label="chủ sở hữu"),
        Column("cooperative", "text", "Tổ chức đại diện (HTX)", "Representative organisation",
               parse_text, public=True, editable=True, export_name="HTX"),
        Column("owner_name", "text", "Chủ hộ (cá nhân)", "Owner (person)", parse_text,
               editable=True),
        Column("member_households", "integer", "Số hộ tham gia", "Member households",
               parse_integer, ("so_ho", "soho", "so_ho_tham_gia"), public=True, editable=True,
               export_name="SO_HO", label="số hộ", non_negative=True),
        Column("status", "text", "Trạng thái", "Status", lambda v: parse_choice(v, STATUS_WORDS),
               ("trang_thai", "trangthai"), public=True, export_name="TRANG_THAI", popup=4),
        Column("status_reason", "text", "Lý do tạm dừng/thu hồi", "Suspension/revocation reason",
               public=True),
        Column("status_changed_on", "date", "Ngày đổi trạng thái", "Status changed on",
               public=True),
        Column("issued_on", "date", "Ngày cấp", "Issued on", parse_date,
               ("ngay_cap", "ngaycap", "issued"), public=True, editable=True,
               export_name="NGAY_CAP"),
        Column("commune_code", "text", "Mã xã", "Commune code", public=True, export_name="MA_XA"),
        # Names for exports, from the unit tables (not stored on the area): the commune, the
        # village holding most of the area, and the province.
        Column("commune_name", "text", "Xã", "Commune", stored=False, export_name="TEN_XA"),
        Column("village_code", "text", "Mã thôn", "Village code", stored=False,
               export_name="MA_THON"),
        Column("village_name", "text", "Thôn", "Village", stored=False, export_name="TEN_THON"),
        Column("province_name", "text", "Tỉnh", "Province", stored=False,
               export_name="TEN_TINH"),
        Column("version", "integer", "Phiên bản", "Version", public=True,
               export_name="PHIEN_BAN"),
        # Free text of the officers: in the registry record, not in the public collection.
        Column("note", "text", "Ghi chú", "Note", editable=True),
        Column("producer_country", "text", "Quốc gia sản xuất", "Country of production",
               stored=False, export_name="QUOC_GIA"),
    ),
    sql_file="growing_areas.sql",
    unique=("code",),
    derive=split_owner,
    derived_columns=("cooperative", "owner_name"),
    placed_in="commune",
    # A plot of 0.1–2 ha is under a screen pixel up to z11; drawn one by one, z8–10 tiles
    # of a province with 50,000 plots were 0.4–1.6 MB and took 0.2–0.4 s.
    aggregate_below_zoom=12,
    aggregate_total="area_ha",
)  # fmt: skip

# Personal data among the registry's fields: an owner who is a person (Law 91/2025/QH15).
PERSONAL_COLUMNS: tuple[str, ...] = ("owner_name",)
# The registry's record of one area: every public column and the officers' note (not personal).
RECORD_COLUMNS: tuple[str, ...] = (
    "id",
    *(c.name for c in LAYER.properties),
    *(c.name for c in LAYER.editable
      if c.stored and not c.public and c.name not in PERSONAL_COLUMNS),
)  # fmt: skip
# What an officer who writes gets back: the record and its personal fields, under the names
# the registry takes them by.
OFFICER_RECORD_COLUMNS: tuple[str, ...] = (*RECORD_COLUMNS, *PERSONAL_COLUMNS)
# Export fields in export order; geo.exports writes them (it knows no layer).
EXPORT_FIELDS: tuple[ExportField, ...] = tuple(
    ExportField(c.name, c.export_name or c.name, c.export_kind, c.title_vi)  # type: ignore[arg-type]
    for c in LAYER.exported
)
EXPORT_COLUMNS: tuple[str, ...] = tuple(f.key for f in EXPORT_FIELDS if LAYER.column(f.key).stored)


def export_areas(
    features: Sequence[ExportFeature],
    fmt: str,
    *,
    title: str,
    crs: str | None = None,
    **options: Any,
):
    """Growing areas as one export file (``geo.exports.FORMATS``) with this layer's fields.

    ``crs`` is what the person asked for (``geo.exports.export_crs``: None or ``wgs84``,
    ``vn2000`` for the areas' province zone, or an EPSG code); it is checked before any work.
    """
    chosen = export_crs(crs, provinces=[f.properties.get("province_name") for f in features])
    return export(features, fmt, title=title, fields=EXPORT_FIELDS, crs=chosen, **options)
