"""The reader's language (Vietnamese first, English as a switch that sticks)."""

from __future__ import annotations

from fastapi import Request

LANG_COOKIE = "agrimap_lang"


def request_lang(request: Request) -> str:
    """The reader's language: ``?lang=``, else the choice the header's switch remembered (a
    cookie), else English only when the browser asks for English first (a first visit)."""
    explicit = request.query_params.get("lang")
    if explicit in ("vi", "en"):
        return explicit
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in ("vi", "en"):
        return chosen
    accept = request.headers.get("accept-language", "").lower()
    return "en" if accept.startswith("en") else "vi"


def safe_next(target: str | None, default: str = "/maps/overview") -> str:
    """A path on this site to go back to: never an open redirect to another host."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default
