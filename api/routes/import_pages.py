"""The web import pages for officers (their communes) and admins: upload a file, preview what it
would do (and change the column mapping), confirm, watch the progress, and the import history
with undo. The file stays on the server between the steps (layers/ingest/uploads.py); every
piece of file and database work runs in a worker thread, the import itself in the background."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import psycopg
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from agrimap.settings import Settings
from geo.boundary import upload_name
from geo.errors import Conflict, InvalidInput, NotFound
from layers import accounts, admin
from layers.ingest import SPECS, ImportSummary
from layers.ingest import web_import as web
from layers.ingest.history import UNDOABLE, list_imports
from layers.ingest.modes import MODES
from layers.ingest.uploads import Upload, UploadStore
from layers.offload import in_worker
from maps import import_text as text
from maps.formats import number

from ..auth import PageUserDep, Principal, ensure_role, require
from ..chrome import HeaderDep
from ..deps import ConnDep
from ..html import render
from ..lang import request_lang
from ..limits import StrictJsonRoute
from ..state import app_state

log = logging.getLogger(__name__)
router = APIRouter(tags=["Nhập dữ liệu / imports"], route_class=StrictJsonRoute)
Writers = require("admin", "officer")
BASE = "/maps/imports"
HISTORY = BASE + "/history"
SUFFIXES = (".zip", ".gpkg", ".geojson", ".json", ".xlsx", ".csv", ".kml", ".kmz")
ENCODINGS = ("utf-8", "cp1258", "tcvn3", "vni")
SHOWN_PROBLEMS = web.SHOWN_PROBLEMS
HISTORY_PAGE = 50
T = TypeVar("T")
# The imports running in the background in this process (a task is kept until it ends).
_RUNNING: set[asyncio.Task] = set()


def _store(request: Request) -> UploadStore:
    settings = app_state(request.app).settings
    return UploadStore(settings.data_dir / "imports")


def _actor(who: Principal) -> web.Actor:
    assert who.id is not None
    return web.Actor(who.id, who.username, who.role, tuple(who.communes))


def _connect(settings: Settings) -> psycopg.Connection:
    """A connection of the worker thread's own (the import code is synchronous)."""
    kwargs: dict[str, Any] = {
        "autocommit": True,
        "connect_timeout": max(1, round(settings.pool_timeout)),
    }
    if settings.pgbouncer:
        kwargs["prepare_threshold"] = None
    return psycopg.connect(settings.database_url, **kwargs)


def _with_db(settings: Settings, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with _connect(settings) as conn:
        return fn(conn, *args, **kwargs)


async def _in_db(settings: Settings, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await in_worker(_with_db, settings, fn, *args, **kwargs)


def _blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _choice_from_form(
    layer: str, mode: str, commune: str, crs: str, encoding: str, skip_invalid: str
) -> web.Choice:
    return web.Choice(
        layer=layer.strip(), mode=None if mode in ("", "refuse") else mode.strip(),
        commune=_blank(commune), crs=_blank(crs), encoding=_blank(encoding),
        skip_invalid=skip_invalid in ("1", "on", "true"),
    )  # fmt: skip


async def _upload_page(
    request: Request, conn, who: Principal, header: str, *, error: str = "", status: int = 200
) -> HTMLResponse:
    lang = request_lang(request)
    scope = _actor(who).scope
    communes = await web.commune_choices(conn, scope)
    settings = app_state(request.app).settings
    html = render(
        "import_upload.html", lang=lang, t=text.STRINGS[lang], header_html=header,
        csrf=who.csrf or "", layers=[(n, text.LAYER_NAMES[lang][n]) for n in web.WEB_LAYERS],
        modes=[(m, text.MODE_NAMES[lang][m]) for m in ("refuse", *MODES)],
        communes=communes, encodings=[(e, text.encoding_name(e, lang)) for e in ENCODINGS],
        officer=scope is not None, max_size=f"{settings.max_upload_bytes / 1024 / 1024:.0f} MB",
        error=error, accept=",".join(SUFFIXES),
    )  # fmt: skip
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "private, no-store"})


@router.get(BASE, response_class=HTMLResponse, summary="Import page: upload a file")
async def import_page(
    request: Request, conn: ConnDep, who: PageUserDep, header: HeaderDep
) -> HTMLResponse:
    ensure_role(who, ("admin", "officer"))
    return await _upload_page(request, conn, who, header)


@router.post(BASE, response_class=HTMLResponse, summary="Upload a file to preview its import")
async def import_upload(
    request: Request,
    conn: ConnDep,
    header: HeaderDep,
    file: UploadFile = File(..., description="Shapefile .zip, GeoPackage, GeoJSON, .xlsx, .csv"),
    layer: str = Form("households", max_length=40),
    mode: str = Form("", max_length=20),
    commune: str = Form("", max_length=10),
    crs: str = Form("", max_length=80),
    encoding: str = Form("", max_length=20),
    skip_invalid: str = Form("", max_length=5),
    who: Principal = Writers,
) -> Response:
    # The body limit (AGRIMAP_MAX_UPLOAD_BYTES) was enforced as it streamed in.
    choice = _choice_from_form(layer, mode, commune, crs, encoding, skip_invalid)
    try:
        web.check_choice(choice, _actor(who))
        name = upload_name(file.filename)
        if not name.lower().endswith(SUFFIXES):
            raise InvalidInput(
                f"Không nhập được tệp {name}: chỉ nhận {', '.join(SUFFIXES)}.",
                f"Cannot import {name}: only {', '.join(SUFFIXES)} files are taken.",
                hint_vi="Shapefile: nén chung .shp, .shx, .dbf, .prj thành một tệp .zip.",
                hint_en="Shapefile: zip .shp, .shx, .dbf and .prj together.",
            )
    except InvalidInput as exc:  # a mistake in the form is shown in the form
        return await _upload_page(
            request, conn, who, header, error=exc.message(request_lang(request)), status=400
        )
    store = _store(request)
    upload = await in_worker(store.create, file.file, name, user_id=who.id, options=vars(choice))
    return RedirectResponse(f"{BASE}/{upload.token}", status_code=303)


# --- history (before /{token}: "history" is not an upload) ----------------------------------


def _history_rows(conn: psycopg.Connection, actor: web.Actor, before: int | None) -> list[dict]:
    scope = actor.scope
    return list_imports(
        conn, limit=HISTORY_PAGE + 1, communes=scope, user_id=actor.user_id if scope else None,
        before=before,
    )  # fmt: skip


async def _history_page(
    request: Request,
    conn,
    who: Principal,
    header: str,
    *,
    before: int | None = None,
    message: str = "",
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    lang = request_lang(request)
    actor = _actor(who)
    settings = app_state(request.app).settings
    rows = await _in_db(settings, _history_rows, actor, before)
    older = rows[HISTORY_PAGE - 1]["id"] if len(rows) > HISTORY_PAGE else None
    rows = rows[:HISTORY_PAGE]
    codes = sorted({c for r in rows for c in (r["communes"] or ())})
    names = await admin.commune_names(conn, codes)
    everyone = await accounts.list_users(conn)
    people = {a.id: a.display_name for a in everyone}
    by_name = {a.username: a.display_name for a in everyone}
    scope = set(actor.scope) if actor.scope is not None else None
    for r in rows:
        r["commune_names"] = [names.get(c, c) for c in (r["communes"] or ())]
        r["may_undo"] = (
            r["undone_at"] is None and r["layer"] in UNDOABLE and not r["features_updated"]
            and not r["features_removed"] and r["features_imported"] > 0
            and (scope is None or (bool(r["communes"]) and set(r["communes"]) <= scope))
        )  # fmt: skip
        r["by_cli"] = r["imported_by"].startswith("cli:")
        r["display_name"] = people.get(r["imported_by_id"])
        r["undone_name"] = by_name.get(r["undone_by"] or "", r["undone_by"])
    html = render(
        "import_history.html", lang=lang, t=text.STRINGS[lang], header_html=header, rows=rows,
        csrf=who.csrf or "", layer_names=text.LAYER_NAMES[lang], mode_names=text.MODE_NAMES[lang],
        older_url=f"{HISTORY}?before={older}" if older else None, message=message, error=error,
    )  # fmt: skip
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "private, no-store"})


@router.get(HISTORY, response_class=HTMLResponse, summary="Import history page")
async def history_page(
    request: Request,
    conn: ConnDep,
    who: PageUserDep,
    header: HeaderDep,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    undone: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    removed: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> HTMLResponse:
    ensure_role(who, ("admin", "officer"))
    lang = request_lang(request)
    message = (
        text.STRINGS[lang]["undoneOk"].format(batch=undone, n=number(removed, 0, lang))
        if undone
        else ""
    )
    return await _history_page(request, conn, who, header, before=before, message=message)


@router.post(HISTORY + "/{batch}/undo", response_class=HTMLResponse, summary="Undo an import")
async def history_undo(
    batch: int, request: Request, conn: ConnDep, header: HeaderDep, who: Principal = Writers
) -> Response:
    settings = app_state(request.app).settings
    try:
        removed = await _in_db(settings, web.undo, batch, _actor(who))
    except Conflict as exc:  # something depends on the import: said on the history page
        return await _history_page(
            request, conn, who, header, error=exc.message(request_lang(request)), status=409
        )
    return RedirectResponse(f"{HISTORY}?undone={batch}&removed={removed}", status_code=303)


# --- one upload: preview, choices, confirm, progress -----------------------------------------


def _upload(request: Request, who: Principal, token: str) -> Upload:
    ensure_role(who, ("admin", "officer"))
    assert who.id is not None
    return _store(request).get(token, user_id=who.id)


def _summary_facts(summary: ImportSummary, lang: str) -> dict[str, Any]:
    return {
        "encoding": text.encoding_name(summary.encoding, lang),
        "encoding_note": text.note_text(summary.encoding_note, lang),
        "coordinates": text.note_text(summary.coordinates_note, lang),
        "place": text.note_text(summary.place_note, lang),
        "warnings": [text.pair_text(w, lang) for w in summary.warnings],
        "problems": text.row_reasons(summary.rejected, summary.reasons, lang),
    }


@router.get(BASE + "/{token}", response_class=HTMLResponse, summary="Import preview or progress")
async def upload_page(
    token: str, request: Request, conn: ConnDep, who: PageUserDep, header: HeaderDep
) -> HTMLResponse:
    upload = _upload(request, who, token)
    store = _store(request)
    lang = request_lang(request)
    t = text.STRINGS[lang]
    # A few hundred bytes read on the loop: the worker threads may all be busy importing.
    job = store.read_job(upload)
    if job is not None:
        return _progress_page(request, upload, job, who, header)
    settings = app_state(request.app).settings
    choice = web.Choice.from_dict(upload.options)
    communes = await web.commune_choices(conn, _actor(who).scope)
    found = await _in_db(
        settings, web.preview, upload.file, choice, _actor(who),
        layouts=settings.code_layouts(), archive_limits=settings.archive_limits(),
    )  # fmt: skip
    summary = found.summary
    refused = len(summary.rejected) if summary else 0
    would = summary.imported if summary else 0
    if summary is not None and refused and not choice.skip_invalid:
        # A refused dry run stops before the write: count what would land without the
        # refused rows (rows already stored are counted by the mode when it runs).
        would = max(found.rows - refused, 0)
    html = render(
        "import_preview.html", lang=lang, t=t, header_html=header, upload=upload, choice=choice,
        found=found, summary=summary, facts=_summary_facts(summary, lang) if summary else None,
        error=found.error.message(lang) if found.error else "",
        error_details=found.error.details[:SHOWN_PROBLEMS] if found.error else [],
        crs_note=text.crs_note_vi(found.crs_note_vi) if lang == "vi" else found.crs_note_en,
        layer_name=text.LAYER_NAMES[lang][choice.layer],
        mode_name=text.MODE_NAMES[lang][choice.mode or "refuse"],
        layers=[(n, text.LAYER_NAMES[lang][n]) for n in web.WEB_LAYERS],
        modes=[(m, text.MODE_NAMES[lang][m]) for m in ("refuse", *MODES)],
        encodings=[(e, text.encoding_name(e, lang)) for e in ENCODINGS],
        communes=communes, csrf=who.csrf or "", refused=refused,
        would=would, shown_problems=SHOWN_PROBLEMS,
        can_confirm=found.ready and (refused == 0 or choice.skip_invalid) and would > 0,
        features={"type": "FeatureCollection", "features": found.features},
        refused_rows=sorted(found.refused_rows),
    )  # fmt: skip
    return HTMLResponse(html, headers={"Cache-Control": "private, no-store"})


@router.post(BASE + "/{token}", response_class=HTMLResponse, summary="Change an upload's choices")
async def upload_choices(token: str, request: Request, who: Principal = Writers) -> Response:
    upload = _upload(request, who, token)
    store = _store(request)
    form = await request.form()
    if form.get("again"):
        await in_worker(store.clear_job, upload)
        return RedirectResponse(f"{BASE}/{token}", status_code=303)
    choice = web.Choice.from_dict(upload.options)
    fields = {f.name for f in SPECS[choice.layer].fields}
    mapping: dict[str, str] = {}
    for key, value in form.multi_items():
        if key.startswith("map:") and key[4:] in fields and isinstance(value, str):
            if len(value) > 200:
                raise InvalidInput("Tên cột quá dài.", "The column name is too long.")
            if value != "__auto__":
                mapping[key[4:]] = "" if value == "__none__" else value
    new = _choice_from_form(
        choice.layer, str(form.get("mode", "") or ""), str(form.get("commune", "") or ""),
        str(form.get("crs", "") or ""), str(form.get("encoding", "") or ""),
        str(form.get("skip_invalid", "") or ""),
    )  # fmt: skip
    new.mapping = mapping
    web.check_choice(new, _actor(who))
    upload.options = vars(new)
    await in_worker(store.save, upload)
    return RedirectResponse(f"{BASE}/{token}", status_code=303)


@router.post(BASE + "/{token}/confirm", response_class=HTMLResponse, summary="Confirm an import")
async def upload_confirm(token: str, request: Request, who: Principal = Writers) -> Response:
    upload = _upload(request, who, token)
    store = _store(request)
    if not upload.has_file:
        raise NotFound("Tệp đã được nhập rồi.", "The file was imported already.")
    # One import per upload, even when the button is pressed twice.
    if await in_worker(store.claim, upload):
        settings = app_state(request.app).settings
        task = asyncio.create_task(
            in_worker(
                web.run_job,
                functools.partial(_connect, settings),
                store,
                upload,
                _actor(who),
                layouts=settings.code_layouts(),
                archive_limits=settings.archive_limits(),
            )
        )
        _RUNNING.add(task)
        task.add_done_callback(_RUNNING.discard)
    return RedirectResponse(f"{BASE}/{token}", status_code=303)


# Each stage's share of the bar: reading, checking rows, copying, placing, writing.
_STAGES = (("queued", 0, 0), ("read", 0, 10), ("check", 10, 30), ("write", 30, 50),
           ("place", 50, 75), ("insert", 75, 99), ("done", 100, 100))  # fmt: skip


def _percent(job: dict[str, Any]) -> int:
    if job.get("state") == "done":
        return 100
    for stage, start, end in _STAGES:
        if stage == job.get("stage"):
            total = job.get("total") or 0
            share = min(job.get("done", 0) / total, 1.0) if total else 0.0
            return int(start + (end - start) * share)
    return 0


def _job_view(job: dict[str, Any], lang: str) -> dict[str, Any]:
    stage = job.get("stage", "queued") if job.get("state") == "running" else job.get("state")
    out = {
        "state": job.get("state"), "stage": job.get("stage"),
        "stage_name": text.STAGE_NAMES[lang].get(stage or "queued", stage or ""),
        "done": job.get("done", 0), "total": job.get("total", 0), "percent": _percent(job),
    }  # fmt: skip
    if job.get("stage") in ("check", "write") and job.get("total"):
        out["rows"] = text.STRINGS[lang]["progressRows"].format(
            done=number(job["done"], 0, lang), total=number(job["total"], 0, lang)
        )
    return out


def _progress_page(
    request: Request, upload: Upload, job: dict[str, Any], who: Principal, header: str
) -> HTMLResponse:
    lang = request_lang(request)
    result = job.get("result")
    problems = (
        text.row_reasons(result["rejected"], result.get("reasons", {}), lang) if result else []
    )
    error = job.get("error")
    html = render(
        "import_progress.html", lang=lang, t=text.STRINGS[lang], header_html=header,
        upload=upload, job=job, view=_job_view(job, lang), result=result, problems=problems,
        error=(f"{error[lang]} {error['hint_' + lang]}".strip() if error else ""),
        error_details=error.get("details", []) if error else [],
        layer_name=text.LAYER_NAMES[lang].get(upload.options.get("layer", ""), ""),
        csrf=who.csrf or "", status_url=f"{BASE}/{upload.token}/progress",
        counts=text.done_counts(result, lang) if result else "",
    )  # fmt: skip
    return HTMLResponse(html, headers={"Cache-Control": "private, no-store"})


@router.get(BASE + "/{token}/progress", summary="An import's progress (JSON)")
async def upload_progress(token: str, request: Request, who: PageUserDep) -> JSONResponse:
    upload = _upload(request, who, token)
    job = _store(request).read_job(upload)  # on the loop: see upload_page
    if job is None:
        raise NotFound("Lần nhập này chưa được xác nhận.", "This import was not confirmed yet.")
    return JSONResponse(
        _job_view(job, request_lang(request)), headers={"Cache-Control": "no-store"}
    )
