"""Tables from a value (an enum's, a state's, a kind's) to the key of its message.

Every key is written out in full under `N_`, so `pybabel extract` finds it; Python looks a
value up here, and templates do the same through the globals of app/web.py.
"""

from __future__ import annotations

from app.i18n import N_

# A user's role (auth's Role).
ROLE_LABEL: dict[str, str] = {
    "call_taker": N_("role.call_taker"),
    "supervisor": N_("role.supervisor"),
    "admin": N_("role.admin"),
    "institution": N_("role.institution"),
}

# An API token's scope.
SCOPE_LABEL: dict[str, str] = {
    "cases:read": N_("scope.cases:read"),
    "cases:write": N_("scope.cases:write"),
    "holds:write": N_("scope.holds:write"),
    "admin": N_("scope.admin"),
    "pii:reveal": N_("scope.pii:reveal"),
    "institution:read": N_("scope.institution:read"),
    "institution:rotate": N_("scope.institution:rotate"),
}

# What the admin page says after an action on a user or a token.
ADMIN_FLASH: dict[str, str] = {
    "created": N_("admin.flash.created"),
    "password_reset": N_("admin.flash.password_reset"),
    "role_changed": N_("admin.flash.role_changed"),
    "deactivated": N_("admin.flash.deactivated"),
    "activated": N_("admin.flash.activated"),
    "token_issued": N_("admin.flash.token_issued"),
    "token_revoked": N_("admin.flash.token_revoked"),
}

# A case's fraud type (FraudType).
FRAUD_LABEL: dict[str, str] = {
    "impersonate_authority": N_("fraud.impersonate_authority"),
    "impersonate_customer_service": N_("fraud.impersonate_customer_service"),
    "impersonate_boss": N_("fraud.impersonate_boss"),
    "impersonate_acquaintance": N_("fraud.impersonate_acquaintance"),
    "fake_tax_refund": N_("fraud.fake_tax_refund"),
    "impersonate_bank_staff": N_("fraud.impersonate_bank_staff"),
    "fake_prize": N_("fraud.fake_prize"),
    "insider_tips": N_("fraud.insider_tips"),
    "fake_loan": N_("fraud.fake_loan"),
    "phishing_site": N_("fraud.phishing_site"),
    "contraband": N_("fraud.contraband"),
    "fake_kidnapping": N_("fraud.fake_kidnapping"),
    "brushing_rebate": N_("fraud.brushing_rebate"),
    "romance_investment": N_("fraud.romance_investment"),
    "fake_investment_platform": N_("fraud.fake_investment_platform"),
    "online_gambling": N_("fraud.online_gambling"),
    "other": N_("fraud.other"),
}

# How the report reached us (the call's channel).
CHANNEL_LABEL: dict[str, str] = {
    "phone_call": N_("channel.phone_call"),
    "walk_in": N_("channel.walk_in"),
    "online": N_("channel.online"),
    "bank_referral": N_("channel.bank_referral"),
}

# How the victim made a transfer.
TRANSFER_CHANNEL_LABEL: dict[str, str] = {
    "online_banking": N_("tchannel.online_banking"),
    "mobile_banking": N_("tchannel.mobile_banking"),
    "payment_app": N_("tchannel.payment_app"),
    "atm": N_("tchannel.atm"),
    "counter": N_("tchannel.counter"),
    "pos": N_("tchannel.pos"),
    "other": N_("tchannel.other"),
}

# The kind of a suspect's contact.
CONTACT_LABEL: dict[str, str] = {
    "phone": N_("contact.phone"),
    "qq": N_("contact.qq"),
    "wechat": N_("contact.wechat"),
    "url": N_("contact.url"),
    "app": N_("contact.app"),
    "other": N_("contact.other"),
}

# The field an institution found not to match.
MISMATCH_FIELD_LABEL: dict[str, str] = {
    "holder_name": N_("mfield.holder_name"),
    "amount": N_("mfield.amount"),
    "transaction_time": N_("mfield.transaction_time"),
    "account_no": N_("mfield.account_no"),
}

# A case's priority.
PRIORITY_LABEL: dict[str, str] = {
    "special": N_("priority.special"),
    "high": N_("priority.high"),
    "medium": N_("priority.medium"),
    "low": N_("priority.low"),
}

# A case's status (CaseStatus).
CASE_STATUS_LABEL: dict[str, str] = {
    "stopping": N_("casestatus.stopping"),
    "stopped": N_("casestatus.stopped"),
    "partly_stopped": N_("casestatus.partly_stopped"),
    "nothing_stopped": N_("casestatus.nothing_stopped"),
    "freezing": N_("casestatus.freezing"),
    "frozen": N_("casestatus.frozen"),
    "returning": N_("casestatus.returning"),
    "closed": N_("casestatus.closed"),
}

# An instruction's kind (InstructionKind).
KIND_LABEL: dict[str, str] = {
    "stop_payment": N_("kind.stop_payment"),
    "freeze": N_("kind.freeze"),
    "query": N_("kind.query"),
    "release": N_("kind.release"),
    "register": N_("kind.register"),
}

# An instruction's state (InstructionState).
STATE_LABEL: dict[str, str] = {
    "pending": N_("state.pending"),
    "sent": N_("state.sent"),
    "done": N_("state.done"),
    "escalated": N_("state.escalated"),
    "expired": N_("state.expired"),
}

# An instruction's outcome (Outcome).
OUTCOME_LABEL: dict[str, str] = {
    "stopped_full": N_("outcome.stopped_full"),
    "stopped_partial": N_("outcome.stopped_partial"),
    "frozen_full": N_("outcome.frozen_full"),
    "frozen_partial": N_("outcome.frozen_partial"),
    "released": N_("outcome.released"),
    "answered": N_("outcome.answered"),
    "registered": N_("outcome.registered"),
    "no_funds": N_("outcome.no_funds"),
    "mismatch": N_("outcome.mismatch"),
    "account_not_found": N_("outcome.account_not_found"),
    "rejected": N_("outcome.rejected"),
}

# A deadline on the dashboard, by its kind.
DEADLINE_LABEL: dict[str, str] = {
    "lapsing": N_("dash.deadline.lapsing"),
    "lapsed": N_("dash.deadline.lapsed"),
    "freeze_renewal": N_("dash.deadline.freeze_renewal"),
    "return_due": N_("dash.deadline.return_due"),
    "return_overdue": N_("dash.deadline.return_overdue"),
}

# An institution's circuit breaker state.
BREAKER_LABEL: dict[str, str] = {
    "closed": N_("dash.breaker.closed"),
    "open": N_("dash.breaker.open"),
    "half_open": N_("dash.breaker.half_open"),
}

# An account's state in the money trail (its colour class).
# Each receiving account's fate (app/casefile/fates.py), and the victim's own accounts.
TRAIL_STATE_LABEL: dict[str, str] = {
    "victim": N_("dash.st.victim"),
    "waiting": N_("fate.waiting"),
    "sent": N_("fate.sent"),
    "acked": N_("fate.acked"),
    "escalated": N_("fate.escalated"),
    "stopped": N_("fate.stopped"),
    "partly_stopped": N_("fate.partly_stopped"),
    "frozen": N_("fate.frozen"),
    "no_funds": N_("fate.no_funds"),
    "cashed_out": N_("fate.cashed_out"),
    "mismatch": N_("fate.mismatch"),
    "not_found": N_("fate.not_found"),
    "refused": N_("fate.refused"),
    "released": N_("fate.released"),
    "lapsed": N_("fate.lapsed"),
    "held_elsewhere": N_("fate.held_elsewhere"),
    "below_minimum": N_("fate.below_minimum"),
    "beyond_depth": N_("fate.beyond_depth"),
    "not_stopped": N_("fate.not_stopped"),
}

# What went wrong with an institution, by class (app/dispatch/failures.py).
FAILURE_LABEL: dict[str, str] = {
    "timeout": N_("dash.failure.timeout"),
    "unreachable": N_("dash.failure.unreachable"),
    "server_error": N_("dash.failure.server_error"),
    "rate_limited": N_("dash.failure.rate_limited"),
    "refused": N_("dash.failure.refused"),
    "bad_answer": N_("dash.failure.bad_answer"),
    "circuit_open": N_("dash.failure.circuit_open"),
    "busy": N_("dash.failure.busy"),
    "no_ack": N_("dash.failure.no_ack"),
    "other": N_("dash.failure.other"),
}

# A pydantic error's type; a type not here reads field.invalid.
FIELD_ERROR: dict[str, str] = {
    "lone_surrogate": N_("field.lone_surrogate"),
    "missing": N_("field.missing"),
    "extra_forbidden": N_("field.extra_forbidden"),
    "string_too_long": N_("field.string_too_long"),
    "string_too_short": N_("field.string_too_short"),
    "too_long": N_("field.too_long"),
    "too_short": N_("field.too_short"),
    "invalid": N_("field.invalid"),
    "enum": N_("field.enum"),
    "json_invalid": N_("field.json_invalid"),
    "greater_than": N_("field.greater_than"),
    "greater_than_equal": N_("field.greater_than_equal"),
    "int_parsing": N_("field.int_parsing"),
    "int_type": N_("field.int_type"),
    "literal_error": N_("field.literal_error"),
    "less_than_equal": N_("field.less_than_equal"),
    "decimal_max_places": N_("field.decimal_max_places"),
    "decimal_parsing": N_("field.decimal_parsing"),
    "datetime_from_date_parsing": N_("field.datetime_from_date_parsing"),
    "datetime_parsing": N_("field.datetime_parsing"),
    "datetime_type": N_("field.datetime_type"),
    "string_type": N_("field.string_type"),
    "bool_type": N_("field.bool_type"),
    "bool_parsing": N_("field.bool_parsing"),
    "list_type": N_("field.list_type"),
    "model_type": N_("field.model_type"),
    "model_attributes_type": N_("field.model_attributes_type"),
    "decimal_type": N_("field.decimal_type"),
    "dict_type": N_("field.dict_type"),
}

# The messages intake.js shows (its msg(key)): the intake page sends them in its language.
SCRIPT_MESSAGES: tuple[str, ...] = (
    N_("form.amount_unreadable"),
    N_("form.fix_above"),
    N_("form.fraud_type_unknown"),
    N_("form.offline"),
    N_("form.saved_local"),
    N_("form.saved_server"),
    N_("form.submit_failed"),
    N_("form.time_unreadable"),
    N_("form.phone_confirm"),
    N_("form.fraud_type_required"),
)

# The tables templates look values up in.
# What an institution's callback was answered (its own view's deliveries).
ANSWER_LABEL: dict[str, str] = {
    "applied": N_("portal.answer.applied"),
    "duplicate": N_("portal.answer.duplicate"),
    "ignored": N_("portal.answer.ignored"),
    "refused": N_("portal.answer.refused"),
    "unknown": N_("portal.answer.unknown"),
}

TEMPLATE_TABLES: dict[str, dict[str, str]] = {
    "ROLE_LABEL": ROLE_LABEL,
    "SCOPE_LABEL": SCOPE_LABEL,
    "ADMIN_FLASH": ADMIN_FLASH,
    "FRAUD_LABEL": FRAUD_LABEL,
    "CHANNEL_LABEL": CHANNEL_LABEL,
    "TRANSFER_CHANNEL_LABEL": TRANSFER_CHANNEL_LABEL,
    "CONTACT_LABEL": CONTACT_LABEL,
    "MISMATCH_FIELD_LABEL": MISMATCH_FIELD_LABEL,
    "PRIORITY_LABEL": PRIORITY_LABEL,
    "CASE_STATUS_LABEL": CASE_STATUS_LABEL,
    "KIND_LABEL": KIND_LABEL,
    "STATE_LABEL": STATE_LABEL,
    "OUTCOME_LABEL": OUTCOME_LABEL,
    "DEADLINE_LABEL": DEADLINE_LABEL,
    "BREAKER_LABEL": BREAKER_LABEL,
    "TRAIL_STATE_LABEL": TRAIL_STATE_LABEL,
    "FAILURE_LABEL": FAILURE_LABEL,
    "ANSWER_LABEL": ANSWER_LABEL,
}
