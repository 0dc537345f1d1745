"""Domain errors: one small hierarchy, each with a Vietnamese and an English message and a fix."""

from __future__ import annotations


class AgriMapError(Exception):
    """Base of every error we raise on purpose.

    ``vi`` and ``en`` say what is wrong, ``hint_vi``/``hint_en`` say how to fix it.
    ``api/errors.py`` maps each subclass to one HTTP status; the CLI prints them.
    """

    def __init__(
        self,
        vi: str,
        en: str,
        *,
        hint_vi: str = "",
        hint_en: str = "",
        details: list[str] | None = None,
    ) -> None:
        super().__init__(en)
        self.vi = vi
        self.en = en
        self.hint_vi = hint_vi
        self.hint_en = hint_en
        self.details = details or []

    def message(self, lang: str = "vi") -> str:
        text, hint = (self.vi, self.hint_vi) if lang == "vi" else (self.en, self.hint_en)
        return f"{text} {hint}".strip()


class InvalidInput(AgriMapError):
    """A request or a file is malformed (bad parameter, empty file, truncated archive)."""


class UnsupportedFormat(InvalidInput):
    """A file format or layer we do not read."""


class EncodingError(InvalidInput):
    """Attribute text in an encoding we cannot decode with confidence."""


class CRSError(InvalidInput):
    """Coordinates whose reference system is missing, deprecated or implausible."""


class GeometryError(InvalidInput):
    """A geometry that is invalid and cannot be repaired without changing it."""


class NotFound(AgriMapError):
    """A collection, feature or resource that does not exist."""


class Conflict(AgriMapError):
    """A write that clashes with stored data (duplicate code, overlap, stale version)."""


class NotSignedIn(AgriMapError):
    """The request needs a signed-in account or an API token (HTTP 401)."""


class PermissionDenied(AgriMapError):
    """The account is signed in but its role or communes do not allow this (HTTP 403)."""


class RateLimited(AgriMapError):
    """Too many requests from one client; ``retry_after`` seconds until the next is allowed."""

    def __init__(self, vi: str, en: str, *, retry_after: int, **kw) -> None:
        super().__init__(vi, en, **kw)
        self.retry_after = retry_after


class TooLarge(InvalidInput):
    """A body, file, archive or geometry over one of the stated limits (HTTP 413); the
    ``details`` name the limit's setting."""


class Unavailable(AgriMapError):
    """A service we need (the database) does not answer now (HTTP 503, ``retry_after``)."""

    def __init__(self, vi: str, en: str, *, retry_after: int, **kw) -> None:
        super().__init__(vi, en, **kw)
        self.retry_after = retry_after


class StoredFileMissing(AgriMapError):
    """A file the database points to (a soil raster) is missing or unreadable on the server
    (HTTP 503): the request was fine, the operator must restore the file."""
