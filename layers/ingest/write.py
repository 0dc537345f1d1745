"""The write half of an import: rows copied into a staging table, checked there against the
database (references, rules, duplicates), then moved into the layer, all in one transaction
with its import batch and audit row."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import numpy as np
import psycopg
import shapely
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.types.json import Jsonb

from geo import codes

from .. import partitions
from ..schema import Layer
from . import checks, modes
from .result import ImportRefused, ImportSummary, Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WriteOptions:
    """How an import writes: the commune for the whole file, what to do with rows already
    stored (``mode``: None refuses them, "append", "upsert", "replace"), whether refused rows
    stop it, and the code layouts a growing-area code may follow."""

    commune: str | None = None
    mode: str | None = None
    skip_invalid: bool = False
    layouts: tuple[codes.CodeLayout, ...] = (codes.ISSUE_LAYOUT, codes.DEFAULT_LAYOUT)
    file_sha256: str | None = None
    dry_run: bool = False  # check everything, write everything, then roll it all back
    # A signed-in account's import (the web import): the database checks its communes row by
    # row and audits each row under its name; ``scope`` refuses rows outside an officer's
    # communes before that, with their row numbers.
    actor_id: int | None = None
    scope: tuple[str, ...] | None = None


_BINARY_TYPES = {"numeric": "float8", "double precision": "float8", "integer": "int4",
                 "bigint": "int8", "text": "text", "date": "date", "boolean": "bool"}  # fmt: skip


def _create_staging(conn: psycopg.Connection, spec: Layer) -> list[tuple[str, str]]:
    cols = spec.staging_columns()
    # Numbers are staged as float8 (what the parsers give); the move casts them to numeric.
    defs = sql.SQL(", ").join(
        sql.SQL("{} {}").format(
            sql.Identifier(name), sql.SQL("double precision" if kind == "numeric" else kind)
        )
        for name, kind in cols
    )
    # The write may run as a savepoint inside a caller's transaction, where ON COMMIT
    # DROP does not fire yet: drop any staging table left by an earlier import first.
    for table in ("staging", "staging_placed", "grid_place", "place", "file_keys"):
        conn.execute(sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(sql.Identifier(table)))
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE staging (row_no integer, {}, geom geometry, "
            "placed boolean NOT NULL DEFAULT false) ON COMMIT DROP"
        ).format(defs)
    )
    return cols


def _copy_rows(
    conn: psycopg.Connection,
    cols: list[tuple[str, str]],
    rows: list[dict[str, Any]],
    progress: Progress | None,
) -> None:
    """Binary COPY: no text formatting of a million numbers and geometries (EWKB as is)."""
    names = [n for n, _ in cols]
    geoms = np.array([r["geom"] for r in rows], dtype=object)
    has = np.array([g is not None for g in geoms], dtype=bool)
    ewkb = np.full(len(rows), None, dtype=object)
    if has.any():
        ewkb[has] = _ewkb(geoms[has])
    target = sql.SQL("COPY staging (row_no, {}, geom) FROM STDIN (FORMAT BINARY)").format(
        sql.SQL(", ").join(sql.Identifier(n) for n in names)
    )
    floats = [i for i, (_, kind) in enumerate(cols) if kind in ("numeric", "double precision")]
    step = max(len(rows) // 100, 1)
    with conn.cursor().copy(target) as copy:
        copy.set_types(["int4", *(_BINARY_TYPES[k] for _, k in cols), "bytea"])
        for i, (r, g) in enumerate(zip(rows, ewkb, strict=True)):
            values = [r.get(n) for n in names]
            for j in floats:
                if values[j] is not None:
                    values[j] = float(values[j])
            copy.write_row((r["row_no"], *values, g))
            if progress and i % step == 0:
                progress("write", i, len(rows))
    if progress:
        progress("write", len(rows), len(rows))


# EWKB of a 2-D point with an SRID: byte order (little-endian), type (point | SRID flag), SRID,
# x, y: what shapely.to_wkb(..., include_srid=True, output_dimension=2) writes for one.
_EWKB_POINT = np.dtype(
    [("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")]
)


def _ewkb(geoms: np.ndarray) -> list[bytes] | np.ndarray:
    """EWKB (SRID 4326) of each geometry. A file of plain points (a province's households) is
    written straight from the coordinates, without a WKB writer call per point (0.7 s of a
    million-row import); anything else (empty, 3-D, other types) goes through shapely."""
    if (
        (shapely.get_type_id(geoms) == 0).all()
        and not shapely.is_empty(geoms).any()
        and not shapely.has_z(geoms).any()
    ):
        xy = shapely.get_coordinates(geoms)
        out = np.empty(len(geoms), dtype=_EWKB_POINT)
        out["order"], out["type"], out["srid"] = 1, 0x20000001, 4326
        out["x"], out["y"] = xy[:, 0], xy[:, 1]
        raw = out.tobytes()
        size = _EWKB_POINT.itemsize
        return [raw[i : i + size] for i in range(0, len(raw), size)]
    return shapely.to_wkb(shapely.set_srid(geoms, 4326), include_srid=True, output_dimension=2)


# Who acts and how (record_batch, undo_import): set local to the import's transaction.
ACTING_SETTINGS = ("agrimap.user", "agrimap.user_id", "agrimap.system", "agrimap.bulk")
_ACTING_NOW = "SELECT current_setting(name, true) FROM unnest(%s::text[]) WITH ORDINALITY AS t(name, i) ORDER BY i"
_ACTING_PUT_BACK = (
    "SELECT set_config(name, value, true) FROM unnest(%s::text[], %s::text[]) AS t(name, value)"
)


@contextmanager
def import_transaction(conn: psycopg.Connection) -> Iterator[None]:
    """An import's (or an undo's) own transaction. Its settings (who acts, bulk, system) are
    local to the transaction; inside a caller's open transaction it is a savepoint, and
    releasing one keeps them: the caller's later writes would then be made as the system, in
    bulk (unaudited). There they are put back as they were before."""
    if conn.info.transaction_status == TransactionStatus.IDLE:
        with conn.transaction():
            yield
        return
    names = list(ACTING_SETTINGS)
    before = [value for (value,) in conn.execute(_ACTING_NOW, (names,)).fetchall()]
    with conn.transaction():
        yield
    conn.execute(_ACTING_PUT_BACK, (names, before))


def record_batch(
    conn: psycopg.Connection,
    *,
    layer: str,
    source: str,
    crs: str,
    encoding: str,
    counts: tuple[int, int, int, int],
    user: str,
    actor_id: int | None = None,
) -> int:
    """Open an import in the current transaction; returns the batch id. The operator acts as
    the system (bulk, one audit row for the batch rather than one per feature); a signed-in
    account (``actor_id``) acts as itself: its communes checked and every row audited."""
    if actor_id is None:
        conn.execute(
            "SELECT set_config('agrimap.user', %s, true), set_config('agrimap.system', 'on', true), "
            "set_config('agrimap.bulk', 'on', true)",
            (user,),
        )
    else:
        conn.execute(
            "SELECT set_config('agrimap.user', %s, true), set_config('agrimap.user_id', %s, true), "
            "set_config('agrimap.system', 'off', true), set_config('agrimap.bulk', 'off', true)",
            (user, str(actor_id)),
        )
    read, imported, repaired, rejected = counts
    batch = conn.execute(
        "INSERT INTO import_batch (layer, source_name, source_crs, encoding, features_read, "
        "features_imported, features_repaired, features_rejected, imported_by, imported_by_id) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (layer, source, crs, encoding, read, imported, repaired, rejected, user, actor_id),
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO audit_log (actor, actor_id, action, object_type, object_id, detail) "
        "VALUES (%s, %s, 'import', %s, %s, %s)",
        (
            user, actor_id, layer, str(batch),
            Jsonb({"source": source, "crs": crs, "encoding": encoding, "read": read,
                   "imported": imported, "repaired": repaired, "rejected": rejected}),
        ),
    )  # fmt: skip
    return batch


def _room_for_staging(conn: psycopg.Connection) -> None:
    """Temporary tables live in temp_buffers (8 MB by default): a million staged rows would be
    read back from disk by every check. A million households stage in 141 MB, and placing
    them (an UPDATE of every row) doubles that: with 256 MB the grid's UPDATE wrote its rows
    out to disk and read them back (11.6 s instead of ~3 s). The buffers are taken as the
    tables grow, up to this limit, and given back when the session ends. Settable only before
    a session's first temporary table, so a later import on the same connection keeps what it
    has."""
    try:
        with conn.transaction():
            conn.execute("SET temp_buffers = '768MB'")
    except psycopg.errors.InvalidParameterValue:
        pass


def write_rows(
    conn: psycopg.Connection,
    spec: Layer,
    rows: list[dict[str, Any]],
    summary: ImportSummary,
    *,
    user: str,
    options: WriteOptions | None = None,
    progress: Progress | None = None,
) -> None:
    """Stage, check, then write all rows in one transaction; on any error (a refused row
    without ``skip_invalid`` included) nothing stays behind."""
    options = options or WriteOptions()
    _room_for_staging(conn)
    with import_transaction(conn):
        batch = record_batch(
            conn,
            layer=spec.name,
            source=summary.source,
            crs=summary.crs_label,
            encoding=summary.encoding,
            counts=(summary.features_read, len(rows), len(summary.repaired), len(summary.rejected)),
            user=user,
            actor_id=options.actor_id,
        )
        cols = _create_staging(conn, spec)
        if spec.generate is not None:
            for name, values in spec.generate(len(rows)).items():
                for row, value in zip(rows, values, strict=True):
                    row[name] = value
        _copy_rows(conn, cols, rows, progress)
        if progress:
            progress("place", 0, 1)
        refused = checks.Refusals()
        summary.place_note = checks.place_rows(conn, spec, refused, commune=options.commune)
        if options.scope is not None:
            checks.outside_scope(conn, spec, refused, communes=options.scope)
        scoped = checks.scope_codes(conn, spec)
        if scoped:
            n, example = len(scoped), min(scoped)
            summary.warnings.append(
                f"{n} mã thôn được ghi kèm mã xã (ví dụ {example}) để không trùng với xã khác"
                f" / {n} village code(s) stored with their commune's code (e.g. {example})"
            )
        checks.references(conn, spec, refused)
        checks.row_checks(conn, spec, refused)
        if not distinct_in_file(spec, rows):
            checks.duplicates_in_file(conn, spec, refused)
        if spec.name == "growing_areas":
            checks.growing_area_checks(conn, refused, layouts=options.layouts)
        summary.rejected = sorted(summary.rejected + refused.items())
        for row, pairs in refused.pairs.items():
            summary.reasons.setdefault(row, []).extend(pairs)
        if summary.rejected and not options.skip_invalid:
            raise ImportRefused(summary)
        if refused:
            conn.execute(
                "DELETE FROM staging s USING unnest(%s::int[]) AS r(row_no) WHERE s.row_no = r.row_no",
                (refused.rows(),),
            )
        if not conn.execute("SELECT EXISTS (SELECT 1 FROM staging)").fetchone()[0]:
            raise ImportRefused(summary)  # every row refused: nothing to import
        uncommuned = checks.record_communes(conn, spec, batch)
        if progress:
            progress("place", 1, 1)
        modes.apply(conn, spec, options.mode, summary, batch=batch, file_sha256=options.file_sha256)
        inserted = conn.execute("SELECT count(*) FROM staging").fetchone()[0]
        if progress:
            progress("insert", 0, 1)
        written = _written(conn, spec, inserted)
        rebuild = [(w.partition, _drop_indexes(conn, w.partition)) for w in written if _rebuilds(w)]
        if inserted >= SORT_IN_MEMORY_FROM:
            # The move sorts the rows twice (ids, then space) and its statement triggers read
            # the new rows (a transition table) four times: all in memory, about 600 bytes a
            # row (a million rows spilled 160 MB to disk and read it back four times).
            mb = min(max(256, inserted * 600 >> 20), 1024)
            conn.execute(sql.SQL("SET LOCAL work_mem = {}").format(sql.Literal(f"{mb}MB")))
        bulk = bulk_move(conn, spec, options, uncommuned=uncommuned)
        built_after = []
        if bulk is not None:
            log.info(
                "moving %d rows into %s in replica mode (keys checked set-wise)",
                inserted,
                spec.table,
            )
            rebuilt = [
                table
                for table in BULK_MOVE[spec.table]["built_after"]
                if inserted >= REBUILD_INDEXES_FROM and _holds_at_most(conn, table, inserted)
            ]
            if rebuilt:
                _hold(conn, BULK_MOVE[spec.table]["held_with_keys"])
            built_after = [_drop_keys(conn, table) for table in rebuilt]
            conn.execute("SET LOCAL session_replication_role = replica")
        for stmt in move_statements(spec):
            conn.execute(stmt, {"batch": batch} if "%(batch)s" in stmt else None)
        if bulk is not None:
            conn.execute("SET LOCAL session_replication_role = origin")
            check_references(conn, bulk, batch, [w.partition for w in written] or [spec.table])
        for w in written:
            if (
                spec.table in partitions.PARTITIONED
                and w.stored
                and w.incoming >= (partitions.REORDER_FROM)
            ):
                partitions.spatially_order(conn, spec.table, w.partition)
        for table, indexes in rebuild:
            _rebuild_indexes(conn, table, indexes)
        for keys in built_after:
            _rebuild_keys(conn, keys)
        conn.execute("DROP TABLE pg_temp.staging")
        conn.execute(
            "UPDATE import_batch SET features_imported = %s, features_rejected = %s, "
            "features_updated = %s, features_removed = %s, "
            "file_sha256 = %s, mode = %s, commune_code = %s, columns = %s WHERE id = %s",
            (inserted, len(summary.rejected), summary.updated, summary.removed,
             options.file_sha256, summary.mode, options.commune, Jsonb(summary.columns), batch),
        )  # fmt: skip
        summary.batch_id = batch
        summary.imported = inserted
        if options.dry_run:
            raise DryRun(summary)  # rolls the whole import back: a preview


# --- the bulk move ------------------------------------------------------------------------------
# A normal INSERT checks each row's foreign keys (one index probe and lock per row and key) and
# runs the row triggers' WHEN clauses, a million times for a province's households. The
# operator's bulk import of households instead moves its rows with session_replication_role =
# replica for that one statement: the foreign keys are then checked set-wise after it
# (``check_references``: the referenced rows locked FOR KEY SHARE, as the per-row check would,
# and any missing one refused), the row triggers it skips are those whose WHEN skips a bulk
# import's rows anyway, and the statement triggers that derive the key table, cells, coverage
# and the layer's version still fire (migration 0020 makes them ALWAYS). Whether that holds is
# read from the catalogue at each import: any other trigger, or a foreign key of more than one
# column, and the import inserts normally.

# Per table: the row triggers a bulk import's rows skip by their WHEN (the scope trigger skips
# rows whose commune the import placed, the audit trigger skips bulk rows: the import batch and
# its one audit row record them), and the tables the ALWAYS triggers write (where a trigger or
# foreign key would also be skipped in replica mode; a name that is no longer a table is
# ignored). The coverage tables are derived by household_served_household_inserted: that
# trigger (migration 0020) is the one place a bulk import reaches coverage, and any new INSERT
# trigger on household must be ALWAYS too, else imports fall back to the row-by-row insert.
BULK_MOVE = {
    "household": {
        "skipped_row_triggers": ("household_scope_insert", "household_audit"),
        # each with what the INSERT triggers do to it (pg_trigger.tgtype: 4 insert, 8 delete,
        # 16 update)
        "derived": {"household_key": 4, "household_cell": 28, "household_cell_z14": 28,
                    "household_coverage": 4,
                    "village_coverage_summary": 28, "layer_version": 20, "partition_extent": 20},
        # The derived tables whose keys a large import builds after the move when it brings at
        # least as many rows as they hold (``_drop_keys``).
        "built_after": ("household_key",),
        # Held EXCLUSIVE (readers go on) while the key table is rebuilt anyway, with the setting
        # that lets the cells' trigger write plainly (migration 0024).
        "held_with_keys": (("household_cell", "household_cell_z14"), "agrimap.cells_exclusive"),
},
}  # fmt: skip

_TRIGGERS = """
SELECT t.tgname, t.tgrelid::regclass::text, t.tgrelid = %(parent)s::regclass AS on_parent,
       t.tgenabled, (t.tgtype & 1) = 1 AS row_level, t.tgisinternal,
       coalesce(nullif(k.conparentid, 0), k.oid) AS parent_key,
       d.mask IS NOT NULL AS on_derived
FROM pg_trigger t
LEFT JOIN pg_constraint k ON k.oid = t.tgconstraint
LEFT JOIN (SELECT to_regclass(unnest(%(derived)s::text[])) AS rel,
                  unnest(%(masks)s::int[]) AS mask) d
  ON d.rel = t.tgrelid
WHERE t.tgenabled <> 'D'
  AND ((t.tgrelid IN (SELECT relid FROM pg_partition_tree(%(parent)s::regclass))
        AND t.tgtype & 4 <> 0)
       OR t.tgtype & d.mask <> 0)
"""
_FOREIGN_KEYS = """
SELECT c.oid, c.conname, a.attname, c.confrelid::regclass::text, fa.attname
FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]
WHERE c.contype = 'f' AND c.conrelid = %(parent)s::regclass AND cardinality(c.conkey) = 1
"""


@dataclass(frozen=True)
class BulkMove:
    """The foreign keys a bulk move checks set-wise: (name, column, table, referenced column)."""

    keys: tuple[tuple[str, str, str, str], ...]


def bulk_move(
    conn: psycopg.Connection,
    spec: Layer,
    options: WriteOptions,
    *,
    uncommuned: bool | None = None,
) -> BulkMove | None:
    """Whether this import may move its rows in replica mode, and the keys it then checks.
    ``uncommuned``: whether a staged row had no commune when the communes were recorded (None:
    not known); rows only leave staging after that, so False stays true."""
    rules = BULK_MOVE.get(spec.table)
    if rules is None or options.actor_id is not None:
        return None
    bulk, system, user_id = conn.execute(
        "SELECT current_setting('agrimap.bulk', true), current_setting('agrimap.system', true), "
        "nullif(current_setting('agrimap.user_id', true), '')"
    ).fetchone()
    if bulk != "on" or system != "on" or user_id is not None:
        return None
    # The scope trigger's WHEN skips only rows whose commune is placed.
    unplaced = "SELECT EXISTS (SELECT 1 FROM staging WHERE commune_code IS NULL)"
    if uncommuned is not False and conn.execute(unplaced).fetchone()[0]:
        return None
    derived = rules["derived"]
    params = {"parent": spec.table, "derived": list(derived), "masks": list(derived.values())}
    keys = conn.execute(_FOREIGN_KEYS, params).fetchall()
    all_keys = conn.execute(
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass",
        (spec.table,),
    ).fetchone()[0]
    if all_keys != len(keys):
        return None  # a key of several columns: checked by the normal insert
    checked = {oid for oid, *_ in keys}
    triggers = conn.execute(_TRIGGERS, params).fetchall()
    for name, _, on_parent, enabled, row_level, internal, parent_key, on_derived in triggers:
        if enabled == "A":
            continue
        if on_derived:
            return None  # a trigger or foreign key the derived tables' writes would skip
        if internal:
            # A partition's copy of a parent's foreign key (``parent_key``): one checked here?
            if parent_key not in checked:
                return None
            continue
        if row_level:
            if name not in rules["skipped_row_triggers"]:
                return None
            continue
        if on_parent:
            return None  # a statement trigger that does not fire always
        # A partition's own statement trigger fires only for a statement naming the partition.
    # Rules fire by session_replication_role too (ENABLE ORIGIN by default): none expected.
    rewrites = conn.execute(
        "SELECT count(*) FROM pg_rewrite r WHERE r.rulename <> '_RETURN' AND (r.ev_class IN "
        "(SELECT relid FROM pg_partition_tree(%(parent)s::regclass)) "
        "OR r.ev_class IN (SELECT to_regclass(unnest(%(derived)s::text[]))))",
        params,
    ).fetchone()[0]
    if rewrites or not _may_replicate(conn):
        return None
    return BulkMove(tuple((n, col, ref, target) for _, n, col, ref, target in keys))


def _may_replicate(conn: psycopg.Connection) -> bool:
    """session_replication_role is for superusers, or roles granted SET on it (PostgreSQL 15)."""
    try:
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute("SET LOCAL session_replication_role = origin")
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


def check_references(
    conn: psycopg.Connection, bulk: BulkMove, batch: int, tables: list[str]
) -> None:
    """The moved rows' foreign keys, set-wise: each referenced row locked FOR KEY SHARE (what
    the per-row check does) and every value found, else the whole import fails. ``tables``:
    the partitions the rows went to (read directly: their batch index is being rebuilt)."""
    for name, column, table, target in bulk.keys:
        moved = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {col} FROM {t} WHERE import_batch_id = %(batch)s").format(
                col=sql.Identifier(column), t=sql.Identifier(t)
            )
            for t in tables
        )
        stmt = sql.SQL(
            "WITH v AS (SELECT DISTINCT {col} AS v FROM ({moved}) m WHERE {col} IS NOT NULL), "
            "locked AS (SELECT r.{target} AS v FROM {ref} r WHERE r.{target} IN (SELECT v FROM v) "
            "FOR KEY SHARE OF r) "
            "SELECT v FROM v WHERE v NOT IN (SELECT v FROM locked) LIMIT 1"
        ).format(
            col=sql.Identifier(column), moved=moved,
            target=sql.Identifier(target), ref=sql.Identifier(table),
        )  # fmt: skip
        missing = conn.execute(stmt, {"batch": batch}).fetchone()
        if missing is not None:
            raise psycopg.errors.ForeignKeyViolation(
                f'insert violates foreign key constraint "{name}": '
                f'({column})=({missing[0]}) is not present in table "{table}"'
            )


def distinct_in_file(spec: Layer, rows: list[dict[str, Any]]) -> bool:
    """Whether the file's rows cannot repeat a key: the key's columns that the file gives and
    the database does not change (not the commune or village it places, not a code it scopes)
    are distinct already. Then the duplicates check (a hash of every staged row) has nothing
    to find; a million household codes are told distinct here in a tenth of a second."""
    if not spec.unique or spec.scoped_code or not rows:
        return False
    given = [c for c in spec.unique if c not in ("commune_code", "village_code")]
    if not given or any(c not in rows[0] for c in given):
        return False
    if len(given) == 1:
        (c,) = given
        return len({r[c] for r in rows}) == len(rows)
    return len({tuple(r[c] for c in given) for r in rows}) == len(rows)


class DryRun(Exception):  # noqa: N818 - not an error: how a preview leaves nothing behind
    """Raised at the end of a dry run so that its transaction rolls back."""

    def __init__(self, summary: ImportSummary) -> None:
        super().__init__("dry run")
        self.summary = summary


# An import of at least this many rows into a table or partition, more than it holds, builds
# that table's secondary indexes after the insert (one sort each) instead of growing them row by
# row: a million random QR tokens and codes inserted one at a time into big btrees was most of
# the write. Households and growing areas do it per province partition, only in the partitions
# the import writes (their indexes are the partition's own, migration 0015); each such partition
# is locked (ACCESS EXCLUSIVE) until the import commits. A partition's primary key is rebuilt
# too when nothing refers to it (ids are unique across partitions through the key table, which
# keeps its own): the moved rows come in spatial order, their ids at random places in the key.
REBUILD_INDEXES_FROM = 200_000
SORT_IN_MEMORY_FROM = 100_000
# A table's indexes, each with the constraint it backs (if any) and both definitions.
_INDEX_ROWS = """
SELECT i.relname, pg_get_indexdef(i.oid), c.conname, pg_get_constraintdef(c.oid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
WHERE x.indrelid = %s::regclass
"""
_INDEXES = (
    _INDEX_ROWS  # noqa: S608 - two constants
    + """  AND (NOT x.indisprimary
       OR (t.relispartition AND NOT EXISTS (SELECT 1 FROM pg_constraint f
                                            WHERE f.contype = 'f' AND f.confrelid = t.oid)))
ORDER BY i.relname
"""
)
Index = tuple[str, str, str | None, str | None]


def _written(conn: psycopg.Connection, spec: Layer, inserted: int) -> list[partitions.Written]:
    """Where the staged rows go: the province partitions, or the layer's one table."""
    if spec.table in partitions.PARTITIONED:
        return partitions.written_partitions(conn, spec.table)
    if inserted < REBUILD_INDEXES_FROM:
        return []
    stored = conn.execute(
        "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (spec.table,)
    ).fetchone()[0]
    return [partitions.Written(spec.table, inserted, max(int(stored), 0))]


def _rebuilds(w: partitions.Written) -> bool:
    return w.incoming >= REBUILD_INDEXES_FROM and w.stored <= w.incoming


def _drop_indexes(conn: psycopg.Connection, table: str) -> list[Index]:
    indexes = conn.execute(_INDEXES, (table,)).fetchall()
    _drop(conn, table, indexes)
    return indexes


def _drop(conn: psycopg.Connection, table: str, indexes: list[Index]) -> None:
    for name, _, constraint, _ in indexes:
        if constraint is not None:
            conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.Identifier(table), sql.Identifier(constraint)
                )
            )
        else:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))


# The key table (household_key: every household's id and QR token, unique across provinces) is
# filled by the move's statement trigger. Its two unique indexes grown row by row cost ~6.5 s of
# CPU at a million rows on this 2-core machine (whichever order the rows come in, one of the two
# keys arrives at random places: ~3.3 µs a row), built after the insert ~0.8 s. So a bulk move
# that brings at least as many households as the whole country holds (a country's first loads)
# drops the table's keys, and the foreign keys that refer to it, and builds them again after the
# move, in the same transaction: a duplicate id or token fails the import as the row-by-row
# check would (unique_violation). Until the import commits the table is locked (ACCESS
# EXCLUSIVE): QR lookups and household edits elsewhere wait for it, which is why a later import
# into a fuller country grows the indexes as before.
_REFERRING = """
SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
FROM pg_constraint c WHERE c.contype = 'f' AND c.confrelid = %s::regclass
ORDER BY 1, 2
"""
_ALL_INDEXES = _INDEX_ROWS + "ORDER BY x.indisprimary DESC, i.relname\n"
_ESTIMATED_ROWS = "SELECT CASE WHEN reltuples >= 0 THEN reltuples::bigint END FROM pg_class WHERE oid = %s::regclass"


@dataclass(frozen=True)
class Keys:
    """A table's indexes and constraints, and the foreign keys that refer to it, as dropped."""

    table: str
    indexes: list[Index]
    referring: list[tuple[str, str, str]]


def _holds_at_most(conn: psycopg.Connection, table: str, n: int) -> bool:
    """Whether ``table`` holds at most ``n`` rows (the planner's estimate, else a bounded count)."""
    estimate = conn.execute(_ESTIMATED_ROWS, (table,)).fetchone()[0]
    if estimate is not None and estimate > 0:
        return estimate <= n
    counted = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} LIMIT %s) t").format(
        sql.Identifier(table)
    )
    return conn.execute(counted, (n + 1,)).fetchone()[0] <= n


def _hold(conn: psycopg.Connection, held: tuple[tuple[str, ...], str]) -> None:
    """Lock derived tables EXCLUSIVE (no other writer until the import commits; readers go on)
    and tell their triggers so (a setting local to the import's transaction). Taken only when
    the import is about to hold the key table, which every household writer then waits for
    anyway, and before it: a writer's statement takes the cell tables (its first trigger) and
    then the key table, so the other order could leave the writer waiting for the key table
    while the import waits for the cell table it holds (a deadlock)."""
    tables, setting = held
    conn.execute(
        sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(
            sql.SQL(", ").join(sql.Identifier(t) for t in tables)
        )
    )
    conn.execute("SELECT set_config(%s, 'on', true)", (setting,))


def _drop_keys(conn: psycopg.Connection, table: str) -> Keys:
    referring = conn.execute(_REFERRING, (table,)).fetchall()
    for other, name, _ in referring:
        conn.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(other), sql.Identifier(name)
            )
        )
    indexes = conn.execute(_ALL_INDEXES, (table,)).fetchall()
    _drop(conn, table, indexes)
    return Keys(table, indexes, referring)


def _rebuild_keys(conn: psycopg.Connection, keys: Keys) -> None:
    _rebuild_indexes(conn, keys.table, keys.indexes)
    for other, name, definition in keys.referring:
        # The definitions come from the catalogue (what the migrations created), not input.
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.Identifier(other), sql.Identifier(name), sql.SQL(definition)
            )
        )


def _rebuild_indexes(conn: psycopg.Connection, table: str, indexes: list[Index]) -> None:
    if not indexes:
        return
    conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for _, index_def, constraint, constraint_def in indexes:
        if constraint is not None and constraint_def is not None:
            # The definitions come from the catalogue (what the migrations created), not input.
            conn.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                    sql.Identifier(table), sql.Identifier(constraint), sql.SQL(constraint_def)
                )
            )
        else:
            conn.execute(sql.SQL(index_def))


def move_statements(spec: Layer) -> list[str]:
    """The layer's INSERT ... SELECT FROM staging statements, from ``sql/<layer>.sql`` here."""
    text = (files("layers.ingest") / "sql" / spec.sql_file).read_text()
    return [s.strip() for s in text.split(";\n") if s.strip() and not _only_comments(s)]


def _only_comments(stmt: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in stmt.splitlines())
