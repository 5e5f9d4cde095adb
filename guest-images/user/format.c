/* A small vsnprintf: the conversions the workloads print, nothing more.
 * Output is truncated to size - 1 bytes and always terminated. */
#include <stdint.h>

#include "ulib.h"

struct out {
        char *buf;
        size_t size, len;
};

static void put(struct out *o, char c)
{
        if (o->len + 1 < o->size)
                o->buf[o->len] = c;
        o->len++;
}

static void put_number(struct out *o, unsigned long long v, unsigned base,
                       int negative, unsigned width, char pad)
{
        char digits[24];
        unsigned n = 0;
        do {
                digits[n++] = "0123456789abcdef"[v % base];
                v /= base;
        } while (v);
        if (negative)
                digits[n++] = '-';
        for (; width > n; width--)
                put(o, pad);
        while (n)
                put(o, digits[--n]);
}

static void put_string(struct out *o, const char *s)
{
        if (!s)
                s = "(null)";
        while (*s)
                put(o, *s++);
}

/* Reads the argument for one integer conversion of `longs` l's. */
static unsigned long long take_unsigned(va_list *ap, int longs)
{
        if (longs >= 2)
                return va_arg(*ap, unsigned long long);
        if (longs == 1)
                return va_arg(*ap, unsigned long);
        return va_arg(*ap, unsigned int);
}

static long long take_signed(va_list *ap, int longs)
{
        if (longs >= 2)
                return va_arg(*ap, long long);
        if (longs == 1)
                return va_arg(*ap, long);
        return va_arg(*ap, int);
}

static const char *convert(struct out *o, const char *f, va_list *ap)
{
        char pad = ' ';
        unsigned width = 0;
        int longs = 0;
        if (*f == '0')
                pad = '0', f++;
        while (*f >= '0' && *f <= '9')
                width = width * 10 + (unsigned)(*f++ - '0');
        while (*f == 'l')
                longs++, f++;
        switch (*f) {
        case 'd': {
                long long v = take_signed(ap, longs);
                put_number(o, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v,
                           10, v < 0, width, pad);
                break;
        }
        case 'u': put_number(o, take_unsigned(ap, longs), 10, 0, width, pad); break;
        case 'x': put_number(o, take_unsigned(ap, longs), 16, 0, width, pad); break;
        case 's': put_string(o, va_arg(*ap, const char *)); break;
        case 'c': put(o, (char)va_arg(*ap, int)); break;
        case '%': put(o, '%'); break;
        default: return f; /* unknown conversion: printed as is */
        }
        return f + 1;
}

size_t vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
        struct out o = { buf, size, 0 };
        va_list args;
        va_copy(args, ap);
        while (*fmt) {
                if (*fmt != '%') {
                        put(&o, *fmt++);
                        continue;
                }
                fmt = convert(&o, fmt + 1, &args);
        }
        va_end(args);
        if (size)
                buf[o.len < size ? o.len : size - 1] = '\0';
        return o.len;
}

size_t format(char *buf, size_t size, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        size_t n = vformat(buf, size, fmt, ap);
        va_end(ap);
        return n;
}
