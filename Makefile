# qvmi: one plain GNU Makefile (see DEVELOPERS.md).
#   make                 libqvmi.so, libqvmi.a, qvmi, qvmid
#   make check           deps + every test (unit, header, fuzz replay,
#                        integration, sanitized unit, format-check)
#   make SANITIZE=1 check-unit
#   make fuzz CC=clang   libFuzzer binaries in build-fuzz/
#   make fuzz-campaign MINUTES=10  run each, grow and minimise the corpora
#   make bench           benchmarks; writes BENCHMARKS.md
#   make install PREFIX=/usr/local DESTDIR=
#   make format-check    clang-format over every C file
#   make demo            boot the demo guest, introspect it, stop it
#   make python          the Python binding, in place (python/qvmi/)
#   V=1                  verbose

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
LIBEXECDIR ?= $(PREFIX)/libexec
BINDIR ?= $(PREFIX)/bin
DESTDIR ?=

CC ?= gcc
PKG_CONFIG ?= pkg-config
# One version, the header's (qvmi_version() returns it too).
VERSION := $(shell sed -n 's/^\#define QVMI_VERSION_\(MAJOR\|MINOR\|PATCH\) //p' \
	include/qvmi.h | paste -sd.)
SOVERSION := 0

ifeq ($(SANITIZE),1)
BUILD ?= build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
else
BUILD ?= build
SAN_FLAGS :=
endif

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' $(1) $(2);
endif

JSONC_CFLAGS := $(shell $(PKG_CONFIG) --cflags json-c 2>/dev/null)
JSONC_LIBS := $(shell $(PKG_CONFIG) --libs json-c 2>/dev/null || echo -ljson-c)
BPF_CFLAGS := $(shell $(PKG_CONFIG) --cflags libbpf 2>/dev/null)
BPF_LIBS := $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null || echo -lbpf)
# kdump-compressed pages (src/source/dump-kdump.c): Debian's libraries.
DUMP_LIBS := -lzstd -llzo2 -lsnappy -lz
EXTRA_LIBS := $(JSONC_LIBS) $(BPF_LIBS) $(DUMP_LIBS)

# The qvmi CLI is a short-lived process, and here a page fault costs
# ~11 us.  It is linked fully static (no ld.so, no libc.so to map and
# relocate: ~25 fewer faults, 0.4-0.5 ms of a 3 ms `qvmi ps`), or, where
# libc.a is missing or under the sanitizers, against the libraries' .a
# files without PIE (BENCHMARKS.md has the floors).  Only when every .a is
# there; STATIC_CLI=0 links it like the library.
STATIC_CLI ?= 1
# snappy is C++: its .a needs libstdc++ and libm.
CLI_STATIC_LIBS := json-c bpf elf zstd lzo2 snappy stdc++ m z
ifeq ($(STATIC_CLI),1)
CLI_STATIC := $(shell for l in $(CLI_STATIC_LIBS); do \
	f=$$($(CC) -print-file-name=lib$$l.a); [ -f "$$f" ] || exit 0; \
	done; echo 1)
CLI_LIBC_A := $(shell f=$$($(CC) -print-file-name=libc.a); \
	[ -f "$$f" ] && echo 1)
endif
ifeq ($(CLI_STATIC)$(CLI_LIBC_A)$(SANITIZE),11)
CLI_LDFLAGS := -static
CLI_LIBS := $(CLI_STATIC_LIBS:%=-l%) -lpthread
else ifeq ($(CLI_STATIC),1)
CLI_LDFLAGS := -no-pie
CLI_LIBS := -Wl,-Bstatic $(CLI_STATIC_LIBS:%=-l%) -Wl,-Bdynamic -lpthread
else
CLI_LDFLAGS :=
CLI_LIBS := $(EXTRA_LIBS)
endif
# glibc warns at a static link that getaddrinfo needs its
# shared NSS modules at run time.  glibc >= 2.34 has "files" and "dns"
# built in, which is what `--session tcp:HOST:PORT` resolves with; other
# nsswitch.conf modules are loaded only from the same glibc.  That warning
# is dropped, anything else the linker says is shown.
CLI_LD_QUIET := -e 'in statically linked applications requires at runtime' \
	-e ': in function `[a-zA-Z_0-9]*.:$$'

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wshadow \
	-Wmissing-prototypes -Wstrict-prototypes -Wformat=2 -Wvla
OPT ?= -O2 -g
BASE_CFLAGS := -std=gnu11 $(OPT) $(WARN) -D_GNU_SOURCE -Iinclude -Isrc \
	-MMD -MP $(SAN_FLAGS) $(JSONC_CFLAGS) $(BPF_CFLAGS)
LIB_CFLAGS := $(BASE_CFLAGS) -fPIC -fvisibility=hidden
LDFLAGS += $(SAN_FLAGS)

LIB_SRCS := $(sort $(wildcard src/core/*.c src/proto/*.c src/source/*.c \
	src/ctl/*.c src/attach/*.c src/format/*.c \
	src/arch/*.c src/os/linux/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
TOOL_SRCS := $(sort $(wildcard tools/*.c))
TOOL_OBJS := $(TOOL_SRCS:%.c=$(BUILD)/%.o)
DAEMON_SRCS := $(sort $(wildcard daemon/*.c))
DAEMON_OBJS := $(DAEMON_SRCS:%.c=$(BUILD)/%.o)
# qvmid's parts without its main(), for the tests that drive them.
DAEMON_PART_OBJS := $(filter-out $(BUILD)/daemon/qvmid.o,$(DAEMON_OBJS))
UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/%.o)
INTEG_SRCS := $(sort $(wildcard tests/integration/*.c))
INTEG_OBJS := $(INTEG_SRCS:%.c=$(BUILD)/%.o)
HARNESS_OBJS := $(BUILD)/tests/lib/harness.o
TESTLIB_SRCS := $(filter-out tests/lib/harness.c,$(wildcard tests/lib/*.c))
TESTLIB_OBJS := $(TESTLIB_SRCS:%.c=$(BUILD)/%.o)
FUZZ_SRCS := $(sort $(filter-out fuzz/replay.c,$(wildcard fuzz/*.c)))
FUZZ_NAMES := $(FUZZ_SRCS:fuzz/%.c=%)
BENCH_SRCS := $(sort $(wildcard bench/*.c))

LIB_SO := $(BUILD)/libqvmi.so
LIB_A := $(BUILD)/libqvmi.a
QVMI := $(BUILD)/qvmi
QVMID := $(BUILD)/qvmid
UNIT := $(BUILD)/test-unit
INTEG := $(BUILD)/test-integration
FUZZ_REPLAY := $(FUZZ_NAMES:%=$(BUILD)/fuzz-replay-%)
BENCH := $(BUILD)/qvmi-bench

.PHONY: all check check-unit check-integration check-header check-fuzz \
	check-structure fuzz-campaign mutate-bounds \
	check-san format format-check fuzz bench install clean demo deps \
	unit integration python
.DELETE_ON_ERROR:

all: $(LIB_SO) $(LIB_A) $(QVMI) $(QVMID) $(BUILD)/qvmi-qemu $(BUILD)/qvmi-libvirt

$(BUILD)/%.o: %.c
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(LIB_CFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
	@# what a static link of it needs (python/setup.py reads this)
	$(Q)printf '%s\n' '$(EXTRA_LIBS)' > $(BUILD)/libqvmi.libs

$(LIB_SO): $(LIB_OBJS) src/libqvmi.map
	$(call msg,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,libqvmi.so.$(SOVERSION) \
		-Wl,--version-script=src/libqvmi.map -Wl,--no-undefined \
		$(LDFLAGS) -o $@ $(LIB_OBJS) $(EXTRA_LIBS)

# Tools and tests link the static library: they may use internal helpers.
$(QVMI): $(TOOL_OBJS) $(LIB_A)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $(CLI_LDFLAGS) -o $@ $(TOOL_OBJS) $(LIB_A) \
		$(CLI_LIBS) 2>$@.ld; s=$$?; grep -v $(CLI_LD_QUIET) $@.ld >&2; \
		rm -f $@.ld; exit $$s

# --domain: libqvmi dlopens libvirt, which a static program cannot; the
# static qvmi runs this dynamic twin for it (tools/cli-domain.c).
# Like a CLI without libc.a: the .a libraries, libc shared (dlopen needs
# it), no PIE: it starts in ~4 ms CPU here against ~11 ms with every
# library shared.
ifeq ($(CLI_STATIC)$(SANITIZE),1)
TWIN_LDFLAGS := -no-pie
TWIN_LIBS := -Wl,-Bstatic $(CLI_STATIC_LIBS:%=-l%) -Wl,-Bdynamic -lpthread
else
TWIN_LDFLAGS :=
TWIN_LIBS := $(EXTRA_LIBS) -lpthread
endif
$(BUILD)/qvmi-libvirt: $(TOOL_OBJS) $(LIB_A)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $(TWIN_LDFLAGS) -o $@ $(TOOL_OBJS) $(LIB_A) \
		$(TWIN_LIBS)
$(BUILD)/tools/cli-domain.o: LIB_CFLAGS += \
	-DQVMI_LIBEXECDIR='"$(LIBEXECDIR)"'

# qvmid alone links libcrypto (SHA-1 of the KVMi key, daemon/kvmi-key.c);
# the library and the static qvmi CLI stay without it.
CRYPTO_LIBS := $(shell $(PKG_CONFIG) --libs libcrypto 2>/dev/null || echo -lcrypto)

$(QVMID): $(DAEMON_OBJS) $(LIB_A)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(DAEMON_OBJS) $(LIB_A) $(EXTRA_LIBS) \
		$(CRYPTO_LIBS) -lpthread

# libvirt's <emulator> shim (docs/LIBVIRT.md): libc only.
$(BUILD)/qvmi-qemu: $(BUILD)/tools/qvmi-qemu/qvmi-qemu.o
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^

# Suites are found by their QVMI_SUITE(...) line; the table is generated.
define gen_suites
	@mkdir -p $(dir $@)
	$(Q){ names=$$(sed -n 's/^QVMI_SUITE[A-Z_]*(\([a-z0-9_]*\),.*/\1/p' $(2)); \
	  echo '#include "harness.h"'; \
	  for n in $$names; do echo "extern const struct qvmi_suite qvmi_suite_$$n;"; done; \
	  echo 'const struct qvmi_suite *const qvmi_all_suites[] = {'; \
	  for n in $$names; do echo "	&qvmi_suite_$$n,"; done; \
	  echo '	0 };'; } > $@.tmp && \
	  (cmp -s $@.tmp $@ || mv $@.tmp $@); rm -f $@.tmp
endef

$(BUILD)/unit-suites.c: $(UNIT_SRCS) Makefile
	$(call gen_suites,$@,$(UNIT_SRCS))
$(BUILD)/integ-suites.c: $(INTEG_SRCS) Makefile
	$(call gen_suites,$@,$(INTEG_SRCS))

$(BUILD)/%-suites.o: $(BUILD)/%-suites.c
	$(Q)$(CC) $(BASE_CFLAGS) -Itests/lib -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) -Itests/lib -c $< -o $@

$(UNIT): $(UNIT_OBJS) $(HARNESS_OBJS) $(TESTLIB_OBJS) \
		$(BUILD)/unit-suites.o $(DAEMON_PART_OBJS) $(LIB_A)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(EXTRA_LIBS) $(CRYPTO_LIBS) -lpthread

$(INTEG): $(INTEG_OBJS) $(HARNESS_OBJS) $(TESTLIB_OBJS) \
		$(BUILD)/integ-suites.o $(LIB_A)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(EXTRA_LIBS) -lpthread

unit: $(UNIT)
integration: $(INTEG) $(QVMI) $(QVMID)

# ---- fuzz: libFuzzer under clang, corpus replay under gcc --------------
$(BUILD)/fuzz/%.o: fuzz/%.c
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASE_CFLAGS) -c $< -o $@

# kept: a relink after a library change need not recompile the target
.PRECIOUS: $(BUILD)/fuzz/%.o
$(BUILD)/fuzz-replay-%: $(BUILD)/fuzz/%.o $(BUILD)/fuzz/replay.o $(LIB_A)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(EXTRA_LIBS) -lpthread

FUZZ_BUILD := build-fuzz
fuzz:
	$(Q)for t in $(FUZZ_NAMES); do \
	  $(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) \
	    SAN_FLAGS='-fsanitize=fuzzer-no-link,address,undefined' \
	    $(FUZZ_BUILD)/libqvmi.a $(FUZZ_BUILD)/fuzz/$$t.o || exit 1; \
	  $(CC) -fsanitize=fuzzer,address,undefined -o $(FUZZ_BUILD)/fuzz-$$t \
	    $(FUZZ_BUILD)/fuzz/$$t.o $(FUZZ_BUILD)/libqvmi.a $(EXTRA_LIBS) \
	    -lpthread || exit 1; \
	  echo "  FUZZ     $(FUZZ_BUILD)/fuzz-$$t"; done

# ---- bench --------------------------------------------------------------
$(BENCH): $(BENCH_SRCS:%.c=$(BUILD)/%.o) $(DAEMON_PART_OBJS) $(LIB_A)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(EXTRA_LIBS) $(CRYPTO_LIBS) -lpthread

# Exec floors for the process rows (bench/floor/floor.c): linked like the
# CLI (fully static where libc.a is installed), and like the CLI was
# before (PIE, shared libraries).
BENCH_FLOORS := $(BUILD)/bench-floor $(BUILD)/bench-floor-dyn
$(BUILD)/bench-floor: bench/floor/floor.c
	$(call msg,LD,$@)
	$(Q)$(CC) $(OPT) $(LDFLAGS) $(CLI_LDFLAGS) -o $@ $< \
		-Wl,--no-as-needed $(CLI_LIBS)
$(BUILD)/bench-floor-dyn: bench/floor/floor.c
	$(call msg,LD,$@)
	$(Q)$(CC) $(OPT) $(LDFLAGS) -o $@ $< -Wl,--no-as-needed $(EXTRA_LIBS)

bench: deps $(BENCH) $(QVMI) $(QVMID) $(BENCH_FLOORS) python
	$(Q)scripts/bench

# ---- checks -------------------------------------------------------------
deps:
	$(Q)scripts/deps

check-unit: $(UNIT)
	$(Q)$(UNIT)

check-header:
	$(call msg,HDRTEST,include/qvmi.h)
	@mkdir -p $(BUILD)
	$(Q)printf '#include "qvmi.h"\nint main(void) { return 0; }\n' \
		> $(BUILD)/headertest.c
	$(Q)$(CC) -std=c11 -pedantic -Wall -Wextra -Werror -Iinclude \
		-o $(BUILD)/headertest $(BUILD)/headertest.c
	$(Q)$(CC) -x c++ -std=c++11 -pedantic -Wall -Werror -Iinclude \
		-o $(BUILD)/headertest-cxx $(BUILD)/headertest.c 2>/dev/null || \
		! command -v $(CC:gcc=g++) >/dev/null
	@echo "1 passed, 0 failed, 0 skipped"

# Layers (includes and symbols) and the ABI: scripts/check-structure.
check-structure: $(LIB_SO) $(QVMI) $(QVMID)
	$(Q)scripts/check-structure $(BUILD)

# Every libFuzzer target for MINUTES each, corpora merged back minimised
# (scripts/fuzz-campaign; JOBS=N runs N targets at once).
fuzz-campaign:
	$(Q)MINUTES=$(or $(MINUTES),10) scripts/fuzz-campaign

check-fuzz: $(FUZZ_REPLAY)
	$(Q)scripts/fuzz-replay $(BUILD) $(FUZZ_NAMES)

# Each parser bounds check in tests/mutate/bounds.list deleted in turn, in a
# scratch copy, and its suites run: all must fail (scripts/mutate-bounds;
# slow, so not in check).  MUTATE='@elf kdump:3' picks parsers or checks.
mutate-bounds: $(UNIT)
	$(Q)scripts/mutate-bounds $(MUTATE)

check-integration: $(INTEG) $(QVMI) $(QVMID) $(BUILD)/qvmi-libvirt python
	$(Q)tests/integration/run $(BUILD)

check-san:
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 check-unit check-fuzz

check: deps
	$(Q)scripts/check

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null || \
	find include src tools daemon tests fuzz bench -name '*.[ch]')
format:
	$(Q)clang-format -i $(FORMAT_FILES)
format-check:
	$(call msg,FORMAT,check)
	$(Q)clang-format --dry-run -Werror $(FORMAT_FILES) && \
		echo "1 passed, 0 failed, 0 skipped"

demo: deps all
	$(Q)scripts/demo

# ---- Python binding (python/, docs/PYTHON.md) ---------------------------
# Built in place against $(LIB_A) with Debian's python3 (python3-dev,
# python3-setuptools); tests/integration/test-python.sh runs its tests.
PYTHON ?= $(shell [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || \
	echo python3)
python: $(LIB_A)
	$(call msg,PYTHON,python/qvmi/_qvmi)
	$(Q)cd python && QVMI_BUILD=$(abspath $(BUILD)) $(PYTHON) setup.py \
		-q build_ext --inplace >/dev/null

# ---- install ------------------------------------------------------------
$(BUILD)/qvmi.pc: Makefile
	@mkdir -p $(BUILD)
	$(Q)printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' \
		'includedir=$(INCLUDEDIR)' '' 'Name: qvmi' \
		'Description: virtual machine introspection for QEMU/KVM guests' \
		'Version: $(VERSION)' 'Libs: -L$${libdir} -lqvmi' \
		'Libs.private: $(EXTRA_LIBS)' \
		'Requires.private: json-c libbpf' \
		'Cflags: -I$${includedir}' > $@

install: all $(BUILD)/qvmi.pc
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(BINDIR)
	install -m 0644 include/qvmi.h $(DESTDIR)$(INCLUDEDIR)/qvmi.h
	install -m 0755 $(LIB_SO) \
		$(DESTDIR)$(LIBDIR)/libqvmi.so.$(VERSION)
	ln -sf libqvmi.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libqvmi.so.$(SOVERSION)
	ln -sf libqvmi.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libqvmi.so
	install -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libqvmi.a
	install -m 0644 $(BUILD)/qvmi.pc $(DESTDIR)$(LIBDIR)/pkgconfig/qvmi.pc
	install -m 0755 $(QVMI) $(QVMID) $(DESTDIR)$(BINDIR)/
	install -d $(DESTDIR)$(LIBEXECDIR)
	install -m 0755 $(BUILD)/qvmi-qemu $(DESTDIR)$(LIBEXECDIR)/qvmi-qemu
	install -m 0755 $(BUILD)/qvmi-libvirt \
		$(DESTDIR)$(LIBEXECDIR)/qvmi-libvirt

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
