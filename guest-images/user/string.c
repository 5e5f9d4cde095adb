/* String helpers. The mem* functions come from kernel/string.c, whose object
 * the user library shares (guest.mk). */
#include "ulib.h"

size_t strlen(const char *s)
{
        size_t n = 0;
        while (s[n])
                n++;
        return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (a[i] != b[i] || !a[i])
                        return (unsigned char)a[i] - (unsigned char)b[i];
        }
        return 0;
}

int strcmp(const char *a, const char *b)
{
        return strncmp(a, b, (size_t)-1);
}
