"""Accounts: people (admin, officer, planner), their sessions, the API tokens of programs
and the audit trail.

Passwords are hashed with Argon2id (argon2-cffi). API tokens and session ids carry 256
random bits, so a SHA-256 of them is enough to store (a leaked table gives no usable
token). The database functions are async, for the server; the CLI runs the same ones
through ``agrimap.clicommon.run_async``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from geo.errors import Conflict, InvalidInput, NotFound

from .offload import in_worker

ROLES = ("admin", "officer", "planner")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")
COMMUNE = re.compile(r"^[0-9]{5}$")
TOKEN_PREFIX = "agm_"
MIN_PASSWORD = 10

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


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def _no_account(username: str) -> NotFound:
    return NotFound(f"Không có tài khoản {username}.", f"No account {username}.")


def no_token(token_id: int) -> NotFound:
    return NotFound(
        f"Không có mã truy cập số {token_id} còn hiệu lực (của bạn).",
        f"No active API token with id {token_id} (of yours).",
    )


# --- database: audit trail ---------------------------------------------------------------

INSERT_AUDIT = (
    "INSERT INTO audit_log (actor, actor_id, action, object_type, object_id, detail) "
    "VALUES (%s, %s, %s, %s, %s, %s)"
)
AUDIT_COLUMNS = (
    "id", "at", "actor", "action", "object_type", "object_id", "commune_code", "before", "after",
    "detail",
)  # fmt: skip
AUDIT_ENTRIES = (
    "SELECT id, at, actor, action, object_type, object_id, commune_code, before, after, "
    "detail FROM audit_log "
    "WHERE (%(actor)s::text IS NULL OR actor = %(actor)s) "
    "AND (%(action)s::text IS NULL OR action = %(action)s) "
    "AND (%(otype)s::text IS NULL OR object_type = %(otype)s) "
    "AND (%(oid)s::text IS NULL OR object_id = %(oid)s) "
    "AND (%(since)s::timestamptz IS NULL OR at >= %(since)s) "
    "AND id > %(after)s ORDER BY id LIMIT %(limit)s"
)


async def audit(
    conn: AsyncConnection,
    *,
    action: str,
    actor: str,
    object_type: str,
    object_id: str | None = None,
    actor_id: int | None = None,
    detail: dict | None = None,
) -> None:
    """Append one entry to the audit trail (``detail`` None is stored as SQL NULL)."""
    await conn.execute(
        INSERT_AUDIT,
        (actor, actor_id, action, object_type, object_id,
         None if detail is None else Jsonb(detail)),
    )  # fmt: skip


async def audit_entries(
    conn: AsyncConnection,
    *,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    after_id: int = 0,
    limit: int = 1000,
) -> list[dict]:
    """Audit entries after ``after_id`` in id order, each filter applied when given."""
    rows = await (
        await conn.execute(
            AUDIT_ENTRIES,
            {"actor": actor, "action": action, "otype": object_type, "oid": object_id,
             "since": since, "after": after_id, "limit": limit},
        )
    ).fetchall()  # fmt: skip
    return [dict(zip(AUDIT_COLUMNS, r, strict=True)) for r in rows]


# --- database: accounts ------------------------------------------------------------------

ACCOUNT_SQL = """
SELECT a.id, a.username, a.display_name, a.role, a.personal_data, a.disabled,
       coalesce(array_agg(c.commune_code ORDER BY c.commune_code)
                FILTER (WHERE c.commune_code IS NOT NULL), '{}')
FROM app_user a LEFT JOIN user_commune c ON c.user_id = a.id
"""
ACCOUNT_BY_NAME = ACCOUNT_SQL + " WHERE a.username = %s GROUP BY a.id"
ALL_ACCOUNTS = ACCOUNT_SQL + " GROUP BY a.id ORDER BY a.username"
INSERT_USER = (
    "INSERT INTO app_user (username, display_name, role, personal_data, password_hash) "
    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (username) DO NOTHING RETURNING id"
)
INSERT_USER_COMMUNE = "INSERT INTO user_commune (user_id, commune_code) VALUES (%s, %s)"
SET_DISABLED = "UPDATE app_user SET disabled = %s, updated_at = now() WHERE id = %s"
SET_PASSWORD = (
    "UPDATE app_user SET password_hash = %s, failed_logins = 0, locked_until = NULL, "
    "updated_at = now() WHERE id = %s"
)
END_SESSIONS = "DELETE FROM web_session WHERE user_id = %s"


def _account(row: tuple) -> Account:
    return Account(*row[:6], communes=tuple(row[6]))


async def get_user(conn: AsyncConnection, *, username: str) -> Account:
    row = await (await conn.execute(ACCOUNT_BY_NAME, (username,))).fetchone()
    if row is None:
        raise _no_account(username)
    return _account(row)


async def list_users(conn: AsyncConnection) -> list[Account]:
    return [_account(r) for r in await (await conn.execute(ALL_ACCOUNTS)).fetchall()]


async def add_user(
    conn: AsyncConnection,
    *,
    username: str,
    role: str,
    password: str,
    display_name: str | None = None,
    communes: list[str] | tuple[str, ...] = (),
    personal_data: bool = False,
    by: str,
    by_id: int | None = None,
) -> Account:
    """Create an account; ``by`` (and ``by_id``) is who does it, for the audit trail."""
    name = check_username(username)
    check_role(role, communes)
    pw_hash = await in_worker(hash_password, password)
    scope = sorted(set(communes))
    async with conn.transaction():
        row = await (
            await conn.execute(
                INSERT_USER, (name, display_name or name, role, personal_data, pw_hash)
            )
        ).fetchone()
        if row is None:
            raise Conflict(f"Tên đăng nhập {name} đã có.", f"Username {name} already exists.")
        for code in scope:
            await conn.execute(INSERT_USER_COMMUNE, (row[0], code))
        await audit(
            conn, action="user_create", actor=by, actor_id=by_id, object_type="app_user",
            object_id=name, detail={"role": role, "communes": scope, "personal_data": personal_data},
        )  # fmt: skip
    return await get_user(conn, username=name)


async def update_user(
    conn: AsyncConnection,
    *,
    username: str,
    disabled: bool | None = None,
    password: str | None = None,
    by: str,
    by_id: int | None = None,
) -> Account:
    """Disable or enable an account, or set its password; either ends its sessions and
    revokes its API tokens at once (a new password means the old secrets are not trusted)."""
    acct = await get_user(conn, username=username)
    pw_hash = None if password is None else await in_worker(hash_password, password)
    changes: dict = {}
    async with conn.transaction():
        if disabled is not None:
            await conn.execute(SET_DISABLED, (disabled, acct.id))
            changes["disabled"] = disabled
        if pw_hash is not None:
            await conn.execute(SET_PASSWORD, (pw_hash, acct.id))
            changes["password"] = "changed"
        if disabled or pw_hash is not None:
            await conn.execute(END_SESSIONS, (acct.id,))
            revoked = await conn.execute(REVOKE_ALL_TOKENS, (acct.id,))
            if revoked.rowcount:
                changes["tokens_revoked"] = revoked.rowcount
        await audit(
            conn, action="user_update", actor=by, actor_id=by_id, object_type="app_user",
            object_id=acct.username, detail=changes,
        )  # fmt: skip
    return await get_user(conn, username=username)


# --- database: API tokens ----------------------------------------------------------------

INSERT_TOKEN = (
    "INSERT INTO api_token (user_id, name, token_hash, prefix, created_by, expires_at) "
    "SELECT id, %s, %s, %s, %s, now() + make_interval(days => %s) FROM app_user "
    "WHERE username = %s RETURNING id"
)
# The account's row is locked so two requests at once cannot both pass the cap.
ACTIVE_TOKENS = (
    "SELECT a.id, (SELECT count(*) FROM api_token t WHERE t.user_id = a.id "
    "AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())) "
    "FROM app_user a WHERE a.username = %s FOR UPDATE"
)
REVOKE_ALL_TOKENS = (
    "UPDATE api_token SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL"
)
REVOKE_TOKEN = (
    "UPDATE api_token t SET revoked_at = now() FROM app_user a "
    "WHERE t.id = %s AND t.revoked_at IS NULL AND a.id = t.user_id "
    "AND (%s::text IS NULL OR a.username = %s) RETURNING t.id, a.username"
)
TOKEN_KEYS = (
    "id", "name", "prefix", "created_at", "created_by", "last_used_at", "revoked_at", "expires_at",
)  # fmt: skip
TOKENS_OF = (
    "SELECT t.id, t.name, t.prefix, t.created_at, t.created_by, t.last_used_at, "
    "t.revoked_at, t.expires_at FROM api_token t JOIN app_user a ON a.id = t.user_id "
    "WHERE a.username = %s ORDER BY t.id"
)
# Who a bearer token speaks for, with the columns of ACCOUNT_SQL.
ACCOUNT_BY_TOKEN = """
SELECT a.id, a.username, a.display_name, a.role, a.personal_data, a.disabled,
       coalesce(array_agg(c.commune_code ORDER BY c.commune_code)
                FILTER (WHERE c.commune_code IS NOT NULL), '{}')
FROM api_token x
JOIN app_user a ON a.id = x.user_id AND NOT a.disabled
LEFT JOIN user_commune c ON c.user_id = a.id
WHERE x.token_hash = %s AND x.revoked_at IS NULL
  AND (x.expires_at IS NULL OR x.expires_at > now())
GROUP BY a.id
"""
# Written at most once a minute per token, so busy programs do not write on every request.
TOKEN_USED = (
    "UPDATE api_token SET last_used_at = now() WHERE token_hash = %s "
    "AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')"
)


DEFAULT_TOKEN_DAYS = 90
DEFAULT_MAX_TOKENS = 20


async def create_token(
    conn: AsyncConnection,
    *,
    username: str,
    name: str,
    by: str,
    by_id: int | None = None,
    days: int = DEFAULT_TOKEN_DAYS,
    max_active: int = DEFAULT_MAX_TOKENS,
) -> tuple[int, str]:
    """A new API token for ``username``, valid ``days`` days; returns (id, token). The token
    is shown only now. An account holds at most ``max_active`` unrevoked, unexpired tokens."""
    token = new_api_token()
    params = (name.strip() or "token", digest(token), token[:10], by, days, username)
    async with conn.transaction():
        held = await (await conn.execute(ACTIVE_TOKENS, (username,))).fetchone()
        if held is None:
            raise _no_account(username)
        if held[1] >= max_active:
            raise Conflict(
                f"Tài khoản {username} đã có {held[1]} mã truy cập còn hiệu lực (tối đa {max_active}, AGRIMAP_MAX_TOKENS_PER_ACCOUNT).",
                f"Account {username} already holds {held[1]} active API tokens (at most {max_active}, AGRIMAP_MAX_TOKENS_PER_ACCOUNT).",
                hint_vi="Thu hồi các mã không còn dùng (DELETE /auth/tokens/{id}) rồi tạo mã mới.",
                hint_en="Revoke tokens no longer in use (DELETE /auth/tokens/{id}), then create one.",
            )
        row = await (await conn.execute(INSERT_TOKEN, params)).fetchone()
        await audit(
            conn, action="token_create", actor=by, actor_id=by_id, object_type="api_token",
            object_id=str(row[0]), detail={"user": username, "name": name, "days": days},
        )  # fmt: skip
    return row[0], token


async def revoke_token(
    conn: AsyncConnection,
    *,
    token_id: int,
    by: str,
    by_id: int | None = None,
    owner: str | None = None,
) -> None:
    """Revoke a token (only one of ``owner``'s when given)."""
    async with conn.transaction():
        row = await (await conn.execute(REVOKE_TOKEN, (token_id, owner, owner))).fetchone()
        if row is None:
            raise no_token(token_id)
        await audit(
            conn, action="token_revoke", actor=by, actor_id=by_id, object_type="api_token",
            object_id=str(token_id), detail={"user": row[1]},
        )  # fmt: skip


async def list_tokens(conn: AsyncConnection, *, username: str) -> list[dict]:
    """The tokens of ``username``, revoked ones included (never the secrets)."""
    rows = await (await conn.execute(TOKENS_OF, (username,))).fetchall()
    return [dict(zip(TOKEN_KEYS, r, strict=True)) for r in rows]


async def account_for_token(conn: AsyncConnection, *, token: str) -> Account | None:
    """The enabled account an unrevoked API token belongs to (None: no such token)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = await (await conn.execute(ACCOUNT_BY_TOKEN, (digest(token),))).fetchone()
    if row is None:
        return None
    await conn.execute(TOKEN_USED, (digest(token),))
    return _account(row)


# --- database: sessions and sign-in ------------------------------------------------------

ACCOUNT_BY_SESSION = """
SELECT a.id, a.username, a.display_name, a.role, a.personal_data, a.disabled,
       coalesce(array_agg(c.commune_code ORDER BY c.commune_code)
                FILTER (WHERE c.commune_code IS NOT NULL), '{}'),
       x.csrf_token
FROM web_session x
JOIN app_user a ON a.id = x.user_id AND NOT a.disabled
LEFT JOIN user_commune c ON c.user_id = a.id
WHERE x.id_hash = %s AND x.expires_at > now()
GROUP BY a.id, x.csrf_token
"""
SIGN_IN_ROW = "SELECT id, password_hash, disabled FROM app_user WHERE username = %s"
# Back-off of one client for one typed username (migration 0012), real account or not.
THROTTLE_ROW = (
    "SELECT failures, ceil(extract(epoch FROM blocked_until - now()) / 60) "
    "FROM login_throttle WHERE username = %s AND client = %s AND blocked_until > now()"
)
RECORD_FAILURE = (
    "INSERT INTO login_throttle AS t (username, client, failures, last_failed_at) "
    "VALUES (%(u)s, %(c)s, 1, now()) ON CONFLICT (username, client) DO UPDATE SET "
    "failures = CASE WHEN t.last_failed_at < now() - interval '1 day' THEN 1 "
    "ELSE t.failures + 1 END, last_failed_at = now() RETURNING failures"
)
SET_BLOCKED = (
    "UPDATE login_throttle SET blocked_until = now() + make_interval(mins => %s) "
    "WHERE username = %s AND client = %s"
)
CLEAR_THROTTLE = "DELETE FROM login_throttle WHERE username = %s AND client = %s"
# Old rows of clients that gave up: kept a day, for the back-off's memory.
FORGET_THROTTLES = "DELETE FROM login_throttle WHERE last_failed_at < now() - interval '1 day'"
INSERT_SESSION = (
    "INSERT INTO web_session (id_hash, user_id, csrf_token, expires_at) "
    "VALUES (%s, %s, %s, now() + %s)"
)
END_SESSION = "DELETE FROM web_session WHERE id_hash = %s"
SET_ACTING = "SELECT set_config('agrimap.user_id', %s, true), set_config('agrimap.user', %s, true)"


@dataclass(frozen=True)
class SignIn:
    """What a sign-in gave: a new session id, or ``refused`` with ``minutes`` to wait.

    The refusal is the same whether the account exists, is disabled or the password is
    wrong: nothing tells which usernames are real.
    """

    session: str | None = None
    refused: bool = False
    minutes: int = 0


@dataclass(frozen=True)
class Backoff:
    """After ``after`` wrong passwords from one client for one username, that client waits
    1, 2, 4 … ``max_minutes`` minutes before each next try (AGRIMAP_LOGIN_BACKOFF_*)."""

    after: int = 5
    max_minutes: int = 15

    def minutes(self, failures: int) -> int:
        """Minutes to wait after ``failures`` wrong passwords in a row.

        >>> [Backoff(5, 15).minutes(n) for n in (4, 5, 6, 9, 30)]
        [0, 1, 2, 15, 15]
        """
        if failures < self.after:
            return 0
        return min(2 ** min(failures - self.after, 20), self.max_minutes)


async def sign_in(
    conn: AsyncConnection,
    *,
    username: str,
    password: str,
    client: str | None,
    secret_key: str,
    session_hours: int,
    backoff: Backoff = Backoff(),
) -> SignIn:
    """Check a password (in a worker thread), back off this client for this username after
    repeated failures, audit the attempt, and open a session when it succeeds. Another
    client, the account's owner included, is never held back by someone else's failures."""
    who = client or "-"
    async with conn.transaction():
        waiting = await (await conn.execute(THROTTLE_ROW, (username, who))).fetchone()
        if waiting is not None:
            await audit(
                conn, action="login_failed", actor=username or "-", object_type="app_user",
                object_id=username or "-", detail={"client": client, "waiting": True},
            )  # fmt: skip
            return SignIn(refused=True, minutes=max(1, int(waiting[1])))
        row = await (await conn.execute(SIGN_IN_ROW, (username,))).fetchone()
    # Verified even for an unknown name, so both answers take the same time.
    ok = await in_worker(verify_password, row[1] if row else None, password)
    refused = row is None or row[2] or not ok
    async with conn.transaction():
        await audit(
            conn, action="login_failed" if refused else "login", actor=username or "-",
            actor_id=row[0] if row else None, object_type="app_user",
            object_id=username or "-", detail={"client": client},
        )  # fmt: skip
        if refused:
            failures = (
                await (await conn.execute(RECORD_FAILURE, {"u": username, "c": who})).fetchone()
            )[0]
            minutes = backoff.minutes(failures)
            if minutes:
                await conn.execute(SET_BLOCKED, (minutes, username, who))
            return SignIn(refused=True, minutes=minutes)
        await conn.execute(CLEAR_THROTTLE, (username, who))
        await conn.execute(FORGET_THROTTLES)
        session = new_secret()
        await conn.execute(
            INSERT_SESSION,
            (session_digest(secret_key, session), row[0], secrets.token_urlsafe(24),
             timedelta(hours=session_hours)),
        )  # fmt: skip
    return SignIn(session=session)


async def sign_out(
    conn: AsyncConnection, *, secret_key: str, session: str, user_id: int | None, username: str
) -> None:
    """End one session and audit it."""
    async with conn.transaction():
        await conn.execute(END_SESSION, (session_digest(secret_key, session),))
        await audit(
            conn, action="logout", actor=username, actor_id=user_id, object_type="app_user",
            object_id=username,
        )  # fmt: skip


async def account_for_session(
    conn: AsyncConnection, *, secret_key: str, session: str
) -> tuple[Account, str] | None:
    """The enabled account of an unexpired session, with the session's CSRF token."""
    row = await (
        await conn.execute(ACCOUNT_BY_SESSION, (session_digest(secret_key, session),))
    ).fetchone()
    return None if row is None else (_account(row), row[7])


async def set_acting(conn: AsyncConnection, *, user_id: int | None, username: str) -> None:
    """Tell the database who acts, for the rest of the transaction (its scope checks and
    audit triggers read it)."""
    await conn.execute(SET_ACTING, ("" if user_id is None else str(user_id), username))
