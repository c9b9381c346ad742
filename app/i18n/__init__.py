"""Messages in Simplified Chinese and English, from the Babel catalogues in app/locale;
the user's language picks one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.i18n.catalogue import LANGUAGES, Language, messages

__all__ = [
    "LANGUAGES",
    "Language",
    "Message",
    "N_",
    "Named",
    "has_message",
    "msg",
    "negotiate",
    "t",
]


@dataclass(frozen=True)
class Named:
    """A name the registry holds in both languages (an institution's): a message parameter
    that `t` puts in the message's own language."""

    zh: str
    en: str

    def in_language(self, lang: Language) -> str:
        return self.zh if lang == "zh-CN" else self.en


@dataclass(frozen=True)
class Message:
    """A message key and its parameters, not yet in any language: what services and domain
    errors carry. The edge (the error handler, the page renderer) puts it in the reader's
    language. Its parameters may be `Named` or other Messages."""

    key: str
    params: Mapping[str, object] = field(default_factory=dict)

    def in_language(self, lang: Language) -> str:
        return t(self.key, lang, **self.params)

    def __str__(self) -> str:
        return self.key


def msg(key: str, /, **params: object) -> Message:
    """The message `key` with `params`: `pybabel extract -k msg` finds the key."""
    return Message(key, params)


def N_(key: str) -> str:
    """Mark a message key for extraction where it is named (in a table, as an argument)
    and translated later: `pybabel extract -k N_` finds it; the key itself is returned."""
    return key


def has_message(key: str) -> bool:
    """Whether the catalogues hold `key`."""
    return key in messages(LANGUAGES[0])


def t(key: str, lang: Language, **params: object) -> str:
    text = messages(lang)[key]
    if not params:
        return text
    named = {k: v.in_language(lang) for k, v in params.items() if isinstance(v, Named | Message)}
    return text.format(**(params | named))


def negotiate(accept_language: str | None, default: Language) -> Language:
    """Pick zh-CN or en from an Accept-Language header, honouring q-values."""
    if not accept_language:
        return default
    ranked: list[tuple[float, int, Language]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        primary = tag.strip().lower().split("-")[0]
        if primary == "zh":
            ranked.append((weight, -position, "zh-CN"))
        elif primary == "en":
            ranked.append((weight, -position, "en"))
    if not ranked:
        return default
    return max(ranked)[2]
