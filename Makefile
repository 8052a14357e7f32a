# Build, run and test the server. Plain GNU make; no other build system.
#
#   make run     install deps, build, start on port 6379
#   make test    install deps, build, run unit + end-to-end + differential tests
#   make check   unit + end-to-end tests under ASan/UBSan, concurrency tests under TSan
#   make bench   compare throughput and memory with real Redis (bench/compare.sh)

CXX      ?= g++
CXXFLAGS ?= -O2 -g
# `override`: these stay even when CXXFLAGS/LDFLAGS are given on the command line (the
# sanitizer builds below pass their own CXXFLAGS).
override CXXFLAGS += -std=c++20 -Wall -Wextra -Werror -pthread -I. -MMD -MP
override LDFLAGS  += -pthread
# Lua 5.1 for EVAL/FUNCTION (server/scripting/): Debian's C++ build of the interpreter, so a Lua
# error unwinds C++ frames as an exception (destructors run) instead of a longjmp; cjson and
# bitop are linked statically (their .so would pull in the C build of the interpreter).
override CXXFLAGS += -I/usr/include/lua5.1
override LDFLAGS  += -l:liblua5.1-cjson.a -l:liblua5.1-bitop.a -llua5.1-c++ -lm -ldl
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)

BUILD    ?= build
BIN      ?= redis-server

# Every .cc under the source folders is part of the server; *_test.cc files are unit tests.
SRC_DIRS   := server server/commands server/scripting protocol storage replication
ALL_SRCS   := $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.cc))
TEST_SRCS  := $(filter %_test.cc,$(ALL_SRCS)) $(wildcard test/unit/*.cc)
MAIN_SRC   := server/main.cc
LIB_SRCS   := $(filter-out %_test.cc $(MAIN_SRC),$(ALL_SRCS))

LIB_OBJS   := $(LIB_SRCS:%.cc=$(BUILD)/%.o)
MAIN_OBJ   := $(MAIN_SRC:%.cc=$(BUILD)/%.o)
TEST_OBJS  := $(TEST_SRCS:%.cc=$(BUILD)/%.o)
UNIT_BIN   := $(BUILD)/unit_tests

APT_PACKAGES := libcli11-dev doctest-dev redis-server redis-tools python3 \
                liblua5.1-0-dev lua-cjson-dev lua-bitop-dev

.PHONY: all deps run test unit e2e diff check check-asan check-tsan bench clean commands-doc

all: $(BIN)

# Installs what the build and the tests need, only when something is missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(BIN): $(LIB_OBJS) $(MAIN_OBJ)
	$(CXX) $(CXXFLAGS) -o $@ $^ $(LDFLAGS)

$(UNIT_BIN): $(LIB_OBJS) $(TEST_OBJS)
	$(CXX) $(CXXFLAGS) -o $@ $^ $(LDFLAGS)

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

run: deps
	$(MAKE) -j$(JOBS) all
	./$(BIN) --port 6379

unit: $(UNIT_BIN)
	./$(UNIT_BIN)

# End-to-end tests start ./redis-server on free ports (see test/run_e2e.sh).
e2e: $(BIN)
	test/run_e2e.sh ./$(BIN)

diff: $(BIN)
	python3 test/diff/run_diff.py --ours $(CURDIR)/$(BIN)

# Run every stage even if an earlier one failed; fail at the end if any did.
STAGES = failed=""; run() { echo "== $$*"; "$$@" || failed="$$failed\n  $$*"; }
STAGES_END = if [ -n "$$failed" ]; then printf "make $@: FAILED:$$failed\n"; exit 1; fi

# Everything, from a fresh Debian machine: deps, build, unit, end-to-end, differential.
# Every stage runs even if an earlier one failed; the target fails if any did. The harness
# self-tests need no server. A stale docs/commands.md is only a warning here.
test: deps
	$(MAKE) -j$(JOBS) all $(UNIT_BIN)
	@$(STAGES); \
	run ./$(UNIT_BIN); \
	run python3 test/lib/test_resp.py; \
	run python3 test/diff/test_run_diff.py; \
	run test/run_e2e.sh ./$(BIN); \
	run python3 test/diff/run_diff.py --ours $(CURDIR)/$(BIN); \
	python3 test/tools/commands_doc.py --ours ./$(BIN) --check docs/commands.md >/dev/null 2>&1 || \
	  echo "WARNING: docs/commands.md is out of date: run 'make commands-doc'"; \
	$(STAGES_END); \
	echo "make test: all stages passed"

# docs/commands.md from both servers' COMMAND output and docs/command_notes.txt.
commands-doc: $(BIN)
	python3 test/tools/commands_doc.py --ours ./$(BIN) > docs/commands.md.tmp
	mv docs/commands.md.tmp docs/commands.md

# Sanitizer builds live in their own build folders so they never mix with the normal objects.
# They run one after the other (never in parallel: each uses both cores). Sanitizer reports
# from servers started by the end-to-end tests fail the test (see test/run_e2e.sh).
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
TSAN_FLAGS := -O1 -g -fsanitize=thread
check: deps
	@failed=""; \
	$(MAKE) check-asan || failed="$$failed check-asan"; \
	$(MAKE) check-tsan || failed="$$failed check-tsan"; \
	if [ -n "$$failed" ]; then echo "make check: FAILED:$$failed"; exit 1; fi; \
	echo "make check: all stages passed"

check-asan:
	$(MAKE) -j$(JOBS) BUILD=build-asan BIN=build-asan/redis-server \
	  CXXFLAGS="$(ASAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" build-asan/redis-server build-asan/unit_tests
	@export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 E2E_TIMEOUT=300; $(STAGES); \
	run ./build-asan/unit_tests; \
	run test/run_e2e.sh ./build-asan/redis-server; \
	run python3 test/diff/run_diff.py --ours $(CURDIR)/build-asan/redis-server --timeout 20 --keep-going; \
	$(STAGES_END)

check-tsan:
	$(MAKE) -j$(JOBS) BUILD=build-tsan BIN=build-tsan/redis-server \
	  CXXFLAGS="$(TSAN_FLAGS)" LDFLAGS="-fsanitize=thread" build-tsan/redis-server build-tsan/unit_tests
	@export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" E2E_TIMEOUT=600 \
	  CONCURRENCY_SCALE=$${CONCURRENCY_SCALE:-1}; $(STAGES); \
	run ./build-tsan/unit_tests; \
	run test/run_e2e.sh ./build-tsan/redis-server concurrency; \
	$(STAGES_END)

bench: deps
	$(MAKE) -j$(JOBS) all
	bench/compare.sh ./$(BIN)

clean:
	rm -rf build build-asan build-tsan $(BIN)

-include $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(TEST_OBJS:.o=.d)
