"""Province partitions of households and growing areas, the audit log's months (migration 0015).

Two test provinces side by side: 98 (commune 98001, villages 98001-01/02 at lon 106.00–106.02)
and 97 (commune 97001, village 97001-01 at lon 106.10–106.11), all at lat 21.00–21.01.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql

from layers import migrate, partitions
from layers.ingest import import_file, write
from tests.conftest import _fresh_database

LAT = 21.005


def _system(conn: psycopg.Connection) -> None:
    conn.execute(
        "SELECT set_config('agrimap.system', 'on', false), set_config('agrimap.user', 'thử', false)"
    )


@pytest.fixture
def two_provinces(conn: psycopg.Connection) -> psycopg.Connection:
    _system(conn)
    conn.execute(
        "INSERT INTO province (code, name) VALUES ('98', 'Tỉnh Tám'), ('97', 'Tỉnh Bảy');"
        "INSERT INTO commune (code, name, province_code) VALUES "
        "('98001', 'Xã Một', '98'), ('98002', 'Xã Hai', '98'), ('97001', 'Xã Ba', '97')"
    )
    for code, x0 in (("98001-01", 106.00), ("98001-02", 106.01), ("97001-01", 106.10)):
        conn.execute(
            "INSERT INTO village (code, name, commune_code, geom) VALUES "
            "(%s, %s, left(%s, 5), ST_Multi(ST_MakeEnvelope(%s, 21.0, %s, 21.01, 4326)))",
            (code, f"Thôn {code}", code, x0, x0 + 0.01),
        )
    conn.execute(
        "INSERT INTO village (code, name, commune_code, geom) VALUES "
        "('98002-01', 'Thôn xã Hai', '98002', ST_Multi(ST_MakeEnvelope(106.05, 21.0, 106.06, "
        "21.01, 4326)))"
    )
    conn.commit()
    return conn


def _audit_now(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()[0]


def _officer(conn: psycopg.Connection, uid: int) -> None:
    conn.execute(
        "SELECT set_config('agrimap.user_id', %s, false), set_config('agrimap.user', "
        "'canbo.part97', false), set_config('agrimap.system', 'off', false)",
        (str(uid),),
    )


def _household(conn: psycopg.Connection, code: str, village: str, x: float, **extra) -> int:
    cols = ["code", "label", "village_code", *extra]
    values = [code, f"Hộ {code}", village, *extra.values()]
    placeholders = ", ".join(["%s"] * len(values))
    return conn.execute(
        f"INSERT INTO household ({', '.join(cols)}, province_code, geom) VALUES ({placeholders}, "  # noqa: S608 - test's own names
        "commune_province(household_commune(%s)), ST_SetSRID(ST_MakePoint(%s, %s), 4326)) "
        "RETURNING id",
        (*values, village, x, LAT),
    ).fetchone()[0]


def _area(conn: psycopg.Connection, code: str, commune: str, x: float) -> int:
    return conn.execute(
        "INSERT INTO growing_area (code, crop, area_ha, commune_code, province_code, geom) "
        "VALUES (%s, 'lúa', 1.0, %s, commune_province(%s), "
        "ST_Multi(ST_MakeEnvelope(%s, 21.001, %s, 21.002, 4326))) RETURNING id",
        (code, commune, commune, x, x + 0.001),
    ).fetchone()[0]


def _where(conn: psycopg.Connection, table: str, row_id: int) -> str:
    return conn.execute(
        f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s",  # noqa: S608 - test's names
        (row_id,),
    ).fetchone()[0]


def test_a_province_gets_its_partitions_with_every_index_and_trigger(
    two_provinces: psycopg.Connection,
) -> None:
    conn = two_provinces
    for parent in ("household", "growing_area"):
        part = f"{parent}_p98"
        assert conn.execute("SELECT to_regclass(%s)", (part,)).fetchone()[0] is not None
        # every index the definitions list, under the partition's name
        expected = {
            f"{part}_{s}"
            for (s,) in conn.execute(
                "SELECT suffix FROM partitioned_index WHERE parent = %s", (parent,)
            )
        }
        made = {
            r[0]
            for r in conn.execute(
                "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass",
                (part,),
            )
        }
        assert made == expected and len(made) >= 6
        # the parent's row triggers are on the partition (cloned), plus the refusal of direct writes
        parent_rows = {
            r[0]
            for r in conn.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal "
                "AND tgtype & 1 = 1",
                (parent,),
            )
        }
        on_part = {
            r[0]
            for r in conn.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                (part,),
            )
        }
        assert parent_rows and parent_rows <= on_part
        assert f"{part}_through_parent" in on_part
    # the unplaced rows' partitions exist from the migration
    assert conn.execute("SELECT to_regclass('household_pnone')").fetchone()[0] is not None
    # a province deleted (only possible when empty) takes its partitions along
    _system(conn)
    conn.execute("INSERT INTO province (code, name) VALUES ('96', 'Tỉnh Sáu')")
    assert conn.execute("SELECT to_regclass('growing_area_p96')").fetchone()[0] is not None
    conn.execute("DELETE FROM province WHERE code = '96'")
    assert conn.execute("SELECT to_regclass('growing_area_p96')").fetchone()[0] is None
    conn.rollback()


def test_rows_land_in_their_province_partition_and_direct_writes_are_refused(
    two_provinces: psycopg.Connection,
) -> None:
    conn = two_provinces
    a = _household(conn, "H1", "98001-01", 106.002)
    b = _household(conn, "H1", "97001-01", 106.102)
    g = _area(conn, "VN-97-97001-01-26", "97001", 106.103)
    conn.commit()
    assert _where(conn, "household", a) == "household_p98"
    assert _where(conn, "household", b) == "household_p97"
    assert _where(conn, "growing_area", g) == "growing_area_p97"
    with pytest.raises(errors.InsufficientPrivilege, match="household_p98"):
        conn.execute("UPDATE household_p98 SET label = 'x'")
    conn.rollback()
    # a writer that names a province other than the commune's is told so
    _system(conn)
    with pytest.raises(errors.CheckViolation, match="commune_province"):
        conn.execute(
            "INSERT INTO household (code, label, village_code, province_code, geom) VALUES "
            "('H9', 'H9', '98001-01', '97', ST_SetSRID(ST_MakePoint(106.003, 21.005), 4326))"
        )
    conn.rollback()


def test_uniqueness_holds_across_partitions_in_its_own_scope(
    two_provinces: psycopg.Connection,
) -> None:
    conn = two_provinces
    a = _household(conn, "H1", "98001-01", 106.002)
    _household(conn, "H1", "97001-01", 106.102)  # same code, other commune (other province): fine
    _household(conn, "H1", "98002-01", 106.052)  # same code, other commune, same province: fine
    _area(conn, "VN-98-98001-01-26", "98001", 106.003)
    conn.commit()
    token = conn.execute("SELECT qr_token FROM household WHERE id = %s", (a,)).fetchone()[0]
    _system(conn)
    with pytest.raises(errors.UniqueViolation, match="code_unique_in_commune"):
        _household(conn, "H1", "98001-02", 106.012)  # same commune 98001
    conn.rollback()
    _system(conn)
    with pytest.raises(errors.UniqueViolation, match="household_qr_token_key"):
        _household(conn, "H2", "97001-01", 106.104, qr_token=token)  # token of province 98
    conn.rollback()
    _system(conn)
    with pytest.raises(errors.UniqueViolation, match="growing_area_code_key"):
        _area(conn, "VN-98-98001-01-26", "97001", 106.105)  # code already issued in 98
    conn.rollback()
    _system(conn)
    with pytest.raises(errors.UniqueViolation, match="household_pkey"):
        conn.execute(
            "INSERT INTO household (id, code, label, village_code, province_code, geom) VALUES "
            "(%s, 'H3', 'H3', '97001-01', '97', ST_SetSRID(ST_MakePoint(106.1, 21.005), 4326))",
            (a,),
        )
    conn.rollback()
    _system(conn)  # a token moved to another household is refused too
    b = _household(conn, "H4", "97001-01", 106.106)
    with pytest.raises(errors.UniqueViolation, match="household_qr_token_key"):
        conn.execute("UPDATE household SET qr_token = %s WHERE id = %s", (token, b))
    conn.rollback()
    # the retired codes still refer to a household, and go with it
    _system(conn)
    conn.execute(
        "INSERT INTO household_qr_retired (token, household_id, reason, retired_by) "
        "VALUES ('OLDTOKEN', %s, 'replaced', 'thử')",
        (a,),
    )
    with pytest.raises(errors.ForeignKeyViolation):
        conn.execute(
            "INSERT INTO household_qr_retired (token, household_id, reason, retired_by) "
            "VALUES ('NOBODY', -1, 'revoked', 'thử')"
        )
    conn.rollback()
    _system(conn)
    conn.execute(
        "INSERT INTO household_qr_retired (token, household_id, reason, retired_by) "
        "VALUES ('OLDTOKEN', %s, 'replaced', 'thử')",
        (a,),
    )
    conn.execute("DELETE FROM household WHERE id = %s", (a,))
    assert conn.execute("SELECT count(*) FROM household_qr_retired").fetchone()[0] == 0
    conn.rollback()


def test_scope_and_audit_work_on_a_partition(two_provinces: psycopg.Connection) -> None:
    conn = two_provinces
    start = _audit_now(conn)
    g = _area(conn, "VN-98-98001-02-26", "98001", 106.004)
    h = _household(conn, "H1", "98001-01", 106.002)
    uid = conn.execute(
        "INSERT INTO app_user (username, display_name, role) VALUES ('canbo.part97', 'Cán bộ', "
        "'officer') ON CONFLICT (username) DO UPDATE SET role = 'officer' RETURNING id"
    ).fetchone()[0]
    conn.execute("INSERT INTO user_commune VALUES (%s, '97001') ON CONFLICT DO NOTHING", (uid,))
    conn.commit()
    # an officer of province 97's commune may not write in province 98's partition
    for stmt in ("UPDATE growing_area SET crop = 'chè' WHERE id = %s",
                 "UPDATE household SET label = 'x' WHERE id = %s",
                 "DELETE FROM household WHERE id = %s"):  # fmt: skip
        _officer(conn, uid)
        with pytest.raises(errors.InsufficientPrivilege, match="98001"):
            conn.execute(stmt, (g if "growing_area" in stmt else h,))
        conn.rollback()
    # in its own commune it may, and the audit row names the layer, not the partition
    _officer(conn, uid)
    own = _area(conn, "VN-97-97001-02-26", "97001", 106.104)
    conn.execute("UPDATE growing_area SET crop = 'chè' WHERE id = %s", (own,))
    conn.commit()
    audit = conn.execute(
        "SELECT action, object_type, commune_code, actor FROM audit_log "
        "WHERE object_id = %s AND object_type LIKE 'growing_area%%' AND id > %s ORDER BY id",
        (str(own), start),
    ).fetchall()
    assert audit == [
        ("create", "growing_area", "97001", "canbo.part97"),
        ("update", "growing_area", "97001", "canbo.part97"),
    ]
    history = conn.execute(
        "SELECT version, operation FROM growing_area_history WHERE growing_area_id = %s "
        "ORDER BY id",
        (own,),
    ).fetchall()
    assert history == [(1, "insert"), (2, "update")]


def test_a_merge_of_provinces_moves_rows_and_keeps_their_history(
    two_provinces: psycopg.Connection, tmp_path: Path
) -> None:
    conn = two_provinces
    start = _audit_now(conn)
    _system(conn)
    g = _area(conn, "VN-98-98002-01-24", "98002", 106.053)
    h = _household(conn, "H1", "98002-01", 106.052, has_fibre=True)
    conn.execute(
        "INSERT INTO household_qr_retired (token, household_id, reason, retired_by) "
        "VALUES ('OLDTOKEN', %s, 'replaced', 'thử')",
        (h,),
    )
    conn.execute(
        "UPDATE growing_area SET status = 'suspended', status_reason = 'sâu' WHERE id = %s", (g,)
    )
    conn.commit()
    cells = conn.execute("SELECT * FROM household_cell ORDER BY cx, cy").fetchall()
    summary = conn.execute(
        "SELECT village_code, coverage_ids, households, fibre_subscriptions "
        "FROM village_coverage_summary ORDER BY 1"
    ).fetchall()
    versions = dict(conn.execute("SELECT layer, version FROM layer_version").fetchall())
    # 2025-style merge: commune 98002 now belongs to province 97
    _system(conn)
    conn.execute("UPDATE commune SET province_code = '97' WHERE code = '98002'")
    conn.commit()
    assert _where(conn, "household", h) == "household_p97"
    assert _where(conn, "growing_area", g) == "growing_area_p97"
    assert conn.execute(
        "SELECT province_code FROM household_key WHERE id = %s", (h,)
    ).fetchone() == ("97",)
    history = conn.execute(
        "SELECT version, operation, record ->> 'province_code' FROM growing_area_history "
        "WHERE growing_area_id = %s ORDER BY id",
        (g,),
    ).fetchall()
    assert history == [(1, "insert", "98"), (2, "suspend", "98"), (3, "update", "97")]
    audit = conn.execute(
        "SELECT object_type, action, before ->> 'province_code', after ->> 'province_code' "
        "FROM audit_log WHERE object_id IN (%s, %s) AND action IN ('create', 'update', 'delete') "
        "AND id > %s ORDER BY id",
        (str(g), str(h), start),
    ).fetchall()
    assert audit[-2:] == [
        ("household", "update", "98", "97"),
        ("growing_area", "update", "98", "97"),
    ] or audit[-2:] == [
        ("growing_area", "update", "98", "97"),
        ("household", "update", "98", "97"),
    ]
    assert not [a for a in audit if a[1] == "delete"]
    assert conn.execute(
        "SELECT household_id FROM household_qr_retired WHERE token = 'OLDTOKEN'"
    ).fetchone() == (h,)
    assert conn.execute("SELECT * FROM household_cell ORDER BY cx, cy").fetchall() == cells
    assert (
        conn.execute(
            "SELECT village_code, coverage_ids, households, fibre_subscriptions "
            "FROM village_coverage_summary ORDER BY 1"
        ).fetchall()
        == summary
    )
    after = dict(conn.execute("SELECT layer, version FROM layer_version").fetchall())
    assert after["household"] > versions["household"]
    assert after["growing_area"] > versions["growing_area"]


HEADER = "ma_ho,ma_thon,lon,lat\n"


def _csv(path: Path, village: str, n: int, x0: float, prefix: str) -> Path:
    # rows in an order that is not spatial (a stride through the village)
    lines = [
        f"{prefix}{i:04d},{village},{x0 + 0.0001 * ((i * 37) % n) * 90 / n:.6f},"
        f"{21.001 + 0.008 * ((i * 53) % n) / n:.6f}"
        for i in range(n)
    ]
    path.write_text(HEADER + "\n".join(lines) + "\n", "utf-8")
    return path


def test_a_province_import_touches_only_its_partition(
    two_provinces: psycopg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = two_provinces
    import_file(conn, _csv(tmp_path / "a.csv", "98001-01", 200, 106.0, "A"), layer="households",
                data_dir=tmp_path)  # fmt: skip
    import_file(conn, _csv(tmp_path / "b.csv", "97001-01", 200, 106.1, "B"), layer="households",
                data_dir=tmp_path)  # fmt: skip
    before = partitions.partition_files(conn, "household")
    # a "big" import (thresholds lowered for the test) into province 98, which holds rows already
    monkeypatch.setattr(write, "REBUILD_INDEXES_FROM", 100)
    monkeypatch.setattr(partitions, "REORDER_FROM", 100)
    summary = import_file(
        conn, _csv(tmp_path / "c.csv", "98001-02", 300, 106.01, "C"), layer="households",
        data_dir=tmp_path,
    )  # fmt: skip
    assert summary.imported == 300
    after = partitions.partition_files(conn, "household")
    p98 = {k for k in before if k.startswith("household_p98")}
    p97 = {k for k in before if k.startswith("household_p97")}
    assert len(p98) == 7 and len(p97) == 7  # the partition and its six indexes
    assert {k: after[k] for k in p97} == {k: before[k] for k in p97}  # untouched
    assert all(after[k] != before[k] for k in p98)  # rewritten (CLUSTER) and rebuilt
    # its indexes are all back, and the rows are in spatial order on disk
    assert set(after) == set(before)
    disorder = conn.execute(
        "SELECT count(*) FROM (SELECT ST_GeoHash(geom, 10) AS g, "
        "lag(ST_GeoHash(geom, 10)) OVER (ORDER BY ctid) AS prev FROM household_p98) t "
        "WHERE g < prev"
    ).fetchone()[0]
    assert disorder == 0
    assert conn.execute("SELECT count(*) FROM household_p98").fetchone()[0] == 500
    # ids still follow the file's order
    ids = conn.execute(
        "SELECT code FROM household WHERE code LIKE 'C%' ORDER BY id LIMIT 3"
    ).fetchall()
    assert ids == [("C0000",), ("C0001",), ("C0002",)]


def test_an_import_into_an_empty_partition_writes_in_spatial_order(
    two_provinces: psycopg.Connection, tmp_path: Path
) -> None:
    conn = two_provinces
    import_file(conn, _csv(tmp_path / "a.csv", "98001-01", 300, 106.0, "A"), layer="households",
                data_dir=tmp_path)  # fmt: skip
    disorder = conn.execute(
        "SELECT count(*) FROM (SELECT ST_GeoHash(geom, 10) AS g, "
        "lag(ST_GeoHash(geom, 10)) OVER (ORDER BY ctid) AS prev FROM household_p98) t "
        "WHERE g < prev"
    ).fetchone()[0]
    assert disorder == 0


def test_audit_rows_land_in_their_month_and_months_are_made_ahead(
    conn: psycopg.Connection,
) -> None:
    _system(conn)
    conn.execute(
        "INSERT INTO audit_log (actor, action, object_type, object_id) "
        "VALUES ('thử', 'import', 'household', 'x')"
    )
    month = conn.execute(
        "SELECT to_char(now() AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY_MM')"
    ).fetchone()[0]
    where = conn.execute(
        "SELECT tableoid::regclass::text FROM audit_log ORDER BY id DESC LIMIT 1"
    ).fetchone()[0]
    assert where == f"audit_log_{month}"
    conn.commit()
    far = (dt.date.today().replace(day=1) + dt.timedelta(days=30.5 * 24)).replace(day=15)
    far_part = f"audit_log_{far:%Y_%m}"
    assert conn.execute("SELECT to_regclass(%s)", (far_part,)).fetchone()[0] is None
    with pytest.raises(errors.CheckViolation, match="no partition"):
        conn.execute(
            "INSERT INTO audit_log (at, actor, action, object_type) VALUES (%s, 'thử', "
            "'import', 'household')",
            (dt.datetime(far.year, far.month, far.day, tzinfo=dt.UTC),),
        )
    conn.rollback()
    made = partitions.add_audit_months(conn, ahead=25)
    assert made >= 3
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, object_type) VALUES (%s, 'thử', "
        "'import', 'household') RETURNING id",
        (dt.datetime(far.year, far.month, far.day, tzinfo=dt.UTC),),
    )
    assert (
        conn.execute(
            "SELECT count(*) FROM audit_log WHERE tableoid = %s::regclass", (far_part,)
        ).fetchone()[0]
        == 1
    )
    conn.commit()
    # append-only on every partition, through the parent or not; the months' queries still work
    for stmt in (
        "UPDATE audit_log SET actor = 'x'",
        f"DELETE FROM {far_part}",  # noqa: S608 - a partition's name
        f"TRUNCATE {far_part}",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(stmt)
        conn.rollback()
    assert partitions.add_audit_months(conn, ahead=25) == 0  # idempotent
    plan = conn.execute(
        "EXPLAIN SELECT * FROM audit_log WHERE at >= %s",
        (dt.datetime(far.year, far.month, 1, tzinfo=dt.UTC),),
    ).fetchall()
    assert f"audit_log_{dt.date.today():%Y_%m}" not in str(plan)  # pruned to the later months


def test_migration_up_and_down_on_the_demo(tmp_path: Path) -> None:
    from agrimap.cli import load_demo
    from agrimap.settings import Settings

    url = _fresh_database("agrimap_partition_migration_test")
    assert load_demo(url, Settings(database_url=url, data_dir=tmp_path)) is True
    counts_sql = (
        "SELECT (SELECT count(*) FROM household), (SELECT count(*) FROM growing_area), "
        "(SELECT count(*) FROM growing_area_history), (SELECT count(*) FROM audit_log), "
        "(SELECT max(id) FROM household), (SELECT count(*) FROM household_served)"
    )
    kinds_sql = (
        "SELECT relname, relkind FROM pg_class WHERE relname IN "
        "('household', 'growing_area', 'audit_log') ORDER BY 1"
    )
    with psycopg.connect(url) as c:
        counts = c.execute(counts_sql).fetchone()
        assert c.execute(kinds_sql).fetchall() == [
            ("audit_log", "p"), ("growing_area", "p"), ("household", "p")
        ]  # fmt: skip
    migrate.downgrade(url, "0011")
    with psycopg.connect(url) as c:
        assert c.execute(counts_sql).fetchone() == counts
        assert c.execute(kinds_sql).fetchall() == [
            ("audit_log", "r"), ("growing_area", "r"), ("household", "r")
        ]  # fmt: skip
        assert c.execute("SELECT to_regclass('household_key')").fetchone()[0] is None
    migrate.upgrade(url)
    with psycopg.connect(url) as c:
        assert c.execute(counts_sql).fetchone() == counts
        assert (
            c.execute("SELECT count(*) FROM household_p15").fetchone()[0] == counts[0]
        )  # Lào Cai (15): every demo household
        # a new household still gets the next id and its partition
        c.execute("SELECT set_config('agrimap.system', 'on', false)")
        new = c.execute(
            "INSERT INTO household (code, label, village_code, province_code, geom) "
            "SELECT 'NEW', 'NEW', code, commune_province(commune_code), ST_PointOnSurface(geom) "
            "FROM village LIMIT 1 RETURNING id, tableoid::regclass::text"
        ).fetchone()
        assert new == (counts[4] + 1, "household_p15")


def test_agrimap_maintain_makes_the_audit_months_ahead(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from agrimap.cli import app

    monkeypatch.setenv("DATABASE_URL", db_url)
    done = CliRunner().invoke(app, ["maintain", "--months", "20"])
    assert done.exit_code == 0, done.output
    assert "month partition" in done.output
    ahead = dt.date.today().replace(day=1) + dt.timedelta(days=31 * 19)
    with psycopg.connect(db_url) as c:
        assert c.execute("SELECT to_regclass(%s)", (f"audit_log_{ahead:%Y_%m}",)).fetchone()[0]
    again = CliRunner().invoke(app, ["maintain", "--months", "20"])
    assert "thêm 0 tháng" in again.output


def test_a_household_moved_to_another_province_changes_partition(
    two_provinces: psycopg.Connection,
) -> None:
    conn = two_provinces
    start = _audit_now(conn)
    h = _household(conn, "H7", "98001-01", 106.002)
    conn.commit()
    _system(conn)
    conn.execute(
        "UPDATE household SET village_code = '97001-01', "
        "geom = ST_SetSRID(ST_MakePoint(106.105, 21.005), 4326) WHERE id = %s",
        (h,),
    )
    conn.commit()
    assert _where(conn, "household", h) == "household_p97"
    assert conn.execute(
        "SELECT commune_code, province_code FROM household WHERE id = %s", (h,)
    ).fetchone() == ("97001", "97")
    audit = conn.execute(
        "SELECT action, before ->> 'village_code', after ->> 'village_code' FROM audit_log "
        "WHERE object_type = 'household' AND object_id = %s AND id > %s ORDER BY id",
        (str(h), start),
    ).fetchall()
    assert audit == [("create", None, "98001-01"), ("update", "98001-01", "97001-01")]


def _extents(conn: psycopg.Connection) -> dict[tuple[str, str], tuple[float, ...]]:
    rows = conn.execute(
        "SELECT parent, province, west, south, east, north FROM partition_extent"
    ).fetchall()
    return {(r[0], r[1]): tuple(round(v, 6) for v in r[2:]) for r in rows}


def _outside_extent(conn: psycopg.Connection, table: str) -> int:
    """Rows whose box is not inside their partition's recorded extent (must be none)."""
    return conn.execute(
        f"SELECT count(*) FROM {table} t LEFT JOIN partition_extent e "  # noqa: S608 - test's own names
        "ON e.parent = %s AND e.province = coalesce(t.province_code, '') "
        "WHERE e.parent IS NULL OR NOT (e.west <= ST_XMin(t.geom) AND e.south <= ST_YMin(t.geom) "
        "AND e.east >= ST_XMax(t.geom) AND e.north >= ST_YMax(t.geom))",
        (table,),
    ).fetchone()[0]


def test_partition_extents_hold_every_row_through_inserts_moves_and_imports(
    two_provinces: psycopg.Connection, tmp_path: Path, db_url: str
) -> None:
    conn = two_provinces
    h = _household(conn, "E1", "98001-01", 106.002)
    _household(conn, "E2", "98001-02", 106.015)
    _area(conn, "VT-E1", "97001", 106.101)
    conn.commit()
    ext = _extents(conn)
    assert ext[("household", "98")] == (106.002, LAT, 106.015, LAT)
    assert ext[("growing_area", "97")] == (106.101, 21.001, 106.102, 21.002)
    assert ("household", "97") not in ext
    conn.commit()  # the import's settings are its transaction's (a savepoint would keep them)
    import_file(conn, _csv(tmp_path / "b.csv", "97001-01", 50, 106.1, "B"), layer="households",
                data_dir=tmp_path)  # fmt: skip
    _system(conn)
    conn.execute(  # a move to the other province, outside everything recorded so far
        "UPDATE household SET village_code = '97001-01', "
        "geom = ST_SetSRID(ST_MakePoint(106.2, 21.3), 4326) WHERE id = %s",
        (h,),
    )
    conn.commit()
    assert _outside_extent(conn, "household") == 0
    assert _outside_extent(conn, "growing_area") == 0
    assert _extents(conn)[("household", "97")][2:] == (106.2, 21.3)
    # a write inside the extent changes nothing (and so locks nothing)
    before = conn.execute(
        "SELECT xmin::text FROM partition_extent WHERE parent = 'household' AND province = '98'"
    ).fetchone()
    _household(conn, "E3", "98001-01", 106.005)
    conn.commit()
    after = conn.execute(
        "SELECT xmin::text FROM partition_extent WHERE parent = 'household' AND province = '98'"
    ).fetchone()
    assert after == before  # the row's transaction id: not rewritten
    # `agrimap maintain` shrinks an extent back to the rows
    _system(conn)
    conn.execute("DELETE FROM household WHERE id = %s", (h,))
    conn.commit()
    assert _extents(conn)[("household", "97")][2:] == (106.2, 21.3)
    assert partitions.refresh_extents(conn) == 3
    assert _extents(conn)[("household", "97")][2] < 106.12


def test_a_bbox_page_names_only_the_partitions_its_box_meets(
    two_provinces: psycopg.Connection, db_url: str
) -> None:
    from agrimap.clicommon import run_async
    from layers.serving import features
    from layers.serving.catalog import COLLECTIONS

    conn = two_provinces
    for i in range(5):
        _household(conn, f"P{i}", "98001-01", 106.001 + i * 0.001)
        _household(conn, f"Q{i}", "97001-01", 106.101 + i * 0.001)
    conn.commit()
    coll = next(c for c in COLLECTIONS if c.table == "household")

    async def page(aconn, bbox):
        q = await features.narrowed(aconn, coll, features.FeatureQuery(limit=3, bbox=bbox))
        got = await features.feature_page(aconn, coll, query=q, count_cap=1000)
        stmt, params = features._page_sql(coll, q, count=True, reltuples=False, cap=1000)
        cur = await aconn.execute(sql.SQL("EXPLAIN (FORMAT JSON) ") + stmt, params)
        plan = json.dumps((await cur.fetchone())[0])
        return q.provinces, got, set(re.findall(r'"Relation Name": "(household_p\w+)"', plan))

    provinces, got, scanned = run_async(db_url, page, bbox=(106.0, 20.99, 106.05, 21.02))
    assert provinces == ("98",) and scanned == {"household_p98"}
    assert got.number_matched == 5 and got.number_returned == 3
    # a box over both provinces reads both; one over neither reads none and finds nothing
    provinces, got, scanned = run_async(db_url, page, bbox=(106.0, 20.99, 106.2, 21.02))
    assert provinces == ("97", "98") and scanned == {"household_p97", "household_p98"}
    assert got.number_matched == 10
    provinces, got, scanned = run_async(db_url, page, bbox=(107.0, 20.0, 107.1, 20.1))
    assert provinces == () and scanned == set() and got.number_matched == 0
