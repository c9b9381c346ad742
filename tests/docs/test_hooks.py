"""The documentation site: the configuration table is the settings class, and the site builds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import Settings
from docs.hooks import MARKER, env_names, on_page_markdown, settings_table

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_has_a_description() -> None:
    missing = [name for name, field in Settings.model_fields.items() if not field.description]
    assert missing == []


def test_the_table_has_one_row_per_setting_with_its_variable_and_description() -> None:
    rows = [row for row in settings_table().splitlines() if row.startswith("| `")]
    assert len(rows) == len(Settings.model_fields)
    for row, (name, field) in zip(rows, Settings.model_fields.items(), strict=True):
        for env in env_names(name, field):
            assert f"`{env}`" in row
        assert str(field.description) in row
        assert row.count(" | ") == 3, row  # no stray `|` splitting a cell


def test_the_database_url_is_read_under_both_names() -> None:
    assert env_names("database_url", Settings.model_fields["database_url"]) == [
        "STOPAY_DATABASE_URL",
        "DATABASE_URL",
    ]


def test_only_a_page_that_asks_for_the_table_gets_it() -> None:
    assert on_page_markdown("# Other page\n") == "# Other page\n"
    assert "`STOPAY_SECRET_KEY`" in on_page_markdown(f"# Configuration\n\n{MARKER}\n")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site as `make docs-check` builds it (strict: a broken link or anchor fails)."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return out


def test_the_built_configuration_page_names_every_setting(site: Path) -> None:
    page = (site / "configuration" / "index.html").read_text(encoding="utf-8")
    for name, field in Settings.model_fields.items():
        for env in env_names(name, field):
            assert f"<code>{env}</code>" in page, env


def test_the_benchmarks_page_is_benchmarks_md(site: Path) -> None:
    page = (site / "benchmarks" / "index.html").read_text(encoding="utf-8")
    sections = re.findall(r"^## (.+)$", (ROOT / "BENCHMARKS.md").read_text(), flags=re.M)
    assert sections
    for heading in sections:
        title = heading.split(" (")[0]
        assert title in page, heading


def test_the_readme_is_short_and_its_links_lead_somewhere() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 150
    links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", readme)
    assert "docs/getting-started.md" in links
    for link in links:
        assert (ROOT / link).exists(), link
