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

# The appliance image (image/README.md): arm64 bookworm for the Raspberry Pi 4/5, built
# here through qemu-user (root, scripts/bootstrap's image packages). Outputs in image/out/.
.PHONY: image image-lock image-check image-test

image: bootstrap
	image/build

image-lock: bootstrap
	image/build --lock

image-check: bootstrap
	image/check-reproducible

image-test:
	image/test-image

# A signed RAUC bundle of the image's slot (image/rauc/bundle): FLEET_CERT, FLEET_KEY and
# FLEET_KEYRING name the fleet's signer and CA; unset, the test CA's (image/out/rauc-test-ca).
.PHONY: bundle
bundle: bootstrap
	image/rauc/bundle image/out $(BUNDLE_FORMAT)

BUNDLE_FORMAT ?= verity
