"""Accounts: people (admin, officer, planner) and the API tokens of programs.

Passwords are hashed with Argon2id (argon2-cffi). API tokens and session ids carry 256
random bits, so a SHA-256 of them is enough to store (a leaked table gives no usable
token). The functions here are synchronous, for the CLI and the tests; the server's
request-time checks are in ``api/auth.py`` and use the same SQL and helpers.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from geo.errors import Conflict, InvalidInput, NotFound

ROLES = ("admin", "officer", "planner")
ROLE_TITLES_VI = {"admin": "Quản trị", "officer": "Cán bộ xã", "planner": "Quy hoạch"}
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")
COMMUNE = re.compile(r"^[0-9]{5}$")
TOKEN_PREFIX = "agm_"
MIN_PASSWORD = 10
# After this many wrong passwords in a row an account is locked, for 1, 2, 4 … 60 minutes.
LOCK_AFTER = 5
MAX_LOCK_MINUTES = 60

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    display_name: str
    role: str
    personal_data: bool = False
    disabled: bool = False
    communes: tuple[str, ...] = field(default_factory=tuple)


# --- pure helpers -----------------------------------------------------------------------


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"Mật khẩu quá ngắn: cần ít nhất {MIN_PASSWORD} ký tự.",
            f"Password too short: at least {MIN_PASSWORD} characters are needed.",
        )


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise InvalidInput(
            f"Tên đăng nhập không hợp lệ: {username!r}.",
            f"Invalid username: {username!r}.",
            hint_vi="Dùng 3–40 ký tự: chữ thường không dấu, số, dấu chấm, gạch ngang.",
            hint_en="Use 3-40 characters: lowercase letters, digits, '.', '_' or '-'.",
        )
    return name


def check_role(role: str, communes: list[str] | tuple[str, ...]) -> None:
    if role not in ROLES:
        raise InvalidInput(
            f"Vai trò không hợp lệ: {role!r}.",
            f"Unknown role: {role!r}.",
            hint_vi="Chọn một trong: " + ", ".join(ROLES) + ".",
            hint_en="Choose one of: " + ", ".join(ROLES) + ".",
        )
    bad = [c for c in communes if not COMMUNE.match(c)]
    if bad:
        raise InvalidInput(
            f"Mã xã không hợp lệ: {', '.join(bad)}.",
            f"Invalid commune code: {', '.join(bad)}.",
            hint_vi="Mã xã gồm 5 chữ số, ví dụ 02923.",
            hint_en="A commune code has 5 digits, e.g. 02923.",
        )
    if role == "officer" and not communes:
        raise InvalidInput(
            "Cán bộ xã cần được giao ít nhất một xã.",
            "An officer must be scoped to at least one commune.",
            hint_vi="Thêm --commune MÃ_XÃ.",
            hint_en="Add --commune CODE.",
        )


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def session_digest(secret_key: str, session: str) -> str:
    """What is stored of a session id: keyed with the server secret, so rotating
    AGRIMAP_SECRET_KEY ends every session and a copied table cannot forge one."""
    return hmac.new(secret_key.encode(), session.encode(), hashlib.sha256).hexdigest()


def new_api_token() -> str:
    return TOKEN_PREFIX + new_secret()


def lock_minutes(failed: int) -> int:
    """Minutes an account stays locked after ``failed`` wrong passwords in a row (0: none)."""
    if failed < LOCK_AFTER:
        return 0
    return min(2 ** (failed - LOCK_AFTER), MAX_LOCK_MINUTES)


def generate_password() -> str:
    return secrets.token_urlsafe(12)


# --- database (synchronous: CLI, demo, tests) ------------------------------------------

ACCOUNT_SQL = """
SELECT a.id, a.username, a.display_name, a.role, a.personal_data, a.disabled,
       coalesce(array_agg(c.commune_code ORDER BY c.commune_code)
                FILTER (WHERE c.commune_code IS NOT NULL), '{}')
FROM app_user a LEFT JOIN user_commune c ON c.user_id = a.id
"""


INSERT_AUDIT = (
    "INSERT INTO audit_log (actor, actor_id, action, object_type, object_id, detail) "
    "VALUES (%s, %s, %s, %s, %s, %s)"
)
INSERT_TOKEN = (
    "INSERT INTO api_token (user_id, name, token_hash, prefix, created_by) "
    "SELECT id, %s, %s, %s, %s FROM app_user WHERE username = %s RETURNING id"
)
REVOKE_TOKEN = (
    "UPDATE api_token t SET revoked_at = now() FROM app_user a "
    "WHERE t.id = %s AND t.revoked_at IS NULL AND a.id = t.user_id "
    "AND (%s::text IS NULL OR a.username = %s) RETURNING t.id, a.username"
)


def token_insert_params(username: str, name: str, by: str) -> tuple[str, tuple]:
    """A new token and the parameters of INSERT_TOKEN that store its digest."""
    token = new_api_token()
    return token, (name.strip() or "token", digest(token), token[:10], by, username)


def no_token(token_id: int) -> NotFound:
    return NotFound(
        f"Không có mã truy cập số {token_id} còn hiệu lực (của bạn).",
        f"No active API token with id {token_id} (of yours).",
    )


def _account(row: tuple) -> Account:
    return Account(*row[:6], communes=tuple(row[6]))


def audit(
    conn: psycopg.Connection,
    action: str,
    *,
    actor: str,
    object_type: str,
    object_id: str | None = None,
    actor_id: int | None = None,
    detail: dict | None = None,
) -> None:
    conn.execute(
        INSERT_AUDIT,
        (actor, actor_id, action, object_type, object_id, psycopg.types.json.Jsonb(detail)),
    )


def add_user(
    conn: psycopg.Connection,
    username: str,
    *,
    role: str,
    password: str,
    display_name: str | None = None,
    communes: list[str] | tuple[str, ...] = (),
    personal_data: bool = False,
    by: str = "cli",
) -> Account:
    name = check_username(username)
    check_role(role, communes)
    pw_hash = hash_password(password)
    with conn.transaction():
        try:
            uid = conn.execute(
                "INSERT INTO app_user (username, display_name, role, personal_data, password_hash) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (name, display_name or name, role, personal_data, pw_hash),
            ).fetchone()[0]
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(
                f"Tên đăng nhập {name} đã có.",
                f"Username {name} already exists.",
                hint_vi="Chọn tên khác, hoặc dùng `agrimap user list`.",
                hint_en="Choose another name, or see `agrimap user list`.",
            ) from exc
        for code in sorted(set(communes)):
            conn.execute(
                "INSERT INTO user_commune (user_id, commune_code) VALUES (%s, %s)", (uid, code)
            )
        audit(
            conn,
            "user_create",
            actor=by,
            object_type="app_user",
            object_id=name,
            detail={
                "role": role,
                "communes": sorted(set(communes)),
                "personal_data": personal_data,
            },
        )
    return get_user(conn, name)


def get_user(conn: psycopg.Connection, username: str) -> Account:
    row = conn.execute(ACCOUNT_SQL + " WHERE a.username = %s GROUP BY a.id", (username,)).fetchone()
    if row is None:
        raise NotFound(f"Không có tài khoản {username}.", f"No account {username}.")
    return _account(row)


def list_users(conn: psycopg.Connection) -> list[Account]:
    rows = conn.execute(ACCOUNT_SQL + " GROUP BY a.id ORDER BY a.username").fetchall()
    return [_account(r) for r in rows]


def set_disabled(conn: psycopg.Connection, username: str, disabled: bool, *, by: str) -> Account:
    acct = get_user(conn, username)
    with conn.transaction():
        conn.execute(
            "UPDATE app_user SET disabled = %s, updated_at = now() WHERE id = %s",
            (disabled, acct.id),
        )
        if disabled:  # signed-in sessions and tokens stop working at once
            conn.execute("DELETE FROM web_session WHERE user_id = %s", (acct.id,))
        audit(
            conn, "user_update", actor=by, object_type="app_user", object_id=acct.username,
            detail={"disabled": disabled},
        )  # fmt: skip
    return get_user(conn, username)


def set_password(conn: psycopg.Connection, username: str, password: str, *, by: str) -> None:
    acct = get_user(conn, username)
    pw_hash = hash_password(password)
    with conn.transaction():
        conn.execute(
            "UPDATE app_user SET password_hash = %s, failed_logins = 0, locked_until = NULL, "
            "updated_at = now() WHERE id = %s",
            (pw_hash, acct.id),
        )
        conn.execute("DELETE FROM web_session WHERE user_id = %s", (acct.id,))
        audit(
            conn, "user_update", actor=by, object_type="app_user", object_id=acct.username,
            detail={"password": "changed"},
        )  # fmt: skip


def create_token(conn: psycopg.Connection, username: str, name: str, *, by: str) -> tuple[int, str]:
    """A new API token for ``username``; returns (id, token). The token is shown only now."""
    acct = get_user(conn, username)
    token, params = token_insert_params(acct.username, name, by)
    with conn.transaction():
        tid = conn.execute(INSERT_TOKEN, params).fetchone()[0]
        audit(
            conn, "token_create", actor=by, object_type="api_token", object_id=str(tid),
            detail={"user": acct.username, "name": name},
        )  # fmt: skip
    return tid, token


def revoke_token(
    conn: psycopg.Connection, token_id: int, *, by: str, owner: str | None = None
) -> None:
    """Revoke a token (only one of ``owner``'s when given)."""
    with conn.transaction():
        row = conn.execute(REVOKE_TOKEN, (token_id, owner, owner)).fetchone()
        if row is None:
            raise no_token(token_id)
        audit(conn, "token_revoke", actor=by, object_type="api_token", object_id=str(token_id))
