"""Soil fertility grading (phân cấp độ phì): class tables, one per property and unit.

A class table (bảng phân cấp) is configuration, not code: ``layers/soil_classes.json`` holds
the defaults. One table drives tile colours, the legend, graded zones, statistics and advice.
Each class states its bounds with their inclusivity (``gt``/``ge`` below, ``lt``/``le`` above),
because the Vietnamese tables mix them ("very rich > 6", "very poor < 1.0").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InvalidInput
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
PROPERTIES = tuple(sorted(set(PROPERTY_WORDS.values())))

_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def property_key(name: str) -> str:
    """Canonical key of a soil property: "pH KCl" -> "ph_kcl", "Chất hữu cơ" -> "om".

    >>> property_key("pH_KCl"), property_key("OM"), property_key("p2o5_available")
    ('ph_kcl', 'om', 'p2o5_available')
    """
    key = fold(name).replace("_", " ").strip()
    if key in PROPERTY_WORDS:
        return PROPERTY_WORDS[key]
    if key.replace(" ", "_") in PROPERTY_WORDS.values():
        return key.replace(" ", "_")
    raise ValueError(f"'{name}' is not a known soil property ({', '.join(PROPERTIES)})")


def unit_key(unit: str) -> str:
    """A unit as the tables spell it: "mg/100 g" -> "mg/100g", "PH" -> "pH", "% " -> "%".

    >>> unit_key(" mg / 100 g "), unit_key("ph"), unit_key("meq/100g")
    ('mg/100g', 'pH', 'meq/100g')
    """
    text = re.sub(r"\s+", "", unit or "")
    if text.lower() == "ph":
        return "pH"
    if text.lower() in {"ph×10", "phx10", "ph*10"}:
        return "pH×10"
    return text


def unit_label(unit: str) -> str:
    """How a unit is printed after a number: "mg/100g" -> "mg/100 g"."""
    return {"mg/100g": "mg/100 g", "meq/100g": "meq/100 g", "cmol/kg": "cmol(+)/kg"}.get(unit, unit)


@dataclass(frozen=True)
class SoilClass:
    """One grade (cấp) of a class table: bounds with inclusivity, colour and labels."""

    grade: str
    label_en: str
    colour: str
    low: float = -math.inf
    low_inclusive: bool = False
    high: float = math.inf
    high_inclusive: bool = False

    def holds(self, value: float) -> bool:
        above = value >= self.low if self.low_inclusive else value > self.low
        below = value <= self.high if self.high_inclusive else value < self.high
        return above and below

    def range_text(self, unit: str) -> str:
        """The class's range as printed in a legend: "> 6 %", "4,3 – 6 %", "< 1 %"."""
        if math.isinf(self.low):
            text = f"{'≤' if self.high_inclusive else '<'} {_num(self.high)}"
        elif math.isinf(self.high):
            text = f"{'≥' if self.low_inclusive else '>'} {_num(self.low)}"
        else:
            text = f"{_num(self.low)} – {_num(self.high)}"
        return with_unit(text, unit)


def _num(x: float) -> str:
    text = f"{x:.4f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


def vi_number(value: float, decimals: int) -> str:
    """1234.5 -> "1.234,50" (Vietnamese: dot for thousands, comma for decimals)."""
    text = f"{value:,.{decimals}f}"
    if text.lstrip("-").strip("0.,") == "":  # -0.00 is 0,00
        text = text.lstrip("-")
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def with_unit(text: str, unit: str) -> str:
    """A number's text with its unit: "pH 4,8", "2,35 %", "12,1 mg/100 g"."""
    if unit == "pH":
        return f"pH {text}"
    return f"{text} {unit_label(unit)}"


@dataclass(frozen=True)
class ClassTable:
    """The class table of one property in one unit, with where its thresholds come from."""

    property: str
    unit: str
    label_vi: str
    label_en: str
    source: str
    classes: tuple[SoilClass, ...]
    decimals: int = 2
    source_vi: str = ""  # the source in Vietnamese, for pages (``source`` when empty)
    depth_cm: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.property, self.unit

    def grade(self, value: float | None) -> str | None:
        """The grade holding ``value`` (None for None or NaN).

        >>> t = class_table({"property": "om", "unit": "%", "label_vi": "OM", "source": "x",
        ...   "classes": [{"grade": "nghèo", "lt": 2, "colour": "#fdae61"},
        ...               {"grade": "giàu", "ge": 2, "colour": "#1a9641"}]})
        >>> t.grade(1.99), t.grade(2.0), t.grade(None), t.grade(float("nan"))
        ('nghèo', 'giàu', None, None)
        """
        index = self.index(value)
        return None if index is None else self.classes[index].grade

    def index(self, value: float | None) -> int | None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        for i, cls in enumerate(self.classes):
            if cls.holds(float(value)):
                return i
        return None  # unreachable for a checked table, which covers every number

    def classify(self, values: np.ndarray) -> np.ndarray:
        """The class index (0 = lowest) of every value, -1 for NaN; vectorised."""
        values = np.asarray(values, dtype="float64")
        out = np.full(values.shape, -1, dtype="int16")
        for i, cls in enumerate(self.classes):
            above = values >= cls.low if cls.low_inclusive else values > cls.low
            below = values <= cls.high if cls.high_inclusive else values < cls.high
            out[above & below] = i
        return out

    def format(self, value: float | None) -> str:
        """A value with its unit, Vietnamese decimal comma: "2,35 %", "pH 4,82"."""
        if value is None or math.isnan(value):
            return "—"
        return with_unit(vi_number(value, self.decimals), self.unit)

    def legend(self) -> list[dict[str, Any]]:
        """[{grade, label_en, range, colour, min, max}] from the lowest class to the highest."""
        return [
            {
                "grade": c.grade,
                "label_en": c.label_en,
                "range": c.range_text(self.unit),
                "colour": c.colour,
                "min": None if math.isinf(c.low) else c.low,
                "max": None if math.isinf(c.high) else c.high,
            }
            for c in self.classes
        ]


_LOW = {"gt": False, "ge": True}
_HIGH = {"lt": False, "le": True}


def class_table(spec: Mapping[str, Any]) -> ClassTable:
    """A checked ``ClassTable`` from its configuration; InvalidInput names what is wrong.

    The classes must run from the lowest to the highest, each starting where the one before
    ends with exactly one of the two owning the shared bound, the first open below and the last
    open above: every number falls in exactly one class.

    >>> class_table({"property": "om", "unit": "%", "label_vi": "OM", "source": "",
    ...   "classes": [{"grade": "a", "lt": 2}, {"grade": "b", "gt": 2}]})
    Traceback (most recent call last):
    geo.errors.InvalidInput: Class table om (%): no source named.
    """
    prop = property_key(str(spec.get("property", "")))
    unit = unit_key(str(spec.get("unit", "")))
    name = f"{prop} ({unit})"

    def bad(vi: str, en: str) -> InvalidInput:
        return InvalidInput(
            f"Bảng phân cấp {name}: {vi}",
            f"Class table {name}: {en}",
            hint_vi="Sửa tệp cấu hình phân cấp đất (soil_classes.json).",
            hint_en="Fix the soil class configuration (soil_classes.json).",
        )

    if not str(spec.get("source", "")).strip():
        raise bad("thiếu nguồn (source).", "no source named.")
    raw = spec.get("classes") or []
    if not raw:
        raise bad("không có cấp nào.", "no classes.")
    classes = []
    for i, c in enumerate(raw):
        lows = [k for k in _LOW if k in c]
        highs = [k for k in _HIGH if k in c]
        if len(lows) > 1 or len(highs) > 1:
            raise bad(
                f"cấp {i + 1} có hai cận dưới hoặc hai cận trên.",
                f"class {i + 1} has two bounds on one side.",
            )
        colour = str(c.get("colour", ""))
        if not _HEX.fullmatch(colour):
            raise bad(
                f"cấp {c.get('grade')} thiếu màu #rrggbb.",
                f"class {c.get('grade')} has no #rrggbb colour.",
            )
        classes.append(
            SoilClass(
                grade=str(c["grade"]),
                label_en=str(c.get("en", c["grade"])),
                colour=colour,
                low=float(c[lows[0]]) if lows else -math.inf,
                low_inclusive=_LOW[lows[0]] if lows else False,
                high=float(c[highs[0]]) if highs else math.inf,
                high_inclusive=_HIGH[highs[0]] if highs else False,
            )
        )
    if not math.isinf(classes[0].low) or not math.isinf(classes[-1].high):
        raise bad("cấp thấp nhất phải mở phía dưới và cấp cao nhất mở phía trên.",
                  "the lowest class must be open below and the highest open above.")  # fmt: skip
    for before, after in zip(classes, classes[1:], strict=False):
        if before.high != after.low:
            raise bad(f"cấp {before.grade} kết thúc ở {before.high} nhưng cấp {after.grade} bắt đầu ở {after.low}.",
                      f"class {before.grade} ends at {before.high} but {after.grade} starts at {after.low}.")  # fmt: skip
        if before.high_inclusive == after.low_inclusive:
            raise bad(f"giá trị {before.high} thuộc cả hai hoặc không thuộc cấp nào ({before.grade}, {after.grade}).",
                      f"the value {before.high} is in both or neither of {before.grade} and {after.grade}.")  # fmt: skip
    if len({c.grade for c in classes}) != len(classes):
        raise bad("hai cấp trùng tên.", "two classes share a name.")
    return ClassTable(
        property=prop,
        unit=unit,
        label_vi=str(spec.get("label_vi", prop)),
        label_en=str(spec.get("label_en", prop)),
        source=str(spec["source"]),
        source_vi=str(spec.get("source_vi", "")) or str(spec["source"]),
        classes=tuple(classes),
        decimals=int(spec.get("decimals", 2)),
        depth_cm=spec.get("depth_cm"),
    )


@dataclass(frozen=True)
class AdviceRule:
    """A plain-language sentence for the officer when a property falls in some grades."""

    property: str
    grades: tuple[str, ...]
    vi: str
    en: str


@dataclass(frozen=True)
class SoilConfig:
    """Every class table, the unit conversions into the tables' units and the advice rules."""

    tables: tuple[ClassTable, ...]
    conversions: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    advice: tuple[AdviceRule, ...] = ()
    # Interpolation defaults (method choice, IDW power, neighbours, kriging sample minimum).
    interpolation: Mapping[str, Any] = field(default_factory=dict)
    zones: Mapping[str, Any] = field(default_factory=dict)

    def table(self, prop: str, unit: str | None = None) -> ClassTable:
        """The table for ``prop`` in ``unit`` (its first table when unit is None)."""
        for t in self.tables:
            if t.property == prop and (unit is None or t.unit == unit_key(unit)):
                return t
        units = [t.unit for t in self.tables if t.property == prop]
        raise InvalidInput(
            f"Chưa có bảng phân cấp cho {prop}" + (f" theo đơn vị {unit}." if unit else "."),
            f"No class table for {prop}" + (f" in {unit}." if unit else "."),
            hint_vi=(f"Đơn vị có bảng: {', '.join(units)}." if units else "Thêm bảng vào soil_classes.json."),
            hint_en=(f"Units with a table: {', '.join(units)}." if units else "Add a table to soil_classes.json."),
        )  # fmt: skip

    def has_table(self, prop: str) -> bool:
        return any(t.property == prop for t in self.tables)

    def to_table_unit(self, prop: str, unit: str) -> tuple[ClassTable, float]:
        """(table, factor): values in ``unit`` times factor are in the table's unit.

        A property with a table in ``unit`` gets factor 1; otherwise a configured conversion
        (e.g. OM in g/kg × 0.1 = %, SoilGrids pH×10 × 0.1 = pH) to its first table's unit.
        """
        unit = unit_key(unit)
        for t in self.tables:
            if t.property == prop and t.unit == unit:
                return t, 1.0
        factor = self.conversions.get(prop, {}).get(unit)
        if factor is None:
            self.table(prop, unit)  # raises the bilingual error naming the units we know
        return self.table(prop), float(factor)

    def notes(self, prop: str, grade: str) -> list[AdviceRule]:
        return [r for r in self.advice if r.property == prop and grade in r.grades]


def soil_config(data: Mapping[str, Any]) -> SoilConfig:
    """A checked ``SoilConfig`` from the parsed configuration file."""
    tables = tuple(class_table(spec) for spec in data.get("tables", []))
    keys = [t.key for t in tables]
    if len(set(keys)) != len(keys):
        raise InvalidInput(
            "Cấu hình phân cấp đất có hai bảng cùng chỉ tiêu và đơn vị.",
            "The soil class configuration has two tables for one property and unit.",
        )
    grades = {t.property: {c.grade for c in t.classes} for t in tables}
    rules = []
    for r in data.get("advice", []):
        prop = property_key(r["property"])
        unknown = set(r["grades"]) - grades.get(prop, set())
        if unknown:
            raise InvalidInput(
                f"Lời khuyên cho {prop} nhắc cấp không có trong bảng: {', '.join(sorted(unknown))}.",
                f"Advice for {prop} names grades not in its table: {', '.join(sorted(unknown))}.",
            )
        rules.append(AdviceRule(prop, tuple(r["grades"]), str(r["vi"]), str(r.get("en", r["vi"]))))
    conversions = {
        property_key(p): {unit_key(u): float(f) for u, f in units.items()}
        for p, units in data.get("conversions", {}).items()
        if not p.startswith("_")
    }
    return SoilConfig(
        tables=tables,
        conversions=conversions,
        advice=tuple(rules),
        interpolation=dict(data.get("interpolation", {})),
        zones=dict(data.get("zones", {})),
    )


def grade_shares(
    table: ClassTable, index_weights: Iterable[tuple[int, float]]
) -> list[dict[str, Any]]:
    """Share of the area in each grade from (class index, weight) pairs, every grade listed."""
    totals = [0.0] * len(table.classes)
    for i, w in index_weights:
        if 0 <= i < len(totals):
            totals[i] += w
    whole = sum(totals)
    return [
        {
            "grade": c.grade,
            "label_en": c.label_en,
            "colour": c.colour,
            "share": (t / whole) if whole > 0 else 0.0,
        }
        for c, t in zip(table.classes, totals, strict=True)
    ]


def advice_note(
    config: SoilConfig, summaries: Sequence[Mapping[str, Any]], *, lang: str = "vi"
) -> list[str]:
    """Plain-language sentences for one field from its per-property summaries.

    Each summary has ``property``, ``mean`` (in its table's unit) and ``grades`` (from
    ``grade_shares``). The grade of the mean decides the rule; a rule's text may use
    ``{value}`` (the mean with its unit) and ``{share}`` (the % of the field in that grade).
    """
    lines = []
    for s in summaries:
        table = config.table(s["property"], s.get("unit"))
        grade = table.grade(s.get("mean"))
        if grade is None:
            continue
        share = next((g["share"] for g in s.get("grades", []) if g["grade"] == grade), None)
        for rule in config.notes(table.property, grade):
            text = rule.vi if lang == "vi" else rule.en
            share_text = "—" if share is None else f"{share * 100:.0f} %"
            lines.append(text.format(value=table.format(s.get("mean")), share=share_text))
    return lines
