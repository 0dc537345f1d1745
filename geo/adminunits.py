"""Administrative units (đơn vị hành chính) that growing-area codes are checked against: today's
34 provinces and their communes, the pre-reform provinces, districts and communes, and which
new commune each old one became (from the ``vietnam-provinces`` package)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from vietnam_provinces import Province, Ward

# The 63 provinces before the reform (statistics office codes): the fallback when the installed
# vietnam-provinces has no pre-reform list (releases before 2026.2 list today's 34 only).
PRE_REFORM_PROVINCE_CODES = frozenset(
    "01 02 04 06 08 10 11 12 14 15 17 19 20 22 24 25 26 27 30 31 33 34 35 36 37 38 40 42 44 45 46 "
    "48 49 51 52 54 56 58 60 62 64 66 67 68 70 72 74 75 77 79 80 82 83 84 86 87 89 91 92 93 94 95 96".split()
)  # fmt: skip


@dataclass(frozen=True)
class District:
    """A district (huyện, quận, thị xã, thành phố thuộc tỉnh) from before the 2025 reform."""

    code: str
    name: str
    province: str


@dataclass(frozen=True)
class Commune:
    """A commune or ward (xã, phường): today's, or a pre-reform one with its ``district``."""

    code: str
    name: str
    province: str
    district: str | None = None

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"


@dataclass(frozen=True)
class AdminLists:
    """The administrative units (đơn vị hành chính) codes are checked against.

    ``provinces`` and ``communes`` are today's (34 provinces since 1 July 2025), ``old_*`` the
    pre-reform ones, and ``successors`` maps a pre-reform commune code to today's commune codes
    (several when it was split). Without ``old_communes`` the district and retired communes
    go unchecked and a note says so.
    """

    provinces: Mapping[str, str]
    communes: Mapping[str, Commune]
    old_provinces: Mapping[str, str] = field(default_factory=dict)
    old_districts: Mapping[str, District] = field(default_factory=dict)
    old_communes: Mapping[str, Commune] = field(default_factory=dict)
    successors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def has_pre_reform(self) -> bool:
        return bool(self.old_communes)

    def today(self, code: str) -> tuple[Commune, ...]:
        """Today's communes for a commune code: its successors, or itself if it kept its code."""
        codes = self.successors.get(code) or ((code,) if code in self.communes else ())
        return tuple(self.communes[c] for c in codes if c in self.communes)


def _code(value: object, width: int) -> str:
    return f"{int(value):0{width}d}"  # type: ignore[call-overload]


@cache
def package_lists() -> AdminLists:
    """The lists of the ``vietnam-provinces`` package, built once (about 1.5 s with pre-reform data).

    Today's lists come from ``Province``/``Ward``; the pre-reform ones from
    ``vietnam_provinces.legacy`` and the old -> new mapping from ``Ward.get_legacy_sources()``
    (the statistics office's conversion table), both only in releases from 2026.2 on. With an
    older release only the 63 pre-reform province codes are known (``PRE_REFORM_PROVINCE_CODES``).
    """
    provinces = {_code(p.code, 2): p.name for p in Province.iter_all()}
    communes = {
        _code(w.code, 5): Commune(_code(w.code, 5), w.name, _code(w.province_code, 2))
        for w in Ward.iter_all()
    }
    try:
        legacy = importlib.import_module("vietnam_provinces.legacy")
    except ImportError:
        return AdminLists(provinces, communes, dict.fromkeys(PRE_REFORM_PROVINCE_CODES, ""))
    districts = {
        _code(d.code, 3): District(_code(d.code, 3), d.name, _code(d.province_code, 2))
        for d in legacy.District.iter_all()
    }
    old_communes = {}
    for w in legacy.Ward.iter_all():
        d = districts[_code(w.district_code, 3)]
        old_communes[_code(w.code, 5)] = Commune(_code(w.code, 5), w.name, d.province, d.code)
    successors: dict[str, tuple[str, ...]] = {}
    for w in Ward.iter_all():
        for old in w.get_legacy_sources():
            successors[_code(old.code, 5)] = (
                *successors.get(_code(old.code, 5), ()),
                _code(w.code, 5),
            )
    old_provinces = {_code(p.code, 2): p.name for p in legacy.Province.iter_all()}
    return AdminLists(provinces, communes, old_provinces, districts, old_communes, successors)
