"""What an import does with rows already stored (``--mode``): by default it refuses them; append
leaves them as they are and adds the new ones; upsert updates those that changed (versioned and
audited row by row, like an officer's edit); replace also removes the stored rows of the file's
communes that the file no longer has. After ``apply`` the staging table holds only the rows to
insert."""

from __future__ import annotations

import psycopg
from psycopg import errors, sql

from geo.errors import Conflict, InvalidInput

from ..schema import Layer
from .result import ImportSummary

MODES = ("append", "upsert", "replace")
# Tables whose rows belong to a commune (what replace is scoped to).
COMMUNE_SCOPED = {"village", "growing_area", "household"}
# Values an upsert computes rather than copies (an empty cell never erases a stored value).
_COMPUTED = {
    ("growing_area", "area_ha"): sql.SQL(
        "coalesce(s.area_ha, round((ST_Area(s.geom::geography) / 10000)::numeric, 4))"
    ),
}


def check_mode(mode: str | None, spec: Layer) -> None:
    """Refuse a mode the layer cannot take, before anything is read."""
    if mode is None:
        return
    if mode not in MODES:
        raise InvalidInput(
            f"Không có chế độ nhập '{mode}'.",
            f"Unknown import mode '{mode}'.",
            hint_vi="Chọn --mode append (thêm dòng mới), upsert (thêm và cập nhật) hoặc replace (thay toàn bộ dữ liệu của xã).",
            hint_en="Choose --mode append (add new rows), upsert (add and update) or replace (replace the commune's rows).",
        )
    if mode in ("upsert", "replace") and not spec.unique:
        raise InvalidInput(
            f"Lớp {spec.title_vi} không có mã để nhận ra dòng đã có: không dùng được --mode {mode}.",
            f"Layer {spec.name} has no key to recognise stored rows: --mode {mode} does not apply.",
            hint_vi="Dùng --mode append để thêm dữ liệu.",
            hint_en="Use --mode append to add the data.",
        )
    if mode == "replace" and spec.table not in COMMUNE_SCOPED:
        raise InvalidInput(
            f"--mode replace chỉ dùng cho lớp theo xã (thôn, vùng trồng, hộ), không cho {spec.title_vi}.",
            f"--mode replace applies to commune layers (villages, growing areas, households), not {spec.name}.",
            hint_vi="Dùng --mode upsert.",
            hint_en="Use --mode upsert.",
        )


def _key_match(spec: Layer) -> sql.Composable:
    return sql.SQL(" AND ").join(
        sql.SQL("t.{c} = s.{c}").format(c=sql.Identifier(c)) for c in spec.unique
    )


def _geom_value(spec: Layer) -> sql.Composable:
    value = sql.SQL("s.geom") if spec.kind == "point" else sql.SQL("ST_Multi(s.geom)")
    if not spec.geometry_required:
        return sql.SQL("coalesce({}, t.geom)").format(value)
    return value


def apply(
    conn: psycopg.Connection,
    spec: Layer,
    mode: str | None,
    summary: ImportSummary,
    *,
    batch: int,
    file_sha256: str | None,
) -> None:
    summary.mode = mode or "refuse"
    if not spec.unique:
        if mode is None:
            _refuse_same_file(conn, spec, file_sha256)
        return
    if mode == "replace":
        conn.execute(
            sql.SQL("CREATE TEMP TABLE file_keys ON COMMIT DROP AS SELECT DISTINCT {} FROM staging")
            .format(sql.SQL(", ").join(map(sql.Identifier, dict.fromkeys([*spec.unique, "commune_code"]))))
        )  # fmt: skip
    if mode is None:
        _refuse_stored(conn, spec)
        return
    # Row by row history and audit for what changes in stored rows (not for the new rows of
    # the operator's bulk import; a signed-in account's import audits those too).
    bulk = conn.execute("SELECT current_setting('agrimap.bulk', true)").fetchone()[0] or "off"
    conn.execute("SELECT set_config('agrimap.bulk', 'off', true)")
    if mode in ("upsert", "replace"):
        summary.updated = _update_changed(conn, spec)
    matched = conn.execute(
        sql.SQL("DELETE FROM staging s USING {t} t WHERE {k} RETURNING s.row_no").format(
            t=sql.Identifier(spec.table), k=_key_match(spec)
        )
    ).fetchall()
    summary.unchanged = len(matched) - summary.updated
    if mode == "replace":
        summary.removed = _remove_missing(conn, spec)
    conn.execute("SELECT set_config('agrimap.bulk', %s, true)", (bulk,))


def _refuse_stored(conn: psycopg.Connection, spec: Layer) -> None:
    label = sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in spec.unique)
    stmt = sql.SQL(
        "SELECT s.row_no, concat_ws(' ', {label}) FROM staging s JOIN {t} t ON {k} "
        "ORDER BY s.row_no"
    ).format(label=label, t=sql.Identifier(spec.table), k=_key_match(spec))
    clash = conn.execute(stmt).fetchall()
    if not clash:
        return
    listed = ", ".join(f"dòng/row {r} ({v})" for r, v in clash[:10])
    more = f" (+{len(clash) - 10})" if len(clash) > 10 else ""
    raise Conflict(
        f"Đã có trong cơ sở dữ liệu {len(clash)} dòng: {listed}{more}; không nhập gì cả.",
        f"{len(clash)} row(s) already stored: {listed}{more}; nothing was imported.",
        hint_vi="Nhập lại bằng --mode upsert (cập nhật các dòng đã có), --mode append (chỉ thêm dòng mới) "
        "hoặc --mode replace (thay dữ liệu của xã), hoặc sửa mã bị trùng.",
        hint_en="Import again with --mode upsert (update stored rows), --mode append (add only new rows) "
        "or --mode replace (replace the commune's rows), or fix the duplicate codes.",
        details=[f"row {r}: {v}" for r, v in clash[:200]],
    )


def _refuse_same_file(conn: psycopg.Connection, spec: Layer, file_sha256: str | None) -> None:
    """A layer without a key (coverage, soil zones) recognises a re-import by the file itself."""
    if file_sha256 is None:
        return
    row = conn.execute(
        "SELECT id, source_name, to_char(imported_at AT TIME ZONE 'Asia/Ho_Chi_Minh', "
        "'DD/MM/YYYY HH24:MI'), imported_by FROM import_batch "
        "WHERE layer = %s AND file_sha256 = %s AND features_imported > 0 ORDER BY id LIMIT 1",
        (spec.name, file_sha256),
    ).fetchone()
    if row is None:
        return
    bid, name, when, who = row
    raise Conflict(
        f"Tệp này đã được nhập vào lớp {spec.title_vi} lúc {when} (lần nhập số {bid}, {name}, "
        f"bởi {who}); không nhập lại.",
        f"This file was imported into {spec.name} already ({when}, import {bid}, {name}, by {who}); "
        "not imported again.",
        hint_vi="Dùng --mode append nếu thật sự muốn thêm một lần nữa.",
        hint_en="Pass --mode append to add it once more on purpose.",
    )


def _update_changed(conn: psycopg.Connection, spec: Layer) -> int:
    columns = [c for c in spec.stored_staging_columns if c not in spec.unique]
    values = [
        _COMPUTED.get(
            (spec.table, c), sql.SQL("coalesce(s.{c}, t.{c})").format(c=sql.Identifier(c))
        )
        for c in columns
    ]
    target = sql.SQL(", ").join(map(sql.Identifier, [*columns, "geom"]))
    source = sql.SQL(", ").join([*values, _geom_value(spec)])
    current = sql.SQL(", ").join(
        sql.SQL("t.{}").format(sql.Identifier(c)) for c in [*columns, "geom"]
    )
    stmt = sql.SQL(
        "UPDATE {t} t SET ({target}) = ({source}) FROM staging s WHERE {k} "
        "AND ({current}) IS DISTINCT FROM ({source}) RETURNING s.row_no"
    ).format(
        t=sql.Identifier(spec.table), target=target, source=source, k=_key_match(spec),
        current=current,
    )  # fmt: skip
    return len(conn.execute(stmt).fetchall())


def _remove_missing(conn: psycopg.Connection, spec: Layer) -> int:
    stmt = sql.SQL(
        "DELETE FROM {t} t WHERE t.commune_code IN (SELECT commune_code FROM file_keys) "
        "AND NOT EXISTS (SELECT 1 FROM file_keys s WHERE {k}) RETURNING 1"
    ).format(t=sql.Identifier(spec.table), k=_key_match(spec))
    try:
        with conn.transaction():
            return len(conn.execute(stmt).fetchall())
    except errors.ForeignKeyViolation as exc:
        raise Conflict(
            f"Không thay được dữ liệu {spec.title_vi}: có dòng không còn trong tệp nhưng vẫn được "
            f"dữ liệu khác dùng đến ({exc.diag.message_detail}).",
            f"Cannot replace {spec.name}: a row the file no longer has is still used by other data "
            f"({exc.diag.message_detail}).",
            hint_vi="Giữ dòng đó trong tệp, hoặc chuyển/xóa dữ liệu dùng nó trước; hoặc dùng --mode upsert.",
            hint_en="Keep that row in the file, or move/delete what uses it first; or use --mode upsert.",
        ) from exc
