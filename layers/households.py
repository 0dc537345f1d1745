"""Households (hộ gia đình): import mapping; names and phones are personal data."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.errors import UniqueViolation

from geo import qrtoken
from geo.coverage_rules import percent
from geo.crs import VIETNAM_BOUNDS_WGS84
from geo.errors import Conflict, InvalidInput, NotFound
from geo.values import UNCHANGED, all_plain_text, normalise_phone, parse_bool, parse_text

from .schema import Column, Layer, Reference, RowCheck, parse_changes
from .updates import BY_ID, SET_POINT, update_statement


def _code(value: Any) -> str | None:
    text = parse_text(value)
    if text is not None and len(text) > 40:
        raise ValueError(f"'{value}' is too long for a household code (40 characters)")
    return text


UNCHANGED[_code] = lambda cells: all_plain_text(cells, 40)


LAYER = Layer(
    id="households",
    table="household",
    geometry_type="Point",
    title_vi="Hộ gia đình",
    title_en="Households",
    description_vi="Vị trí hộ gia đình (không có tên, số điện thoại).",
    description_en="Household locations (without names or phone numbers).",
    columns=(
        Column(
            "code",
            "text",
            "Mã hộ",
            "Household code",
            _code,
            ("ma_ho", "maho", "household_code", "ma"),
            required=True,
            public=True,
        ),
        Column(
            "label",
            "text",
            "Nhãn",
            "Label",
            parse_text,
            ("nhan", "ten_hien_thi", "so_nha", "dia_chi_ngan"),
            public=True,
            editable=True,
            popup=1,
        ),
        Column(
            "village_code",
            "text",
            "Mã thôn",
            "Village code",
            parse_text,
            ("ma_thon", "mathon"),
            public=True,
            popup=2,
        ),
        # Personal data (Law 91/2025/QH15): never public, shown only with the household's consent.
        Column(
            "head_name",
            "text",
            "Tên chủ hộ",
            "Head of household",
            parse_text,
            ("ten_chu_ho", "chu_ho", "ho_ten", "ten"),
            editable=True,
        ),
        Column(
            "phone",
            "text",
            "Điện thoại",
            "Phone",
            normalise_phone,
            ("dien_thoai", "so_dien_thoai", "sdt", "phone"),
            editable=True,
        ),
        Column(
            "has_fibre",
            "boolean",
            "Có cáp quang",
            "Has fibre",
            parse_bool,
            ("cap_quang", "co_cap_quang", "internet_cap_quang", "ftth"),
            public=True,
            editable=True,
            popup=3,
            label="cáp quang",
        ),
        Column(
            "show_head_name", "boolean", "Công khai tên", "Show the name", parse_bool, editable=True
        ),
        Column(
            "show_phone",
            "boolean",
            "Công khai điện thoại",
            "Show the phone",
            parse_bool,
            editable=True,
        ),
    ),
    sql_file="households.sql",
    unique=("commune_code", "code"),  # a household's code is unique in its commune
    placed_in="village",
    # A million QR tokens made at once in numpy, not one plpgsql call per row.
    generated_columns=(("qr_token", "text"),),
    generate=lambda n: {"qr_token": qrtoken.new_tokens(n)},
    references=(Reference("village_code", "village", "code", "mã thôn"),),
    checks=(
        RowCheck(
            # A point more than VILLAGE_TOLERANCE_M outside the village it names is a mistake
            # in one of the two (GPS noise at a boundary is tolerated).
            "SELECT s.row_no, s.village_code FROM staging s JOIN village v ON v.code = s.village_code "
            "WHERE NOT s.placed AND NOT ST_Covers(v.geom, s.geom) "
            "AND NOT ST_DWithin(v.geom::geography, s.geom::geography, 100) "
            "ORDER BY s.row_no LIMIT 50",
            "Vị trí nằm ngoài thôn ghi trong tệp (xa hơn 100 m): {rows}.",
            "Location outside the village given in the file (by more than 100 m): {rows}.",
            hint_vi="Sửa tọa độ hoặc mã thôn; bỏ trống mã thôn để thôn được lấy theo vị trí.",
            hint_en="Fix the coordinates or the village code; leave the code empty to take it from the location.",
        ),
    ),
)


# --- records (server) -------------------------------------------------------------------

PERSONAL_COLUMNS = (
    "id", "code", "label", "village_code", "commune_code", "head_name", "phone", "has_fibre",
    "show_head_name", "show_phone", "qr_token", "lon", "lat",
)  # fmt: skip
VILLAGE_AT = (
    "SELECT code FROM village WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))"
)


def location(geometry: Any) -> tuple[float, float]:
    """(lon, lat) of a GeoJSON Point in Vietnam, or a clear error."""
    coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
    ok = (
        isinstance(geometry, dict) and geometry.get("type") == "Point"
        and isinstance(coords, list) and len(coords) >= 2
        and all(isinstance(c, int | float) for c in coords[:2])
    )  # fmt: skip
    minx, miny, maxx, maxy = VIETNAM_BOUNDS_WGS84
    if not ok or not (minx <= coords[0] <= maxx and miny <= coords[1] <= maxy):
        raise InvalidInput(
            "Vị trí hộ phải là một điểm GeoJSON (kinh độ, vĩ độ WGS84) trong Việt Nam.",
            "A household's location must be a GeoJSON Point (WGS84 lon, lat) in Vietnam.",
        )
    return float(coords[0]), float(coords[1])


async def village_at(conn: AsyncConnection, lon: float, lat: float) -> str:
    rows = await (await conn.execute(VILLAGE_AT, (lon, lat))).fetchall()
    if not rows:
        raise InvalidInput(
            f"Vị trí ({lat:.6f}, {lon:.6f}) không nằm trong thôn nào trên bản đồ.",
            f"The location ({lat:.6f}, {lon:.6f}) lies in no village on the map.",
            hint_vi="Kéo điểm vào trong ranh giới thôn của hộ.",
            hint_en="Move the point inside the household's village.",
        )
    return rows[0][0]


async def update(conn: AsyncConnection, hid: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change a household's attributes; the database checks the acting account's communes."""
    is_feature = "properties" in changes or "geometry" in changes
    props = dict(changes.get("properties") or {}) if is_feature else dict(changes)
    values = parse_changes(
        LAYER, props, not_null=frozenset({"label", "has_fibre", "show_head_name", "show_phone"})
    ) if props else {}  # fmt: skip
    geometry = changes.get("geometry") if is_feature else None
    if geometry is not None:  # a move: the village follows the point
        lon, lat = location(geometry)
        values["village_code"] = await village_at(conn, lon, lat)
        values["lon"], values["lat"] = lon, lat
    if not values:
        raise InvalidInput("Không có gì để sửa.", "Nothing to change.")
    extra = [SET_POINT] if geometry is not None else []
    columns = [k for k in values if k not in ("lon", "lat")]
    cur = await conn.execute(
        update_statement("household", columns, *extra, where=BY_ID), {**values, "id": hid}
    )
    if await cur.fetchone() is None:
        raise not_found(hid)
    return values


async def read_personal(conn: AsyncConnection, hid: int) -> dict[str, Any]:
    """A household with its personal data; the database checks the role and audits the read."""
    cur = await conn.execute("SELECT * FROM household_personal(%s)", (hid,))
    row = await cur.fetchone()
    if row is None:
        raise not_found(hid)
    return dict(zip(PERSONAL_COLUMNS, row, strict=True))


NEXT_CODE_LOCK = "SELECT pg_advisory_xact_lock(hashtext('household-code:' || %(v)s))"
NEXT_CODE = (
    "SELECT %(v)s || '-H' || lpad((coalesce(max(substring(code FROM '-H([0-9]{1,9})$')::int), 0)"
    " + 1)::text, 4, '0') FROM household WHERE village_code = %(v)s"
)


async def create(conn: AsyncConnection, feature: dict[str, Any]) -> int:
    """Add a household at a point; its village comes from the location."""
    props = dict(feature.get("properties") or {}) if isinstance(feature, dict) else {}
    lon, lat = location(feature.get("geometry") if isinstance(feature, dict) else None)
    village = await village_at(conn, lon, lat)
    given = props.pop("village_code", None)
    if given and given != village:
        raise InvalidInput(
            f"Vị trí nằm trong thôn {village}, không phải thôn {given}.",
            f"The location lies in village {village}, not {given}.",
            hint_vi="Kiểm tra lại vị trí trên bản đồ, hoặc bỏ trống mã thôn để tự điền.",
            hint_en="Check the location, or leave the village code out to have it filled in.",
        )
    code = parse_text(props.pop("code", None))
    values = parse_changes(LAYER, props, not_null=frozenset({"label"})) if props else {}
    if not values.get("label"):
        raise InvalidInput("Cần nhãn hiển thị của hộ (label).", "A household needs a label.")
    if code is None:
        # One allocation per village at a time (until the transaction ends): two officers
        # adding households at once got the same code (found by bench/soak.py); the next
        # number follows the highest one, so a deleted household's code is never reissued.
        await conn.execute(NEXT_CODE_LOCK, {"v": village})
        code = (await (await conn.execute(NEXT_CODE, {"v": village})).fetchone())[0]
    cols = ["code", "village_code", *values]
    params = {**values, "code": code, "village_code": village, "lon": lon, "lat": lat}
    # The province is named on insert: it chooses the partition (migration 0015).
    query = sql.SQL(
        "INSERT INTO household ({}, province_code, geom) VALUES ({}, "
        "commune_province(household_commune(%(village_code)s)), "
        "ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)) RETURNING id"
    ).format(
        sql.SQL(", ").join(map(sql.Identifier, cols)),
        sql.SQL(", ").join(map(sql.Placeholder, cols)),
    )
    try:
        row = await (await conn.execute(query, params)).fetchone()
    except UniqueViolation as exc:
        raise Conflict(f"Mã hộ {code} đã có.", f"Household code {code} already exists.") from exc
    return row[0]


def not_found(hid: int) -> NotFound:
    return NotFound(f"Không có hộ gia đình số {hid}.", f"No household with id {hid}.")


_OUTLINE = (
    "SELECT ST_AsGeoJSON(geom, 6), ST_Y(ST_Centroid(geom)), ST_X(ST_Centroid(geom)) FROM {} "
    "WHERE code = %s"
)


async def unit_outline(
    conn: AsyncConnection, *, village: str | None, commune: str
) -> tuple[str, float, float] | None:
    """The outline (GeoJSON) and centre (lat, lon) of a household's village, else its commune."""
    table, code = ("village", village) if village else ("commune", commune)
    query = sql.SQL(_OUTLINE).format(sql.Identifier(table))
    row = await (await conn.execute(query, (code,))).fetchone()
    return (row[0], row[1], row[2]) if row else None


# From the per-village coverage summary (migration 0013): 4G/5G of any operator, each operator
# and technology at its latest version valid today; no spatial join per request.
VILLAGE_STATS = """
WITH current_version AS (
    SELECT DISTINCT ON (operator, technology) id, technology
    FROM coverage_version WHERE valid_from <= current_date
    ORDER BY operator, technology, valid_from DESC, id DESC
),
broadband AS (
    SELECT c.id FROM coverage c JOIN current_version v ON v.id = c.version_id
    WHERE v.technology IN ('4G', '5G')
),
set_4g AS (
    SELECT s.id, EXISTS (SELECT 1 FROM unnest(s.coverage_ids) u(id) JOIN broadband b ON b.id = u.id)
           AS served
    FROM village_coverage_summary s
)
SELECT v.code, v.name, v.commune_code,
       coalesce(sum(s.households), 0)::int AS households,
       coalesce(sum(s.fibre_subscriptions), 0)::int AS with_fibre,
       coalesce(sum(s.households) FILTER (WHERE f.served), 0)::int AS with_4g
FROM village v
LEFT JOIN village_coverage_summary s ON s.village_code = v.code
LEFT JOIN set_4g f ON f.id = s.id
GROUP BY v.code ORDER BY v.code
"""


async def village_stats(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Households, fibre subscriptions and households inside today's 4G/5G coverage per
    village, with the shares; a village with no households has no share (None), and says so."""
    cur = await conn.execute(VILLAGE_STATS)
    keys = [d.name for d in cur.description]
    out = []
    for r in await cur.fetchall():
        row = dict(zip(keys, r, strict=True))
        n = row["households"]
        row["with_fibre_pct"] = percent(row["with_fibre"], n)
        row["with_4g_pct"] = percent(row["with_4g"], n)
        row["counted"] = n > 0
        out.append(row)
    return out


# --- officers' list of a village ------------------------------------------------------------

VILLAGES_SQL = """
SELECT v.code, v.name, c.code, c.name, count(h.id)
FROM village v JOIN commune c ON c.code = v.commune_code
LEFT JOIN household h ON h.village_code = v.code
WHERE %(communes)s::text[] IS NULL OR v.commune_code = ANY(%(communes)s::text[])
GROUP BY v.code, c.code ORDER BY c.name, v.code
"""
VILLAGE_SQL = (
    "SELECT v.code, v.name, c.code, c.name, "
    "(SELECT count(*) FROM household h WHERE h.village_code = v.code) "
    "FROM village v JOIN commune c ON c.code = v.commune_code WHERE v.code = %s"
)
VILLAGE_LIST_SQL = "SELECT * FROM household_personal_village(%s, %s, %s, %s)"
VILLAGE_KEYS = ("code", "name", "commune_code", "commune_name", "households")
LIST_KEYS = ("id", "code", "label", "head_name", "qr_token")


async def villages(conn: AsyncConnection, *, communes: list[str] | None) -> list[dict[str, Any]]:
    """Villages (thôn) with their commune and household count; ``communes`` None: all of them.
    No personal data."""
    rows = await (await conn.execute(VILLAGES_SQL, {"communes": communes})).fetchall()
    return [dict(zip(VILLAGE_KEYS, r, strict=True)) for r in rows]


async def village(conn: AsyncConnection, code: str) -> dict[str, Any]:
    row = await (await conn.execute(VILLAGE_SQL, (code,))).fetchone()
    if row is None:
        raise NotFound(
            f"Không có thôn mã {code}.",
            f"No village with code {code}.",
            hint_vi="Chọn thôn trong danh sách tại /maps/households.",
            hint_en="Choose a village from the list at /maps/households.",
        )
    return dict(zip(VILLAGE_KEYS, row, strict=True))


async def village_households(
    conn: AsyncConnection, *, village: str, search: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of a village's households with the head's name, and how many match ``search``
    (code, label or name, without diacritics). The database checks the acting account and
    audits a personal-data read for each household returned; run it inside ``acting``."""
    rows = await (
        await conn.execute(VILLAGE_LIST_SQL, (village, search or None, limit, offset))
    ).fetchall()
    total = rows[0][-1] if rows else 0
    return [dict(zip(LIST_KEYS, r[:-1], strict=True)) for r in rows], total
