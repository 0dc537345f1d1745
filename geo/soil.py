"""Soil fertility grading (phân cấp độ phì): map a measured value to its grade with a table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .values import fold

PROPERTY_WORDS = {
    "ph": "ph_kcl", "ph kcl": "ph_kcl", "phkcl": "ph_kcl", "ph_kcl": "ph_kcl",
    "om": "om", "chat huu co": "om", "huu co": "om", "mun": "om",
    "oc": "oc", "carbon huu co": "oc",
    "n": "n", "nts": "n", "dam tong so": "n", "dam": "n",
    "p2o5": "p2o5", "lan tong so": "p2o5", "p2o5 dt": "p2o5_available", "lan de tieu": "p2o5_available",
    "k2o": "k2o", "kali tong so": "k2o", "k2o dt": "k2o_available", "kali de tieu": "k2o_available",
    "cec": "cec",
}  # fmt: skip


def property_key(name: str) -> str:
    """Canonical key of a soil property: "pH KCl" -> "ph_kcl", "Chất hữu cơ" -> "om".

    >>> property_key("pH_KCl"), property_key("OM")
    ('ph_kcl', 'om')
    """
    key = fold(name).replace("_", " ")
    if key in PROPERTY_WORDS:
        return PROPERTY_WORDS[key]
    if key.replace(" ", "_") in PROPERTY_WORDS.values():
        return key.replace(" ", "_")
    raise ValueError(
        f"'{name}' is not a known soil property ({', '.join(sorted(set(PROPERTY_WORDS.values())))})"
    )


def grade(value: float | None, classes: Sequence[Mapping[str, Any]]) -> str | None:
    """The grade whose [min, max) range holds ``value``; ``classes`` come from a config table.

    >>> table = [{"min": 6.0, "grade": "rất giàu"}, {"min": 4.3, "max": 6.0, "grade": "giàu"}]
    >>> grade(5.0, table), grade(None, table), grade(1.0, table) is None
    ('giàu', None, True)
    """
    if value is None:
        return None
    for cls in classes:
        low = cls.get("min", float("-inf"))
        high = cls.get("max", float("inf"))
        if low <= value < high:
            return str(cls["grade"])
    return None
