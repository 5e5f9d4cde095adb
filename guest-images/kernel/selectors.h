/* GDT layout, shared by the assembler entry and the C table setup. */
#ifndef GUEST_SELECTORS_H
#define GUEST_SELECTORS_H

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_DS   0x1b /* 0x18 | RPL 3 */
#define USER_CS   0x23 /* 0x20 | RPL 3 */
#define TSS_SEL   0x28
#define GDT_ENTRIES 7  /* null, 4 segments, a 16-byte TSS descriptor */

#endif
