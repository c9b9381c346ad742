"""What the browser tests leave behind when asked (`make form-evidence`): the screenshots in
docs/screenshots and the keystroke figure in BENCHMARKS.md. An ordinary run writes neither,
so `make test` leaves the working tree as it found it."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRITE = os.environ.get("STOPAY_WRITE_EVIDENCE") == "1"
SCREENSHOTS = ROOT / "docs" / "screenshots"
BENCHMARKS = ROOT / "BENCHMARKS.md"
START, END = "<!-- intake-keystrokes:start -->", "<!-- intake-keystrokes:end -->"


def screenshot_dir(tmp_path: Path) -> Path:
    return SCREENSHOTS if WRITE else tmp_path


def _machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    system = f"{platform.system()} {platform.release()} {platform.machine()}"
    return f"{system}, {cpu}, {os.cpu_count()} cores"


def _chromium() -> str:
    result = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True)
    return result.stdout.strip()


def record_keystrokes(lang: str, *, total: int, characters: int, navigation: int) -> None:
    """Put this language's figure into BENCHMARKS.md's keystroke section (written when asked)."""
    if not WRITE:
        return
    text = BENCHMARKS.read_text(encoding="utf-8")
    rows: dict[str, str] = {}
    if START in text:
        before, rest = text.split(START, 1)
        section, after = rest.split(END, 1)
        rows = dict(re.findall(r"^\| (zh-CN|en) (\|.*)$", section, flags=re.M))
    else:
        before, after = text.rstrip("\n") + "\n\n", "\n"
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    rows[lang] = f"| **{total}** | {characters} | {navigation} | {now} |"
    table = "\n".join(f"| {name} {row}" for name, row in sorted(rows.items(), reverse=True))
    section = f"""
## Keystrokes to enter scenario 1 (tests/pages/test_evidence.py)

Scenario 1 (ticket-refund scam: victim's name, ID number and phone; one transfer of
455,400 CNY typed as `45.54万` from the victim's ICBC card to a CCB card with the holder's
name and `20分钟前`; the scammer's phone; the fraud type found by a word; a one-line
narrative) entered from an empty form by keyboard only, counted by the Playwright test as
it sends them, up to and including the Alt+S that submits. Every character counts as one key:
a Chinese character typed through an input method takes a few more. Navigation is Tab,
Enter and the shortcuts; the call's start time and channel are prefilled, and the card's
bank comes from its BIN.

- command: `make form-evidence`
- machine: {_machine()}; {_chromium()}

| language of the form | keystrokes | of which characters | of which navigation | date (UTC) |
| --- | --- | --- | --- | --- |
{table}
"""
    BENCHMARKS.write_text(before + START + section + END + after, encoding="utf-8")
