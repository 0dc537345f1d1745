"""Sign-in back-off per account and client, API token expiry (issue 17).

Revision ID: 0012
Revises: 0014
Create Date: 2026-12-02

login_throttle counts wrong passwords per (typed username, client address), whether the
account exists or not, so one client's failures delay only that client, and the answer is the
same for a real and an unknown name. The per-account lock (app_user.failed_logins,
locked_until) is no longer used: anyone could trigger it for someone else.

api_token.expires_at: tokens made from now on expire (AGRIMAP_TOKEN_DAYS); tokens that exist
already get 90 days from this migration rather than lapsing at once.
"""

from alembic import op

revision = "0012"
down_revision = "0014"
branch_labels = None
depends_on = None

UP = r"""
CREATE TABLE login_throttle (
    username text NOT NULL,
    client text NOT NULL,
    failures integer NOT NULL DEFAULT 0,
    blocked_until timestamptz,
    last_failed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (username, client)
);
CREATE INDEX login_throttle_last ON login_throttle (last_failed_at);
ALTER TABLE api_token ADD COLUMN expires_at timestamptz;
UPDATE api_token SET expires_at = now() + interval '90 days' WHERE revoked_at IS NULL;
UPDATE app_user SET failed_logins = 0, locked_until = NULL;
"""

DOWN = r"""
ALTER TABLE api_token DROP COLUMN expires_at;
DROP TABLE login_throttle;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
