/* Interrupt and exception entry points. Each path is as short as it can be,
 * because every instruction here is emulated at ~0.9 us.
 *
 * Exceptions 0-31: push a zero where the CPU pushes no error code, push the
 * vector and report (trap.c); nothing returns from an exception.
 * IRQ 0: the PIC runs in auto-EOI mode, so counting a tick needs no port
 * access and touches no register.
 * Vector 3 (int3, DPL 3): the system-call entry (syscall.c).
 */
#include "selectors.h"

#define ALL_EXCEPTIONS 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31

        .text

        .macro exception_stub vector
        .balign 16
exception_\vector:
        .if !(\vector == 8 || (\vector >= 10 && \vector <= 14) || \vector == 17 || \vector == 21 || \vector == 29 || \vector == 30)
        pushq $0
        .endif
        pushq $\vector
        jmp exception_common
        .endm

        .irp v, ALL_EXCEPTIONS
        exception_stub \v
        .endr

exception_common:
        movq %rsp, %rdi                 /* struct trap_frame * */
        andq $-16, %rsp
        call trap_report
        ud2

        .globl irq_timer
irq_timer:
        incq timer_ticks(%rip)
        iretq

/* The disk's interrupt: acknowledge the device (one MMIO write, which
 * lowers its line) and count; the waiting system call reads the used
 * ring. The master 8259 runs in auto-EOI mode; the slave does not, so an
 * IRQ from 8 to 15 also needs a non-specific EOI on the slave. */
        .globl irq_virtio_master
irq_virtio_master:
        pushq %rax
        movq virtio_blk_ack(%rip), %rax
        movl $3, (%rax)
        incq virtio_blk_interrupts(%rip)
        popq %rax
        iretq

        .globl irq_virtio_slave
irq_virtio_slave:
        pushq %rax
        movq virtio_blk_ack(%rip), %rax
        movl $3, (%rax)
        incq virtio_blk_interrupts(%rip)
        movb $0x20, %al
        outb %al, $0xa0
        popq %rax
        iretq

/* Masked IRQs cannot arrive; a spurious IRQ 7 or 15 needs no EOI. */
        .globl irq_ignore
irq_ignore:
        iretq

/* rax = number, rdi/rsi/rdx = arguments: the C dispatcher takes the number
 * as its fourth argument (rcx). The frame the CPU pushed is 40 bytes on a
 * 16-aligned stack, so 8 more keep the C ABI's alignment. */
        .globl syscall_entry
syscall_entry:
        cld
        movq %rax, %rcx
        subq $8, %rsp
        call syscall_dispatch
        addq $8, %rsp
        iretq

/* enter_user(entry, stack): the first and only switch to CPL3, with
 * interrupts enabled from the first user instruction. */
        .globl enter_user
enter_user:
        pushq $USER_DS
        pushq %rsi
        pushq $0x202
        pushq $USER_CS
        pushq %rdi
        iretq

        .section .rodata
        .balign 8
        .globl exception_stubs
exception_stubs:
        .irp v, ALL_EXCEPTIONS
        .quad exception_\v
        .endr

        .section .note.GNU-stack, "", @progbits
