"""Service settings from the environment (pydantic-settings, prefix ``TRACERISK_``).

In development mode (the default) built-in secrets are allowed so that a checkout runs at once; in any other
mode the service refuses to start while a secret still has its built-in default value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from data_contracts.home import DEFAULT_HOME, Home
from models.worklist import MAX_EXPLORATION_SHARE, MIN_EXPLORATION_SHARE

DEFAULT_SECRET = "development-only-secret-change-me"
BUILTIN_SECRET_WARNING = (
    "the built-in development secret is public: anyone can make tokens and re-hash an edited audit log so that it "
    "verifies (only anchors kept outside the database catch that)"
)


class InsecureSettings(RuntimeError):
    """A production deployment still uses a default secret."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRACERISK_", extra="ignore")

    mode: Literal["development", "production"] = "development"
    home: Path = DEFAULT_HOME
    store_url: str | None = None  # default: SQLite at $TRACERISK_HOME/serving.db
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)  # keys token hashes and the audit hash chain
    host: str = "127.0.0.1"
    port: int = 8000
    retry_after_s: int = Field(default=5, ge=1)  # Retry-After on 503 while the store is unavailable
    # SQLite: how long a request's write (its audit entry, an issued worklist, an outcome) waits for the write lock
    # another process holds (a publishing score run: about 1-2 s for 20,000 employers) before the request answers
    # 503 with Retry-After
    store_busy_timeout_ms: int = Field(default=3_000, ge=0)
    default_capacity_share: float = Field(default=0.05, gt=0.0, le=1.0)  # worklist size without ?capacity=
    # the least share of random exploration picks a worklist request may ask for (?explore=): random picks are what
    # keeps future labels from following the ranking alone; 0 lets users turn them off
    min_exploration_share: float = Field(default=MIN_EXPLORATION_SHARE, ge=0.0, le=MAX_EXPLORATION_SHARE)
    cookie_secure: bool = False  # set the dashboard cookie's Secure flag (behind HTTPS); also sends HSTS
    docs: bool | None = None  # /docs, /redoc and /openapi.json; default: on in development mode only
    cors_origins: list[str] = Field(default_factory=list)  # browser origins allowed cross-origin; none by default
    max_body_bytes: int = Field(default=65_536, ge=1_024)  # larger request bodies answer 413
    rate_limit_per_minute: int = Field(default=600, ge=0)  # per token (per client address without one); 0 = off
    rate_limit_burst: int = Field(default=120, ge=1)  # requests a token may send at once before 429
    token_ttl_days: int = Field(default=90, ge=0)  # default lifetime of new tokens (users add); 0 = never expire
    allow_broken_audit: bool = False  # start even when the audit hash chain does not verify (logged as an error)
    # audit anchors (service/audit.py): a JSON line per checkpoint, kept where the database's users cannot write;
    # default $TRACERISK_HOME/audit-anchors.jsonl
    audit_anchor_file: Path | None = None
    audit_anchor_interval_s: float = Field(default=60.0, gt=0)  # seconds between anchors while the log grows
    # /metrics on the service's listener: "open", "token" (Authorization: Bearer TRACERISK_METRICS_TOKEN) or "off";
    # default open in development, off in production (Prometheus scrapes the metrics_port listener instead)
    metrics: Literal["open", "token", "off"] | None = None
    metrics_token: SecretStr | None = None
    metrics_port: int | None = Field(default=None, ge=1, le=65_535)  # a listener serving only the metrics
    metrics_host: str = "127.0.0.1"  # the metrics listener's address (loopback: reachable from the host only)

    def check(self) -> Settings:
        """Raise InsecureSettings outside development when a secret is left at its default."""
        if self.mode != "development" and self.secret_key.get_secret_value() == DEFAULT_SECRET:
            raise InsecureSettings(
                "TRACERISK_SECRET_KEY is the built-in development default; set a secret of your own "
                "(or TRACERISK_MODE=development for local use)"
            )
        if self.mode != "development" and len(self.secret_key.get_secret_value()) < 32:
            raise InsecureSettings("TRACERISK_SECRET_KEY must be at least 32 characters outside development")
        token = self.metrics_token.get_secret_value() if self.metrics_token else ""
        if self.metrics_access == "token" and len(token) < (32 if self.mode != "development" else 1):
            raise InsecureSettings(
                "TRACERISK_METRICS=token needs TRACERISK_METRICS_TOKEN (at least 32 characters outside development)"
            )
        return self

    @property
    def metrics_access(self) -> str:
        """How /metrics answers on the service's listener: open, token or off."""
        if self.metrics is not None:
            return self.metrics
        return "open" if self.mode == "development" else "off"

    @property
    def audit_anchor_path(self) -> Path:
        return self.audit_anchor_file or Home(self.home).audit_anchors

    @property
    def builtin_secret(self) -> bool:
        return self.secret_key.get_secret_value() == DEFAULT_SECRET

    def development_warnings(self) -> list[str]:
        """What development mode gives away, said at every start (empty in production)."""
        if self.mode != "development":
            return []
        opened = [
            *(["the API documents"] if self.docs_enabled else []),
            *(["/metrics without a token"] if self.metrics_access == "open" else []),
        ]
        out = [
            "DEVELOPMENT MODE (TRACERISK_MODE=development, the default): not for real data"
            + (f"; open: {', '.join(opened)}" if opened else "")
            + "; set TRACERISK_MODE=production for real use"
        ]
        if self.builtin_secret:
            out.append(
                f"{BUILTIN_SECRET_WARNING}; set TRACERISK_SECRET_KEY (32+ characters) and TRACERISK_MODE=production"
            )
        return out

    @property
    def docs_enabled(self) -> bool:
        return self.mode == "development" if self.docs is None else self.docs

    def resolved_store_url(self) -> str:
        return self.store_url or Home(self.home).sqlite_store_url

    @property
    def secret(self) -> bytes:
        return self.secret_key.get_secret_value().encode()
