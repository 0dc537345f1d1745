"""Growing-area codes (mã số vùng trồng): a configurable layout, parsing, checks against the
administrative lists from before and after the 1 July 2025 reform, and formatting of new codes.

A layout is configuration, a pattern such as ``VN-{province:2}-{district:3}-{commune:5}-{serial:2+}-{year:2}``:
``{part:N}`` is a part of exactly N digits, ``{serial:N+}`` at least N (at most ``SERIAL_MAX_DIGITS``);
text outside braces is literal and parts need a separator between them. Parts: province (2),
district (3), commune (5), serial (1–4), year (2 or 4); commune, serial and year are required.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from .adminunits import AdminLists, Commune, package_lists
from .errors import InvalidInput

EARLIEST_YEAR = 2015  # no growing-area code was issued before this year
SERIAL_MAX_DIGITS = 4
PART_WIDTHS = {"province": (2,), "district": (3,), "commune": (5,), "serial": (1, 2, 3, 4), "year": (2, 4)}  # fmt: skip
REQUIRED_PARTS = ("commune", "serial", "year")
PART_VI = {"province": "tỉnh", "district": "huyện", "commune": "xã", "serial": "số thứ tự", "year": "năm cấp"}  # fmt: skip
REFORM_VI, REFORM_EN = "1/7/2025", "1 July 2025"

# Every message, Vietnamese then English; ``_say`` fills in the {fields}.
MESSAGES = {
    "empty": ("mã đang để trống", "the code is empty"),
    "prefix": ("mã phải bắt đầu bằng '{text}'", "the code must start with '{text}'"),
    "count": ("mã có {got} phần cách nhau bởi '{sep}', cần {want}",
              "the code has {got} parts separated by '{sep}', expected {want}"),
    "shape": ("mã không theo mẫu", "the code does not follow the layout"),
    "missing": ("thiếu phần {part_vi}", "the {part} part is missing"),
    "digits": ("phần {part_vi} '{value}' phải gồm {n} chữ số", "the {part} part '{value}' must be {n} digits"),
    "future": ("năm cấp {year} chưa tới (hôm nay là {today:%d/%m/%Y})",
               "the year of issue {year} is in the future (today is {today:%Y-%m-%d})"),
    "early": ("năm cấp {year} trước năm {first}, khi chưa có mã số vùng trồng nào được cấp",
              "the year of issue {year} is before {first}, when no growing-area code was issued"),
    "serial": ("số thứ tự phải từ 1 trở lên", "the serial must be 1 or more"),
    "province": ("không có tỉnh mã {code} (cả 63 tỉnh trước {reform_vi} lẫn {n} tỉnh hiện nay)",
                 "no province has code {code} (neither the 63 before {reform_en} nor the {n} today)"),
    "district": ("không có huyện mã {code} trong danh mục trước {reform_vi}",
                 "no district has code {code} in the list before {reform_en}"),
    "district_province": ("huyện {code} ({name}) thuộc tỉnh {actual}, không thuộc tỉnh {given}",
                          "district {code} ({name}) is in province {actual}, not {given}"),
    "commune_old": ("không có xã mã {code} trong danh mục trước {reform_vi}",
                    "no commune has code {code} in the list before {reform_en}"),
    "commune_district": ("xã {commune} thuộc huyện {actual}, tỉnh {province}, không thuộc huyện {given}",
                         "commune {commune} is in district {actual}, province {province}, not district {given}"),
    "commune_now": ("không có xã mã {code} trong danh mục hiện nay", "no commune has code {code} in today's list"),
    "commune_gone": ("xã {code} không còn từ {reform_vi} (nay thuộc {now}); mẫu mã này dùng mã xã hiện nay",
                     "commune {code} no longer exists since {reform_en} (now part of {now}); this layout uses today's commune codes"),
    "commune_province": ("xã {commune} thuộc tỉnh {actual}, không thuộc tỉnh {given}",
                         "commune {commune} is in province {actual}, not {given}"),
    "merged": ("xã {commune} đã sáp nhập vào {now} từ {reform_vi}; mã vẫn hợp lệ",
               "commune {commune} merged into {now} on {reform_en}; the code stays valid"),
    "split": ("xã {commune} đã được chia vào {now} từ {reform_vi}; vị trí vùng trồng quyết định xã hiện nay; mã vẫn hợp lệ",
              "commune {commune} was split between {now} on {reform_en}; the area's location decides which; the code stays valid"),
    "orphan": ("không tìm thấy xã hiện nay của xã {commune}", "no current commune found for commune {commune}"),
    "no_old_lists": ("không có danh mục trước {reform_vi} (cần vietnam-provinces từ bản 2026.2)",
                     "there is no list from before {reform_en} (needs vietnam-provinces 2026.2 or later)"),
    "unchecked": ("chưa kiểm tra huyện và xã: không có danh mục trước {reform_vi} (cần vietnam-provinces từ bản 2026.2)",
                  "district and commune not checked: no list from before {reform_en} (needs vietnam-provinces 2026.2 or later)"),
    "not_today": ("xã mã {code} không có trong danh mục hiện nay (xã hiện nay: {now}); cấp mã mới theo mã xã hiện nay",
                  "commune {code} is not in today's list (today's commune: {now}); issue new codes under today's commune code"),
}  # fmt: skip


class Message(NamedTuple):
    """One problem with a code, or one note about it, in Vietnamese and English."""

    vi: str
    en: str


def _say(key: str, **fields: object) -> Message:
    vi, en = MESSAGES[key]
    if "part" in fields:
        fields["part_vi"] = PART_VI[str(fields["part"])]
    fields |= {"reform_vi": REFORM_VI, "reform_en": REFORM_EN}
    return Message(vi.format(**fields), en.format(**fields))


@dataclass(frozen=True)
class PartSpec:
    """One numbered part of a layout: ``{serial:2+}`` is ``PartSpec("serial", 2, 4)``."""

    name: str
    min_digits: int
    max_digits: int

    @property
    def digits(self) -> str:
        """``"5"``, or ``"2–4"`` for a part of variable width."""
        same = self.min_digits == self.max_digits
        return f"{self.min_digits}" if same else f"{self.min_digits}–{self.max_digits}"

    def check(self, text: str) -> Message | None:
        """What is wrong with ``text`` as this part, or None."""
        if not text:
            return _say("missing", part=self.name)
        if text.isascii() and text.isdigit() and self.min_digits <= len(text) <= self.max_digits:
            return None
        return _say("digits", part=self.name, value=text, n=self.digits)


@dataclass(frozen=True)
class ParsedCode:
    """A code as issued (``code``: stripped and upper-cased, nothing else) and its parts."""

    code: str
    commune: str
    serial: int
    year: int
    province: str | None = None
    district: str | None = None


@dataclass(frozen=True)
class CodeLayout:
    """How a growing-area code is written (see the module docstring for the pattern syntax).

    >>> DEFAULT_LAYOUT.parse(" vn-51-522-21214-13-24 ").year
    2024
    >>> CodeLayout("VN-{province:2}-{town:3}")
    Traceback (most recent call last):
    geo.errors.InvalidInput: Layout VN-{province:2}-{town:3}: unknown part 'town' (known: province, district, commune, serial, year).
    """

    pattern: str
    tokens: tuple[str | PartSpec, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tokens", _compile_layout(self.pattern))

    @property
    def parts(self) -> dict[str, PartSpec]:
        return {t.name: t for t in self.tokens if isinstance(t, PartSpec)}

    @property
    def has_district(self) -> bool:
        return "district" in self.parts

    @cached_property
    def example(self) -> str:
        """A code in this layout: the seed code, or its post-reform twin without a district."""
        commune = "21214" if self.has_district else "21211"
        return self.format(
            {"province": "51", "district": "522", "commune": commune, "serial": 13, "year": 2024}
        )

    def describe(self, lang: str = "vi") -> str:
        """The layout for people: ``VN-[tỉnh: 2 chữ số]-…`` or ``VN-[province: 2 digits]-…``."""
        unit = "chữ số" if lang == "vi" else "digits"
        return "".join(
            t
            if isinstance(t, str)
            else f"[{PART_VI[t.name] if lang == 'vi' else t.name}: {t.digits} {unit}]"
            for t in self.tokens
        )

    def _regex(self, strict: bool) -> re.Pattern[str]:
        def part(t: PartSpec) -> str:
            return rf"[0-9]{{{t.min_digits},{t.max_digits}}}" if strict else ".*?"

        return re.compile(
            "".join(
                re.escape(t) if isinstance(t, str) else f"(?P<{t.name}>{part(t)})"
                for t in self.tokens
            )
        )

    def parse(self, code: str) -> ParsedCode:
        """The parts of ``code``; raises InvalidInput naming every malformed part.

        >>> DEFAULT_LAYOUT.parse("VN-51-522-21214-13-24").commune
        '21214'
        >>> DEFAULT_LAYOUT.parse("")
        Traceback (most recent call last):
        geo.errors.InvalidInput: Growing-area code '' is malformed: the code is empty.
        """
        code = normalise(code)
        m = self._regex(strict=True).fullmatch(code)
        if m is None:
            raise _error(code, self._shape_problems(code), self, kind="malformed")
        g, year = m.groupdict(), int(m["year"])
        return ParsedCode(
            code=code,
            commune=g["commune"],
            serial=int(g["serial"]),
            year=2000 + year if self.parts["year"].max_digits == 2 else year,
            province=g.get("province"),
            district=g.get("district"),
        )

    def _shape_problems(self, code: str) -> list[Message]:
        """Which part of a code that does not fit the layout is wrong."""
        if not code:
            return [_say("empty")]
        m = self._regex(strict=False).fullmatch(code)
        if m is not None:
            found = [spec.check(m[name]) for name, spec in self.parts.items()]
            return [p for p in found if p] or [_say("shape")]
        first = self.tokens[0]
        if isinstance(first, str) and not code.startswith(first):
            return [_say("prefix", text=first)]
        seps = {t for t in self.tokens[1:-1] if isinstance(t, str)}
        if len(seps) == 1:
            sep = seps.pop()
            return [
                _say("count", got=len(code.split(sep)), want=len(self.example.split(sep)), sep=sep)
            ]
        return [_say("shape")]

    def format(self, parts: Mapping[str, object] | ParsedCode) -> str:
        """The code for ``parts``: codes as digit strings, serial and full year as ints.

        >>> DEFAULT_LAYOUT.format({"province": "51", "district": "522", "commune": "21214", "serial": 13, "year": 2024})
        'VN-51-522-21214-13-24'
        """
        values = parts.__dict__ if isinstance(parts, ParsedCode) else parts
        out, problems = [], []
        for t in self.tokens:
            text = t if isinstance(t, str) else _part_text(t, values.get(t.name))
            problem = None if isinstance(t, str) else t.check(text)
            out.append(text)
            problems += [problem] if problem else []
        if problems:
            raise _error("", problems, self, kind="format")
        return "".join(out)

    def __str__(self) -> str:
        return self.pattern


def normalise(code: object) -> str:
    """A code as stored: surrounding blanks removed, upper case (``" vn-51 "`` -> ``"VN-51"``)."""
    return code.strip().upper() if isinstance(code, str) else ""


def _part_text(spec: PartSpec, value: object) -> str:
    """Ints are zero-padded; a full year keeps its last two digits in a 2-digit part."""
    if spec.name == "year" and isinstance(value, int) and spec.max_digits == 2:
        value = value - 2000 if 2000 <= value <= 2099 else f"{value}"
    if isinstance(value, int) and value >= 0:
        return f"{value:0{spec.min_digits}d}"
    return "" if value is None else str(value)


def _compile_layout(pattern: str) -> tuple[str | PartSpec, ...]:
    """Split a layout pattern into literal text and part specs; refuse what cannot be parsed."""

    def refuse(vi: str, en: str) -> InvalidInput:
        example = "VN-{province:2}-{commune:5}-{serial:3+}-{year:2}"
        return InvalidInput(
            f"Mẫu mã số {pattern}: {vi}.",
            f"Layout {pattern}: {en}.",
            hint_vi=f"Viết mỗi phần dạng {{tên:N}} hoặc {{serial:N+}}, ví dụ {example}.",
            hint_en=f"Write each part as {{name:N}} or {{serial:N+}}, e.g. {example}.",
        )

    tokens: list[str | PartSpec] = []
    for i, piece in enumerate(re.split(r"\{([^{}]*)\}", pattern)):
        if i % 2 == 0:
            if "{" in piece or "}" in piece:
                raise refuse("dấu ngoặc nhọn không khớp", "unbalanced braces")
            tokens += [piece] if piece else []
            continue
        m = re.fullmatch(r"\s*([a-z_]+)\s*:\s*([0-9]+)(\+?)\s*", piece)
        name = m[1] if m else piece.split(":")[0].strip()
        if name not in PART_WIDTHS:
            known = ", ".join(PART_WIDTHS)
            raise refuse(
                f"không có phần '{name}' (có: {known})", f"unknown part '{name}' (known: {known})"
            )
        widths = ", ".join(map(str, PART_WIDTHS[name])) + (" (+)" if name == "serial" else "")
        if m is None or int(m[2]) not in PART_WIDTHS[name] or (m[3] and name != "serial"):
            raise refuse(
                f"độ dài '{piece}' sai; {name} có thể là {widths}",
                f"bad width '{piece}'; {name} may be {widths}",
            )
        if any(isinstance(t, PartSpec) and t.name == name for t in tokens):
            raise refuse(f"phần '{name}' có hai lần", f"part '{name}' appears twice")
        if tokens and isinstance(tokens[-1], PartSpec):
            raise refuse(
                "hai phần liền nhau cần dấu phân cách", "two parts need a separator between them"
            )
        tokens.append(PartSpec(name, int(m[2]), SERIAL_MAX_DIGITS if m[3] else int(m[2])))
    names = {t.name for t in tokens if isinstance(t, PartSpec)}
    if missing := [p for p in REQUIRED_PARTS if p not in names]:
        raise refuse(f"thiếu phần {', '.join(missing)}", f"missing part(s) {', '.join(missing)}")
    return tuple(tokens)


def _error(
    code: str, problems: list[Message], layout: CodeLayout, *, kind: str = "invalid"
) -> InvalidInput:
    """One InvalidInput listing every problem, Vietnamese first, with a hint and an example."""
    what_vi, what_en = {
        "malformed": ("sai định dạng", "is malformed"),
        "format": ("không tạo được", "cannot be formatted"),
    }.get(kind, ("không hợp lệ", "is invalid"))
    label = f"'{code}' " if kind != "format" else ""
    if kind == "invalid":
        hint_vi = f"Đối chiếu mã tỉnh, huyện, xã với danh mục đơn vị hành chính; ví dụ một mã đúng: {layout.example}."
        hint_en = f"Check the province, district and commune against the administrative unit lists; a correct code: {layout.example}."
    else:
        hint_vi = f"Mã phải theo mẫu {layout.describe('vi')}, ví dụ {layout.example}."
        hint_en = f"Write the code as {layout.describe('en')}, e.g. {layout.example}."
    return InvalidInput(
        f"Mã số vùng trồng {label}{what_vi}: {'; '.join(p.vi for p in problems)}.",
        f"Growing-area code {label}{what_en}: {'; '.join(p.en for p in problems)}.",
        hint_vi=hint_vi,
        hint_en=hint_en,
        details=[f"{p.vi} / {p.en}" for p in problems],
    )


# The layout codes were issued under before the 2025 reform (country, province, district,
# commune, serial, year), e.g. VN-51-522-21214-13-24. Codes issued that way stay valid as issued.
DEFAULT_LAYOUT = CodeLayout("VN-{province:2}-{district:3}-{commune:5}-{serial:2+}-{year:2}")
# The layout new codes are issued under: no official post-reform layout has been published, so
# the pre-reform one without the abolished district level (today's province and commune), e.g.
# VN-15-02923-01-26. A setting (AGRIMAP_CODE_LAYOUT) replaces it when one is published.
ISSUE_LAYOUT = CodeLayout("VN-{province:2}-{commune:5}-{serial:2+}-{year:2}")


# --- validation and new codes --------------------------------------------------------------


@dataclass(frozen=True)
class CodeCheck:
    """A valid code: its parts, the commune it names and today's commune holding it.

    ``commune`` is the commune written in the code (pre-reform for a layout with a district);
    ``current_communes`` are today's communes it became (several when it was split) and
    ``current_commune`` the one to show: the one that kept the code, else the first.
    ``notes`` tell the officer what is worth knowing but not wrong (a merge, an unchecked part).
    """

    code: str
    parsed: ParsedCode
    commune: Commune | None
    current_commune: Commune | None
    current_communes: tuple[Commune, ...] = ()
    notes: tuple[Message, ...] = ()

    @property
    def retired(self) -> bool:
        """The commune in the code no longer exists under its code (merged or split)."""
        now = [c.code for c in self.current_communes]
        return self.commune is not None and now != [self.commune.code]


def _check_numbers(p: ParsedCode, today: dt.date, lists: AdminLists) -> list[Message]:
    """Year, serial and province: the checks every layout shares."""
    problems = []
    if p.year > today.year:
        problems.append(_say("future", year=p.year, today=today))
    elif p.year < EARLIEST_YEAR:
        problems.append(_say("early", year=p.year, first=EARLIEST_YEAR))
    if p.serial < 1:
        problems.append(_say("serial"))
    if p.province and p.province not in lists.provinces and p.province not in lists.old_provinces:
        problems.append(_say("province", code=p.province, n=len(lists.provinces)))
    return problems


def _place_pre_reform(p: ParsedCode, lists: AdminLists) -> tuple[Commune | None, list[Message]]:
    """The commune a code with a district names (pre-reform lists), and what is wrong."""
    problems = []
    district = lists.old_districts.get(p.district or "")
    if district is None:
        problems.append(_say("district", code=p.district))
    elif p.province and district.province != p.province:
        problems.append(
            _say(
                "district_province",
                code=district.code,
                name=district.name,
                actual=district.province,
                given=p.province,
            )
        )
    commune = lists.old_communes.get(p.commune)
    if commune is None:
        problems.append(_say("commune_old", code=p.commune))
    elif commune.district != p.district:
        problems.append(
            _say(
                "commune_district",
                commune=commune,
                actual=commune.district,
                province=commune.province,
                given=p.district,
            )
        )
    return commune, problems


def _place_today(p: ParsedCode, lists: AdminLists) -> tuple[Commune | None, list[Message]]:
    """The commune a code without a district names (today's lists), and what is wrong."""
    commune = lists.communes.get(p.commune)
    if commune is None:
        now = ", ".join(map(str, lists.today(p.commune)))
        return None, [
            _say("commune_gone", code=p.commune, now=now)
            if now
            else _say("commune_now", code=p.commune)
        ]
    if p.province and commune.province != p.province:
        return commune, [
            _say("commune_province", commune=commune, actual=commune.province, given=p.province)
        ]
    return commune, []


def _merge_notes(commune: Commune | None, now: tuple[Commune, ...]) -> list[Message]:
    if commune is None or [c.code for c in now] == [commune.code]:
        return []
    if not now:
        return [_say("orphan", commune=commune)]
    return [
        _say("split" if len(now) > 1 else "merged", commune=commune, now=", ".join(map(str, now)))
    ]


def validate(
    code: str,
    *,
    layout: CodeLayout = DEFAULT_LAYOUT,
    today: dt.date | None = None,
    lists: AdminLists | None = None,
) -> CodeCheck:
    """Check a growing-area code; raise one InvalidInput listing every problem.

    A code issued before the reform keeps its old district and commune and stays valid; the
    result links it to today's commune. ``lists`` defaults to ``package_lists()``.

    >>> validate("VN-51-522-21214-13-24").code
    'VN-51-522-21214-13-24'
    >>> validate("VN-99-522-21214-13-24")
    Traceback (most recent call last):
    geo.errors.InvalidInput: Growing-area code 'VN-99-522-21214-13-24' is invalid: no province has code 99 (neither the 63 before 1 July 2025 nor the 34 today).
    """
    lists = lists or package_lists()
    parsed = layout.parse(code)
    problems = _check_numbers(parsed, today or dt.date.today(), lists)
    notes = []
    if not layout.has_district:
        commune, more = _place_today(parsed, lists)
    elif lists.has_pre_reform:
        commune, more = _place_pre_reform(parsed, lists)
    else:
        commune, more = lists.communes.get(parsed.commune), []
        notes.append(_say("unchecked"))
    if problems := problems + more:
        raise _error(parsed.code, problems, layout)
    now = lists.today(commune.code) if commune else ()
    current = next((c for c in now if commune and c.code == commune.code), now[0] if now else None)
    notes += _merge_notes(commune, now)
    return CodeCheck(parsed.code, parsed, commune, current, now, tuple(notes))


def validate_any(
    code: str,
    *,
    layouts: tuple[CodeLayout, ...],
    today: dt.date | None = None,
    lists: AdminLists | None = None,
) -> CodeCheck:
    """``validate`` with the first of ``layouts`` the code's shape fits (today's layout, then
    the one before the reform), so codes issued under either are read.

    >>> validate_any("VN-51-522-21214-13-24", layouts=(ISSUE_LAYOUT, DEFAULT_LAYOUT)).commune.code
    '21214'
    """
    typed = as_typed(code)
    for layout in layouts:
        try:
            layout.parse(typed)
        except InvalidInput:
            continue
        return validate(typed, layout=layout, today=today, lists=lists)
    # Fits none: say what is wrong by the layout with as many parts as the code has.
    parts = typed.count("-")
    closest = next((lo for lo in layouts if lo.pattern.count("-") == parts), layouts[0])
    return validate(typed, layout=closest, today=today, lists=lists)


def as_typed(code: str) -> str:
    """A code as people type it, with parts joined by spaces, dashes of any kind, dots or
    underscores, made into the one spelling codes are stored in: "vn 51 522 …" -> "VN-51-522-…"."""
    text = str(code).strip().upper()
    return re.sub(r"\s*[\s\-\u2010-\u2015\u2212._/]+\s*", "-", text)


def next_code(
    commune_code: str,
    year: int,
    serial: int,
    *,
    layout: CodeLayout = DEFAULT_LAYOUT,
    district: str | None = None,
    province: str | None = None,
    lists: AdminLists | None = None,
) -> str:
    """The code of area number ``serial`` of a commune in ``year`` (the database keeps the counter).

    Missing province and district come from the lists: a layout with a district takes the
    commune's pre-reform district and province (the numbering its codes were issued under),
    one without takes today's province. New codes are for today's communes only.

    >>> next_code("21211", 2025, 7, layout=CodeLayout("VN-{province:2}-{commune:5}-{serial:3+}-{year:2}"))
    'VN-51-21211-007-25'
    >>> next_code("21211", 2025, 0, district="522", province="51")
    Traceback (most recent call last):
    geo.errors.InvalidInput: Growing-area code cannot be formatted: the serial must be 1 or more.
    """
    if serial < 1:
        raise _error("", [_say("serial")], layout, kind="format")
    if ("province" in layout.parts and province is None) or (
        layout.has_district and district is None
    ):
        lists = lists or package_lists()
        if (now := lists.communes.get(commune_code)) is None:
            now_list = ", ".join(map(str, lists.today(commune_code))) or "?"
            raise _error(
                "", [_say("not_today", code=commune_code, now=now_list)], layout, kind="format"
            )
        if layout.has_district:
            old = lists.old_communes.get(commune_code)
            district = district or (old.district if old else None)
            known = lists.old_districts.get(district or "")
            if district is None or (province is None and known is None):
                raise _needs_district(commune_code, layout, lists)
            province = province or (known.province if known else None)
        province = province or now.province
    parts = {"province": province, "district": district, "commune": commune_code}
    return layout.format(parts | {"serial": serial, "year": year})


def _needs_district(commune_code: str, layout: CodeLayout, lists: AdminLists) -> InvalidInput:
    why = _say("commune_old", code=commune_code) if lists.has_pre_reform else _say("no_old_lists")
    return InvalidInput(
        f"Mẫu mã {layout.pattern} cần mã huyện và tỉnh cũ của xã {commune_code}, nhưng {why.vi}.",
        f"Layout {layout.pattern} needs the old district and province of commune {commune_code}, but {why.en}.",
        hint_vi="Truyền district= và province=, hoặc dùng mẫu mã không có huyện (sau cải cách 2025).",
        hint_en="Pass district= and province=, or use a layout without a district (after the 2025 reform).",
    )


def describe(check: CodeCheck, lists: AdminLists | None = None) -> dict[str, object]:
    """What a person wants to know of a valid code: its parts with the names of the units as
    they were when it was issued, and today's commune and province that hold it.

    >>> d = describe(validate_any("vn-51-522-21214-13-24", layouts=(ISSUE_LAYOUT, DEFAULT_LAYOUT)))
    >>> d["issued_in"]["commune"]["name"], d["today"]["commune"]["name"]
    ('Xã Tịnh Long', 'Xã Tịnh Khê')
    """
    lists = lists or package_lists()
    p = check.parsed
    district = lists.old_districts.get(p.district) if p.district else None
    if p.district:  # issued under the pre-reform layout: the 63 provinces of that time
        province_name = lists.old_provinces.get(p.province or "")
    else:
        province_name = lists.provinces.get(p.province or "")
    now = check.current_commune

    def unit(code: str | None, name: str | None) -> dict[str, str | None] | None:
        return None if code is None else {"code": code, "name": name}

    return {
        "code": check.code,
        "valid": True,
        "serial": p.serial,
        "year": p.year,
        "issued_in": {
            "province": unit(p.province, province_name),
            "district": unit(p.district, district.name if district else None),
            "commune": unit(p.commune, check.commune.name if check.commune else None),
        },
        "today": {
            "commune": unit(now.code, now.name) if now else None,
            "province": unit(now.province, lists.provinces.get(now.province)) if now else None,
            "other_communes": [unit(c.code, c.name) for c in check.current_communes if c != now],
        },
        "retired": check.retired,
        "notes": [{"vi": n.vi, "en": n.en} for n in check.notes],
    }
