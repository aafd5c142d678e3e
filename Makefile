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
# mypy for test-python: python3's own, else one that make installs with pip
# into a venv under build/ (the system python may refuse pip installs).
PYTOOLS := $(BUILD)/pytools
MYPY ?= $(if $(shell python3 -m mypy --version 2>/dev/null),python3 -m mypy,$(PYTOOLS)/bin/python -m mypy)
MYPY_DEP := $(if $(findstring $(PYTOOLS),$(MYPY)),$(PYTOOLS)/bin/mypy)
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

GOTAGS_bundled := libsqlite3
GOTAGS_system  := libsqlite3
GOTAGS_none    := libsds_nosqlite
GOTAGS := $(GOTAGS_$(SQLITE))

# The bundled SQLite is go-sqlite3's amalgamation, compiled once into
# build/sqlite/libsqlite3.a with go-sqlite3's own options and linked through its
# libsqlite3 tag. Left to cgo, every Go build mode (the library's -trimpath, the
# tests' -race, plain test binaries) would compile the 9 MB amalgamation again.
BUILD_ABS := $(CURDIR)/$(BUILD)
ifeq ($(SQLITE),bundled)
  SQLITE_DIR := $(BUILD_ABS)/sqlite
  SQLITE_LIB := $(SQLITE_DIR)/libsqlite3.a
  CGO_CFLAGS ?= -O2 -g
  CGO_LDFLAGS ?= -O2 -g
  GO_ENV := CGO_CFLAGS="$(CGO_CFLAGS) -I$(SQLITE_DIR)" CGO_LDFLAGS="$(CGO_LDFLAGS) -L$(SQLITE_DIR) -lm"
endif
# Every Go command the Makefile runs: the same tags and cgo flags, so the build
# cache is shared between them.
GOCMD := $(GO_ENV) $(GO)
GOTAGS_FLAG := -tags "$(GOTAGS)"
# go-sqlite3's compile options for its amalgamation (see its sqlite3.go).
SQLITE_CFLAGS := -std=gnu99 -O2 -fPIC -DSQLITE_ENABLE_RTREE -DSQLITE_THREADSAFE=1 -DHAVE_USLEEP=1 \
  -DSQLITE_ENABLE_FTS3 -DSQLITE_ENABLE_FTS3_PARENTHESIS -DSQLITE_TRACE_SIZE_LIMIT=15 \
  -DSQLITE_OMIT_DEPRECATED -DSQLITE_DEFAULT_WAL_SYNCHRONOUS=1 -DSQLITE_ENABLE_UPDATE_DELETE_LIMIT \
  -Wno-deprecated-declarations

GO_SOURCES := $(shell find core libsds internal -name '*.go' -not -name '*_test.go') go.mod go.sum
C_SOURCES  := $(wildcard libsds/*.c libsds/*.h include/*.h) libsds/libsds.map libsds/exports.txt

# The C tests run against the library built with its own C code (sds.c,
# cdispatch.c, cgo's stubs) under AddressSanitizer and UndefinedBehaviorSanitizer
# ($(BUILD)/asan); the concurrency and lifecycle tests also run against a
# ThreadSanitizer build ($(BUILD)/tsan). See "Sanitizer builds" below.
CFLAGS_TEST := -std=c99 -O1 -g -Wall -Wextra -Werror -Iinclude -fsanitize=address -fno-omit-frame-pointer
LDFLAGS_TEST := -L$(BUILD)/asan -Wl,-rpath,$(CURDIR)/$(BUILD)/asan -lsds -lpthread
# Go's runtime keeps memory for the life of the process; LeakSanitizer checks
# our C tests, the Go heap is not C heap.
ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/c/lsan.supp \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: all lib lib-asan lib-tsan install uninstall test test-go test-fuzz test-c test-hostile test-tsan test-crash test-trace \
        test-python headercheck symbols bench bench-go bench-instr bench-c demo test-demo demo-readme clean help test-examples wheel test-wheel

all: lib $(BUILD)/sdsctl ## build build/libsds.so, build/libsds.pc and build/sdsctl (default)

lib: $(BUILD)/$(LIBFILE) $(BUILD)/libsds.pc ## build the shared library and its pkg-config file

$(BUILD_ABS)/sqlite/libsqlite3.a: go.sum
	@mkdir -p $(BUILD)/sqlite
	@echo "compiling the bundled SQLite once into $@ (a few minutes on a first build; later builds reuse it)"
	@$(GO) mod download github.com/mattn/go-sqlite3 && \
	  src=$$($(GO) list -m -f '{{.Dir}}' github.com/mattn/go-sqlite3) && test -n "$$src" && \
	  sed -e '1d' -e '/^#else \/\/ USE_LIBSQLITE3/,$$d' "$$src/sqlite3-binding.h" > $(BUILD)/sqlite/sqlite3.h && \
	  $(CC) $(SQLITE_CFLAGS) -I"$$src" -c "$$src/sqlite3-binding.c" -o $(BUILD)/sqlite/sqlite3.o
	ar rcs $@ $(BUILD)/sqlite/sqlite3.o
	@rm -f $(BUILD)/sqlite/sqlite3.o

$(BUILD)/$(LIBFILE): $(GO_SOURCES) $(C_SOURCES) VERSION $(SQLITE_LIB)
	@mkdir -p $(BUILD)
	$(GOCMD) build -buildmode=c-shared -trimpath $(GOTAGS_FLAG) \
	  -ldflags "-s -X main.version=$(VERSION) -extldflags '$(LINKFLAGS)'" -o $@ ./libsds
	@rm -f $(BUILD)/$(basename $(LIBFILE)).h $(BUILD)/libsds.so.h # cgo's generated header is never shipped
	ln -sf $(LIBFILE) $(BUILD)/$(LIBLINK)

$(BUILD)/sdsctl: $(GO_SOURCES) $(shell find cmd -name '*.go' -not -name '*_test.go') $(SQLITE_LIB)
	@mkdir -p $(BUILD)
	$(GOCMD) build -trimpath $(GOTAGS_FLAG) -o $@ ./cmd/sdsctl

# Sanitizer builds: the build tag libsds_asan or libsds_tsan adds the
# sanitizer's #cgo flags to package libsds only (libsds/sanitize_*.go), so
# its C is instrumented while the Go runtime's and SQLite's C are not (and
# the bundled SQLite is not compiled again).
SAN_LIBS := $(BUILD)/asan/$(LIBFILE) $(BUILD)/tsan/$(LIBFILE)

$(SAN_LIBS): $(BUILD)/%/$(LIBFILE): $(GO_SOURCES) $(C_SOURCES) VERSION $(SQLITE_LIB)
	@mkdir -p $(BUILD)/$*
	$(GOCMD) build -buildmode=c-shared -trimpath -tags "$(GOTAGS) libsds_$*" \
	  -ldflags "-X main.version=$(VERSION) -extldflags '$(LINKFLAGS)'" -o $@ ./libsds
	@rm -f $(BUILD)/$*/$(basename $(LIBFILE)).h $(BUILD)/$*/libsds.so.h
	ln -sf $(LIBFILE) $(BUILD)/$*/$(LIBLINK)

lib-asan: $(BUILD)/asan/$(LIBFILE) ## build/asan/libsds.so: the library's C under AddressSanitizer + UBSan
lib-tsan: $(BUILD)/tsan/$(LIBFILE) ## build/tsan/libsds.so: the library's C under ThreadSanitizer

# C inside the library's internal Go packages (the 0.4 request parser's SIMD
# scanner) is part of every library build too.
$(BUILD)/$(LIBFILE) $(SAN_LIBS): $(wildcard libsds/internal/*/*.c libsds/internal/*/*.h)

$(BUILD)/libsds.pc: libsds.pc.in VERSION
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

install: lib $(BUILD)/sdsctl ## install the library, sds.h, libsds.h, libsds.pc and sdsctl under $(DESTDIR)$(PREFIX)
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/sdsctl $(DESTDIR)$(PREFIX)/bin/sdsctl
	install -m 0755 $(BUILD)/$(LIBFILE) $(DESTDIR)$(PREFIX)/lib/$(LIBFILE)
	ln -sf $(LIBFILE) $(DESTDIR)$(PREFIX)/lib/$(LIBLINK)
	install -m 0644 include/sds.h include/libsds.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' libsds.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libsds.pc
	@echo "installed $(DESTDIR)$(PREFIX)/lib/$(LIBFILE). Programs find it at run time if $(PREFIX)/lib is in the"
	@echo "dynamic loader's path: run 'ldconfig' after installing to a system prefix (as root), or link with"
	@echo "-Wl,-rpath,$(PREFIX)/lib, or set LD_LIBRARY_PATH=$(PREFIX)/lib (DYLD_LIBRARY_PATH on macOS)."
	@echo "Compile and link flags: pkg-config --cflags --libs libsds"

test-install: lib ## install into build/stage and build nim-sds 0.3 and 0.4 style programs with pkg-config
	rm -rf $(BUILD)/stage
	$(MAKE) --no-print-directory install PREFIX=$(CURDIR)/$(BUILD)/stage
	PKG_CONFIG_PATH=$(CURDIR)/$(BUILD)/stage/lib/pkgconfig $(CC) -std=c99 -Wall -Werror tests/install/nim_style.c \
	  $$(PKG_CONFIG_PATH=$(CURDIR)/$(BUILD)/stage/lib/pkgconfig pkg-config --cflags --libs libsds) -lpthread \
	  -Wl,-rpath,$(CURDIR)/$(BUILD)/stage/lib -o $(BUILD)/nim_style
	$(BUILD)/nim_style
	PKG_CONFIG_PATH=$(CURDIR)/$(BUILD)/stage/lib/pkgconfig $(CC) -std=c99 -Wall -Werror tests/install/nim04_style.c \
	  $$(PKG_CONFIG_PATH=$(CURDIR)/$(BUILD)/stage/lib/pkgconfig pkg-config --cflags --libs libsds) -lpthread \
	  -Wl,-rpath,$(CURDIR)/$(BUILD)/stage/lib -o $(BUILD)/nim04_style
	$(BUILD)/nim04_style
	@test ! -e $(BUILD)/stage/include/libsds.so.h && ls $(BUILD)/stage/include | tr '\n' ' ' && echo "(no cgo header installed)"

uninstall: ## remove what install installed
	rm -f $(DESTDIR)$(PREFIX)/lib/$(LIBFILE) $(DESTDIR)$(PREFIX)/lib/$(LIBLINK) \
	  $(DESTDIR)$(PREFIX)/include/sds.h $(DESTDIR)$(PREFIX)/include/libsds.h \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig/libsds.pc $(DESTDIR)$(PREFIX)/bin/sdsctl

test: test-go test-fuzz headercheck symbols test-install test-c test-tsan test-crash test-trace test-python test-demo test-examples test-wheel ## every test: Go (-race), fuzz, header, symbols, install, C (ASan, TSan), crash, trace, Python (+ mypy, wheel), demo, examples

# libsds's own Go tests run twice: under the race detector (with ./...), and
# with the library's C under AddressSanitizer + UBSan (libsds/sanitize_asan.go).
# A Go test binary exits without LeakSanitizer's check; the C tests check leaks.
test-go: $(SQLITE_LIB) ## Go tests with the race detector; libsds's Go tests again with its C under ASan+UBSan
	$(GOCMD) vet $(GOTAGS_FLAG) ./...
	$(GOCMD) test -race -count=1 $(GOTAGS_FLAG) ./...
	ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  $(GOCMD) test -tags "$(GOTAGS) libsds_asan" -count=1 ./libsds

test-fuzz: $(SQLITE_LIB) ## fuzz the wire decoders ($(FUZZTIME) for 0.3, 10 s for 0.4 (also against the previous 0.4 decoder), detection and the entry fast path), the remote-filter parser, the sds_* request parser (and its SIMD byte-array scanner against the scalar one) and manager restarts
	$(GOCMD) test $(GOTAGS_FLAG) -run '^$$' -fuzz '^FuzzUnmarshal$$' -fuzztime $(FUZZTIME) ./core/wire
	$(GOCMD) test $(GOTAGS_FLAG) -run '^$$' -fuzz '^FuzzUnmarshalV04$$' -fuzztime 10s ./core/wire
	$(GOCMD) test $(GOTAGS_FLAG) -run '^$$' -fuzz '^FuzzUnmarshalV04Oracle$$' -fuzztime 10s ./core/wire
	$(GOCMD) test $(GOTAGS_FLAG) -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 10s ./core/wire
	$(GOCMD) test $(GOTAGS_FLAG) -run '^$$' -fuzz '^FuzzParseEntry$$' -fuzztime 10s ./core/wire
	$(GOCMD) test $(GOTAGS_FLAG) -run '^$$' -fuzz '^FuzzParseRemote$$' -fuzztime 10s ./core/bloom
	$(GOCMD) test $(GOTAGS_FLAG) -run '^$$' -fuzz '^FuzzParseWrap$$' -fuzztime 10s ./libsds/internal/nimcompat04
	$(GOCMD) test $(GOTAGS_FLAG) -run '^$$' -fuzz '^FuzzScanBlocks$$' -fuzztime 10s ./libsds/internal/nimcompat04
	$(GOCMD) test $(GOTAGS_FLAG) -run '^$$' -fuzz '^FuzzManagerRestart$$' -fuzztime 15s -fuzzminimizetime 1s ./core/engine

headercheck: ## sds.h and libsds.h compile as strict C99 and C++
	@mkdir -p $(BUILD)/tests
	$(CC) -std=c99 -Wall -Wextra -Werror -pedantic -Wstrict-prototypes -Iinclude -c tests/c/headercheck.c -o $(BUILD)/tests/headercheck_c.o
	c++ -x c++ -std=c++11 -Wall -Wextra -Werror -pedantic -Iinclude -c tests/c/headercheck.c -o $(BUILD)/tests/headercheck_cpp.o
	@echo "headercheck: ok"

symbols: lib ## the library exports exactly tests/abi/exports.txt
	@nm -D --defined-only $(BUILD)/$(LIBFILE) | awk '{print $$3}' | sort > $(BUILD)/exports.actual
	@diff -u tests/abi/exports.txt $(BUILD)/exports.actual && echo "symbols: exactly the $$(wc -l < tests/abi/exports.txt) public names"
	@tests/abi/check-declared.sh

C_TESTS := $(patsubst tests/c/%.c,$(BUILD)/tests/%,$(filter-out tests/c/headercheck.c tests/c/hostile.c,$(wildcard tests/c/*.c)))

$(BUILD)/tests/%: tests/c/%.c $(wildcard tests/c/*.h) include/sds.h include/libsds.h $(BUILD)/asan/$(LIBFILE)
	@mkdir -p $(BUILD)/tests
	$(CC) $(CFLAGS_TEST) $< -o $@ $(LDFLAGS_TEST)

# Run again confined to one CPU: the delivery threads and the callers share it.
C_TESTS_ONE_CPU := $(BUILD)/tests/delivery_pool $(BUILD)/tests/compat_ordering $(BUILD)/tests/compat_concurrency \
                   $(BUILD)/tests/native_lifecycle $(BUILD)/tests/native_backpressure $(BUILD)/tests/compat_lifecycle

# Run again with caller delivery off (LIBSDS_CALLER_DELIVERS=0): the compatible
# APIs' callbacks then all come from the delivery pool.
C_TESTS_POOL_DELIVERY := $(BUILD)/tests/compat_ordering $(BUILD)/tests/compat_concurrency \
                   $(BUILD)/tests/compat_lifecycle $(BUILD)/tests/compat_reentry \
                   $(BUILD)/tests/compat_cleanup_in_callback $(BUILD)/tests/v04_concurrency

# The hostile-peer suite measures peak RSS, so it is built without
# AddressSanitizer (whose shadow memory and quarantine would be measured too),
# against the plain library.
$(BUILD)/tests/hostile: tests/c/hostile.c $(wildcard tests/c/*.h) include/sds.h $(BUILD)/$(LIBFILE)
	@mkdir -p $(BUILD)/tests
	$(CC) -std=c99 -O1 -g -Wall -Wextra -Werror -Iinclude $< -o $@ -L$(BUILD) -Wl,-rpath,$(CURDIR)/$(BUILD) -lsds -lpthread

test-hostile: lib $(BUILD)/tests/hostile ## every hostile-peer attack, each in its own process, against the default budgets
	$(BUILD)/tests/hostile

test-c: lib $(C_TESTS) $(BUILD)/tests/hostile ## C tests against build/asan/libsds.so, under AddressSanitizer and UBSan; then the hostile-peer suite
	@failed=""; for t in $(C_TESTS); do echo "== $$t"; $(ASAN_ENV) $$t || failed="$$failed $$t"; done; \
	  echo "== $(BUILD)/tests/hostile"; $(BUILD)/tests/hostile || failed="$$failed $(BUILD)/tests/hostile"; \
	  if command -v taskset >/dev/null; then for t in $(C_TESTS_ONE_CPU); do echo "== $$t (one CPU)"; \
	    $(ASAN_ENV) taskset -c 0 $$t || failed="$$failed $$t(one-cpu)"; done; fi; \
	  for t in $(C_TESTS_POOL_DELIVERY); do echo "== $$t (LIBSDS_CALLER_DELIVERS=0)"; \
	    LIBSDS_CALLER_DELIVERS=0 $(ASAN_ENV) $$t || failed="$$failed $$t(pool-delivery)"; done; \
	  if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi

# The concurrency and lifecycle tests, built with ThreadSanitizer and run
# against the TSan library. tests/c/tsan.supp says what each suppression is for.
TSAN_TESTS := native_concurrency compat_concurrency compat_cleanup_race compat_cleanup_in_callback \
  delivery_pool native_reentry compat_reentry compat_ordering native_events
TSAN_ENV := TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/c/tsan.supp" SDS_TEST_SLOW=1

$(BUILD)/tsan/tests/%: tests/c/%.c $(wildcard tests/c/*.h) include/sds.h include/libsds.h $(BUILD)/tsan/$(LIBFILE)
	@mkdir -p $(BUILD)/tsan/tests
	$(CC) -std=c99 -O1 -g -Wall -Wextra -Werror -Iinclude -fsanitize=thread -fno-omit-frame-pointer $< -o $@ \
	  -L$(BUILD)/tsan -Wl,-rpath,$(CURDIR)/$(BUILD)/tsan -lsds -lpthread

test-tsan: $(addprefix $(BUILD)/tsan/tests/,$(TSAN_TESTS)) ## concurrency and lifecycle C tests against build/tsan/libsds.so, under ThreadSanitizer
	@failed=""; for t in $^; do echo "== $$t (TSan)"; $(TSAN_ENV) $$t || failed="$$failed $$t"; done; \
	  if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi

$(BUILD)/tests/crash_child: tests/crash/crash_child.c include/sds.h $(BUILD)/$(LIBFILE)
	@mkdir -p $(BUILD)/tests
	$(CC) -std=c99 -O1 -g -Wall -Wextra -Werror -Iinclude $< -o $@ -L$(BUILD) -Wl,-rpath,$(CURDIR)/$(BUILD) -lsds -lpthread

test-crash: lib $(BUILD)/tests/crash_child ## SIGKILL a child using the SQLite store mid-operation (>= 50 times), check the database after each kill
	SDS_CRASH_CHILD=$(CURDIR)/$(BUILD)/tests/crash_child SDS_LIBRARY=$(CURDIR)/$(BUILD)/$(LIBLINK) \
	  $(GOCMD) test $(GOTAGS_FLAG) -count=1 -run TestCrash -v ./tests/crash/

$(BUILD)/sds_trace: tests/trace/sds_trace.c
	@mkdir -p $(BUILD)
	$(CC) -O2 -Wall -o $@ $< -ldl -lpthread

test-trace: lib $(BUILD)/sds_trace ## replay nim-sds's recorded traces (0.3 Sds*, 0.4 sds_*) and compare (only deliberate differences allowed)
	SDS_TRACE_HINTS=null $(BUILD)/sds_trace $(CURDIR)/$(BUILD)/$(LIBLINK) $(BUILD)/trace-ours.jsonl > $(BUILD)/trace-ours.log 2>&1
	python3 tests/trace/compare.py tests/vectors/trace-nim-sds.jsonl $(BUILD)/trace-ours.jsonl \
	  --allow-file tests/trace/deliberate-differences.txt
	python3 tests/trace/replay_v04.py tests/vectors/trace-nim-sds-v04.jsonl $(CURDIR)/$(BUILD)/$(LIBLINK) \
	  $(BUILD)/trace-v04-ours.jsonl > $(BUILD)/trace-v04-ours.log
	python3 tests/trace/compare.py tests/vectors/trace-nim-sds-v04.jsonl $(BUILD)/trace-v04-ours.jsonl \
	  --allow-file tests/trace/deliberate-differences-v04.txt

$(PYTOOLS)/bin/mypy:
	@echo "python3 has no mypy: installing one into $(PYTOOLS)"
	python3 -m venv $(PYTOOLS)
	$(PYTOOLS)/bin/python -m pip install -q mypy

test-python: lib $(MYPY_DEP) ## Python bridge: mypy --strict on the package, its tests and example, then the tests (unittest)
	MYPYPATH=bridges/python/src:bridges/python/tests $(MYPY) --strict bridges/python/src/sds bridges/python/tests examples/python
	SDS_LIBRARY_PATH=$(CURDIR)/$(BUILD)/$(LIBLINK) PYTHONPATH=bridges/python/src \
	  python3 -m unittest discover -s bridges/python/tests -v

# The Python bridge as a wheel that bundles this build's library. pip builds
# from a copy, so that the source tree gets no build/ or egg-info.
WHEEL_DIR := $(BUILD)/wheel

wheel: lib ## a platform-tagged wheel of the Python bridge that bundles the library, in build/wheel
	rm -rf $(WHEEL_DIR) $(BUILD)/python-src
	mkdir -p $(WHEEL_DIR)
	cp -R bridges/python $(BUILD)/python-src
	$(if $(wildcard LICENSE-*),cp $(wildcard LICENSE-*) $(BUILD)/python-src/) # the wheel carries the licence texts
	SDS_BUNDLE_LIBRARY=$(CURDIR)/$(BUILD)/$(LIBFILE) python3 -m pip wheel -q --no-deps -w $(WHEEL_DIR) $(BUILD)/python-src
	@ls $(WHEEL_DIR)/*.whl

test-wheel: wheel ## install the wheel in a fresh venv; run the bridge's tests and the example with the bundled library
	rm -rf $(BUILD)/wheel-venv
	python3 -m venv $(BUILD)/wheel-venv
	$(BUILD)/wheel-venv/bin/python -m pip install -q --no-index $(WHEEL_DIR)/*.whl
	env -u SDS_LIBRARY_PATH -u PYTHONPATH $(BUILD)/wheel-venv/bin/python -c \
	  'import os, sds, sys; p = os.path.realpath(sds.LIBRARY_PATH); print("test-wheel: sds loads", p); \
	   sys.exit(0 if p.startswith(os.path.realpath(sys.prefix) + os.sep) else "test-wheel: not the bundled library")'
	env -u SDS_LIBRARY_PATH -u PYTHONPATH $(BUILD)/wheel-venv/bin/python -m unittest discover -s bridges/python/tests
	env -u SDS_LIBRARY_PATH -u PYTHONPATH $(BUILD)/wheel-venv/bin/python examples/python/two_peers.py

# examples/: each program checks its own result. The C one is built like a
# user would, against the library installed into a staging prefix.
EXAMPLES_STAGE := $(BUILD)/examples/stage

test-examples: lib ## the examples in C (installed library, pkg-config), Python and Go; the READMEs show them verbatim
	examples/check-readme.sh README.md "C quick start" c examples/c/two_peers.c
	examples/check-readme.sh bridges/python/README.md "Example" python examples/python/two_peers.py
	rm -rf $(EXAMPLES_STAGE)
	$(MAKE) --no-print-directory install PREFIX=$(CURDIR)/$(EXAMPLES_STAGE)
	export PKG_CONFIG_PATH=$(CURDIR)/$(EXAMPLES_STAGE)/lib/pkgconfig; \
	  $(CC) -std=c99 -Wall -Wextra -Wpointer-sign -pedantic -Werror examples/c/two_peers.c \
	    $$(pkg-config --cflags --libs libsds) -Wl,-rpath,$$(pkg-config --variable=libdir libsds) -o $(BUILD)/examples/two_peers
	$(BUILD)/examples/two_peers
	SDS_LIBRARY_PATH=$(CURDIR)/$(EXAMPLES_STAGE)/lib PYTHONPATH=bridges/python/src python3 examples/python/two_peers.py
	$(GOCMD) run $(GOTAGS_FLAG) ./examples/go

bench: bench-go bench-instr bench-c ## all benchmarks

bench-go: $(SQLITE_LIB) ## Go benchmarks of the engine, codec and filter
	$(GOCMD) test $(GOTAGS_FLAG) -run '^$$' -bench . -benchmem ./core/...

$(BUILD)/instr: $(GO_SOURCES) tests/bench/instr/main.go
	@mkdir -p $(BUILD)
	$(GOCMD) build $(GOTAGS_FLAG) -o $@ ./tests/bench/instr

bench-instr: $(BUILD)/instr $(BUILD)/native_bench ## instructions per engine operation and per native wrap+unwrap pair, counted by callgrind (stable on a noisy machine)
	tests/bench/instr.sh $(BUILD)/instr $(BUILD)/native_bench

$(BUILD)/mem_bench: tests/bench/mem_bench.c include/sds.h $(BUILD)/$(LIBFILE)
	$(CC) -std=c99 -O2 -Wall -Iinclude $< -o $@ -L$(BUILD) -Wl,-rpath,$(CURDIR)/$(BUILD) -lsds

$(BUILD)/abi_bench: tests/bench/abi_bench.c
	@mkdir -p $(BUILD)
	$(CC) -O2 -o $@ $< -ldl -lpthread

$(BUILD)/abi_bench_v04: tests/bench/abi_bench_v04.c tests/bench/median.h
	@mkdir -p $(BUILD)
	$(CC) -O2 -o $@ $< -ldl -lpthread

$(BUILD)/native_bench: tests/bench/native_bench.c tests/bench/median.h include/sds.h $(BUILD)/$(LIBFILE)
	$(CC) -std=c99 -O2 -Wall -Iinclude $< -o $@ -L$(BUILD) -Wl,-rpath,$(CURDIR)/$(BUILD) -lsds

bench-c: lib $(BUILD)/abi_bench $(BUILD)/abi_bench_v04 $(BUILD)/native_bench $(BUILD)/mem_bench ## C benchmarks through the ABI: compatible APIs (0.3 Sds*: tests/bench/abi_bench.c; 0.4 sds_*: abi_bench_v04.c), native API (N = 2000 and 5000), peak RSS of many quiet channels
	$(BUILD)/abi_bench $(CURDIR)/$(BUILD)/$(LIBLINK) 2000 100 1
	$(BUILD)/abi_bench_v04 $(CURDIR)/$(BUILD)/$(LIBLINK) 2000 100 1 --with-0.3
	$(BUILD)/abi_bench $(CURDIR)/$(BUILD)/$(LIBLINK) 5000 100 1
	$(BUILD)/abi_bench_v04 $(CURDIR)/$(BUILD)/$(LIBLINK) 5000 100 1 --with-0.3
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

test-demo: lib $(BUILD)/sds_demo ## the demo as an end-to-end test: short seeded runs, the same seed twice gives the same run, README's sample is current
	demo/check_determinism.sh $(BUILD)/sds_demo
	demo/sample_report.sh check $(BUILD)/sds_demo

demo-readme: lib $(BUILD)/sds_demo ## regenerate demo/README.md's sample report from a real run
	demo/sample_report.sh write $(BUILD)/sds_demo

clean: ## remove build outputs
	rm -rf $(BUILD)

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  sed -e 's|$$(PREFIX)|$(PREFIX)|g' -e 's|$$(DESTDIR)|$(DESTDIR)|g' -e 's|$$(FUZZTIME)|$(FUZZTIME)|g' | \
	  awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'
