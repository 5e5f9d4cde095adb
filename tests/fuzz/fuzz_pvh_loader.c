/* libFuzzer target: any byte string handed to the PVH loader must be either
 * loaded inside guest RAM or rejected with a one-line reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/pvh_loader.h"

#define FUZZ_RAM_SIZE (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The image itself as an initrd: placed inside RAM, clear of the image, or
 * refused with a one-line reason. */
static void check_initrd(uint8_t *ram, const struct pvh_image *image,
                         const uint8_t *data, size_t size)
{
        char err[256] = "";
        if (!pvh_loader__write_start_info(ram, FUZZ_RAM_SIZE, "", err, sizeof(err)))
                abort();
        uint64_t at = pvh_loader__add_initrd(ram, FUZZ_RAM_SIZE, image, data, size, err, sizeof(err));
        if (!at && (err[0] == '\0' || strchr(err, '\n')))
                abort();
        if (at && (at + size > FUZZ_RAM_SIZE || (at < image->load_high && image->load_low < at + size)))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static uint8_t *ram;
        if (!ram)
                ram = malloc(FUZZ_RAM_SIZE);
        struct pvh_image image;
        char err[256] = "";
        (void)pvh_loader__is_linux(data, size); /* must only read inside data */
        if (pvh_loader__load(data, size, ram, FUZZ_RAM_SIZE, &image, err, sizeof(err)) == 0) {
                if (image.load_high > FUZZ_RAM_SIZE || image.entry >= image.load_high)
                        abort();
                check_initrd(ram, &image, data, size);
        } else if (err[0] == '\0' || strchr(err, '\n')) {
                abort(); /* every rejection must explain itself on one line */
        }
        return 0;
}
