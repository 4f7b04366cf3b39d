# Trellis: `make run` serves the demo clinic, `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint venv lock bench fuzz clean

venv: $(VENV)/.installed

# A development machine or CI: the product's dependencies and the dev tools (pytest, ruff,
# Playwright, schemathesis), and the Debian libraries WeasyPrint lays PDFs out with.
# Production installs requirements.lock alone (docs/operations.md).
$(VENV)/.installed: requirements-dev.lock
	scripts/ensure-pdf-libraries
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	touch $@

# The demo: development settings, SQLite under var/, multi-factor sign-in waived (and shown so).
# Links in messages point at this server (HOST:PORT) unless TRELLIS_BASE_URL says otherwise, and
# the outbox worker runs beside it, so a questionnaire link really arrives (text messages in
# var/sms/, e-mail on this console); it stops when the server stops.
run: export DEBUG ?= true
run: export TRELLIS_MFA_REQUIRED ?= false
run: export TRELLIS_BASE_URL ?= http://$(HOST):$(PORT)
run: venv
	$(PY) manage.py migrate --no-input
	$(PY) manage.py load_demo
	@$(PY) manage.py run_outbox & outbox=$$!; \
	trap 'kill $$outbox 2>/dev/null; wait $$outbox' EXIT; trap 'exit 130' INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

# SQLite unless DATABASE_URL is set. Extra pytest arguments: make test ARGS="-k audit".
# In parallel on the machine's cores, at most four (pytest-xdist: each worker has a test database
# of its own, and takes a whole test class or module so that data set up once for a class is
# built once). The classes go out in the suite's own order, which puts the tests that empty the
# tables (browser, races) after the others in each worker, as in one process: the built-in
# protocols and other rows the migrations wrote are there for every ordinary test.
# One process, to debug or read print() output: make test ARGS=-n0 (--pdb too).
# Browser tests need Debian's Chromium: installed when missing (as root), else skipped.
PARALLEL := -n auto --maxprocesses=4 --dist loadscope --no-loadscope-reorder
test: export DEBUG ?= true
test: venv
	@if scripts/ensure-chromium; then $(PY) -m pytest $(PARALLEL) $(ARGS); \
	else $(PY) -m pytest $(PARALLEL) -m "not browser" $(ARGS); fi
	@# SQLite's in-memory test database takes no concurrent writers: the races run again on a file.
	@if [ -z "$$DATABASE_URL" ] && [ -z "$(ARGS)" ]; then mkdir -p var && \
	TRELLIS_TEST_SQLITE_FILE=var/test-concurrency.sqlite3 $(PY) -m pytest -m concurrency; fi

lint: venv
	$(VENV)/bin/ruff check .

# Re-resolve the pinned dependencies after editing pyproject.toml: requirements-dev.lock with the
# dev extra, then requirements.lock (production) without it, held to the same versions.
lock: venv
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements-dev.lock
	$(VENV)/bin/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 -c requirements-dev.lock -o requirements.lock

# The benchmark suite (docs/benchmarks.md): gunicorn on 127.0.0.1, about 8 minutes. SQLite, or
# PostgreSQL in a database of its own when DATABASE_URL is set. Quick look: make bench ARGS=--quick
bench: venv
	$(PY) bench/run.py $(ARGS)

# The API fuzzed against its OpenAPI document (docs/fuzz.md): a fresh demo database behind
# gunicorn on 127.0.0.1, Schemathesis with all checks, about 4 minutes; non-zero on a failure.
# SQLite, or PostgreSQL in a database of its own when DATABASE_URL is set. ARGS="--seed 1"
fuzz: venv
	$(PY) scripts/fuzz $(ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
