"""mkdocs hooks: the configuration page's table of settings, written from the settings class.

`<!-- settings -->` on a page becomes one row per field of `app.config.Settings`: its
environment variable, type, default and description. The table is made at every build, so
it cannot drift from the code (tests/docs/test_hooks.py holds the build to it).
"""

from __future__ import annotations

import types
import typing
from decimal import Decimal
from pathlib import Path

from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo

from app.config import Settings

MARKER = "<!-- settings -->"
ENV_PREFIX = "STOPAY_"
TYPE_NAMES: dict[object, str] = {
    bool: "true/false",
    int: "integer",
    float: "number",
    str: "text",
    Path: "path",
    Decimal: "decimal",
    SecretStr: "secret",
}


def env_names(name: str, field: FieldInfo) -> list[str]:
    """The environment variables a field is read from, the first one preferred."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [ENV_PREFIX + name.upper()]


def type_name(annotation: object) -> str:
    """A field's type in words (no `|`: a table cell would split on it)."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{arg}`" for arg in args)
    if origin in (typing.Union, types.UnionType):
        known = [type_name(arg) for arg in args if arg is not type(None)]
        return " or ".join(known) + (", optional" if type(None) in args else "")
    if origin is dict:
        return "JSON object"
    return TYPE_NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def default_text(name: str, field: FieldInfo) -> str:
    """A field's default as a reader would write it, with its size in words where it helps."""
    value = field.default
    if value is None:
        return "unset"
    if value in ("", {}):
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    text = f"`{value}`"
    if isinstance(value, int) and name.endswith("_s") and value >= 3600 and value % 3600 == 0:
        hours = value // 3600
        text += f" ({hours // 24} days)" if hours % 24 == 0 and hours > 48 else f" ({hours} h)"
    elif isinstance(value, int) and name.endswith("_s") and value >= 60 and value % 60 == 0:
        text += f" ({value // 60} min)"
    elif isinstance(value, int) and name.endswith("_bytes") and value % (1 << 20) == 0:
        text += f" ({value >> 20} MiB)"
    return text


def settings_table() -> str:
    """Every setting as a Markdown table, in the order of the class (in a `settings` div, which
    docs/stylesheets/extra.css keeps from breaking the variables' names)."""
    rows = [
        "| variable | type | default | what it does |",
        "| --- | --- | --- | --- |",
    ]
    for name, field in Settings.model_fields.items():
        variables = " or ".join(f"`{env}`" for env in env_names(name, field))
        kind = type_name(field.annotation)
        description = (field.description or "").replace("\n", " ")
        rows.append(f"| {variables} | {kind} | {default_text(name, field)} | {description} |")
    table = "\n".join(rows)
    return f'<div class="settings" markdown>\n\n{table}\n\n</div>\n'


def on_page_markdown(markdown: str, **_context: object) -> str:
    """mkdocs' hook: put the table where the page asks for it."""
    return markdown.replace(MARKER, settings_table()) if MARKER in markdown else markdown
