# Two commands do all set-up on a fresh clone: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck docs-check docs pytest faults bench vendor form-evidence loaded-test translations clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,embedded,monitoring]'
	touch $(STAMP)

## Start everything: embedded PostgreSQL + Redis (unless DATABASE_URL / BROKER_URL are set),
## migrations, registry and demo users, then API, worker, beat and the simulator.
run: $(STAMP)
	$(BIN)/stopay run

## Lint, type-check, build the docs and run the whole test suite.
test: lint typecheck docs-check pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

## The documentation site (docs/, mkdocs.yml): every warning, broken link or anchor fails.
docs-check: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

## Serve the documentation at http://127.0.0.1:8001, rebuilt as the pages change.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve -a 127.0.0.1:8001

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

## The fault suite with the faults at full length (Redis down 30 s, callbacks failing 3 min,
## ...); its report goes into BENCHMARKS.md. `make test` runs the same tests with short faults.
faults: $(STAMP)
	STOPAY_FAULTS_FULL=1 $(BIN)/pytest -v tests/faults tests/e2e/test_worker_kill.py

## Every benchmark in bench/, one after another, each rewriting its own section of
## BENCHMARKS.md: sustained load with one worker process, then two, then two API processes (steps of BENCH_STEP_S
## seconds, 60 as issue 9 asks: about 10 minutes each), then fan-out (both worker set-ups, and
## under the fault mix), the profile of one fan-out case (a sub-section named PROFILE_LABEL:
## "before" was recorded when the profile was added), follow the money, intake (40 cases/s of
## 20 transfers), the dashboard (20,000 cases, 200,000 instructions): issue 19's targets, and
## the race against moving money (issue 20: 5 seeds at 0, 5, 15 and 30 minutes' reporting
## delay, then with one institution hanging 60 s, then the 20-case rush; plots in docs/).
## Each waits (at most 10 min) for the machine's load to drop to 1 first. `make test` runs
## none of them.
BENCH_STEP_S ?= 60
PROFILE_LABEL ?= after
bench: $(STAMP)
	$(BIN)/python -m bench.load --workers 1 --step-s $(BENCH_STEP_S) --max-load 1 --out BENCHMARKS.md
	$(BIN)/python -m bench.load --workers 2 --step-s $(BENCH_STEP_S) --max-load 1 --out BENCHMARKS.md
	$(BIN)/python -m bench.load --api-workers 2 --workers 1 --step-s $(BENCH_STEP_S) --max-load 1 \
	    --out BENCHMARKS.md
	$(BIN)/python -m bench.fanout --repeat 5 --pool threads --processes 2 --concurrency 100 \
	    --poll db --max-load 1 --out BENCHMARKS.md
	$(BIN)/python -m bench.fanout --repeat 3 --pool threads --processes 1 --concurrency 200 \
	    --poll db --max-load 1 --out BENCHMARKS.md
	$(BIN)/python -m bench.fanout --repeat 3 --pool threads --processes 2 --concurrency 100 \
	    --poll db --faults --max-load 1 --out BENCHMARKS.md
	$(BIN)/python -m bench.profile --label $(PROFILE_LABEL) --out BENCHMARKS.md
	$(BIN)/python -m bench.trace --repeat 3 --processes 2 --concurrency 100 --max-load 1 \
	    --out BENCHMARKS.md
	$(BIN)/python -m bench.intake --rate 40 --duration 30 --transfers 20 --out BENCHMARKS.md
	$(BIN)/python -m bench.dashboard --cases 20000 --requests 300 --out BENCHMARKS.md
	$(BIN)/python -m bench.race --seeds 5 --delays 0,5,15,30 --max-load 1 --out BENCHMARKS.md
	$(BIN)/python -m bench.race --seeds 5 --delays 0,5,15,30 --degraded --max-load 1 \
	    --out BENCHMARKS.md
	$(BIN)/python -m bench.race --seeds 2 --delays 0,5,15,30 --rush --max-load 1 \
	    --out BENCHMARKS.md

## The pages' screenshots (docs/screenshots: the form, the status page and my cases, the case
## page, the trail's fates, the institution's view, a disputed outcome, the admin pages) and
## the keystroke figure (BENCHMARKS.md), from the browser tests in Debian's Chromium. The
## dashboard's own are taken by docs/screenshots/take.py.
form-evidence: $(STAMP)
	STOPAY_WRITE_EVIDENCE=1 $(BIN)/pytest -q tests/pages/test_evidence.py tests/pages/test_admin.py \
	    tests/pages/test_status.py tests/pages/test_case_page.py tests/pages/test_institution.py \
	    tests/pages/test_disputes.py 'tests/pages/test_dashboard.py::test_the_trail_says_why_an_account_got_no_instruction'

## The deadlines panel's browser test 20 times, a pytest each, while the fan-out benchmark
## loads the machine beside it (issue 17: a live re-render must never lose what a supervisor
## typed); how many passed in a row goes into BENCHMARKS.md.
loaded-test: $(STAMP)
	$(BIN)/python -m bench.loaded_test --runs 20 --out BENCHMARKS.md

## Refresh the message catalogues from the code: extract every key that t("key"), msg("key"), N_("key")
## (Python) and _("key") (templates) name into app/locale/messages.pot, then update the zh_CN
## and en .po files from it: a new key arrives with an empty msgstr to translate (the
## catalogue test fails until both languages have it), and a key no code names any more is
## dropped. Edit the texts in the .po files; the app reads them at start.
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k t -k N_ -k msg --project stopay --version 0.1.0 \
	    -o app/locale/messages.pot .
	$(BIN)/pybabel update -i app/locale/messages.pot -d app/locale -l zh_CN \
	    --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel update -i app/locale/messages.pot -d app/locale -l en \
	    --no-fuzzy-matching --ignore-obsolete

## Re-vendor browser assets from the npm registry into app/static/vendor (run by hand).
vendor:
	npm install --no-audit --no-fund --silent
	mkdir -p app/static/vendor/swagger-ui
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
	   node_modules/swagger-ui-dist/LICENSE app/static/vendor/swagger-ui/
	mkdir -p app/static/vendor/htmx
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/htmx.org/LICENSE app/static/vendor/htmx/
	cp node_modules/htmx-ext-sse/dist/sse.min.js app/static/vendor/htmx/htmx-ext-sse.min.js
	cp node_modules/htmx-ext-sse/LICENSE app/static/vendor/htmx/LICENSE-htmx-ext-sse
	mkdir -p app/static/vendor/echarts
	cp node_modules/echarts/dist/echarts.min.js node_modules/echarts/LICENSE \
	   node_modules/echarts/NOTICE app/static/vendor/echarts/
	mkdir -p app/static/vendor/idiomorph
	cp node_modules/idiomorph/dist/idiomorph-ext.min.js node_modules/idiomorph/LICENSE \
	   app/static/vendor/idiomorph/

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache site
