"""An institution's error, by class, in the viewer's language; the raw error kept. The
class is the adapter's own (tests/workers/test_adapters.py); here, how each reads."""

from __future__ import annotations

from app.dispatch.failures import FailureClass
from app.i18n import t
from app.i18n.labels import FAILURE_LABEL
from app.institutions.desks import desks


def test_every_class_reads_in_both_languages_without_the_raw_english() -> None:
    assert set(FAILURE_LABEL) == set(FailureClass)
    for cls in FailureClass:
        zh, en = t(FAILURE_LABEL[cls], "zh-CN"), t(FAILURE_LABEL[cls], "en")
        assert zh != en
        assert not any(c.isascii() and c.isalpha() for c in zh), zh


def test_every_desk_has_a_chinese_and_an_english_name() -> None:
    for code, desk in desks().items():
        assert not any(c.isascii() and c.isalpha() for c in desk.desk_zh), code
        assert all(ord(c) < 0x2E80 for c in desk.desk_en), code
