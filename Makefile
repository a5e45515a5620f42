# The two commands of the README, and the checks they run.
SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)
UV ?= uv
RUN := $(UV) run --frozen --no-sync

.PHONY: bootstrap demo test lint typecheck pytest bench clean

bootstrap:
	@scripts/bootstrap

MODE ?= desk

demo: bootstrap
	$(RUN) kiosk demo --mode $(MODE)

test: bootstrap lint typecheck pytest

lint:
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) lint-imports

typecheck:
	$(RUN) mypy

pytest:
	$(RUN) pytest -n auto --dist loadgroup -q

BENCH_REPEAT ?= 1

bench: bootstrap
	$(RUN) python -m tests.bench --repeat $(BENCH_REPEAT)

clean:
	rm -rf var bench-results .mypy_cache .pytest_cache .ruff_cache
