"""Errors carry a message key and its parameters; the one handler puts them in the
reader's language (Accept-Language on the API), so a service never needs to know it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.errors import NotFound, install_error_handlers
from app.i18n import N_, Named, msg, t
from app.legal.service import Refused


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
    role = msg("auth.role", roles=msg("dash.in_flight_n", n=3))
    assert role.in_language("en") == "This needs one of these roles: 3 in flight"


ROOT = Path(__file__).resolve().parents[1]
# Where the request's language may be read: the handler, the page renderer, and the `Lang`
# dependency (app/deps.py) that a page formatting outside its templates takes.
READS_LANGUAGE = {"app/errors.py", "app/web.py", "app/deps.py"}


def test_the_request_language_is_read_in_one_place() -> None:
    readers = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "app").rglob("*.py")
        if "request_language" in path.read_text(encoding="utf-8")
    }
    assert readers == READS_LANGUAGE


def test_a_domain_refusal_is_a_problem_with_its_key() -> None:
    app = FastAPI()
    app.state.settings = SimpleNamespace(default_language="zh-CN")
    install_error_handlers(app)

    @app.post("/api/v1/freezes")
    def freeze() -> None:
        raise Refused(N_("legal.amount_required"), field="amount")

    @app.post("/api/v1/renewals")
    def renew() -> None:
        raise Refused(N_("legal.nothing_to_renew"))

    client = TestClient(app)
    on_field = client.post("/api/v1/freezes", headers={"Accept-Language": "en"})
    assert on_field.status_code == 422
    body = on_field.json()
    assert body["detail"] == t("legal.amount_required", "en")
    assert body["errors"] == [
        {"field": "amount", "message": body["detail"], "type": "legal.amount_required"}
    ]
    in_state = client.post("/api/v1/renewals", headers={"Accept-Language": "zh-CN"})
    assert in_state.status_code == 409
    assert in_state.json()["title"] == t("problem.conflict", "zh-CN")
    assert in_state.json()["detail"] == t("legal.nothing_to_renew", "zh-CN")
