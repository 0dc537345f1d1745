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

from geo.errors import (
    AgriMapError,
    Conflict,
    InvalidInput,
    NotFound,
    NotSignedIn,
    PermissionDenied,
    RateLimited,
)
from layers.registry_checks import PreconditionRequired

from .html import render
from .lang import request_lang

log = logging.getLogger(__name__)
PAGE_PREFIX = "/maps/"
PAGE_TITLES = {
    400: "Dữ liệu chưa hợp lệ", 403: "Không có quyền", 404: "Không tìm thấy",
    409: "Không thực hiện được", 428: "Cần tải lại trang",
}  # fmt: skip
PAGE_TITLES_EN = {
    400: "Invalid input", 403: "Not allowed", 404: "Not found", 409: "Cannot be done",
    428: "Reload the page",
}  # fmt: skip

STATUS: dict[type[AgriMapError], int] = {
    PreconditionRequired: 428,
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
    from .chrome import cached_header  # the header needs auth, which needs these errors' types

    lang = request_lang(request)
    message = exc if isinstance(exc, str) else exc.message(lang)
    titles = PAGE_TITLES if lang == "vi" else PAGE_TITLES_EN
    html = render(
        "error.html",
        lang=lang,
        title=titles.get(status, "Lỗi" if lang == "vi" else "Error"),
        message=message,
        header_html=cached_header(request),
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


class RefuseNul:
    """ASGI middleware: a path or query string holding NUL is refused with a 400 before any
    route runs (PostgreSQL text cannot hold NUL; psycopg refuses it on the way in)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope.get("path", "")
            or b"%00" in scope.get("query_string", b"")
            or b"\x00" in scope.get("query_string", b"")
        ):
            request = Request(scope)
            response = (
                error_page(request, 400, NUL_MESSAGE)
                if is_page(request)
                else JSONResponse(error_body(NUL_MESSAGE, request_lang(request)), status_code=400)
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    @app.exception_handler(AgriMapError)
    async def _domain_error(request: Request, exc: AgriMapError) -> Response:
        status = status_for(exc)
        if status >= 500:
            log.exception("unexpected domain error", exc_info=exc)
        if is_page(request):
            if isinstance(exc, NotSignedIn):
                return login_redirect(request)
            return error_page(request, status, exc)
        response = JSONResponse(error_body(exc, request_lang(request)), status_code=status)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after)
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
