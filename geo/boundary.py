"""A growing area's boundary from an uploaded file: a drawn polygon (KML/KMZ, GeoJSON, zipped
shapefile, GeoPackage) or the GPS points walked around the field (GPX, CSV), in WGS84."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyogrio
from shapely.geometry import LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from geo.errors import AgriMapError, InvalidInput

from .geometry import GeometryLimits, check_finite, check_size
from .readers import ArchiveLimits, read_table, reproject

GPX_LAYERS = ("tracks", "track_points", "routes", "route_points", "waypoints")


def _gpx_layer(path: Path) -> str | None:
    """The first GPX layer that holds something (a track before loose waypoints)."""
    present = {name for name, _ in pyogrio.list_layers(path)}
    for name in GPX_LAYERS:
        if (
            name in present
            and pyogrio.read_info(path, layer=name, force_feature_count=True)["features"] > 0
        ):
            return name
    return None


def _walk_polygon(vertices: list[tuple[float, float]]) -> Polygon:
    if len(vertices) < 3:
        raise InvalidInput(
            f"Chỉ có {len(vertices)} điểm GPS: cần ít nhất 3 điểm đi quanh thửa.",
            f"Only {len(vertices)} GPS points: at least 3 around the field are needed.",
        )
    return Polygon(vertices)


def boundary_from_geometries(geoms: list[BaseGeometry]) -> MultiPolygon:
    """One boundary from a file's geometries: its polygon, or the walk traced by its points."""
    polys = [g for g in geoms if isinstance(g, Polygon | MultiPolygon)]
    if polys:
        if len(polys) > 1:
            raise InvalidInput(
                f"Tệp có {len(polys)} vùng; mỗi lần chỉ đăng ký một vùng trồng.",
                f"The file holds {len(polys)} polygons; register one growing area at a time.",
                hint_vi="Tách tệp, hoặc dùng `agrimap import` để nhập nhiều vùng.",
                hint_en="Split the file, or use `agrimap import` for many areas.",
            )
        g = polys[0]
        return g if isinstance(g, MultiPolygon) else MultiPolygon([g])
    lines = [g for g in geoms if isinstance(g, LineString | MultiLineString)]
    if lines:
        coords = [
            c[:2] for line in lines for part in getattr(line, "geoms", [line]) for c in part.coords
        ]
        return MultiPolygon([_walk_polygon(coords)])
    points = [c[:2] for g in geoms if isinstance(g, Point | MultiPoint)
              for p in getattr(g, "geoms", [g]) for c in p.coords]  # fmt: skip
    if points:
        return MultiPolygon([_walk_polygon(points)])
    raise InvalidInput(
        "Tệp không có vùng, đường hay điểm nào.",
        "The file holds no polygon, line or point.",
    )


def boundary_from_file(
    path: Path,
    crs: str | None = None,
    *,
    archive_limits: ArchiveLimits = ArchiveLimits(),
    geometry_limits: GeometryLimits = GeometryLimits(),
) -> tuple[MultiPolygon, str]:
    """Read and reproject a boundary; returns it with a Vietnamese note on how it was read.
    Archives within ``archive_limits``; the boundary within ``geometry_limits`` and finite."""
    layer = _gpx_layer(path) if path.suffix.lower() == ".gpx" else None
    table = read_table(path, source_layer=layer, archive_limits=archive_limits)
    geoms, label, _ = reproject(table, crs)
    boundary = boundary_from_geometries([g for g in geoms if g is not None])
    check_size(boundary, geometry_limits)
    check_finite(boundary)
    kind = "vùng" if len(table.geometry) and isinstance(
        next(g for g in table.geometry if g is not None), Polygon | MultiPolygon
    ) else "các điểm GPS theo thứ tự"  # fmt: skip
    return boundary, f"Đọc {kind} từ {path.name} ({label})."


# --- uploads (issue 17) -------------------------------------------------------------------

MAX_NAME_BYTES = 200


def upload_name(filename: str | None) -> str:
    """The uploaded file's own name, safe to create in a folder of ours: no folders, no
    '.'/'..', no control characters, at most MAX_NAME_BYTES bytes (else a 400 saying so).

    >>> upload_name("C:\\\\Users\\\\an\\\\ranh_gioi.kml"), upload_name(None)
    ('ranh_gioi.kml', 'boundary')
    """
    name = (filename or "boundary").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if (
        name in ("", ".", "..")
        or len(name.encode()) > MAX_NAME_BYTES
        or any(ord(c) < 32 or c == "\x7f" for c in name)
    ):
        shown = name[:40] + ("…" if len(name) > 40 else "")
        raise InvalidInput(
            f"Tên tệp không dùng được: {shown!r} (tối đa {MAX_NAME_BYTES} byte, không phải '.' hay '..').",
            f"The file name cannot be used: {shown!r} (at most {MAX_NAME_BYTES} bytes, not '.' or '..').",
            hint_vi="Đổi tên tệp cho ngắn, ví dụ ranh_gioi.kml, rồi tải lên lại.",
            hint_en="Rename the file to something short, e.g. boundary.kml, and upload it again.",
        )
    return name


def _without_folder(exc: AgriMapError, folder: str) -> AgriMapError:
    """The error with our temporary folder's path taken out of every text (GDAL's messages
    name the file it read): a client sees its file's name, never the server's paths."""
    for attr in ("vi", "en", "hint_vi", "hint_en"):
        setattr(exc, attr, getattr(exc, attr).replace(folder + "/", "").replace(folder, ""))
    exc.details = [d.replace(folder + "/", "").replace(folder, "") for d in exc.details]
    exc.args = (exc.en,)
    return exc


def boundary_from_upload(
    data: bytes,
    name: str,
    crs: str | None = None,
    *,
    archive_limits: ArchiveLimits = ArchiveLimits(),
    geometry_limits: GeometryLimits = GeometryLimits(),
) -> tuple[MultiPolygon, str]:
    """``boundary_from_file`` of an uploaded file's bytes (``name`` from ``upload_name``),
    written to a temporary folder that no error message names."""
    with tempfile.TemporaryDirectory(prefix="agrimap-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            return boundary_from_file(
                path, crs, archive_limits=archive_limits, geometry_limits=geometry_limits
            )
        except AgriMapError as exc:
            raise _without_folder(exc, str(Path(tmp).resolve())) from None
