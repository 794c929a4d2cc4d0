"""Service settings from the environment (pydantic-settings, prefix ``TRACERISK_``).

In development mode (the default) built-in secrets are allowed so that a checkout runs at once; in any other
mode the service refuses to start while a secret still has its built-in default value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "development-only-secret-change-me"


class InsecureSettings(RuntimeError):
    """A production deployment still uses a default secret."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRACERISK_", extra="ignore")

    mode: Literal["development", "production"] = "development"
    home: Path = Path("var")
    store_url: str | None = None  # default: SQLite at $TRACERISK_HOME/serving.db
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)  # keys token hashes and the audit hash chain
    host: str = "127.0.0.1"
    port: int = 8000
    retry_after_s: int = Field(default=5, ge=1)  # Retry-After on 503 while the store is unavailable
    default_capacity_share: float = Field(default=0.05, gt=0.0, le=1.0)  # worklist size without ?capacity=
    cookie_secure: bool = False  # set the dashboard cookie's Secure flag (behind HTTPS)

    def check(self) -> Settings:
        """Raise InsecureSettings outside development when a secret is left at its default."""
        if self.mode != "development" and self.secret_key.get_secret_value() == DEFAULT_SECRET:
            raise InsecureSettings(
                "TRACERISK_SECRET_KEY is the built-in development default; set a secret of your own "
                "(or TRACERISK_MODE=development for local use)"
            )
        if self.mode != "development" and len(self.secret_key.get_secret_value()) < 32:
            raise InsecureSettings("TRACERISK_SECRET_KEY must be at least 32 characters outside development")
        return self

    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{(self.home / 'serving.db').resolve()}"

    @property
    def secret(self) -> bytes:
        return self.secret_key.get_secret_value().encode()
