"""Audit keys for tests: the ones `stopay audit verify` is given through settings too."""

from __future__ import annotations

from app.audit.keys import Keyring
from tests.conftest import TEST_AUDIT_KEY

AUDIT_KEY = TEST_AUDIT_KEY
AUDIT_KEY_ID = "test-1"
KEYS = Keyring(current_id=AUDIT_KEY_ID, keys={AUDIT_KEY_ID: AUDIT_KEY.encode()})
