"""Telecom coverage (vùng phủ sóng): mobile 2G–5G and fibre by operator, import mapping.

Each import of an operator and technology becomes a dated version (coverage_version,
migration 0008): valid from the latest ``observed_on`` of its rows, else the import day.
"""

from __future__ import annotations

from typing import Any

from geo.values import fold, parse_choice, parse_date, parse_text

from .schema import Column, Layer, Reference

TECHNOLOGY_WORDS = {
    "2g": "2G", "gsm": "2G",
    "3g": "3G", "umts": "3G", "wcdma": "3G",
    "4g": "4G", "lte": "4G", "4g lte": "4G",
    "5g": "5G", "nr": "5G",
    "fibre": "fibre", "fiber": "fibre", "cap quang": "fibre", "ftth": "fibre", "internet cap quang": "fibre",
}  # fmt: skip
OPERATOR_NAMES = {"viettel": "Viettel", "vnpt": "VNPT", "vinaphone": "VNPT", "mobifone": "MobiFone",
                  "vietnamobile": "Vietnamobile", "gmobile": "Gmobile", "fpt": "FPT", "cmc": "CMC"}  # fmt: skip


def _tier(value: Any) -> str | None:
    text = parse_text(value)
    return None if text is None else text.lower()


def _operator(value: Any) -> str | None:
    text = parse_text(value)
    return None if text is None else OPERATOR_NAMES.get(fold(text), text)


LAYER = Layer(
    id="coverage",
    table="coverage",
    geometry_type="MultiPolygon",
    title_vi="Vùng phủ sóng viễn thông",
    title_en="Telecom coverage",
    description_vi="Vùng phủ sóng di động 2G/3G/4G/5G và cáp quang theo nhà mạng.",
    description_en="Mobile (2G-5G) and fibre coverage by operator.",
    columns=(
        Column("operator", "text", "Nhà mạng", "Operator", _operator,
               ("nha_mang", "nhamang", "doanh_nghiep", "name"), required=True, public=True,
               popup=1),
        Column("technology", "text", "Công nghệ", "Technology",
               lambda v: parse_choice(v, TECHNOLOGY_WORDS),
               ("cong_nghe", "congnghe", "loai_song", "tech"), required=True, public=True,
               popup=2),
        Column("source", "text", "Nguồn", "Source", parse_text, ("nguon", "nguon_du_lieu"),
               public=True),
        Column("observed_on", "date", "Ngày đo", "Observed on", parse_date,
               ("ngay_do", "ngay", "ngay_khao_sat"), public=True),
        # A code of coverage_tier (migration 0008), e.g. qcvn81-z1, fcc-4g; empty: no tier stated.
        Column("tier", "text", "Cấp dịch vụ", "Service tier", _tier,
               ("tier", "cap_dich_vu", "muc_dich_vu", "cap"), public=True, popup=3),
    ),
    sql_file="coverage.sql",
    references=(Reference("tier", "coverage_tier", "code", "cấp dịch vụ"),),
)  # fmt: skip
