"""The `agrimap` command: local database, migrations, imports, the demo commune and the server."""

from __future__ import annotations

import getpass
import logging
import time
from pathlib import Path

import psycopg
import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agrimap.settings import Settings
from geo import codes
from geo.errors import AgriMapError
from layers import migrate, partitions, soil
from layers.ingest import MODES, ImportRefused, ImportSummary, import_file, parse_mapping
from layers.ingest.history import list_imports, undo_import
from layers.registry_checks import VIETNAM_TZ

from . import backup, cli_cluster, localpg
from .cli_accounts import ensure_demo_accounts, token_app, user_app
from .cli_coverage import coverage_app
from .clicommon import console, database_url, fail, load_settings, run_async

app = typer.Typer(
    help="AgriMap – bản đồ số nông nghiệp (digital agriculture map).", no_args_is_help=True
)
db_app = typer.Typer(help="The local PostGIS used when DATABASE_URL is not set.")
app.add_typer(db_app, name="db")
imports_app = typer.Typer(help="Import history (lịch sử nhập) and undo.")
app.add_typer(imports_app, name="imports")

DEMO_DIR = localpg.PROJECT_ROOT / "data" / "shapefiles"
# (file, layer, extra options): the order follows the foreign keys.
DEMO_FILES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("ranh_gioi_xa.shp", "communes", {}),
    ("thon.shp", "villages", {}),
    ("vung_trong.shp", "growing_areas", {}),
    ("nong_hoa.gpkg", "soil_zones", {}),
    ("nong_hoa_om.tif", "soil_rasters", {}),
    ("mau_dat.csv", "soil_samples", {"crs": "EPSG:9208"}),
    ("ho_gia_dinh.csv", "households", {"crs": "EPSG:9208"}),
    ("phu_song.geojson", "coverage", {}),
)


@db_app.command("start")
def db_start() -> None:
    """Create and start the local PostGIS (data in .pgdata/)."""
    cluster = localpg.start()
    console.print(f"PostGIS đang chạy / running: {cluster.url()}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the local PostGIS."""
    localpg.stop()
    console.print("Đã dừng PostGIS cục bộ / local PostGIS stopped.")


@db_app.command("url")
def db_url() -> None:
    """Print the database URL in use."""
    console.print(database_url(load_settings()))


@app.command("migrate")
def migrate_cmd() -> None:
    """Bring the database schema up to date (alembic)."""
    url = database_url(load_settings())
    migrate.upgrade(url)
    console.print("Lược đồ CSDL đã cập nhật / schema up to date.")


@app.command("maintain")
def maintain_cmd(
    months: int = typer.Option(12, help="audit-log months to make ahead / số tháng tạo trước"),
) -> None:
    """Make the audit log's month partitions ahead and recompute the province partitions'
    extents (run it monthly, e.g. from cron; the server also makes the months at start-up)."""
    with psycopg.connect(database_url(load_settings()), autocommit=True) as conn:
        made = partitions.add_audit_months(conn, ahead=months)
        held = partitions.refresh_extents(conn)
    console.print(
        f"Nhật ký kiểm toán: thêm {made} tháng / audit log: {made} month partition(s) made."
    )
    console.print(
        f"Phạm vi phân vùng: tính lại {held} phân vùng / partition extents: {held} recomputed."
    )


def print_summary(summary: ImportSummary) -> None:
    table = Table(title=f"Kết quả nhập / import summary: {summary.source} → {summary.layer}")
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("Đọc / read", str(summary.features_read))
    table.add_row("Đã nhập / imported", str(summary.imported))
    table.add_row("Đã sửa / repaired", str(len(summary.repaired)))
    table.add_row("Từ chối / rejected", str(len(summary.rejected)))
    table.add_row("Bảng mã / encoding", f"{summary.encoding} {summary.encoding_note}".strip())
    table.add_row("Hệ tọa độ / CRS", f"{summary.crs_label} {summary.crs_note}".strip())
    if summary.coordinates_note:
        table.add_row("Cột tọa độ / coordinates", summary.coordinates_note)
    if summary.place_note:
        table.add_row("Vị trí / place", summary.place_note)
    table.add_row("Chế độ / mode", summary.mode)
    if summary.updated or summary.unchanged or summary.removed:
        table.add_row(
            "Đã có / stored",
            f"cập nhật / updated {summary.updated} · giữ nguyên / unchanged {summary.unchanged}"
            f" · xóa / removed {summary.removed}",
        )
    fed = ", ".join(
        f"{field} ← {col}{' (--map)' if field in summary.mapped else ''}"
        for field, col in summary.columns.items()
    )
    table.add_row("Cột / columns", escape(fed))
    console.print(table)
    for row, note in summary.repaired[:20]:
        console.print(f"  [yellow]sửa / repaired[/] dòng/row {row}: {note}")
    for row, reason in summary.rejected[:50]:
        console.print(f"  [red]từ chối / rejected[/] dòng/row {row}: {reason}")
    for warning in summary.warnings:
        console.print(f"  [yellow]![/] {warning}")


def run_import(
    conn: psycopg.Connection, path: Path, *, layer: str, quiet: bool = False, **options: object
) -> ImportSummary:
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=console, transient=True, disable=quiet,
    ) as bar:  # fmt: skip
        tasks: dict[str, int] = {}
        names = {
            "read": "Đọc tệp / reading",
            "check": "Kiểm tra / checking",
            "place": "Vị trí, trùng lặp / place, duplicates",
            "write": "Ghi CSDL / writing",
        }

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(names.get(stage, stage), total=max(total, 1))
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        return import_file(conn, path, layer=layer, progress=progress, **options)  # type: ignore[arg-type]


@app.command("import")
def import_cmd(
    path: Path = typer.Argument(
        ..., help="Shapefile (.shp/.zip/folder), .gpkg, .geojson, .kml/.kmz, .csv or .tif"
    ),
    layer: str = typer.Option(
        ...,
        "--layer",
        "-l",
        help="communes, villages, growing_areas, soil_zones, soil_rasters, soil_samples, households, coverage, provinces",
    ),
    crs: str | None = typer.Option(
        None, "--crs", help="Source CRS, e.g. EPSG:9208 or VN2000:Lào Cai"
    ),
    encoding: str | None = typer.Option(
        None, "--encoding", help="utf-8, cp1258, tcvn3 or vni (detected when omitted)"
    ),
    source_layer: str | None = typer.Option(
        None, "--source-layer", help="Layer inside a GeoPackage"
    ),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Import the valid rows even if some are rejected"
    ),
    mapping: list[str] = typer.Option(
        [], "--map", help="field=COLUMN: read a field from that column (repeatable)"
    ),
    commune: str | None = typer.Option(
        None, "--commune", help="Commune code for every row (else taken from the location)"
    ),
    mode: str | None = typer.Option(
        None, "--mode", help=f"Rows already stored: {'|'.join(MODES)} (default: refuse)"
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check and report everything, write nothing"
    ),
) -> None:
    """Import a file into a layer: all of it, or nothing."""
    settings = load_settings()
    url = database_url(settings)
    with psycopg.connect(url) as conn:
        try:
            summary = run_import(
                conn, path, layer=layer, crs=crs, encoding=encoding, source_layer=source_layer,
                skip_invalid=skip_invalid, user=f"cli:{getpass.getuser()}", data_dir=settings.data_dir,
                soil_config=soil.load_config(settings.soil_classes_file),
                mapping=parse_mapping(mapping), commune=commune, mode=mode,
                layouts=settings.code_layouts(), dry_run=dry_run,
            )  # fmt: skip
        except ImportRefused as exc:
            print_summary(exc.summary)
            raise fail(exc) from exc
        except AgriMapError as exc:
            raise fail(exc) from exc
    print_summary(summary)
    if dry_run:
        console.print("[yellow]Chạy thử: không ghi gì / dry run: nothing was written[/]")


@imports_app.command("list")
def imports_list(
    layer: str | None = typer.Option(None, "--layer", "-l", help="Only this layer"),
    limit: int = typer.Option(30, help="How many, newest first"),
) -> None:
    """Who imported which file when, with its counts."""
    with psycopg.connect(database_url(load_settings())) as conn:
        rows = list_imports(conn, layer=layer, limit=limit)
    table = Table(title="Lịch sử nhập / import history")
    for title in ("#", "lớp / layer", "tệp / file", "ai / who", "lúc / when",
                  "nhập / added", "sửa / updated", "từ chối / refused", "hoàn tác / undone"):  # fmt: skip
        table.add_column(title)
    for r in rows:
        table.add_row(
            str(r["id"]), r["layer"], escape(r["source_name"]), escape(r["imported_by"]),
            r["imported_at"].astimezone(VIETNAM_TZ).strftime("%d/%m/%Y %H:%M"),
            str(r["features_imported"]), str(r["features_updated"]), str(r["features_rejected"]),
            r["undone_at"].astimezone(VIETNAM_TZ).strftime("%d/%m/%Y %H:%M") if r["undone_at"] else "",
        )  # fmt: skip
    console.print(table)


@imports_app.command("undo")
def imports_undo(
    batch: int = typer.Argument(..., help="The import's number (imports list)"),
) -> None:
    """Remove every row one import added, while nothing depends on them."""
    with psycopg.connect(database_url(load_settings())) as conn:
        try:
            removed = undo_import(conn, batch, user=f"cli:{getpass.getuser()}")
        except AgriMapError as exc:
            raise fail(exc) from exc
    console.print(
        f"Đã hoàn tác lần nhập {batch}: xóa {removed} dòng / undone, {removed} rows removed"
    )


def load_demo(url: str, settings: Settings) -> bool:
    """Load the demo commune unless it is there already; True when it was loaded now."""
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT count(*) FROM commune").fetchone()[0] > 0:
            return False
        for name, layer, options in DEMO_FILES:
            console.print(f"→ {name} → {layer}")
            summary = run_import(
                conn,
                DEMO_DIR / name,
                layer=layer,
                user="demo",
                data_dir=settings.data_dir,
                soil_config=soil.load_config(settings.soil_classes_file),
                **options,
            )
            console.print(
                f"  {summary.imported} đối tượng / features · {summary.encoding} · {summary.crs_label}"
            )
    return True


@app.command("soil-regrade")
def soil_regrade_cmd() -> None:
    """Re-grade the soil zones of every raster after the class tables changed."""
    from layers.ingest.rasters import regrade_all

    settings = load_settings()
    with psycopg.connect(database_url(settings)) as conn:
        counts = regrade_all(conn, config=soil.load_config(settings.soil_classes_file))
    for rid, n in counts.items():
        console.print(f"ảnh / raster {rid}: {n} vùng / zones")


@app.command("demo")
def demo_cmd(
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8000, help="Port to listen on"),
    serve: bool = typer.Option(True, help="Serve after loading (--no-serve to only load)"),
) -> None:
    """Start PostGIS if needed, migrate, load the demo commune and serve it."""
    settings = load_settings()
    url = database_url(settings)
    console.print(f"[bold]1/3[/] Cơ sở dữ liệu / database: {url}")
    migrate.upgrade(url)
    console.print("[bold]2/3[/] Nạp xã mẫu Gia Phú / loading the demo commune")
    try:
        loaded = load_demo(url, settings)
    except AgriMapError as exc:
        raise fail(exc) from exc
    if not loaded:
        console.print("  Xã mẫu đã có sẵn, bỏ qua / demo commune already loaded, skipped")
    demo_accounts = run_async(url, ensure_demo_accounts)
    table = Table(
        title="Tài khoản mẫu / demo accounts (mật khẩu mới mỗi lần chạy / new passwords each run)"
    )
    for column in ("username", "role", "password"):
        table.add_column(column)
    for row in demo_accounts:
        table.add_row(*row)
    console.print(table)
    if serve:
        _serve(settings.model_copy(update={"database_url": url}), host, port)


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from api.app import create_app

    base = f"http://{host}:{port}"
    console.print(f"[bold]3/3[/] Máy chủ / server: {base}")
    console.print(f"  Bản đồ tổng quan / overview map: {base}/maps/overview")
    console.print(f"  OGC API Features:                {base}/?f=html")
    console.print(f"  Các lớp / collections:           {base}/collections")
    console.print(f"  OpenAPI 3.0:                     {base}/api")
    console.print(f"  Đăng nhập / sign in:             {base}/login")
    console.print("  Dừng bằng Ctrl+C / stop with Ctrl+C")
    # No proxy headers: X-Forwarded-For is believed only from AGRIMAP_TRUSTED_PROXIES.
    uvicorn.run(
        create_app(settings), host=host, port=port, log_level="warning", proxy_headers=False
    )


@app.command("serve")
def serve_cmd(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000)) -> None:
    """Serve the API and map pages (the database must be migrated)."""
    settings = load_settings()
    _serve(settings.model_copy(update={"database_url": database_url(settings)}), host, port)


@app.command("backup")
def backup_cmd(
    file: Path = typer.Argument(..., help="Archive to write, e.g. agrimap-2026-12-02.tar"),
) -> None:
    """Back up the database (layers, accounts, audit trail) and the soil rasters to one archive."""
    url = database_url(load_settings())
    started = time.monotonic()
    try:
        result = backup.create_backup(url, file)
    except AgriMapError as exc:
        raise fail(exc) from exc
    rows = sum(result.tables.values())
    console.print(
        f"Đã sao lưu / backed up: {result.path} ({result.size / 1e6:.1f} MB, "
        f"{len(result.tables)} bảng / tables, {rows} dòng / rows, {result.rasters} ảnh / rasters, "
        f"lược đồ / schema {result.revision}) trong / in {time.monotonic() - started:.1f} s"
    )


@app.command("restore")
def restore_cmd(
    file: Path = typer.Argument(..., help="Archive written by `agrimap backup`"),
    force: bool = typer.Option(
        False, "--force", help="Replace a database that already holds data (everything in it)"
    ),
) -> None:
    """Verify an archive, then restore the database and the rasters (into AGRIMAP_DATA_DIR)."""
    settings = load_settings()
    url = database_url(settings)
    started = time.monotonic()
    try:
        result = backup.restore(url, file, data_dir=settings.data_dir, force=force)
    except AgriMapError as exc:
        raise fail(exc) from exc
    console.print(
        f"Đã khôi phục / restored: {len(result.tables)} bảng / tables, "
        f"{sum(result.tables.values())} dòng / rows, {result.rasters} ảnh / rasters → "
        f"{settings.data_dir}, lược đồ / schema {result.revision} "
        f"trong / in {time.monotonic() - started:.1f} s"
    )
    if result.replaced:
        console.print(f"  [yellow]Đã thay / replaced:[/] {', '.join(result.replaced)}")
    if not result.at_head:
        console.print(
            "  [yellow]![/] Lược đồ cũ hơn mã nguồn: chạy `agrimap migrate` / the schema is older "
            "than this code: run `agrimap migrate`"
        )
    console.print(
        "  Khởi động lại máy chủ để xoá bộ nhớ đệm ô bản đồ / restart the server to drop its tile cache"
    )


def main() -> None:  # pragma: no cover - console entry
    logging.basicConfig(level=logging.WARNING)
    app()


app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(coverage_app, name="coverage")


@app.command("cluster")
def cluster_cmd(
    port: int = typer.Option(8000, help="The cache's port; the two servers take the next two"),
) -> None:
    """Primary, one streaming replica, two server processes and Varnish in front (issue 18)."""
    cli_cluster.run(port, load_demo)


code_app = typer.Typer(help="Mã số vùng trồng / growing-area codes.", no_args_is_help=True)
app.add_typer(code_app, name="code")


def _unit(u: dict | None) -> str:
    return f"{u['name'] or '?'} ({u['code']})" if u else "—"


@code_app.command("check")
def code_check_cmd(code: str = typer.Argument(..., help="e.g. VN-51-522-21214-13-24")) -> None:
    """Kiểm tra một mã và đọc các phần của nó / check a code and read its parts."""
    try:
        d = codes.describe(codes.validate_any(code, layouts=load_settings().code_layouts()))
    except AgriMapError as exc:
        raise fail(exc) from exc
    issued, today = d["issued_in"], d["today"]
    console.print(f"[bold green]Mã {d['code']} hợp lệ[/] / valid")
    units = ", ".join(_unit(issued[k]) for k in ("commune", "district", "province") if issued[k])
    console.print(
        f"  Cấp tại / issued in: {units}; số thứ tự / serial {d['serial']}, năm / year {d['year']}"
    )
    console.print(f"  Nay thuộc / today: {_unit(today['commune'])}, {_unit(today['province'])}")
    for note in d["notes"]:
        console.print(f"  Ghi chú: {escape(note['vi'])}")
        console.print(f"  [dim]Note: {escape(note['en'])}[/]")


if __name__ == "__main__":  # python -m agrimap.cli
    main()
