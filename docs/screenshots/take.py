"""Screenshots of the dashboard for the README and the docs, taken in Chromium on the real
processes.

1. `dashboard-under-load.png`: /dashboard while the 157-account case of `python -m bench.trace`
   (`trace_tree` in bench/support/cases.py: 40 level-1 accounts reported, 117 more found by
   callbacks) is being stopped, beside a few
   smaller cases, with the simulated institutions' bench delays (ack 0.1-0.3 s, processing
   0.5-3 s);
2. `case-money-trail.png`: scenario 4's case page once its three levels have settled;
3. `dashboard-{1280,1920}-{zh,en}.png`: the same dashboard (its screen, not the whole page)
   at 1280×720 and 1920×1080 in the language of `--lang`; `--only sizes` takes just these.

    PYTHONPATH=. .venv/bin/python docs/screenshots/take.py [--lang zh-CN|en] [--only sizes]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from bench.support.cases import trace_tree as tree
from bench.support.db import create_database, drop_database, prepare_database
from bench.support.simulator import reset_simulator
from bench.support.stack import Stack, bench_stack, clear_broker, start_stack

ROOT = Path(__file__).resolve().parents[2]

OUT = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "screenshot-supervisor-password"
SCENARIO_4 = ROOT / "scenarios" / "scenario-4-leader-impersonation.yaml"


def add_supervisor(url: str, language: str) -> str:
    from sqlalchemy import text

    from app.auth.models import Role, Unit, User
    from app.auth.service import hash_password
    from app.db import make_engine, make_sessionmaker, transaction

    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as db:
        unit = db.query(Unit).filter(Unit.code == "BENCH").one()
        db.add(
            User(
                username="duty-officer",
                display_name="值班长 王警官",
                password_hash=hash_password(PASSWORD),
                role=Role.supervisor.value,
                unit_id=unit.id,
                language=language,
            )
        )
        db.execute(text("UPDATE institution SET sla_s = 3 WHERE code = 'CITIC'"))
    engine.dispose()
    return "duty-officer"


def small_cases(api: httpx.Client) -> None:
    """A few ordinary reports, so the queue shows priorities and ages."""
    from tests.factories import case_payload, fresh_card_no, transfer_payload

    for amount, minutes, fraud in (
        ("455400.00", 18, "impersonate_customer_service"),
        ("36000.00", 95, "fake_loan"),
        ("8800.00", 40, "phishing_site"),
        ("1280000.00", 12, "fake_investment_platform"),
    ):
        to = {"institution": "ABC", "account_no": fresh_card_no("ABC"), "holder_name": "赵某"}
        paid = transfer_payload(to=to, amount=amount, minutes_ago=minutes)
        body = case_payload(transfers=[paid], fraud_type=fraud)
        body["received_at"] = (
            dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes - 3)
        ).isoformat()
        api.post(
            "/api/v1/cases", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
        ).raise_for_status()


def log_in(page: Page, username: str) -> None:
    page.goto("/login?next=/dashboard")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url("**/dashboard")


SIZES = ((1280, 720), (1920, 1080))


def sizes(page: Page, lang: str) -> None:
    """The dashboard as a supervisor sees it on a small and a large screen."""
    short = lang.split("-")[0]
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(1500)  # the chart redraws at the new size
        page.screenshot(path=OUT / f"dashboard-{width}-{short}.png")


def shoot(stack: Stack, token: str, supervisor: str, lang: str, only: str | None) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with (
        httpx.Client(base_url=stack.api_url, headers=headers, timeout=30) as api,
        stack.simulator() as sim,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        viewport = {"width": 1480, "height": 1100}
        context = browser.new_context(base_url=stack.api_url, viewport=viewport, locale=lang)
        page = context.new_page()
        log_in(page, supervisor)
        # One bank's channel down (its SLA cut to 3 s): escalations with the desk to phone.
        sim.post(
            "/admin/outage", json={"institution": "CITIC", "mode": "refuse", "seconds": 40}
        ).raise_for_status()
        small_cases(api)
        report, scenario = tree(uuid.uuid4().int % 10**9, dt.datetime.now(dt.UTC))
        sim.post("/admin/scenario", json=scenario).raise_for_status()
        api.post(
            "/api/v1/cases", json=report, headers={"Idempotency-Key": str(uuid.uuid4())}
        ).raise_for_status()
        time.sleep(9.0)  # levels 1 and 2 done or under way, level 3 being found
        if only == "sizes":
            sizes(page, lang)
            browser.close()
            return
        page.screenshot(path=OUT / "dashboard-under-load.png", full_page=True)
        sizes(page, lang)
        page.set_viewport_size(viewport)

        time.sleep(15)  # let the big case settle before the scenario replaces the simulator's
        reset_simulator(stack)
        sim.post(
            "/admin/scenario",
            content=SCENARIO_4.read_bytes(),
            headers={"content-type": "application/yaml"},
        ).raise_for_status()
        from tests.factories import case_payload, transfer_payload

        to = {"institution": "CCB", "account_no": "6217000201234567897", "holder_name": "刘某"}
        body = case_payload(
            transfers=[
                transfer_payload(to=to, amount="580000.00", occurred_at="2026-11-22T09:20:00+08:00")
            ],
            fraud_type="impersonate_boss",
        )
        answer = api.post(
            "/api/v1/cases", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        answer.raise_for_status()
        case_no = answer.json()["case_no"]
        page.goto(f"/dashboard/cases/{case_no}")
        page.locator("#trail tr.account[data-level='3']").wait_for(timeout=60_000)
        time.sleep(8)  # every level's outcome in
        page.screenshot(path=OUT / "case-money-trail.png", full_page=True)
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lang", default="zh-CN", choices=["zh-CN", "en"])
    parser.add_argument("--only", choices=["sizes"], default=None)
    args = parser.parse_args()
    lang = args.lang
    clear_broker()
    url = create_database()
    try:
        with tempfile.TemporaryDirectory(prefix="stopay-shots-") as logs:
            token = prepare_database(url)
            supervisor = add_supervisor(url, lang)
            stack = bench_stack(url, Path(logs), pool="threads", processes=2, concurrency=100)
            try:
                start_stack(stack, 2)
                shoot(stack, token, supervisor, lang, args.only)
            finally:
                stack.stop_all()
    finally:
        drop_database(url)
        clear_broker()
    return 0


if __name__ == "__main__":
    sys.exit(main())
