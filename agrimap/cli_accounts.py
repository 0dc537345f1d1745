"""`agrimap user …` and `agrimap token …`: accounts and API tokens, from the server's shell."""

from __future__ import annotations

import getpass

import typer
from psycopg import AsyncConnection
from rich.console import Console
from rich.table import Table

from geo.errors import AgriMapError, Conflict, NotFound
from layers import accounts

from .clicommon import database_url, fail, load_settings, run_async

user_app = typer.Typer(help="Tài khoản / accounts (admin, officer, planner).", no_args_is_help=True)
token_app = typer.Typer(help="Mã truy cập API / API tokens.", no_args_is_help=True)
console = Console()
CLI_ACTOR = "cli:" + getpass.getuser()

# Demo accounts: their passwords are new random ones each time `agrimap demo` runs.
DEMO_ACCOUNTS = (
    ("quantri", "admin", "Quản trị hệ thống", (), False),
    ("canbo.giaphu", "officer", "Cán bộ nông nghiệp xã Gia Phú", ("02923",), False),
    ("quyhoach", "planner", "Cán bộ quy hoạch", (), False),
)


def _run(fn, **kw):
    """Run a layers/accounts function against DATABASE_URL (or the local PostGIS), acting as
    the shell user."""
    try:
        return run_async(database_url(load_settings()), fn, **kw)
    except AgriMapError as exc:
        raise fail(exc) from exc


def _password(given: str | None) -> str:
    if given:
        return given
    first = getpass.getpass("Mật khẩu / password: ")
    if getpass.getpass("Nhập lại / again: ") != first:
        raise typer.BadParameter("Hai lần nhập không khớp / the passwords differ")
    return first


@user_app.command("add")
def user_add(
    username: str,
    role: str = typer.Option(..., help="admin, officer or planner"),
    commune: list[str] = typer.Option([], help="Officer's commune code (repeatable)"),
    name: str = typer.Option(None, help="Display name"),
    personal_data: bool = typer.Option(False, help="Planner may read names and phones"),
    password: str = typer.Option(None, help="Prompted for when not given"),
) -> None:
    """Create an account."""
    pw = _password(password)
    try:
        acct = run_async(
            database_url(load_settings()), accounts.add_user, username=username, role=role,
            password=pw, display_name=name, communes=commune, personal_data=personal_data,
            by=CLI_ACTOR,
        )  # fmt: skip
    except Conflict as exc:  # the shell user can look the names up
        raise fail(
            Conflict(
                exc.vi, exc.en,
                hint_vi="Chọn tên khác, hoặc dùng `agrimap user list`.",
                hint_en="Choose another name, or see `agrimap user list`.",
            )
        ) from exc  # fmt: skip
    except AgriMapError as exc:
        raise fail(exc) from exc
    console.print(f"Đã tạo / created: {acct.username} ({acct.role}) {', '.join(acct.communes)}")


@user_app.command("list")
def user_list() -> None:
    """List accounts."""
    table = Table("username", "role", "communes", "personal data", "disabled", "name")
    for a in _run(accounts.list_users):
        table.add_row(
            a.username, a.role, ", ".join(a.communes), "yes" if a.personal_data else "",
            "yes" if a.disabled else "", a.display_name,
        )  # fmt: skip
    console.print(table)


@user_app.command("disable")
def user_disable(username: str, enable: bool = typer.Option(False, help="Enable it again")) -> None:
    """Disable an account (its sessions end at once; its tokens stop working)."""
    acct = _run(accounts.update_user, username=username, disabled=not enable, by=CLI_ACTOR)
    console.print(f"{acct.username}: {'disabled' if acct.disabled else 'enabled'}")


@user_app.command("password")
def user_password(username: str, password: str = typer.Option(None)) -> None:
    """Set a new password (ends the account's sessions and revokes its API tokens)."""
    pw = _password(password)
    _run(accounts.update_user, username=username, password=pw, by=CLI_ACTOR)
    console.print(f"{username}: password changed")


@token_app.command("create")
def token_create(username: str, name: str = typer.Option(..., help="What it is for")) -> None:
    """Create an API token for USERNAME; it is printed once and stored only as a hash."""
    settings = load_settings()
    tid, token = _run(
        accounts.create_token, username=username, name=name, by=CLI_ACTOR,
        days=settings.token_days, max_active=settings.max_tokens_per_account,
    )  # fmt: skip
    console.print(f"Token {tid} for {username} (lưu ngay, chỉ hiện một lần / shown once):")
    print(token)


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke an API token by its id."""
    _run(accounts.revoke_token, token_id=token_id, by=CLI_ACTOR)
    console.print(f"Token {token_id} revoked")


async def ensure_demo_accounts(conn: AsyncConnection) -> list[tuple[str, str, str]]:
    """Create the demo accounts or give them new passwords; returns (username, role, password)."""
    out = []
    for username, role, display, communes, personal in DEMO_ACCOUNTS:
        password = accounts.generate_password()
        try:
            await accounts.get_user(conn, username=username)
        except NotFound:
            await accounts.add_user(
                conn, username=username, role=role, password=password, display_name=display,
                communes=communes, personal_data=personal, by="demo",
            )  # fmt: skip
        else:
            await accounts.update_user(conn, username=username, password=password, by="demo")
        out.append((username, role, password))
    return out
