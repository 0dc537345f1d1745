"""The one way a partial UPDATE is written: the columns to set come from a layer's schema (or
the module's own constants), values are always bound parameters."""

from __future__ import annotations

from collections.abc import Iterable

from psycopg import sql


def assignments(columns: Iterable[str], *extra: sql.Composable) -> sql.Composed:
    """``"a" = %(a)s, "b" = %(b)s`` for ``columns``, then any ``extra`` assignments."""
    parts: list[sql.Composable] = [
        sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder(c)) for c in columns
    ]
    return sql.SQL(", ").join([*parts, *extra])


def update_statement(
    table: str, columns: Iterable[str], *extra: sql.Composable, where: sql.Composable
) -> sql.Composed:
    """``UPDATE table SET <assignments> WHERE <where> RETURNING id``."""
    return sql.SQL("UPDATE {} SET {} WHERE {} RETURNING id").format(
        sql.Identifier(table), assignments(columns, *extra), where
    )


SET_POINT = sql.SQL("geom = ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)")
SET_POLYGON = sql.SQL("geom = ST_GeomFromText(%(wkt)s, 4326)")
BY_ID = sql.SQL("id = %(id)s")
BY_ID_AND_VERSION = sql.SQL("id = %(id)s AND version = %(version)s")
