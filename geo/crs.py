"""Coordinate reference systems (hệ tọa độ): VN-2000 zones, the official shift to WGS84, CRS guessing."""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import pyproj
from pyproj.crs import BoundCRS
from pyproj.crs.coordinate_operation import ToWGS84Transformation
from pyproj.exceptions import CRSError as ProjCRSError

from geo.errors import CRSError

Bounds = tuple[float, float, float, float]

WGS84 = pyproj.CRS.from_epsg(4326)
VN2000_GEOGRAPHIC_EPSG = 4756

# Decision 05/2007/QĐ-BTNMT (EPSG:6960) in PROJ's position-vector form:
# tx, ty, tz (m), rx, ry, rz (arc-seconds), scale (ppm).
VN2000_TOWGS84 = (
    -191.90441429,
    -39.30318279,
    -111.45032835,
    0.00928836,
    -0.01975479,
    0.00427372,
    0.252906278,
)
VN2000_TO_WGS84_EPSG = 6960

# Central meridian (degrees) -> EPSG code of the VN-2000 TM-3 zone (k = 0.9999, FE 500 000 m).
# tests/geo/test_crs.py checks every entry against the PROJ database.
VN2000_TM3_EPSG: dict[float, int] = {
    102.0: 5896,
    103.0: 9205,
    104.0: 9206,
    104.5: 9207,
    104.75: 9208,
    105.0: 5897,
    105.5: 9209,
    105.75: 9210,
    106.0: 9211,
    106.25: 9212,
    106.5: 9213,
    107.0: 9214,
    107.25: 9215,
    107.5: 9216,
    107.75: 5899,
    108.0: 5898,
    108.25: 9217,
    108.5: 9218,
}
# Central meridian -> VN-2000 / UTM zone (k = 0.9996): 48N and 49N.
VN2000_UTM_EPSG: dict[float, int] = {105.0: 3405, 111.0: 3406}
# Deprecated TM-3 codes with easting and northing swapped -> their replacement.
DEPRECATED_SWAPPED_EPSG: dict[int, int] = {6956: 5896, 6957: 5897, 6958: 5898, 6959: 5899}

# TM-3 central meridian (degrees) of each of the 63 pre-2025 provinces, from
# Circular 973/2001/TT-TCĐC as republished by surveyors; provinces split after 2001
# (Điện Biên, Đắk Nông, Hậu Giang) keep their parent's meridian. The 2025 merger
# (63 -> 34) published no new table: data keeps the zone of the old province.
PROVINCE_CENTRAL_MERIDIAN: dict[str, float] = {
    "Lai Châu": 103.0,
    "Điện Biên": 103.0,
    "Sơn La": 104.0,
    "Lào Cai": 104.75,
    "Yên Bái": 104.75,
    "Hà Giang": 105.5,
    "Tuyên Quang": 106.0,
    "Phú Thọ": 104.75,
    "Vĩnh Phúc": 105.0,
    "Cao Bằng": 105.75,
    "Lạng Sơn": 107.25,
    "Bắc Kạn": 106.5,
    "Thái Nguyên": 106.5,
    "Bắc Giang": 107.0,
    "Bắc Ninh": 105.5,
    "Quảng Ninh": 107.75,
    "Hải Phòng": 105.75,
    "Hải Dương": 105.5,
    "Hưng Yên": 105.5,
    "Hà Nội": 105.0,
    "Hòa Bình": 106.0,
    "Hà Nam": 105.0,
    "Nam Định": 105.5,
    "Thái Bình": 105.5,
    "Ninh Bình": 105.0,
    "Thanh Hóa": 105.0,
    "Nghệ An": 104.75,
    "Hà Tĩnh": 105.5,
    "Quảng Bình": 106.0,
    "Quảng Trị": 106.25,
    "Thừa Thiên Huế": 107.0,
    "Đà Nẵng": 107.75,
    "Quảng Nam": 107.75,
    "Quảng Ngãi": 108.0,
    "Bình Định": 108.25,
    "Kon Tum": 107.5,
    "Gia Lai": 108.5,
    "Đắk Lắk": 108.5,
    "Đắk Nông": 108.5,
    "Phú Yên": 108.5,
    "Khánh Hòa": 108.25,
    "Ninh Thuận": 108.25,
    "Bình Thuận": 108.5,
    "Lâm Đồng": 107.75,
    "Bình Dương": 105.75,
    "Bình Phước": 106.25,
    "Đồng Nai": 107.75,
    "Bà Rịa - Vũng Tàu": 107.75,
    "Tây Ninh": 105.5,
    "Long An": 105.75,
    "Tiền Giang": 105.75,
    "Bến Tre": 105.75,
    "Đồng Tháp": 105.0,
    "Vĩnh Long": 105.5,
    "Trà Vinh": 105.5,
    "An Giang": 104.75,
    "Kiên Giang": 104.5,
    "Cần Thơ": 105.0,
    "Hậu Giang": 105.0,
    "Sóc Trăng": 105.5,
    "Bạc Liêu": 105.0,
    "Cà Mau": 104.5,
    "Hồ Chí Minh": 105.75,
}
# Spellings people type that the diacritics-free key does not catch.
_PROVINCE_ALIASES = {
    "hcm": "Hồ Chí Minh",
    "tphcm": "Hồ Chí Minh",
    "sai gon": "Hồ Chí Minh",
    "hue": "Thừa Thiên Huế",
    "dac lac": "Đắk Lắk",
    "dak lac": "Đắk Lắk",
    "dac nong": "Đắk Nông",
    "bac can": "Bắc Kạn",
    "vung tau": "Bà Rịa - Vũng Tàu",
}

# Mainland plus Phú Quốc, Côn Đảo, Hoàng Sa and Trường Sa, with a margin.
VIETNAM_BOUNDS_WGS84: Bounds = (102.0, 6.0, 117.9, 23.5)

_EXAMPLES = "EPSG:9208, 9208, VN2000, VN2000:104.75, VN2000:104d45, VN2000:Lào Cai"
_TM3_SCALE = 0.9999
_UTM_SCALE = 0.9996
_FALSE_EASTING = 500_000.0


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


# --- names and labels -------------------------------------------------------------


def meridian_label(central_meridian: float) -> str:
    """``104.75`` -> ``"104°45′"`` (how Vietnamese surveyors write a zone)."""
    degrees = int(central_meridian)
    minutes = round((central_meridian - degrees) * 60)
    return f"{degrees}°{minutes:02d}′" if minutes else f"{degrees}°"


def declared_epsg(crs: pyproj.CRS) -> int | None:
    """The EPSG code the CRS carries itself (no database search: that takes ~0.4 s per WKT)."""
    spec = crs.to_json_dict()
    ident = spec.get("id") or spec.get("source_crs", {}).get("id") or {}
    return int(ident["code"]) if ident.get("authority") == "EPSG" else None


def crs_label(crs: pyproj.CRS) -> str:
    """``EPSG:9208`` -> ``"EPSG:9208 VN-2000 / TM-3 104-45"``; an anonymous CRS gives its name."""
    code = declared_epsg(crs)
    return f"EPSG:{code} {crs.name}" if code else crs.name


def _fold(text: str) -> str:
    """Lower case, no diacritics, đ -> d, punctuation -> spaces: what lookups compare."""
    text = text.replace("đ", "d").replace("Đ", "D")
    text = "".join(
        ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn"
    )
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


_PROVINCE_BY_FOLDED = {_fold(name): name for name in PROVINCE_CENTRAL_MERIDIAN}
_PREFIXES = ("thanh pho ", "tp ", "tinh ")


def province_central_meridian(name: str) -> float:
    """TM-3 central meridian of a (pre-2025) province, with or without diacritics.

    >>> province_central_meridian("lao cai")
    104.75
    >>> province_central_meridian("")  # doctest: +SKIP
    Traceback (most recent call last):
    geo.errors.CRSError: ...
    """
    folded = _fold(name)
    for prefix in _PREFIXES:
        folded = folded.removeprefix(prefix)
    canonical = _PROVINCE_BY_FOLDED.get(folded) or _PROVINCE_ALIASES.get(folded)
    if canonical:
        return PROVINCE_CENTRAL_MERIDIAN[canonical]
    close = difflib.get_close_matches(folded, _PROVINCE_BY_FOLDED, n=3, cutoff=0.6)
    near = ", ".join(_PROVINCE_BY_FOLDED[c] for c in close) or "Lào Cai, Quảng Ngãi, Hà Nội"
    raise CRSError(
        f"Không biết tỉnh “{name}” để chọn kinh tuyến trục VN-2000.",
        f"Unknown province “{name}” for a VN-2000 central meridian.",
        hint_vi=f"Dùng tên tỉnh (trước sáp nhập 2025), ví dụ: {near}; hoặc ghi kinh tuyến, ví dụ VN2000:104.75.",
        hint_en=f"Use a (pre-2025) province name, e.g. {near}; or give the meridian, e.g. VN2000:104.75.",
    )


def _provinces_of(central_meridian: float) -> list[str]:
    return [p for p, cm in PROVINCE_CENTRAL_MERIDIAN.items() if cm == central_meridian]


def vn2000_tm3_zone(central_meridian: float) -> pyproj.CRS:
    """The VN-2000 TM-3 CRS whose central meridian is ``central_meridian`` degrees.

    >>> vn2000_tm3_zone(104.75).to_epsg()
    9208
    >>> vn2000_tm3_zone(104.6)  # doctest: +SKIP
    Traceback (most recent call last):
    geo.errors.CRSError: ...
    """
    code = VN2000_TM3_EPSG.get(round(central_meridian * 4) / 4)
    if code is None or abs(central_meridian * 4 - round(central_meridian * 4)) > 1e-6:
        zones = ", ".join(meridian_label(cm) for cm in VN2000_TM3_EPSG)
        raise CRSError(
            f"Không có múi TM-3 VN-2000 nào có kinh tuyến trục {central_meridian}°.",
            f"No VN-2000 TM-3 zone has central meridian {central_meridian}°.",
            hint_vi=f"Các kinh tuyến trục có mã EPSG: {zones} (ví dụ --crs VN2000:104.75).",
            hint_en=f"Central meridians with an EPSG code: {zones} (e.g. --crs VN2000:104.75).",
        )
    return pyproj.CRS.from_epsg(code)


# --- VN-2000 and the official shift ---------------------------------------------------


def _refuse_deprecated(code: int | None) -> None:
    """EPSG:6956–6959 put northing first: reading them as x/y puts data off the map."""
    if code in DEPRECATED_SWAPPED_EPSG:
        new = DEPRECATED_SWAPPED_EPSG[code]
        raise CRSError(
            f"EPSG:{code} đã bị loại bỏ (đảo thứ tự tọa độ Bắc/Đông).",
            f"EPSG:{code} is deprecated (it swaps northing and easting).",
            hint_vi=f"Dùng EPSG:{new} thay thế (--crs EPSG:{new}).",
            hint_en=f"Use EPSG:{new} instead (--crs EPSG:{new}).",
        )


def _is_vn2000_datum(crs: pyproj.CRS) -> bool:
    """True when the datum is VN-2000 by name (EPSG, ESRI ``D_Vietnam_2000`` or ``VN_2000``)."""
    geodetic = crs.geodetic_crs
    if geodetic is None:
        return False
    names = {_fold(geodetic.datum.name).replace(" ", ""), _fold(geodetic.name).replace(" ", "")}
    return bool(names & {"vietnam2000", "dvietnam2000", "vn2000", "gcsvn2000"})


def _towgs84_translation(bound: pyproj.CRS) -> tuple[float, float, float] | None:
    params = {p.name: p.value for p in bound.coordinate_operation.params}
    try:
        return (
            params["X-axis translation"],
            params["Y-axis translation"],
            params["Z-axis translation"],
        )
    except KeyError:
        return None


def is_vn2000(crs: pyproj.CRS) -> bool:
    """True for any CRS on the VN-2000 datum, including a ``+towgs84`` near the official one.

    Bound CRSs from ``.prj``/PROJ strings often carry a rounded or sign-flipped copy of
    the 7 parameters (≈1 m off); the translation alone is enough to know the datum.
    """
    if crs.is_bound:
        shift = _towgs84_translation(crs)
        if shift and math.dist(shift, VN2000_TOWGS84[:3]) < 2.0:
            return True
        return _is_vn2000_datum(crs.source_crs)
    return _is_vn2000_datum(crs)


def _with_official_shift(crs: pyproj.CRS) -> pyproj.CRS:
    """Bind ``crs`` to WGS84 with the official VN-2000 parameters, named as EPSG:6960."""
    bound = BoundCRS(crs, WGS84, ToWGS84Transformation(crs.geodetic_crs, *VN2000_TOWGS84))
    spec = bound.to_json_dict()
    spec["transformation"]["name"] = "VN-2000 to WGS 84 (2)"
    spec["transformation"]["id"] = {"authority": "EPSG", "code": VN2000_TO_WGS84_EPSG}
    return pyproj.CRS.from_json_dict(spec)


@lru_cache(maxsize=64)
def transformer_to_wgs84(crs: pyproj.CRS) -> pyproj.Transformer:
    """Transformer from ``crs`` to WGS84 lon/lat (always_xy), cached.

    A VN-2000 source always goes through the official 7-parameter shift (EPSG:6960):
    PROJ would otherwise pick between it and the older "VN-2000 to WGS 84 (1)" at run
    time, and a ``+towgs84`` in a ``.prj`` may be rounded or have its rotations
    sign-flipped (about 1 m off).
    """
    _refuse_deprecated(declared_epsg(crs))
    if is_vn2000(crs):
        source = crs.source_crs if crs.is_bound else crs
        crs = _with_official_shift(source)
    return pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)


# --- recognising an anonymous Transverse Mercator ------------------------------------


@dataclass(frozen=True)
class _TMParams:
    central_meridian: float
    scale: float
    false_easting: float
    false_northing: float
    latitude_of_origin: float


def _tm_params(crs: pyproj.CRS) -> _TMParams | None:
    """Parameters of a Transverse Mercator in metres, or None for anything else."""
    if not crs.is_projected or crs.coordinate_operation is None:
        return None
    operation = crs.coordinate_operation
    if operation.method_name != "Transverse Mercator":
        return None
    if any(axis.unit_conversion_factor != 1.0 for axis in crs.axis_info[:2]):
        return None
    values = {}
    for p in operation.params:
        # Angles in degrees, lengths in metres, whatever unit the WKT used.
        factor = 1.0 if p.unit_category == "scale" else p.unit_conversion_factor
        values[p.name] = p.value * factor
        if p.unit_category == "angular":
            values[p.name] = math.degrees(values[p.name])
    try:
        return _TMParams(
            central_meridian=values["Longitude of natural origin"],
            scale=values["Scale factor at natural origin"],
            false_easting=values["False easting"],
            false_northing=values["False northing"],
            latitude_of_origin=values["Latitude of natural origin"],
        )
    except KeyError:
        return None


def _has_wgs84_ellipsoid(crs: pyproj.CRS) -> bool:
    ellipsoid = crs.ellipsoid
    return (
        ellipsoid is not None
        and abs(ellipsoid.semi_major_metre - 6_378_137.0) < 1e-3
        and abs(ellipsoid.inverse_flattening - 298.257223563) < 1e-6
    )


def _zone_code(table: dict[float, int], central_meridian: float) -> int | None:
    for cm, code in table.items():
        if abs(cm - central_meridian) < 1e-6:
            return code
    return None


def recognise_vn2000(crs: pyproj.CRS) -> pyproj.CRS | None:
    """The EPSG VN-2000 CRS that ``crs`` describes, or None if it is not VN-2000.

    A ``.prj`` often says only "Transverse_Mercator" with a central meridian. A TM
    with k = 0.9999 and false easting 500 000 m on the WGS84 ellipsoid is a VN-2000
    TM-3 zone whatever datum the file names (nothing else in Vietnam uses it). A UTM
    (k = 0.9996) is VN-2000 only when the datum says so: ``WGS 84 / UTM 48N`` stays WGS84.

    >>> recognise_vn2000(pyproj.CRS.from_epsg(32648)) is None
    True
    >>> recognise_vn2000(pyproj.CRS.from_epsg(4326)) is None
    True
    """
    source = crs.source_crs if crs.is_bound else crs
    named_vn2000 = is_vn2000(crs)
    if source.is_geographic:
        return pyproj.CRS.from_epsg(VN2000_GEOGRAPHIC_EPSG) if named_vn2000 else None
    params = _tm_params(source)
    if (
        params is None
        or abs(params.false_easting - _FALSE_EASTING) > 1e-6
        or abs(params.false_northing) > 1e-6
        or abs(params.latitude_of_origin) > 1e-9
        or not _has_wgs84_ellipsoid(source)
    ):
        return None
    if abs(params.scale - _TM3_SCALE) < 1e-9:
        code = _zone_code(VN2000_TM3_EPSG, params.central_meridian)
    elif abs(params.scale - _UTM_SCALE) < 1e-9 and named_vn2000:
        code = _zone_code(VN2000_UTM_EPSG, params.central_meridian)
    else:
        code = None
    return pyproj.CRS.from_epsg(code) if code else None


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
    _refuse_deprecated(code)
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
    _refuse_deprecated(declared_epsg(crs))
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
        provinces = _provinces_of(cm)
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
    _refuse_deprecated(declared_epsg(file_crs))
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
