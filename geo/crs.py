"""Coordinate reference systems (hệ tọa độ): VN-2000 zones and names, the official shift to
WGS84, and recognising an anonymous VN-2000 projection. Which CRS an input file is in (the
``--crs`` option, guesses from its coordinates) is ``geo.crs_source``."""

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

_TM3_SCALE = 0.9999
_UTM_SCALE = 0.9996
_FALSE_EASTING = 500_000.0


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


def provinces_of(central_meridian: float) -> list[str]:
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


def refuse_deprecated(code: int | None) -> None:
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
    refuse_deprecated(declared_epsg(crs))
    if is_vn2000(crs):
        source = crs.source_crs if crs.is_bound else crs
        crs = _with_official_shift(source)
    return pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)


@lru_cache(maxsize=64)
def transformer_from_wgs84(crs: pyproj.CRS) -> pyproj.Transformer:
    """Transformer from WGS84 lon/lat to ``crs`` (always_xy), cached: the inverse of
    :func:`transformer_to_wgs84`, through the same official VN-2000 shift (EPSG:6960)."""
    refuse_deprecated(declared_epsg(crs))
    if is_vn2000(crs):
        source = crs.source_crs if crs.is_bound else crs
        crs = _with_official_shift(source)
    return pyproj.Transformer.from_crs(WGS84, crs, always_xy=True)


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
