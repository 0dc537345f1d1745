"""Import history (lịch sử nhập dữ liệu): who imported which file when, with what counts, and the
undo of a whole import while nothing depends on it. Shared by the CLI and the web import."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from geo.errors import Conflict, NotFound

from .. import admin, coverage, growing_areas, households, soil
from .write import import_transaction

# Layers whose rows carry the import that brought them (import_batch_id), hence can be undone.
UNDOABLE = {
    s.name: s.table
    for s in (admin.VILLAGES, growing_areas.LAYER, households.LAYER, soil.ZONES, coverage.LAYER)
}
HISTORY_COLUMNS = (
    "id", "layer", "source_name", "source_crs", "encoding", "features_read", "features_imported",
    "features_updated", "features_removed", "features_rejected", "imported_by", "imported_at",
    "mode", "commune_code", "undone_at", "undone_by", "communes", "imported_by_id",
)  # fmt: skip
# ``communes`` NULL: every import; else those touching one of them or made by ``user_id``.
HISTORY_SQL = sql.SQL(
    "SELECT {} FROM import_batch WHERE (%(layer)s::text IS NULL OR layer = %(layer)s) "
    "AND (%(communes)s::text[] IS NULL OR communes && %(communes)s::text[] "
    "OR imported_by_id = %(user_id)s::bigint) "
    "AND (%(before)s::bigint IS NULL OR id < %(before)s::bigint) "
    "ORDER BY id DESC LIMIT %(limit)s"
).format(sql.SQL(", ").join(map(sql.Identifier, HISTORY_COLUMNS)))


def list_imports(
    conn: psycopg.Connection,
    *,
    layer: str | None = None,
    limit: int = 50,
    communes: list[str] | tuple[str, ...] | None = None,
    user_id: int | None = None,
    before: int | None = None,
) -> list[dict[str, Any]]:
    """The latest imports, newest first (older than import ``before``); with ``communes``, only
    the imports whose rows lie in one of them or that account ``user_id`` made (an officer's)."""
    params = {
        "layer": layer, "limit": limit, "before": before, "user_id": user_id,
        "communes": None if communes is None else list(communes),
    }  # fmt: skip
    rows = conn.execute(HISTORY_SQL, params).fetchall()
    return [dict(zip(HISTORY_COLUMNS, r, strict=True)) for r in rows]


def import_communes(conn: psycopg.Connection, batch_id: int) -> list[str] | None:
    """The communes of an import's rows (None when it has none recorded); NotFound if none."""
    row = conn.execute("SELECT communes FROM import_batch WHERE id = %s", (batch_id,)).fetchone()
    if row is None:
        raise NotFound(f"Không có lần nhập số {batch_id}.", f"No import {batch_id}.")
    return row[0]


def _refuse(vi: str, en: str, hint_vi: str = "", hint_en: str = "") -> Conflict:
    return Conflict(vi, en, hint_vi=hint_vi, hint_en=hint_en)


def undo_import(conn: psycopg.Connection, batch_id: int, *, user: str) -> int:
    """Remove every row an import added, in one transaction; returns how many. Refused when the
    import changed stored rows (upsert, replace), was undone already, or something depends on
    its rows (an area edited since, households in its villages)."""
    with import_transaction(conn):
        row = conn.execute(
            "SELECT layer, features_updated, features_removed, undone_at FROM import_batch "
            "WHERE id = %s FOR UPDATE",
            (batch_id,),
        ).fetchone()
        if row is None:
            raise NotFound(f"Không có lần nhập số {batch_id}.", f"No import {batch_id}.")
        layer, updated, removed, undone = row
        if undone is not None:
            raise _refuse(
                f"Lần nhập số {batch_id} đã được hoàn tác.",
                f"Import {batch_id} was undone already.",
            )
        table = UNDOABLE.get(layer)
        if table is None:
            raise _refuse(
                f"Không hoàn tác được lần nhập lớp {layer}.",
                f"Imports of layer {layer} cannot be undone.",
                "Sửa hoặc xóa dữ liệu đó trực tiếp.",
                "Edit or delete that data directly.",
            )
        if updated or removed:
            raise _refuse(
                f"Lần nhập số {batch_id} đã sửa {updated} và xóa {removed} dòng có sẵn: hoàn tác sẽ "
                "không khôi phục được chúng.",
                f"Import {batch_id} updated {updated} and removed {removed} stored rows: an undo "
                "would not bring them back.",
                "Xem lịch sử từng vùng trồng để khôi phục phiên bản trước.",
                "Use each area's history to restore an earlier version.",
            )
        _refuse_dependants(conn, table, batch_id)
        conn.execute(
            "SELECT set_config('agrimap.user', %s, true), set_config('agrimap.bulk', 'on', true)",
            (user,),
        )
        deleted = conn.execute(
            sql.SQL("DELETE FROM {} WHERE import_batch_id = %s").format(sql.Identifier(table)),
            (batch_id,),
        ).rowcount
        if table == "coverage":
            conn.execute("DELETE FROM coverage_version WHERE import_batch_id = %s", (batch_id,))
        conn.execute(
            "UPDATE import_batch SET undone_at = now(), undone_by = %s WHERE id = %s",
            (user, batch_id),
        )
        conn.execute(
            "INSERT INTO audit_log (actor, action, object_type, object_id, detail) "
            "VALUES (%s, 'import', %s, %s, %s)",
            (user, layer, str(batch_id), Jsonb({"undo": True, "removed": deleted})),
        )
    return deleted


def _refuse_dependants(conn: psycopg.Connection, table: str, batch_id: int) -> None:
    if table == "growing_area":
        edited = conn.execute(
            "SELECT count(*) FROM growing_area WHERE import_batch_id = %s AND version > 1",
            (batch_id,),
        ).fetchone()[0]
        if edited:
            raise _refuse(
                f"{edited} vùng trồng của lần nhập này đã được sửa sau đó: không hoàn tác cả lần nhập.",
                f"{edited} growing area(s) of this import were edited since: the import is not undone.",
            )
    if table == "village":
        used = conn.execute(
            "SELECT count(*) FROM household h JOIN village v ON v.code = h.village_code "
            "WHERE v.import_batch_id = %s",
            (batch_id,),
        ).fetchone()[0]
        if used:
            raise _refuse(
                f"{used} hộ gia đình nằm trong các thôn của lần nhập này: không hoàn tác được.",
                f"{used} household(s) lie in this import's villages: it cannot be undone.",
                "Hoàn tác lần nhập hộ gia đình trước.",
                "Undo the household import first.",
            )
