"""The checks of an import that need the database, run set-wise on the staging table: where each
row lies (its commune or village from the stored boundaries), code scoping, references, the
layer's rules, duplicates in the file, and for growing areas the registry's own checks. Each
refusal names its row and its reason; the caller decides whether they stop the import."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from importlib.resources import files

import psycopg
from psycopg import sql

from geo import codes
from geo.errors import InvalidInput

from .. import registry_checks as rc
from ..schema import Layer


def _sql(name: str) -> str:
    return (files("layers.ingest") / "sql" / "checks" / name).read_text()


def _statements(name: str) -> list[str]:
    text = _sql(name)
    return [s for s in (p.strip() for p in text.split(";\n")) if s and not _comment_only(s)]


def _comment_only(stmt: str) -> bool:
    return all(not ln.strip() or ln.strip().startswith("--") for ln in stmt.splitlines())


def _m(value: float) -> str:
    return rc.vi_number(value, 0)


def distance_vi(metres: float) -> str:
    """A distance as a person reads it: "850 m" up to 1 km, then "122,3 km" (Vietnamese format)."""
    if metres < 1000:
        return f"{rc.vi_number(metres, 0)} m"
    return f"{rc.vi_number(metres / 1000, 1)} km"


def distance_en(metres: float) -> str:
    """The same in English: "850 m", "1,234.5 km"."""
    return f"{metres:,.0f} m" if metres < 1000 else f"{metres / 1000:,.1f} km"


class Refusals:
    """Reasons per row number, in both languages ("vi / en")."""

    def __init__(self) -> None:
        self.by_row: dict[int, list[str]] = defaultdict(list)
        self.pairs: dict[int, list[tuple[str, str]]] = defaultdict(list)

    def add(self, row: int, vi: str, en: str) -> None:
        self.by_row[row].append(f"{vi} / {en}")
        self.pairs[row].append((vi, en))

    def __bool__(self) -> bool:
        return bool(self.by_row)

    def rows(self) -> list[int]:
        return sorted(self.by_row)

    def items(self) -> list[tuple[int, str]]:
        return [(r, "; ".join(self.by_row[r])) for r in self.rows()]


# --- place --------------------------------------------------------------------------------


def place_rows(
    conn: psycopg.Connection, spec: Layer, refused: Refusals, *, commune: str | None
) -> str:
    """Give each row its commune (or village) from its location; returns a note for the report."""
    _room_to_sort(conn)
    if spec.placed_in is None:
        return ""
    if commune is not None:
        _require_commune(conn, commune)
        conn.execute("UPDATE staging SET commune_code = %s WHERE commune_code IS NULL", (commune,))
    if spec.placed_in == "village":
        return _place_in_villages(conn, refused)
    return _place_in_communes(conn, refused, commune=commune)


def _require_commune(conn: psycopg.Connection, code: str) -> None:
    if conn.execute("SELECT 1 FROM commune WHERE code = %s", (code,)).fetchone() is None:
        raise InvalidInput(
            f"Không có xã mã {code} trong cơ sở dữ liệu.",
            f"No commune with code {code} is stored.",
            hint_vi="Kiểm tra mã xã (5 chữ số, mã Tổng cục Thống kê) hoặc nhập ranh giới xã trước.",
            hint_en="Check the commune code (5 digits, statistics office) or import the commune boundary first.",
        )


def _place_in_communes(conn: psycopg.Connection, refused: Refusals, *, commune: str | None) -> str:
    for stmt in _statements("place_commune.sql"):
        conn.execute(stmt)
    for row, code, m2, next_code, next_m2 in conn.execute(_sql("place_ambiguous.sql")):
        refused.add(
            row,
            f"không rõ thuộc xã nào: {_m(m2)} m² trong xã {code}, {_m(next_m2)} m² trong xã {next_code}",
            f"ambiguous commune: {m2:,.0f} m² in {code}, {next_m2:,.0f} m² in {next_code}",
        )
    for row, code, name, metres in conn.execute(_sql("unplaced_commune.sql")):
        if code is None:
            refused.add(row, "chưa có ranh giới xã nào trong CSDL", "no commune boundary is stored")
        else:
            refused.add(
                row,
                f"nằm ngoài mọi xã đã có (cách xã {name} ({code}) {distance_vi(metres)})",
                f"outside every stored commune ({distance_en(metres)} from {name} ({code}))",
            )
    for row, code, name, metres in conn.execute(_sql("outside_given_commune.sql")):
        refused.add(
            row,
            f"nằm ngoài xã {name} ({code}) đã ghi, cách {distance_vi(metres)}",
            f"outside the commune given, {name} ({code}), by {distance_en(metres)}",
        )
    placed = conn.execute("SELECT count(*) FROM staging WHERE placed").fetchone()[0]
    if commune is not None:
        return f"commune {commune} given for the whole file (--commune)"
    return f"{placed} row(s) placed in the commune holding them (largest overlap)" if placed else ""


# From this many points to place, and this many per village near them, the grid
# (place_village_grid.sql) before the per-row probes: a few points scattered over a whole
# province's villages are cheaper probed one by one than a grid over all of them.
GRID_FROM = 20_000
GRID_POINTS_PER_VILLAGE = 20


def _room_to_sort(conn: psycopg.Connection) -> None:
    """A million staged rows sorted or hashed in 4 MB (the default work_mem) spill to disk:
    the duplicates check alone took 12 s. The import's own transaction only."""
    conn.execute("SET LOCAL work_mem = '128MB'")


def _place_in_villages(conn: psycopg.Connection, refused: Refusals) -> str:
    unplaced, near = conn.execute(_sql("place_village_counts.sql")).fetchone()
    if unplaced >= GRID_FROM and unplaced >= GRID_POINTS_PER_VILLAGE * near:
        for stmt in _statements("place_village_grid.sql"):
            conn.execute(stmt)
        _rewrite_staging(conn)
    for stmt in _statements("place_village.sql"):
        conn.execute(stmt)
    for row, holding, code, name, metres in conn.execute(_sql("unplaced_village.sql")):
        if holding and holding > 1:
            refused.add(
                row,
                f"nằm trên ranh giới giữa {holding} thôn, không rõ thuộc thôn nào",
                f"on the line between {holding} villages: ambiguous",
            )
        elif code is None:
            refused.add(
                row, "chưa có ranh giới thôn nào trong CSDL", "no village boundary is stored"
            )
        else:
            refused.add(
                row,
                f"nằm ngoài mọi thôn đã có (cách thôn {name} ({code}) {distance_vi(metres)})",
                f"outside every stored village ({distance_en(metres)} from {name} ({code}))",
            )
    placed = conn.execute("SELECT count(*) FROM staging WHERE placed").fetchone()[0]
    return f"{placed} row(s) placed in the village holding them" if placed else ""


# What the grid's places change in a staged row; every other column is copied as it is.
_GRID_PLACED = {
    "village_code": "coalesce(p.code, s.village_code)",
    "commune_code": "coalesce(p.commune_code, s.commune_code)",
    "placed": "s.placed OR p.row_no IS NOT NULL",
}
_STAGING_COLUMNS = (
    "SELECT attname FROM pg_attribute WHERE attrelid = 'pg_temp.staging'::regclass "
    "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
)


def _rewrite_staging(conn: psycopg.Connection) -> None:
    """Write the grid's places (grid_place) into staging by writing the table anew with them,
    not by an UPDATE of nearly every row: the UPDATE left each row's old version behind, which
    every later check and the move read past again (a million households: ~1 s in all)."""
    cols = [name for (name,) in conn.execute(_STAGING_COLUMNS)]
    select = sql.SQL(", ").join(
        sql.SQL(_GRID_PLACED[c]) if c in _GRID_PLACED else sql.SQL("s.{}").format(sql.Identifier(c))
        for c in cols
    )
    conn.execute(
        "CREATE TEMP TABLE staging_placed (LIKE staging INCLUDING DEFAULTS) ON COMMIT DROP"
    )
    conn.execute(
        sql.SQL(
            "INSERT INTO staging_placed SELECT {} FROM staging s "
            "LEFT JOIN grid_place p ON p.row_no = s.row_no"
        ).format(select)
    )
    conn.execute("DROP TABLE pg_temp.staging, pg_temp.grid_place")
    conn.execute("ALTER TABLE pg_temp.staging_placed RENAME TO staging")


def scope_codes(conn: psycopg.Connection, spec: Layer) -> list[str]:
    """Codes numbered inside their commune become "<commune>-<code>"; returns the new codes."""
    if not spec.scoped_code:
        return []
    return [code for (code,) in conn.execute(_sql("scope_codes.sql"))]


def _has_commune(spec: Layer) -> bool:
    return "commune_code" in {name for name, _ in spec.staging_columns()}


def outside_scope(
    conn: psycopg.Connection, spec: Layer, refused: Refusals, *, communes: Sequence[str]
) -> None:
    """An officer imports into their own communes only: a placed row elsewhere is refused
    (the database's scope triggers would stop the write anyway, without the row number)."""
    if not _has_commune(spec):
        return
    rows = conn.execute(_sql("outside_scope.sql"), {"communes": list(communes)})
    for row, code, name in rows:
        refused.add(
            row,
            f"nằm ở xã {name or code} ({code}), ngoài các xã tài khoản này được nhập",
            f"lies in commune {name or code} ({code}), outside this account's communes",
        )


def record_communes(conn: psycopg.Connection, spec: Layer, batch: int) -> bool | None:
    """Keep the communes of the file's rows on the import (who may see and undo it); returns
    whether a staged row has no commune (None for a layer without communes). One pass over
    staging for both (the bulk move asks the second: a million rows read again took 0.3 s)."""
    if not _has_commune(spec):
        return None
    return conn.execute(
        "WITH d AS (SELECT DISTINCT commune_code AS c FROM staging), "
        "u AS (UPDATE import_batch SET communes = "
        "(SELECT array_agg(c ORDER BY c) FROM d WHERE c IS NOT NULL) WHERE id = %s) "
        "SELECT EXISTS (SELECT 1 FROM d WHERE c IS NULL)",
        (batch,),
    ).fetchone()[0]


# --- the layer's own rules --------------------------------------------------------------------


# The columns that placing a row from its location fills, from the stored boundary holding it.
PLACED_COLUMNS = {"commune": ("commune_code",), "village": ("village_code", "commune_code")}


def references(conn: psycopg.Connection, spec: Layer, refused: Refusals) -> None:
    placed_columns = PLACED_COLUMNS.get(spec.placed_in or "", ())
    for ref in spec.references:
        # A value placing took from a stored boundary is stored: only the file's are checked.
        given = sql.SQL("AND NOT s.placed " if ref.column in placed_columns else "")
        stmt = sql.SQL(
            "SELECT s.row_no, s.{col} FROM staging s WHERE s.{col} IS NOT NULL {given}"
            "AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.{target} = s.{col}) ORDER BY s.row_no"
        ).format(
            given=given,
            col=sql.Identifier(ref.column),
            table=sql.Identifier(ref.table),
            target=sql.Identifier(ref.target),
        )
        for row, value in conn.execute(stmt):
            refused.add(
                row,
                f"{ref.label_vi} {value} không có trong cơ sở dữ liệu (nhập lớp {ref.table} trước)",
                f"unknown {ref.column} {value} (import the {ref.table} layer first)",
            )


def row_checks(conn: psycopg.Connection, spec: Layer, refused: Refusals) -> None:
    for check in spec.checks:
        for row, value in conn.execute(check.sql.replace(" LIMIT 50", "")):
            refused.add(
                row,
                check.message_vi.format(rows=value).rstrip("."),
                check.message_en.format(rows=value).rstrip("."),
            )


def duplicates_in_file(conn: psycopg.Connection, spec: Layer, refused: Refusals) -> None:
    if not spec.unique:
        return
    key = sql.SQL(", ").join(map(sql.Identifier, spec.unique))
    # Most files repeat no key: one hash aggregate says so, without sorting a million rows.
    repeated = sql.SQL(
        "SELECT EXISTS (SELECT 1 FROM staging GROUP BY {key} HAVING count(*) > 1)"
    ).format(key=key)
    if not conn.execute(repeated).fetchone()[0]:
        return
    stmt = sql.SQL(
        "SELECT row_no, first, label FROM (SELECT row_no, concat_ws(' ', {key}) AS label, "
        "first_value(row_no) OVER w AS first, row_number() OVER w AS n FROM staging "
        "WINDOW w AS (PARTITION BY {key} ORDER BY row_no)) d WHERE n > 1 ORDER BY row_no"
    ).format(key=key)
    for row, first, label in conn.execute(stmt):
        refused.add(
            row,
            f"mã {label} đã có ở dòng {first} của tệp",
            f"code {label} appears already in row {first} of the file",
        )


# --- growing areas: the registry's checks -------------------------------------------------


def growing_area_checks(
    conn: psycopg.Connection, refused: Refusals, *, layouts: Sequence[codes.CodeLayout]
) -> None:
    """The registry's checks (registry_checks): plausible size, inside the commune, no overlap
    with an active area, a valid code whose commune is where the area lies."""
    for row, ha in conn.execute(_sql("growing_area_size.sql")):
        if ha < rc.MIN_HA:
            refused.add(
                row,
                f"diện tích {rc.vi_number(ha, 4)} ha quá nhỏ (tối thiểu {rc.vi_number(rc.MIN_HA, 3)} ha)",
                f"area {ha:.4f} ha is too small (minimum {rc.MIN_HA} ha)",
            )
        elif ha > rc.MAX_HA:
            refused.add(
                row,
                f"diện tích {rc.vi_number(ha)} ha vượt quá {rc.vi_number(rc.MAX_HA, 0)} ha",
                f"area {ha:,.1f} ha exceeds {rc.MAX_HA:,.0f} ha",
            )
    for row, name, m2 in conn.execute(_sql("growing_area_outside.sql")):
        if m2 > rc.OUTSIDE_TOLERANCE_M2:
            refused.add(
                row,
                f"{_m(m2)} m² nằm ngoài ranh giới xã {name}",
                f"{m2:,.0f} m² lie outside commune {name}",
            )
    for row, code, m2, where in conn.execute(_sql("growing_area_overlap.sql")):
        if m2 > rc.OVERLAP_TOLERANCE_M2:
            vi_where = "đang hoạt động" if where == "stored" else "ở dòng trước trong tệp"
            en_where = "active" if where == "stored" else "earlier in the file"
            refused.add(
                row,
                f"chồng lấn {rc.vi_number(m2)} m² với vùng trồng {vi_where} {code}",
                f"overlaps {m2:,.1f} m² with {en_where} growing area {code}",
            )
    for row, code, commune, name in conn.execute(_sql("growing_area_codes.sql")):
        _check_code(refused, row, code, commune, name, layouts)


def _check_code(
    refused: Refusals,
    row: int,
    code: str,
    commune: str | None,
    name: str | None,
    layouts: Sequence[codes.CodeLayout],
) -> None:
    try:
        checked = codes.validate_any(code, layouts=tuple(layouts))
    except InvalidInput as exc:
        refused.add(row, exc.vi, exc.en)
        return
    if commune is None:
        return  # unplaced: refused already
    held = {c.code for c in checked.current_communes}
    if checked.commune is not None:
        held.add(checked.commune.code)
    if commune in held:
        return
    d = codes.describe(checked)
    issued = d["issued_in"]["commune"] or {}  # type: ignore[index]
    today = d["today"]["commune"] or {}  # type: ignore[index]
    was = f"{issued.get('name') or ''} ({issued.get('code')})".strip()
    now = f"; nay thuộc {today.get('name')} ({today.get('code')})" if today else ""
    now_en = f"; today {today.get('name')} ({today.get('code')})" if today else ""
    refused.add(
        row,
        f"mã {code} là của xã {was}{now}, nhưng vùng nằm ở xã {name} ({commune})",
        f"code {code} belongs to commune {was}{now_en}, but the area lies in {name} ({commune})",
    )
