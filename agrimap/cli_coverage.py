"""`agrimap coverage …`: tower and speed-test imports, tower radii, dead zones between two dates."""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path

import psycopg
import typer
from rich.markup import escape
from rich.table import Table

from geo.coverage_points import read_speed_tests, read_towers
from geo.errors import AgriMapError, InvalidInput
from layers import coverage_gaps, coverage_speed, coverage_towers

from .clicommon import console, database_url, fail, load_settings, run_async

coverage_app = typer.Typer(
    help="Phủ sóng / coverage: trạm, đo tốc độ, thôn lõm sóng.", no_args_is_help=True
)
CLI_ACTOR = "cli:" + getpass.getuser()
TECHNOLOGY = typer.Option(..., "--technology", "-t", help="2G, 3G, 4G, 5G (fibre for speed tests)")
OPERATOR = typer.Option(..., "--operator", "-o", help="e.g. Viettel, VNPT, MobiFone")


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(InvalidInput(
            f"Không đọc được tệp {path}: {exc}.", f"Cannot read {path}: {exc}.",
            hint_vi="Cần tệp CSV mã UTF-8.", hint_en="A UTF-8 CSV file is needed.",
        )) from exc  # fmt: skip


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise fail(InvalidInput(
        f"Ngày '{text}' không hợp lệ.", f"Invalid date '{text}'.",
        hint_vi="Dùng dd/mm/yyyy hoặc YYYY-MM-DD.", hint_en="Use dd/mm/yyyy or YYYY-MM-DD.",
    ))  # fmt: skip


@coverage_app.command("import-towers")
def import_towers_cmd(
    path: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="CSV: lon/kinh_do, lat/vi_do"
    ),
    operator: str = OPERATOR,
    technology: str = TECHNOLOGY,
    valid_from: str | None = typer.Option(None, help="Ngày hiệu lực / valid from (dd/mm/yyyy)"),
    radius_m: float | None = typer.Option(
        None,
        help="Bán kính (m); mặc định theo bảng coverage_tower_radius (GSMA: 4 km 3G/4G, 12 km 2G)",
    ),
    tier: str | None = typer.Option(None, help="Cấp dịch vụ / tier, e.g. qcvn81-z2"),
) -> None:
    """Nhập trạm phát sóng thành một phiên bản vùng phủ / import towers as a coverage version."""
    url = database_url(load_settings())
    try:
        towers = read_towers(_read(path))
        with psycopg.connect(url) as conn:
            version = coverage_towers.import_towers(
                conn, operator=operator, technology=technology, towers=towers,
                valid_from=_date(valid_from), radius_m=radius_m, tier=tier, source=path.name,
                user=CLI_ACTOR,
            )  # fmt: skip
            served = conn.execute(
                "SELECT count(*) FROM household_coverage WHERE coverage_ids && "
                "ARRAY(SELECT id FROM coverage WHERE version_id = %s)",
                (version,),
            ).fetchone()[0]
            radius = conn.execute(
                "SELECT min(radius_m) FROM coverage_tower WHERE version_id = %s", (version,)
            ).fetchone()[0]
    except AgriMapError as exc:
        raise fail(exc) from exc
    console.print(
        f"[green]Đã nhập {len(towers)} trạm {escape(operator)} {technology}[/] (bán kính "
        f"{radius:,.0f} m) → phiên bản {version}; {served:,} hộ có sóng / households "
        "served".replace(",", ".")
    )


@coverage_app.command("radius")
def radius_cmd(
    technology: str | None = typer.Argument(None, help="2G, 3G, 4G or 5G"),
    metres: float | None = typer.Argument(None, help="Bán kính mới (m) / new radius"),
    source: str = typer.Option("set from the command line", help="Căn cứ / why this radius"),
) -> None:
    """Xem hoặc đặt bán kính trạm theo công nghệ / show or set tower radii per technology."""
    url = database_url(load_settings())
    try:
        with psycopg.connect(url) as conn:
            if technology is not None and metres is not None:
                coverage_towers.set_tower_radius(
                    conn, technology=technology, radius_m=metres, source=source
                )
            rows = coverage_towers.tower_radii(conn)
    except AgriMapError as exc:
        raise fail(exc) from exc
    table = Table("Công nghệ / technology", "Bán kính / radius (km)", "Căn cứ / source")
    for tech, radius, why in rows:
        table.add_row(tech, f"{radius / 1000:g}".replace(".", ","), escape(why))
    console.print(table)


@coverage_app.command("import-speed-tests")
def import_speed_tests_cmd(
    path: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="CSV: lon, lat, time, down (Mbit/s), up, latency"
    ),  # fmt: skip
    operator: str = OPERATOR,
    technology: str = TECHNOLOGY,
) -> None:
    """Nhập kết quả đo tốc độ / import speed tests."""
    url = database_url(load_settings())
    try:
        tests = read_speed_tests(_read(path))
        with psycopg.connect(url) as conn:
            n = coverage_speed.import_speed_tests(
                conn, operator=operator, technology=technology, tests=tests, source=path.name,
                user=CLI_ACTOR,
            )  # fmt: skip
    except AgriMapError as exc:
        raise fail(exc) from exc
    console.print(f"[green]Đã nhập {n} lần đo tốc độ {escape(operator)} {technology}[/]")


@coverage_app.command("compare")
def compare_cmd(
    before: str = typer.Option(..., "--from", help="Ngày đầu / first date (dd/mm/yyyy)"),
    after: str = typer.Option(..., "--to", help="Ngày sau / second date (dd/mm/yyyy)"),
    commune: str | None = typer.Option(None, help="Mã xã / commune code"),
    province: str | None = typer.Option(None, help="Mã tỉnh / province code"),
) -> None:
    """Thôn lõm sóng 4G ở hai ngày / dead-zone villages at two dates."""
    url = database_url(load_settings())
    level, code = (
        ("commune", commune) if commune else (("province", province) if province else (None, None))
    )
    try:
        r = run_async(url, coverage_gaps.compare_dates, before=_date(before), after=_date(after),
                      level=level, code=code)  # fmt: skip
    except AgriMapError as exc:
        raise fail(exc) from exc
    console.print(f"Thôn lõm sóng: {r['dead_zones_before']} → {r['dead_zones_after']}")
    for key, label in (("added", "Mới lõm sóng / added"), ("removed", "Hết lõm sóng / removed")):
        for v in r[key]:
            console.print(f"  {label}: {escape(v['name'])} ({v['code']})")
