"""The profile's parsers and tables (bench/profile_figures.py): py-spy's collapsed stacks
summed per function, and pg_stat_statements' rows."""

from __future__ import annotations

from bench.profile_figures import (
    Statement,
    frame_name,
    ours_table,
    own_table,
    parse_collapsed,
    sql_summary,
    sql_table,
)

SITE = "/work/main/.venv/lib/python3.11/site-packages"
ROOT = "/work/wt/measure"
COLLAPSED = f"""\
process 10:"python -m app.cli api";run (uvicorn/main.py:1);handle ({ROOT}/app/callbacks/router.py:40);apply ({ROOT}/app/callbacks/service.py:80);execute ({SITE}/sqlalchemy/orm/session.py:2300) 30
process 10:"python -m app.cli api";run (uvicorn/main.py:1);handle ({ROOT}/app/callbacks/router.py:41);apply ({ROOT}/app/callbacks/service.py:81) 10
process 10:"python -m app.cli api";run (uvicorn/main.py:1);dumps (/root/.pyenv/versions/3.11.7/lib/python3.11/json/__init__.py:231) 5
process 10:"python -m app.cli api";run (uvicorn/main.py:1);handle ({ROOT}/app/callbacks/router.py:40);handle ({ROOT}/app/callbacks/router.py:40) 5
not a stack line
"""  # noqa: E501


def test_a_frame_is_named_by_function_and_short_path() -> None:
    assert frame_name(f"commit ({SITE}/sqlalchemy/orm/session.py:1969)") == (
        "commit (sqlalchemy/orm/session.py)"
    )
    assert frame_name(f"apply ({ROOT}/app/callbacks/service.py:80)") == (
        "apply (app/callbacks/service.py)"
    )
    assert frame_name('process 10:"python -m app.cli api"') is None


def test_own_samples_are_the_leaf_and_total_counts_each_stack_once() -> None:
    samples = parse_collapsed(COLLAPSED)
    assert samples.count == 50
    assert samples.own["execute (sqlalchemy/orm/session.py)"] == 30
    assert samples.own["apply (app/callbacks/service.py)"] == 10
    assert samples.own["dumps (json/__init__.py)"] == 5
    assert samples.total["apply (app/callbacks/service.py)"] == 40
    # Recursion (the same function twice on one stack) counts the stack once.
    assert samples.total["handle (app/callbacks/router.py)"] == 45
    assert samples.total["run (uvicorn/main.py)"] == 50


def test_tables_rank_functions_and_keep_to_our_code_where_asked() -> None:
    samples = parse_collapsed(COLLAPSED)
    own = own_table(samples).splitlines()
    assert own[2] == "| `execute (sqlalchemy/orm/session.py)` | 30 | 60.0% | 30 | 60.0% |"
    ours = ours_table(samples).splitlines()
    assert ours[2] == "| `handle (app/callbacks/router.py)` | 45 | 90.0% | 5 |"
    assert ours[3] == "| `apply (app/callbacks/service.py)` | 40 | 80.0% | 10 |"
    assert len(ours) == 4  # uvicorn and sqlalchemy are not ours


def test_statements_ranked_by_total_time_with_calls_and_rows() -> None:
    statements = [
        Statement("SELECT 1", 100, 5.0, 100),
        Statement("UPDATE instruction SET state = $1\n  WHERE id = $2 | x", 158, 40.0, 158),
        Statement("COMMIT", 316, 15.0, 0),
    ]
    table = sql_table(statements).splitlines()
    assert table[2] == (
        "| `UPDATE instruction SET state = $1 WHERE id = $2 \\| x` | 158 | 40.0 | 66.7% "
        "| 0.253 | 158 |"
    )
    assert table[3].startswith("| `COMMIT` | 316 | 15.0 | 25.0% |")
    assert sql_summary(statements, 158) == (
        "3 distinct statements, 574 calls (3.6 per instruction), 60 ms of execution in all "
        "(0.38 ms per instruction)"
    )
