"""Household QR codes in the database: look up a scanned or typed code, re-issue, revoke.

A malformed code, a code with a wrong check character, a revoked code and a code that never
existed all give the same answer (``kind == "none"``), so nothing can be learned by trying.
A *replaced* code says so (the household has a new sign), without revealing the new code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from geo import qrtoken
from geo.errors import Conflict, NotFound

ENTRY_SQL = """
SELECT h.id, h.label, v.name, c.name, h.has_fibre, ST_X(h.geom), ST_Y(h.geom),
       ST_AsBinary(v.geom),
       CASE WHEN h.show_head_name THEN h.head_name END,
       CASE WHEN h.show_phone THEN h.phone END
FROM household h
LEFT JOIN village v ON v.code = h.village_code
LEFT JOIN commune c ON c.code = v.commune_code
WHERE h.qr_token = %s
"""
ENTRY_KEYS = (
    "id", "label", "village", "commune", "has_fibre", "lon", "lat", "village_wkb",
    "head_name", "phone",
)  # fmt: skip


@dataclass(frozen=True)
class Lookup:
    kind: str  # "active", "replaced" or "none"
    entry: dict[str, Any] | None = None


async def lookup(conn: AsyncConnection, text: str) -> Lookup:
    token = qrtoken.normalise(text)
    if token is None:
        return Lookup("none")
    row = await (await conn.execute(ENTRY_SQL, (token,))).fetchone()
    if row is not None:
        return Lookup("active", dict(zip(ENTRY_KEYS, row, strict=True)))
    retired = await (
        await conn.execute("SELECT reason FROM household_qr_retired WHERE token = %s", (token,))
    ).fetchone()
    if retired is not None and retired[0] == "replaced":
        return Lookup("replaced")
    return Lookup("none")


async def _current(conn: AsyncConnection, hid: int) -> str | None:
    row = await (
        await conn.execute("SELECT qr_token FROM household WHERE id = %s FOR UPDATE", (hid,))
    ).fetchone()
    if row is None:
        raise NotFound(f"Không có hộ gia đình số {hid}.", f"No household with id {hid}.")
    return row[0]


async def _retire(conn: AsyncConnection, hid: int, token: str, reason: str, by: str) -> None:
    await conn.execute(
        "INSERT INTO household_qr_retired (token, household_id, reason, retired_by) "
        "VALUES (%s, %s, %s, %s)",
        (token, hid, reason, by),
    )


async def reissue(conn: AsyncConnection, hid: int, *, by: str) -> str:
    """A new code for a household (e.g. the sign was lost); the old one says 'replaced'."""
    old = await _current(conn, hid)
    new = qrtoken.new_token()
    # The UPDATE runs the database's scope check (officer's communes) and the audit trigger.
    await conn.execute("UPDATE household SET qr_token = %s WHERE id = %s", (new, hid))
    if old is not None:
        await _retire(conn, hid, old, "replaced", by)
    return new


async def revoke(conn: AsyncConnection, hid: int, *, by: str) -> None:
    """Withdraw a household's code: it then looks like a code that never existed."""
    old = await _current(conn, hid)
    if old is None:
        raise Conflict(
            "Hộ này hiện không có mã QR nào để thu hồi.",
            "This household has no active QR code to revoke.",
        )
    await conn.execute("UPDATE household SET qr_token = NULL WHERE id = %s", (hid,))
    await _retire(conn, hid, old, "revoked", by)


async def token_of(conn: AsyncConnection, hid: int) -> str | None:
    row = await (
        await conn.execute("SELECT qr_token FROM household WHERE id = %s", (hid,))
    ).fetchone()
    if row is None:
        raise NotFound(f"Không có hộ gia đình số {hid}.", f"No household with id {hid}.")
    return row[0]
