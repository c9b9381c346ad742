"""Against the real processes: eight resends, freezes, queries and releases at once, keyed
and not, reach the institution once each (the simulator's ledger is the ground truth)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import Role
from app.db import transaction
from tests.e2e.cases import account_at, assert_exactly_once, post_case, settled
from tests.e2e.stack import Stack, wait_for
from tests.factories import make_user
from tests.hostile.repeat_fixtures import committed, own_database, repeat_stack, used_tokens

__all__ = ["committed", "own_database", "repeat_stack"]

pytestmark = pytest.mark.slow
N = 8


def _burst(
    stack: Stack, tokens: list[dict[str, str]], url: str, body: dict[str, Any], key: str | None
) -> list[httpx.Response]:
    keyed = {"Idempotency-Key": key} if key else {}

    def post(token: dict[str, str]) -> httpx.Response:
        with stack.api({**token, **keyed}) as api:
            return api.post(url, json=body)

    with ThreadPoolExecutor(max_workers=N) as pool:
        return list(pool.map(post, tokens))


def _once(
    stack: Stack, tokens: list[dict[str, str]], url: str, body: dict[str, Any], *, bare: bool
) -> None:
    """A keyed burst (one effect, eight equal answers); then, where a second one is
    meaningless whenever it comes, an unkeyed burst: all refused."""
    keyed = _burst(stack, tokens, url, body, str(uuid.uuid4()))
    assert [a.status_code for a in keyed] == [201] * N, keyed[0].text
    # Equal as JSON (the stored answer comes back from JSONB, its members in another order).
    assert all(a.json() == keyed[0].json() for a in keyed)
    if bare:
        again = _burst(stack, tokens, url, body, None)
        assert [a.status_code for a in again] == [409] * N, again[0].text


def _kinds(case: dict[str, Any], code: str) -> list[tuple[str, str | None]]:
    return [(i["kind"], i["outcome"]) for i in case["instructions"] if i["institution"] == code]


def test_repeated_actions_reach_the_institution_once(
    repeat_stack: Stack, committed: sessionmaker[Session]
) -> None:
    stack = repeat_stack
    with transaction(committed) as db:
        boss = make_user(db, role=Role.supervisor)
        tokens = used_tokens(db, boss, N)
    on_file = account_at("CIB", holder="张伟")
    choice = {"institution": "CIB", "account_no": on_file["account_no"]}
    with stack.api(tokens[0]) as api, stack.simulator() as sim:
        loaded = sim.post("/admin/scenario", json={"accounts": [{**on_file, "balance": "1000.00"}]})
        assert loaded.status_code == 200, loaded.text
        case_no = post_case(api, {**on_file, "holder_name": "张卫"})
        case = wait_for(lambda: settled(api, case_no), timeout=30, what="the mismatch")
        [bounced] = [i for i in case["instructions"] if i["institution"] == "CIB"]
        assert bounced["outcome"] == "mismatch"

        url = f"/api/v1/cases/{case_no}/instructions/{bounced['id']}/resend"
        _once(stack, tokens, url, {"holder_name": "张伟"}, bare=True)
        case = wait_for(lambda: settled(api, case_no), timeout=30, what="the resend")
        assert _kinds(case, "CIB") == [
            ("stop_payment", "mismatch"),
            ("stop_payment", "stopped_full"),
        ]

        body = {**choice, "document_no": "穗公（反诈）冻字〔2026〕9号"}
        _once(stack, tokens, f"/api/v1/cases/{case_no}/freezes", body, bare=True)
        # A second query once the first has been answered is a new question: keyed only.
        _once(stack, tokens, f"/api/v1/cases/{case_no}/queries", choice, bare=False)
        case = wait_for(lambda: settled(api, case_no), timeout=30, what="freeze and query")
        body = {**choice, "reason": "经核实为正常经营收款"}
        _once(stack, tokens, f"/api/v1/cases/{case_no}/releases", body, bare=True)
        case = wait_for(lambda: settled(api, case_no), timeout=30, what="the release")
        kinds = [kind for kind, _ in _kinds(case, "CIB")]
        assert sorted(kinds) == ["freeze", "query", "release", "stop_payment", "stop_payment"]
        assert_exactly_once(sim, case)
