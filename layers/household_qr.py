"""Household QR codes in the database: look up a scanned or typed code, re-issue, revoke,
and what officers print (a household's code, a village's sheet).

A revoked code and a well-formed code that never existed give the same answer
(``kind == "none"``), so nothing can be learned by trying. A code that cannot be a code at all
(wrong length, a letter outside the alphabet, or a wrong check character: a typing mistake) is
``"mistyped"`` with the reason, said without looking anything up: the check is public, so this
tells nothing about which codes exist. A *replaced* code says so (the household has a new
sign), without revealing the new code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from geo import qrtoken
from geo.errors import Conflict, NotFound

# A code is found in the country-wide key table first (one unique index), then the household in
# its own province's partition: ``h.qr_token = …`` on the parent probed every partition's index
# (35 in a country) and was planned over all of them.
KEY_SQL = "SELECT id, province_code FROM household_key WHERE qr_token = %s"
_ENTRY = """
SELECT h.id, h.label, v.name, c.name, h.has_fibre, ST_X(h.geom), ST_Y(h.geom),
       ST_AsBinary(v.geom),
       CASE WHEN h.show_head_name THEN h.head_name END,
       CASE WHEN h.show_phone THEN h.phone END
FROM household h
LEFT JOIN village v ON v.code = h.village_code
LEFT JOIN commune c ON c.code = v.commune_code
WHERE h.id = %s AND h.qr_token = %s AND """
ENTRY_SQL = _ENTRY + "h.province_code = %s"
ENTRY_NO_PROVINCE_SQL = _ENTRY + "h.province_code IS NULL"
ENTRY_KEYS = (
    "id", "label", "village", "commune", "has_fibre", "lon", "lat", "village_wkb",
    "head_name", "phone",
)  # fmt: skip


RETIRED_SQL = "SELECT reason FROM household_qr_retired WHERE token = %s"
CURRENT_SQL = "SELECT qr_token FROM household WHERE id = %s FOR UPDATE"
SET_TOKEN = "UPDATE household SET qr_token = %s WHERE id = %s"
INSERT_RETIRED = (
    "INSERT INTO household_qr_retired (token, household_id, reason, retired_by) "
    "VALUES (%s, %s, %s, %s)"
)
PRINTED_SQL = (
    "SELECT h.qr_token, v.commune_code, h.label, coalesce('Thôn ' || v.name, '') "
    "FROM household h LEFT JOIN village v ON v.code = h.village_code WHERE h.id = %s"
)
VILLAGE_SQL = (
    "SELECT v.name, v.commune_code, c.name FROM village v "
    "LEFT JOIN commune c ON c.code = v.commune_code WHERE v.code = %s"
)
VILLAGE_CODES_SQL = (
    "SELECT qr_token, label FROM household WHERE village_code = %s "
    "AND qr_token IS NOT NULL ORDER BY label, id"
)


@dataclass(frozen=True)
class Lookup:
    kind: str  # "active", "replaced", "none" or "mistyped"
    entry: dict[str, Any] | None = None
    mistype: str | None = None  # for "mistyped": geo.qrtoken.mistype's reason


@dataclass(frozen=True)
class PrintedCode:
    """What a household's printed sign shows: its code (None: none issued), label, village."""

    token: str | None
    commune_code: str | None
    label: str
    village: str  # "Thôn …", or "" when the household has no village


@dataclass(frozen=True)
class VillageCodes:
    """A village and the (code, label) of each of its households that has a code."""

    name: str
    commune_code: str | None
    commune_name: str | None
    codes: list[tuple[str, str]]


async def lookup(conn: AsyncConnection, *, code: str) -> Lookup:
    """The household a scanned or typed ``code`` opens, if any."""
    token = qrtoken.normalise(code)
    if token is None:
        return Lookup("mistyped", mistype=qrtoken.mistype(code))
    key = await (await conn.execute(KEY_SQL, (token,))).fetchone()
    row = None
    if key is not None:
        hid, province = key
        if province is None:
            cur = await conn.execute(ENTRY_NO_PROVINCE_SQL, (hid, token))
        else:
            cur = await conn.execute(ENTRY_SQL, (hid, token, province))
        row = await cur.fetchone()
    if row is not None:
        return Lookup("active", dict(zip(ENTRY_KEYS, row, strict=True)))
    retired = await (await conn.execute(RETIRED_SQL, (token,))).fetchone()
    if retired is not None and retired[0] == "replaced":
        return Lookup("replaced")
    return Lookup("none")


def _no_household(hid: int) -> NotFound:
    return NotFound(f"Không có hộ gia đình số {hid}.", f"No household with id {hid}.")


async def _current(conn: AsyncConnection, hid: int) -> str | None:
    row = await (await conn.execute(CURRENT_SQL, (hid,))).fetchone()
    if row is None:
        raise _no_household(hid)
    return row[0]


async def _retire(conn: AsyncConnection, hid: int, token: str, reason: str, by: str) -> None:
    await conn.execute(INSERT_RETIRED, (token, hid, reason, by))


async def reissue(conn: AsyncConnection, hid: int, *, by: str) -> str:
    """A new code for a household (e.g. the sign was lost); the old one says 'replaced'."""
    old = await _current(conn, hid)
    new = qrtoken.new_token()
    # The UPDATE runs the database's scope check (officer's communes) and the audit trigger.
    await conn.execute(SET_TOKEN, (new, hid))
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
    await conn.execute(SET_TOKEN, (None, hid))
    await _retire(conn, hid, old, "revoked", by)


async def printed_code(conn: AsyncConnection, *, household_id: int) -> PrintedCode:
    """What the sign of a household shows (officers print it as PNG or SVG)."""
    row = await (await conn.execute(PRINTED_SQL, (household_id,))).fetchone()
    if row is None:
        raise _no_household(household_id)
    return PrintedCode(*row)


async def village_codes(conn: AsyncConnection, *, village_code: str) -> VillageCodes:
    """A village's households with a code, in label order (the printable sheet)."""
    village = await (await conn.execute(VILLAGE_SQL, (village_code,))).fetchone()
    if village is None:
        raise NotFound(f"Không có thôn {village_code}.", f"No village {village_code}.")
    rows = await (await conn.execute(VILLAGE_CODES_SQL, (village_code,))).fetchall()
    return VillageCodes(*village, codes=[(t, label) for t, label in rows])
