"""Which CRS an input file's coordinates are in: the ``--crs`` option, the file's own CRS
checked against where its coordinates fall, and guesses (VN-2000 zones, swapped axes) when
neither fits, explained in Vietnamese and English."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import pyproj
from pyproj.exceptions import CRSError as ProjCRSError

from geo.crs import (
    VIETNAM_BOUNDS_WGS84,
    VN2000_GEOGRAPHIC_EPSG,
    VN2000_TM3_EPSG,
    VN2000_UTM_EPSG,
    WGS84,
    Bounds,
    crs_label,
    declared_epsg,
    meridian_label,
    province_central_meridian,
    provinces_of,
    recognise_vn2000,
    refuse_deprecated,
    vn2000_tm3_zone,
)
from geo.errors import CRSError

_EXAMPLES = "EPSG:9208, 9208, VN2000, VN2000:104.75, VN2000:104d45, VN2000:Lào Cai"


@dataclass(frozen=True)
class Suggestion:
    """One guess at a file's CRS, in Vietnamese and English, with the ``--crs`` value to try."""

    vi: str
    en: str
    option: str | None = None


@dataclass(frozen=True)
class ResolvedCRS:
    """The CRS chosen for an input file, a label for people, and why it was chosen."""

    crs: pyproj.CRS
    label: str
    note_vi: str
    note_en: str


# --- the --crs option --------------------------------------------------------------------

_EPSG_RE = re.compile(r"^(?:EPSG\s*:\s*)?(\d{4,6})$", re.IGNORECASE)
_VN2000_RE = re.compile(
    r"^VN[\s_-]?2000(?P<tm3>[\s_-]?TM[\s_-]?3)?(?:\s*:\s*(?P<zone>.+))?$", re.IGNORECASE
)
_DECIMAL_RE = re.compile(r"^\d{3}(?:[.,]\d+)?$")
_DEG_MIN_RE = re.compile(r"^(\d{3})\s*(?:d|°|-|\s)\s*(\d{1,2})\s*['′]?$", re.IGNORECASE)


def _unknown_option(text: str) -> CRSError:
    return CRSError(
        f"Không hiểu hệ tọa độ “{text}”.",
        f"Cannot understand the CRS “{text}”.",
        hint_vi=f"Ví dụ hợp lệ: {_EXAMPLES}.",
        hint_en=f"Valid examples: {_EXAMPLES}.",
    )


def _from_epsg(code: int, text: str) -> pyproj.CRS:
    refuse_deprecated(code)
    try:
        return pyproj.CRS.from_epsg(code)
    except ProjCRSError:
        raise _unknown_option(text) from None


def _zone_meridian(zone: str) -> float:
    """``"105.75"``, ``"105,75"``, ``"105d45"``, ``"105°45′"``, ``"105-45"`` or a province."""
    zone = zone.strip()
    if _DECIMAL_RE.match(zone):
        return float(zone.replace(",", "."))
    if match := _DEG_MIN_RE.match(zone):
        return int(match[1]) + int(match[2]) / 60
    return province_central_meridian(zone)


def parse_crs_option(text: str) -> pyproj.CRS:
    """The CRS named by the CLI flag ``--crs``.

    Accepts ``EPSG:5898``, ``5898``, ``VN2000`` (geographic, EPSG:4756), a TM-3 zone
    by central meridian (``VN2000:105.75``, ``VN2000-TM3:105d45``) or by province
    (``VN2000:Lào Cai``, ``VN2000:lao cai``), or anything else PROJ understands.

    >>> parse_crs_option("VN2000:lao cai").to_epsg()
    9208
    >>> parse_crs_option("")  # doctest: +SKIP
    Traceback (most recent call last):
    geo.errors.CRSError: ...
    """
    text = text.strip()
    if not text:
        raise _unknown_option(text)
    if match := _EPSG_RE.match(text):
        return _from_epsg(int(match[1]), text)
    if match := _VN2000_RE.match(text):
        zone = match["zone"]
        if zone is None and match["tm3"]:
            raise _unknown_option(text)  # a TM-3 zone needs its meridian or province
        if zone is None:
            return pyproj.CRS.from_epsg(VN2000_GEOGRAPHIC_EPSG)
        return vn2000_tm3_zone(_zone_meridian(zone))
    if text.upper().startswith("VN"):
        raise _unknown_option(text)
    try:
        crs = pyproj.CRS.from_user_input(text)
    except ProjCRSError:
        raise _unknown_option(text) from None
    refuse_deprecated(declared_epsg(crs))
    return crs


# --- is it in Vietnam, and what might it be --------------------------------------------


def _inside(bounds: Bounds, box: Bounds) -> bool:
    xmin, ymin, xmax, ymax = bounds
    return (
        all(math.isfinite(v) for v in bounds)
        and box[0] <= xmin <= xmax <= box[2]
        and box[1] <= ymin <= ymax <= box[3]
    )


def _swapped(bounds: Bounds) -> Bounds:
    return (bounds[1], bounds[0], bounds[3], bounds[2])


def _looks_like_degrees(bounds: Bounds) -> bool:
    return _inside(bounds, (-180.0, -90.0, 180.0, 90.0))


def _looks_like_vn_metres(bounds: Bounds) -> bool:
    return _inside(bounds, (100_000.0, 900_000.0, 900_000.0, 2_700_000.0))


@lru_cache(maxsize=32)
def _zone_to_geographic(code: int) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(code, VN2000_GEOGRAPHIC_EPSG, always_xy=True)


def _zone_fits(code: int, bounds: Bounds) -> bool:
    """True when every corner of ``bounds``, read in zone ``code``, falls inside Vietnam."""
    xmin, ymin, xmax, ymax = bounds
    lons, lats = _zone_to_geographic(code).transform(
        [xmin, xmin, xmax, xmax], [ymin, ymax, ymin, ymax]
    )
    return _inside((min(lons), min(lats), max(lons), max(lats)), VIETNAM_BOUNDS_WGS84)


def _metre_suggestions(bounds: Bounds) -> list[Suggestion]:
    suggestions = [
        Suggestion(
            "Tọa độ có dạng mét VN-2000 (TM-3 hoặc UTM); múi chiếu không đoán được từ con số, "
            "hãy chọn theo tỉnh, ví dụ --crs VN2000:Lào Cai.",
            "Coordinates look like VN-2000 metres (TM-3 or UTM); the zone cannot be told from "
            "the numbers, pick it by province, e.g. --crs VN2000:Lào Cai.",
            None,
        )
    ]
    for cm, code in VN2000_TM3_EPSG.items():
        provinces = provinces_of(cm)
        if not provinces or not _zone_fits(code, bounds):
            continue
        examples = ", ".join(provinces[:3])
        suggestions.append(
            Suggestion(
                f"EPSG:{code} (VN-2000 / TM-3 {meridian_label(cm)}, ví dụ {examples})",
                f"EPSG:{code} (VN-2000 / TM-3 {meridian_label(cm)}, e.g. {examples})",
                f"EPSG:{code}",
            )
        )
    for cm, code in VN2000_UTM_EPSG.items():
        zone = "48N" if code == 3405 else "49N"
        if _zone_fits(code, bounds):
            suggestions.append(
                Suggestion(
                    f"EPSG:{code} (VN-2000 / UTM {zone}, kinh tuyến trục {meridian_label(cm)}, bản đồ địa hình)",
                    f"EPSG:{code} (VN-2000 / UTM {zone}, central meridian {meridian_label(cm)}, topographic maps)",
                    f"EPSG:{code}",
                )
            )
    return suggestions


def _zone_prefix_suggestion(bounds: Bounds) -> Suggestion | None:
    """Easting written with the zone number in front (48 500 000) or HN-72 Gauss–Krüger (18 500 000)."""
    xmin, ymin, xmax, ymax = bounds
    prefix = int(xmin // 1_000_000)
    if prefix != int(xmax // 1_000_000):
        return None
    rest = (xmin - prefix * 1_000_000, ymin, xmax - prefix * 1_000_000, ymax)
    if not _looks_like_vn_metres(rest):
        return None
    if prefix in (48, 49):
        code = 3405 if prefix == 48 else 3406
        return Suggestion(
            f"Tọa độ X có số múi {prefix} ở đầu ({prefix} 500 000): bỏ {prefix} 000 000 rồi dùng "
            f"EPSG:{code} (VN-2000 / UTM {prefix}N) hoặc múi TM-3 của tỉnh.",
            f"X carries the zone number {prefix} in front ({prefix} 500 000): subtract "
            f"{prefix} 000 000, then use EPSG:{code} (VN-2000 / UTM {prefix}N) or the province's TM-3 zone.",
            f"EPSG:{code}",
        )
    if prefix in (18, 19):
        code = 2044 if prefix == 18 else 2045
        return Suggestion(
            f"Tọa độ X có số múi Gauss–Krüger {prefix} ở đầu: có thể là hệ Hà Nội-72 (EPSG:{code}), "
            "cần chuyển sang VN-2000.",
            f"X carries the Gauss–Krüger zone number {prefix} in front: probably Hanoi 1972 "
            f"(EPSG:{code}), which must be converted to VN-2000.",
            f"EPSG:{code}",
        )
    return None


def suggest_crs(bounds: Bounds) -> list[Suggestion]:
    """Likely CRSs for raw coordinates ``(xmin, ymin, xmax, ymax)`` of a file with no (or a wrong) CRS.

    >>> suggest_crs((105.8, 21.0, 105.9, 21.1))[0].option
    'EPSG:4326'
    >>> suggest_crs((float("nan"),) * 4)[0].option is None
    True
    """
    if _inside(bounds, VIETNAM_BOUNDS_WGS84):
        return [
            Suggestion(
                "Tọa độ là độ trong Việt Nam: EPSG:4326 (WGS84) hoặc EPSG:4756 (VN-2000 địa lý; "
                "lệch WGS84 khoảng 200 m).",
                "Coordinates are degrees inside Vietnam: EPSG:4326 (WGS84) or EPSG:4756 "
                "(VN-2000 geographic; about 200 m off WGS84).",
                "EPSG:4326",
            ),
            Suggestion("EPSG:4756 (VN-2000 địa lý)", "EPSG:4756 (VN-2000 geographic)", "EPSG:4756"),
        ]
    if _inside(_swapped(bounds), VIETNAM_BOUNDS_WGS84):
        return [
            Suggestion(
                "Vĩ độ và kinh độ bị đảo chỗ (cột X đang chứa vĩ độ): đổi hai cột rồi dùng EPSG:4326.",
                "Latitude and longitude are swapped (the X column holds latitude): swap the "
                "columns, then use EPSG:4326.",
                None,
            )
        ]
    if _looks_like_vn_metres(bounds):
        return _metre_suggestions(bounds)
    if _looks_like_vn_metres(_swapped(bounds)):
        return [
            Suggestion(
                "Tọa độ Đông và Bắc bị đảo chỗ (thứ tự của các mã cũ EPSG:6956–6959): đổi hai cột "
                "rồi dùng múi TM-3 của tỉnh, ví dụ --crs VN2000:Lào Cai.",
                "Easting and northing are swapped (the order of the deprecated EPSG:6956–6959): "
                "swap the columns, then use the province's TM-3 zone, e.g. --crs VN2000:Lào Cai.",
                None,
            )
        ]
    if all(math.isfinite(v) for v in bounds) and (prefixed := _zone_prefix_suggestion(bounds)):
        return [prefixed]
    return [
        Suggestion(
            "Tọa độ không giống tọa độ Việt Nam (độ WGS84/VN-2000 hay mét TM-3/UTM VN-2000).",
            "Coordinates do not look Vietnamese (neither WGS84/VN-2000 degrees nor VN-2000 "
            "TM-3/UTM metres).",
            None,
        )
    ]


def _suggestion_text(suggestions: list[Suggestion], lang: str) -> str:
    """All suggestions when few; otherwise the first and the codes, so a message stays readable."""
    texts = [s.vi if lang == "vi" else s.en for s in suggestions]
    if len(texts) <= 3:
        return "; ".join(t.rstrip(".") for t in texts) + "."
    codes = ", ".join(s.option for s in suggestions if s.option)
    return f"{texts[0]} {'Các mã có thể' if lang == 'vi' else 'Possible codes'}: {codes}."


def _fmt_bounds(bounds: Bounds) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in bounds) + ")"


def check_in_vietnam(
    bounds: Bounds, *, source_crs_label: str, source_bounds: Bounds | None = None
) -> None:
    """Raise CRSError unless WGS84 ``bounds`` (lon/lat, after reprojection) lie in Vietnam.

    ``source_bounds`` are the coordinates as read from the file, used to guess the
    right CRS; without them the guess is made from ``bounds``.
    """
    if _inside(bounds, VIETNAM_BOUNDS_WGS84):
        return
    suggestions = suggest_crs(source_bounds or bounds)
    raise CRSError(
        f"Dữ liệu đọc theo {source_crs_label} nằm ngoài Việt Nam: {_fmt_bounds(bounds)}. "
        "Hệ tọa độ khai báo có lẽ sai.",
        f"Data read as {source_crs_label} falls outside Vietnam: {_fmt_bounds(bounds)}. "
        "The declared CRS is probably wrong.",
        hint_vi=f"Gợi ý: {_suggestion_text(suggestions, 'vi')} Chỉ định bằng --crs.",
        hint_en=f"Suggestions: {_suggestion_text(suggestions, 'en')} Set it with --crs.",
        details=[s.option for s in suggestions if s.option],
    )


# --- choosing the source CRS of an import ----------------------------------------------


def _mismatch(crs: pyproj.CRS, bounds: Bounds, origin_vi: str, origin_en: str) -> None:
    """Refuse a geographic CRS over metre coordinates, or a projected one over degrees."""
    if not all(math.isfinite(v) for v in bounds):
        return
    degrees = _looks_like_degrees(bounds)
    if crs.is_geographic == degrees:
        return
    unit_vi, unit_en = ("độ", "degrees") if degrees else ("mét", "metres")
    suggestions = suggest_crs(bounds)
    raise CRSError(
        f"Hệ tọa độ {origin_vi} là {crs_label(crs)} nhưng tọa độ trong tệp là {unit_vi} "
        f"{_fmt_bounds(bounds)}.",
        f"The CRS {origin_en} is {crs_label(crs)} but the file's coordinates are {unit_en} "
        f"{_fmt_bounds(bounds)}.",
        hint_vi=f"Gợi ý: {_suggestion_text(suggestions, 'vi')} Chỉ định bằng --crs EPSG:....",
        hint_en=f"Suggestions: {_suggestion_text(suggestions, 'en')} Pass --crs EPSG:....",
        details=[s.option for s in suggestions if s.option],
    )


def _from_option(option: str, file_crs: pyproj.CRS | None, bounds: Bounds) -> ResolvedCRS:
    crs = parse_crs_option(option)
    _mismatch(crs, bounds, "chỉ định bằng --crs", "given by --crs")
    label = crs_label(crs)
    if file_crs is not None and not crs.equals(file_crs, ignore_axis_order=True):
        return ResolvedCRS(
            crs,
            label,
            f"Dùng {label} theo --crs, thay cho hệ tọa độ ghi trong tệp ({crs_label(file_crs)}).",
            f"Using {label} from --crs instead of the file's own CRS ({crs_label(file_crs)}).",
        )
    return ResolvedCRS(crs, label, f"Dùng {label} theo --crs.", f"Using {label} from --crs.")


def _from_file(file_crs: pyproj.CRS, bounds: Bounds) -> ResolvedCRS:
    refuse_deprecated(declared_epsg(file_crs))
    recognised = recognise_vn2000(file_crs)
    if recognised is not None and declared_epsg(recognised) != declared_epsg(file_crs):
        _mismatch(recognised, bounds, "nhận ra từ tệp .prj", "recognised from the .prj")
        label = crs_label(recognised)
        return ResolvedCRS(
            recognised,
            label,
            f"Nhận ra {label} từ phép chiếu Transverse Mercator trong tệp .prj "
            f"(“{file_crs.name}”, kinh tuyến trục và hệ số tỷ lệ khớp múi VN-2000).",
            f"Recognised {label} from the Transverse Mercator in the .prj "
            f"(“{file_crs.name}”: its central meridian and scale factor match a VN-2000 zone).",
        )
    crs = recognised or file_crs
    _mismatch(crs, bounds, "ghi trong tệp", "read from the file")
    label = crs_label(crs)
    return ResolvedCRS(
        crs, label, f"Dùng {label} ghi trong tệp.", f"Using {label} read from the file."
    )


def _assumed(bounds: Bounds) -> ResolvedCRS:
    if not all(math.isfinite(v) for v in bounds) or _looks_like_degrees(bounds):
        label = crs_label(WGS84)
        return ResolvedCRS(
            WGS84,
            label,
            "Tệp không có hệ tọa độ và tọa độ là độ: coi là WGS84 (EPSG:4326). Nếu là VN-2000 "
            "địa lý, dùng --crs VN2000 (lệch khoảng 200 m).",
            "The file has no CRS and its coordinates are degrees: assuming WGS84 (EPSG:4326). "
            "If they are VN-2000 geographic, pass --crs VN2000 (about 200 m apart).",
        )
    suggestions = suggest_crs(bounds)
    raise CRSError(
        f"Tệp không có hệ tọa độ và tọa độ không phải là độ: {_fmt_bounds(bounds)}.",
        f"The file has no CRS and its coordinates are not degrees: {_fmt_bounds(bounds)}.",
        hint_vi=f"Gợi ý: {_suggestion_text(suggestions, 'vi')} Chỉ định bằng --crs EPSG:....",
        hint_en=f"Suggestions: {_suggestion_text(suggestions, 'en')} Pass --crs EPSG:....",
        details=[s.option for s in suggestions if s.option],
    )


def resolve_source_crs(
    *, option: str | None, file_crs: pyproj.CRS | None, bounds: Bounds
) -> ResolvedCRS:
    """Choose the CRS of an input file: ``--crs`` wins, then the file's own, then a guess.

    ``bounds`` are the raw ``(xmin, ymin, xmax, ymax)`` read from the file. A CRS whose
    units contradict them (WGS84 over metres) and a file with no CRS over metres are
    refused with suggestions.
    """
    if option:
        return _from_option(option, file_crs, bounds)
    if file_crs is not None:
        return _from_file(file_crs, bounds)
    return _assumed(bounds)
