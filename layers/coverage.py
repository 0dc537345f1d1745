"""Telecom coverage (vùng phủ sóng): mobile 2G–5G and fibre by operator, import mapping."""

from __future__ import annotations

from typing import Any

from geo.values import fold, parse_choice, parse_date, parse_text

from .schema import Field, LayerSpec

TECHNOLOGY_WORDS = {
    "2g": "2G", "gsm": "2G",
    "3g": "3G", "umts": "3G", "wcdma": "3G",
    "4g": "4G", "lte": "4G", "4g lte": "4G",
    "5g": "5G", "nr": "5G",
    "fibre": "fibre", "fiber": "fibre", "cap quang": "fibre", "ftth": "fibre", "internet cap quang": "fibre",
}  # fmt: skip
OPERATOR_NAMES = {"viettel": "Viettel", "vnpt": "VNPT", "vinaphone": "VNPT", "mobifone": "MobiFone",
                  "vietnamobile": "Vietnamobile", "gmobile": "Gmobile", "fpt": "FPT", "cmc": "CMC"}  # fmt: skip


def _operator(value: Any) -> str | None:
    text = parse_text(value)
    return None if text is None else OPERATOR_NAMES.get(fold(text), text)


SPEC = LayerSpec(
    name="coverage",
    table="coverage",
    kind="polygon",
    title_vi="Vùng phủ sóng",
    fields=(
        Field(
            "operator",
            "text",
            ("nha_mang", "nhamang", "doanh_nghiep", "name"),
            _operator,
            True,
            "nhà mạng",
        ),
        Field(
            "technology",
            "text",
            ("cong_nghe", "congnghe", "loai_song", "tech"),
            lambda v: parse_choice(v, TECHNOLOGY_WORDS),
            True,
            "công nghệ",
        ),
        Field("source", "text", ("nguon", "nguon_du_lieu"), parse_text, False, "nguồn"),
        Field(
            "observed_on",
            "date",
            ("ngay_do", "ngay", "ngay_khao_sat"),
            parse_date,
            False,
            "ngày đo",
        ),
    ),
    sql_file="coverage.sql",
)
