/* PVH entry: 32-bit protected mode, paging off, flat segments, %ebx = the
 * physical address of struct hvm_start_info. Switches to long mode with the
 * static page tables and GDT and calls kernel_main(start_info). Nothing here
 * loops: the path is about 25 emulated instructions. */
#include "selectors.h"

#define CR0_PE   0x00000001
#define CR0_PG   0x80000000
#define CR4_PAE  0x00000020
#define MSR_EFER 0xc0000080
#define EFER_LME 0x00000100

        .section .text.boot, "ax"
        .code32
        .globl pvh_start32
pvh_start32:
        cli
        movl %ebx, %edi                 /* kernel_main's argument, kept to the end */
        lgdt gdt_pointer
        movl %cr4, %eax
        orl $CR4_PAE, %eax
        movl %eax, %cr4
        movl $boot_pml4, %eax
        movl %eax, %cr3
        movl $MSR_EFER, %ecx
        rdmsr
        orl $EFER_LME, %eax
        wrmsr
        movl $(CR0_PG | CR0_PE), %eax
        movl %eax, %cr0
        ljmp $KERNEL_CS, $long_mode

        .code64
long_mode:
        movl $KERNEL_DS, %eax
        movl %eax, %ds
        movl %eax, %es
        movl %eax, %ss
        xorl %eax, %eax
        movl %eax, %fs
        movl %eax, %gs
        movq $kernel_stack_top, %rsp
        call kernel_main
1:      hlt
        jmp 1b

        .section .bss.kernel_stack, "aw", @nobits
        .balign 16
kernel_stack:
        .skip 16384
        .globl kernel_stack_top
kernel_stack_top:

        .section .note.GNU-stack, "", @progbits
