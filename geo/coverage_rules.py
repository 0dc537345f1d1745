"""Coverage rules (quy tắc phủ sóng): which technologies count, when a village is covered,
percentages and verdicts against targets. Pure arithmetic; the numbers come from layers/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .errors import InvalidInput

MOBILE = ("2G", "3G", "4G", "5G")
TECHNOLOGIES = (*MOBILE, "fibre")
MOBILE_BROADBAND = ("4G", "5G")

Status = Literal["covered", "partly", "not_covered"]


def technologies_at_least(technology: str) -> tuple[str, ...]:
    """The technologies that serve a request for ``technology``: a mobile generation or any
    newer one (a 5G household has 4G service), fibre only itself.

    >>> technologies_at_least("4G")
    ('4G', '5G')
    >>> technologies_at_least("fibre")
    ('fibre',)
    >>> technologies_at_least("6G")
    Traceback (most recent call last):
    geo.errors.InvalidInput: Unknown technology '6G'.
    """
    if technology in MOBILE:
        return MOBILE[MOBILE.index(technology) :]
    if technology == "fibre":
        return ("fibre",)
    raise InvalidInput(
        f"Không có công nghệ '{technology}'.",
        f"Unknown technology '{technology}'.",
        hint_vi="Chọn một trong: " + ", ".join(TECHNOLOGIES) + ".",
        hint_en="Choose one of: " + ", ".join(TECHNOLOGIES) + ".",
    )


@dataclass(frozen=True)
class VillageRule:
    """A village (thôn) is covered when at least ``covered_share`` of its households are
    served, partly covered from ``partly_share`` up to that, not covered below it. A village is
    a dead zone (thôn lõm sóng) when fewer than ``dead_zone_share`` of its households have
    mobile broadband, even if coverage touches it.

    >>> VillageRule().status(households=10, served=9)
    'covered'
    >>> VillageRule().status(households=0, served=0) is None  # no households: not counted
    True
    >>> VillageRule().dead_zone(households=157, served=23), VillageRule().dead_zone(households=4, served=2)
    (True, False)
    """

    covered_share: float = 0.9
    partly_share: float = 0.01
    dead_zone_share: float = 0.5

    def __post_init__(self) -> None:
        if not (0 < self.dead_zone_share <= 1):
            raise InvalidInput(
                "Ngưỡng thôn lõm sóng không hợp lệ: cần 0 < ngưỡng ≤ 1.",
                "Invalid dead-zone threshold: need 0 < share ≤ 1.",
                hint_vi=f"Đã nhận: {self.dead_zone_share}; mặc định 0,5 (đa số hộ không có 4G).",
                hint_en=f"Got: {self.dead_zone_share}; the default is 0.5 (most households lack 4G).",
            )
        if not (0 < self.partly_share <= self.covered_share <= 1):
            raise InvalidInput(
                "Ngưỡng phủ sóng không hợp lệ: cần 0 < ngưỡng một phần ≤ ngưỡng phủ ≤ 1.",
                "Invalid coverage thresholds: need 0 < partly share ≤ covered share ≤ 1.",
                hint_vi=f"Đã nhận: {self.partly_share}, {self.covered_share}.",
                hint_en=f"Got: {self.partly_share}, {self.covered_share}.",
            )

    def status(self, *, households: int, served: int) -> Status | None:
        if households <= 0:
            return None
        # Integer comparison: 9 of 10 is exactly 90 %, whatever the float rounding says.
        if served >= self.covered_share * households - 1e-9:
            return "covered"
        if served >= self.partly_share * households - 1e-9:
            return "partly"
        return "not_covered"

    def dead_zone(self, *, households: int, served: int) -> bool | None:
        """True when fewer than ``dead_zone_share`` of the households are served; None when
        the village has no households (not counted)."""
        if households <= 0:
            return None
        return served < self.dead_zone_share * households - 1e-9


def percent(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in per cent to one decimal; None when there is no whole.

    >>> percent(12, 14), percent(0, 0)
    (85.7, None)
    """
    return None if whole <= 0 else round(100.0 * part / whole, 1)


def verdict(value: float | None, target: float | None, comparison: str) -> bool | None:
    """Met (True), not met (False), or not judged (None: no value or no target).

    >>> verdict(85.7, 100, ">="), verdict(0, 0, "<="), verdict(81.3, None, ">=")
    (False, True, None)
    """
    if value is None or target is None:
        return None
    return value >= target if comparison == ">=" else value <= target
