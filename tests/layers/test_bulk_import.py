"""The operator's bulk import of households (replica mode for the move, foreign keys checked
set-wise, migration 0020) leaves every derived table as row-by-row inserts of the same
households would: keys, cells, served households, coverage sets and the village summary."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from geo import qrtoken
from layers.ingest import import_file, write
from layers.migrations import sibling
from tests.layers.test_partitions import two_provinces  # noqa: F401 - the fixture

N = 120

DERIVED = {
    "keys": "SELECT h.code, k.province_code, k.qr_token = h.qr_token FROM household_key k "
    "JOIN household h ON h.id = k.id ORDER BY 1",
    "key_count": "SELECT count(*) FROM household_key",
    "cells": "SELECT cx, cy, n, n_fibre, round(sum_mx::numeric, 3), round(sum_my::numeric, 3) "
    "FROM household_cell ORDER BY 1, 2",
    "cells_z14": "SELECT cx, cy, n, n_fibre, round(sum_mx::numeric, 3), "
    "round(sum_my::numeric, 3) FROM household_cell_z14 ORDER BY 1, 2",
    "served": "SELECT h.code, c.operator, s.version_id FROM household_served s "
    "JOIN household h ON h.id = s.household_id JOIN coverage c ON c.id = s.coverage_id "
    "ORDER BY 1, 2",
    "sets": "SELECT h.code, hc.village_code, hc.has_fibre, cardinality(hc.coverage_ids) "
    "FROM household_coverage hc JOIN household h ON h.id = hc.household_id ORDER BY 1",
    "summary": "SELECT village_code, cardinality(coverage_ids), households, fibre_subscriptions "
    "FROM village_coverage_summary ORDER BY 1, 2, 3",
    "households": "SELECT code, village_code, commune_code, province_code, has_fibre, "
    "tableoid::regclass::text, ST_AsText(geom) FROM household ORDER BY code",
}


def _points(i: int) -> tuple[float, float]:
    # three villages: 98001-01 (106.00-106.01), 98001-02 (106.01-106.02), 97001-01 (106.10-)
    x0 = (106.0, 106.01, 106.1)[i % 3]
    return x0 + 0.0005 + 0.009 * ((i * 37) % N) / N, 21.0005 + 0.009 * ((i * 53) % N) / N


def _file(path: Path) -> Path:
    lines = ["ma_ho,cap_quang,lon,lat"]
    for i in range(N):
        x, y = _points(i)
        lines.append(f"H{i:04d},{'có' if i % 4 else 'không'},{x:.6f},{y:.6f}")
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def _coverage(
    conn: psycopg.Connection, box: tuple[float, ...] = (106.005, 21.0, 106.105, 21.005)
) -> None:
    """A Viettel 4G coverage polygon over ``box`` (west, south, east, north), committed."""
    version = conn.execute(
        "INSERT INTO coverage_version (operator, technology, valid_from) "
        "VALUES ('Viettel', '4G', '2025-01-01') RETURNING id"
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO coverage (operator, technology, version_id, geom) VALUES "
        "('Viettel', '4G', %s, ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4326)))",
        (version, *box),
    )
    conn.commit()


def _derived(conn: psycopg.Connection) -> dict[str, list]:
    return {name: conn.execute(q).fetchall() for name, q in DERIVED.items()}


def test_a_bulk_import_derives_what_row_by_row_inserts_derive(
    two_provinces: psycopg.Connection,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    conn = two_provinces
    _coverage(conn)
    with caplog.at_level(logging.INFO, logger=write.__name__):
        summary = import_file(
            conn, _file(tmp_path / "h.csv"), layer="households", data_dir=tmp_path
        )
    assert summary.imported == N
    assert any("replica" in r.getMessage() for r in caplog.records)  # the bulk move was taken
    bulk = _derived(conn)
    assert 0 < len(bulk["served"]) < N and bulk["key_count"] == [(N,)]
    assert bulk["summary"] and bulk["cells"]
    qr = dict(conn.execute("SELECT code, qr_token FROM household").fetchall())
    # the same households again, inserted one by one as an officer's edits would be
    conn.execute("DELETE FROM household")
    conn.execute("SELECT set_config('agrimap.bulk', 'off', false)")
    for i in range(N):
        x, y = _points(i)
        village = conn.execute(
            "SELECT code FROM village WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (x, y),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO household (code, label, village_code, province_code, has_fibre, "
            "qr_token, geom) VALUES (%s, %s, %s, commune_province(household_commune(%s)), %s, "
            "%s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (f"H{i:04d}", f"H{i:04d}", village, village, bool(i % 4), qr[f"H{i:04d}"],
             float(f"{x:.6f}"), float(f"{y:.6f}")),
        )  # fmt: skip
    assert _derived(conn) == bulk
    conn.rollback()


def test_a_bulk_import_refuses_a_row_whose_village_went_away(
    two_provinces: psycopg.Connection,  # noqa: F811
) -> None:
    """The set-wise foreign-key check finds what the per-row one would have."""
    conn = two_provinces
    conn.execute("SELECT set_config('agrimap.bulk', 'on', false)")
    batch = conn.execute(
        "INSERT INTO import_batch (layer, source_name, source_crs, encoding, features_read, "
        "features_imported, features_repaired, features_rejected, imported_by) "
        "VALUES ('households', 't.csv', '', 'utf-8', 1, 1, 0, 0, 'thử') RETURNING id"
    ).fetchone()[0]
    conn.execute("SET session_replication_role = replica")
    conn.execute(
        "INSERT INTO household (code, label, village_code, commune_code, province_code, "
        "import_batch_id, geom) VALUES ('X1', 'X1', 'không-có', '98001', '98', %s, "
        "ST_SetSRID(ST_MakePoint(106.005, 21.005), 4326))",
        (batch,),
    )
    conn.execute("SET session_replication_role = origin")
    keys = write.BulkMove((("household_village_code_fkey", "village_code", "village", "code"),))
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="không-có"):
        write.check_references(conn, keys, batch, ["household_p98"])
    conn.rollback()


def test_a_trigger_the_bulk_move_does_not_know_sends_it_back_to_the_normal_insert(
    two_provinces: psycopg.Connection,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A row trigger added later (not ALWAYS, not one whose WHEN skips bulk rows) still runs
    for every imported row: the import then inserts row by row."""
    conn = two_provinces
    conn.execute(
        "CREATE FUNCTION test_mark() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN NEW.label := 'đã thấy ' || NEW.code; RETURN NEW; END $$;"
        "CREATE TRIGGER test_mark BEFORE INSERT ON household FOR EACH ROW "
        "EXECUTE FUNCTION test_mark()"
    )
    with caplog.at_level(logging.INFO, logger=write.__name__):
        summary = import_file(
            conn, _file(tmp_path / "h.csv"), layer="households", data_dir=tmp_path
        )
    assert summary.imported == N
    assert not any("replica" in r.getMessage() for r in caplog.records)
    marked = conn.execute(
        "SELECT count(*) FROM household WHERE label = 'đã thấy ' || code"
    ).fetchone()[0]
    assert marked == N
    conn.rollback()
    conn.execute("DROP TRIGGER IF EXISTS test_mark ON household")
    conn.execute("DROP FUNCTION IF EXISTS test_mark()")
    conn.commit()


def test_an_import_inside_a_callers_transaction_leaves_its_settings_behind(
    two_provinces: psycopg.Connection,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The import acts as the system, in bulk, local to its transaction; inside a caller's open
    transaction (a savepoint) that would outlive it, and the caller's next edit would be made
    unaudited as a bulk import's. The caller's own settings are back after the import."""
    conn = two_provinces
    conn.execute("SELECT set_config('agrimap.user', 'cán bộ thử', true)")
    acting = "SELECT " + ", ".join(
        f"coalesce(current_setting('{n}', true), '')" for n in write.ACTING_SETTINGS
    )
    before = conn.execute(acting).fetchone()
    summary = import_file(conn, _file(tmp_path / "h.csv"), layer="households", data_dir=tmp_path)
    assert summary.imported == N
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    assert conn.execute(acting).fetchone() == before
    assert before[0] == "cán bộ thử" and before[3] != "on"
    audited = "SELECT count(*) FROM audit_log WHERE object_type = 'household' AND action = 'update'"
    edits = conn.execute(audited).fetchone()[0]
    conn.execute("UPDATE household SET label = 'sửa sau khi nhập' WHERE code = 'H0001'")
    assert conn.execute(audited).fetchone()[0] == edits + 1
    conn.rollback()


# Coverage that reaches none of the file's households (a box far east of them), some of them
# (the test's usual box), or none stored at all: the INSERT trigger skips the match when no
# piece meets the new rows' box (migration 0022). Either way the sets and the village summary
# are what a fresh spatial join of every household against every piece gives.
COVERAGE_BOXES = {
    "none": None,
    "far": (107.0, 21.0, 107.1, 21.005),
    "some": (106.005, 21.0, 106.105, 21.005),
}
SETS = (
    "SELECT household_id, village_code, has_fibre, coverage_ids FROM household_coverage "
    "ORDER BY household_id"
)
SUMMARY = (
    "SELECT village_code, coverage_ids, households, fibre_subscriptions "
    "FROM village_coverage_summary WHERE households > 0 ORDER BY 1, 2"
)


@pytest.mark.parametrize("coverage", list(COVERAGE_BOXES))
def test_the_coverage_rows_of_an_import_are_those_of_a_fresh_spatial_join(
    two_provinces: psycopg.Connection,  # noqa: F811
    tmp_path: Path,
    coverage: str,
) -> None:
    conn = two_provinces
    box = COVERAGE_BOXES[coverage]
    if box is not None:
        _coverage(conn, box)
    summary = import_file(conn, _file(tmp_path / "h.csv"), layer="households", data_dir=tmp_path)
    assert summary.imported == N
    sets, village_summary = conn.execute(SETS).fetchall(), conn.execute(SUMMARY).fetchall()
    assert len(sets) == N  # every household has its row, served or not
    served = sum(1 for *_, ids in sets if ids)
    assert (served > 0) == (coverage == "some")
    conn.execute("SELECT village_coverage_refresh_all()")
    assert conn.execute(SETS).fetchall() == sets
    assert conn.execute(SUMMARY).fetchall() == village_summary
    conn.rollback()


KEY_CONSTRAINTS = (
    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE conrelid = 'household_key'::regclass OR confrelid = 'household_key'::regclass "
    "ORDER BY 1, 2"
)
KEY_INDEXES = (
    "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
    "WHERE indrelid = 'household_key'::regclass ORDER BY 1"
)


def test_a_large_first_import_builds_the_key_table_after_the_move(
    two_provinces: psycopg.Connection,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The key table's keys (and the retired codes' foreign key to it) dropped for the move and
    built after it are the same keys, with the same rows under them as the row-by-row path."""
    conn = two_provinces
    constraints = conn.execute(KEY_CONSTRAINTS).fetchall()
    indexes = conn.execute(KEY_INDEXES).fetchall()
    assert len(constraints) == 3  # id, token, the retired codes' reference
    dropped: list[str] = []
    drop_keys = write._drop_keys
    monkeypatch.setattr(write, "_drop_keys", lambda c, t: dropped.append(t) or drop_keys(c, t))
    monkeypatch.setattr(write, "REBUILD_INDEXES_FROM", 100)
    summary = import_file(conn, _file(tmp_path / "h.csv"), layer="households", data_dir=tmp_path)
    assert summary.imported == N and dropped == ["household_key"]
    assert conn.execute(KEY_CONSTRAINTS).fetchall() == constraints
    assert conn.execute(KEY_INDEXES).fetchall() == indexes
    assert conn.execute(DERIVED["keys"]).fetchall() == [
        (f"H{i:04d}", "97" if i % 3 == 2 else "98", True) for i in range(N)
    ]
    conn.commit()
    # a second import smaller than what the table holds: keys grown row by row
    dropped.clear()
    monkeypatch.setattr(write, "REBUILD_INDEXES_FROM", 50)
    more = _file(tmp_path / "h2.csv")
    lines = more.read_text("utf-8").replace("\nH", "\nK").splitlines()[: N // 2 + 1]
    more.write_text("\n".join(lines) + "\n", "utf-8")
    summary = import_file(conn, more, layer="households", data_dir=tmp_path)
    assert summary.imported == N // 2 and dropped == []
    # a token already held in another province fails the import whole, as the row-by-row
    # insert would: only the key table sees tokens across provinces
    monkeypatch.setattr(write, "_holds_at_most", lambda *_: True)
    taken = conn.execute("SELECT qr_token FROM household WHERE province_code = '98' LIMIT 1")
    fresh = qrtoken.new_tokens
    monkeypatch.setattr(qrtoken, "new_tokens", lambda n: [taken.fetchone()[0], *fresh(n - 1)])
    third = tmp_path / "h3.csv"
    third.write_text(
        "ma_ho,lon,lat\n"
        + "".join(f"L{i:04d},{106.1005 + i * 0.00005:.6f},21.005\n" for i in range(N)),
        "utf-8",
    )
    with pytest.raises(psycopg.errors.UniqueViolation, match="household_qr_token_key"):
        import_file(conn, third, layer="households", data_dir=tmp_path)
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM household_key").fetchone()[0] == N + N // 2
    assert conn.execute(KEY_CONSTRAINTS).fetchall() == constraints


def _recount(cell_m: float) -> str:
    """The cells of every stored household on a grid of ``cell_m`` metres, counted afresh."""
    return (
        f"SELECT floor(mx / {cell_m!r})::int AS cx, floor(my / {cell_m!r})::int AS cy, "  # noqa: S608 - numbers
        "count(*)::int, (count(*) FILTER (WHERE has_fibre))::int, round(sum(mx)::numeric, 3), "
        "round(sum(my)::numeric, 3) FROM (SELECT 6378137.0 * radians(ST_X(geom)) AS mx, "
        "6378137.0 * ln(tan(pi() / 4 + radians(ST_Y(geom)) / 2)) AS my, has_fibre "
        "FROM household WHERE geom IS NOT NULL) p GROUP BY 1, 2 ORDER BY 1, 2"
    )


HELD_CELLS = (
    "SELECT l.relation::regclass::text FROM pg_locks l WHERE l.pid = pg_backend_pid() "
    "AND l.locktype = 'relation' AND l.granted AND l.mode = 'ExclusiveLock' "
    "AND l.relation IN ('household_cell'::regclass, 'household_cell_z14'::regclass) ORDER BY 1"
)


def _cells_match_a_recount(conn: psycopg.Connection, migration) -> None:
    for table, cell_m in (("household_cell", migration.Z12.CELL_M),
                          ("household_cell_z14", migration.Z14.CELL_M)):  # fmt: skip
        stored = conn.execute(
            f"SELECT cx, cy, n, n_fibre, round(sum_mx::numeric, 3), round(sum_my::numeric, 3) "  # noqa: S608 - our own names
            f"FROM {table} ORDER BY 1, 2"
        ).fetchall()
        assert stored and stored == conn.execute(_recount(cell_m)).fetchall(), table


@pytest.mark.parametrize("cells_before", [False, True], ids=["first load", "cells stored"])
def test_a_first_import_holding_the_cell_tables_writes_the_cells_of_a_recount(
    two_provinces: psycopg.Connection,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cells_before: bool,
) -> None:
    """Migration 0024's path for an import that holds both cell tables EXCLUSIVE: the z14
    cells inserted plainly when none is stored in their box, upserted when some are (cells
    already stored grow); either way both grids equal a fresh count. A setting without the
    locks takes the shared path, with the same cells."""
    conn = two_provinces
    migration = sibling("0024_household_cells_one_pass.py")
    conn.execute("SELECT set_config('agrimap.bulk', 'off', false)")
    for i in range(0, N, 10) if cells_before else ():  # cells the import's households share
        x, y = _points(i)
        village = ("98001-01", "98001-02", "97001-01")[i % 3]
        conn.execute(
            "INSERT INTO household (code, label, village_code, province_code, has_fibre, geom) "
            "VALUES (%s, %s, %s, commune_province(household_commune(%s)), true, "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (f"S{i:04d}", f"S{i:04d}", village, village, x + 1e-6, y + 1e-6),
        )
    conn.commit()
    conn.execute("SELECT set_config('agrimap.bulk', 'on', false)")
    monkeypatch.setattr(write, "REBUILD_INDEXES_FROM", 100)
    monkeypatch.setattr(write, "_holds_at_most", lambda *_: True)
    summary = import_file(conn, _file(tmp_path / "h.csv"), layer="households", data_dir=tmp_path)
    assert summary.imported == N
    # still in the caller's transaction: the import held both tables and said so
    assert conn.execute(HELD_CELLS).fetchall() == [("household_cell",), ("household_cell_z14",)]
    assert conn.execute("SELECT current_setting('agrimap.cells_exclusive')").fetchone() == ("on",)
    grown = conn.execute("SELECT count(*) FROM household_cell_z14 WHERE n > 1").fetchone()[0]
    assert (grown > 0) == cells_before
    _cells_match_a_recount(conn, migration)
    conn.rollback()
    # the setting alone (no locks held) is not enough: the shared path, same cells
    conn.execute("SELECT set_config('agrimap.cells_exclusive', 'on', false)")
    conn.execute("SELECT set_config('agrimap.bulk', 'off', false)")
    x, y = _points(1)
    conn.execute(
        "INSERT INTO household (code, label, village_code, province_code, geom) VALUES "
        "('T1', 'T1', '98001-02', '98', ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
        (x + 2e-6, y + 2e-6),
    )
    assert conn.execute(HELD_CELLS).fetchall() == []
    _cells_match_a_recount(conn, migration)
    conn.rollback()


def test_a_first_import_waits_for_a_writer_holding_a_cell_table_and_does_not_deadlock(
    two_provinces: psycopg.Connection,  # noqa: F811
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A household write takes the cell tables (its first trigger), then the key table. The
    import takes the cell tables before the key table: a writer caught between the two finishes
    first (the other order was a deadlock: the writer waiting for the key table, the import for
    the cell table)."""
    monkeypatch.setattr(write, "REBUILD_INDEXES_FROM", 100)
    monkeypatch.setattr(write, "_holds_at_most", lambda *_: True)
    path = _file(tmp_path / "h.csv")
    outcome: dict[str, object] = {}

    def run_import() -> None:
        try:
            with psycopg.connect(db_url) as c:
                c.execute("SELECT set_config('agrimap.user', 'thử', false)")
                outcome["imported"] = import_file(
                    c, path, layer="households", data_dir=tmp_path
                ).imported
        except psycopg.Error as exc:
            outcome["error"] = exc

    with psycopg.connect(db_url) as writer:
        writer.execute("LOCK TABLE household_cell IN ROW EXCLUSIVE MODE")  # mid-statement
        importer = threading.Thread(target=run_import)
        importer.start()
        waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'household_cell'::regclass"
        deadline = time.monotonic() + 30
        while two_provinces.execute(waiting).fetchone()[0] == 0:
            assert time.monotonic() < deadline and importer.is_alive(), outcome
            time.sleep(0.05)
        # the import waits for the cell table and does not hold the key table yet
        writer.execute("SET lock_timeout = '3s'")
        writer.execute("LOCK TABLE household_key IN ROW EXCLUSIVE MODE")
        writer.commit()
    importer.join(60)
    assert outcome == {"imported": N}
    assert two_provinces.execute("SELECT count(*) FROM household_key").fetchone()[0] == N


PHONES = [
    None, "", "+", "++", "0912345678", "+84912345678", "091234567", "09123456", "+091234567",
    "+09123456", "123456789012", "1234567890123", "+123456789012", "+1234567890123",
    "++84912345678", "0912 345 678", "0912-345-678", "0912345678\n", " 0912345678",
    "0912345678 ", "84+912345678", "091234567a", "０９１２３４５６７８", "٠٩١٢٣٤٥٦٧٨",
    "09123456789", "+0", "0" * 12, "0" * 13, "+" + "0" * 9,
]  # fmt: skip


def test_the_cheaper_phone_check_accepts_the_same_phones(conn: psycopg.Connection) -> None:
    """Migration 0022's phone check (no counted repetition) against 0001's, on the same phones."""
    m = sibling("0022_household_import_costs.py")
    stmt = sql.SQL("SELECT phone, {}, {} FROM unnest(%s::text[]) AS t(phone)").format(
        sql.SQL(m.PHONE_0001), sql.SQL(m.PHONE_0022)
    )
    rows = conn.execute(stmt, (PHONES,)).fetchall()
    assert [r[0] for r in rows if r[1]] == [None, "0912345678", "+84912345678", "091234567",
        "+091234567", "123456789012", "+123456789012", "09123456789", "0" * 12, "+" + "0" * 9]  # fmt: skip
    assert [r for r in rows if r[1] is not r[2]] == []
    check = conn.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conname = 'household_phone_format' AND conrelid = 'household'::regclass"
    ).fetchone()[0]
    assert "ltrim" in check and "{9,12}" not in check


def test_points_are_written_as_the_wkb_writer_writes_them() -> None:
    """The import's EWKB of plain points (from the coordinates) is byte for byte shapely's; a
    set with an empty or 3-D point, or another type, goes through shapely whole."""
    import numpy as np
    import shapely

    def shapely_ewkb(geoms):
        return list(
            shapely.to_wkb(shapely.set_srid(geoms, 4326), include_srid=True, output_dimension=2)
        )

    rng = np.random.default_rng(3)
    points = shapely.points(rng.uniform(-180, 180, 500), rng.uniform(-90, 90, 500))
    assert list(write._ewkb(points)) == shapely_ewkb(points)
    for odd in (shapely.Point(), shapely.Point(1, 2, 3), shapely.LineString([(0, 0), (1, 1)])):
        mixed = np.array([shapely.Point(106.1, 21.2), odd], dtype=object)
        assert list(write._ewkb(mixed)) == shapely_ewkb(mixed)
