/* libFuzzer target: any byte string handed to the PVH loader must be either
 * loaded inside guest RAM or rejected with a one-line reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/pvh_loader.h"

#define FUZZ_RAM_SIZE (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static uint8_t *ram;
        if (!ram)
                ram = malloc(FUZZ_RAM_SIZE);
        struct pvh_image image;
        char err[256] = "";
        if (pvh_loader__load(data, size, ram, FUZZ_RAM_SIZE, &image, err, sizeof(err)) == 0) {
                if (image.load_high > FUZZ_RAM_SIZE || image.entry >= image.load_high)
                        abort();
        } else if (err[0] == '\0' || strchr(err, '\n')) {
                abort(); /* every rejection must explain itself on one line */
        }
        return 0;
}
