/* String and memory helpers; gcc may also call the mem* ones itself. */
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

void *memcpy(void *dst, const void *src, size_t n)
{
        void *d = dst;
        __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
        return dst;
}

void *memset(void *dst, int c, size_t n)
{
        void *d = dst;
        __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
        return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
        unsigned char *d = dst;
        const unsigned char *s = src;
        if (d <= s || d >= s + n)
                return memcpy(dst, src, n);
        while (n--)
                d[n] = s[n];
        return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
        const unsigned char *x = a, *y = b;
        for (size_t i = 0; i < n; i++)
                if (x[i] != y[i])
                        return x[i] - y[i];
        return 0;
}
