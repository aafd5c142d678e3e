# libsds — build, test, install. `make help` lists the targets.

VERSION := $(shell cat VERSION)
ABI     ?= 0
PREFIX  ?= /usr/local
DESTDIR ?=
GO      ?= go
CC      ?= cc
# SQLITE=bundled (default) compiles SQLite into the library; SQLITE=system links
# the platform's libsqlite3 (needs libsqlite3-dev); SQLITE=none leaves the store
# out (LIBSDS_STORE_SQLITE then answers LIBSDS_ERR_UNSUPPORTED).
SQLITE  ?= bundled
FUZZTIME ?= 30s

BUILD := build
UNAME := $(shell uname -s)
ifeq ($(UNAME),Darwin)
  LIBFILE := libsds.$(ABI).dylib
  LIBLINK := libsds.dylib
  LINKFLAGS := -Wl,-install_name,@rpath/$(LIBFILE) -Wl,-exported_symbols_list,$(CURDIR)/libsds/exports.txt
else
  LIBFILE := libsds.so.$(ABI)
  LIBLINK := libsds.so
  LINKFLAGS := -Wl,-soname,$(LIBFILE) -Wl,--version-script=$(CURDIR)/libsds/libsds.map
endif

GOTAGS_bundled :=
GOTAGS_system  := libsqlite3
GOTAGS_none    := libsds_nosqlite
GOTAGS := $(GOTAGS_$(SQLITE))

GO_SOURCES := $(shell find core libsds internal -name '*.go' -not -name '*_test.go') go.mod go.sum
C_SOURCES  := $(wildcard libsds/*.c libsds/*.h include/*.h) libsds/libsds.map libsds/exports.txt

CFLAGS_TEST := -std=c99 -O1 -g -Wall -Wextra -Werror -Iinclude -fsanitize=address -fno-omit-frame-pointer
LDFLAGS_TEST := -L$(BUILD) -Wl,-rpath,$(CURDIR)/$(BUILD) -lsds -lpthread
# Go's runtime keeps memory for the life of the process; LeakSanitizer checks
# our C tests, the Go heap is not C heap.
ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/c/lsan.supp

.PHONY: all lib install uninstall test test-go test-fuzz test-c test-crash test-trace test-python headercheck symbols \
        bench bench-go bench-instr bench-c demo test-demo clean help

all: lib ## build build/libsds.so and build/libsds.pc (default)

lib: $(BUILD)/$(LIBFILE) $(BUILD)/libsds.pc ## build the shared library and its pkg-config file

$(BUILD)/$(LIBFILE): $(GO_SOURCES) $(C_SOURCES) VERSION
	@mkdir -p $(BUILD)
	$(GO) build -buildmode=c-shared -trimpath -tags "$(GOTAGS)" \
	  -ldflags "-s -X main.version=$(VERSION) -extldflags '$(LINKFLAGS)'" -o $@ ./libsds
	@rm -f $(BUILD)/$(basename $(LIBFILE)).h $(BUILD)/libsds.so.h # cgo's generated header is never shipped
	ln -sf $(LIBFILE) $(BUILD)/$(LIBLINK)

$(BUILD)/libsds.pc: libsds.pc.in VERSION
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

install: lib ## install the library, sds.h, libsds.h and libsds.pc under $(DESTDIR)$(PREFIX)
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0755 $(BUILD)/$(LIBFILE) $(DESTDIR)$(PREFIX)/lib/$(LIBFILE)
	ln -sf $(LIBFILE) $(DESTDIR)$(PREFIX)/lib/$(LIBLINK)
	install -m 0644 include/sds.h include/libsds.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' libsds.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libsds.pc

test-install: lib ## install into build/stage and build a nim-sds style program with pkg-config
	rm -rf $(BUILD)/stage
	$(MAKE) --no-print-directory install PREFIX=$(CURDIR)/$(BUILD)/stage
	PKG_CONFIG_PATH=$(CURDIR)/$(BUILD)/stage/lib/pkgconfig $(CC) -std=c99 -Wall -Werror tests/install/nim_style.c \
	  $$(PKG_CONFIG_PATH=$(CURDIR)/$(BUILD)/stage/lib/pkgconfig pkg-config --cflags --libs libsds) -lpthread \
	  -Wl,-rpath,$(CURDIR)/$(BUILD)/stage/lib -o $(BUILD)/nim_style
	$(BUILD)/nim_style
	@test ! -e $(BUILD)/stage/include/libsds.so.h && ls $(BUILD)/stage/include | tr '\n' ' ' && echo "(no cgo header installed)"

uninstall: ## remove what install installed
	rm -f $(DESTDIR)$(PREFIX)/lib/$(LIBFILE) $(DESTDIR)$(PREFIX)/lib/$(LIBLINK) \
	  $(DESTDIR)$(PREFIX)/include/sds.h $(DESTDIR)$(PREFIX)/include/libsds.h \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig/libsds.pc

test: test-go test-fuzz headercheck symbols test-install test-c test-crash test-trace test-python test-demo ## every test: Go (-race), fuzz, header, symbols, install, C (ASan), crash, trace, Python, demo

test-go: ## Go tests with the race detector
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

test-fuzz: ## fuzz the wire decoder and the remote-filter parser ($(FUZZTIME) each)
	$(GO) test -run '^$$' -fuzz '^FuzzUnmarshal$$' -fuzztime $(FUZZTIME) ./core/wire
	$(GO) test -run '^$$' -fuzz '^FuzzParseRemote$$' -fuzztime 10s ./core/bloom

headercheck: ## sds.h and libsds.h compile as strict C99 and C++
	@mkdir -p $(BUILD)/tests
	$(CC) -std=c99 -Wall -Wextra -Werror -pedantic -Wstrict-prototypes -Iinclude -c tests/c/headercheck.c -o $(BUILD)/tests/headercheck_c.o
	c++ -x c++ -std=c++11 -Wall -Wextra -Werror -pedantic -Iinclude -c tests/c/headercheck.c -o $(BUILD)/tests/headercheck_cpp.o
	@echo "headercheck: ok"

symbols: lib ## the library exports exactly tests/abi/exports.txt
	@nm -D --defined-only $(BUILD)/$(LIBFILE) | awk '{print $$3}' | sort > $(BUILD)/exports.actual
	@diff -u tests/abi/exports.txt $(BUILD)/exports.actual && echo "symbols: exactly the $$(wc -l < tests/abi/exports.txt) public names"
	@tests/abi/check-declared.sh

C_TESTS := $(patsubst tests/c/%.c,$(BUILD)/tests/%,$(filter-out tests/c/headercheck.c,$(wildcard tests/c/*.c)))

$(BUILD)/tests/%: tests/c/%.c $(wildcard tests/c/*.h) include/sds.h include/libsds.h $(BUILD)/$(LIBFILE)
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS_TEST) $< -o $@ $(LDFLAGS_TEST)

# Run again with delivery threads that never spin (LIBSDS_DISPATCH_LINGER_US=0),
# and confined to one CPU (no spinning, callers yield to the delivery threads).
C_TESTS_NO_LINGER := $(BUILD)/tests/delivery_pool $(BUILD)/tests/compat_ordering $(BUILD)/tests/compat_concurrency

test-c: lib $(C_TESTS) ## C tests against build/libsds.so, under AddressSanitizer
	@failed=""; for t in $(C_TESTS); do echo "== $$t"; $(ASAN_ENV) $$t || failed="$$failed $$t"; done; \
	  for t in $(C_TESTS_NO_LINGER); do echo "== $$t (LIBSDS_DISPATCH_LINGER_US=0)"; \
	    LIBSDS_DISPATCH_LINGER_US=0 $(ASAN_ENV) $$t || failed="$$failed $$t(no-linger)"; done; \
	  if command -v taskset >/dev/null; then for t in $(C_TESTS_NO_LINGER); do echo "== $$t (one CPU)"; \
	    $(ASAN_ENV) taskset -c 0 $$t || failed="$$failed $$t(one-cpu)"; done; fi; \
	  if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi

$(BUILD)/tests/crash_child: tests/crash/crash_child.c include/sds.h $(BUILD)/$(LIBFILE)
	@mkdir -p $(BUILD)/tests
	$(CC) -std=c99 -O1 -g -Wall -Wextra -Werror -Iinclude $< -o $@ -L$(BUILD) -Wl,-rpath,$(CURDIR)/$(BUILD) -lsds -lpthread

test-crash: lib $(BUILD)/tests/crash_child ## SIGKILL a child using the SQLite store mid-operation (>= 50 times), check the database after each kill
	SDS_CRASH_CHILD=$(CURDIR)/$(BUILD)/tests/crash_child SDS_LIBRARY=$(CURDIR)/$(BUILD)/$(LIBLINK) \
	  $(GO) test -count=1 -run TestCrash -v ./tests/crash/

$(BUILD)/sds_trace: tests/trace/sds_trace.c
	@mkdir -p $(BUILD)
	$(CC) -O2 -Wall -o $@ $< -ldl -lpthread

test-trace: lib $(BUILD)/sds_trace ## replay nim-sds's recorded trace and compare (only deliberate differences allowed)
	SDS_TRACE_HINTS=null $(BUILD)/sds_trace $(CURDIR)/$(BUILD)/$(LIBLINK) $(BUILD)/trace-ours.jsonl > $(BUILD)/trace-ours.log 2>&1
	python3 tests/trace/compare.py tests/vectors/trace-nim-sds.jsonl $(BUILD)/trace-ours.jsonl \
	  --allow-file tests/trace/deliberate-differences.txt

test-python: lib ## Python bridge tests (standard-library unittest)
	@if [ -d bridges/python ]; then SDS_LIBRARY_PATH=$(CURDIR)/$(BUILD)/$(LIBLINK) PYTHONPATH=bridges/python/src \
	  python3 -m unittest discover -s bridges/python/tests -v; else echo "no python bridge yet"; fi

bench: bench-go bench-instr bench-c ## all benchmarks

bench-go: ## Go benchmarks of the engine, codec and filter
	$(GO) test -run '^$$' -bench . -benchmem ./core/...

$(BUILD)/instr: $(GO_SOURCES) tests/bench/instr/main.go
	@mkdir -p $(BUILD)
	$(GO) build -o $@ ./tests/bench/instr

bench-instr: $(BUILD)/instr $(BUILD)/native_bench ## instructions per engine operation and per native wrap+unwrap pair, counted by callgrind (stable on a noisy machine)
	tests/bench/instr.sh $(BUILD)/instr $(BUILD)/native_bench

$(BUILD)/mem_bench: tests/bench/mem_bench.c include/sds.h $(BUILD)/$(LIBFILE)
	$(CC) -std=c99 -O2 -Wall -Iinclude $< -o $@ -L$(BUILD) -Wl,-rpath,$(CURDIR)/$(BUILD) -lsds

$(BUILD)/abi_bench: tests/bench/abi_bench.c
	@mkdir -p $(BUILD)
	$(CC) -O2 -o $@ $< -ldl -lpthread

$(BUILD)/native_bench: tests/bench/native_bench.c include/sds.h $(BUILD)/$(LIBFILE)
	$(CC) -std=c99 -O2 -Wall -Iinclude $< -o $@ -L$(BUILD) -Wl,-rpath,$(CURDIR)/$(BUILD) -lsds

bench-c: lib $(BUILD)/abi_bench $(BUILD)/native_bench $(BUILD)/mem_bench ## C benchmarks through the ABI: compatible API (tests/bench/abi_bench.c; also with non-spinning delivery threads), native API (N = 2000 and 5000), peak RSS of many quiet channels
	$(BUILD)/abi_bench $(CURDIR)/$(BUILD)/$(LIBLINK) 2000 100 1
	$(BUILD)/abi_bench $(CURDIR)/$(BUILD)/$(LIBLINK) 5000 100 1
	LIBSDS_DISPATCH_LINGER_US=0 $(BUILD)/abi_bench $(CURDIR)/$(BUILD)/$(LIBLINK) 2000 100 1
	$(BUILD)/native_bench 2000 100 1
	$(BUILD)/native_bench 5000 100 1
	$(BUILD)/native_bench 2000 100 1 normal $(BUILD)
	$(BUILD)/native_bench 2000 100 1 full $(BUILD)
	$(BUILD)/mem_bench 1000 5
	$(BUILD)/mem_bench 10000 1

CFLAGS_DEMO := -std=c99 -O2 -Wall -Wextra -Werror -Iinclude

$(BUILD)/sds_demo: demo/sds_demo.c include/sds.h $(BUILD)/$(LIBFILE)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS_DEMO) $< -o $@ -L$(BUILD) -Wl,-rpath,$(CURDIR)/$(BUILD) -lsds -lpthread

demo: lib $(BUILD)/sds_demo ## build the library and run the demo: a lossy group chat that converges (DEMO_FLAGS=--help)
	$(BUILD)/sds_demo $(DEMO_FLAGS)

test-demo: lib $(BUILD)/sds_demo ## the demo as an end-to-end test: short seeded runs, and the same seed twice gives the same run
	demo/check_determinism.sh $(BUILD)/sds_demo

clean: ## remove build outputs
	rm -rf $(BUILD)

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'
