"""Structured logs: one JSON object a line, naming the case and instruction a line is about,
and never the victim's personal data."""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import logs
from app.config import Settings
from app.dispatch.models import Instruction
from app.institutions.models import Institution
from app.logs import JsonFormatter, TextFormatter, redact
from app.runner import children_log_format
from tests.callbacks.signing import outcome, post, signed
from tests.factories import (
    bearer,
    case_payload,
    institution,
    instructions_of,
    make_case,
    make_user,
)
from tests.logcapture import json_logs


def _record(message: str, *args: object, **attrs: Any) -> logging.LogRecord:
    record = logging.LogRecord("app.test", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(attrs)
    return record


def test_a_line_is_one_json_object_with_time_level_logger_role_and_context() -> None:
    with logs.bound(case_no="ZF-20261122-000123", instruction_id=42):
        line = json.loads(JsonFormatter("worker").format(_record("sent %s", "it")))
    assert line["message"] == "sent it"
    assert (line["level"], line["logger"], line["role"]) == ("WARNING", "app.test", "worker")
    assert (line["case_no"], line["instruction_id"]) == ("ZF-20261122-000123", 42)
    moment = dt.datetime.fromisoformat(line["time"])
    assert moment.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.UTC) - moment) < dt.timedelta(seconds=5)


def test_extra_adds_to_the_context_and_wins() -> None:
    with logs.bound(case_no="ZF-1", institution="ICBC"):
        record = _record("x", institution="CCB", attempt=3)
        line = json.loads(JsonFormatter().format(record))
    assert (line["case_no"], line["institution"], line["attempt"]) == ("ZF-1", "CCB", 3)


def test_the_context_ends_with_its_block_and_clear_forgets_a_binding() -> None:
    with logs.bound(case_no="ZF-1"):
        pass
    assert "case_no" not in json.loads(JsonFormatter().format(_record("x")))
    logs.bind(instruction_id=7)
    assert json.loads(JsonFormatter().format(_record("x")))["instruction_id"] == 7
    logs.clear()
    assert "instruction_id" not in json.loads(JsonFormatter().format(_record("x")))


def test_an_exception_is_one_string_field() -> None:
    try:
        raise ValueError("bad value for 6222020302345678122")
    except ValueError:
        record = _record("failed")
        record.exc_info = sys.exc_info()
    line = json.loads(JsonFormatter().format(record))
    assert "Traceback" in line["exc"]
    assert "ValueError" in line["exc"]
    assert "6222020302345678122" not in line["exc"]
    assert "***************8122" in line["exc"]


def test_a_database_error_keeps_its_constraint_and_hides_the_row_it_quotes(
    db: Session,
) -> None:
    case_no = make_case(db)
    stop = next(i for i in instructions_of(db, case_no) if i.kind == "stop_payment")
    holder = stop.holder_name
    assert holder
    stop.state = "done"  # without an outcome: refused by a CHECK constraint
    with pytest.raises(IntegrityError) as raised:
        db.flush()  # the test's transaction is spoilt, and rolled back at its end
    record = _record("unhandled error")
    record.exc_info = (raised.type, raised.value, raised.tb)
    line = json.loads(JsonFormatter().format(record))
    assert "ck_instruction_done_has_outcome" in line["exc"]
    assert "DETAIL:  (hidden: it may quote personal data)" in line["exc"]
    assert "Failing row" not in line["exc"]
    assert holder not in line["exc"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("phone 13800138000", "phone *******8000"),
        ("电话13800138000。", "电话*******8000。"),
        ("id 11010519491231002X", "id **************002X"),
        ("card 6222020302345678122 held", "card ***************8122 held"),
    ],
)
def test_long_numbers_are_masked_to_their_last_four(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ZF-20261122-000123",  # a case number
        "ref MB20261122092000118",  # an institution's reference
        "580000.00 CNY",
        "instruction 1234567 at 1700000000",
    ],
)
def test_numbers_that_are_not_personal_data_stay(text: str) -> None:
    assert redact(text) == text


def test_access_lines_are_structured_and_drop_the_query_string() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("10.0.0.7:51234", "GET", "/api/v1/cases?account_no=6222020302345678122", "1.1", 200),
        None,
    )
    line = json.loads(JsonFormatter("api").format(record))
    assert line["message"] == "GET /api/v1/cases 200"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v1/cases", 200)
    assert "622202" not in json.dumps(line)


def test_text_lines_name_the_context_after_the_message() -> None:
    with logs.bound(case_no="ZF-1", instruction_id=9):
        text = TextFormatter("api").format(_record("refused"))
    assert text.endswith("WARNING api app.test: refused [case_no=ZF-1 instruction_id=9]")


def test_uvicorn_logs_through_the_config_stopay_api_gives_it() -> None:
    """The dictConfig as uvicorn applies it (in a process of its own: it takes over logging)."""
    script = textwrap.dedent("""
        import logging, uvicorn
        from app.logs import logging_config
        uvicorn.Config("app.main:create_app", log_config=logging_config("api", "json"),
                       log_level="info").configure_logging()
        logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:9",
                                                 "GET", "/healthz?x=1", "1.1", 200)
        logging.getLogger("uvicorn.error").info("Started server process",
                                                extra={"color_message": "\\x1b[36mStarted"})
        logging.getLogger("app.casefile.create").info("case received")
        logging.getLogger("httpx").info("a request to an institution: too much to log")
        logging.getLogger("celery.beat").info("Scheduler: Sending due task, every second")
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("uvicorn.access", "GET /healthz 200"),
        ("uvicorn.error", "Started server process"),
        ("app.casefile.create", "case received"),
    ]
    assert {line["role"] for line in lines} == {"api"}
    assert "color_message" not in done.stderr
    assert done.stdout == ""


def _personal_values(payload: dict[str, Any]) -> list[str]:
    victim = payload["victim"]
    phone = victim["phone"]
    values = [victim["name"], victim["id_no"], phone, f"+86{phone}", phone[-8:]]
    for transfer in payload["transfers"]:
        values += [transfer["from"]["account_no"], transfer["from"]["holder_name"]]
        values += [transfer["to"]["account_no"], transfer["to"]["holder_name"]]
    return values


def _bank(db: Session, instruction: Instruction) -> str:
    return db.get_one(Institution, instruction.institution_id).code


def test_intake_and_callback_lines_name_the_case_and_no_personal_data(
    client: TestClient, db: Session
) -> None:
    payload = case_payload(transfers=2)
    user = make_user(db)
    with json_logs() as captured:
        created = client.post("/api/v1/cases", json=payload, headers=bearer(db, user))
        assert created.status_code == 201, created.text
        case_no = created.json()["case_no"]
        stop = next(i for i in instructions_of(db, case_no) if i.kind == "stop_payment")
        bank = _bank(db, stop)
        first = post(client, bank, signed(db, bank, outcome(stop)))
        assert first.json() == {"status": "applied"}, first.text
        same = signed(db, bank, outcome(stop))
        assert post(client, bank, same).json() == {"status": "duplicate"}
        assert post(client, bank, same).json() == {"status": "duplicate"}
        late = signed(db, bank, outcome(stop, outcome="no_funds", amount_stopped="0.00"))
        assert post(client, bank, late).status_code == 409

    lines = captured.lines()  # every line parses as one JSON object
    [received] = captured.about("app.casefile.create")
    assert received["case_no"] == case_no
    assert received["message"].startswith("case received")
    callback_lines = captured.about("app.callbacks.service")
    assert [line["message"].split()[2] for line in callback_lines] == [
        "applied:",
        "duplicate:",
        "repeated:",
        "disputed:",
    ]
    for line in callback_lines:
        assert (line["case_no"], line["instruction_id"], line["institution"]) == (
            case_no,
            stop.id,
            bank,
        )
    assert all(line["role"] == "api" for line in lines)
    for value in _personal_values(payload):
        assert value not in captured.text, value


def test_a_callback_for_another_institutions_instruction_names_who_tried(
    client: TestClient, db: Session
) -> None:
    user = make_user(db)
    created = client.post("/api/v1/cases", json=case_payload(), headers=bearer(db, user))
    stop = next(
        i for i in instructions_of(db, created.json()["case_no"]) if i.kind == "stop_payment"
    )
    other = "CMB" if institution(db, "CMB").id != stop.institution_id else "ABC"
    with json_logs() as captured:
        assert post(client, other, signed(db, other, outcome(stop))).status_code == 409
    [line] = captured.about("app.callbacks.service")
    assert line["institution"] == other
    assert "instruction_id" not in line


def test_stopay_run_gives_its_children_text_in_demo_mode_unless_told_otherwise() -> None:
    def settings(**values: Any) -> Settings:
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    assert children_log_format(settings(demo=True)) == "text"
    assert children_log_format(settings(demo=False)) == "json"
    assert children_log_format(settings(demo=True, log_format="json")) == "json"
