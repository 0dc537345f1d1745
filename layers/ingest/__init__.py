"""Import a file into a layer: decode, reproject, check, then write it whole or not at all."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg

from geo.errors import InvalidInput
from geo.readers import read_table, reproject
from geo.soil import SoilConfig

from .. import admin, coverage, growing_areas, households, soil
from ..schema import Layer
from .rasters import import_raster
from .result import ImportRefused, ImportSummary, Progress
from .rows import build_rows
from .soil_samples import import_samples
from .text import decode_text
from .write import write_rows

__all__ = ["LAYER_NAMES", "SPECS", "ImportRefused", "ImportSummary", "import_file"]

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
) -> ImportSummary:
    """Import one file into ``layer``: all of it lands, or (on any error) none of it."""
    if layer == "soil_rasters":
        return import_raster(conn, path, crs=crs, user=user, data_dir=data_dir, config=soil_config)
    if layer == "soil_samples":
        return import_samples(conn, path, crs=crs, user=user, data_dir=data_dir,
                              encoding=encoding, config=soil_config)  # fmt: skip
    spec = SPECS.get(layer)
    if spec is None:
        raise unknown_layer(layer)
    if progress:
        progress("read", 0, 1)
    table = read_table(Path(path), source_layer=source_layer)
    summary = ImportSummary(layer=layer, source=table.source_name, features_read=len(table.frame))
    summary.encoding, summary.encoding_note = decode_text(table, encoding)
    geoms, summary.crs_label, summary.crs_note = reproject(table, crs)
    if progress:
        progress("check", 0, summary.features_read)
    rows = build_rows(spec, table, geoms, summary)
    if progress:
        progress("check", summary.features_read, summary.features_read)
    if summary.rejected and not skip_invalid:
        raise ImportRefused(summary)
    if not rows:
        raise ImportRefused(summary)
    write_rows(conn, spec, rows, summary, user=user, progress=progress)
    return summary
