"""The intake rules: every field checked, every problem reported at once with its field path.

`resolve_case` turns a structurally valid CaseCreate into a plan the writer can store:
institutions resolved (a card's BIN decides when none was given), accounts normalised and
classified, times made zone-aware, and each account's level in the money trail.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections import defaultdict, deque
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

import phonenumbers
from stdnum.cn import ric

from app.cards import luhn_ok
from app.cases.models import AccountKind, ContactKind
from app.cases.schemas import AccountRef, CaseCreate
from app.errors import Invalid
from app.i18n import N_, Named, msg
from app.institutions.models import Institution, InstitutionKind
from app.institutions.service import BinIndex, registry_names

CLOCK_SKEW = dt.timedelta(minutes=5)
LOOKBACK = dt.timedelta(days=365)
BANK_ACCOUNT_DIGITS = (8, 30)
CARD_DIGITS = (16, 19)


@dataclass(frozen=True)
class FieldProblem:
    """One broken rule: where (a dotted path into the body), which message, its parameters."""

    path: str
    key: str
    params: dict[str, str | Named] = field(default_factory=dict)


class CaseInvalid(Invalid):
    """422: every broken rule, each with its field path and message key."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        errors = [
            {"field": p.path, "message": msg(p.key, **p.params), "type": p.key} for p in problems
        ]
        super().__init__(msg("problem.validation_detail", count=len(errors)), errors=errors)
        self.args = (f"{len(problems)} problem(s)",)
        self.problems = problems


@dataclass(frozen=True)
class InstitutionRef:
    """What intake needs to know of an institution (a plain value, safe to cache)."""

    id: int
    code: str
    kind: str
    name: Named
    bin_prefixes: tuple[str, ...]


class Directory:
    """The institutions, by code (or name, or alias) and by card BIN."""

    def __init__(self, institutions: list[Institution]) -> None:
        refs = [
            InstitutionRef(i.id, i.code, i.kind, Named(i.name_zh, i.name_en), tuple(i.bin_prefixes))
            for i in institutions
        ]
        self.by_code = {i.code: i for i in refs}
        self.bins = BinIndex(refs)
        self.names = registry_names()

    def find(self, text: str) -> InstitutionRef | None:
        """The institution `text` names: its code, a name or an alias (`工行`, `支付宝`)."""
        found = self.by_code.get(text.strip().upper())
        code = self.names.find(text) if found is None else None
        return self.by_code.get(code) if code else found


@dataclass(frozen=True)
class ResolvedAccount:
    institution: InstitutionRef
    account_no: str
    norm: str
    kind: AccountKind
    holder_name: str | None

    @property
    def key(self) -> tuple[int, str]:
        return (self.institution.id, self.norm)


@dataclass(frozen=True)
class ResolvedTransfer:
    index: int
    occurred_at: dt.datetime
    amount: Decimal
    from_: ResolvedAccount
    to: ResolvedAccount


@dataclass
class ResolvedCase:
    data: CaseCreate
    received_at: dt.datetime
    victim_id_no: str | None
    victim_phone: str | None
    transfers: list[ResolvedTransfer]
    levels: dict[tuple[int, str], int]
    accounts: dict[tuple[int, str], ResolvedAccount]

    @property
    def total_amount(self) -> Decimal:
        """What the victim sent: the transfers out of level-0 accounts."""
        return sum((t.amount for t in self.transfers if self.levels[t.from_.key] == 0), Decimal(0))

    @property
    def last_transfer_at(self) -> dt.datetime:
        return max(t.occurred_at for t in self.transfers)

    def inflow(self, key: tuple[int, str]) -> Decimal:
        return sum((t.amount for t in self.transfers if t.to.key == key), Decimal(0))

    def last_inflow_at(self, key: tuple[int, str]) -> dt.datetime | None:
        return max((t.occurred_at for t in self.transfers if t.to.key == key), default=None)


def warm_up() -> None:
    """Load the lookup tables the checks use (the ID check reads ~0.4 s of data on first use),
    so the first report after a start is as fast as the rest."""
    ric.is_valid("11010519491231002X")
    _phone_e164("13800138000")


def normalise_account_no(account_no: str) -> str:
    """The identity of an account number: NFKC-normalised (full-width "６" is "6"),
    separators dropped, letters upper-cased."""
    text = unicodedata.normalize("NFKC", account_no)
    return "".join(ch for ch in text if ch not in " -\u3000").upper()


def ascii_digits(text: str) -> bool:
    """Only 0-9: str.isdigit() alone is true of "²" and "٣" too."""
    return text.isascii() and text.isdigit()


def _aware(value: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def resolve_account(
    ref: AccountRef, path: str, directory: Directory, problems: list[FieldProblem]
) -> ResolvedAccount | None:
    account_no = ref.account_no.strip()
    norm = normalise_account_no(account_no)
    if not norm:
        problems.append(FieldProblem(f"{path}.account_no", N_("case.blank")))
        return None
    if any(ch.isspace() for ch in norm):
        problems.append(FieldProblem(f"{path}.account_no", N_("case.account_spaces")))
        return None
    bin_code = directory.bins.lookup(norm) if ascii_digits(norm) else None
    if ref.institution is None:
        if bin_code is None:
            problems.append(FieldProblem(f"{path}.institution", N_("case.institution_required")))
            return None
        institution = directory.by_code[bin_code]
    else:
        found = directory.find(ref.institution)
        if found is None:
            problems.append(
                FieldProblem(
                    f"{path}.institution", N_("case.institution_unknown"), {"code": ref.institution}
                )
            )
            return None
        institution = found
    if institution.kind == InstitutionKind.national_platform:
        problems.append(
            FieldProblem(
                f"{path}.institution", N_("case.institution_not_party"), {"name": institution.name}
            )
        )
        return None

    kind: AccountKind | None = AccountKind.payment_account
    if institution.kind == InstitutionKind.bank:
        kind = _check_bank_number(norm, institution, bin_code, directory, path, problems)
    if kind is None:
        return None
    holder = ref.holder_name.strip() if ref.holder_name else None
    return ResolvedAccount(institution, account_no, norm, kind, holder or None)


def _check_bank_number(
    norm: str,
    institution: InstitutionRef,
    bin_code: str | None,
    directory: Directory,
    path: str,
    problems: list[FieldProblem],
) -> AccountKind | None:
    """A number whose BIN we know is a card (length and Luhn checked); else an account."""
    where = f"{path}.account_no"
    if not ascii_digits(norm):
        problems.append(FieldProblem(where, N_("case.account_digits")))
        return None
    if bin_code is None:
        low, high = BANK_ACCOUNT_DIGITS
        if not low <= len(norm) <= high:
            problems.append(
                FieldProblem(where, N_("case.account_length"), {"min": str(low), "max": str(high)})
            )
            return None
        return AccountKind.bank_account
    if not CARD_DIGITS[0] <= len(norm) <= CARD_DIGITS[1]:
        problems.append(FieldProblem(where, N_("case.card_length")))
        return None
    if not luhn_ok(norm):
        problems.append(FieldProblem(where, N_("case.card_luhn")))
        return None
    if bin_code != institution.code:
        bank = directory.by_code[bin_code]
        problems.append(
            FieldProblem(
                where, N_("case.card_bin_mismatch"), {"bank": bank.name, "code": bank.code}
            )
        )
        return None
    return AccountKind.bank_card


def _check_victim(data: CaseCreate, problems: list[FieldProblem]) -> tuple[str | None, str | None]:
    victim = data.victim
    if not victim.name.strip():
        problems.append(FieldProblem("victim.name", N_("case.blank")))
    id_no = None
    if victim.id_no and victim.id_no.strip():
        candidate = victim.id_no.strip().upper()
        if ric.is_valid(candidate):
            id_no = candidate
        else:
            problems.append(FieldProblem("victim.id_no", N_("case.id_no")))
    phone = None
    if victim.phone and victim.phone.strip():
        phone = _phone_e164(victim.phone)
        if phone is None:
            problems.append(FieldProblem("victim.phone", N_("case.phone")))
    if victim.is_enterprise and not (victim.enterprise_name or "").strip():
        problems.append(FieldProblem("victim.enterprise_name", N_("case.enterprise_name")))
    return id_no, phone


def _phone_e164(raw: str) -> str | None:
    try:
        number = phonenumbers.parse(raw.strip(), "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _check_contacts(data: CaseCreate, problems: list[FieldProblem]) -> None:
    for i, contact in enumerate(data.contacts):
        value = contact.value.strip()
        where = f"contacts.{i}.value"
        if not value:
            problems.append(FieldProblem(where, N_("case.blank")))
        elif contact.kind == ContactKind.qq and not (value.isdigit() and 5 <= len(value) <= 12):
            problems.append(FieldProblem(where, N_("case.qq")))
        elif contact.kind == ContactKind.phone:
            # Fraudsters call from abroad and from virtual numbers: possible is enough here.
            try:
                possible = phonenumbers.is_possible_number(phonenumbers.parse(value, "CN"))
            except phonenumbers.NumberParseException:
                possible = False
            if not possible:
                problems.append(FieldProblem(where, N_("case.phone")))


def _check_time(
    value: dt.datetime, where: str, earliest: dt.datetime, now: dt.datetime, key: str
) -> list[FieldProblem]:
    if value > now + CLOCK_SKEW:
        return [FieldProblem(where, N_("case.time_future"))]
    if value < earliest:
        return [FieldProblem(where, key)]
    return []


def _levels(
    transfers: list[ResolvedTransfer], problems: list[FieldProblem]
) -> dict[tuple[int, str], int]:
    """Level of each account: 0 for accounts that only pay out, then one more per hop."""
    onward: dict[tuple[int, str], list[tuple[int, str]]] = defaultdict(list)
    receivers = {t.to.key for t in transfers}
    for t in transfers:
        onward[t.from_.key].append(t.to.key)
    roots = [t.from_.key for t in transfers if t.from_.key not in receivers]
    levels: dict[tuple[int, str], int] = dict.fromkeys(roots, 0)
    queue = deque(roots)
    while queue:
        key = queue.popleft()
        for nxt in onward[key]:
            if nxt not in levels:
                levels[nxt] = levels[key] + 1
                queue.append(nxt)
    for t in transfers:
        if t.from_.key not in levels:
            problems.append(
                FieldProblem(f"transfers.{t.index}.from.account_no", N_("case.no_origin"))
            )
            break
    return levels


def resolve_case(
    data: CaseCreate, *, directory: Directory, now: dt.datetime, zone: ZoneInfo
) -> ResolvedCase:
    """Check every rule; raise CaseInvalid listing all problems, or return the plan."""
    problems: list[FieldProblem] = []
    received_at = _aware(data.received_at, zone)
    problems += _check_time(
        received_at, "received_at", now - LOOKBACK, now, N_("case.received_too_old")
    )
    id_no, phone = _check_victim(data, problems)
    _check_contacts(data, problems)

    transfers: list[ResolvedTransfer] = []
    for i, item in enumerate(data.transfers):
        occurred_at = _aware(item.occurred_at, zone)
        problems += _check_time(
            occurred_at,
            f"transfers.{i}.occurred_at",
            received_at - LOOKBACK,
            now,
            N_("case.time_too_old"),
        )
        source = resolve_account(item.from_, f"transfers.{i}.from", directory, problems)
        target = resolve_account(item.to, f"transfers.{i}.to", directory, problems)
        if source is None or target is None:
            continue
        if source.key == target.key:
            problems.append(FieldProblem(f"transfers.{i}.to.account_no", N_("case.same_account")))
            continue
        transfers.append(ResolvedTransfer(i, occurred_at, item.amount, source, target))

    levels = _levels(transfers, problems) if not problems else {}
    if problems:
        raise CaseInvalid(problems)
    accounts: dict[tuple[int, str], ResolvedAccount] = {}
    for t in transfers:
        # The first mention that names the holder wins.
        for acc in (t.from_, t.to):
            known = accounts.get(acc.key)
            if known is None or (known.holder_name is None and acc.holder_name):
                accounts[acc.key] = acc
    return ResolvedCase(data, received_at, id_no, phone, transfers, levels, accounts)


def check_transaction_time(
    value: dt.datetime, *, where: str, received_at: dt.datetime, now: dt.datetime
) -> list[FieldProblem]:
    """A transfer's time as intake checks it: not in the future, not before the call minus
    a year (for corrections sent after intake, such as a resend's transaction_time)."""
    return _check_time(value, where, received_at - LOOKBACK, now, N_("case.time_too_old"))


def check_holder_name(value: str, *, where: str) -> list[FieldProblem]:
    """A holder name as intake keeps it: trimmed, and not blank."""
    return [] if value.strip() else [FieldProblem(where, N_("case.blank"))]
