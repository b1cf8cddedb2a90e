# nook: one hand-written Makefile. `make` builds ./nook; see README.md for the rest.

CC        ?= cc
PREFIX    ?= /usr/local
BUILD     ?= build
PYTHON    := /usr/bin/python3

WARN   := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
          -Wmissing-prototypes -Wpointer-arith -Wundef -Wwrite-strings
PKGS   := json-c libseccomp libnl-3.0 libnl-route-3.0 libnftnl libmnl
# libarchive is dlopen'ed by core/archive-dl.c; only its headers are needed here.
ARCHIVE_CFLAGS := $(shell pkg-config --cflags libarchive 2>/dev/null)
CFLAGS ?= -O2 -g
# Always on, whatever CFLAGS the caller gives (the sanitizer build overrides CFLAGS).
NK_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(ARCHIVE_CFLAGS)
LDLIBS += $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# The nook binary links its libraries statically (glibc stays shared): every command, and
# every monitor, starts ~0.4 ms sooner without resolving six shared objects. readline and
# ncurses (the shell and the dashboard) are needed by the binary only. Debian ships no
# libmnl.a (libmnl-dev has the shared object only), so libmnl stays dynamic.
DYNAMIC_ONLY := -lmnl
NOOK_LIBS := -Wl,-Bstatic $(filter-out $(DYNAMIC_ONLY),$(LDLIBS)) -lreadline -lncursesw -ltinfo \
             -Wl,-Bdynamic $(filter $(DYNAMIC_ONLY),$(LDLIBS)) -lpthread -lm

# Debian packages the build and the tests need (checked by `make deps`).
DEB_BUILD := build-essential pkg-config libjson-c-dev libseccomp-dev libarchive-dev libnl-3-dev libnl-route-3-dev \
             libnftnl-dev libmnl-dev libcmocka-dev busybox-static libncurses-dev libreadline-dev e2fsprogs
# nftables: the tests list the rules nook programmed (`nft -j list table`); the engine never runs it.
# podman: the OCI runtime's tests drive nook-runtime through it.
# acpica-tools: iasl disassembles the VMM's ACPI tables in tests/integration/test_vm_engine.py.
DEB_TEST  := python3-pytest python3-pexpect tmux clang libclang-rt-14-dev nftables cpio podman acpica-tools
DEB_PKGS  := $(DEB_BUILD) $(DEB_TEST)

ENGINE_SRC := $(wildcard core/*.c) $(wildcard core/vm/*.c) $(wildcard net/*.c)
TUI_SRC    := $(wildcard tui/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
PROBE_SRC  := $(wildcard tests/probe/*.c)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN   := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_SECONDS ?= 10

ENGINE_OBJ := $(ENGINE_SRC:%.c=$(BUILD)/%.o)
TUI_OBJ    := $(TUI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
PROBE_BIN  := $(PROBE_SRC:tests/probe/%.c=$(BUILD)/probe/%)

.PHONY: all deps run check unit unit-asan clang-check fuzz-lib integration probes install clean lint asan fuzz bench

all: nook $(BUILD)/nook-runtime

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(NK_CFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libnook.a: $(ENGINE_OBJ)
	@rm -f $@
	@ar rcs $@ $^

nook: $(TUI_OBJ) $(BUILD)/libnook.a
	@echo "  LINK    $@"
	@$(CC) $(NK_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(TUI_OBJ) $(BUILD)/libnook.a $(NOOK_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libnook.a
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(NK_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libnook.a $(LDLIBS) \
		$(shell pkg-config --libs libarchive 2>/dev/null) -lcmocka

# Probes run inside sandboxes: static, so they need nothing from the image.
$(BUILD)/probe/%: tests/probe/%.c
	@mkdir -p $(dir $@)
	@echo "  PROBE   $@"
	@$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -static -o $@ $<

probes: $(PROBE_BIN)

# The OCI runtime is the same binary under another name (argv[0]), for podman's --runtime.
$(BUILD)/nook-runtime:
	@mkdir -p $(dir $@)
	@ln -sfn ../nook $@

deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q '^install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "missing packages; run as root: apt-get install -y $$missing"; exit 1; fi; \
	echo "installing: $$missing"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing

run: deps nook
	./nook tui

unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do $$t || fail=1; done; exit $$fail

# The unit tests again, built with AddressSanitizer and UndefinedBehaviorSanitizer.
unit-asan:
	$(MAKE) --no-print-directory BUILD=build-asan \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" unit

asan: unit-asan

# libFuzzer targets: the engine built with coverage, each target run briefly.
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
fuzz-lib:
	@$(MAKE) --no-print-directory CC=clang BUILD=build-fuzz CFLAGS="$(FUZZ_FLAGS)" build-fuzz/libnook.a

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c fuzz-lib
	@echo "  FUZZ    $@"
	@clang $(NK_CFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined -o $@ $< build-fuzz/libnook.a \
		$(LDLIBS) $(shell pkg-config --libs libarchive 2>/dev/null)

fuzz: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do \
		mkdir -p build-fuzz/corpus/$$(basename $$f); \
		echo "  RUN     $$f ($(FUZZ_SECONDS) s)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 build-fuzz/corpus/$$(basename $$f) \
			>build-fuzz/$$(basename $$f).log 2>&1 || { tail -40 build-fuzz/$$(basename $$f).log; exit 1; }; \
		grep -E '^Done|stat::number_of_executed_units' build-fuzz/$$(basename $$f).log | tail -1; \
	done

# The whole tree must also compile warning-free with clang.
clang-check:
	@$(MAKE) --no-print-directory CC=clang BUILD=build-clang build-clang/libnook.a \
		$(TUI_SRC:%.c=build-clang/%.o)

integration: nook probes $(BUILD)/nook-runtime
	NOOK_BIN=$(CURDIR)/nook NOOK_PROBES=$(CURDIR)/$(BUILD)/probe NOOK_RUNTIME_BIN=$(CURDIR)/$(BUILD)/nook-runtime \
		$(PYTHON) -m pytest -q -p no:cacheprovider tests/integration
	@# A separate run: each suite has its own conftest module.
	NOOK_BIN=$(CURDIR)/nook $(PYTHON) -m pytest -q -p no:cacheprovider tests/tui

check: deps nook probes $(BUILD)/nook-runtime
	@$(MAKE) --no-print-directory clang-check
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory unit-asan
	@$(MAKE) --no-print-directory fuzz
	@$(MAKE) --no-print-directory integration

install: nook
	install -D -m 0755 nook $(DESTDIR)$(PREFIX)/bin/nook
	ln -sf nook $(DESTDIR)$(PREFIX)/bin/nook-runtime
	install -D -m 0755 $(BUILD)/drill-agent $(DESTDIR)$(PREFIX)/libexec/nook/drill-agent
	install -d $(DESTDIR)$(PREFIX)/share/nook/profiles/seccomp
	install -m 0644 profiles/*.profile $(DESTDIR)$(PREFIX)/share/nook/profiles/
	install -m 0644 profiles/seccomp/*.json $(DESTDIR)$(PREFIX)/share/nook/profiles/seccomp/

# Start-up time against crun, runc, bwrap and the unshare floor (installs the peers).
bench: nook
	bench/startup.sh

lint:
	@! grep -nE '\bsprintf\(' core/*.c net/*.c tui/*.c 2>/dev/null
	@! grep -nE '\b(system|popen)\(' core/*.c net/*.c 2>/dev/null
	@! grep -nE '\bexit\(' core/*.c net/*.c 2>/dev/null
	@! grep -nE '"/(sys|proc)/' tui/*.c 2>/dev/null
	@echo lint ok

clean:
	rm -rf $(BUILD) build-asan build-clang build-fuzz nook

-include $(ENGINE_OBJ:.o=.d) $(TUI_OBJ:.o=.d)

# --- test guest ---
# A freestanding x86-64 guest laid out as a bzImage (tests/vm-guest/), and runvm, which
# boots it through libnook.a's VMM. Any tests/vm-guest/virtio-*.c is linked in too.
GUEST_CC     := gcc
GUEST_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -nostdlib -fno-pic -fno-pie -mno-red-zone \
                -mgeneral-regs-only -fno-stack-protector -fno-asynchronous-unwind-tables \
                -fcf-protection=none -fno-builtin $(WARN) -Wno-missing-prototypes
GUEST_SRC    := $(filter-out tests/vm-guest/runvm.c,$(wildcard tests/vm-guest/*.c)) \
                $(wildcard tests/vm-guest/*.S)
GUEST_OBJ    := $(patsubst tests/vm-guest/%,$(BUILD)/vm-guest/obj/%.o,$(GUEST_SRC))

$(BUILD)/vm-guest/obj/%.o: tests/vm-guest/% tests/vm-guest/guest.h tests/vm-guest/guest-layout.h
	@mkdir -p $(dir $@)
	@echo "  GUEST   $<"
	@$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/vm-guest/guest.elf: $(GUEST_OBJ) tests/vm-guest/guest.ld
	@$(GUEST_CC) $(GUEST_CFLAGS) -static -no-pie -Wl,-T,tests/vm-guest/guest.ld \
		-Wl,--build-id=none -Wl,-z,noexecstack -o $@ $(GUEST_OBJ)

$(BUILD)/vm-guest/guest.bin: $(BUILD)/vm-guest/guest.elf
	@echo "  IMAGE   $@"
	@objcopy -O binary $< $@

# The same guest as an ELF kernel, for the loader's vmlinux path.
$(BUILD)/vm-guest/guest-vmlinux.elf: $(BUILD)/vm-guest/guest.elf
	@objcopy --remove-section .setup $< $@ 2>/dev/null

# The same objects as an ELF vmlinux with a PVH entry note (pvh.S; guest.ld drops the note).
$(BUILD)/vm-guest/guest-pvh.elf: $(GUEST_OBJ) tests/vm-guest/guest-pvh.ld
	@$(GUEST_CC) $(GUEST_CFLAGS) -static -no-pie -Wl,-T,tests/vm-guest/guest-pvh.ld \
		-Wl,--build-id=none -Wl,-z,noexecstack -o $@ $(GUEST_OBJ)

$(BUILD)/vm-guest/runvm: tests/vm-guest/runvm.c $(BUILD)/libnook.a
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(NK_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libnook.a $(LDLIBS) -lpthread

.PHONY: vm-guest
vm-guest: $(BUILD)/vm-guest/guest.bin $(BUILD)/vm-guest/guest-vmlinux.elf $(BUILD)/vm-guest/guest-pvh.elf \
	$(BUILD)/vm-guest/runvm

# --- drill agent ---
# The static helper `nook drill` binds read-only into a sandbox (tools/drill-agent.c).
$(BUILD)/drill-agent: tools/drill-agent.c
	@mkdir -p $(dir $@)
	@echo "  AGENT   $@"
	@$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -static -o $@ $<

nook: $(BUILD)/drill-agent
