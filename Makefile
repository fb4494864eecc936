# Portal: `make run` serves the whole product locally; `make test` runs every check.
# Both install what is missing first, and skip what is already done.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HOST ?= 127.0.0.1
PORT ?= 8000
STRIPE_PORT ?= 12111
CSS := static/css/dist/styles.css

.PHONY: run test lint format install css chromium redis stripe migrate pytest worker beat bench clean help

help:
	@echo "make run    serve Portal on http://$(HOST):$(PORT) (local Stripe when no keys are set)"
	@echo "make test   lint and run the whole test suite"
	@echo "make stripe run the local Stripe server in the foreground"

# --- Installing ---------------------------------------------------------------------------------

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# `npm install --no-save` installs exactly the lock file's versions. Not `npm ci`: it insists
# that the lock list the optional platform builds of Tailwind's engine, which the lock cannot
# always record (a registry mirror may serve only some platforms).
node_modules/.installed: package.json package-lock.json
	npm install --no-save --no-audit --no-fund --loglevel=error
	touch $@

$(CSS): node_modules/.installed static_src/styles.css $(shell find templates accounts pricing portal -name '*.html' -o -name '*.py' 2>/dev/null)
	npm run --silent build

install: $(VENV)/.installed node_modules/.installed

css: $(CSS)

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Chromium (Debian's package) for the browser tests"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

redis:
	@command -v redis-server >/dev/null 2>&1 || { \
		echo "Installing Redis (Debian's package) for the Celery worker test"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

# --- Running ------------------------------------------------------------------------------------

migrate: $(VENV)/.installed
	$(PY) manage.py migrate --no-input -v 0

run: install css migrate
	$(PY) manage.py create_demo_user
	$(PY) manage.py runlocal $(HOST):$(PORT)

# With CELERY_BROKER_URL set (e.g. redis://127.0.0.1:6379/0), tasks run in these processes.
worker: $(VENV)/.installed
	$(VENV)/bin/celery -A portal worker --loglevel INFO

beat: $(VENV)/.installed
	$(VENV)/bin/celery -A portal beat --loglevel INFO

stripe: $(VENV)/.installed
	$(PY) -m stripe_server --host 127.0.0.1 --port $(STRIPE_PORT)

# --- Checking -----------------------------------------------------------------------------------

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

pytest: install css chromium redis
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint pytest

# Pages, webhooks, SQL and memory under gunicorn on 127.0.0.1; prints a table and writes
# bench/results.json. BENCH_ARGS="--requests 600" for more requests per page.
bench: install css redis
	$(PY) bench/run.py $(BENCH_ARGS)
	$(PY) bench/usage.py

clean:
	rm -rf staticfiles static/css/dist test-artifacts
