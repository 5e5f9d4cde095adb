# Guest kernel and workloads: one PVH-bootable ELF per workload at
# $(BUILD)/guests/<name>.elf (kernel + that workload). Included by the
# top-level Makefile; also works alone:
#   make -f guest-images/guest.mk BUILD=build guests
# See guest-images/README.md.

BUILD         ?= build
GUEST_CC      ?= gcc
GUEST_OBJCOPY ?= objcopy
GUEST_AR      ?= ar
GUEST_SRC     := guest-images
GUEST_OBJ     := $(BUILD)/guest-obj

GUEST_NAMES   := hello counter cpu tick pio crash disk
GUEST_IMAGES  := $(GUEST_NAMES:%=$(BUILD)/guests/%.elf)

# Ring 0 runs emulated and rejects SSE/x87: general registers only, no red
# zone (interrupts arrive on the current stack at CPL0).
GUEST_CFLAGS  := -ffreestanding -nostdlib -mgeneral-regs-only -mno-red-zone \
                 -mno-sse -mno-80387 -mno-mmx -fno-pic -fno-pie -no-pie -static \
                 -fno-stack-protector -fno-asynchronous-unwind-tables \
                 -march=x86-64 -O2 -std=gnu11 -Wall -Wextra -Werror \
                 -MMD -MP -I$(GUEST_SRC)/include -I$(GUEST_SRC)/user
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none \
                 -Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack \
                 -Wl,--no-warn-rwx-segments

# Listed, not globbed, so that a stray file cannot become part of the kernel.
GUEST_KERNEL_SRCS := pvh_note.S boot.S page_tables.S gdt.S vectors.S \
                     cpu_tables.c main.c boot_info.c console.c kprint.c \
                     pic.c pit.c clock.c rtc.c syscall.c trap.c machine.c string.c \
                     virtio_blk.c
GUEST_KERNEL_OBJS := $(GUEST_KERNEL_SRCS:%=$(GUEST_OBJ)/kernel/%.o)
GUEST_ULIB_SRCS   := format.c printf.c string.c args.c
# The workload gets its own copy of the kernel's mem* object: its symbols
# are made local to the workload, so the two never clash.
GUEST_ULIB_OBJS   := $(GUEST_ULIB_SRCS:%=$(GUEST_OBJ)/user/%.o) $(GUEST_OBJ)/kernel/string.c.o
GUEST_CRT0        := $(GUEST_OBJ)/user/crt0.S.o

# Symbols the kernel takes from the workload; everything else in the
# workload (its own memcpy, printf, ...) is made local so it cannot clash
# with the kernel's.
GUEST_USER_EXPORTS := user_start user_stack_top workload_name

.PHONY: guests
guests: $(GUEST_IMAGES)

$(GUEST_OBJ)/%.c.o: $(GUEST_SRC)/%.c $(GUEST_SRC)/guest.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OBJ)/%.S.o: $(GUEST_SRC)/%.S $(GUEST_SRC)/guest.mk
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OBJ)/libuser.a: $(GUEST_ULIB_OBJS)
	@rm -f $@
	$(GUEST_AR) rcs $@ $^

# The workload and the parts of the user library it uses, as one object
# whose sections are renamed .user.* so that link.ld places them in the
# user pages.
$(GUEST_OBJ)/images/%-user.o: $(GUEST_CRT0) $(GUEST_OBJ)/workloads/%.c.o $(GUEST_OBJ)/libuser.a
	@mkdir -p $(dir $@)
	$(GUEST_CC) -r -nostdlib -o $@.tmp $(GUEST_CRT0) $(GUEST_OBJ)/workloads/$*.c.o $(GUEST_OBJ)/libuser.a
	$(GUEST_OBJCOPY) --prefix-sections=.user $(GUEST_USER_EXPORTS:%=--keep-global-symbol=%) $@.tmp $@
	@rm -f $@.tmp

$(BUILD)/guests/%.elf: $(GUEST_KERNEL_OBJS) $(GUEST_OBJ)/images/%-user.o $(GUEST_SRC)/link.ld
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/link.ld -o $@ $(GUEST_KERNEL_OBJS) $(GUEST_OBJ)/images/$*-user.o

.SECONDARY: $(GUEST_KERNEL_OBJS) $(GUEST_CRT0) \
            $(GUEST_NAMES:%=$(GUEST_OBJ)/images/%-user.o) $(GUEST_NAMES:%=$(GUEST_OBJ)/workloads/%.c.o)

-include $(wildcard $(GUEST_OBJ)/*/*.d)
