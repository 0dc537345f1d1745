"""The household table's set-wise INSERT triggers also fire in replica mode, for the bulk import.

Revision ID: 0020
Revises: 0021
Create Date: 2026-12-03

A bulk import (the operator's, agrimap.bulk and agrimap.system on) moves its staged rows into
household with session_replication_role = replica for that one statement (layers/ingest/write.py,
``_move_bulk``), so that the per-row work of a normal insert is not done a million times: the
foreign-key checks (village, import batch), which the import runs instead as one set-wise lock
and check, and the row triggers whose WHEN already skips a bulk import's rows (scope, audit).
The statement-level triggers, which derive the key table, the 150 m cells, the served
households and coverage sets and the layer's version from the inserted rows as a whole, must
still fire: ENABLE ALWAYS. Outside replica mode ALWAYS changes nothing. The import checks the
catalogue before it takes that path: an INSERT trigger on household that is neither ALWAYS nor
one it knows is skipped for its rows sends it back to the normal insert.

The key tables' INSERT trigger sorts the new keys before it inserts them (an index filled in
order); it now sorts them bytewise (COLLATE "C"): a million QR tokens sorted through the
database's collation took 5.3 s, bytewise 1.1 s. The order is the same for tokens and codes
of digits and capitals (and any text in a C.UTF-8 database), and only a matter of locality
otherwise.
"""

from alembic import op
from sqlalchemy import text

revision = "0020"
down_revision = "0021"
branch_labels = None
depends_on = None

TRIGGERS = (
    "household_inserted",
    "household_keys_inserted",
    "household_cells_inserted",
    "household_served_household_inserted",
    # migration 0021 (partition extents) runs before this one: its INSERT statement trigger
    # too must fire for a bulk import's rows.
    "household_extent_inserted",
)


SORTS = (("FROM new_rows ORDER BY qr_token;", 'FROM new_rows ORDER BY qr_token COLLATE "C";'),
         ("FROM new_rows ORDER BY code;", 'FROM new_rows ORDER BY code COLLATE "C";'))  # fmt: skip


def _keys_function(sorts: tuple[tuple[str, str], ...]) -> None:
    bind = op.get_bind()
    body = bind.execute(text("SELECT pg_get_functiondef('layer_keys_apply'::regproc)")).scalar()
    for old, new in sorts:
        if old not in body:
            raise RuntimeError(f"layer_keys_apply() does not read {old!r}")
        body = body.replace(old, new)
    bind.exec_driver_sql(body)


def _enable(name: str, how: str) -> None:
    """ENABLE ``how`` TRIGGER ``name`` on household, if the trigger exists."""
    exists = (
        op.get_bind()
        .execute(
            text("SELECT 1 FROM pg_trigger WHERE tgrelid = 'household'::regclass AND tgname = :n"),
            {"n": name},
        )
        .scalar()
    )
    if exists:
        op.execute(f"ALTER TABLE household ENABLE {how} TRIGGER {name}")


def upgrade() -> None:
    for name in TRIGGERS:
        _enable(name, "ALWAYS")
    _keys_function(SORTS)


def downgrade() -> None:
    _keys_function(tuple((new, old) for old, new in SORTS))
    for name in TRIGGERS:
        _enable(name, "")
