/* printf: one line, one system call, so console output costs one kernel
 * entry per call and the UART driver can send it in full bursts. */
#include "ulib.h"

#define PRINTF_BUFFER 512

int printf(const char *fmt, ...)
{
        char buf[PRINTF_BUFFER];
        va_list ap;
        va_start(ap, fmt);
        size_t n = vformat(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n >= sizeof(buf))
                n = sizeof(buf) - 1;
        sys_write(buf, n);
        return (int)n;
}
