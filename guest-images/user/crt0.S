/* The workload's entry at CPL3: the kernel's iretq lands here with the
 * stack below user_stack_top. main's return value is the exit status. */
#include "abi.h"

        .text
        .globl user_start
user_start:
        call main
        movl %eax, %edi
        movl $SYS_EXIT, %eax
        int3
        ud2

        .bss
        .balign 16
        .skip 65536
        .globl user_stack_top
user_stack_top:

        .section .note.GNU-stack, "", @progbits
