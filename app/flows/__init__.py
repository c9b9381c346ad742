"""What happens after an outcome or an action, across domains, as named use-cases.

Routers (app/api, app/pages) and Celery tasks (workers/) call these; the domain services
below them never roll a case up nor apply an outcome's consequences themselves:

- `outcome_received`: a signed callback is checked, applied once, the money it reports is
  followed, the hold's legal clock starts or ends, and the case is rolled up;
- `freeze`, `renew`, `release`, `resend`: a person's action on an account, then the roll-up;
- `confirm_returns`, `complete_return`: returning frozen money, then the roll-up;
- `deadline_passed`: the legal clock's watch (beat), then the roll-up of what it touched.

Live views (the intake page, the dashboard) follow by polling the database: nothing here
has to notify them. `Rules` is the one object the rules from settings are read into.
"""

from app.flows.actions import (
    complete_return,
    confirm_returns,
    deadline_passed,
    freeze,
    release,
    renew,
    resend,
)
from app.flows.outcome import outcome_received
from app.flows.rules import Rules, current_rules

__all__ = [
    "Rules",
    "complete_return",
    "confirm_returns",
    "current_rules",
    "deadline_passed",
    "freeze",
    "outcome_received",
    "release",
    "renew",
    "resend",
]
