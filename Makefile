# The two commands of the README: `make run` (the platform on embedded defaults) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export VAR_DIR ?= $(CURDIR)/var

.PHONY: install install-runtime lock browser run demo test test-redis chaos lint security format migrate relay worker bench bench-quick bench-logins bench-alerts clean

# One .venv, two locks (docs/dependencies.md): the platform's processes need only the runtime lock,
# requirements.txt; tests, checks and benchmarks the development lock, requirements-dev.txt, which
# holds the runtime lock's packages at the same versions and the tools on top. Each is installed
# with --require-hashes and stamped, so a changed lock reinstalls.
# pip itself comes first, at the development lock's version: the pip a fresh venv brings (23.2 on
# Python 3.11) takes an extra's requirement (pip-audit's CacheControl[filecache]>=0.13.0) for an
# unpinned one under --require-hashes as soon as a release newer than the lock's exists.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	awk '/^pip==/ {p = 1} p {print} p && !/\\$$/ {exit}' requirements-dev.txt > $(VENV)/pip-lock.txt
	$(BIN)/pip install --quiet --require-hashes -r $(VENV)/pip-lock.txt

$(BIN)/.installed-runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.txt
	touch $@

$(BIN)/.installed-dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.txt
	touch $@ $(BIN)/.installed-runtime

## install-runtime: what the Procfile's processes import, and nothing else (make run, demo, migrate)
install-runtime: $(BIN)/.installed-runtime

## install: the runtime set and the development tools (tests, lint, security, benchmarks)
install: $(BIN)/.installed-dev

## lock: both locks again from requirements.in and requirements-dev.in, with the hashes of every
## file the configured indexes serve; LOCK_FLAGS="--upgrade-package NAME" moves one package on.
## Then a dry run installs both with --require-hashes, so a file pip would pick but whose hash
## is missing fails here and not in CI.
LOCK_OPTIONS := --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links
lock_file = CUSTOM_COMPILE_COMMAND="make lock, which runs: pip-compile $(LOCK_OPTIONS) --output-file=$(1) $(2)" \
	$(BIN)/pip-compile --quiet $(LOCK_OPTIONS) $(LOCK_FLAGS) --output-file=$(1) $(2)
lock: install
	$(call lock_file,requirements.txt,requirements.in)
	$(call lock_file,requirements-dev.txt,requirements-dev.in)
	$(BIN)/pip install --quiet --dry-run --ignore-installed --require-hashes -r requirements.txt
	$(BIN)/pip install --quiet --dry-run --ignore-installed --require-hashes -r requirements-dev.txt

## browser: Debian's Chromium, which the browser tests drive with Playwright (CHROMIUM_PATH overrides)
browser:
	@command -v chromium >/dev/null || { apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

migrate: install-runtime
	$(BIN)/python manage.py migrate --noinput

## run: web, worker, beat, relay and Flower on SQLite, the filesystem broker and mail to files;
## webhooks may go to receivers on loopback and private networks (WEBHOOK_ALLOW_PRIVATE_TARGETS)
run: migrate
	@mkdir -p $(VAR_DIR)
	@$(BIN)/python manage.py create_demo_admin --password-file $(VAR_DIR)/demo-admin-password
	@echo "admin:  http://$${WEB_BIND:-127.0.0.1:8000}/admin/"
	@echo "API:    http://$${WEB_BIND:-127.0.0.1:8000}/api/v1/  docs: http://$${WEB_BIND:-127.0.0.1:8000}/api/docs/"
	@echo "flower: http://127.0.0.1:$${FLOWER_PORT:-5555}/  (user admin, the demo admin's password)"
	@echo "mail:   $(VAR_DIR)/mail/"
	FLOWER_BASIC_AUTH=$${FLOWER_BASIC_AUTH:-admin:$$(cat $(VAR_DIR)/demo-admin-password)} \
		WEBHOOK_ALLOW_PRIVATE_TARGETS=$${WEBHOOK_ALLOW_PRIVATE_TARGETS:-true} \
		PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start

## demo: a scripted tour on the embedded defaults, in a fresh $(VAR_DIR)/demo; prints what it caused
demo: install-runtime
	@rm -rf $(VAR_DIR)/demo
	VAR_DIR=$(VAR_DIR)/demo $(BIN)/python -m demo.tour

## test: lint, format check, the static security checks and the whole suite against PostgreSQL,
## RabbitMQ and Redis
test: install lint security
	$(BIN)/python -m pytest

## test-redis: the pipeline's fault tests (tests/eventbus, the chaos scenarios at CI size) with
## Redis as the broker; RabbitMQ-only tests (delivery limit, dead-letter queues) are left out
test-redis: install
	TEST_BROKER=redis CHAOS_EVENTS=$${CHAOS_EVENTS:-1000} \
		$(BIN)/python -m pytest tests/eventbus tests/chaos -m "not rabbitmq_only"

## chaos: fault injection under bursts of 10,000 events (CHAOS_EVENTS=1000 in CI); prints the
## reconciliation of every scenario; PostgreSQL is unreachable for CHAOS_PG_OUTAGE seconds (120;
## 20 in CI; 900 is the issue's 15 minutes) in its scenario
chaos: install
	CHAOS_EVENTS=$${CHAOS_EVENTS:-10000} CHAOS_PG_OUTAGE=$${CHAOS_PG_OUTAGE:-120} \
		$(BIN)/python -m pytest tests/chaos -m chaos

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## security: known vulnerabilities of both locks (pip-audit, through PyPI's own advisory data: the
## one vulnerability service CI reaches; the locks are hashed, so nothing is resolved or installed
## for it) and bandit on the project's code (its configuration in pyproject.toml; every `# nosec`
## says why beside it)
security: install
	$(BIN)/pip-audit --requirement requirements.txt --requirement requirements-dev.txt --disable-pip \
		--vulnerability-service pypi --progress-spinner off
	$(BIN)/bandit --configfile pyproject.toml --recursive . --quiet

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VAR_DIR) .pytest_cache .ruff_cache

## bench: every benchmark part on PostgreSQL, RabbitMQ and Redis, one report (bench/results/report-latest.md),
## plots, and its summary in docs/benchmarks.md; about 25 minutes on a quiet 2-core machine
bench: install
	$(BIN)/python -m bench.suite
	$(BIN)/python -m bench.report --summary

## bench-quick: the same parts with short durations (report-latest-quick.*; docs/benchmarks.md is left alone)
bench-quick: install
	$(BIN)/python -m bench.suite --quick

## bench-logins: logins per second through the API against the bare password-hash rate
bench-logins: install
	$(BIN)/python -m bench.logins

## bench-alerts: urgent-alert latency (commit to SMTP), idle and behind a routine backlog
bench-alerts: install
	$(BIN)/python -m bench.alerts
