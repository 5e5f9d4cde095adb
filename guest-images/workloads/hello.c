/* hello: the smallest workload, a boot check. */
#include "ulib.h"

const char workload_name[] = "hello";

int main(void);

int main(void)
{
        printf("Hello from the ftvmm guest\n");
        return 0;
}
