"""An institution's error, by class, in the viewer's language; the raw error kept."""

from __future__ import annotations

import pytest

from app.dashboard.failures import FailureClass, failure_class
from app.i18n import t
from app.i18n.labels import FAILURE_LABEL
from app.institutions.desks import desks


@pytest.mark.parametrize(
    ("error", "cls"),
    [
        ("BOC: answered 500", FailureClass.server_error),
        ("CCB: answered 503", FailureClass.server_error),
        ("ICBC: no answer in time (ReadTimeout)", FailureClass.timeout),
        ("ICBC: cannot connect (ConnectError)", FailureClass.unreachable),
        ("ABC: rate limited (429)", FailureClass.rate_limited),
        ("ABC: refused with 400", FailureClass.refused),
        ("CMB: unreadable acknowledgement", FailureClass.bad_answer),
        ("CMB: circuit open", FailureClass.circuit_open),
        ("CMB: at its concurrency cap", FailureClass.busy),
        ("no acknowledgement within the SLA", FailureClass.no_ack),
        ("something new", FailureClass.other),
        (None, None),
    ],
)
def test_each_worker_error_has_its_class(error: str | None, cls: FailureClass | None) -> None:
    assert failure_class(error) == cls


def test_every_class_reads_in_both_languages_without_the_raw_english() -> None:
    for cls in FailureClass:
        zh, en = t(FAILURE_LABEL[cls], "zh-CN"), t(FAILURE_LABEL[cls], "en")
        assert zh != en
        assert not any(c.isascii() and c.isalpha() for c in zh), zh


def test_every_desk_has_a_chinese_and_an_english_name() -> None:
    for code, desk in desks().items():
        assert not any(c.isascii() and c.isalpha() for c in desk.desk_zh), code
        assert all(ord(c) < 0x2E80 for c in desk.desk_en), code
