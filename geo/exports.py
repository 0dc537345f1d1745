"""Export files for dossiers (hồ sơ): growing areas as GeoJSON, GeoPackage, shapefile, KML or EUDR.

No database access: callers pass the records they selected and the fields to write (the growing
areas' schema declares them: ``layers.growing_areas.EXPORT_FIELDS``). Every format keeps
Vietnamese text (UTF-8 throughout, ``.cpg`` declared for shapefiles) and only those fields, so a
person's name passed by mistake never leaves the server (Law 91/2025/QH15).

Shapefile columns (DBF names, at most 10 characters) are the Vietnamese words the provincial
data and our own importer already use (``data/shapefiles/vung_trong.dbf``; aliases in
``layers/growing_areas.py``), so an exported shapefile imports again unchanged. Property ->
DBF: code -> MA_VUNG, crop -> CAY_TRONG, area_ha -> DIEN_TICH (real), cooperative -> HTX,
member_households -> SO_HO (integer), status -> TRANG_THAI, issued_on -> NGAY_CAP (date),
commune_code -> MA_XA, commune_name -> TEN_XA, village_code -> MA_THON, village_name ->
TEN_THON, province_name -> TEN_TINH, version -> PHIEN_BAN (integer), producer_country ->
QUOC_GIA. The fields also hold the Vietnamese labels of KML and the sheet. A DBF text field
holds at most 254 bytes (about 100 Vietnamese letters): GDAL cuts longer values.

Coordinates: WGS84 lon/lat by default. GeoPackage and shapefile can be written in VN-2000
instead (``crs``, see :func:`export_crs`), as provincial offices file them: the province's TM-3
zone, reached from WGS84 through the official shift (Decision 05/2007/QĐ-BTNMT, EPSG:6960), and
declared in the file (the GeoPackage's ``gpkg_spatial_ref_sys``, the shapefile's ``.prj``).
GeoJSON (RFC 7946), KML and EUDR files are WGS84 by definition.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyproj
import shapely
from pyogrio.raw import write as ogr_write
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from geo.area import geodesic_area_ha
from geo.crs import (
    VN2000_GEOGRAPHIC_EPSG,
    VN2000_TM3_EPSG,
    VN2000_UTM_EPSG,
    WGS84,
    crs_label,
    declared_epsg,
    is_vn2000,
    meridian_label,
    province_central_meridian,
    transformer_from_wgs84,
    vn2000_tm3_zone,
)
from geo.crs_source import parse_crs_option
from geo.errors import CRSError, GeometryError, InvalidInput, UnsupportedFormat
from geo.eudr import EUDR_DECIMALS, eudr_geometries, round_geometry, validate_eudr
from geo.values import fold, parse_date, parse_integer, parse_number, parse_text

__all__ = [
    "FORMATS", "PROJECTED_FORMATS", "ExportField", "ExportFeature", "ExportFile", "export",
    "export_crs", "validate_eudr",
]  # fmt: skip

GEOJSON_DECIMALS = 8  # about 1 mm: VN-2000 coordinates given to the centimetre survive
LAYER_NAME = "vung_trong"
DEFAULT_COUNTRY = "VN"
STATUS_VI = {"active": "Còn hiệu lực", "suspended": "Tạm dừng", "revoked": "Đã thu hồi"}

Kind = Literal["str", "int", "float", "date"]


@dataclass(frozen=True)
class ExportFeature:
    """One growing area (vùng trồng) to export: its properties and its WGS84 lon/lat geometry."""

    properties: dict[str, Any]
    geometry: BaseGeometry


@dataclass(frozen=True)
class ExportFile:
    """The bytes of an export file, with what an HTTP response needs to send it."""

    content: bytes
    media_type: str
    filename: str


@dataclass(frozen=True)
class ExportField:
    """One exported column: property name, shapefile (DBF) name, type, Vietnamese label."""

    key: str
    dbf: str
    kind: Kind
    label_vi: str


# format -> (file name suffix, media type)
FORMATS: dict[str, tuple[str, str]] = {
    "geojson": (".geojson", "application/geo+json"),
    "gpkg": (".gpkg", "application/geopackage+sqlite3"),
    "shp": ("-shp.zip", "application/zip"),
    "kml": (".kml", "application/vnd.google-earth.kml+xml"),
    "eudr": ("-eudr.geojson", "application/geo+json"),
}
# The formats that may be written in another CRS than WGS84 (VN-2000).
PROJECTED_FORMATS = ("gpkg", "shp")


def export(
    features: Sequence[ExportFeature],
    fmt: str,
    *,
    title: str,
    fields: Sequence[ExportField],
    points_for_small: bool = False,
    crs: pyproj.CRS | None = None,
) -> ExportFile:
    """Write ``features`` as one file in ``fmt`` (``FORMATS``); ``title`` names the layer and file.

    ``points_for_small`` applies to ``eudr`` only: plots of at most 4 ha become a point inside
    the plot instead of the polygon. ``crs`` (None: WGS84) is the CRS of the written
    coordinates, for ``PROJECTED_FORMATS`` only; areas and the EUDR rules stay on WGS84.
    """
    if fmt not in FORMATS:
        raise UnsupportedFormat(
            f"Không hỗ trợ định dạng xuất “{fmt}”.",
            f"Unsupported export format “{fmt}”.",
            hint_vi="Chọn một trong: " + ", ".join(FORMATS),
            hint_en="Choose one of: " + ", ".join(FORMATS),
        )
    if not features:
        raise InvalidInput(
            "Không có vùng trồng nào để xuất.", "There are no growing areas to export."
        )
    records = [export_record(f.properties, f.geometry, fields=fields) for f in features]
    geoms = [
        _checked_geometry(f.geometry, r["code"]) for f, r in zip(features, records, strict=True)
    ]
    suffix, media_type = FORMATS[fmt]
    projected = crs is not None and not crs.equals(WGS84)
    if projected and fmt not in PROJECTED_FORMATS:
        raise CRSError(
            f"Định dạng {fmt} chỉ ghi được tọa độ WGS84, không ghi được {crs_label(crs)}.",
            f"The {fmt} format holds WGS84 coordinates only, not {crs_label(crs)}.",
            hint_vi="Chọn GeoPackage (gpkg) hoặc shapefile (shp) để xuất theo VN-2000.",
            hint_en="Choose GeoPackage (gpkg) or shapefile (shp) to export in VN-2000.",
        )
    if fmt == "geojson":
        content = _geojson(records, geoms, title)
    elif fmt == "eudr":
        content = _eudr(records, geoms, points_for_small=points_for_small)
    elif projected:
        assert crs is not None
        content = _OGR_WRITERS[fmt](records, _projected(geoms, crs), title, fields, crs=crs)
    else:
        content = _OGR_WRITERS[fmt](records, geoms, title, fields)
    stem = file_stem(title) + (f"-{crs_file_tag(crs)}" if projected and crs else "")
    return ExportFile(content, media_type, stem + suffix)


# --- the CRS of an export ---------------------------------------------------------------------

_WGS84_WORDS = {"", "wgs84", "wgs-84", "wgs 84", "4326", "epsg:4326"}
_VN2000_WORDS = {"vn2000", "vn-2000", "vn 2000", "vn2000-tm3", "vn2000:tm3", "tm3", "tm-3"}


def export_crs(option: str | None, *, provinces: Sequence[str | None] = ()) -> pyproj.CRS | None:
    """The CRS an export is written in, from the ``crs`` a person asked for; None is WGS84.

    ``vn2000`` is the VN-2000 TM-3 zone of the areas' province (``provinces``: the province
    name of each exported area); a zone by EPSG code (``EPSG:9208``, ``9208``), by central
    meridian (``VN2000:104.75``) or by province (``VN2000:Lào Cai``) is taken as given. Only
    WGS84 and VN-2000 (TM-3, UTM or geographic) are offered: they are what offices file.

    >>> export_crs(None), export_crs("wgs84")
    (None, None)
    >>> export_crs("vn2000", provinces=["Lào Cai", "Lào Cai"]).to_epsg()
    9208
    >>> export_crs("VN2000:108").to_epsg(), export_crs("EPSG:9208").to_epsg()
    (5898, 9208)
    >>> export_crs("vn2000")
    Traceback (most recent call last):
    ...
    geo.errors.CRSError: No province is known for these areas, so their VN-2000 zone is unknown.
    """
    text = " ".join((option or "").split())
    if text.lower() in _WGS84_WORDS:
        return None
    if text.lower() in _VN2000_WORDS:
        return _province_zone(provinces)
    crs = parse_crs_option(text)
    if crs.equals(WGS84):
        return None
    code = declared_epsg(crs)
    allowed = {*VN2000_TM3_EPSG.values(), *VN2000_UTM_EPSG.values(), VN2000_GEOGRAPHIC_EPSG}
    if code not in allowed or not is_vn2000(crs):
        raise CRSError(
            f"Không xuất được theo hệ tọa độ {crs_label(crs)}: chỉ xuất WGS84 hoặc VN-2000.",
            f"Cannot export in {crs_label(crs)}: exports are in WGS84 or VN-2000 only.",
            hint_vi="Dùng crs=vn2000 (múi TM-3 của tỉnh), một mã EPSG VN-2000 như EPSG:9208, "
            "hoặc bỏ trống để xuất WGS84.",
            hint_en="Use crs=vn2000 (the province's TM-3 zone), a VN-2000 EPSG code such as "
            "EPSG:9208, or leave it out for WGS84.",
        )
    return crs


def _province_zone(provinces: Sequence[str | None]) -> pyproj.CRS:
    names = sorted({p for p in provinces if p})
    if not names:
        raise CRSError(
            "Chưa biết tỉnh của các vùng trồng này nên chưa biết múi VN-2000 của chúng.",
            "No province is known for these areas, so their VN-2000 zone is unknown.",
            hint_vi="Ghi múi cụ thể, ví dụ crs=EPSG:9208 hoặc crs=VN2000:104.75.",
            hint_en="Name the zone, e.g. crs=EPSG:9208 or crs=VN2000:104.75.",
        )
    meridians = {province_central_meridian(p) for p in names}
    if len(meridians) > 1:
        zones = ", ".join(f"{p} {meridian_label(province_central_meridian(p))}" for p in names)
        raise CRSError(
            f"Các vùng trồng thuộc nhiều múi VN-2000 khác nhau ({zones}).",
            f"The areas lie in provinces of different VN-2000 zones ({zones}).",
            hint_vi="Chọn một múi, ví dụ crs=VN2000:" + names[0] + ", hoặc lọc theo xã.",
            hint_en="Choose one zone, e.g. crs=VN2000:" + names[0] + ", or filter by commune.",
        )
    return vn2000_tm3_zone(meridians.pop())


def crs_file_tag(crs: pyproj.CRS) -> str:
    """What a file name says about its CRS: ``vn2000-9208`` (WGS84 files say nothing).

    >>> crs_file_tag(pyproj.CRS.from_epsg(5898))
    'vn2000-5898'
    """
    code = declared_epsg(crs)
    return f"vn2000-{code}" if code else "vn2000"


def _projected(geoms: list[BaseGeometry], crs: pyproj.CRS) -> list[BaseGeometry]:
    """WGS84 geometries in ``crs``, through the official VN-2000 shift; rings as they were."""
    transformer = transformer_from_wgs84(crs)

    def project(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return [shapely.transform(g, project) for g in geoms]


# --- records ------------------------------------------------------------------------------


def export_record(
    properties: dict[str, Any],
    geometry: BaseGeometry | None = None,
    *,
    fields: Sequence[ExportField],
) -> dict[str, Any]:
    """The ``fields`` of one growing area with Python types; missing ones are None.

    ``producer_country`` comes from the code's prefix ("VN-…") unless given; ``area_ha`` from
    the geometry (on the ellipsoid) when the record has none.

    >>> F = [ExportField("code", "MA_VUNG", "str", "Mã"), ExportField("issued_on", "NGAY_CAP",
    ...      "date", "Ngày cấp"), ExportField("producer_country", "QUOC_GIA", "str", "Quốc gia"),
    ...      ExportField("area_ha", "DIEN_TICH", "float", "Diện tích (ha)")]
    >>> export_record({"code": "VN-10-086-02923-07-24", "issued_on": "15/03/2024"}, fields=F)
    {'code': 'VN-10-086-02923-07-24', 'issued_on': datetime.date(2024, 3, 15), 'producer_country': 'VN', 'area_ha': None}
    >>> export_record({}, fields=F)["producer_country"]
    'VN'
    """
    record: dict[str, Any] = {}
    for f in fields:
        try:
            record[f.key] = _typed(properties.get(f.key), f.kind)
        except ValueError as exc:
            raise InvalidInput(f"{f.label_vi}: {exc}", f"{f.key}: {exc}") from exc
    prefix = (record["code"] or "").split("-")[0]
    country = prefix if re.fullmatch(r"[A-Z]{2}", prefix) else DEFAULT_COUNTRY
    record["producer_country"] = record["producer_country"] or country
    if record["area_ha"] is None and geometry is not None and not geometry.is_empty:
        record["area_ha"] = round(geodesic_area_ha(geometry), 4)
    return record


def _typed(value: Any, kind: Kind) -> Any:
    if value != value:  # NaN and NaT (pandas) are not equal to themselves
        return None
    return _PARSERS[kind](value)


_PARSERS: dict[Kind, Callable[[Any], Any]] = {
    "str": parse_text,  # also NFC, so decomposed Vietnamese compares equal
    "int": parse_integer,
    "float": parse_number,
    "date": parse_date,
}


def _checked_geometry(geom: BaseGeometry | None, code: str | None) -> BaseGeometry:
    if geom is None or geom.is_empty:
        raise GeometryError(
            f"Vùng trồng {code or '(không mã)'} không có ranh giới.",
            f"Growing area {code or '(no code)'} has no geometry.",
        )
    return shapely.orient_polygons(geom)  # RFC 7946: exterior rings counter-clockwise


def file_stem(title: str) -> str:
    """An ASCII file name from a Vietnamese title.

    >>> file_stem("Vùng trồng xã Gia Phú / 2025")
    'vung-trong-xa-gia-phu-2025'
    >>> file_stem("")
    'vung-trong'
    """
    return re.sub(r"[^a-z0-9]+", "-", fold(title)).strip("-")[:80] or "vung-trong"


def format_date_vi(value: dt.date | None) -> str:
    """``2024-03-15`` -> ``"15/03/2024"``; None -> ``""``."""
    return value.strftime("%d/%m/%Y") if value else ""


# --- GeoJSON, written by hand for a fixed number of decimals ----------------------------------


def _coords_text(coords: Any, decimals: int) -> str:
    if len(coords) and isinstance(coords[0], int | float):
        return "[" + ", ".join(f"{c:.{decimals}f}" for c in coords[:2]) + "]"
    return "[" + ", ".join(_coords_text(c, decimals) for c in coords) + "]"


def geometry_text(geom: BaseGeometry, decimals: int) -> str:
    """GeoJSON text of ``geom`` with every coordinate written with exactly ``decimals`` decimals.

    >>> from shapely.geometry import Point
    >>> geometry_text(Point(104.05, 22.3), 6)
    '{"type": "Point", "coordinates": [104.050000, 22.300000]}'
    """
    if geom.geom_type == "GeometryCollection":
        members = ", ".join(geometry_text(g, decimals) for g in geom.geoms)
        return f'{{"type": "GeometryCollection", "geometries": [{members}]}}'
    coords = _coords_text(mapping(geom)["coordinates"], decimals)
    return f'{{"type": "{geom.geom_type}", "coordinates": {coords}}}'


def _feature_text(
    properties: dict[str, Any], geom: BaseGeometry, decimals: int, fid: Any = None
) -> str:
    head: dict[str, Any] = {"type": "Feature"}
    if fid is not None:
        head["id"] = fid
    head["properties"] = properties
    text = json.dumps(head, ensure_ascii=False, default=str)
    return f'{text[:-1]}, "geometry": {geometry_text(geom, decimals)}}}'


def _collection_text(features: list[str], **members: Any) -> bytes:
    head = json.dumps({"type": "FeatureCollection", **members}, ensure_ascii=False)
    body = ",\n".join(features)
    return f'{head[:-1]}, "features": [\n{body}\n]}}\n'.encode()


def geojson_geometry(geom: BaseGeometry) -> BaseGeometry:
    """``geom`` as the GeoJSON export writes it: RFC 7946 ring order, rounded to 8 decimals."""
    return round_geometry(shapely.orient_polygons(geom), GEOJSON_DECIMALS)


def _json_properties(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in record.items()}


def _geojson(records: list[dict[str, Any]], geoms: list[BaseGeometry], title: str) -> bytes:
    features = [
        _feature_text(_json_properties(r), geojson_geometry(g), GEOJSON_DECIMALS, r["code"])
        for r, g in zip(records, geoms, strict=True)
    ]
    return _collection_text(features, name=title)


# --- EUDR ---------------------------------------------------------------------------------


def _producer_name(record: dict[str, Any]) -> str:
    """The cooperative; without one, the area's own code (a person's name is not exported)."""
    return record["cooperative"] or f"Vùng trồng {record['code']}"


def _eudr(
    records: list[dict[str, Any]], geoms: list[BaseGeometry], *, points_for_small: bool
) -> bytes:
    features = []
    for record, geom in zip(records, geoms, strict=True):
        area_ha = record["area_ha"]
        pieces = eudr_geometries(geom, area_ha, points_for_small=points_for_small)
        # Holes cut open give several plots: share the registered area in proportion.
        weights = [geodesic_area_ha(p) if p.area else 1.0 for p in pieces]
        for i, (piece, weight) in enumerate(zip(pieces, weights, strict=True), start=1):
            place = record["code"] if len(pieces) == 1 else f"{record['code']} ({i}/{len(pieces)})"
            properties = {
                "ProducerName": _producer_name(record),
                "ProducerCountry": record["producer_country"],
                "ProductionPlace": place,
                "Area": round(area_ha * weight / sum(weights), 4),
            }
            features.append(_feature_text(properties, piece, EUDR_DECIMALS))
    content = _collection_text(features)
    problems = validate_eudr(content, lang="en")
    if problems:  # our own output must pass our own checker
        raise GeometryError(
            "Tệp EUDR không đạt yêu cầu: " + "; ".join(validate_eudr(content, lang="vi")[:5]),
            "The EUDR file breaks the rules: " + "; ".join(problems[:5]),
            details=problems,
        )
    return content


# --- GeoPackage, shapefile and KML through GDAL (pyogrio) -----------------------------------

Column = tuple[str, Kind, Callable[[dict[str, Any]], Any]]


def _column_arrays(records: list[dict[str, Any]], columns: list[Column]):
    """pyogrio's field arrays, names and null masks; dates as ``datetime64[D]`` (OGR Date)."""
    data, masks = [], []
    for _, kind, get in columns:
        values = [get(r) for r in records]
        mask = np.array([v is None for v in values], dtype=bool)
        if kind == "int":
            array = np.array([0 if v is None else v for v in values], dtype=np.int32)
        elif kind == "float":
            array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        elif kind == "date":
            array = np.array([v.isoformat() if v else "NaT" for v in values], dtype="datetime64[D]")
        else:
            array = np.array(["" if v is None else v for v in values], dtype=object)
        data.append(array)
        masks.append(mask)
    return data, [name for name, _, _ in columns], masks


def _geometry_type(geoms: list[BaseGeometry]) -> tuple[str, bool]:
    """The layer's geometry type, and whether single parts must be promoted to multi."""
    types = {g.geom_type for g in geoms}
    if len(types) == 1:
        return types.pop(), False
    if types <= {"Polygon", "MultiPolygon"}:
        return "MultiPolygon", True
    if types <= {"Point", "MultiPoint"}:
        return "MultiPoint", True
    raise InvalidInput(
        "Không thể ghi lẫn điểm và vùng vào cùng một lớp.",
        "Points and polygons cannot share one layer.",
    )


def _write_layer(
    path: Path, records, geoms, columns: list[Column], crs: pyproj.CRS | None = None,
    **options: Any,
) -> None:  # fmt: skip
    data, names, masks = _column_arrays(records, columns)
    geometry_type, promote = _geometry_type(geoms)
    code = declared_epsg(crs) if crs is not None else 4326
    ogr_write(
        str(path), shapely.to_wkb(np.array(geoms, dtype=object)), data, names,
        field_mask=masks, geometry_type=geometry_type, promote_to_multi=promote,
        crs=f"EPSG:{code}" if code else crs.to_wkt(), **options,  # type: ignore[union-attr]
    )  # fmt: skip


def _plain_columns(fields: Sequence[ExportField], use_dbf_names: bool) -> list[Column]:
    return [(f.dbf if use_dbf_names else f.key, f.kind, lambda r, k=f.key: r[k]) for f in fields]


def _gpkg(records, geoms, title: str, fields: Sequence[ExportField], crs=None) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.gpkg"
        _write_layer(
            path, records, geoms, _plain_columns(fields, False), crs, driver="GPKG",
            layer=LAYER_NAME,
            # 1.2: GDAL before 3.7 (Debian's gdal-bin) warns on the 1.4 files newer GDAL writes.
            dataset_options={"VERSION": "1.2"},
            layer_options={"IDENTIFIER": title or LAYER_NAME, "DESCRIPTION": title},
        )  # fmt: skip
        return path.read_bytes()


def _shp(records, geoms, title: str, fields: Sequence[ExportField], crs=None) -> bytes:
    stem = file_stem(title)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{stem}.shp"
        _write_layer(
            path, records, geoms, _plain_columns(fields, True), crs, driver="ESRI Shapefile",
            layer=stem,
            encoding="UTF-8",
        )  # fmt: skip
        buffer = Path(tmp) / "out.zip"
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for ext in ("shp", "shx", "dbf", "prj", "cpg"):
                archive.write(Path(tmp) / f"{stem}.{ext}", f"{stem}.{ext}")
            archive.comment = title.encode()[:65535]
        return buffer.read_bytes()


def _kml_value(key: str, value: Any) -> Any:
    """What a person reads in Google Earth: Vietnamese status words and dd/mm/yyyy dates."""
    if key == "status" and value is not None:
        return STATUS_VI.get(value, value)
    if isinstance(value, dt.date):
        return format_date_vi(value)
    return value


def _kml(records, geoms, title: str, fields: Sequence[ExportField]) -> bytes:
    # "Name" becomes each placemark's <name>; the other columns are the ExtendedData table,
    # headed by their Vietnamese labels.
    columns: list[Column] = [("Name", "str", lambda r: r["code"])]
    for f in fields:
        kind: Kind = "str" if f.kind == "date" or f.key == "status" else f.kind
        columns.append((f.label_vi, kind, lambda r, k=f.key: _kml_value(k, r[k])))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.kml"
        _write_layer(
            path, records, geoms, columns, driver="LIBKML", layer=LAYER_NAME,
            dataset_options={"NAME": title}, layer_options={"NAME": title},
        )  # fmt: skip
        return path.read_bytes()


_OGR_WRITERS: dict[str, Callable[..., bytes]] = {
    "gpkg": _gpkg,
    "shp": _shp,
    "kml": _kml,
}
