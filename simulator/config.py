"""The simulator's own settings: the few STOPAY_ variables it reads, and nothing of the
service's configuration beyond them."""

from __future__ import annotations

from typing import Protocol

from pydantic_settings import BaseSettings, SettingsConfigDict

# The service's demo key: with it, the simulator signs callbacks the demo service accepts.
DEFAULT_SECRET_KEY = "demo-secret-key-change-me"


class PeerSettings(Protocol):
    """What the simulator needs to know: the key its callback secrets derive from, and
    where the service takes callbacks."""

    @property
    def secret_key(self) -> str: ...

    @property
    def public_api_url(self) -> str: ...


class SimulatorSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STOPAY_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    secret_key: str = DEFAULT_SECRET_KEY
    api_url: str | None = None
    api_host: str = "127.0.0.1"
    api_port: int = 8000

    @property
    def public_api_url(self) -> str:
        return self.api_url or f"http://{self.api_host}:{self.api_port}"
