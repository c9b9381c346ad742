from __future__ import annotations

import pytest

from app.config import DEFAULT_SECRET_KEY, Settings
from app.main import create_app


def test_database_and_broker_urls_are_read_from_the_plain_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("BROKER_URL", "redis://h:1/0")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.broker_url == "redis://h:1/0"
    assert settings.is_demo is False  # real servers: not demo unless asked


def test_with_no_urls_the_service_is_embedded_and_in_demo_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("DATABASE_URL", "BROKER_URL", "STOPAY_DATABASE_URL", "STOPAY_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url is None
    assert settings.is_demo is True


def test_outside_demo_mode_the_default_secret_is_refused(settings: Settings) -> None:
    unsafe = settings.model_copy(update={"secret_key": DEFAULT_SECRET_KEY, "demo": False})
    with pytest.raises(RuntimeError, match="STOPAY_SECRET_KEY"):
        create_app(unsafe)


def test_with_urls_set_nothing_embedded_is_started(settings: Settings, tmp_path: object) -> None:
    from app.runner import services

    configured = settings.model_copy(update={"data_dir": tmp_path})
    with services(configured) as (database_url, broker_url):
        assert (database_url, broker_url) == (settings.database_url, settings.broker_url)
    assert list(configured.data_dir.iterdir()) == []


def test_a_pool_smaller_than_the_admission_limit_is_refused(settings: Settings) -> None:
    starved = settings.model_copy(update={"max_concurrent_requests": 50})
    with pytest.raises(RuntimeError, match="STOPAY_DB_POOL_SIZE"):
        create_app(starved)
