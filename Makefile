# mingpt — build with `make`, test with `make test`.
# `make PORTABLE=1` builds without -march=native (a binary that runs on any x86-64/ARM64 CPU).
# `make test-v3` and `make test-portable` run the tests on those builds.
CC ?= cc
OPT ?= -O3
ifeq ($(PORTABLE),1)
ARCH :=
else
ARCH := -march=native
endif
# -ffp-contract=fast lets the compiler fuse a*b+c into FMA even in ISO C mode; -fno-math-errno lets
# it vectorize sqrtf (nothing reads errno after math calls); -ffast-math is deliberately absent (it
# changes NaN handling and the order of sums).
CFLAGS ?= $(OPT) $(ARCH)
# flags the code needs, kept even when CFLAGS is given on the command line
# (-fexpensive-optimizations is GCC's; clang fuses a*b+c under -ffp-contract=fast without it and
# warns about the flag. -Wno-psabi: without AVX, GCC notes that include/simd.h's static inline
# functions would pass vectors differently from older GCCs; no such call crosses a file.)
GCC_ONLY := $(if $(findstring clang,$(shell $(CC) --version 2>/dev/null)),,-fexpensive-optimizations -Wno-psabi)
ALL_CFLAGS = $(CFLAGS) -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -ffp-contract=fast $(GCC_ONLY) -fno-math-errno -Iinclude -MMD -MP
LDLIBS = -lm -pthread

# `make MPI=1`: ./mingpt built with mpicc for data-parallel training (src/dist.c); its objects live
# apart, and ./mingpt is relinked whenever the flavour changes.
ifeq ($(MPI),1)
CC := mpicc
BUILD := build/mpi
ALL_CFLAGS += -DMINGPT_MPI
FLAVOUR := mpi
else
BUILD := build
FLAVOUR := plain
endif
FLAVOUR_STAMP := build/.flavour-$(FLAVOUR)
CORE := common files rng threads tensor matmul ops model dist trainer utf8 json safetensors checkpoint sample decode \
	unicode unicode_tables tok_chars tok_bpe hf_gpt2
CORE_OBJ := $(CORE:%=$(BUILD)/%.o)
# every src/task_*.c: a new task's file is built and linked without an edit here
TASK_OBJ := $(patsubst src/%.c,$(BUILD)/%.o,$(wildcard src/task_*.c)) $(BUILD)/progress.o \
	$(BUILD)/runlog.o $(BUILD)/plot.o
APP_OBJ := $(TASK_OBJ) $(BUILD)/help.o $(BUILD)/main.o
# libmingpt.a: the core and its public interface (include/mingpt.h), not the command's tasks
LIB := $(BUILD)/libmingpt.a
LIB_OBJ := $(CORE_OBJ) $(BUILD)/mingpt_lib.o
EXAMPLES := $(BUILD)/examples/sort
TESTS := $(basename $(notdir $(wildcard tests/test_*.c)))
TEST_BIN := $(TESTS:%=$(BUILD)/tests/%)
# tests of the public interface: built like a user's program, against mingpt.h and libmingpt.a only
LIB_TESTS := test_lib

.PHONY: all lib examples test bench bench-portable asan fuzz memcheck install uninstall clean
all: mingpt

mingpt: $(CORE_OBJ) $(APP_OBJ) $(FLAVOUR_STAMP)
	$(CC) $(ALL_CFLAGS) -o $@ $(CORE_OBJ) $(APP_OBJ) $(LDLIBS)

$(FLAVOUR_STAMP):
	mkdir -p build
	rm -f build/.flavour-*
	touch $@

$(BUILD)/%.o: src/%.c | $(BUILD)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/%.c tests/harness.h $(CORE_OBJ) $(TASK_OBJ) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(CORE_OBJ) $(TASK_OBJ) $(LDLIBS)

$(LIB_TESTS:%=$(BUILD)/tests/%): $(BUILD)/tests/%: tests/%.c tests/harness.h include/mingpt.h $(LIB) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(LIB) $(LDLIBS)

lib: $(LIB)

$(LIB): $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

# minGPT's demo.ipynb as a user of the library would write it
examples: $(EXAMPLES)

$(BUILD)/examples/%: examples/%.c include/mingpt.h $(LIB) | $(BUILD)/examples
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD) $(BUILD)/tests $(BUILD)/examples:
	mkdir -p $@

# the tests run the example (tests/test_lib.c) and build it against an installed copy of the library
test: mingpt $(TEST_BIN) $(EXAMPLES)
	@sh tests/run.sh $(TEST_BIN)

$(BUILD)/bench: bench/bench.c $(CORE_OBJ) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(CORE_OBJ) $(LDLIBS)

# Speed figures for this machine (about a minute; run nothing else meanwhile).
bench: $(BUILD)/bench
	@$(BUILD)/bench

# The same bench built for AVX2+FMA without AVX-512 (x86-64-v3), to measure that path on any
# recent x86 machine.
bench-portable:
	$(MAKE) BUILD=build/v3 CFLAGS="$(OPT) -march=x86-64-v3" build/v3/bench
	@build/v3/bench

# The tests on a build for x86-64-v3 (AVX2 and FMA, no AVX-512) and on a portable build (no
# -march: SSE2 on x86-64), each with a binary of its own for the command-line tests, so that the
# AVX2 and the plain-C paths of include/simd.h are tested on an AVX-512 machine too.
.PHONY: test-v3 test-portable
test-v3:
	$(MAKE) BUILD=build/v3 CFLAGS="$(OPT) -march=x86-64-v3" build/v3/mingpt-test build/v3/examples/sort \
		$(TESTS:%=build/v3/tests/%)
	@MINGPT=build/v3/mingpt-test sh tests/run.sh $(TESTS:%=build/v3/tests/%)

test-portable:
	$(MAKE) BUILD=build/portable PORTABLE=1 build/portable/mingpt-test build/portable/examples/sort \
		$(TESTS:%=build/portable/tests/%)
	@MINGPT=build/portable/mingpt-test sh tests/run.sh $(TESTS:%=build/portable/tests/%)

# Data-parallel training over MPI (needs Open MPI's mpicc and mpirun): the MPI build of the
# command, build/mpi/mingpt-test, against one process (tests/mpi/test_mpi.c).
.PHONY: test-mpi
test-mpi: $(BUILD)/tests/test_mpi
	$(MAKE) MPI=1 build/mpi/mingpt-test
	@MINGPT_MPI=build/mpi/mingpt-test sh tests/run.sh $(BUILD)/tests/test_mpi

$(BUILD)/tests/test_mpi: tests/mpi/test_mpi.c tests/harness.h $(CORE_OBJ) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $< $(CORE_OBJ) $(LDLIBS)

$(BUILD)/mingpt-test: $(CORE_OBJ) $(APP_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

# The tests and the binary built with AddressSanitizer and UBSan in build/asan, then run; any
# sanitizer report fails the run (the adder's minute-long training is left to make test).
SAN_FLAGS := -O1 -g -march=native -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
asan:
	$(MAKE) BUILD=build/asan CFLAGS="$(SAN_FLAGS)" LDLIBS="-lm -pthread -fsanitize=address,undefined" \
		build/asan/mingpt-asan $(TESTS:%=build/asan/tests/%)
	@MINGPT=build/asan/mingpt-asan MINGPT_SANITIZED=1 sh tests/run.sh $(TESTS:%=build/asan/tests/%)

$(BUILD)/mingpt-asan: $(CORE_OBJ) $(APP_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

# valgrind's memcheck on a short run of every command, with a build that has no -march=native
# (valgrind does not know every instruction set extension).
memcheck:
	$(MAKE) BUILD=build/memcheck CFLAGS="-O1 -g" build/memcheck/mingpt-memcheck
	@sh tests/memcheck.sh build/memcheck/mingpt-memcheck

$(BUILD)/mingpt-memcheck: $(CORE_OBJ) $(APP_OBJ)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

# libFuzzer (clang) on the checkpoint reader, the UTF-8 decoder, a GPT-2 folder's config.json and
# the BPE tokenizer's files, FUZZ_SECONDS each, starting from the seeds in tests/fuzz/seeds; a
# crash, a sanitizer report or a failed property fails the run and leaves the input as
# build/fuzz/crash-*. New inputs go to build/fuzz/corpus-*, not to git.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := fuzz_checkpoint fuzz_utf8 fuzz_hf_config fuzz_bpe
FUZZ_FLAGS := -O1 -g -march=native -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
fuzz:
	$(MAKE) BUILD=build/fuzz CC=clang CFLAGS="$(FUZZ_FLAGS)" $(FUZZ_TARGETS:%=build/fuzz/%)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p build/fuzz/corpus-$$t && \
		echo "fuzzing $$t for $(FUZZ_SECONDS) s" && \
		build/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix=build/fuzz/ build/fuzz/corpus-$$t tests/fuzz/seeds/$${t#fuzz_} \
			2>build/fuzz/$$t.log || { tail -40 build/fuzz/$$t.log; exit 1; }; \
		grep -E "^stat::number_of_executed_units|^Done" build/fuzz/$$t.log; \
	done

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(CORE_OBJ) $(TASK_OBJ) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< $(CORE_OBJ) $(TASK_OBJ) $(LDLIBS)

# A mutation test of everything that reads a checkpoint or a GPT-2 folder (tests/fuzz/mutate.c):
# 3,600 damaged checkpoints through ckpt_peek and ckpt_load, 240 of them also through the binary,
# and 400 damaged Hugging Face folders through the readers and info, sample, eval and train --init,
# all built with ASan and UBSan; prints what became of them. About a minute and a quarter.
.PHONY: mutate
mutate:
	$(MAKE) BUILD=build/asan CFLAGS="$(SAN_FLAGS)" LDLIBS="-lm -pthread -fsanitize=address,undefined" \
		build/asan/mingpt-asan build/asan/mutate
	build/asan/mutate build/asan/mingpt-asan

$(BUILD)/mutate: tests/fuzz/mutate.c $(CORE_OBJ) $(TASK_OBJ) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(CORE_OBJ) $(TASK_OBJ) $(LDLIBS)

# make install PREFIX=~/.local (default /usr/local; DESTDIR for packaging): the binary, a man
# page that the binary writes from its own --help screens, and the library with its header and a
# pkg-config file, so that `cc prog.c $(pkg-config --cflags --libs --static mingpt)` builds a program.
PREFIX ?= /usr/local
BINDIR = $(DESTDIR)$(PREFIX)/bin
MANDIR = $(DESTDIR)$(PREFIX)/share/man/man1
LIBDIR = $(DESTDIR)$(PREFIX)/lib
INCDIR = $(DESTDIR)$(PREFIX)/include
PCDIR = $(LIBDIR)/pkgconfig
$(BUILD)/mingpt.1: mingpt | $(BUILD)
	./mingpt --man >$@

# mingpt.pc is written here, not built ahead: it names PREFIX, which may differ at each install.
# -march=native is in the library's objects: a program linking it needs no flag of its own.
install: mingpt $(BUILD)/mingpt.1 $(LIB)
	mkdir -p $(BINDIR) $(MANDIR) $(LIBDIR) $(INCDIR) $(PCDIR)
	cp mingpt $(BINDIR)/mingpt
	chmod 755 $(BINDIR)/mingpt
	cp $(BUILD)/mingpt.1 $(MANDIR)/mingpt.1
	chmod 644 $(MANDIR)/mingpt.1
	cp $(LIB) $(LIBDIR)/libmingpt.a
	cp include/mingpt.h $(INCDIR)/mingpt.h
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
		'Name: mingpt' 'Description: minGPT in C: GPT training, checkpoints and generation' 'Version: 1.0' \
		'Libs: -L$${libdir} -lmingpt' 'Libs.private: -lm -pthread' 'Cflags: -I$${includedir}' >$(PCDIR)/mingpt.pc
	chmod 644 $(LIBDIR)/libmingpt.a $(INCDIR)/mingpt.h $(PCDIR)/mingpt.pc

uninstall:
	rm -f $(BINDIR)/mingpt $(MANDIR)/mingpt.1 $(LIBDIR)/libmingpt.a $(INCDIR)/mingpt.h $(PCDIR)/mingpt.pc

clean:
	rm -rf build mingpt

-include $(wildcard $(BUILD)/*.d $(BUILD)/tests/*.d $(BUILD)/examples/*.d)
