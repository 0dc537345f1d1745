"""`agrimap user …`, `agrimap token …` and the demo accounts, against a real database."""

from __future__ import annotations

import psycopg
from typer.testing import CliRunner

from agrimap.cli import app
from agrimap.cli_accounts import DEMO_ACCOUNTS, ensure_demo_accounts
from agrimap.clicommon import run_async
from layers import accounts

runner = CliRunner()


def test_user_and_token_commands(db_url: str, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    r = runner.invoke(
        app,
        ["user", "add", "cli-officer", "--role", "officer", "--commune", "02923",
         "--password", "mot-mat-khau-dai"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    again = runner.invoke(app, ["user", "add", "cli-officer", "--role", "planner", "--password", "mot-mat-khau-dai"])  # fmt: skip
    assert again.exit_code == 1 and "đã có" in again.output
    bad = runner.invoke(app, ["user", "add", "cli-o2", "--role", "officer", "--password", "mot-mat-khau-dai"])  # fmt: skip
    assert bad.exit_code == 1 and "ít nhất một xã" in bad.output
    assert "cli-officer" in runner.invoke(app, ["user", "list"]).output
    made = runner.invoke(app, ["token", "create", "cli-officer", "--name", "QGIS"])
    token = made.output.strip().splitlines()[-1]
    assert made.exit_code == 0 and token.startswith(accounts.TOKEN_PREFIX)
    with psycopg.connect(db_url) as conn:
        tid = conn.execute(
            "SELECT id FROM api_token WHERE token_hash = %s", (accounts.digest(token),)
        ).fetchone()[0]
    assert runner.invoke(app, ["token", "revoke", str(tid)]).exit_code == 0
    assert runner.invoke(app, ["token", "revoke", str(tid)]).exit_code == 1  # already revoked
    assert runner.invoke(app, ["user", "disable", "cli-officer"]).exit_code == 0
    assert run_async(db_url, accounts.get_user, username="cli-officer").disabled
    with psycopg.connect(db_url) as conn:
        actions = [a for (a,) in conn.execute(
            "SELECT action FROM audit_log WHERE object_id IN ('cli-officer', %s) ORDER BY id",
            (str(tid),))]  # fmt: skip
    assert actions == ["user_create", "token_create", "token_revoke", "user_update"]


def test_demo_accounts_get_new_passwords_each_run(db_url: str) -> None:
    first = run_async(db_url, ensure_demo_accounts)
    second = run_async(db_url, ensure_demo_accounts)
    with psycopg.connect(db_url) as conn:
        assert [u for u, _, _ in first] == [u for u, *_ in DEMO_ACCOUNTS]
        for (user, role, old), (_, _, new) in zip(first, second, strict=True):
            stored = conn.execute(
                "SELECT password_hash, role FROM app_user WHERE username = %s", (user,)
            ).fetchone()
            assert old != new and stored[1] == role
            assert accounts.verify_password(stored[0], new)
            assert not accounts.verify_password(stored[0], old)
