"""Request limits enforced before any route runs (issue 17): the body size per route and
client, streamed (a body over its limit is never read whole), and JSON bodies parsed strictly
(orjson: no NaN, no lone surrogates) in a worker thread when they are big."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from agrimap.settings import Settings
from geo.errors import InvalidInput, TooLarge
from geo.values import MAX_TEXT_CHARS
from layers.offload import in_worker

from .auth import SESSION_COOKIE
from .errors import error_body, error_page, is_page, request_lang
from .state import app_state

# Routes that take an uploaded file (multipart): they get AGRIMAP_MAX_UPLOAD_BYTES.
UPLOAD_PATHS = frozenset({"/growing-areas/boundary", "/maps/imports"})
# JSON bodies up to this size are parsed on the loop (well under a millisecond).
INLINE_JSON_BYTES = 64 * 1024


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


def too_large(limit: int, setting: str, signed_in: bool) -> TooLarge:
    who_vi = "" if signed_in else " khi chưa đăng nhập"
    who_en = "" if signed_in else " without signing in"
    return TooLarge(
        f"Nội dung gửi lên quá lớn: tối đa {_mib(limit)}{who_vi} ({setting}).",
        f"The request body is too large: at most {_mib(limit)}{who_en} ({setting}).",
        hint_vi="Gửi tệp hoặc ranh giới nhỏ hơn (đơn giản hóa ranh giới), hoặc đăng nhập trước.",
        hint_en="Send a smaller file or boundary (simplify it), or sign in first.",
        details=[f"{setting}={limit}"],
    )


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its limit (FastAPI re-raises an
    HTTPException met while reading a body, so it reaches our handler, not a 400)."""

    def __init__(self, error: TooLarge) -> None:
        super().__init__(status_code=413, detail=error.message("en"))
        self.error = error


def _has_credentials(scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return True
        if name == b"cookie" and SESSION_COOKIE.encode() + b"=" in value:
            return True
    return False


def body_limit(settings: Settings, path: str, signed_in: bool) -> tuple[int, str]:
    """The body limit of a request, and the setting that holds it."""
    if not signed_in:
        return settings.max_anonymous_body_bytes, "AGRIMAP_MAX_ANONYMOUS_BODY_BYTES"
    if path in UPLOAD_PATHS:
        return settings.max_upload_bytes, "AGRIMAP_MAX_UPLOAD_BYTES"
    return settings.max_body_bytes, "AGRIMAP_MAX_BODY_BYTES"


def refusal(request: Request, status: int, error: InvalidInput, **headers: str) -> Response:
    """The API's JSON error or, for a page, the Vietnamese error page."""
    if is_page(request):
        response: Response = error_page(request, status, error)
    else:
        response = JSONResponse(error_body(error, request_lang(request)), status_code=status)
    response.headers.update(headers)
    return response


class BodyLimit:
    """ASGI middleware: a declared Content-Length over the limit is refused with 413 before a
    byte of the body is read (and the connection closed); a body without a length is counted
    as it streams in and refused as soon as it passes the limit."""

    def __init__(self, app, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        signed_in = _has_credentials(scope)
        limit, setting = body_limit(self.settings, scope.get("path", ""), signed_in)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            response = refusal(
                Request(scope), 413, too_large(limit, setting, signed_in), connection="close"
            )
            await response(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(too_large(limit, setting, signed_in))
            return message

        async def tracked_send(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge as exc:
            if started:
                raise
            response = refusal(Request(scope), 413, exc.error, connection="close")
            await response(scope, receive, send)


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def load_json(body: bytes, max_text: int = MAX_TEXT_CHARS):
    """A JSON body, strictly: NaN, Infinity and lone surrogates are refused (they cannot be
    stored), with where the text stops being JSON; so is any text (key or value) longer than
    ``max_text`` characters (AGRIMAP_MAX_TEXT_CHARS) or holding NUL, which PostgreSQL cannot
    store."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            f"Nội dung JSON không hợp lệ: {exc}.",
            f"The JSON body is not valid: {exc}.",
            hint_vi="Gửi JSON chuẩn UTF-8; tọa độ và số phải là số hữu hạn (không NaN).",
            hint_en="Send standard UTF-8 JSON; coordinates and numbers must be finite (no NaN).",
        ) from None
    _check_texts(value, max_text)
    return value


def _check_texts(value, max_text: int) -> None:
    """Walk the parsed body (iteratively: a deep body cannot exhaust the stack) and refuse
    the first text that is too long or holds NUL, naming where it is. GeoJSON coordinates
    are skipped: they must be numbers, which building the geometry checks; a path is put
    into words only for the text refused."""
    stack: list[tuple[object, tuple | None]] = [(value, None)]
    while stack:
        item, path = stack.pop()
        kind = type(item)
        if kind is dict:
            for key, v in item.items():
                _check_text(key, (key, path), max_text)
                if key != "coordinates" and type(v) in _NESTED:
                    stack.append((v, (key, path)))
        elif kind is list:
            stack.extend((v, (i, path)) for i, v in enumerate(item) if type(v) in _NESTED)
        elif kind is str:
            _check_text(item, path, max_text)


_NESTED = (dict, list, str)


def _where(path: tuple | None) -> str:
    parts: list[str] = []
    while path is not None:
        step, path = path
        parts.append(str(step)[:40])
    return "/" + "/".join(reversed(parts))


def _check_text(text: str, path: tuple | None, max_text: int) -> None:
    if len(text) <= max_text and "\x00" not in text:
        return
    where = _where(path)
    if len(text) > max_text:
        raise TooLarge(
            f"Văn bản tại {where} dài {len(text)} ký tự, vượt giới hạn {max_text} "
            "(AGRIMAP_MAX_TEXT_CHARS).",
            f"The text at {where} is {len(text)} characters long, over the limit of "
            f"{max_text} (AGRIMAP_MAX_TEXT_CHARS).",
            hint_vi="Rút gọn nội dung; ghi chú dài hãy đính kèm thành tệp.",
            hint_en="Shorten it; attach long notes as a file.",
            details=["AGRIMAP_MAX_TEXT_CHARS"],
        )
    if "\x00" in text:
        raise InvalidInput(
            f"Văn bản tại {where} chứa ký tự NUL (\\u0000), không lưu được.",
            f"The text at {where} holds a NUL character (\\u0000), which cannot be stored.",
            hint_vi="Bỏ ký tự NUL khỏi nội dung rồi gửi lại.",
            hint_en="Remove the NUL character and send again.",
        )


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return True  # FastAPI reads a body without a content type as JSON too
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class StrictJsonRoute(APIRoute):
    """A route whose JSON body is parsed by ``load_json`` (big ones in a worker thread)
    before FastAPI reads it: FastAPI's own parsing uses ``request._json`` when it is set.
    Every router with JSON bodies is made with ``APIRouter(route_class=StrictJsonRoute)``."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def handle(request: Request) -> Response:
            if _is_json(request.headers.get("content-type")):
                body = await request.body()
                if body:
                    max_text = app_state(request.app).settings.max_text_chars
                    request._json = (  # type: ignore[attr-defined]
                        load_json(body, max_text)
                        if len(body) <= INLINE_JSON_BYTES
                        else await in_worker(load_json, body, max_text)
                    )
            return await handler(request)

        return handle


def install(app: FastAPI, settings: Settings) -> None:
    """The body limit (outermost, before anything reads a byte) and its 413 handler."""

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> Response:
        return refusal(request, 413, exc.error, connection="close")

    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(AllowedHosts, settings=settings)


def allowed_host_names(settings: Settings) -> frozenset[str] | None:
    """The Host names served (as ``host_allowed`` compares them); None when any Host is."""
    allowed = frozenset(_host_name(h) for h in settings.allowed_hosts)
    return None if settings.public_url or "*" in allowed else allowed


def host_allowed(allowed: frozenset[str] | None, host: bytes) -> bool:
    """Whether a request whose Host header is ``host`` (b"" when it has none) is served."""
    return allowed is None or _host_name(host.decode("latin-1")) in allowed


def _host_name(host: str) -> str:
    """'127.0.0.1:8000' -> '127.0.0.1'; '[::1]:8000' -> '::1'; lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class AllowedHosts:
    """ASGI middleware: without AGRIMAP_PUBLIC_URL, links are built from the request's Host,
    so a Host not in AGRIMAP_ALLOWED_HOSTS is refused with 400 before anything is built from
    it (cache poisoning, a foreign host in a printed QR code). With a public URL links never
    read Host, and any Host is served."""

    def __init__(self, app, settings: Settings) -> None:
        self.app = app
        self.allowed = allowed_host_names(settings)

    async def __call__(self, scope, receive, send) -> None:
        if self.allowed is not None and scope["type"] == "http":
            host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
            if _host_name(host) not in self.allowed:
                shown = host[:60]
                err = InvalidInput(
                    f"Tên máy chủ {shown!r} không được phép (AGRIMAP_ALLOWED_HOSTS).",
                    f"Host {shown!r} is not allowed (AGRIMAP_ALLOWED_HOSTS).",
                    hint_vi="Đặt AGRIMAP_PUBLIC_URL, hoặc thêm tên này vào AGRIMAP_ALLOWED_HOSTS.",
                    hint_en="Set AGRIMAP_PUBLIC_URL, or add this name to AGRIMAP_ALLOWED_HOSTS.",
                )
                response = refusal(Request(scope), 400, err)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
