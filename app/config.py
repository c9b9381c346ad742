"""Settings: one class, read from the environment (prefix STOPAY_) and `.env`."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "demo-secret-key-change-me"
# Threads that run every live stream's polls (app/sse.py), each with one connection.
STREAM_POLL_THREADS = 8
# /metrics and /readyz run at once at most this many times (app/middleware.py AdmissionLimit).
PROBE_LIMIT = 2

Language = Literal["zh-CN", "en"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STOPAY_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Where things run. No URL means: start the embedded server under data_dir.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("STOPAY_DATABASE_URL", "DATABASE_URL")
    )
    broker_url: str | None = Field(
        default=None, validation_alias=AliasChoices("STOPAY_BROKER_URL", "BROKER_URL")
    )
    data_dir: Path = Path(".data")

    # Demo mode seeds demo users and allows the default secret. Unset: on when embedded.
    demo: bool | None = None
    secret_key: str = DEFAULT_SECRET_KEY

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # uvicorn processes for the API (each with its own pool and admission limit).
    api_workers: int = 1
    simulator_host: str = "127.0.0.1"
    simulator_port: int = 8100
    # How the simulated institutions reach our callbacks, and how our adapters reach them;
    # unset, they follow the host and port above.
    api_url: str | None = None
    simulator_url: str | None = None

    # Requests inside the API at once (each holds at most one database connection; the pool
    # is sized above this); beyond it requests queue for up to admission_wait_s, then get 503.
    max_concurrent_requests: int = 32
    # The outbox relay re-sends an instruction left with no attempt and no lease this long: a
    # worker died holding it. Keep it above the longest retry backoff (30 s).
    relay_idle_after_s: float = Field(default=45.0, gt=0)
    # The largest request body taken (a freeze's scan is at most 5 MB, base64 in JSON).
    max_body_bytes: int = 8 * 1024 * 1024
    admission_wait_s: float = 10.0
    db_pool_size: int = 20
    db_max_overflow: int = 24

    # The Celery queue: stacks that share a broker keep to their own queues.
    queue: str = "stopay"
    worker_pool: Literal["threads", "prefork", "solo", "gevent"] = "threads"
    # Processes of `stopay worker`, each a pool of worker_concurrency threads.
    worker_processes: int = 2
    worker_concurrency: int = 100

    default_language: Language = "zh-CN"
    # The centre's time zone: times entered without an offset are read in it.
    timezone: str = "Asia/Shanghai"
    # The legal clock: an emergency stop-payment lapses this long after it takes effect;
    # a freeze runs this many days.
    stop_payment_hold_h: int = 48
    freeze_days: int = 180
    # Stop-payments on one account in one case (the first and one renewal); a third is refused.
    stop_payment_max: int = Field(default=2, ge=1)
    # Warn this long before a stop-payment lapses with no freeze, and a freeze runs out.
    stop_payment_warning_h: int = 6
    freeze_warning_days: int = 15
    # Pro-rata returns wait for a public notice of this many days; a bank has this many
    # working days to pay a confirmed return.
    return_notice_days: int = 30
    return_working_days: int = 3
    # How often beat checks the legal clock (warnings, lapses, overdue returns).
    legal_clock_interval_s: float = 60.0
    # Tests and demos: let an admin freeze or shift the legal clock (PUT /api/v1/admin/clock).
    # Never in production.
    settable_clock: bool = False
    # Following the money: onward transfers are stopped down to this level, from this amount
    # (CNY) traced into an account.
    trace_max_depth: int = Field(default=3, ge=1, le=10)
    trace_min_amount: Decimal = Decimal("1000.00")
    # An outcome's effective_at (and an onward transfer's time) may be this far past our
    # clock, and effective_at this far before the instruction was first sent.
    callback_clock_skew_s: int = Field(default=300, ge=0, le=3600)
    # How long an Idempotency-Key is remembered (at least 24 h).
    idempotency_ttl_s: int = 48 * 3600
    session_max_age_s: int = 12 * 3600
    # Log-in throttle: this many failures in the window lock the account from that address
    # (or the address, for every account) until the oldest of them leaves the window.
    login_window_s: int = 15 * 60
    login_max_failures_per_account: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    api_token_max_age_s: int = 90 * 24 * 3600
    # Clients cannot take the service away from others (docs/SECURITY.md, "Clients").
    # A request body must have arrived in full this long after its headers, or 408; it is
    # read before the request takes an admission slot. At most this many bodies still
    # arriving at once per client address; more get 429.
    # The time allowed grows with the body's size, by body_min_bytes_per_s (a 5 MB scan in
    # base64 on a 64 KB/s line has 10 s + 105 s). Every body still arriving counts against
    # its address (an IPv6 address by its /64); all of them together hold at most
    # max_pending_body_bytes, reserved before they are read (more get 503).
    body_timeout_s: float = Field(default=10.0, gt=0)
    body_min_bytes_per_s: int = Field(default=64 * 1024, ge=1)
    max_pending_bodies_per_address: int = Field(default=8, ge=1)
    max_pending_body_bytes: int = Field(default=256 * 1024 * 1024, ge=1)
    # Connections open at once per API process (uvicorn's limit_concurrency); more get 503.
    max_connections: int = Field(default=1000, ge=1)
    # Live streams (SSE) open at once per user and per token or log-in session; more get 429.
    max_streams_per_user: int = Field(default=8, ge=1)
    max_streams_per_credential: int = Field(default=4, ge=1)
    # A read (GET) that meets a serialization failure is run again this many times.
    read_retries: int = Field(default=3, ge=0)
    # Addresses (or networks, comma-separated) of reverse proxies whose X-Forwarded-For and
    # X-Forwarded-Proto are believed. None by default: the peer's own address is the client's.
    trusted_proxies: str = ""
    readiness_timeout_s: float = 2.0
    # Every process logs to stderr: one JSON object a line, or text for a person reading
    # (`stopay run` in demo mode picks text unless this is set).
    log_format: Literal["json", "text"] = "json"

    # The audit chain: seals are HMAC-SHA256 under a key that is never in the database, from
    # STOPAY_AUDIT_KEY or the file STOPAY_AUDIT_KEY_FILE, named by STOPAY_AUDIT_KEY_ID (kept
    # in each seal). After a rotation the old keys stay for verifying, by id, as JSON:
    # STOPAY_AUDIT_PREVIOUS_KEYS='{"1": "old key"}'. Demo mode only: derived from secret_key.
    audit_key: SecretStr | None = None
    audit_key_file: Path | None = None
    audit_key_id: str = Field(default="1", pattern=r"^[A-Za-z0-9._-]{1,32}$")
    audit_previous_keys: dict[str, SecretStr] = {}
    # The chain's head is appended to this file (default: data_dir/audit-checkpoints.log)
    # this often, and when a worker stops; keep it where the database's owner cannot write.
    audit_checkpoint_file: Path | None = None
    audit_checkpoint_interval_s: float = Field(default=60.0, gt=0)
    # An event id still missing this long after a higher id was sealed is taken as rolled
    # back: the range below is closed, and an event turning up in it later is never sealed.
    audit_close_after_s: float = Field(default=300.0, ge=60)

    @field_validator("audit_key", "audit_key_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def public_api_url(self) -> str:
        return self.api_url or f"http://{self.api_host}:{self.api_port}"

    @property
    def public_simulator_url(self) -> str:
        return self.simulator_url or f"http://{self.simulator_host}:{self.simulator_port}"

    @property
    def is_demo(self) -> bool:
        if self.demo is not None:
            return self.demo
        return self.database_url is None

    def require_urls(self) -> tuple[str, str]:
        """The database and broker URLs, which must be known by the time a process serves."""
        if self.database_url is None or self.broker_url is None:
            raise RuntimeError(
                "DATABASE_URL and BROKER_URL must be set (stopay run sets them for its children)"
            )
        return self.database_url, self.broker_url

    def check(self) -> None:
        """Refuse settings the service cannot run safely with."""
        self.check_secrets()
        # Connections held at once: every admitted request, every live-stream poll thread and
        # every probe (/metrics, /readyz) that runs outside admission.
        busiest = self.max_concurrent_requests + STREAM_POLL_THREADS + PROBE_LIMIT
        if self.db_pool_size + self.db_max_overflow <= busiest:
            raise RuntimeError(
                "STOPAY_DB_POOL_SIZE + STOPAY_DB_MAX_OVERFLOW must exceed "
                f"STOPAY_MAX_CONCURRENT_REQUESTS + {STREAM_POLL_THREADS + PROBE_LIMIT} "
                "(live-stream polls and probes), or a burst of requests can exhaust the pool"
            )

    def check_secrets(self) -> None:
        if not self.is_demo and self.secret_key == DEFAULT_SECRET_KEY:
            raise RuntimeError(
                "STOPAY_SECRET_KEY is the demo default; set a real secret outside demo mode"
            )
        if not self.is_demo and self.audit_key is None and self.audit_key_file is None:
            raise RuntimeError(
                "set STOPAY_AUDIT_KEY or STOPAY_AUDIT_KEY_FILE outside demo mode: the audit "
                "chain is sealed with it"
            )

    @property
    def audit_checkpoint_path(self) -> Path:
        return self.audit_checkpoint_file or self.data_dir / "audit-checkpoints.log"


@lru_cache
def get_settings() -> Settings:
    return Settings()
