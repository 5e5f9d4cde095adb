/* The GDT, static so that the 32-bit entry can load it before long mode.
 * Only the TSS descriptor's base is filled in at run time (cpu_tables.c):
 * its split address fields cannot be expressed as a relocation. */
#include "selectors.h"

        .section .data.gdt, "aw"
        .balign 16
        .globl gdt
gdt:
        .quad 0                         /* null */
        .quad 0x00af9a000000ffff        /* 0x08 kernel code, 64-bit */
        .quad 0x00cf92000000ffff        /* 0x10 kernel data */
        .quad 0x00cff2000000ffff        /* 0x18 user data, DPL 3 */
        .quad 0x00affa000000ffff        /* 0x20 user code, 64-bit, DPL 3 */
        .quad 0                         /* 0x28 TSS, low half */
        .quad 0                         /*      TSS, high half */
gdt_end:

        .balign 8
        .word 0
        .globl gdt_pointer
gdt_pointer:
        .word gdt_end - gdt - 1
        .quad gdt

        .section .note.GNU-stack, "", @progbits
