"""The household table's set-wise INSERT triggers also fire in replica mode, for the bulk import.

Revision ID: 0020
Revises: 0017
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
"""

from alembic import op

revision = "0020"
down_revision = "0017"
branch_labels = None
depends_on = None

TRIGGERS = (
    "household_inserted",
    "household_keys_inserted",
    "household_cells_inserted",
    "household_served_household_inserted",
)


def upgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"ALTER TABLE household ENABLE ALWAYS TRIGGER {name}")


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"ALTER TABLE household ENABLE TRIGGER {name}")
