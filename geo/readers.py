"""Read the files communes send (Shapefile, zip, GeoPackage, GeoJSON, KML/KMZ, CSV) into one table."""

from __future__ import annotations

import io
import logging
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from geo import crs as vncrs
from geo import crs_source
from geo.errors import InvalidInput, TooLarge, UnsupportedFormat
from geo.values import fold, format_number

log = logging.getLogger(__name__)

VECTOR_SUFFIXES = {".shp", ".gpkg", ".geojson", ".json", ".kml", ".csv", ".xlsx"}
# Columns whose name says what they hold, and the bare X/Y of survey tables, which Vietnamese
# surveyors use the other way round (X northing, Y easting) from GIS habit.
EAST_NAMES = ("lon", "lng", "long", "longitude", "kinh do", "easting")
NORTH_NAMES = ("lat", "latitude", "vi do", "northing")
X_NAMES = ("x", "toa do x", "toa_do_x", "x (m)", "x_m")
Y_NAMES = ("y", "toa do y", "toa_do_y", "y (m)", "y_m")
# What each reading's values look like in Vietnam (degrees, or metres of a VN-2000/UTM zone).
_EAST_DEG, _NORTH_DEG = (101.5, 110.5), (8.0, 23.5)
_EAST_M, _NORTH_M = (100_000.0, 900_000.0), (900_000.0, 2_700_000.0)


@dataclass
class RawTable:
    """A file's features before decoding and reprojection.

    ``bytes_text`` says the text columns hold one character per byte (read as Latin-1), so
    that the real encoding can be detected afterwards; otherwise they are Unicode already.
    """

    source_name: str
    format: str
    frame: pd.DataFrame  # attributes only
    geometry: np.ndarray  # shapely geometries in the file's coordinates (None where missing)
    crs: CRS | None
    bytes_text: bool
    declared_encoding: str | None = None  # from a .cpg file
    coordinates_note: str = ""  # which columns of a table were read as easting and northing


def _refuse(vi: str, en: str, hint_vi: str = "", hint_en: str = "") -> InvalidInput:
    return InvalidInput(vi, en, hint_vi=hint_vi, hint_en=hint_en)


@dataclass(frozen=True)
class ArchiveLimits:
    """What one uploaded file may hold: archive (zip, kmz) members and uncompressed bytes
    (AGRIMAP_MAX_ARCHIVE_MEMBERS, AGRIMAP_MAX_UNZIPPED_BYTES), and features
    (AGRIMAP_MAX_UPLOAD_FEATURES; None for the operator's own command-line imports)."""

    max_members: int = 200
    max_bytes: int = 200 * 1024 * 1024
    max_features: int | None = None


@contextmanager
def opened(path: Path, archive_limits: ArchiveLimits = ArchiveLimits()) -> Iterator[Path]:
    """The file to read: archives are unpacked into a temporary folder first."""
    if not path.exists():
        raise _refuse(
            f"Không tìm thấy tệp {path}.",
            f"File not found: {path}.",
            "Kiểm tra lại đường dẫn.",
            "Check the path.",
        )
    suffix = path.suffix.lower()
    if suffix in (".zip", ".kmz"):
        with tempfile.TemporaryDirectory(prefix="agrimap-") as tmp:
            _unzip(path, Path(tmp), archive_limits)
            yield _pick_in_folder(Path(tmp), path.name)
        return
    if path.is_dir():
        yield _pick_in_folder(path, path.name)
        return
    yield path


def _archive_too_large(name: str, what_vi: str, what_en: str, limit: str, setting: str):
    return TooLarge(
        f"Tệp nén {name} {what_vi}, vượt giới hạn {limit} ({setting}).",
        f"The archive {name} {what_en}, over the limit of {limit} ({setting}).",
        hint_vi="Chỉ nén các tệp của một lớp bản đồ (.shp, .shx, .dbf, .prj, .cpg).",
        hint_en="Zip only the files of one map layer (.shp, .shx, .dbf, .prj, .cpg).",
        details=[setting],
    )


def _check_members(path: Path, members: list[zipfile.ZipInfo], limits: ArchiveLimits) -> None:
    """Refuse an archive by what it declares, before a byte is unpacked."""
    if len(members) > limits.max_members:
        raise _archive_too_large(
            path.name, f"có {len(members)} tệp", f"holds {len(members)} files",
            str(limits.max_members), "AGRIMAP_MAX_ARCHIVE_MEMBERS",
        )  # fmt: skip
    declared = sum(m.file_size for m in members)
    if declared > limits.max_bytes:
        mb = f"{limits.max_bytes / 1024 / 1024:.0f} MB"
        raise _archive_too_large(
            path.name, f"giải nén ra {declared / 1024 / 1024:.0f} MB",
            f"unpacks to {declared / 1024 / 1024:.0f} MB", mb, "AGRIMAP_MAX_UNZIPPED_BYTES",
        )  # fmt: skip


def _unzip(path: Path, dest: Path, limits: ArchiveLimits = ArchiveLimits()) -> None:
    """Unpack an archive member by member, refusing unsafe paths and archives over
    ``limits`` by their declared sizes first and by the bytes really written as they come
    (zipfile checks each member's CRC as it reaches its end)."""
    root = dest.resolve()
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            _check_members(path, members, limits)
            for member in members:
                target = (dest / member.filename).resolve()
                if not target.is_relative_to(root):
                    raise zipfile.BadZipFile(f"unsafe path {member.filename}")
            written = 0
            for member in members:
                target = (dest / member.filename).resolve()
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, open(target, "wb") as out:
                    while chunk := src.read(1024 * 1024):
                        written += len(chunk)
                        if written > limits.max_bytes:
                            raise _archive_too_large(
                                path.name, "giải nén ra nhiều hơn kích thước khai báo",
                                "unpacks to more than it declares",
                                f"{limits.max_bytes / 1024 / 1024:.0f} MB",
                                "AGRIMAP_MAX_UNZIPPED_BYTES",
                            )  # fmt: skip
                        out.write(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as exc:
        raise _refuse(
            f"Tệp nén {path.name} bị hỏng hoặc tải về chưa hết ({exc}).",
            f"The archive {path.name} is damaged or truncated ({exc}).",
            "Tải lại hoặc nén lại tệp rồi nhập lại.",
            "Download or zip the file again, then re-import.",
        ) from exc


def _pick_in_folder(folder: Path, shown: str) -> Path:
    found = sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in VECTOR_SUFFIXES and not p.name.startswith(("._", "."))
    )
    if not found:
        raise _refuse(
            f"Trong {shown} không có tệp bản đồ nào (.shp, .gpkg, .geojson, .kml, .csv).",
            f"{shown} holds no map file (.shp, .gpkg, .geojson, .kml, .csv).",
            "Kiểm tra lại tệp nén: cần đủ .shp, .shx, .dbf (và .prj).",
            "Check the archive: a shapefile needs .shp, .shx, .dbf (and .prj).",
        )
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise _refuse(
            f"{shown} có nhiều tệp bản đồ ({names}).",
            f"{shown} holds several map files ({names}).",
            "Nhập từng tệp một.",
            "Import them one at a time.",
        )
    return found[0]


def read_table(
    path: Path,
    *,
    source_layer: str | None = None,
    archive_limits: ArchiveLimits = ArchiveLimits(),
) -> RawTable:
    """Read a vector file; raises InvalidInput with a readable reason for bad files."""
    with opened(path, archive_limits) as real:
        suffix = real.suffix.lower()
        cap = archive_limits.max_features
        # One row more than the cap is read, so that a file over it is told apart.
        rows = None if cap is None else cap + 1
        if suffix == ".csv":
            table = _read_csv(real, rows)
        elif suffix == ".xlsx":
            table = _read_xlsx(real, rows)
        elif suffix in (".shp", ".gpkg", ".geojson", ".json", ".kml", ".gpx"):
            table = _read_ogr(real, source_layer, rows)
        else:
            raise UnsupportedFormat(
                f"Không đọc được định dạng {suffix or 'không rõ'} ({path.name}).",
                f"Unsupported file type {suffix or '(none)'} ({path.name}).",
                hint_vi="Dùng Shapefile (.shp hoặc .zip), GeoPackage, GeoJSON, KML/KMZ, GPX, CSV hoặc Excel (.xlsx) có tọa độ.",
                hint_en="Use Shapefile (.shp or .zip), GeoPackage, GeoJSON, KML/KMZ, GPX, CSV or Excel (.xlsx) with coordinates.",
            )
    table.source_name = path.name
    if cap is not None and len(table.frame) > cap:
        raise TooLarge(
            f"Tệp {path.name} có hơn {format_number(cap)} đối tượng, vượt giới hạn một lần "
            "tải lên (AGRIMAP_MAX_UPLOAD_FEATURES).",
            f"The file {path.name} holds more than {format_number(cap, lang='en')} features, "
            "over the limit of one "
            "upload (AGRIMAP_MAX_UPLOAD_FEATURES).",
            hint_vi="Chia tệp theo xã hoặc thôn, hoặc nhờ quản trị viên nhập bằng lệnh agrimap import.",
            hint_en="Split the file by commune or village, or ask an administrator to import it "
            "with the agrimap import command.",
            details=["AGRIMAP_MAX_UPLOAD_FEATURES"],
        )
    if len(table.frame) == 0:
        raise _refuse(
            f"Tệp {path.name} không có đối tượng nào.",
            f"The file {path.name} has no features.",
            "Kiểm tra lại tệp (có thể xuất nhầm lớp trống).",
            "Check the file (an empty layer may have been exported).",
        )
    return table


def shapefile_counts(shp: Path) -> tuple[int, int]:
    """(geometries in the .shx index, records in the .dbf) of a shapefile, from their headers:
    the index is a 100-byte header and 8 bytes per geometry, the table's header holds its
    record count at byte 4 (little-endian). GDAL reads the shorter silently."""
    shx = next(p for p in (shp.with_suffix(".shx"), shp.with_suffix(".SHX")) if p.exists())
    dbf = next(p for p in (shp.with_suffix(".dbf"), shp.with_suffix(".DBF")) if p.exists())
    with open(dbf, "rb") as f:
        header = f.read(8)
    records = int.from_bytes(header[4:8], "little") if len(header) == 8 else -1
    return (shx.stat().st_size - 100) // 8, records


def _check_shapefile_parts(path: Path) -> None:
    """Refuse a shapefile whose geometry index and attribute table disagree (a .dbf from
    another export): the rows would be matched to the wrong fields or silently dropped."""
    shapes, records = shapefile_counts(path)
    if shapes != records:
        raise _refuse(
            f"Shapefile {path.name} không khớp: tệp .shp/.shx có {shapes} hình nhưng tệp .dbf có "
            f"{records} dòng thuộc tính (các tệp không cùng một lần xuất).",
            f"Shapefile {path.name} does not match: its .shp/.shx hold {shapes} shapes but its "
            f".dbf holds {records} attribute records (the files come from different exports).",
            "Xuất lại lớp bản đồ từ QGIS/MapInfo và gửi cả bộ .shp, .shx, .dbf, .prj cùng lúc.",
            "Export the layer again from QGIS/MapInfo and send .shp, .shx, .dbf and .prj together.",
        )


def _unreadable(path: Path, exc: Exception) -> InvalidInput:
    """GDAL could not open or read ``path``: the refusal, with GDAL's reason."""
    return _refuse(
        f"Không đọc được {path.name}: {exc}.",
        f"Cannot read {path.name}: {exc}.",
        "Tệp có thể bị hỏng; mở thử bằng QGIS hoặc xuất lại.",
        "The file may be damaged; try opening it in QGIS or export it again.",
    )


def _read_ogr(path: Path, source_layer: str | None, rows: int | None = None) -> RawTable:
    fmt = {".shp": "ESRI Shapefile", ".gpkg": "GPKG", ".kml": "KML", ".gpx": "GPX"}.get(
        path.suffix.lower(), "GeoJSON"
    )
    declared = None
    if fmt == "ESRI Shapefile":
        for part in (".shx", ".dbf"):
            if not path.with_suffix(part).exists() and not path.with_suffix(part.upper()).exists():
                raise _refuse(
                    f"Shapefile {path.name} thiếu tệp {part}.",
                    f"Shapefile {path.name} is missing its {part} file.",
                    "Gửi đủ các tệp .shp, .shx, .dbf, .prj (nên nén chung thành .zip).",
                    "Send .shp, .shx, .dbf and .prj together (best zipped).",
                )
        _check_shapefile_parts(path)
        cpg = path.with_suffix(".cpg")
        declared = cpg.read_text(errors="replace").strip() if cpg.exists() else None
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises several GDAL error classes
        raise _unreadable(path, exc) from exc
    names = [str(name) for name, _ in layers]
    if source_layer is None and len(names) > 1:
        listed = ", ".join(f"{name} ({kind or 'không có hình'})" for name, kind in layers)
        listed_en = ", ".join(f"{name} ({kind or 'no geometry'})" for name, kind in layers)
        raise _refuse(
            f"Tệp {path.name} có {len(names)} lớp: {listed}; chưa biết nhập lớp nào.",
            f"The file {path.name} holds {len(names)} layers: {listed_en}; which one to import?",
            f"Chọn lớp bằng --source-layer, ví dụ --source-layer {names[0]}.",
            f"Choose one with --source-layer, e.g. --source-layer {names[0]}.",
        )
    if source_layer is not None and source_layer not in names:
        raise _refuse(
            f"Tệp {path.name} không có lớp {source_layer} (các lớp: {', '.join(names)}).",
            f"The file {path.name} has no layer {source_layer} (layers: {', '.join(names)}).",
            "Chọn một trong các lớp trên bằng --source-layer.",
            "Choose one of those layers with --source-layer.",
        )
    try:
        layer = source_layer or (names[0] if names else None)
        # Shapefile text is read one byte per character so that TCVN3/VNI can be detected.
        encoding = "latin1" if fmt == "ESRI Shapefile" else None
        gdf = pyogrio.read_dataframe(path, layer=layer, encoding=encoding, max_features=rows)
    except Exception as exc:  # pyogrio raises several GDAL error classes
        raise _unreadable(path, exc) from exc
    crs = CRS.from_user_input(gdf.crs) if gdf.crs is not None else None
    geometry = np.asarray(gdf.geometry.values, dtype=object)
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    if fmt == "KML":
        # GeoJSON and KML are UTF-8 by definition; KML is always WGS84 lon/lat.
        crs = crs or CRS.from_epsg(4326)
    return RawTable(path.name, fmt, frame, geometry, crs, fmt == "ESRI Shapefile", declared)


def _sniff_separator(text: str) -> str:
    first = text.splitlines()[0] if text else ""
    return max((",", ";", "\t"), key=first.count)


def _read_csv(path: Path, rows: int | None = None) -> RawTable:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    text = raw.decode("latin-1")  # one char per byte; the encoding is detected later
    if not text.strip():
        return RawTable(path.name, "CSV", pd.DataFrame(), np.array([], dtype=object), None, True)
    try:
        # The parser decodes the bytes itself (Latin-1: one char per byte): a million rows are
        # read in less than half the time they took from a Python string.
        frame = pd.read_csv(
            io.BytesIO(raw),
            encoding="latin-1",
            sep=_sniff_separator(text[: text.find("\n") + 1 or len(text)]),
            dtype=str,
            keep_default_na=False,
            nrows=rows,
        )
    except pd.errors.ParserError as exc:
        raise _refuse(
            f"Tệp CSV {path.name} sai cấu trúc: {exc}.",
            f"The CSV file {path.name} is malformed: {exc}.",
        ) from exc
    frame.columns = [_header(c) for c in frame.columns]
    return _points_table(frame, path.name, "CSV", bytes_text=True)


def _header(name: str) -> str:
    """A column name as written (UTF-8 headers such as "Kinh độ"); values are decoded later."""
    try:
        return name.encode("latin-1").decode("utf-8").strip()
    except UnicodeError:
        return name.strip()


def _read_xlsx(path: Path, rows: int | None = None) -> RawTable:
    """The first sheet of an Excel workbook; its text is Unicode (legacy-font text that was
    typed in .VnTime shows as mojibake and is recovered by the text decoding)."""
    try:
        frame = pd.read_excel(path, sheet_name=0, dtype=str, engine="openpyxl", nrows=rows)
    except Exception as exc:  # openpyxl raises several classes for damaged workbooks
        raise _refuse(
            f"Không đọc được tệp Excel {path.name}: {exc}.",
            f"Cannot read the Excel file {path.name}: {exc}.",
            "Mở tệp bằng Excel rồi lưu lại dạng .xlsx.",
            "Open the file in Excel and save it again as .xlsx.",
        ) from exc
    frame = frame.dropna(how="all").fillna("")
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        return RawTable(path.name, "XLSX", frame, np.array([], dtype=object), None, False)
    return _points_table(frame, path.name, "XLSX", bytes_text=False)


def _points_table(frame: pd.DataFrame, name: str, fmt: str, *, bytes_text: bool) -> RawTable:
    """A table with coordinate columns as points, in the reading its values fit."""
    (xcol, ycol), explicit = _coordinate_columns(frame, name)
    xs = _numbers(frame[xcol])
    ys = _numbers(frame[ycol])
    note = f"{xcol} = easting/longitude, {ycol} = northing/latitude (named so)"
    if not explicit:
        swap, note = axis_order(xs, ys, xcol, ycol, name)
        if swap:
            xs, ys = ys, xs
    ok = xs.notna() & ys.notna()
    geometry = np.full(len(frame), None, dtype=object)
    geometry[ok.to_numpy()] = shapely.points(xs[ok].to_numpy(), ys[ok].to_numpy())
    table = RawTable(name, fmt, frame.drop(columns=[xcol, ycol]), geometry, None, bytes_text)
    table.coordinates_note = note
    return table


def _numbers(column: pd.Series) -> pd.Series:
    """Numbers written either way; the plain ones ("104.123456") are read at once, the others
    ("2.480.123,45", " 1 234,5") by the rules below."""
    plain = pd.to_numeric(column, errors="coerce")
    again = plain.isna().to_numpy()
    if again.any():
        again[again] = (column[again].astype(str).str.strip() != "").to_numpy()
    if not again.any():
        return plain
    plain[again] = _numbers_written(column[again])
    return plain


def _numbers_written(column: pd.Series) -> pd.Series:
    text = column.astype(str).str.strip().str.replace(" ", "", regex=False)
    # "2.480.123,45" (Vietnamese) and "2480123,45" as well as "2480123.45"
    vi = text.str.contains(",", regex=False) & (text.str.count(r"\.") != 1)
    text = text.where(
        ~vi, text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    )
    return pd.to_numeric(text, errors="coerce")


def _within(values: pd.Series, span: tuple[float, float]) -> pd.Series:
    return (values >= span[0]) & (values <= span[1])


def axis_order(xs: pd.Series, ys: pd.Series, xcol: str, ycol: str, name: str) -> tuple[bool, str]:
    """Whether columns named X and Y hold easting, northing (GIS habit) or northing, easting
    (Vietnamese survey tables); refuses a table whose rows do not all fit one reading.

    Returns (swap, note). Degrees and metres in Vietnam cannot be mistaken for each other:
    longitudes are 101.5–110.5 and latitudes 8–23.5; eastings 100–900 km and northings
    900–2,700 km.
    """
    ok = xs.notna() & ys.notna()
    x, y = xs[ok], ys[ok]
    if x.empty:
        return False, ""
    gis = (_within(x, _EAST_DEG) & _within(y, _NORTH_DEG)) | (
        _within(x, _EAST_M) & _within(y, _NORTH_M)
    )
    survey = (_within(x, _NORTH_DEG) & _within(y, _EAST_DEG)) | (
        _within(x, _NORTH_M) & _within(y, _EAST_M)
    )
    if gis.all():
        return False, f"{xcol} = easting/longitude, {ycol} = northing/latitude (by their values)"
    if survey.all():
        return True, (
            f"{xcol} = northing, {ycol} = easting: the Vietnamese survey order "
            f"(X bắc, Y đông), read by their values"
        )
    if gis.any() and survey.any():
        first_gis = int(np.flatnonzero(gis.to_numpy())[0]) + 1
        first_survey = int(np.flatnonzero(survey.to_numpy())[0]) + 1
        raise _refuse(
            f"Tệp {name}: không biết cột {xcol}, {ycol} là (đông, bắc) hay (bắc, đông): "
            f"có dòng theo cách này (dòng {first_gis}), có dòng theo cách kia (dòng {first_survey}).",
            f"{name}: cannot tell whether {xcol}, {ycol} are (easting, northing) or (northing, "
            f"easting): some rows read one way (row {first_gis}), some the other (row {first_survey}).",
            "Đặt tên cột rõ ràng: kinh_do/vi_do hoặc easting/northing, và dùng một thứ tự cho cả tệp.",
            "Name the columns plainly (lon/lat or easting/northing), one order for the whole file.",
        )
    return False, ""  # neither fits: the CRS check says where the points fall and what to try


def _coordinate_columns(frame: pd.DataFrame, name: str) -> tuple[tuple[str, str], bool]:
    """The (x, y) coordinate columns and whether their names say which is which."""
    folded = {fold(c): c for c in frame.columns}

    def first(names: tuple[str, ...]) -> str | None:
        return next((folded[n] for n in names if n in folded), None)

    east, north = first(EAST_NAMES), first(NORTH_NAMES)
    if east is not None and north is not None:
        return (east, north), True
    xcol, ycol = first(X_NAMES), first(Y_NAMES)
    if xcol is None or ycol is None:
        raise _refuse(
            f"Tệp {name} không có cột tọa độ (có các cột: {', '.join(map(str, frame.columns))}).",
            f"The file {name} has no coordinate columns (columns: {', '.join(map(str, frame.columns))}).",
            "Đặt tên cột tọa độ là x, y (hoặc kinh_do, vi_do / lon, lat).",
            "Name the coordinate columns x, y (or lon, lat).",
        )
    return (xcol, ycol), False


# --- reprojection ----------------------------------------------------------------


def _bounds(geoms: np.ndarray) -> tuple[float, float, float, float] | None:
    geoms = np.asarray(geoms, dtype=object)
    present = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    if len(present) == 0:
        return None
    b = shapely.total_bounds(present)
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


def reproject(table: RawTable, crs_option: str | None) -> tuple[np.ndarray, str, str]:
    """Geometries in WGS84 lon/lat; returns them with the source CRS label and how it was chosen."""
    bounds = _bounds(table.geometry)
    if bounds is None:
        return table.geometry, "", ""
    resolved = crs_source.resolve_source_crs(option=crs_option, file_crs=table.crs, bounds=bounds)
    transformer = vncrs.transformer_to_wgs84(resolved.crs)
    mask = np.array([g is not None for g in table.geometry])
    out = np.full(len(table.geometry), None, dtype=object)

    def move(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    present = table.geometry[mask].astype(object)
    if shapely.has_z(present).any():
        present = shapely.force_2d(present)
    # A WGS84 file (every CSV of lon/lat) needs no transformation: PROJ's is a no-op.
    out[mask] = present if transformer.name == "noop" else shapely.transform(present, move)
    after = _bounds(out)
    if after is not None:
        crs_source.check_in_vietnam(after, source_crs_label=resolved.label, source_bounds=bounds)
    return out, resolved.label, resolved.note_en
