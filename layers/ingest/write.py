"""The write half of an import: rows copied into a staging table, checked there against the
database (references, rules, duplicates), then moved into the layer, all in one transaction
with its import batch and audit row."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import numpy as np
import psycopg
import shapely
from psycopg import sql
from psycopg.types.json import Jsonb

from geo.errors import Conflict, InvalidInput

from ..schema import Layer
from .result import ImportSummary, Progress


def _create_staging(conn: psycopg.Connection, spec: Layer) -> list[str]:
    cols = spec.staging_columns()
    defs = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in cols
    )
    # The write may run as a savepoint inside a caller's transaction, where ON COMMIT
    # DROP does not fire yet: drop any staging table left by an earlier import first.
    conn.execute("DROP TABLE IF EXISTS pg_temp.staging")
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE staging (row_no integer, {}, geom geometry) ON COMMIT DROP"
        ).format(defs)
    )
    return [name for name, _ in cols]


def _copy_rows(
    conn: psycopg.Connection,
    names: list[str],
    rows: list[dict[str, Any]],
    progress: Progress | None,
) -> None:
    geoms = np.array([r["geom"] for r in rows], dtype=object)
    has = np.array([g is not None for g in geoms], dtype=bool)
    ewkb = np.full(len(rows), None, dtype=object)
    if has.any():
        ewkb[has] = shapely.to_wkb(
            shapely.set_srid(geoms[has], 4326), hex=True, include_srid=True, output_dimension=2
        )
    target = sql.SQL("COPY staging (row_no, {}, geom) FROM STDIN").format(
        sql.SQL(", ").join(sql.Identifier(n) for n in names)
    )
    step = max(len(rows) // 100, 1)
    with conn.cursor().copy(target) as copy:
        for i, (r, g) in enumerate(zip(rows, ewkb, strict=True)):
            copy.write_row((r["row_no"], *(r.get(n) for n in names), g))
            if progress and i % step == 0:
                progress("write", i, len(rows))
    if progress:
        progress("write", len(rows), len(rows))


def _check_references(conn: psycopg.Connection, spec: Layer) -> None:
    for ref in spec.references:
        stmt = sql.SQL(
            "SELECT s.row_no, s.{col} FROM staging s WHERE s.{col} IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM {table} t WHERE t.{target} = s.{col}) ORDER BY s.row_no LIMIT 50"
        ).format(
            col=sql.Identifier(ref.column),
            table=sql.Identifier(ref.table),
            target=sql.Identifier(ref.target),
        )
        bad = conn.execute(stmt).fetchall()
        if bad:
            listed = ", ".join(f"dòng/row {r} ({v})" for r, v in bad[:10])
            raise InvalidInput(
                f"{ref.label_vi} không có trong cơ sở dữ liệu: {listed}.",
                f"Unknown {ref.column}: {listed}.",
                hint_vi=f"Nhập lớp {ref.table} trước, hoặc sửa {ref.label_vi} trong tệp.",
                hint_en=f"Import the {ref.table} layer first, or fix {ref.column} in the file.",
            )


def _check_rows(conn: psycopg.Connection, spec: Layer) -> None:
    for check in spec.checks:
        bad = conn.execute(check.sql).fetchall()
        if bad:
            rows = ", ".join(f"dòng/row {r} ({v})" for r, v in bad[:10])
            raise InvalidInput(
                check.message_vi.format(rows=rows),
                check.message_en.format(rows=rows),
                hint_vi=check.hint_vi,
                hint_en=check.hint_en,
                details=[f"row {r}: {v}" for r, v in bad],
            )


def _check_conflicts(conn: psycopg.Connection, spec: Layer) -> None:
    for column in spec.unique:
        stmt = sql.SQL(
            "SELECT s.row_no, s.{c} FROM staging s JOIN {t} t ON t.{c} = s.{c} ORDER BY s.row_no LIMIT 50"
        ).format(c=sql.Identifier(column), t=sql.Identifier(spec.table))
        clash = conn.execute(stmt).fetchall()
        if clash:
            listed = ", ".join(f"dòng/row {r} ({v})" for r, v in clash[:10])
            raise Conflict(
                f"Đã có trong cơ sở dữ liệu ({column}): {listed}; không nhập gì cả.",
                f"Already stored ({column}): {listed}; nothing was imported.",
                hint_vi="Xóa các dòng này khỏi tệp (dữ liệu đã có) hoặc sửa mã bị trùng.",
                hint_en="Remove these rows from the file (they are already stored) or fix the duplicate codes.",
                details=[f"row {r}: {v}" for r, v in clash],
            )


def record_batch(
    conn: psycopg.Connection,
    *,
    layer: str,
    source: str,
    crs: str,
    encoding: str,
    counts: tuple[int, int, int, int],
    user: str,
) -> int:
    """Open an import in the current transaction: the operator acts as the system (bulk,
    one audit row for the batch rather than one per feature); returns the batch id."""
    conn.execute(
        "SELECT set_config('agrimap.user', %s, true), set_config('agrimap.system', 'on', true), "
        "set_config('agrimap.bulk', 'on', true)",
        (user,),
    )
    read, imported, repaired, rejected = counts
    batch = conn.execute(
        "INSERT INTO import_batch (layer, source_name, source_crs, encoding, features_read, "
        "features_imported, features_repaired, features_rejected, imported_by) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (layer, source, crs, encoding, read, imported, repaired, rejected, user),
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO audit_log (actor, action, object_type, object_id, detail) "
        "VALUES (%s, 'import', %s, %s, %s)",
        (
            user, layer, str(batch),
            Jsonb({"source": source, "crs": crs, "encoding": encoding, "read": read,
                   "imported": imported, "repaired": repaired, "rejected": rejected}),
        ),
    )  # fmt: skip
    return batch


def write_rows(
    conn: psycopg.Connection,
    spec: Layer,
    rows: list[dict[str, Any]],
    summary: ImportSummary,
    *,
    user: str,
    progress: Progress | None = None,
) -> None:
    """Write all rows in one transaction; on any error nothing stays behind."""
    with conn.transaction():
        batch = record_batch(
            conn,
            layer=spec.name,
            source=summary.source,
            crs=summary.crs_label,
            encoding=summary.encoding,
            counts=(summary.features_read, len(rows), len(summary.repaired), len(summary.rejected)),
            user=user,
        )
        names = _create_staging(conn, spec)
        _copy_rows(conn, names, rows, progress)
        _check_references(conn, spec)
        _check_rows(conn, spec)
        _check_conflicts(conn, spec)
        for stmt in move_statements(spec):
            conn.execute(stmt, {"batch": batch} if "%(batch)s" in stmt else None)
        conn.execute("DROP TABLE pg_temp.staging")
        summary.batch_id = batch
        summary.imported = len(rows)


def move_statements(spec: Layer) -> list[str]:
    """The layer's INSERT ... SELECT FROM staging statements, from ``sql/<layer>.sql`` here."""
    text = (files("layers.ingest") / "sql" / spec.sql_file).read_text()
    return [s.strip() for s in text.split(";\n") if s.strip() and not _only_comments(s)]


def _only_comments(stmt: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in stmt.splitlines())
