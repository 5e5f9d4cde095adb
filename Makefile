# ftvmm: `make` builds build/ftvmm and build/guests/*.elf; `make check` runs
# every test; `make bench` prints the benchmark table. See README.md.

BUILD       ?= build
CC          ?= gcc
OPTFLAGS    ?= -O2
WARNINGS    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS      := -std=gnu11 $(OPTFLAGS) -g $(WARNINGS) -D_GNU_SOURCE -MMD -MP
LDLIBS      := -lz -llz4 -lxxhash -lsystemd -lpthread
CHECK_FLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS  := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -lpthread)
SANITIZE    := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Everything but the command's main() goes into a library that the unit
# tests link too, so tests exercise exactly the code the command runs.
LIB_SRCS    := $(wildcard devices/*.c) $(wildcard replication/*.c) \
               $(filter-out vmm/main.c,$(wildcard vmm/*.c))
TEST_SRCS   := $(wildcard tests/unit/*.c)

LIB_OBJS    := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_OBJS   := $(TEST_SRCS:%.c=$(BUILD)/obj/%.o)
SAN_OBJS    := $(LIB_SRCS:%.c=$(BUILD)/san/%.o) $(TEST_SRCS:%.c=$(BUILD)/san/%.o)

.PHONY: all deps check unit sanitize integration fuzz fuzz-short bench demo drill drill-record soak harness man install uninstall verify-units clean
all: $(BUILD)/ftvmm guests $(BUILD)/disk-verify $(BUILD)/stamp-output $(BUILD)/channel-mangler

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CHECK_FLAGS) -c $< -o $@

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CHECK_FLAGS) $(SANITIZE) -O1 -c $< -o $@

$(BUILD)/libftvmm.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/ftvmm: $(BUILD)/obj/vmm/main.o $(BUILD)/libftvmm.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit-tests: $(TEST_OBJS) $(BUILD)/libftvmm.a
	$(CC) $(CFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/unit-tests-sanitized: $(SAN_OBJS)
	$(CC) $(CFLAGS) $(SANITIZE) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

include guest-images/guest.mk

# Installs the Debian packages the build and the tests need (idempotent).
deps:
	@scripts/install-deps

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

# The same unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
sanitize: $(BUILD)/unit-tests-sanitized
	CK_FORK=no ASAN_OPTIONS=detect_leaks=1 $(BUILD)/unit-tests-sanitized

$(BUILD)/write-bad-images: tests/tools/write_bad_images.c tests/unit/elf_builder.c
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^)

$(BUILD)/alter-log: tests/tools/alter_log.c
	$(CC) $(CFLAGS) -o $@ $< -lz

$(BUILD)/channel-mangler: tests/tools/channel_mangler.c replication/state_record.c
	$(CC) $(CFLAGS) -o $@ $(filter %.c,$^) -lz

# Stamps a console with the time each byte arrived (the drills' order check).
$(BUILD)/stamp-output: tests/tools/stamp_output.c
	$(CC) $(CFLAGS) -o $@ $<

# Checks the disk workload's durable records in a disk file afterwards.
$(BUILD)/disk-verify: tests/tools/disk_verify.c guest-images/include/disk_record.h
	$(CC) $(CFLAGS) -o $@ $<

integration: all $(BUILD)/write-bad-images $(BUILD)/alter-log
	tests/integration/run

FUZZ_SRCS   := tests/fuzz/fuzz_pvh_loader.c vmm/pvh_loader.c vmm/error_message.c
FUZZ_SEEDS   = $(GUEST_IMAGES)
SEED_DIR     = $(BUILD)/fuzz-seeds
SAN_LIB_OBJS = $(LIB_SRCS:%.c=$(BUILD)/san/%.o)
LIBFUZZER    = clang -std=gnu11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined

# Link only what is compiled: the generated .d files add headers to $^.
LINK_INPUTS = $(filter %.c %.o %.a,$^)

# Coverage-guided fuzzing with clang's libFuzzer: `make fuzz` (long run,
# FUZZ_SECONDS per target).
$(BUILD)/fuzz-pvh-loader: $(FUZZ_SRCS)
	@mkdir -p $(dir $@)
	$(LIBFUZZER) -o $@ $(LINK_INPUTS)

$(BUILD)/fuzz-log-reader: tests/fuzz/fuzz_log_reader.c $(LIB_SRCS)
	$(LIBFUZZER) -o $@ $(LINK_INPUTS) $(LDLIBS)

$(BUILD)/fuzz-pair-stream: tests/fuzz/fuzz_pair_stream.c $(LIB_SRCS)
	$(LIBFUZZER) -o $@ $(LINK_INPUTS) $(LDLIBS)

$(BUILD)/fuzz-snapshot: tests/fuzz/fuzz_snapshot.c $(LIB_SRCS)
	$(LIBFUZZER) -o $@ $(LINK_INPUTS) $(LDLIBS)

VIRTQ_SRCS = tests/fuzz/fuzz_virtqueue.c devices/virtio_blk.c devices/virtio_mmio.c replication/state_record.c

$(BUILD)/fuzz-virtqueue: $(VIRTQ_SRCS)
	$(LIBFUZZER) -o $@ $(LINK_INPUTS) -lz

# The same targets under a deterministic mutation driver, built with gcc
# and the sanitizers: the bounded runs `make check` does.
$(BUILD)/fuzz-pvh-loader-gcc: $(FUZZ_SRCS) tests/fuzz/mutation_driver.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANITIZE) -O1 -o $@ $(LINK_INPUTS)

$(BUILD)/fuzz-log-reader-gcc: tests/fuzz/fuzz_log_reader.c tests/fuzz/mutation_driver.c $(SAN_LIB_OBJS)
	$(CC) $(CFLAGS) $(SANITIZE) -O1 -o $@ $(LINK_INPUTS) $(LDLIBS)

$(BUILD)/fuzz-pair-stream-gcc: tests/fuzz/fuzz_pair_stream.c tests/fuzz/mutation_driver.c $(SAN_LIB_OBJS)
	$(CC) $(CFLAGS) $(SANITIZE) -O1 -o $@ $(LINK_INPUTS) $(LDLIBS)

$(BUILD)/fuzz-snapshot-gcc: tests/fuzz/fuzz_snapshot.c tests/fuzz/mutation_driver.c $(SAN_LIB_OBJS)
	$(CC) $(CFLAGS) $(SANITIZE) -O1 -o $@ $(LINK_INPUTS) $(LDLIBS)

$(BUILD)/fuzz-virtqueue-gcc: $(VIRTQ_SRCS) tests/fuzz/mutation_driver.c
	$(CC) $(CFLAGS) $(SANITIZE) -O1 -o $@ $(LINK_INPUTS) -lz

# The virtqueue seed: a queue of 16 and XOR patches of 0 (the well-formed
# layout) aimed at descriptors, the avail ring and the request headers,
# for the mutations to turn into damage.
$(SEED_DIR)/seed.virtq:
	@mkdir -p $(SEED_DIR)
	printf '\020\000\010\020\000\014\020\000\016\020\000\030\020\000\036\020\000\110\020\000\116\020\000\002\040\000\004\040\000\006\040\000\000\100\000\010\100\000\020\100\000\310\020\000\000\000\000' >$@

# Seed logs and snapshots, written without KVM (tests/fuzz/write_seeds.c).
$(BUILD)/write-fuzz-seeds: tests/fuzz/write_seeds.c $(BUILD)/libftvmm.a
	$(CC) $(CFLAGS) -o $@ $(LINK_INPUTS) $(LDLIBS)

$(SEED_DIR)/seed.log $(SEED_DIR)/seed-state.log $(SEED_DIR)/seed.snap $(SEED_DIR)/seed.wire: $(BUILD)/write-fuzz-seeds
	@mkdir -p $(SEED_DIR)
	$(BUILD)/write-fuzz-seeds $(SEED_DIR)

FUZZ_TARGETS = pvh-loader log-reader snapshot pair-stream virtqueue

fuzz: $(FUZZ_TARGETS:%=$(BUILD)/fuzz-%) $(SEED_DIR)/seed.log $(SEED_DIR)/seed.virtq guests
	@mkdir -p $(FUZZ_TARGETS:%=$(BUILD)/fuzz-corpus/%)
	cp -n $(FUZZ_SEEDS) $(BUILD)/fuzz-corpus/pvh-loader/ 2>/dev/null || true
	cp -n $(SEED_DIR)/seed.log $(SEED_DIR)/seed-state.log $(BUILD)/fuzz-corpus/log-reader/ 2>/dev/null || true
	cp -n $(SEED_DIR)/seed.snap $(BUILD)/fuzz-corpus/snapshot/ 2>/dev/null || true
	cp -n $(SEED_DIR)/seed.wire $(BUILD)/fuzz-corpus/pair-stream/ 2>/dev/null || true
	cp -n $(SEED_DIR)/seed.virtq $(BUILD)/fuzz-corpus/virtqueue/ 2>/dev/null || true
	for t in $(FUZZ_TARGETS); do \
		$(BUILD)/fuzz-$$t -max_total_time=$${FUZZ_SECONDS:-300} $(BUILD)/fuzz-corpus/$$t || exit 1; \
	done

fuzz-short: $(FUZZ_TARGETS:%=$(BUILD)/fuzz-%-gcc) $(SEED_DIR)/seed.log $(SEED_DIR)/seed.virtq guests
	$(BUILD)/fuzz-pvh-loader-gcc $${FUZZ_RUNS:-20000} $(FUZZ_SEEDS)
	$(BUILD)/fuzz-log-reader-gcc $${FUZZ_RUNS:-20000} $(SEED_DIR)/seed.log $(SEED_DIR)/seed-state.log
	$(BUILD)/fuzz-snapshot-gcc $${FUZZ_SNAPSHOT_RUNS:-3000} $(SEED_DIR)/seed.snap
	$(BUILD)/fuzz-pair-stream-gcc $${FUZZ_RUNS:-20000} $(SEED_DIR)/seed.wire
	$(BUILD)/fuzz-virtqueue-gcc $${FUZZ_RUNS:-20000} $(SEED_DIR)/seed.virtq

check: deps
	$(MAKE) all $(BUILD)/unit-tests $(BUILD)/unit-tests-sanitized
	$(MAKE) unit sanitize fuzz-short verify-units
	$(MAKE) integration
	$(MAKE) linux-check

bench: deps all
	scripts/bench

# Kills the primary of a replicated pair at 100 seeded random moments and
# checks every transcript (`make check` runs 3 of them, and 2 with a disk);
# DRILL_WORKLOAD=disk drills the shared disk.
drill: deps all
	scripts/failover-drill --runs $${DRILL_RUNS:-100} $${DRILL_SEED:+--seed $$DRILL_SEED} \
		$${DRILL_WORKLOAD:+--workload $$DRILL_WORKLOAD}

# SIGKILLs a recorder at 20 seeded random moments and checks that what it
# printed is a prefix of its log's replay (`make check` runs 4 of them).
drill-record: deps all
	scripts/drill-record --runs $${DRILL_RUNS:-20} $${DRILL_SEED:+--seed $$DRILL_SEED}

# A replicated pair runs the clock disk workload to its end SOAK_RUNS times
# (3) and its backup must replay every epoch identically (`make check`
# runs one short run).
soak: deps all
	scripts/pair-soak --runs $${SOAK_RUNS:-3} --records $${SOAK_RECORDS:-800} $${SOAK_SEED:+--seed $$SOAK_SEED}

demo: deps all
	scripts/demo

# Two host VMs on a private network, the primary in one and the backup in
# the other: the primary's whole host killed, then the link between them
# cut (scripts/nested/pair). About two minutes here (README), so not in make check.
harness: deps all
	scripts/nested/pair --kill host --runs $${HARNESS_RUNS:-1} $${HARNESS_SEED:+--seed $$HARNESS_SEED}
	scripts/nested/pair --kill link --runs $${HARNESS_RUNS:-1} $${HARNESS_SEED:+--seed $$HARNESS_SEED}

# Installation: `make install PREFIX=/usr DESTDIR=/tmp/x`.
PREFIX     ?= /usr/local
BINDIR      = $(PREFIX)/bin
DATADIR     = $(PREFIX)/share/ftvmm
MANDIR      = $(PREFIX)/share/man/man1
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
UNITS       = ftvmm-primary@.service ftvmm-backup@.service
SUBST       = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@DATADIR@|$(DATADIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

# The man page is ftvmm's own --help, with every command's.
$(BUILD)/ftvmm.1: $(BUILD)/ftvmm scripts/man-include
	scripts/man-include $(BUILD)/ftvmm >$(BUILD)/ftvmm.h2m
	help2man --no-info --name="a fault-tolerant virtual machine monitor" \
		--include=$(BUILD)/ftvmm.h2m --output=$@ $(BUILD)/ftvmm

man: $(BUILD)/ftvmm.1

# The units and the example configuration name the installed paths.
install: all man
	install -D -m 755 $(BUILD)/ftvmm $(DESTDIR)$(BINDIR)/ftvmm
	install -d $(DESTDIR)$(DATADIR)/guests
	install -m 644 $(GUEST_IMAGES) $(DESTDIR)$(DATADIR)/guests/
	install -D -m 644 $(BUILD)/ftvmm.1 $(DESTDIR)$(MANDIR)/ftvmm.1
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/ftvmm
	for unit in $(UNITS); do \
		$(SUBST) scripts/systemd/$$unit >$(DESTDIR)$(UNITDIR)/$$unit && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$unit || exit 1; \
	done
	$(SUBST) scripts/systemd/example.conf >$(DESTDIR)$(SYSCONFDIR)/ftvmm/example.conf

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ftvmm $(DESTDIR)$(MANDIR)/ftvmm.1
	rm -f $(GUEST_IMAGES:$(BUILD)/guests/%=$(DESTDIR)$(DATADIR)/guests/%)
	rmdir $(DESTDIR)$(DATADIR)/guests $(DESTDIR)$(DATADIR) 2>/dev/null || true
	rm -f $(UNITS:%=$(DESTDIR)$(UNITDIR)/%)
	rm -f $(DESTDIR)$(SYSCONFDIR)/ftvmm/example.conf
	rmdir $(DESTDIR)$(SYSCONFDIR)/ftvmm 2>/dev/null || true

# Both units, installed into a scratch root, pass systemd-analyze verify.
verify-units: all man
	scripts/verify-units

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Boots Debian's kernel to a busybox initramfs on QEMU microvm and on ftvmm
# and compares what both show it (inside scripts/nested/run where this host
# cannot run Linux itself). See scripts/linux/README.md.
.PHONY: linux-check
linux-check: deps all
	scripts/linux/check
