"""Point files for coverage (điểm trạm, điểm đo tốc độ): tower positions and speed-test results
read from CSV text (WGS84 lon/lat, Vietnamese or English headers, ',' or ';' between fields,
decimal point or comma), every row checked and every bad row named."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass

from .errors import InvalidInput
from .values import fold

LON = ("lon", "lng", "long", "longitude", "kinh do", "kinh_do", "kinhdo", "x")
LAT = ("lat", "latitude", "vi do", "vi_do", "vido", "y")
DOWN = (
    "down",
    "download",
    "down_mbps",
    "download_mbps",
    "tai xuong",
    "toc do tai xuong",
    "tai_xuong",
)
UP = ("up", "upload", "up_mbps", "upload_mbps", "tai len", "toc do tai len", "tai_len")
LATENCY = ("latency", "latency_ms", "ping", "ping_ms", "do tre", "do_tre")
TIME = ("time", "measured_at", "timestamp", "thoi gian", "thoi_gian", "ngay gio", "ngay_gio")
MAX_ROWS = 1_000_000


@dataclass(frozen=True)
class SpeedTest:
    """One measurement: where, when (local time), download and upload in Mbit/s, latency ms."""

    lon: float
    lat: float
    measured_at: dt.datetime
    down_mbps: float
    up_mbps: float | None
    latency_ms: float | None


def _number(text: str) -> float:
    text = text.strip().replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _column(header: list[str], names: tuple[str, ...], what_vi: str, what_en: str,
            required: bool = True) -> int | None:  # fmt: skip
    folded = [fold(h).replace("_", " ") for h in header]
    for name in names:
        key = name.replace("_", " ")
        if key in folded:
            return folded.index(key)
    if required:
        raise InvalidInput(
            f"Thiếu cột {what_vi} trong tệp.",
            f"The file has no {what_en} column.",
            hint_vi="Tên cột được nhận: " + ", ".join(names[:6]) + ".",
            hint_en="Accepted column names: " + ", ".join(names[:6]) + ".",
        )
    return None


def _rows(text: str) -> tuple[list[str], list[list[str]]]:
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise InvalidInput("Tệp trống.", "The file is empty.")
    first = text.splitlines()[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = [
        r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in r)
    ]
    if len(rows) > MAX_ROWS + 1:
        raise InvalidInput(
            f"Tệp có hơn {MAX_ROWS:,} dòng.".replace(",", "."),
            f"The file has over {MAX_ROWS:,} rows.",
            hint_vi="Chia tệp theo tỉnh hoặc nhà mạng.",
            hint_en="Split the file by province or operator.",
        )
    return rows[0], rows[1:]


def _bad(rows: list[int], vi: str, en: str) -> InvalidInput:
    listed = ", ".join(map(str, rows[:10])) + (" …" if len(rows) > 10 else "")
    return InvalidInput(f"{vi} (dòng {listed}).", f"{en} (rows {listed}).",
                        hint_vi="Kinh độ −180…180, vĩ độ −90…90 (WGS84), số dùng dấu chấm hoặc phẩy.",
                        hint_en="Longitude −180…180, latitude −90…90 (WGS84); numbers with . or ,.")  # fmt: skip


def _position(row: list[str], ix: int, iy: int) -> tuple[float, float]:
    lon, lat = _number(row[ix]), _number(row[iy])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError("out of range")
    return lon, lat


def read_towers(text: str) -> list[tuple[float, float]]:
    """Tower positions (lon, lat) from CSV text; row numbers count the header as row 1.

    >>> read_towers("kinh_do;vi_do\\n104,07;22,37\\n")
    [(104.07, 22.37)]
    >>> read_towers("lon,lat\\n200,1\\n")
    Traceback (most recent call last):
    geo.errors.InvalidInput: Invalid positions (rows 2).
    """
    header, rows = _rows(text)
    ix = _column(header, LON, "kinh độ", "longitude")
    iy = _column(header, LAT, "vĩ độ", "latitude")
    out, bad = [], []
    for n, row in enumerate(rows, start=2):
        try:
            out.append(_position(row, ix, iy))  # type: ignore[arg-type]
        except (ValueError, IndexError):
            bad.append(n)
    if bad:
        raise _bad(bad, "Tọa độ không hợp lệ", "Invalid positions")
    if not out:
        raise InvalidInput("Tệp không có trạm nào.", "The file holds no tower.")
    return out


def _time(text: str) -> dt.datetime:
    text = text.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M:%S",
                "%d/%m/%Y %H:%M"):  # fmt: skip
        try:
            return dt.datetime.strptime(text[:19], fmt)
        except ValueError:
            continue
    return dt.datetime.fromisoformat(text)


def read_speed_tests(text: str) -> list[SpeedTest]:
    """Speed tests from CSV text: position, time, download (required), upload and latency.

    >>> t = read_speed_tests("lon,lat,time,down,up\\n104.07,22.37,2025-05-01 09:30,12.5,3\\n")[0]
    >>> (t.down_mbps, t.up_mbps, t.latency_ms, t.measured_at.hour)
    (12.5, 3.0, None, 9)
    """
    header, rows = _rows(text)
    ix = _column(header, LON, "kinh độ", "longitude")
    iy = _column(header, LAT, "vĩ độ", "latitude")
    it = _column(header, TIME, "thời gian đo", "time")
    idown = _column(header, DOWN, "tốc độ tải xuống (Mbit/s)", "download (Mbit/s)")
    iup = _column(header, UP, "", "", required=False)
    ilat = _column(header, LATENCY, "", "", required=False)
    out, bad = [], []
    for n, row in enumerate(rows, start=2):
        try:
            lon, lat = _position(row, ix, iy)  # type: ignore[arg-type]
            down = _number(row[idown])  # type: ignore[index]
            up = _number(row[iup]) if iup is not None and row[iup].strip() else None
            latency = _number(row[ilat]) if ilat is not None and row[ilat].strip() else None
            if down < 0 or (up is not None and up < 0) or (latency is not None and latency < 0):
                raise ValueError("negative")
            out.append(SpeedTest(lon, lat, _time(row[it]), down, up, latency))  # type: ignore[index]
        except (ValueError, IndexError):
            bad.append(n)
    if bad:
        listed = ", ".join(map(str, bad[:10])) + (" …" if len(bad) > 10 else "")
        raise InvalidInput(
            f"Dòng đo tốc độ không hợp lệ (dòng {listed}).",
            f"Invalid speed-test rows (rows {listed}).",
            hint_vi="Cần tọa độ WGS84, thời gian (YYYY-MM-DD HH:MM hoặc dd/mm/yyyy HH:MM) và "
            "tốc độ tải xuống (Mbit/s) không âm.",
            hint_en="Each row needs WGS84 position, time (YYYY-MM-DD HH:MM or dd/mm/yyyy HH:MM) "
            "and a non-negative download speed (Mbit/s).",
        )
    if not out:
        raise InvalidInput("Tệp không có lần đo nào.", "The file holds no speed test.")
    return out
