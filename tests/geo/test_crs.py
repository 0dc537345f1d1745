"""Tests for geo.crs: VN-2000 zones, the official shift checked by hand, CRS recognition and guessing."""

from __future__ import annotations

import math

import numpy as np
import pyproj
import pytest
from pyproj.database import query_crs_info
from pyproj.enums import PJType, TransformDirection

from geo.crs import (
    DEPRECATED_SWAPPED_EPSG,
    PROVINCE_CENTRAL_MERIDIAN,
    VIETNAM_BOUNDS_WGS84,
    VN2000_TM3_EPSG,
    VN2000_TOWGS84,
    VN2000_UTM_EPSG,
    crs_label,
    meridian_label,
    province_central_meridian,
    recognise_vn2000,
    transformer_to_wgs84,
)
from geo.crs_source import check_in_vietnam, parse_crs_option, resolve_source_crs, suggest_crs
from geo.errors import CRSError

GEOD = pyproj.Geod(ellps="WGS84")

# .prj texts as ArcGIS writes them for VN-2000 data; each string appears verbatim in
# public Vietnamese GIS projects (provincial web maps of Bình Định, Quảng Nam, HCM City).
PRJ_BINH_DINH_TM3 = (
    'PROJCS["VN_2000_KT108-15_3deg",GEOGCS["GCS_VN_2000",DATUM["D_Vietnam_2000",'
    'SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",108.25],PARAMETER["Scale_Factor",0.9999],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)
PRJ_QUANG_NAM_TM3 = PRJ_BINH_DINH_TM3.replace("VN_2000_KT108-15_3deg", "QUANG NAM_VN2000").replace(
    '"Central_Meridian",108.25', '"Central_Meridian",107.75'
)
PRJ_HCM_TM3 = PRJ_BINH_DINH_TM3.replace("VN_2000_KT108-15_3deg", "TPHCM_VN2000").replace(
    '"Central_Meridian",108.25', '"Central_Meridian",105.75'
)
PRJ_VN2000_UTM48 = (
    'PROJCS["VN_2000_UTM_zone_48N",GEOGCS["GCS_VN-2000",DATUM["D_Vietnam_2000",'
    'SPHEROID["WGS_1984",6378137,298.257223563]],PRIMEM["Greenwich",0],'
    'UNIT["Degree",0.017453292519943295]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",105],'
    'PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],'
    'PARAMETER["false_northing",0],UNIT["Meter",1]]'
)


def _anonymous_tm(geogcs: str, central_meridian: float, scale: float, false_easting=500000.0):
    """A bare "Transverse_Mercator" .prj as many tools write when they lose the CRS name."""
    return (
        f'PROJCS["Transverse_Mercator",{geogcs},PROJECTION["Transverse_Mercator"],'
        f'PARAMETER["central_meridian",{central_meridian}],PARAMETER["scale_factor",{scale}],'
        f'PARAMETER["false_easting",{false_easting}],PARAMETER["false_northing",0],'
        'PARAMETER["latitude_of_origin",0],UNIT["Meter",1]]'
    )


GCS_UNKNOWN = (
    'GEOGCS["GCS_unknown",DATUM["D_unknown",SPHEROID["WGS_1984",6378137.0,298.257223563]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
)
GCS_WGS84 = (
    'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
)
# The 7 parameters with the rotations' signs flipped, as circulated in many PROJ strings.
PROJ_FLIPPED_ROTATIONS = (
    "+proj=tmerc +lat_0=0 +lon_0=105.75 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 "
    "+towgs84=-191.90441429,-39.30318279,-111.45032835,-0.00928836,0.01975479,-0.00427372,"
    "0.252906278 +units=m +no_defs"
)


# --- an independent VN-2000 -> WGS84 computation ----------------------------------------

A = 6378137.0
F = 1 / 298.257223563
# Decision 05/2007/QĐ-BTNMT in position-vector form, copied here (not imported) so a
# slip in geo.crs cannot hide itself: tx, ty, tz (m), rx, ry, rz (″), scale (ppm).
OFFICIAL_TOWGS84 = (
    -191.90441429,
    -39.30318279,
    -111.45032835,
    0.00928836,
    -0.01975479,
    0.00427372,
    0.252906278,
)
E2 = F * (2 - F)


def _tm_inverse(x, y, lon0_deg, k0=0.9999, false_easting=500000.0):
    """Krüger's series (4th order in n) for the inverse Transverse Mercator on WGS84."""
    n = F / (2 - F)
    rect = A / (1 + n) * (1 + n**2 / 4 + n**4 / 64)
    beta = [
        n / 2 - 2 * n**2 / 3 + 37 * n**3 / 96 - n**4 / 360,
        n**2 / 48 + n**3 / 15 - 437 * n**4 / 1440,
        17 * n**3 / 480 - 37 * n**4 / 840,
        4397 * n**4 / 161280,
    ]
    delta = [
        2 * n - 2 * n**2 / 3 - 2 * n**3 + 116 * n**4 / 45,
        7 * n**2 / 3 - 8 * n**3 / 5 - 227 * n**4 / 45,
        56 * n**3 / 15 - 136 * n**4 / 35,
        4279 * n**4 / 630,
    ]
    xi = np.asarray(y, float) / (k0 * rect)
    eta = (np.asarray(x, float) - false_easting) / (k0 * rect)
    xi_p, eta_p = xi.copy(), eta.copy()
    for j, b in enumerate(beta, start=1):
        xi_p -= b * np.sin(2 * j * xi) * np.cosh(2 * j * eta)
        eta_p -= b * np.cos(2 * j * xi) * np.sinh(2 * j * eta)
    chi = np.arcsin(np.sin(xi_p) / np.cosh(eta_p))
    lat = chi + sum(d * np.sin(2 * j * chi) for j, d in enumerate(delta, start=1))
    lon = np.radians(lon0_deg) + np.arctan2(np.sinh(eta_p), np.cos(xi_p))
    return lon, lat


def _to_geocentric(lon, lat, h=0.0):
    n = A / np.sqrt(1 - E2 * np.sin(lat) ** 2)
    return np.array(
        [
            (n + h) * np.cos(lat) * np.cos(lon),
            (n + h) * np.cos(lat) * np.sin(lon),
            (n * (1 - E2) + h) * np.sin(lat),
        ]
    )


def _helmert_position_vector(xyz, params):
    tx, ty, tz, rx, ry, rz, s = params
    rx, ry, rz = (math.radians(r / 3600) for r in (rx, ry, rz))
    rotation = np.array([[1, -rz, ry], [rz, 1, -rx], [-ry, rx, 1]])
    return np.array([[tx], [ty], [tz]]) + (1 + s * 1e-6) * rotation @ xyz


def _to_geographic(xyz):
    x, y, z = xyz
    p = np.hypot(x, y)
    lat = np.arctan2(z, p * (1 - E2))
    for _ in range(10):  # converges to 1e-12 rad in 3-4 rounds
        n = A / np.sqrt(1 - E2 * np.sin(lat) ** 2)
        lat = np.arctan2(z + E2 * n * np.sin(lat), p)
    return np.degrees(np.arctan2(y, x)), np.degrees(lat)


def _by_hand(x, y, lon0_deg):
    lon, lat = _tm_inverse(x, y, lon0_deg)
    return _to_geographic(_helmert_position_vector(_to_geocentric(lon, lat), OFFICIAL_TOWGS84))


def _distance_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


# Gia Phú (Lào Cai), Tịnh Long (Quảng Ngãi), HCM City, Cà Mau, and one 390 km off its meridian.
KNOWN_POINTS = [
    (9208, 104.75, 436_000.0, 2_478_000.0),
    (5898, 108.0, 591_000.0, 1_677_000.0),
    (9210, 105.75, 604_000.0, 1_192_000.0),
    (9207, 104.5, 555_000.0, 1_017_000.0),
    (5899, 107.75, 110_000.0, 1_850_000.0),
]


@pytest.mark.parametrize(("code", "lon0", "x", "y"), KNOWN_POINTS)
def test_tm3_to_wgs84_matches_hand_computation(code, lon0, x, y):
    lon, lat = transformer_to_wgs84(pyproj.CRS.from_epsg(code)).transform(x, y)
    hand_lon, hand_lat = _by_hand(np.array([x]), np.array([y]), lon0)
    assert _distance_m(lon, lat, hand_lon[0], hand_lat[0]) < 0.01


def test_hand_computation_is_not_the_identity():
    # Guards the check above: without the Helmert shift the result moves by ~200 m.
    lon, lat = _to_geographic(
        _to_geocentric(*_tm_inverse(np.array([436_000.0]), [2_478_000.0], 104.75))
    )
    shifted = _by_hand(np.array([436_000.0]), np.array([2_478_000.0]), 104.75)
    assert 100 < _distance_m(lon[0], lat[0], shifted[0][0], shifted[1][0]) < 400


def test_vn2000_geographic_to_wgs84_matches_hand_computation():
    lon, lat = 105.85, 21.03  # Hà Nội, read as VN-2000 lon/lat
    got = transformer_to_wgs84(pyproj.CRS.from_epsg(4756)).transform(lon, lat)
    xyz = _to_geocentric(np.radians([lon]), np.radians([lat]))
    hand_lon, hand_lat = _to_geographic(_helmert_position_vector(xyz, OFFICIAL_TOWGS84))
    assert _distance_m(got[0], got[1], hand_lon[0], hand_lat[0]) < 0.01


def _dms(d: int, m: int, s: float) -> float:
    return d + m / 60 + s / 3600


# Port-water limits of Khánh Hòa (Circular 20/2019/TT-BGTVT), published in both systems
# to 0.1″: (VN-2000 lat, lon), (WGS84 lat, lon).
PUBLISHED_PAIRS = [
    ((_dms(12, 33, 39.7), _dms(109, 25, 53.6)), (_dms(12, 33, 36.0), _dms(109, 26, 0.0))),
    ((_dms(12, 14, 17.7), _dms(109, 15, 53.6)), (_dms(12, 14, 14.0), _dms(109, 16, 0.0))),
    ((_dms(11, 54, 0.0), _dms(109, 10, 21.3)), (_dms(11, 53, 56.3), _dms(109, 10, 27.8))),
]


@pytest.mark.parametrize(("vn2000", "wgs84"), PUBLISHED_PAIRS)
def test_vn2000_to_wgs84_matches_published_coordinates(vn2000, wgs84):
    lon, lat = transformer_to_wgs84(pyproj.CRS.from_epsg(4756)).transform(vn2000[1], vn2000[0])
    # Both sides are rounded to 0.1″, so they may differ by up to 0.1″ per axis.
    assert abs(lat - wgs84[0]) * 3600 <= 0.1
    assert abs(lon - wgs84[1]) * 3600 <= 0.1


@pytest.mark.parametrize(("code", "lon0", "x", "y"), KNOWN_POINTS)
def test_round_trip_wgs84_vn2000_wgs84(code, lon0, x, y):
    transformer = transformer_to_wgs84(pyproj.CRS.from_epsg(code))
    lon, lat = transformer.transform(x, y)  # a WGS84 point in the zone
    vn_x, vn_y = transformer.transform(lon, lat, direction=TransformDirection.INVERSE)
    again = transformer.transform(vn_x, vn_y)
    # The shift changes ellipsoidal height by about 33 m and a 2D transform drops it,
    # which alone costs up to ~1.2 mm; anything more would be a real inconsistency.
    assert _distance_m(lon, lat, *again) < 0.002
    assert math.hypot(vn_x - x, vn_y - y) < 0.002


def test_module_parameters_are_the_official_ones():
    assert VN2000_TOWGS84 == OFFICIAL_TOWGS84


def test_transformer_uses_the_official_parameters():
    transformer = transformer_to_wgs84(pyproj.CRS.from_epsg(9208))
    assert "VN-2000 to WGS 84 (2)" in transformer.description
    assert "x=-191.90441429" in transformer.definition
    assert "rx=0.00928836" in transformer.definition
    assert "convention=position_vector" in transformer.definition


def test_transformer_replaces_a_sign_flipped_towgs84():
    flipped = pyproj.CRS(PROJ_FLIPPED_ROTATIONS)
    official = transformer_to_wgs84(pyproj.CRS.from_epsg(9210)).transform(604_000, 1_192_000)
    as_proj_reads_it = pyproj.Transformer.from_crs(flipped, 4326, always_xy=True).transform(
        604_000, 1_192_000
    )
    ours = transformer_to_wgs84(flipped).transform(604_000, 1_192_000)
    assert _distance_m(*as_proj_reads_it, *official) > 0.3
    assert _distance_m(*ours, *official) < 0.001


def test_transformer_is_cached_and_leaves_wgs84_alone():
    crs = pyproj.CRS.from_epsg(32648)
    assert transformer_to_wgs84(crs) is transformer_to_wgs84(pyproj.CRS.from_epsg(32648))
    lon, lat = transformer_to_wgs84(crs).transform(500_000, 2_000_000)
    assert lon == pytest.approx(105.0)
    assert lat == pytest.approx(18.09, abs=0.01)


def test_transformer_refuses_deprecated_codes():
    with pytest.raises(CRSError) as caught:
        transformer_to_wgs84(pyproj.CRS.from_epsg(6956))
    assert "EPSG:5896" in caught.value.hint_en


# --- the zone tables against the PROJ database ------------------------------------------


def _conversion(code: int) -> dict[str, float]:
    crs = pyproj.CRS.from_epsg(code)
    return {p.name: p.value for p in crs.coordinate_operation.params}


@pytest.mark.parametrize(("central_meridian", "code"), sorted(VN2000_TM3_EPSG.items()))
def test_tm3_codes_have_the_central_meridian_we_say(central_meridian, code):
    crs = pyproj.CRS.from_epsg(code)
    params = _conversion(code)
    assert params["Longitude of natural origin"] == central_meridian
    assert params["Scale factor at natural origin"] == 0.9999
    assert params["False easting"] == 500000
    assert crs.datum.name == "Vietnam 2000"
    assert not crs.is_deprecated


def test_tm3_table_lists_every_zone_in_the_proj_database():
    in_proj = {
        int(info.code)
        for info in query_crs_info(auth_name="EPSG", pj_types=PJType.PROJECTED_CRS)
        if info.name.startswith("VN-2000 / TM-3") and not info.deprecated
    }
    assert in_proj == set(VN2000_TM3_EPSG.values())


@pytest.mark.parametrize(("central_meridian", "code"), sorted(VN2000_UTM_EPSG.items()))
def test_utm_codes(central_meridian, code):
    params = _conversion(code)
    assert params["Longitude of natural origin"] == central_meridian
    assert params["Scale factor at natural origin"] == 0.9996


@pytest.mark.parametrize(("old", "new"), sorted(DEPRECATED_SWAPPED_EPSG.items()))
def test_deprecated_codes_swap_axes_and_map_to_the_same_zone(old, new):
    old_params, new_params = _conversion(old), _conversion(new)
    assert pyproj.CRS.from_epsg(old).is_deprecated
    assert old_params["False northing"] == 500000  # the swap: FE sits on the northing
    assert old_params["Longitude of natural origin"] == new_params["Longitude of natural origin"]


# --- provinces -----------------------------------------------------------------------------


def test_province_table_covers_the_63_provinces_with_existing_zones():
    assert len(PROVINCE_CENTRAL_MERIDIAN) == 63
    assert set(PROVINCE_CENTRAL_MERIDIAN.values()) <= set(VN2000_TM3_EPSG)


@pytest.mark.parametrize(
    ("name", "central_meridian"),
    [
        ("Lào Cai", 104.75),
        ("lao cai", 104.75),
        ("LÀO CAI", 104.75),
        ("Nghệ An", 104.75),
        ("Phú Thọ", 104.75),
        ("Yên Bái", 104.75),
        ("An Giang", 104.75),
        ("Quảng Ngãi", 108.0),
        ("Hà Nội", 105.0),
        ("TP. Hồ Chí Minh", 105.75),
        ("Thành phố Hồ Chí Minh", 105.75),
        ("tp hcm", 105.75),
        ("Thanh Hoá", 105.0),  # old-style tone mark placement
        ("Tỉnh Đắk Lắk", 108.5),
        ("Bà Rịa–Vũng Tàu", 107.75),
    ],
)
def test_province_lookup_ignores_case_diacritics_and_prefixes(name, central_meridian):
    assert province_central_meridian(name) == central_meridian


def test_unknown_province_suggests_close_names():
    with pytest.raises(CRSError) as caught:
        province_central_meridian("Lao Kai")
    assert "Lào Cai" in caught.value.hint_en
    assert "Lào Cai" in caught.value.hint_vi


# --- recognising .prj files --------------------------------------------------------------


@pytest.mark.parametrize(
    ("wkt", "code"),
    [
        (PRJ_BINH_DINH_TM3, 9217),
        (PRJ_QUANG_NAM_TM3, 5899),
        (PRJ_HCM_TM3, 9210),
        (PRJ_VN2000_UTM48, 3405),
        (_anonymous_tm(GCS_UNKNOWN, 104.75, 0.9999), 9208),
        (_anonymous_tm(GCS_WGS84, 104.75, 0.9999), 9208),
        (PROJ_FLIPPED_ROTATIONS, 9210),
        ("EPSG:9208", 9208),
        ("EPSG:4756", 4756),
    ],
)
def test_recognise_vn2000(wkt, code):
    recognised = recognise_vn2000(pyproj.CRS.from_user_input(wkt))
    assert recognised is not None
    assert recognised.to_epsg() == code


@pytest.mark.parametrize(
    "wkt",
    [
        "EPSG:32648",  # WGS 84 / UTM 48N must stay WGS84
        "EPSG:4326",
        _anonymous_tm(GCS_WGS84, 105, 0.9996),  # an anonymous WGS84 UTM 48N
        _anonymous_tm(GCS_UNKNOWN, 105, 0.9996),  # UTM without a VN-2000 datum name
        _anonymous_tm(GCS_UNKNOWN, 104.6, 0.9999),  # no such zone
        _anonymous_tm(GCS_UNKNOWN, 104.75, 0.9999, false_easting=0),
        "EPSG:2044",  # Hanoi 1972 Gauss-Krüger
    ],
)
def test_not_recognised_as_vn2000(wkt):
    assert recognise_vn2000(pyproj.CRS.from_user_input(wkt)) is None


# --- the --crs option ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("EPSG:5898", 5898),
        ("epsg:5898", 5898),
        ("5898", 5898),
        ("4326", 4326),
        ("VN2000", 4756),
        ("VN-2000", 4756),
        ("VN2000:105.75", 9210),
        ("VN2000-TM3:105.75", 9210),
        ("VN2000:105d45", 9210),
        ("VN2000:105°45′", 9210),
        ("VN2000:104-45", 9208),
        ("VN2000:105", 5897),
        ("VN2000:Lào Cai", 9208),
        ("VN2000:lao cai", 9208),
        ("VN2000:Quảng Ngãi", 5898),
        ("VN2000-TM3:TP Hồ Chí Minh", 9210),
    ],
)
def test_parse_crs_option(text, code):
    assert parse_crs_option(text).to_epsg() == code


@pytest.mark.parametrize(("old", "new"), sorted(DEPRECATED_SWAPPED_EPSG.items()))
def test_parse_crs_option_refuses_deprecated_and_names_the_replacement(old, new):
    with pytest.raises(CRSError) as caught:
        parse_crs_option(f"EPSG:{old}")
    assert f"EPSG:{new}" in caught.value.hint_en
    assert f"EPSG:{new}" in caught.value.hint_vi


@pytest.mark.parametrize(
    "text",
    ["", "WGS84 please", "EPSG:999999", "VN2000:Atlantis", "VN2000:104.6", "VN2000-TM3", "VN3000"],
)
def test_parse_crs_option_rejects_unknown_with_examples(text):
    with pytest.raises(CRSError) as caught:
        parse_crs_option(text)
    assert caught.value.hint_en and caught.value.hint_vi
    assert "VN2000:" in caught.value.hint_en


# --- extent and suggestions ---------------------------------------------------------------


@pytest.mark.parametrize(
    "bounds",
    [
        (105.75, 21.0, 105.9, 21.1),  # Hà Nội
        (103.84, 10.0, 104.1, 10.45),  # Phú Quốc
        (106.53, 8.65, 106.7, 8.75),  # Côn Đảo
        (111.6, 16.4, 111.8, 16.6),  # Hoàng Sa
        (111.9, 8.6, 112.0, 8.7),  # Trường Sa
        (102.14, 22.39, 102.2, 22.45),  # A Pa Chải, the westernmost point
    ],
)
def test_check_in_vietnam_accepts_mainland_and_islands(bounds):
    assert check_in_vietnam(bounds, source_crs_label="EPSG:4326 WGS 84") is None


def test_vietnam_bounds_are_lon_lat():
    lon_min, lat_min, lon_max, lat_max = VIETNAM_BOUNDS_WGS84
    assert 100 < lon_min < lon_max < 120
    assert 0 < lat_min < lat_max < 25


def test_check_in_vietnam_suggests_tm3_for_metres_read_as_wgs84():
    metres = (436_000.0, 2_478_000.0, 437_000.0, 2_479_000.0)
    with pytest.raises(CRSError) as caught:
        check_in_vietnam(
            (float("inf"),) * 4, source_crs_label="EPSG:4326 WGS 84", source_bounds=metres
        )
    assert "EPSG:4326 WGS 84" in caught.value.en
    assert "EPSG:9208" in caught.value.details
    assert "--crs" in caught.value.hint_en and "--crs" in caught.value.hint_vi


def test_check_in_vietnam_spots_swapped_lat_lon():
    with pytest.raises(CRSError) as caught:
        check_in_vietnam((21.0, 105.75, 21.1, 105.9), source_crs_label="EPSG:4326 WGS 84")
    assert "swapped" in caught.value.hint_en
    assert "đảo chỗ" in caught.value.hint_vi


def test_check_in_vietnam_refuses_partly_outside():
    with pytest.raises(CRSError):
        check_in_vietnam((100.0, 20.0, 105.0, 21.0), source_crs_label="EPSG:4326 WGS 84")


def test_suggest_degrees_inside_vietnam():
    options = [s.option for s in suggest_crs((105.8, 21.0, 105.9, 21.1))]
    assert options == ["EPSG:4326", "EPSG:4756"]


def test_suggest_tm3_metres_names_zones_with_provinces():
    suggestions = suggest_crs((436_000.0, 2_478_000.0, 437_000.0, 2_479_000.0))
    by_option = {s.option: s for s in suggestions}
    assert "Lào Cai" in by_option["EPSG:9208"].en
    assert "104°45′" in by_option["EPSG:9208"].vi
    assert {"EPSG:3405", "EPSG:3406"} <= set(by_option)


def test_suggest_drops_zones_that_would_put_data_outside_vietnam():
    # 390 km west of the meridian: only eastern zones keep the data in Vietnam.
    options = {s.option for s in suggest_crs((110_000.0, 1_850_000.0, 111_000.0, 1_851_000.0))}
    assert "EPSG:5899" in options
    assert "EPSG:9205" not in options


def test_suggest_zone_prefix():
    [suggestion] = suggest_crs((48_436_000.0, 2_478_000.0, 48_437_000.0, 2_479_000.0))
    assert suggestion.option == "EPSG:3405"
    assert "48 000 000" in suggestion.en


def test_suggest_swapped_easting_northing():
    [suggestion] = suggest_crs((2_478_000.0, 436_000.0, 2_479_000.0, 437_000.0))
    assert "swapped" in suggestion.en
    assert "6956" in suggestion.en


@pytest.mark.parametrize("bounds", [(1e7, 1e7, 2e7, 2e7), (2.3, 48.8, 2.4, 48.9), (math.nan,) * 4])
def test_suggest_not_vietnamese(bounds):
    [suggestion] = suggest_crs(bounds)
    assert suggestion.option is None
    assert "not look Vietnamese" in suggestion.en


# --- resolving the source CRS ----------------------------------------------------------------

LAO_CAI_METRES = (436_000.0, 2_478_000.0, 437_000.0, 2_479_000.0)


def test_resolve_option_wins_over_the_file():
    resolved = resolve_source_crs(
        option="VN2000:Lào Cai", file_crs=pyproj.CRS(PRJ_HCM_TM3), bounds=LAO_CAI_METRES
    )
    assert resolved.crs.to_epsg() == 9208
    assert resolved.label == "EPSG:9208 VN-2000 / TM-3 104-45"
    assert "TPHCM_VN2000" in resolved.note_en and "--crs" in resolved.note_en
    assert "TPHCM_VN2000" in resolved.note_vi


def test_resolve_recognises_an_anonymous_tm():
    prj = _anonymous_tm(GCS_UNKNOWN, 104.75, 0.9999)
    resolved = resolve_source_crs(option=None, file_crs=pyproj.CRS(prj), bounds=LAO_CAI_METRES)
    assert resolved.crs.to_epsg() == 9208
    assert "Recognised" in resolved.note_en
    assert "Nhận ra" in resolved.note_vi


def test_resolve_reads_an_epsg_file_crs():
    resolved = resolve_source_crs(
        option=None, file_crs=pyproj.CRS.from_epsg(9208), bounds=LAO_CAI_METRES
    )
    assert resolved.crs.to_epsg() == 9208
    assert "read from the file" in resolved.note_en


def test_resolve_assumes_wgs84_for_degrees_without_crs():
    resolved = resolve_source_crs(option=None, file_crs=None, bounds=(104.1, 22.3, 104.2, 22.4))
    assert resolved.crs.to_epsg() == 4326
    assert "assuming WGS84" in resolved.note_en
    assert "VN2000" in resolved.note_vi


def test_resolve_refuses_metres_without_crs():
    with pytest.raises(CRSError) as caught:
        resolve_source_crs(option=None, file_crs=None, bounds=LAO_CAI_METRES)
    assert "--crs EPSG:" in caught.value.hint_en
    assert "EPSG:9208" in caught.value.hint_en
    assert "EPSG:9208" in caught.value.details


def test_resolve_refuses_a_wgs84_prj_over_metres():
    with pytest.raises(CRSError) as caught:
        resolve_source_crs(option=None, file_crs=pyproj.CRS(4326), bounds=LAO_CAI_METRES)
    assert "metres" in caught.value.en
    assert "EPSG:9208" in caught.value.details


def test_resolve_refuses_a_deprecated_file_crs():
    with pytest.raises(CRSError, match="EPSG:6958"):
        resolve_source_crs(option=None, file_crs=pyproj.CRS(6958), bounds=LAO_CAI_METRES)


def test_labels():
    assert crs_label(pyproj.CRS(9208)) == "EPSG:9208 VN-2000 / TM-3 104-45"
    assert crs_label(pyproj.CRS(PRJ_HCM_TM3)) == "TPHCM_VN2000"
    assert meridian_label(104.75) == "104°45′"
    assert meridian_label(105.0) == "105°"
