# Two commands on a fresh machine: `make run` and `make test`. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ENV := source stack/env.sh &&

.PHONY: help setup up down run test test-unit lint status clean

help:
	@echo "make run    set up, start the stack, run the scan DAG on the bundled demo inputs"
	@echo "make test   set up, start the stack, run the test suite"
	@echo "make up / make down / make status / make lint / make clean"

setup:
	@bash stack/setup.sh

up: setup
	@bash stack/up.sh

down:
	@bash stack/down.sh

status:
	@bash stack/status.sh

run: up
	@$(ENV) python -m sca.cli.demo

# Tests trigger the portfolio themselves: no nightly run may start in the middle of them.
test: export SCA_PORTFOLIO_CRON ?= none
# The watchdog's test starts it itself: a round in the middle of other tests would be noise.
test: export SCA_WATCHDOG_CRON ?= none
test: up lint
	@$(ENV) python -m pytest $(PYTEST_ARGS)

.PHONY: bench bench-smoke

# Benchmarks of issue 13 (bench/run.py): one table, bench/results/latest.json and latest.md.
bench: up
	@$(ENV) python -m bench.run

# Every benchmark at a small size (under 2 minutes), written to a temporary folder.
bench-smoke: up
	@$(ENV) out=$$(mktemp -d) && python -m bench.run --smoke --out-dir "$$out"

test-unit: setup
	@$(ENV) python -m pytest tests/unit $(PYTEST_ARGS)

lint: setup
	@$(ENV) ruff check . && $(ENV) ruff format --check . && $(ENV) mypy plugins/sca

clean: down
	@pg=$$(cat .run/pg_dir 2>/dev/null); rm -rf .run; if [ -n "$$pg" ]; then rm -rf "$$(dirname "$$pg")"; fi
