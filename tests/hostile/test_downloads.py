"""Downloads named by hostile text: a freeze document's scan under an uploaded file name
that tries to split the header, and a case export whose names are spreadsheet formulas."""

from __future__ import annotations

import base64
import csv
import io
from email.message import Message

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.casework import instructions, make_case, report, supervisor_of
from tests.factories import fresh_card_no

SCAN = base64.b64encode(b"%PDF-1.4 freeze decision").decode()
NAME = '冻结"决定书\r\nSet-Cookie: session=x; \\..\\a.pdf'


def test_a_scan_s_hostile_file_name_is_one_header_parameter(
    client: TestClient, db: Session
) -> None:
    card = fresh_card_no("CCB")
    case = make_case(db, (card, "9000.00"))
    [stop] = instructions(db, case)
    report(client, db, stop)
    boss = supervisor_of(db, case)
    scan = {"filename": NAME, "content_type": "application/pdf", "content_base64": SCAN}
    body = {
        "institution": "CCB",
        "account_no": card,
        "document_no": "冻字〔2026〕9号",
        "scan": scan,
    }
    frozen = client.post(f"/api/v1/cases/{case.case_no}/freezes", json=body, headers=boss)
    assert frozen.status_code == 201, frozen.text
    url = f"/api/v1/cases/{case.case_no}/documents/{frozen.json()['document_id']}"
    answer = client.get(url, headers=boss)
    assert answer.status_code == 200
    assert "set-cookie" not in answer.headers
    header = answer.headers["content-disposition"]
    assert header.startswith('inline; filename="')
    [extended] = [p for p in header.split("; ") if p.startswith("filename*=")]
    message = Message()
    message["Content-Disposition"] = f"inline; {extended}"
    assert message.get_filename() == NAME


def test_a_case_export_turns_formula_names_into_text(client: TestClient, db: Session) -> None:
    card = fresh_card_no("CCB")
    case = make_case(db, (card, "9000.00"))
    [stop] = instructions(db, case)
    stop.holder_name = '=HYPERLINK("https://evil.example","XSS")'  # as typed at intake
    report(client, db, stop)
    answer = client.get(f"/api/v1/cases/{case.case_no}/export.csv", headers=supervisor_of(db, case))
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == (
        f"attachment; filename=\"{case.case_no}.csv\"; filename*=UTF-8''{case.case_no}.csv"
    )
    [header, row, *_later] = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert row[header.index("holder_name")] == "'" + '=HYPERLINK("https://evil.example","XSS")'
