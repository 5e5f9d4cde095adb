/* The workloads' library: formatted output, strings, command-line
 * arguments. Everything runs at CPL3; only printf enters the kernel, once
 * per call. */
#ifndef GUEST_ULIB_H
#define GUEST_ULIB_H

#include <stdarg.h>
#include <stddef.h>

#include "syscall.h"

/* format.c: %d %u %x %s %c %%, with l/ll, '0' flag and width. */
size_t vformat(char *buf, size_t size, const char *fmt, va_list ap);
size_t format(char *buf, size_t size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* printf.c: formats into one buffer and writes it with one system call. */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* string.c */
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* args.c: `key=value` tokens of the kernel command line. */
long arg_long(const char *key, long default_value);
/* Copies the value of key into buf; returns its length, or -1 if absent. */
long arg_string(const char *key, char *buf, size_t size);

#endif
