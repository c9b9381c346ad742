"""The catalogues in app/locale match the code: the keys `pybabel extract` finds (babel.cfg,
keywords t, msg and N_, as `make translations` runs it) are the catalogue's entries, each
translated in zh_CN and en with the same placeholders."""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "app" / "locale"
LOCALES = ("zh_CN", "en")


@cache
def extracted() -> frozenset[str]:
    """Every message key the code names, found as `make translations` finds it."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {**DEFAULT_KEYWORDS, "t": None, "N_": None, "msg": None}
    found = extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords, strip_comment_tags=True
    )
    return frozenset(str(message) for _, _, message, _, _ in found)


@cache
def catalogue(name: str) -> Catalog:
    path = LOCALE / "messages.pot" if name == "pot" else LOCALE / name / "LC_MESSAGES/messages.po"
    with path.open("rb") as f:
        return read_po(f)


def entries(name: str) -> dict[str, str]:
    return {str(m.id): str(m.string) for m in catalogue(name) if m.id}


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_the_code_names_its_messages() -> None:
    # A sanity floor: extraction reached Python (t, N_ in tables) and the templates (_).
    assert {"problem.not_found", "role.admin", "fate.stopped", "form.title"} <= extracted()


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_used_is_translated(locale: str) -> None:
    texts = entries(locale)
    assert sorted(k for k in extracted() if not texts.get(k)) == []


@pytest.mark.parametrize("locale", [*LOCALES, "pot"])
def test_no_catalogue_entry_is_unused(locale: str) -> None:
    assert sorted(set(entries(locale)) - extracted()) == []


def test_the_template_lists_every_message_used() -> None:
    # `make translations` was run after the code last changed.
    assert sorted(extracted() - set(entries("pot"))) == []


@pytest.mark.parametrize("locale", LOCALES)
def test_no_entry_is_fuzzy(locale: str) -> None:
    assert [str(m.id) for m in catalogue(locale) if m.id and m.fuzzy] == []


def test_both_languages_have_the_same_placeholders() -> None:
    zh, en = entries("zh_CN"), entries("en")
    differ = {
        key: (placeholders(zh[key]), placeholders(en[key]))
        for key in zh.keys() & en.keys()
        if placeholders(zh[key]) != placeholders(en[key])
    }
    assert differ == {}
