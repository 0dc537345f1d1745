"""Map domain errors to HTTP statuses, with messages in the reader's language, in one place for
the API and the pages: an API request gets the JSON body, a page (``/maps/…``) the Vietnamese
error page, a page whose reader is not signed in the sign-in page (which brings them back)."""

from __future__ import annotations

import logging
from urllib.parse import quote

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from psycopg_pool import PoolTimeout

from geo.errors import (
    AgriMapError,
    Conflict,
    InvalidInput,
    NotFound,
    NotSignedIn,
    PermissionDenied,
    RateLimited,
    StoredFileMissing,
    TooLarge,
    Unavailable,
)
from layers.registry_checks import PreconditionRequired

from .html import render
from .lang import request_lang

log = logging.getLogger(__name__)
PAGE_PREFIX = "/maps/"
PAGE_TITLES = {
    400: "Dữ liệu chưa hợp lệ", 403: "Không có quyền", 404: "Không tìm thấy",
    409: "Không thực hiện được", 413: "Dữ liệu quá lớn", 428: "Cần tải lại trang",
    503: "Hệ thống đang bận, vui lòng thử lại sau ít phút",
}  # fmt: skip
PAGE_TITLES_EN = {
    400: "Invalid input", 403: "Not allowed", 404: "Not found", 409: "Cannot be done",
    413: "Too large", 428: "Reload the page", 503: "Busy: try again in a few minutes",
}  # fmt: skip

STATUS: dict[type[AgriMapError], int] = {
    PreconditionRequired: 428,
    TooLarge: 413,
    Unavailable: 503,
    StoredFileMissing: 503,
    InvalidInput: 400,
    NotFound: 404,
    Conflict: 409,
    NotSignedIn: 401,
    PermissionDenied: 403,
    RateLimited: 429,
}


def status_for(exc: AgriMapError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_body(exc: AgriMapError, lang: str) -> dict:
    return {
        "code": type(exc).__name__,
        "description": exc.message(lang),
        "description_en": exc.message("en"),
        "details": exc.details,
    }


def is_page(request: Request) -> bool:
    """A request for an HTML page a person reads (the pages live under /maps/)."""
    return request.url.path.startswith(PAGE_PREFIX)


def error_page(request: Request, status: int, exc: AgriMapError | str) -> HTMLResponse:
    """The error page of a page request, in the reader's language, under the page header."""
    lang = request_lang(request)
    # The page header comes from api.chrome (which needs auth, which needs these errors):
    # create_app hands it over as app.state.error_header.
    header = getattr(request.app.state, "error_header", None)
    message = exc if isinstance(exc, str) else exc.message(lang)
    titles = PAGE_TITLES if lang == "vi" else PAGE_TITLES_EN
    html = render(
        "error.html",
        lang=lang,
        title=titles.get(status, "Lỗi" if lang == "vi" else "Error"),
        message=message,
        header_html=header(request) if header else "",
    )
    return HTMLResponse(html, status_code=status)


# How a Vietnamese reader is told what is wrong with a parameter (pydantic's error types).
_PROBLEMS_VI = {
    "missing": "chưa có",
    "int_parsing": "phải là số nguyên",
    "int_type": "phải là số nguyên",
    "float_parsing": "phải là số",
    "float_type": "phải là số",
    "bool_parsing": "phải là có/không (true/false)",
    "date_parsing": "phải là ngày dạng yyyy-mm-dd",
    "date_from_datetime_parsing": "phải là ngày dạng yyyy-mm-dd",
    "string_too_long": "quá dài",
    "string_too_short": "quá ngắn",
    "greater_than_equal": "quá nhỏ",
    "greater_than": "quá nhỏ",
    "less_than_equal": "quá lớn",
    "less_than": "quá lớn",
    "literal_error": "không nằm trong các giá trị được phép",
    "enum": "không nằm trong các giá trị được phép",
    "json_invalid": "không phải JSON hợp lệ",
}


def _problem_vi(error: dict) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "body", "path"))
    return f"{where or 'dữ liệu'} {_PROBLEMS_VI.get(error.get('type', ''), 'không hợp lệ')}"


def login_redirect(request: Request) -> RedirectResponse:
    """To the sign-in page, which sends the reader back to this page afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)


def _db_refused_value(exc: psycopg.DataError) -> InvalidInput:
    detail = (getattr(exc.diag, "message_primary", None) or str(exc))[:200]
    return InvalidInput(
        "Giá trị gửi lên không dùng được (có ký tự NUL, hoặc số vượt giới hạn).",
        f"A value sent cannot be used: {detail}.",  # PostgreSQL's own words, in English
        hint_vi="Bỏ ký tự NUL, dùng số nguyên trong giới hạn và văn bản UTF-8.",
        hint_en="Leave out NUL characters; send integers within range and UTF-8 text.",
    )


NUL_MESSAGE = InvalidInput(
    "Địa chỉ hoặc tham số chứa ký tự NUL (%00), không dùng được.",
    "The path or a parameter contains a NUL character (%00), which cannot be used.",
    hint_vi="Bỏ ký tự %00 khỏi địa chỉ.",
    hint_en="Remove %00 from the address.",
)


BIG_NUMBER_MESSAGE = InvalidInput(
    "Địa chỉ chứa một số vượt giới hạn số nguyên 64 bit (tối đa 9223372036854775807).",
    "The path holds a number beyond the 64-bit integer range (at most 9223372036854775807).",
    hint_vi="Dùng mã số do máy chủ trả về.",
    hint_en="Use the id the server returned.",
)


def _big_number_in(path: str) -> bool:
    """A path segment of ASCII digits beyond a bigint: no id of ours, and an int path
    parameter PostgreSQL would not take (FastAPI's int has no bound)."""
    return any(
        len(seg) > 18 and seg.isascii() and seg.isdigit() and int(seg) > 2**63 - 1
        for seg in path.split("/")
    )


class RefuseNul:
    """ASGI middleware: a path or query string holding NUL, or a path holding a number
    beyond 64 bits, is refused with a 400 before any route runs (PostgreSQL text cannot hold
    NUL; psycopg refuses it on the way in; a bigint ends at 2^63 − 1)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"")
            err = None
            if "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query:
                err = NUL_MESSAGE
            elif _big_number_in(scope.get("path", "")):
                err = BIG_NUMBER_MESSAGE
            if err is not None:
                request = Request(scope)
                response = (
                    error_page(request, 400, err)
                    if is_page(request)
                    else JSONResponse(error_body(err, request_lang(request)), status_code=400)
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def database_unavailable(retry_after: int) -> Unavailable:
    return Unavailable(
        "Cơ sở dữ liệu tạm thời không trả lời. Vui lòng thử lại sau ít phút; "
        "dữ liệu đã lưu không bị mất.",
        "The database does not answer for now. Try again shortly; nothing saved is lost.",
        hint_vi=f"Thử lại sau {retry_after} giây.",
        hint_en=f"Retry in {retry_after} seconds.",
        retry_after=retry_after,
    )


# Raised while the database is down or restarting: no connection within the pool timeout, or
# one lost mid-request (AdminShutdown, "server closed the connection", a refused connect).
DATABASE_DOWN = (PoolTimeout, psycopg.OperationalError, psycopg.InterfaceError)


def unavailable_response(request: Request, retry_after: int) -> Response:
    err = database_unavailable(retry_after)
    if is_page(request):
        response: Response = error_page(request, 503, err)
    else:
        response = JSONResponse(error_body(err, request_lang(request)), status_code=503)
    response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(psycopg.InterfaceError)
    async def _database_down(request: Request, exc: Exception) -> Response:
        log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
        return unavailable_response(request, request.app.state.agrimap.settings.db_retry_after)

    @app.exception_handler(AgriMapError)
    async def _domain_error(request: Request, exc: AgriMapError) -> Response:
        status = status_for(exc)
        if status >= 500 and not isinstance(exc, Unavailable):
            log.exception("unexpected domain error", exc_info=exc)
        if is_page(request):
            if isinstance(exc, NotSignedIn):
                return login_redirect(request)
            response: Response = error_page(request, status, exc)
        else:
            response = JSONResponse(error_body(exc, request_lang(request)), status_code=status)
        if isinstance(exc, RateLimited | Unavailable):
            response.headers["Retry-After"] = str(exc.retry_after)
        if is_page(request):
            return response
        if isinstance(exc, NotSignedIn):
            response.headers["WWW-Authenticate"] = 'Bearer realm="agrimap"'
        return response

    @app.exception_handler(psycopg.errors.InsufficientPrivilege)
    async def _db_refused(request: Request, exc: psycopg.errors.InsufficientPrivilege) -> Response:
        # Raised by the database's own scope checks (migration 0002): vi message, en detail.
        diag = exc.diag
        if is_page(request):
            return error_page(request, 403, diag.message_primary or str(exc))
        err = PermissionDenied(diag.message_primary or str(exc), diag.message_detail or str(exc))
        return JSONResponse(error_body(err, request_lang(request)), status_code=403)

    @app.exception_handler(psycopg.DataError)
    async def _bad_value(request: Request, exc: psycopg.DataError) -> Response:
        # A value PostgreSQL cannot take (NUL in text, a number out of range): the client's
        # mistake, a 400 saying which, never a 500.
        err = _db_refused_value(exc)
        if is_page(request):
            return error_page(request, 400, err)
        return JSONResponse(error_body(err, request_lang(request)), status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        err = InvalidInput(
            "Tham số không hợp lệ: " + "; ".join(_problem_vi(e) for e in errors) + ".",
            "Invalid parameter: "
            + "; ".join(
                f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in errors
            )
            + ".",
            hint_vi="Xem tài liệu API tại /api.html.",
            hint_en="See the API description at /api.html.",
        )
        if is_page(request):
            return error_page(request, 400, err)
        return JSONResponse(error_body(err, request_lang(request)), status_code=400)
