/* Page tables built by the assembler and linker, not at run time: every
 * instruction at CPL0 is emulated, and 512 loop iterations would cost about
 * 2 ms. An identity map of the first 1 GiB with 2 MiB pages; the U bit only
 * on the workload's pages [2 MiB, 16 MiB) (USER_BASE..USER_LIMIT in abi.h).
 * Upper levels carry U so that the leaf decides. One more uncached
 * supervisor 2 MiB pages map the 4th GiB uncached: the local APIC, touched
 * only on platforms that describe one (pic.c), and virtio-mmio devices. */
#define PTE_P   0x001
#define PTE_W   0x002
#define PTE_U   0x004
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_PS  0x080
#define LAPIC_PAGE 0xfee00000

        .section .data.page_tables, "aw"
        .balign 4096
        .globl boot_pml4
boot_pml4:
        .quad boot_pdpt + (PTE_P | PTE_W | PTE_U)
        .fill 511, 8, 0

        .balign 4096
boot_pdpt:
        .quad boot_pd + (PTE_P | PTE_W | PTE_U)
        .quad 0, 0
        .quad boot_pd_4th_gib + (PTE_P | PTE_W)
        .fill 508, 8, 0

        .balign 4096
boot_pd:
        .set page, 0
        .rept 512
        .if page >= 1 && page < 8
        .quad (page << 21) | (PTE_P | PTE_W | PTE_PS | PTE_U)
        .else
        .quad (page << 21) | (PTE_P | PTE_W | PTE_PS)
        .endif
        .set page, page + 1
        .endr

/* The 4th GiB, where devices live (the local APIC, virtio-mmio at
 * 0xfeb00000 on QEMU's microvm and on ftvmm), uncached. */
        .balign 4096
boot_pd_4th_gib:
        .set page, 0
        .rept 512
        .quad 0xc0000000 + (page << 21) + (PTE_P | PTE_W | PTE_PWT | PTE_PCD | PTE_PS)
        .set page, page + 1
        .endr
        .section .note.GNU-stack, "", @progbits
