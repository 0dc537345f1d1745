"""Import a file into a layer: decode, reproject, check, then write it whole or not at all."""

from __future__ import annotations

import gc
import hashlib
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import psycopg

from geo import codes
from geo.errors import InvalidInput
from geo.readers import ArchiveLimits, RawTable, read_table, reproject
from geo.soil import SoilConfig

from .. import admin, coverage, growing_areas, households, soil
from ..schema import Layer
from .modes import MODES, check_mode
from .rasters import import_raster
from .result import ImportRefused, ImportSummary, Progress
from .rows import build_rows, parse_mapping
from .soil_samples import import_samples
from .text import decode_text
from .write import DryRun, WriteOptions, write_rows

__all__ = [
    "LAYER_NAMES", "MODES", "SPECS", "ImportRefused", "ImportSummary", "import_file",
    "parse_mapping",
]  # fmt: skip

log = logging.getLogger(__name__)

SPECS: dict[str, Layer] = {
    s.name: s
    for s in (
        admin.PROVINCES,
        admin.COMMUNES,
        admin.VILLAGES,
        growing_areas.LAYER,
        soil.ZONES,
        households.LAYER,
        coverage.LAYER,
    )
}
LAYER_NAMES = (*SPECS, "soil_rasters", "soil_samples")


def unknown_layer(name: str) -> InvalidInput:
    names = ", ".join(LAYER_NAMES)
    return InvalidInput(
        f"Không có lớp '{name}'.",
        f"Unknown layer '{name}'.",
        hint_vi=f"Chọn --layer là một trong: {names}.",
        hint_en=f"Choose --layer from: {names}.",
    )


def import_file(
    conn: psycopg.Connection,
    path: Path,
    *,
    layer: str,
    crs: str | None = None,
    encoding: str | None = None,
    source_layer: str | None = None,
    skip_invalid: bool = False,
    user: str = "cli",
    data_dir: Path = Path(".cache/data"),
    progress: Progress | None = None,
    soil_config: SoilConfig | None = None,
    mapping: Mapping[str, str] | None = None,
    commune: str | None = None,
    mode: str | None = None,
    layouts: tuple[codes.CodeLayout, ...] = (codes.ISSUE_LAYOUT, codes.DEFAULT_LAYOUT),
    dry_run: bool = False,
    actor_id: int | None = None,
    scope: tuple[str, ...] | None = None,
    archive_limits: ArchiveLimits = ArchiveLimits(),
    table: RawTable | None = None,
) -> ImportSummary:
    """Import one file into ``layer``: all of it lands, or (on any error) none of it.

    ``mapping`` names the source column of a field ({"name": "TEN"}) where the usual names are
    not used; ``commune`` places every row in that commune (else each row's location does);
    ``mode`` says what to do with rows already stored (None refuses them, see ``modes``);
    ``dry_run`` runs every check and the write, reports, and rolls it all back (a preview);
    ``actor_id`` makes a signed-in account the writer (the web import, see ``write``) and
    ``scope`` refuses rows outside its communes; ``archive_limits`` bound an uploaded zip;
    ``table`` is the file as ``read_table`` read it already (the web preview reads it once),
    decoded here in place."""
    if layer == "soil_rasters":
        return import_raster(conn, path, crs=crs, user=user, data_dir=data_dir, config=soil_config)
    if layer == "soil_samples":
        return import_samples(conn, path, crs=crs, user=user, data_dir=data_dir,
                              encoding=encoding, config=soil_config)  # fmt: skip
    spec = SPECS.get(layer)
    if spec is None:
        raise unknown_layer(layer)
    check_mode(mode, spec)
    with _no_cyclic_gc():
        return _import_vector(
            conn, path, spec, crs=crs, encoding=encoding, source_layer=source_layer,
            skip_invalid=skip_invalid, user=user, progress=progress, mapping=mapping,
            commune=commune, mode=mode, layouts=layouts, dry_run=dry_run,
            actor_id=actor_id, scope=scope, archive_limits=archive_limits, table=table,
        )  # fmt: skip


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """A million rows are millions of small objects and no cycles: without this the collector
    walks all of them again and again as they are made (the read and parse grew faster than
    the row count)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _import_vector(
    conn: psycopg.Connection,
    path: Path,
    spec: Layer,
    *,
    crs: str | None,
    encoding: str | None,
    source_layer: str | None,
    skip_invalid: bool,
    user: str,
    progress: Progress | None,
    mapping: Mapping[str, str] | None,
    commune: str | None,
    mode: str | None,
    layouts: tuple[codes.CodeLayout, ...],
    dry_run: bool,
    actor_id: int | None = None,
    scope: tuple[str, ...] | None = None,
    archive_limits: ArchiveLimits = ArchiveLimits(),
    table: RawTable | None = None,
) -> ImportSummary:
    layer = spec.name
    if progress:
        progress("read", 0, 1)
    if table is None:
        table = read_table(Path(path), source_layer=source_layer, archive_limits=archive_limits)
    summary = ImportSummary(layer=layer, source=table.source_name, features_read=len(table.frame))
    summary.coordinates_note = table.coordinates_note
    summary.encoding, summary.encoding_note = decode_text(table, encoding)
    geoms, summary.crs_label, summary.crs_note = reproject(table, crs)
    if progress:
        progress("check", 0, summary.features_read)
    rows = build_rows(spec, table, geoms, summary, mapping)
    if progress:
        progress("check", summary.features_read, summary.features_read)
    # Rows refused here are reported together with those the database checks refuse.
    if not rows:
        raise ImportRefused(summary)
    options = WriteOptions(
        commune=commune, mode=mode, skip_invalid=skip_invalid, layouts=layouts,
        file_sha256=file_digest(Path(path)), dry_run=dry_run, actor_id=actor_id, scope=scope,
    )  # fmt: skip
    try:
        write_rows(conn, spec, rows, summary, user=user, options=options, progress=progress)
    except DryRun as done:
        done.summary.batch_id = None
        return done.summary
    return summary


def file_digest(path: Path) -> str:
    """SHA-256 of what was imported: the file, or every file of a folder (a shapefile's
    .shp/.dbf/.prj together, in name order)."""
    h = hashlib.sha256()
    if path.is_dir():
        parts = sorted(p for p in path.rglob("*") if p.is_file())
    elif path.suffix.lower() == ".shp":
        parts = sorted(p for p in path.parent.glob(path.stem + ".*") if p.is_file())
    else:
        parts = [path]
    for part in parts:
        h.update(part.name.encode())
        with part.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()
