# liveroom: build, test, benchmark and run liveroomd.
#
#   make deps          install Debian packages (scripts/install-deps; idempotent)
#   make build         configure once (Ninja, Release) and build build/liveroomd + unit tests
#   make run           build, then start a local demo server (scripts/run-demo)
#   make run-cluster   build, then start a local three-node cluster behind nginx on the address of
#                      `make run` (PostgreSQL, Redis, nodes on 9001-9003; scripts/run-cluster)
#   make test          build, unit tests (ctest), then pytest tests/e2e tests/compat tests/browser,
#                      then tests/e2e again in cluster mode (LIVEROOM_E2E_CLUSTER=1: every test
#                      on a three-node cluster; the cluster failure tests test_cluster_* run in
#                      the first pass only), then some of them once more with placement by app
#                      (LIVEROOM_E2E_PLACEMENT=app: each app hosted by a node of its own) and
#                      by room (LIVEROOM_E2E_PLACEMENT=room: each app's rooms over 8 slots)
#   make test-sanitize the same suites on an ASan+UBSan build in build-asan/; any sanitizer report
#                      (leaks included, liveroomd's too) fails the run (scripts/test-sanitize)
#   make test-tsan     the same on a ThreadSanitizer build in build-tsan/ (not run by CI)
#   make soak-cluster  build, then random failures one after another (kill -9 of the leader or a
#                      follower, SIGTERM of the leader, SIGSTOP past the lease, Redis killed) under
#                      8 writers on a three-node cluster, checking nothing acknowledged is lost;
#                      then the same with placement by app, failures striking any node
#                      (tests/e2e/test_cluster_soak.py; SOAK_ROUNDS=20 each, SOAK_SEED to replay;
#                      not run by make test or CI)
#   make bench         build, then bench/run (liveroomd vs nginx baseline, ~1.5 min) and
#                      bench/scale (100,000 rooms: memory and restart time, ~15 s) and
#                      bench/webhooks (callbacks/s and what webhooks cost the API, ~3 min)
#   make bench-quick   same with short runs (~30 s); numbers are indicative only
#   make bench-gateway chat fan-out to 10,000 WebSocket members in one room (bench/gateway)
#   make bench-cluster build, then bench/cluster: a three-node cluster (PostgreSQL, Redis, nginx
#                      round-robin) against the single node in one run: REST req/s ratios, chat
#                      fan-out over the three nodes, kill -9 of the leader under writes, and a
#                      second cluster of 300 apps placed by app, failing over (~5 min;
#                      QUICK=1 ~2 min)
#   make fuzz          build the libFuzzer targets of fuzz/ with clang 16 (build-fuzz/, ASan+UBSan)
#                      and run each for FUZZ_SECONDS from its seeds; fails on any crash
#   make format        clang-format -i on src/, tests/unit/ and fuzz/
#   make format-check  fail if clang-format would change anything
#   make clean         remove the build directories
#
# Knobs: BUILD_DIR=build  BUILD_TYPE=Release  SKIP_DEPS=1 (do not run install-deps)
#        ASAN_BUILD_DIR=build-asan  TSAN_BUILD_DIR=build-tsan  SANITIZE_BUILD_TYPE=RelWithDebInfo
#        CTEST_FLAGS=...  PYTEST_FLAGS=...  BENCH_ARGS=... (see bench/run --help)
#        FUZZ_SECONDS=60 (per target)  FUZZ_DIR=build-fuzz  FUZZ_TARGETS="fuzz_usersig ..."
#        FUZZ_FLAGS=... (more libFuzzer flags)

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build
.DELETE_ON_ERROR:

BUILD_DIR ?= build
BUILD_TYPE ?= Release
ASAN_BUILD_DIR ?= build-asan
TSAN_BUILD_DIR ?= build-tsan
# Optimised (sanitized code is slow enough) but with line numbers in the reports.
SANITIZE_BUILD_TYPE ?= RelWithDebInfo
# Debian's interpreter: it sees python3-pytest and python3-requests; another python3 may be
# first on PATH.
PYTHON := /usr/bin/python3
CLANG_FORMAT ?= clang-format
CTEST_FLAGS ?=
PYTEST_FLAGS ?=
BENCH_ARGS ?=
LIVEROOMD ?= $(CURDIR)/$(BUILD_DIR)/liveroomd
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= fuzz_usersig fuzz_router fuzz_gateway fuzz_config fuzz_link_records
FUZZ_FLAGS ?=
# A comma in a $(call ...) argument.
, := ,

COMPAT_DIR := tests/compat
# Written after a successful `npm ci`; newer than the lock file means node_modules is current.
COMPAT_STAMP := $(COMPAT_DIR)/node_modules/.liveroom-npm-ci
# playwright-core for the browser tests (headless Debian chromium drives /demo/).
BROWSER_DIR := tests/browser
BROWSER_STAMP := $(BROWSER_DIR)/node_modules/.liveroom-npm-ci

FORMAT_FILES = $(shell find src tests/unit fuzz -type f \
                 \( -name '*.cpp' -o -name '*.cc' -o -name '*.h' -o -name '*.hpp' \) 2>/dev/null | sort)

.PHONY: all deps build run run-cluster test unit-test e2e-test cluster-test compat-deps \
        browser-deps bench bench-quick bench-tools \
        bench-gateway bench-cluster soak-cluster fuzz build-asan build-tsan test-sanitize \
        test-tsan \
        format format-check clean distclean

all: build

deps:
ifneq ($(SKIP_DEPS),1)
	bash scripts/install-deps
endif

# $(call configure_and_build,DIR,BUILD_TYPE,SANITIZERS): configures DIR once, then builds it.
define configure_and_build
	@if [ ! -f "$(1)/build.ninja" ]; then \
	  echo "cmake -S . -B $(1) -G Ninja -DCMAKE_BUILD_TYPE=$(2) -DLIVEROOM_SANITIZE=$(3)"; \
	  cmake -S . -B "$(1)" -G Ninja -DCMAKE_BUILD_TYPE="$(2)" -DLIVEROOM_SANITIZE="$(3)"; \
	fi
	ninja -C "$(1)"
endef

build: deps
	$(call configure_and_build,$(BUILD_DIR),$(BUILD_TYPE),)

build-asan: deps
	$(call configure_and_build,$(ASAN_BUILD_DIR),$(SANITIZE_BUILD_TYPE),address$(,)undefined)

build-tsan: deps
	$(call configure_and_build,$(TSAN_BUILD_DIR),$(SANITIZE_BUILD_TYPE),thread)

run: build
	LIVEROOMD="$(LIVEROOMD)" bash scripts/run-demo

run-cluster: build
	LIVEROOMD="$(LIVEROOMD)" bash scripts/run-cluster

UNIT_TEST_CMD = ctest --test-dir "$(BUILD_DIR)" --output-on-failure --no-tests=error $(CTEST_FLAGS)
E2E_TEST_CMD = LIVEROOMD="$(LIVEROOMD)" $(PYTHON) -m pytest -q $(PYTEST_FLAGS) tests/e2e tests/compat \
               tests/browser
# The e2e suite once more with every server a cluster (tests/e2e/cluster.py); the failure tests
# (test_cluster_*, which make clusters of their own) already ran in the first pass.
CLUSTER_TEST_CMD = LIVEROOM_E2E_CLUSTER=1 LIVEROOMD="$(LIVEROOMD)" $(PYTHON) -m pytest -q $(PYTEST_FLAGS) \
                   tests/e2e --ignore-glob='tests/e2e/test_cluster_*'
# With placement by app the nodes route each call by its sdkappid and each client by its login:
# the suites that cover those paths once more that way (about 30 s; the whole suite takes twice
# the cluster pass, each cluster waiting two look intervals before it splits its apps).
PLACEMENT_TEST_CMD = LIVEROOM_E2E_CLUSTER=1 LIVEROOM_E2E_PLACEMENT=app LIVEROOMD="$(LIVEROOMD)" \
                     $(PYTHON) -m pytest -q $(PYTEST_FLAGS) tests/e2e/test_rooms.py \
                     tests/e2e/test_accounts.py tests/e2e/test_operations.py \
                     tests/e2e/test_gateway_login.py tests/e2e/test_gateway_chat.py \
                     tests/e2e/test_gateway_cohost.py
# With placement by room the nodes route each call by its room's slot and each client's session
# by the room it enters, follow the app's feed of accounts, callbacks and gifts, list rooms from
# PostgreSQL, share quotas in Redis and gather dead letters from every slot: the suites that cover
# those paths (about 2.5 min; the whole suite passes that way, LIVEROOM_E2E_PLACEMENT=room, but
# for what is marked not_by_room).
ROOM_PLACEMENT_TEST_CMD = LIVEROOM_E2E_CLUSTER=1 LIVEROOM_E2E_PLACEMENT=room LIVEROOMD="$(LIVEROOMD)" \
                          $(PYTHON) -m pytest -q $(PYTEST_FLAGS) tests/e2e/test_rooms.py \
                          tests/e2e/test_room_list.py tests/e2e/test_quota.py \
                          tests/e2e/test_gateway_login.py \
                          tests/e2e/test_gateway_chat.py tests/e2e/test_gateway_gifts.py \
                          tests/e2e/test_webhooks.py::test_max_age_dead_letters_and_replay \
                          tests/e2e/test_webhooks.py::test_cli_dead_letters_and_replay

test: build compat-deps browser-deps
	$(UNIT_TEST_CMD)
	$(E2E_TEST_CMD)
	$(CLUSTER_TEST_CMD)
	$(PLACEMENT_TEST_CMD)
	$(ROOM_PLACEMENT_TEST_CMD)

# The steps of `make test` alone, without building first.
unit-test:
	$(UNIT_TEST_CMD)

e2e-test: compat-deps browser-deps
	$(E2E_TEST_CMD)

cluster-test:
	$(CLUSTER_TEST_CMD)
	$(PLACEMENT_TEST_CMD)
	$(ROOM_PLACEMENT_TEST_CMD)

# Sanitizer runs of the same suites (scripts/test-sanitize says how reports fail the run).
test-sanitize: build-asan compat-deps browser-deps
	CTEST_FLAGS='$(CTEST_FLAGS)' PYTEST_FLAGS='$(PYTEST_FLAGS)' \
	  bash scripts/test-sanitize address "$(ASAN_BUILD_DIR)"

test-tsan: build-tsan compat-deps browser-deps
	CTEST_FLAGS='$(CTEST_FLAGS)' PYTEST_FLAGS='$(PYTEST_FLAGS)' \
	  bash scripts/test-sanitize thread "$(TSAN_BUILD_DIR)"

compat-deps: $(COMPAT_STAMP)
browser-deps: $(BROWSER_STAMP)

$(BROWSER_STAMP): $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json
	npm ci --prefix $(BROWSER_DIR) --no-audit --no-fund
	touch $@

# Tencent's own signer (npm tls-sig-api-v2) for the compatibility test. Skipped, so offline
# re-runs work, when node_modules was installed from the current lock file.
$(COMPAT_STAMP): $(COMPAT_DIR)/package.json $(COMPAT_DIR)/package-lock.json
	npm ci --prefix $(COMPAT_DIR) --no-audit --no-fund
	touch $@

bench: build
	$(PYTHON) bench/run --liveroomd "$(LIVEROOMD)" $(BENCH_ARGS)
	$(PYTHON) bench/scale --liveroomd "$(LIVEROOMD)"
	$(PYTHON) bench/webhooks --liveroomd "$(LIVEROOMD)"

# Chat fan-out through the client gateway: 10,000 members in one room (bench/gateway).
# The load generator of the gateway benchmarks (bench/gateway_load.cpp), not in the default build.
bench-tools: build
	cmake --build "$(BUILD_DIR)" --target liveroom_gateway_load

bench-gateway: bench-tools
	LIVEROOMD="$(LIVEROOMD)" GATEWAY_LOAD="$(CURDIR)/$(BUILD_DIR)/liveroom_gateway_load" bash bench/gateway

# A three-node cluster against the single node, in one run (bench/cluster; QUICK=1, DURATION=N).
# Random failures under writers, one after another (LIVEROOM_SOAK=1 lifts the suite's skip).
soak-cluster: build
	LIVEROOM_SOAK=1 LIVEROOMD="$(LIVEROOMD)" $(PYTHON) -m pytest -q -s $(PYTEST_FLAGS) \
	  tests/e2e/test_cluster_soak.py

bench-cluster: bench-tools
	$(PYTHON) bench/cluster --liveroomd "$(LIVEROOMD)" \
	  --gateway-load "$(CURDIR)/$(BUILD_DIR)/liveroom_gateway_load" $(BENCH_ARGS)

bench-quick: build
	$(PYTHON) bench/run --liveroomd "$(LIVEROOMD)" --duration 3 --warmup 1 $(BENCH_ARGS)

# libFuzzer needs clang; Debian 12's clang 14 cannot compile the project's C++23, clang 16 can.
# Debug keeps assertions (toml++'s, ours) on, -O1 keeps it fast. Each target starts from the
# committed seeds (fuzz/corpus/<target>, only read) and grows its own corpus in $(FUZZ_DIR)/corpus;
# a crash leaves its input in $(FUZZ_DIR)/artifacts. Every target runs, then the first failure
# fails the target.
fuzz:
ifneq ($(SKIP_DEPS),1)
	bash scripts/install-deps
	bash scripts/install-fuzz-deps
endif
	@if [ ! -f "$(FUZZ_DIR)/build.ninja" ]; then \
	  echo "cmake -S . -B $(FUZZ_DIR) -G Ninja (clang++-16, LIVEROOM_FUZZ=ON)"; \
	  CXX=clang++-16 cmake -S . -B "$(FUZZ_DIR)" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	    -DCMAKE_CXX_FLAGS=-O1 -DLIVEROOM_FUZZ=ON -DLIVEROOM_BUILD_TESTS=OFF; \
	fi
	ninja -C "$(FUZZ_DIR)" $(FUZZ_TARGETS)
	@failed=(); \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p "$(FUZZ_DIR)/corpus/$$t" "$(FUZZ_DIR)/artifacts"; \
	  echo "== $$t: $(FUZZ_SECONDS) s"; \
	  if ! "$(FUZZ_DIR)/fuzz/$$t" -max_total_time=$(FUZZ_SECONDS) -timeout=30 -print_final_stats=1 \
	       -artifact_prefix="$(FUZZ_DIR)/artifacts/$$t-" $(FUZZ_FLAGS) \
	       "$(FUZZ_DIR)/corpus/$$t" "fuzz/corpus/$$t" 2>"$(FUZZ_DIR)/$$t.log"; then \
	    failed+=("$$t"); tail -n 60 "$(FUZZ_DIR)/$$t.log"; \
	  fi; \
	  grep -E '^#[0-9]+.*(DONE|pulse)|^stat::' "$(FUZZ_DIR)/$$t.log" | tail -n 6 || true; \
	done; \
	if (($${#failed[@]})); then echo "fuzz: crashes in $${failed[*]} (inputs in $(FUZZ_DIR)/artifacts)" >&2; exit 1; fi; \
	echo "fuzz: no crash in $(FUZZ_TARGETS)"

format: deps
	@files='$(FORMAT_FILES)'; \
	if [ -n "$$files" ]; then $(CLANG_FORMAT) -i $$files; fi

format-check: deps
	@bad=0; \
	for f in $(FORMAT_FILES); do \
	  $(CLANG_FORMAT) --style=file "$$f" | cmp -s - "$$f" || { echo "needs formatting: $$f" >&2; bad=1; }; \
	done; \
	if [ "$$bad" -ne 0 ]; then echo "format-check: run 'make format'" >&2; exit 1; fi

clean:
	rm -rf "$(BUILD_DIR)" "$(ASAN_BUILD_DIR)" "$(TSAN_BUILD_DIR)" "$(FUZZ_DIR)"

# Also the npm install of the compat test (data/, which holds the demo secret, is kept).
distclean: clean
	rm -rf $(COMPAT_DIR)/node_modules $(BROWSER_DIR)/node_modules
