"""Every word a page shows for a status, kind, state or outcome exists in both languages."""

from __future__ import annotations

from enum import StrEnum

import pytest

from app.cases.models import CaseStatus
from app.dispatch.models import InstructionKind, InstructionState, Outcome
from app.i18n import LANGUAGES, MESSAGES


@pytest.mark.parametrize(
    ("prefix", "enum"),
    [
        ("casestatus", CaseStatus),
        ("kind", InstructionKind),
        ("state", InstructionState),
        ("outcome", Outcome),
    ],
)
def test_each_value_has_a_label_in_both_languages(prefix: str, enum: type[StrEnum]) -> None:
    missing = [f"{prefix}.{v.value}" for v in enum if f"{prefix}.{v.value}" not in MESSAGES]
    assert missing == []
    for value in enum:
        assert set(MESSAGES[f"{prefix}.{value.value}"]) == set(LANGUAGES)
