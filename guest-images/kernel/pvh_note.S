/* The PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): how QEMU and ftvmm find the
 * 32-bit entry point. The value is 8 bytes because QEMU reads a full 64-bit
 * word from the descriptor; ftvmm accepts 4 or 8. The section is 4-aligned so
 * that the PT_NOTE segment's p_align is 4, which QEMU uses to find the
 * descriptor after the name. */
        .section .note.pvh, "a", @note
        .balign 4
        .long 4                 /* namesz: "Xen\0" */
        .long 8                 /* descsz */
        .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
        .asciz "Xen"
        .quad pvh_start32
        .section .note.GNU-stack, "", @progbits
