"""The simulated institutions: their state, and what they do with each request.

Everything runs on one asyncio event loop. State changes happen in plain (synchronous)
methods, so no other request or task can interleave with them: a key is taken, an outcome
applied or a ledger entry written in one step.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import logging
import uuid
from collections import Counter
from collections.abc import Coroutine, Sequence
from typing import Any

import pydantic

from simulator.accounts import AccountBook, Seeder, account_from_scenario
from simulator.callbacks import Callback, CallbackSender
from simulator.faults import Draw, Outages, RateLimiter, draw
from simulator.instructions import (
    Answer,
    InstructionRecord,
    accepted,
    callback_body,
    invalid,
    key_is_valid,
    problem,
)
from simulator.ledger import Ledger
from simulator.live import LiveParameters, generate
from simulator.moving import LiveMoney
from simulator.outcomes import apply_instruction
from simulator.profiles import Profile, ProfileBook, ProfileFile
from simulator.registry import BinIndex, RegistryEntry, derive_callback_secret
from simulator.scenarios import Scenario
from simulator.schemas import InstructionIn, Kind

log = logging.getLogger(__name__)


class Simulator:
    """Every institution of the registry, played by one process."""

    def __init__(
        self,
        *,
        registry: Sequence[RegistryEntry],
        profile_source: ProfileFile,
        secret_key: str,
        public_api_url: str,
        scenarios: Sequence[Scenario] = (),
    ) -> None:
        self.registry = {entry.code: entry for entry in registry}
        self._bins = BinIndex(registry)
        self._profile_source = profile_source
        self.profiles = ProfileBook(profile_source, codes=self.registry)
        self.ledger = Ledger()
        self.accounts = AccountBook(Seeder(list(registry)))
        self.live = LiveMoney(self.accounts)
        self.outages = Outages()
        self.limiter = RateLimiter()
        callback_secrets = {
            code: derive_callback_secret(secret_key=secret_key, code=code) for code in self.registry
        }
        self.sender = CallbackSender(
            ledger=self.ledger, secrets=callback_secrets, policy=profile_source.callbacks
        )
        self._public_api_url = public_api_url.rstrip("/")
        self._startup_scenarios = list(scenarios)
        self._records: dict[tuple[str, str], InstructionRecord] = {}
        self._attempts: Counter[tuple[str, str]] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        # References are not reused after a reset; a restart picks another random prefix.
        self._boot = uuid.uuid4().hex[:4].upper()
        self._references = {code: itertools.count(1) for code in self.registry}
        for scenario in self._startup_scenarios:
            self.load_scenario(scenario)

    async def start(self) -> None:
        self.sender.client = self.sender.make_client()

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.sender.client is not None:
            await self.sender.client.aclose()
            self.sender.client = None

    # The instruction endpoint.

    def receive(self, *, code: str, idempotency_key: str | None, body: bytes) -> Answer:
        """The answer to one instruction request; the caller waits `delay_s`, then sends it."""
        if code not in self.registry:
            return Answer(404, problem(404, "Not Found", f"no institution {code!r} here"))
        if not key_is_valid(idempotency_key):
            detail = "an Idempotency-Key header is required: printable ASCII, no spaces, ≤ 255"
            return Answer(400, problem(400, "Bad Request", detail))
        self._attempts[(code, idempotency_key)] += 1
        attempt = self._attempts[(code, idempotency_key)]
        profile = self.profiles.effective(code)
        luck = draw(
            seed=self.profiles.seed,
            idempotency_key=idempotency_key,
            attempt=attempt,
            profile=profile,
        )
        parsed = _parse(body)
        answer = self._gate(code, profile, luck)
        if answer is None:
            if isinstance(parsed, pydantic.ValidationError):
                answer = invalid(parsed)
            else:
                answer = self._take(code, idempotency_key, parsed, luck)
        instruction = parsed if isinstance(parsed, InstructionIn) else None
        self._write_received(code, idempotency_key, instruction, answer, attempt)
        return answer

    def _gate(self, code: str, profile: Profile, luck: Draw) -> Answer | None:
        """The answer of an institution that is down, busy or failing; None when it works."""
        outage = self.outages.current(code)
        if outage is not None and outage.mode == "refuse":
            body = problem(503, "Service Unavailable", f"{code} is not taking connections")
            return Answer(503, body, headers={"Connection": "close"}, note="outage: refuse")
        if outage is not None and outage.mode == "hang":
            body = problem(503, "Service Unavailable", f"{code} did not answer in time")
            return Answer(503, body, delay_s=profile.hang_s, note="outage: hang")
        if outage is not None:
            body = problem(500, "Internal Server Error", f"{code} is failing")
            return Answer(500, body, note="outage: error")
        retry_after = self.limiter.take(code, profile.rate_limit_per_s)
        if retry_after is not None:
            body = problem(429, "Too Many Requests", f"{code} takes {profile.rate_limit_per_s}/s")
            headers = {} if profile.breaks.no_retry_after else {"Retry-After": str(retry_after)}
            return Answer(429, body, headers=headers, note="rate limited")
        if luck.timeout:
            body = problem(503, "Service Unavailable", f"{code} did not answer in time")
            return Answer(503, body, delay_s=profile.hang_s, note="injected timeout")
        if luck.error:
            body = problem(500, "Internal Server Error", f"{code} failed (injected)")
            return Answer(500, body, note="injected error")
        return None

    def _take(self, code: str, key: str, instruction: InstructionIn, luck: Draw) -> Answer:
        """Accept a new key, repeat the answer for a known one, or refuse."""
        ack_s = luck.ack_ms / 1000
        record = self._records.get((code, key))
        if record is not None:
            if record.instruction != instruction:
                detail = "this Idempotency-Key was already used with another body"
                return Answer(422, problem(422, "Unprocessable Content", detail), note="key reuse")
            if not self.profiles.effective(code).breaks.replay_applies_again:
                return accepted(record, delay_s=ack_s, note="repeat")
        refusal = self._refusal(code, instruction)
        if refusal is not None:
            return Answer(422, problem(422, "Unprocessable Content", refusal), note=refusal)
        callback_url = instruction.callback_url or f"{self._public_api_url}/api/v1/callbacks/{code}"
        record = InstructionRecord(
            institution=code,
            idempotency_key=key,
            instruction=instruction,
            reference=f"{code}-{self._boot}{next(self._references[code]):06d}",
            callback_url=callback_url,
            webhook_id=f"msg_{uuid.uuid4().hex}",
            processing_ms=luck.processing_ms,
        )
        self._records[(code, key)] = record
        # Processing starts when the 202 goes out, so the task waits for the ack delay too.
        self._spawn(self._process(record, delay_s=ack_s + luck.processing_ms / 1000))
        return accepted(record, delay_s=ack_s)

    def _refusal(self, code: str, instruction: InstructionIn) -> str | None:
        """Why this institution will never take this kind of instruction, if it will not."""
        platform = self.registry[code].kind == "national_platform"
        if platform and instruction.kind != Kind.register:
            return f"the national platform takes only register, not {instruction.kind.value}"
        if not platform and instruction.kind == Kind.register:
            return "register goes to the national platform"
        return None

    def _write_received(
        self,
        code: str,
        key: str,
        instruction: InstructionIn | None,
        answer: Answer,
        attempt: int,
    ) -> None:
        self.ledger.write(
            "received",
            institution=code,
            idempotency_key=key,
            case_no=instruction.case_no if instruction else None,
            kind=instruction.kind.value if instruction else None,
            account_no=instruction.account_no if instruction else None,
            amount_requested=instruction.amount if instruction else None,
            reference=answer.content.get("reference"),
            status_code=answer.status_code,
            note=answer.note,
            attempt=attempt,
        )

    # Processing, after the 202.

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("processing an instruction failed", exc_info=task.exception())

    async def _process(self, record: InstructionRecord, *, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        self._apply(record)
        breaks = self.profiles.effective(record.institution).breaks
        callback = Callback(
            institution=record.institution,
            idempotency_key=record.idempotency_key,
            case_no=record.instruction.case_no,
            url=record.callback_url,
            webhook_id=record.webhook_id,
            body=callback_body(record, overstate=breaks.overstates_amount),
            ledger_fields=_outcome_fields(record),
            signed=not breaks.unsigned_callbacks,
            restamp_retries=breaks.retry_changes_body,
        )
        await self.sender.deliver(callback)

    def _apply(self, record: InstructionRecord) -> None:
        """Compute the outcome and apply its effect: once per key, whatever happens later."""
        if record.result is not None:
            return
        code, instruction = record.institution, record.instruction
        now = dt.datetime.now(dt.UTC)
        self.live.advance(now)  # live money moves up to this instant first
        result = apply_instruction(
            self.accounts,
            instruction,
            code=code,
            seed=self.profiles.seed,
            mix=self.profiles.effective(code).accounts,
            bins=self._bins,
            now=now,
        )
        record.result, record.effective_at = result, now
        self.ledger.write(
            "applied",
            institution=code,
            idempotency_key=record.idempotency_key,
            case_no=instruction.case_no,
            **_outcome_fields(record),
        )

    # Admin.

    def load_scenario(self, scenario: Scenario) -> int:
        """Add or replace the accounts a scenario names; returns how many."""
        scenario.check_institutions(self.registry)
        for entry in scenario.accounts:
            self.accounts.put(account_from_scenario(entry))
        return len(scenario.accounts)

    def load_live(
        self, *, seed: int, parameters: LiveParameters, t0: dt.datetime | None
    ) -> dict[str, Any]:
        """Draw a live-money schedule and play it from `t0` (default now); its description."""
        unknown = sorted(set(parameters.institutions or ()) - set(self.registry))
        if unknown:
            raise ValueError(f"unknown institutions: {', '.join(unknown)}")
        schedule = generate(seed=seed, params=parameters, registry=list(self.registry.values()))
        now = dt.datetime.now(dt.UTC)
        start = t0 or now
        self.live.load(schedule, t0=start, now=now)
        return schedule.to_json(start)

    def reset(self) -> None:
        """Back to the start-up state: no ledger, keys, outages, admin changes or loaded scenarios
        (those given at start are loaded afresh); work in flight is dropped."""
        for task in self._tasks:
            task.cancel()
        self.ledger.clear()
        self._records.clear()
        self._attempts.clear()
        self.accounts.clear()
        self.live.clear()
        self.outages.clear()
        self.limiter.clear()
        self.sender.set_mode(failing=False, seconds=None)
        self.profiles = ProfileBook(self._profile_source, codes=self.registry)
        for scenario in self._startup_scenarios:
            self.load_scenario(scenario)

    def describe(self) -> list[dict[str, Any]]:
        """The institutions played, each with its effective profile and outage."""
        described = []
        for code, entry in self.registry.items():
            outage = self.outages.current(code)
            described.append(
                {
                    "code": code,
                    "kind": entry.kind,
                    "name_zh": entry.name_zh,
                    "name_en": entry.name_en,
                    "profile": json.loads(self.profiles.effective(code).model_dump_json()),
                    "outage": None if outage is None else outage.to_json(),
                }
            )
        return described


def _outcome_fields(record: InstructionRecord) -> dict[str, Any]:
    """What ledger entries about a processed instruction say of it."""
    result = record.result
    assert result is not None
    return {
        "kind": record.instruction.kind.value,
        "account_no": record.instruction.account_no,
        "reference": record.reference,
        "outcome": result.outcome,
        "mismatch_field": result.mismatch_field,
        "amount_requested": record.instruction.amount,
        "amount_stopped": result.amount_stopped,
        "balance": result.balance,
    }


def _parse(body: bytes) -> InstructionIn | pydantic.ValidationError:
    try:
        return InstructionIn.model_validate_json(body)
    except pydantic.ValidationError as exc:
        return exc
