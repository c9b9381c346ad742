"""Errors carry a message key and its parameters; the one handler puts them in the
reader's language (Accept-Language on the API), so a service never needs to know it."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.errors import NotFound, install_error_handlers
from app.i18n import Named, msg


def _app() -> FastAPI:
    app = FastAPI()
    app.state.settings = SimpleNamespace(default_language="zh-CN")
    install_error_handlers(app)

    @app.get("/api/v1/users/{username}")
    def user(username: str) -> None:
        raise NotFound(
            msg("admin.no_such_user", username=username),
            errors=[{"field": "username", "message": msg("admin.no_such_user", username=username)}],
        )

    return app


def test_a_keyed_error_is_answered_in_each_readers_language() -> None:
    client = TestClient(_app())
    english = client.get("/api/v1/users/ann", headers={"Accept-Language": "en"}).json()
    chinese = client.get("/api/v1/users/ann", headers={"Accept-Language": "zh-CN"}).json()
    assert english["status"] == 404
    assert english["detail"] == "No user ann"
    assert english["errors"] == [{"field": "username", "message": "No user ann"}]
    assert chinese["detail"] != english["detail"]
    assert "ann" in chinese["detail"]
    assert chinese["title"] != english["title"]


def test_a_message_names_and_nested_messages_in_its_own_language() -> None:
    bank = Named(zh="工商银行", en="ICBC")
    outer = msg("case.institution_not_party", name=bank)
    assert "ICBC" in outer.in_language("en")
    assert "工商银行" in outer.in_language("zh-CN")
    role = msg("auth.role", roles=msg("dash.open_n", n=3))
    assert role.in_language("en") == "This needs one of these roles: 3 open"
