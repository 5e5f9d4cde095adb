/* One-line error messages into a caller's buffer: the convention every
 * parser and loader here follows, so its callers can prefix a file name. */
#ifndef FTVMM_ERROR_MESSAGE_H
#define FTVMM_ERROR_MESSAGE_H

#include <stddef.h>

/* Formats into err and returns -1, so `return error_message(...)` reads as
 * a failure. */
int error_message(char *err, size_t err_size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#endif
