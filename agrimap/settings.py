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

    def code_layouts(self) -> tuple[CodeLayout, ...]:
        """The growing-area code layouts: the one new codes follow, then the pre-reform one."""
        return _layouts(self.code_layout, self.code_layout_before_reform)

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.environment == "production"

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
