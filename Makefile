# The two commands of carrel's set-up (README): `make run` and `make test`.
# Both install what is missing (Debian 12 packages), build, and are quick to re-run.

SHELL := /bin/bash
DATA ?= var/library
LISTEN ?= 127.0.0.1:8080
SIP2 ?= 127.0.0.1:6001
JOBS ?= $(shell nproc)

.PHONY: run test bench deps build-release build-asan clean format openapi screenshots fuzz

deps:
	@scripts/install-deps.sh

build-release: deps
	@test -f build/release/build.ninja || cmake --preset release >/dev/null
	@cmake --build build/release -j $(JOBS)

build-asan: deps
	@test -f build/asan/build.ninja || cmake --preset asan >/dev/null
	@cmake --build build/asan -j $(JOBS)

# Builds, creates the demo library under ./var on first use, and serves it.
run: build-release
	@if [ ! -f $(DATA)/carrel.db ]; then \
	  build/release/carrel init --data $(DATA) && \
	  build/release/carrel demo seed --data $(DATA) --patrons 5000 --items 20000 --loans 200000; \
	fi
	@echo "carrel: open http://$(LISTEN)/ in a browser (the API's reference: http://$(LISTEN)/api/docs)"
	@echo "carrel: demo logins (password westport-demo-2026): desk, demo-director, counsel, trustee, demo-admin, demo-kiosk;"
	@echo "carrel: patron portal: card 21000000000001, PIN 246810"
	@echo "carrel: SIP2 for self-check kiosks on $(SIP2) (kiosk login demo-kiosk, same password)"
	@echo "carrel: audit log key: $$(build/release/carrel audit key --data $(DATA))"
	@build/release/carrel serve --data $(DATA) --listen $(LISTEN) --sip2 $(SIP2)

# Every test: the C++ tests in the release build and under AddressSanitizer + UBSan, the OpenAPI
# document's lint, that no module's SQL names another's tables, and the web UI in Chromium
# (release build).
test: build-release build-asan
	@scripts/check-table-ownership.py
	@scripts/lint-openapi.sh
	@ctest --preset release -j $(JOBS)
	@scripts/browser-tests.sh
	@ctest --preset asan -j $(JOBS)
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-5} scripts/fuzz.sh

# The libFuzzer targets of the parsers of outside input, FUZZ_SECONDS (default 60) each
# (scripts/fuzz.sh); non-zero on any crash, leak, undefined behaviour or timeout.
fuzz: build-asan
	@scripts/fuzz.sh

bench: build-release
	@scripts/bench.sh build/release

# A PNG of each main screen of the web UI, in docs/screenshots/ (the README shows them).
screenshots: build-release
	@scripts/browser-tests.sh --screenshots

# Writes docs/openapi.yaml from the route table (a test fails while the copy is stale).
openapi: build-release
	@build/release/carrel openapi > docs/openapi.yaml

format:
	@clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf build
