/* The kernel prints two kinds of line (the boot line and an exception
 * report), so it carries these three helpers instead of a formatter. */
#include "kernel.h"

void kprint(const char *s)
{
        size_t n = 0;
        while (s[n])
                n++;
        console_write(s, n);
}

void kprint_dec(uint64_t value)
{
        char buf[20];
        size_t i = sizeof(buf);
        do {
                buf[--i] = (char)('0' + value % 10);
                value /= 10;
        } while (value);
        console_write(buf + i, sizeof(buf) - i);
}

void kprint_hex(uint64_t value)
{
        char buf[18];
        size_t i = sizeof(buf);
        do {
                buf[--i] = "0123456789abcdef"[value & 15];
                value >>= 4;
        } while (value);
        buf[--i] = 'x';
        buf[--i] = '0';
        console_write(buf + i, sizeof(buf) - i);
}
