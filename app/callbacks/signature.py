"""A callback's Standard Webhooks signature, verified with the institution's secret (or,
while a rotation is under way, its previous one). Each way a signature can fail is a
problem type of its own (app/problems.py), so a bank's developer reads which rule broke."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.callbacks.sender import Sender
from app.errors import Unauthorized
from app.i18n import N_, msg

# Standard Webhooks' tolerance, both ways: Webhook.verify checks it again.
TOLERANCE_S = 300
# A webhook-timestamp far from now as seconds but near it as milliseconds was sent in ms.
MILLISECONDS = 1000


def timestamp_problem(headers: Mapping[str, str], now_s: float) -> str | None:
    """Why the signature headers cannot be verified before any HMAC is computed, if they
    cannot: each reason is a problem type of its own (app/problems.py), so a bank's
    developer reads which rule they broke."""
    if not all(
        headers.get(name) for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
    ):
        return N_("callback.signature_headers_missing")
    raw = headers["webhook-timestamp"].strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 16:
        return N_("callback.timestamp_malformed")
    if abs(int(raw) - now_s) <= TOLERANCE_S:
        return None
    if abs(int(raw) / MILLISECONDS - now_s) <= TOLERANCE_S:
        return N_("callback.timestamp_in_milliseconds")
    return N_("callback.timestamp_out_of_tolerance")


def verified(institution: Sender, body: bytes, headers: Mapping[str, str], now: dt.datetime) -> str:
    """The webhook-id of a body the institution signed (not parsed yet: see body.py)."""
    # The wall clock, as Webhook.verify reads it (`now` may be a test's or the legal clock).
    problem = timestamp_problem(headers, time.time())
    if problem is not None:
        raise Unauthorized(msg(problem, tolerance_s=TOLERANCE_S))
    # While a rotation's overlap lasts the institution may still sign with the old secret.
    for secret in institution.verifying_secrets(now):
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
            break
        except WebhookVerificationError:
            continue
    else:
        raise Unauthorized(msg("callback.bad_signature"))
    return headers["webhook-id"]
