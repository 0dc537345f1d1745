"""Server settings, read from AGRIMAP_* environment variables (and DATABASE_URL)."""

from __future__ import annotations

import ipaddress
import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from geo.codes import DEFAULT_LAYOUT, ISSUE_LAYOUT, CodeLayout
from geo.geometry import GeometryLimits
from geo.readers import ArchiveLimits
from geo.values import MAX_TEXT_CHARS

DEFAULT_SECRET = "change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGRIMAP_", extra="ignore")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    # A streaming replica (read-only) for the public reads: tiles, feature pages, QR pages and
    # coverage indicators. Writes, sign-in and the change listener stay on database_url.
    read_database_url: str | None = None
    # Reads go back to the primary while the replica is further behind than this, or down.
    replica_max_lag_s: float = Field(default=5.0, gt=0)
    replica_check_s: float = Field(default=0.5, gt=0)  # how often the replica is looked at
    # The URLs go through PgBouncer in transaction mode: no prepared statements, and LISTEN
    # (which needs one server connection for its whole life) on listen_database_url.
    pgbouncer: bool = False
    listen_database_url: str | None = None  # direct to the primary; default database_url
    environment: str = "development"  # "production" refuses default secrets
    secret_key: str = DEFAULT_SECRET
    lang: str = "vi"
    data_dir: Path = Path(__file__).resolve().parent.parent / ".cache" / "data"
    pool_min: int = 2
    pool_max: int = 10
    default_limit: int = 100
    max_limit: int = 10_000
    public_url: str | None = None  # e.g. https://agrimap.example.vn when behind a proxy
    session_hours: int = 12
    cookie_secure: bool | None = None  # None: secure cookies in production only
    # Per-client limits ("N/second|minute|hour", see the `limits` package); a shared store
    # such as redis://host:6379 keeps them across several server processes.
    login_rate: str = "10/minute"
    qr_rate: str = "60/minute"
    rate_limit_storage: str = "memory://"
    tile_cache_mb: int = 256  # per server process
    # Soil class tables, conversions and advice (issue 16); None: layers/soil_classes.json.
    soil_classes_file: Path | None = None
    # Growing-area code layouts (geo.codes patterns): new codes use code_layout; codes given by
    # officers or imported may also follow code_layout_before_reform (issued before July 2025).
    code_layout: str = ISSUE_LAYOUT.pattern
    code_layout_before_reform: str = DEFAULT_LAYOUT.pattern
    # numberMatched is counted exactly up to this many matches, then estimated (and flagged).
    count_cap: int = Field(default=10_000, ge=0)
    # JSON pages of more than this many features are streamed as PostGIS writes them.
    stream_above: int = Field(default=1_000, ge=0)

    # --- hardening (issue 17): every limit a setting, each refusal names its limit -------
    # Request bodies, refused with 413 before they are read: a JSON body (a growing area of
    # 10,000 vertices is about 0.4 MB), an uploaded file, and whatever a client that is
    # not signed in sends (the sign-in form is a few hundred bytes).
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_anonymous_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # CPU work (geometry checks, hashing, archives, PDF, exports) runs in worker threads, at
    # most this many at once (the cores: more only share the GIL with the event loop).
    worker_threads: int = Field(default=2, ge=1, le=64)
    # Seconds between giving the memory freed by requests back to the system (api/memory.py).
    memory_trim_seconds: float = Field(default=30.0, gt=0)
    # One geometry: vertices and parts (polygons of a MultiPolygon). A hand-drawn field has
    # hundreds of vertices, a GPS walk a few thousand; checking a 49,000-vertex boundary
    # (PostGIS overlaps included) raised everyone's p99 4x in the soak, 10,000 keeps it low.
    max_vertices: int = Field(default=10_000, ge=4)
    max_parts: int = Field(default=500, ge=1)
    # Uploaded archives (zip, kmz): members, and their uncompressed size, checked before
    # anything is extracted (declared sizes) and while extracting (real sizes).
    max_archive_members: int = Field(default=200, ge=1)
    max_unzipped_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    # Features in one uploaded file (a commune's households are a few thousand; a province's
    # file is for the operator's `agrimap import`, which has no such limit).
    max_upload_features: int = Field(default=100_000, ge=1)
    # Characters of any one text in a JSON body (a name, a note, a reason; 413 above it).
    max_text_chars: int = Field(default=MAX_TEXT_CHARS, ge=80)
    # Clients: X-Forwarded-For is believed only from these addresses or networks (none by
    # default: every client is the address that connected).
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Sign-in back-off per (account, client): after this many wrong passwords that client
    # waits 1, 2, 4 … max minutes for that account; other clients are not affected.
    login_backoff_after: int = Field(default=5, ge=1)
    login_backoff_max_minutes: int = Field(default=15, ge=1)
    # API tokens: days they stay valid, and how many unrevoked ones an account may hold.
    token_days: int = Field(default=90, ge=1)
    max_tokens_per_account: int = Field(default=20, ge=1)
    # Seconds a request waits for a database connection before it gets 503 + Retry-After.
    pool_timeout: float = Field(default=1.5, gt=0)
    # ... unless the database answers and is only busy: then a request waits up to this.
    pool_busy_timeout: float = Field(default=30.0, gt=0)
    db_retry_after: int = Field(default=5, ge=1)
    # Without public_url, links name the Host header only when it is one of these (others:
    # 400), so a forged Host never reaches a page, a document or a printed QR code.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["localhost", "127.0.0.1", "::1"]
    )

    @field_validator("trusted_proxies", "allowed_hosts", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        """``AGRIMAP_TRUSTED_PROXIES=10.0.0.1,10.0.1.0/24`` as well as a JSON list."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [v.strip() for v in text.split(",") if v.strip()]
        return value

    def code_layouts(self) -> tuple[CodeLayout, ...]:
        """The growing-area code layouts: the one new codes follow, then the pre-reform one."""
        return _layouts(self.code_layout, self.code_layout_before_reform)

    def archive_limits(self) -> ArchiveLimits:
        return ArchiveLimits(
            max_members=self.max_archive_members,
            max_bytes=self.max_unzipped_bytes,
            max_features=self.max_upload_features,
        )

    def geometry_limits(self) -> GeometryLimits:
        return GeometryLimits(max_vertices=self.max_vertices, max_parts=self.max_parts)

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.environment == "production"

    @property
    def listen_url(self) -> str | None:
        """Where the change listener connects: the primary, directly."""
        return self.listen_database_url or self.database_url

    @model_validator(mode="after")
    def _listen_directly(self) -> Settings:
        if self.pgbouncer and not self.listen_database_url:
            raise ValueError(
                "AGRIMAP_PGBOUNCER=true needs AGRIMAP_LISTEN_DATABASE_URL: the change listener "
                "(LISTEN) must connect to the primary directly, not through PgBouncer in "
                "transaction mode (which hands each transaction to any server connection)"
            )
        return self

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "AGRIMAP_SECRET_KEY is the default value; set a long random secret before "
                "running with AGRIMAP_ENVIRONMENT=production"
            )
        for entry in self.trusted_proxies:  # a typo must not silently trust nobody or anyone
            ipaddress.ip_network(entry, strict=False)
        if self.environment == "production" and not self.public_url:
            raise ValueError(
                "AGRIMAP_PUBLIC_URL is not set; set it (e.g. https://agrimap.example.vn) before "
                "running with AGRIMAP_ENVIRONMENT=production: links and printed QR codes use it"
            )
        return self


@lru_cache(maxsize=8)
def _layouts(current: str, before: str) -> tuple[CodeLayout, ...]:
    return (CodeLayout(current), CodeLayout(before))
