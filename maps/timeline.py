"""A growing area's history as a timeline (dòng thời gian): each version's action named
(registered, details changed, boundary redrawn, suspended, reinstated, revoked) with what
changed. Pure: it reads the registry's versions (``layers.registry.history``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .formats import date, number, status

STATUS_ACTION = {
    ("active", "suspended"): "suspend",
    ("suspended", "active"): "reinstate",
    ("active", "revoked"): "revoke",
    ("suspended", "revoked"): "revoke",
}
# Fields a change lists (in this order); status, area and boundary are told on their own.
SHOWN = ("crop", "cooperative", "member_households", "issued_on", "note", "code")
KNOWN_ACTIONS = {"suspend", "reinstate", "revoke", "redraw", "import", "insert", "delete"}


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class TimelineEntry:
    version: int
    action: str  # insert, update, redraw, suspend, reinstate, revoke, delete, import
    at: str
    by: str | None
    changes: list[Change] = field(default_factory=list)
    area_before: str | None = None
    area_after: str | None = None
    boundary_changed: bool = False
    reason: str | None = None
    on: str | None = None


def _shown(key: str, value: Any, lang: str) -> str:
    if value is None or value == "":
        return "—"
    if key == "issued_on":
        return date(value, lang)
    if key == "member_households":
        return number(value, 0, lang)
    if key == "status":
        return status(value, lang)
    return str(value)


def _action(operation: str, before: dict | None, after: dict, geometry_changed: bool) -> str:
    """The action a version records, or, for a plain update, the one its changes show."""
    if operation in KNOWN_ACTIONS - {"insert"}:
        return operation
    if before is None:
        return "insert"
    moved = STATUS_ACTION.get((before.get("status"), after.get("status")))
    if moved:
        return moved
    return "redraw" if geometry_changed else "update"


def timeline(
    versions: list[dict[str, Any]], *, labels: dict[str, str], lang: str = "vi"
) -> list[TimelineEntry]:
    """Newest first. ``labels`` names the fields in the reader's language.

    >>> v1 = {"version": 1, "operation": "insert", "changed_at": "2026-12-01T08:00:00+07:00",
    ...       "properties": {"status": "active", "crop": "Chè", "area_ha": 1.5},
    ...       "geometry": {"type": "Point", "coordinates": [0, 0]}}
    >>> v2 = {**v1, "version": 2, "operation": "update",
    ...       "properties": {"status": "suspended", "crop": "Chè", "area_ha": 1.5,
    ...                      "status_reason": "sâu bệnh"}}
    >>> [(e.version, e.action, e.reason) for e in timeline([v1, v2], labels={})]
    [(2, 'suspend', 'sâu bệnh'), (1, 'insert', None)]
    >>> timeline([], labels={})
    []
    """
    entries = []
    before: dict | None = None
    before_geom = None
    for v in versions:
        props = v.get("properties") or {}
        geom = v.get("geometry")
        moved = before is not None and geom != before_geom
        action = _action(v.get("operation", "update"), before, props, moved)
        changes = []
        area_before = area_after = None
        if before is not None:
            changes = [
                Change(
                    labels.get(k, k), _shown(k, before.get(k), lang), _shown(k, props.get(k), lang)
                )
                for k in SHOWN
                if (before.get(k) or None) != (props.get(k) or None)
            ]
            if before.get("area_ha") != props.get("area_ha"):
                area_before = number(before.get("area_ha"), 4, lang)
                area_after = number(props.get("area_ha"), 4, lang)
        status_action = action in ("suspend", "reinstate", "revoke")
        entries.append(
            TimelineEntry(
                version=v.get("version", 0),
                action=action,
                at=date(v.get("changed_at"), lang),
                by=v.get("changed_by"),
                changes=changes,
                area_before=area_before,
                area_after=area_after,
                boundary_changed=moved,
                reason=props.get("status_reason") if status_action else None,
                on=date(props.get("status_changed_on"), lang)
                if status_action and props.get("status_changed_on")
                else None,
            )
        )
        before, before_geom = props, geom
    return entries[::-1]
