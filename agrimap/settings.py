"""Server settings, read from AGRIMAP_* environment variables (and DATABASE_URL)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo.codes import DEFAULT_LAYOUT, ISSUE_LAYOUT, CodeLayout

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
    # Growing-area code layouts (geo.codes patterns): new codes use code_layout; codes given by
    # officers or imported may also follow code_layout_before_reform (issued before July 2025).
    code_layout: str = ISSUE_LAYOUT.pattern
    code_layout_before_reform: str = DEFAULT_LAYOUT.pattern
    # numberMatched is counted exactly up to this many matches, then estimated (and flagged).
    count_cap: int = Field(default=10_000, ge=0)
    # JSON pages of more than this many features are streamed as PostGIS writes them.
    stream_above: int = Field(default=1_000, ge=0)

    def code_layouts(self) -> tuple[CodeLayout, ...]:
        """The growing-area code layouts: the one new codes follow, then the pre-reform one."""
        return _layouts(self.code_layout, self.code_layout_before_reform)

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
        return self


@lru_cache(maxsize=8)
def _layouts(current: str, before: str) -> tuple[CodeLayout, ...]:
    return (CodeLayout(current), CodeLayout(before))
