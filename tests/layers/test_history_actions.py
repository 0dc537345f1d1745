"""Migration 0014: the growing-area history names suspend, reinstate and revoke as themselves."""

from __future__ import annotations

import json

import psycopg

from layers import migrate
from tests.conftest import _fresh_database

SQUARE = "SRID=4326;MULTIPOLYGON(((104 22,104.001 22,104.001 22.001,104 22.001,104 22)))"


def test_versions_recorded_before_the_migration_are_renamed_by_their_status_change() -> None:
    url = _fresh_database("agrimap_history_actions_test")
    migrate.downgrade(url, "0014-1")
    statuses = [("insert", "active", "Chè"), ("update", "active", "Chè shan"),
                ("update", "suspended", "Chè shan"), ("update", "suspended", "Chè"),
                ("update", "active", "Chè"), ("update", "revoked", "Chè")]  # fmt: skip
    with psycopg.connect(url) as conn:
        for version, (op, status, crop) in enumerate(statuses, start=1):
            conn.execute(
                "INSERT INTO growing_area_history "
                "(growing_area_id, version, operation, changed_by, record, geom) "
                "VALUES (7, %s, %s, 'tests', %s, %s)",
                (version, op, json.dumps({"status": status, "crop": crop}), SQUARE),
            )
    migrate.upgrade(url)
    with psycopg.connect(url) as conn:
        ops = conn.execute("SELECT operation FROM growing_area_history ORDER BY version").fetchall()
        assert [o for (o,) in ops] == [
            "insert",
            "update",
            "suspend",
            "update",
            "reinstate",
            "revoke",
        ]
    migrate.downgrade(url, "0014-1")  # and back: every status action is an update again
    with psycopg.connect(url) as conn:
        ops = conn.execute("SELECT DISTINCT operation FROM growing_area_history").fetchall()
        assert sorted(o for (o,) in ops) == ["insert", "update"]
    migrate.upgrade(url)
