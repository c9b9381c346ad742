"""The HTTP adapter names each failure's class as it meets it: the pages say the class in
words, and nothing reads it back out of the English. (A peer that is not there is
`unreachable`: tests/workers/test_fan_out.py, through the worker.)"""

from __future__ import annotations

import pytest

from app.dispatch.failures import FailureClass
from workers.adapters.base import PermanentFailure, RetryableFailure
from workers.adapters.simulated import _answer


@pytest.mark.parametrize(
    ("status", "text", "failure"),
    [
        (202, "not json", FailureClass.bad_answer),
        (202, '{"status": "accepted"}', FailureClass.bad_answer),
        (429, "", FailureClass.rate_limited),
        (500, "", FailureClass.server_error),
        (503, "", FailureClass.server_error),
        (408, "", FailureClass.timeout),
        (409, "", FailureClass.other),
        (425, "", FailureClass.other),
    ],
)
def test_an_answer_to_try_again_names_its_class(
    status: int, text: str, failure: FailureClass
) -> None:
    with pytest.raises(RetryableFailure) as raised:
        _answer("BOC", status, {}, text)
    assert raised.value.failure is failure
    assert str(raised.value).startswith("BOC: ")  # the raw error stays for the tooltip


@pytest.mark.parametrize("status", [400, 404, 422])
def test_a_refusal_is_refused(status: int) -> None:
    with pytest.raises(PermanentFailure) as raised:
        _answer("BOC", status, {}, "no such account")
    assert raised.value.failure is FailureClass.refused
