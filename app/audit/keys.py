"""The audit chain's keys: HMAC-SHA256 under keys kept out of the database, each with an id.

Seals and checkpoint lines record the id of the key that made them; verifying accepts every
configured key (the current one and the previous ones after a rotation) by that id.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from app.config import Settings

# Demo mode without a configured key: a key derived from the secret key, under this id.
DERIVED_KEY_ID = "derived"


class UnknownKey(LookupError):
    """A seal or checkpoint names a key id that is not configured."""


@dataclass(frozen=True)
class Keyring:
    current_id: str
    keys: Mapping[str, bytes]

    def sign(self, message: bytes, *, key_id: str | None = None) -> str:
        """HMAC-SHA256 of the message under the key with that id (the current one if none)."""
        wanted = self.current_id if key_id is None else key_id
        key = self.keys.get(wanted)
        if key is None:
            raise UnknownKey(wanted)
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    def holds(self, message: bytes, mac: str, *, key_id: str) -> bool:
        return hmac.compare_digest(self.sign(message, key_id=key_id), mac)

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        keys = {k: v.get_secret_value().encode() for k, v in settings.audit_previous_keys.items()}
        if settings.audit_key is not None:
            current_id, key = settings.audit_key_id, settings.audit_key.get_secret_value()
        elif settings.audit_key_file is not None:
            current_id = settings.audit_key_id
            key = settings.audit_key_file.read_text(encoding="utf-8").strip()
        else:
            settings.check_secrets()  # outside demo mode a key must be set
            current_id, key = DERIVED_KEY_ID, derived_key(settings.secret_key)
        if not key:
            raise RuntimeError("the audit key is empty (STOPAY_AUDIT_KEY / _FILE)")
        keys[current_id] = key.encode()
        return cls(current_id=current_id, keys=keys)


def derived_key(secret_key: str) -> str:
    """The demo key: not in the database, but anyone who knows the secret key has it."""
    return hmac.new(secret_key.encode(), b"stopay audit seal key", hashlib.sha256).hexdigest()
