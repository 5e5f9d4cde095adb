/* Writes malformed PVH images for the integration tests, each with exactly
 * one defect, into the directory named on the command line. */
#include <stdio.h>
#include <string.h>

#include "../unit/elf_builder.h"

static int write_file(const char *dir, const char *name, const struct test_elf *elf)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(elf->bytes, 1, elf->size, f) != elf->size) {
                perror(path);
                return 1;
        }
        return fclose(f) ? 1 : 0;
}

int main(int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: %s DIR\n", argv[0]);
                return 2;
        }
        struct test_elf elf;
        int failed = 0;

        test_elf__build(&elf);
        elf.nhdr->n_type = 1;
        failed |= write_file(argv[1], "no-pvh-note.elf", &elf);

        test_elf__build(&elf);
        elf.load->p_paddr = 0x7ff00000; /* 2 GiB: beyond any default RAM */
        failed |= write_file(argv[1], "outside-ram.elf", &elf);

        test_elf__build(&elf);
        elf.load->p_memsz = 1ull << 62;
        failed |= write_file(argv[1], "absurd-size.elf", &elf);

        test_elf__build(&elf);
        elf.size = 100;
        failed |= write_file(argv[1], "truncated.elf", &elf);
        return failed;
}
