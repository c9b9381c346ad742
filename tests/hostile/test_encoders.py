"""The encoders for text that leaves plain HTML: JSON inside <script>, CSV cells and
Content-Disposition file names. Hostile strings in, checked by a parser of the other side."""

from __future__ import annotations

import csv
import io
import json
from email.message import Message
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.dashboard.exports import csv_cell, to_csv
from app.sse import sse_event
from app.web import content_disposition, script_json, templates

BREAKOUTS = [
    "</script><a id=x href=//evil.example>x</a>",
    "</SCRIPT ><img src=x onerror=alert(1)>",
    "<!--<script>",
    "]]></script>",
    "\u2028\u2029",
    "' onmouseover='alert(1)",
    '" onmouseover="alert(1)',
    "&lt;&#x3C;&amp;",
]

# OWASP's CSV injection page: DDE, HYPERLINK and the characters that start a formula.
FORMULAS = [
    "=1+1",
    "+1",
    "-1+2",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "\n=1",
    '  =HYPERLINK("x")',
    "\uff1d1+1",
    "=cmd|' /C calc'!A0",
    "\u3000\uff1d1",
]
FILE_NAMES = [
    '案件 "C1".csv',
    "a\r\nSet-Cookie: x=1.csv",
    'x";filename="evil.exe',
    "..\\..\\boot.ini",
    "冻结决定书.pdf",
    "plain.csv",
    "\u202egnp.exe",
]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.starts: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.data: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.data.append(data)


@pytest.mark.parametrize("text", BREAKOUTS)
def test_json_in_a_script_element_stays_one_element_and_reads_back(text: str) -> None:
    value = {"holder": text, "nodes": [{"name": text}]}
    page = templates.env.from_string(
        '<script type="application/json" id="d">{{ v | tojson }}</script><p>after</p>'
    ).render(v=value)
    parser = _Tags()
    parser.feed(page)
    assert [tag for tag, _ in parser.starts] == ["script", "p"]
    assert json.loads(parser.data[0]) == value
    for unsafe in ("<", ">", "&", "'", "\u2028", "\u2029"):
        assert unsafe not in str(script_json(value))


@pytest.mark.parametrize("text", BREAKOUTS)
def test_json_in_a_single_quoted_attribute_stays_one_attribute(text: str) -> None:
    page = templates.env.from_string("<div hx-vals='{{ v | tojson }}'></div>").render(v={"f": text})
    parser = _Tags()
    parser.feed(page)
    [(tag, attrs)] = parser.starts
    assert [name for name, _ in attrs] == ["hx-vals"]
    assert json.loads(attrs[0][1] or "") == {"f": text}


@given(st.text())
def test_any_text_survives_script_json(text: str) -> None:
    encoded = str(script_json([text]))
    assert json.loads(encoded) == [text]
    assert "</" not in encoded
    assert "<!--" not in encoded


@pytest.mark.parametrize("cell", FORMULAS)
def test_a_formula_cell_is_made_text(cell: str) -> None:
    assert csv_cell(cell) == "'" + cell
    [_, row] = list(csv.reader(io.StringIO(to_csv(["h"], [[cell]]).lstrip("\ufeff"))))
    assert row == ["'" + cell]


@pytest.mark.parametrize("cell", ["刘某", "6217000201234567897", "a=b", "O'Brien", ""])
def test_a_plain_cell_is_left_as_it_is(cell: str) -> None:
    assert csv_cell(cell) == cell


def test_numbers_are_numbers_not_text() -> None:
    assert csv_cell(-5) == "-5"


def _extended_name(header: str) -> str | None:
    """The RFC 5987 `filename*` alone, decoded (a browser prefers it to `filename`)."""
    [extended] = [p for p in header.split("; ") if p.startswith("filename*=")]
    message = Message()
    message["Content-Disposition"] = f"attachment; {extended}"
    return message.get_filename()


@pytest.mark.parametrize("name", FILE_NAMES)
def test_content_disposition_names_the_file_and_cannot_split_the_header(name: str) -> None:
    header = content_disposition(name)
    assert "\r" not in header
    assert "\n" not in header
    assert header.isascii()
    assert _extended_name(header) == name
    [fallback] = [p for p in header.split("; ") if p.startswith("filename=")]
    inner = fallback.removeprefix('filename="').removesuffix('"')
    assert inner
    assert not set(inner) & set('"\\/;\r\n')
    assert content_disposition(name, disposition="inline").startswith("inline; ")


@pytest.mark.parametrize("text", ["a\u2028b", "a\u2029b", "a\x0cb", "a\x1cb", "a\x85b"])
def test_a_live_update_keeps_separators_that_are_not_line_ends_for_sse(text: str) -> None:
    assert sse_event("trail", f"<td>{text}</td>") == f"event: trail\ndata: <td>{text}</td>\n\n"


def test_a_live_update_splits_at_each_sse_line_end() -> None:
    assert sse_event("p", "a\r\nb\rc\nd") == "event: p\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
