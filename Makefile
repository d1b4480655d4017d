# The two commands of the README: `make run` (the platform on embedded defaults) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export VAR_DIR ?= $(CURDIR)/var

.PHONY: install run test test-redis chaos lint format migrate relay worker bench bench-quick clean

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(BIN)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

## run: web, worker, beat, relay and Flower on SQLite, the filesystem broker and mail to files
run: migrate
	@mkdir -p $(VAR_DIR)
	@$(BIN)/python manage.py create_demo_admin --password-file $(VAR_DIR)/demo-admin-password
	@echo "admin:  http://$${WEB_BIND:-127.0.0.1:8000}/admin/"
	@echo "API:    http://$${WEB_BIND:-127.0.0.1:8000}/api/v1/  docs: http://$${WEB_BIND:-127.0.0.1:8000}/api/docs/"
	@echo "flower: http://127.0.0.1:$${FLOWER_PORT:-5555}/  (user admin, the demo admin's password)"
	@echo "mail:   $(VAR_DIR)/mail/"
	FLOWER_BASIC_AUTH=$${FLOWER_BASIC_AUTH:-admin:$$(cat $(VAR_DIR)/demo-admin-password)} \
		PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start

## test: lint, format check and the whole suite against PostgreSQL, RabbitMQ and Redis
test: install lint
	$(BIN)/python -m pytest

## test-redis: the pipeline's fault tests (tests/eventbus, the chaos scenarios at CI size) with
## Redis as the broker; RabbitMQ-only tests (delivery limit, dead-letter queues) are left out
test-redis: install
	TEST_BROKER=redis CHAOS_EVENTS=$${CHAOS_EVENTS:-1000} \
		$(BIN)/python -m pytest tests/eventbus tests/chaos -m "not rabbitmq_only"

## chaos: fault injection under bursts of 10,000 events (CHAOS_EVENTS=1000 in CI); prints the
## reconciliation of every scenario
chaos: install
	CHAOS_EVENTS=$${CHAOS_EVENTS:-10000} $(BIN)/python -m pytest tests/chaos -m chaos

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VAR_DIR) .pytest_cache .ruff_cache

## bench: the pipeline benchmark on PostgreSQL, RabbitMQ and Redis (report in bench/results/)
bench: install
	$(BIN)/python -m bench.pipeline

bench-quick: install
	$(BIN)/python -m bench.pipeline --quick

## bench-logins: logins per second through the API against the bare password-hash rate
bench-logins: install
	$(BIN)/python -m bench.logins

## bench-alerts: urgent-alert latency (commit to SMTP), idle and behind a routine backlog
bench-alerts: install
	$(BIN)/python -m bench.alerts
