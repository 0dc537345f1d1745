"""The web import (nhập dữ liệu trên trình duyệt): what an officer chose checked against their
communes, the preview (the file's columns and rows on a map, and ``import_file``'s dry run with
every row's problems), the import itself written as the signed-in account, and the undo of a
whole import. The same ``import_file`` as the command line: the same checks and refusals."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import shapely

from geo import codes, crs_source
from geo.errors import AgriMapError, InvalidInput, PermissionDenied
from geo.readers import ArchiveLimits, read_table, reproject

from ..accounts import SET_ACTING
from . import SPECS, import_file
from .history import import_communes, undo_import
from .modes import MODES
from .result import ImportRefused, ImportSummary, Progress
from .rows import find_columns
from .uploads import Upload, UploadStore

log = logging.getLogger(__name__)

# What an officer imports in the browser: the layers of their communes' own data.
WEB_LAYERS = ("villages", "households", "growing_areas")
MAP_LIMIT = 3_000  # rows drawn on the preview's map (all rows are checked)


@dataclass(frozen=True)
class Actor:
    """The signed-in account an import runs as."""

    user_id: int
    username: str
    role: str
    communes: tuple[str, ...] = ()

    @property
    def scope(self) -> tuple[str, ...] | None:
        """The communes it may import into (None: every commune)."""
        return None if self.role == "admin" else self.communes


@dataclass
class Choice:
    """What the officer chose for a file: layer, mode, commune, CRS, encoding, the columns they
    mapped ({field: column}; "" leaves a field unread) and whether refused rows are skipped."""

    layer: str = "households"
    mode: str | None = None
    commune: str | None = None
    crs: str | None = None
    encoding: str | None = None
    skip_invalid: bool = False
    mapping: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Choice:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


def check_choice(choice: Choice, actor: Actor) -> None:
    """Refuse, before any file is read, a layer or mode that does not exist, or a commune the
    account may not import into."""
    if choice.layer not in WEB_LAYERS:
        raise InvalidInput(
            f"Không nhập được lớp '{choice.layer}' trên trình duyệt.",
            f"Layer '{choice.layer}' cannot be imported in the browser.",
            hint_vi="Chọn thôn, hộ gia đình hoặc vùng trồng.",
            hint_en="Choose villages, households or growing areas.",
        )
    if choice.mode is not None and choice.mode not in MODES:
        raise InvalidInput(
            f"Không có chế độ nhập '{choice.mode}'.",
            f"No import mode '{choice.mode}'.",
            hint_vi="Chọn: " + ", ".join(MODES) + ".",
            hint_en="Choose: " + ", ".join(MODES) + ".",
        )
    scope = actor.scope
    if scope is not None:
        if not scope:
            raise PermissionDenied(
                "Tài khoản này chưa được giao xã nào nên không nhập được dữ liệu.",
                "This account has no commune, so it cannot import.",
                hint_vi="Nhờ quản trị viên giao xã cho tài khoản.",
                hint_en="Ask an administrator to give the account its communes.",
            )
        if choice.commune is not None and choice.commune not in scope:
            raise PermissionDenied(
                f"Tài khoản {actor.username} không được nhập dữ liệu vào xã {choice.commune}: "
                f"chỉ được nhập vào xã {', '.join(scope)}.",
                f"Account {actor.username} may not import into commune {choice.commune}: "
                f"only into {', '.join(scope)}.",
                hint_vi="Chọn một xã của tài khoản, hoặc để trống để xếp theo vị trí.",
                hint_en="Choose one of the account's communes, or leave it empty to place rows "
                "by their location.",
            )


def _options(
    choice: Choice, actor: Actor, layouts: tuple[codes.CodeLayout, ...], limits: ArchiveLimits
) -> dict[str, Any]:
    return {
        "layer": choice.layer, "crs": choice.crs, "encoding": choice.encoding,
        "skip_invalid": choice.skip_invalid, "user": actor.username, "mapping": choice.mapping,
        "commune": choice.commune, "mode": choice.mode, "layouts": layouts,
        "actor_id": actor.user_id, "scope": actor.scope, "archive_limits": limits,
    }  # fmt: skip


# --- preview ------------------------------------------------------------------------------


@dataclass
class FieldChoice:
    """One field of the layer in the mapping form: which column feeds it, and which would
    without the officer's mapping."""

    name: str
    title_vi: str
    title_en: str
    required: bool
    column: str | None
    detected: str | None


@dataclass
class Preview:
    """What importing the file would do, nothing written. ``error`` is a refusal of the whole
    file (a missing column, rows already stored …); ``summary`` holds every row's problems."""

    summary: ImportSummary | None = None
    error: AgriMapError | None = None
    columns: list[str] = field(default_factory=list)
    fields: list[FieldChoice] = field(default_factory=list)
    features: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0
    crs_note_vi: str = ""
    crs_note_en: str = ""

    @property
    def refused_rows(self) -> set[int]:
        return {r for r, _ in self.summary.rejected} if self.summary else set()

    @property
    def ready(self) -> bool:
        """Nothing stops the import (refused rows may still be skipped, if chosen)."""
        return self.error is None and self.summary is not None


def _features(geoms: np.ndarray, limit: int) -> list[dict[str, Any]]:
    out = []
    for i, g in enumerate(geoms[:limit]):
        if g is None or g.is_empty:
            continue
        geometry = shapely.geometry.mapping(shapely.set_precision(g, 1e-6))
        out.append({"type": "Feature", "id": i + 1, "geometry": geometry,
                    "properties": {"row": i + 1}})  # fmt: skip
    return out


def preview(
    conn: psycopg.Connection,
    path: Path,
    choice: Choice,
    actor: Actor,
    *,
    layouts: tuple[codes.CodeLayout, ...] = (codes.ISSUE_LAYOUT, codes.DEFAULT_LAYOUT),
    archive_limits: ArchiveLimits = ArchiveLimits(),
    map_limit: int = MAP_LIMIT,
) -> Preview:
    """Read the file (its columns, its rows in WGS84 for the map) and run the import as a dry
    run as ``actor``: every check, the write, then a rollback."""
    check_choice(choice, actor)
    spec = SPECS[choice.layer]
    out = Preview()
    try:
        table = read_table(path, archive_limits=archive_limits)
        out.rows = len(table.frame)
        out.columns = [str(c) for c in table.frame.columns]
        detected = find_columns(spec, out.columns)
        try:
            chosen = find_columns(spec, out.columns, choice.mapping)
        except InvalidInput:
            chosen = detected  # the dry run below says what is wrong with the mapping
        out.fields = [
            FieldChoice(f.name, f.title_vi, f.title_en, f.required, chosen[f.name],
                        detected[f.name])
            for f in spec.fields
        ]  # fmt: skip
        geoms, _, _ = reproject(table, choice.crs)
        present = [g for g in table.geometry if g is not None and not g.is_empty]
        if present:
            bounds = tuple(float(v) for v in shapely.total_bounds(np.array(present)))
            resolved = crs_source.resolve_source_crs(
                option=choice.crs, file_crs=table.crs, bounds=bounds
            )
            out.crs_note_vi, out.crs_note_en = resolved.note_vi, resolved.note_en
        out.features = _features(geoms, map_limit)
        # The table read above (a large file is read once), decoded by the import in place.
        out.summary = import_file(
            conn, path, **_options(choice, actor, layouts, archive_limits), dry_run=True,
            table=table,
        )  # fmt: skip
    except ImportRefused as refused:
        out.summary = refused.summary
    except AgriMapError as exc:
        out.error = exc
    return out


# --- the import and its undo ------------------------------------------------------------------


def run(
    conn: psycopg.Connection,
    path: Path,
    choice: Choice,
    actor: Actor,
    *,
    layouts: tuple[codes.CodeLayout, ...] = (codes.ISSUE_LAYOUT, codes.DEFAULT_LAYOUT),
    archive_limits: ArchiveLimits = ArchiveLimits(),
    progress: Progress | None = None,
) -> ImportSummary:
    """Import the file as ``actor``, whole or not at all (ImportRefused, Conflict …)."""
    check_choice(choice, actor)
    return import_file(
        conn, path, **_options(choice, actor, layouts, archive_limits), progress=progress
    )


def may_undo(conn: psycopg.Connection, batch_id: int, actor: Actor) -> None:
    """An officer undoes only imports whose every row lies in their communes."""
    communes = import_communes(conn, batch_id)
    scope = actor.scope
    if scope is None:
        return
    outside = sorted(set(communes or ()) - set(scope))
    if not communes or outside:
        where_vi = f"xã {', '.join(outside)}" if outside else "xã chưa xác định"
        where_en = f"commune {', '.join(outside)}" if outside else "an unknown commune"
        raise PermissionDenied(
            f"Lần nhập số {batch_id} có dữ liệu của {where_vi}, ngoài các xã của tài khoản "
            f"{actor.username}: không hoàn tác được.",
            f"Import {batch_id} holds data of {where_en}, outside account {actor.username}'s "
            "communes: it cannot be undone from here.",
            hint_vi="Nhờ quản trị viên hoàn tác lần nhập này.",
            hint_en="Ask an administrator to undo this import.",
        )


def undo(conn: psycopg.Connection, batch_id: int, actor: Actor) -> int:
    """Undo a whole import as ``actor`` (its communes checked here and by the database's scope
    triggers); returns how many rows were removed."""
    may_undo(conn, batch_id, actor)
    with conn.transaction():
        conn.execute(SET_ACTING, (str(actor.user_id), actor.username))
        return undo_import(conn, batch_id, user=actor.username)


async def commune_choices(
    conn: psycopg.AsyncConnection, scope: tuple[str, ...] | None
) -> dict[str, str]:
    """The communes the form offers (code: name): the account's, or every stored one."""
    cur = await conn.execute(
        "SELECT code, name FROM commune WHERE %(scope)s::text[] IS NULL OR code = ANY(%(scope)s) "
        "ORDER BY name, code",
        {"scope": None if scope is None else list(scope)},
    )
    return dict(await cur.fetchall())


# --- the confirmed import, in the background ---------------------------------------------------

SHOWN_PROBLEMS = 200  # refused rows kept with a job's result


def summary_result(summary: ImportSummary) -> dict[str, Any]:
    """What the pages show of a finished (or refused) import, as JSON."""
    shown = summary.rejected[:SHOWN_PROBLEMS]
    return {
        "layer": summary.layer, "source": summary.source, "read": summary.features_read,
        "imported": summary.imported, "updated": summary.updated, "unchanged": summary.unchanged,
        "removed": summary.removed, "batch": summary.batch_id, "mode": summary.mode,
        "rejected": shown, "refused": len(summary.rejected),
        "reasons": {str(r): summary.reasons.get(r, []) for r, _ in shown},
    }  # fmt: skip


def error_result(exc: AgriMapError) -> dict[str, Any]:
    return {"vi": exc.vi, "en": exc.en, "hint_vi": exc.hint_vi, "hint_en": exc.hint_en,
            "details": exc.details[:SHOWN_PROBLEMS]}  # fmt: skip


def run_job(
    connect: Callable[[], psycopg.Connection],
    store: UploadStore,
    upload: Upload,
    actor: Actor,
    *,
    layouts: tuple[codes.CodeLayout, ...] = (codes.ISSUE_LAYOUT, codes.DEFAULT_LAYOUT),
    archive_limits: ArchiveLimits = ArchiveLimits(),
) -> None:
    """The confirmed import of ``upload`` (in a worker thread): its stage and rows go to the
    upload's job file as it runs (at most four times a second), then its result or why it
    was refused. Nothing is raised: the page reads the job file."""
    choice = Choice.from_dict(upload.options)
    state: dict[str, Any] = {"state": "running", "stage": "read", "done": 0, "total": 0,
                             "started": time.time()}  # fmt: skip
    last = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if stage != state["stage"] or now - last[0] >= 0.25 or done >= total:
            state.update(stage=stage, done=done, total=total)
            store.write_job(upload, state)
            last[0] = now

    try:
        with connect() as conn:
            summary = run(
                conn, upload.file, choice, actor, layouts=layouts, archive_limits=archive_limits,
                progress=progress,
            )  # fmt: skip
    except ImportRefused as exc:
        result = summary_result(exc.summary)
        store.write_job(upload, {**state, "state": "failed", "error": error_result(exc),
                                 "result": result})  # fmt: skip
    except AgriMapError as exc:
        store.write_job(upload, {**state, "state": "failed", "error": error_result(exc)})
    except psycopg.errors.InsufficientPrivilege as exc:  # the database's own scope checks
        err = PermissionDenied(exc.diag.message_primary or str(exc), exc.diag.message_detail or "")
        store.write_job(upload, {**state, "state": "failed", "error": error_result(err)})
    except Exception:
        log.exception("web import %s failed", upload.token)
        err = AgriMapError(
            "Lỗi máy chủ khi nhập tệp; cơ sở dữ liệu không thay đổi.",
            "A server error stopped the import; the database is unchanged.",
        )
        store.write_job(upload, {**state, "state": "failed", "error": error_result(err)})
    else:
        store.write_job(upload, {**state, "state": "done", "stage": "done",
                                 "result": summary_result(summary), "finished": time.time()})  # fmt: skip
        store.drop_file(upload)
