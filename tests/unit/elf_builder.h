/* Builds small synthetic PVH ELF images in memory, so loader tests and the
 * fuzzer's seed can describe exactly the defect they exercise. */
#ifndef FTVMM_TEST_ELF_BUILDER_H
#define FTVMM_TEST_ELF_BUILDER_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>

struct test_elf {
        uint8_t bytes[4096];
        size_t size;
        Elf64_Ehdr *eh;
        Elf64_Phdr *load;  /* program header 0 */
        Elf64_Phdr *note;  /* program header 1 */
        Elf64_Nhdr *nhdr;
};

/* A valid image: one 256-byte PT_LOAD at 1 MiB (512 bytes in memory), a
 * PT_NOTE holding the PVH entry = 1 MiB. */
void test_elf__build(struct test_elf *elf);

#endif
