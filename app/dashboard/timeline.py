"""A case's timeline in words: each audit event as a sentence in the reader's language, with
links to the instructions and accounts it is about (anchors on the case page), never ids,
dicts or keys.

What each kind of event says is in `app.dashboard.timeline_kinds` (`KINDS`); a kind written
anywhere with a case id and missing there fails tests/dashboard/test_timeline.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from app.casefile.schemas import CaseRead
from app.cases.schemas import EventRead
from app.dashboard.timeline_kinds import GROUP_LABEL, KINDS, other_kind
from app.dashboard.timeline_words import Joined, Link, Sentence, Subject
from app.i18n import Language, Message, t

MARK = "\x00"  # around a link's number in the formatted sentence; never in a message


@dataclass(frozen=True)
class Part:
    """A piece of a sentence: text, or a link's text and target."""

    text: str
    href: str | None = None


@dataclass(frozen=True)
class Line:
    """One event in words: what the page shows in the timeline."""

    at: dt.datetime
    kind: str
    group: str
    who: str
    parts: list[Part]
    links: list[Part]
    more: int
    detail: str | None


MAX_LINKS = 12  # links listed under one event; the rest are counted


def subject_of(case: CaseRead, zone: str) -> Subject:
    """The case's accounts and instructions, by id, for the sentences to point at."""
    accounts = {a.account_id: a for level in case.levels for a in level.accounts}
    by_number: dict[tuple[str, str | None], int] = {
        (a.institution, a.account_no): a.account_id for a in accounts.values()
    }
    instructions = {i.id: i for i in case.instructions}
    account_of = {
        i.id: by_number[(i.institution, i.account_no)]
        for i in case.instructions
        if (i.institution, i.account_no) in by_number
    }
    return Subject(
        accounts=accounts, instructions=instructions, account_of=account_of, zone=ZoneInfo(zone)
    )


def timeline(case: CaseRead, *, lang: Language, zone: str) -> list[Line]:
    """The case's events in words, newest first."""
    subject = subject_of(case, zone)
    return [in_words(e, subject, lang) for e in reversed(case.events)]


def in_words(event: EventRead, subject: Subject, lang: Language) -> Line:
    render = KINDS.get(event.kind, other_kind)
    sentence = render(event, subject)
    links = [_text(link, lang) for link in sentence.links]
    group = event.kind.partition(".")[0]
    return Line(
        at=event.occurred_at,
        kind=event.kind,
        group=group if group in GROUP_LABEL else "other",
        # Who acted, unless the sentence says it.
        who="" if "actor" in sentence.params else _text(subject.actor(event), lang).text,
        parts=parts_of(sentence, lang),
        links=links[:MAX_LINKS],
        more=max(0, len(links) - MAX_LINKS),
        detail=sentence.detail,
    )


def parts_of(sentence: Sentence, lang: Language) -> list[Part]:
    """The sentence in `lang`, split where its links are: each link's number goes into the
    message between marks, and the formatted text is cut at the marks."""
    links: list[Part] = []
    params: dict[str, object] = {}
    for name, value in sentence.params.items():
        if isinstance(value, Link):
            params[name] = f"{MARK}{len(links)}{MARK}"
            links.append(_text(value, lang))
        elif isinstance(value, Joined):
            params[name] = value.in_language(lang)
        else:
            params[name] = value
    pieces = t(sentence.key, lang, **params).split(MARK)
    found = []
    for n, piece in enumerate(pieces):
        if n % 2:
            found.append(links[int(piece)])
        elif piece:
            found.append(Part(piece))
    return found


def _text(value: Link | Message | str, lang: Language) -> Part:
    if isinstance(value, Link):
        text = value.text if isinstance(value.text, str) else value.text.in_language(lang)
        return Part(text, value.href)
    return Part(value if isinstance(value, str) else value.in_language(lang))


def groups(lines: list[Line]) -> list[tuple[str, str]]:
    """The filter's choices: (group, its label's key), those the timeline has, in order."""
    present = {line.group for line in lines}
    return [(g, key) for g, key in GROUP_LABEL.items() if g in present]
