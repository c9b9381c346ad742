"""The message catalogues: app/locale/<locale>/LC_MESSAGES/messages.po, read once at start.

Each message id is a key (`callback.refused`) and its msgstr the text, with `{name}`
placeholders for `str.format`. `make translations` refreshes the files from the code.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal, get_args

from babel.messages.pofile import read_po

Language = Literal["zh-CN", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)

LOCALE_DIR = Path(__file__).parent.parent / "locale"
# The gettext locale directory of each language tag.
LOCALES: dict[Language, str] = {"zh-CN": "zh_CN", "en": "en"}


def po_path(lang: Language) -> Path:
    return LOCALE_DIR / LOCALES[lang] / "LC_MESSAGES" / "messages.po"


@cache
def messages(lang: Language) -> dict[str, str]:
    """Every translated message of `lang`, by key; an untranslated entry is left out."""
    with po_path(lang).open("rb") as f:
        catalog = read_po(f, locale=LOCALES[lang])
    return {
        str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.string, str) and m.string
    }
