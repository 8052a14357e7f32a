# Build, run and test the server. Plain GNU make; no other build system.
#
#   make run     install deps, build, start on port 6379
#   make test    install deps, build, run unit + end-to-end + differential tests
#   make check   unit + end-to-end tests under ASan/UBSan, concurrency tests under TSan
#   make bench   compare throughput and memory with real Redis (bench/compare.sh)

CXX      ?= g++
CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++20 -Wall -Wextra -Werror -pthread -I. -MMD -MP
LDFLAGS  += -pthread
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)

BUILD    ?= build
BIN      ?= redis-server

# Every .cc under the source folders is part of the server; *_test.cc files are unit tests.
SRC_DIRS   := server server/commands protocol storage replication
ALL_SRCS   := $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.cc))
TEST_SRCS  := $(filter %_test.cc,$(ALL_SRCS)) $(wildcard test/unit/*.cc)
MAIN_SRC   := server/main.cc
LIB_SRCS   := $(filter-out %_test.cc $(MAIN_SRC),$(ALL_SRCS))

LIB_OBJS   := $(LIB_SRCS:%.cc=$(BUILD)/%.o)
MAIN_OBJ   := $(MAIN_SRC:%.cc=$(BUILD)/%.o)
TEST_OBJS  := $(TEST_SRCS:%.cc=$(BUILD)/%.o)
UNIT_BIN   := $(BUILD)/unit_tests

APT_PACKAGES := libcli11-dev doctest-dev redis-server redis-tools python3

.PHONY: all deps run test unit e2e diff check check-asan check-tsan bench clean

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
	python3 test/diff/run_diff.py --ours ./$(BIN)

test: deps
	$(MAKE) -j$(JOBS) all $(UNIT_BIN)
	./$(UNIT_BIN)
	test/run_e2e.sh ./$(BIN)
	python3 test/diff/run_diff.py --ours ./$(BIN)

# Sanitizer builds live in their own build folders so they never mix with the normal objects.
check: deps check-asan check-tsan

check-asan:
	$(MAKE) -j$(JOBS) BUILD=build-asan BIN=build-asan/redis-server \
	  CXXFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" build-asan/redis-server build-asan/unit_tests
	ASAN_OPTIONS=detect_leaks=1 ./build-asan/unit_tests
	ASAN_OPTIONS=detect_leaks=1 test/run_e2e.sh ./build-asan/redis-server

check-tsan:
	$(MAKE) -j$(JOBS) BUILD=build-tsan BIN=build-tsan/redis-server \
	  CXXFLAGS="-O1 -g -fsanitize=thread" LDFLAGS="-fsanitize=thread" \
	  build-tsan/redis-server build-tsan/unit_tests
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ./build-tsan/unit_tests
	TSAN_OPTIONS="halt_on_error=1" test/run_e2e.sh ./build-tsan/redis-server concurrency

bench: deps
	$(MAKE) -j$(JOBS) all
	bench/compare.sh ./$(BIN)

clean:
	rm -rf build build-asan build-tsan $(BIN)

-include $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(TEST_OBJS:.o=.d)
