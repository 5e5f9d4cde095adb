/* Command-line arguments as `key=value` tokens separated by spaces, the
 * form Linux uses. The line is fetched from the kernel once. */
#include "ulib.h"

#define CMDLINE_MAX 4096

static char cmdline[CMDLINE_MAX];
static int fetched;

static const char *line(void)
{
        if (!fetched) {
                if (sys_cmdline(cmdline, sizeof(cmdline)) < 0)
                        cmdline[0] = '\0';
                fetched = 1;
        }
        return cmdline;
}

/* Returns the value of the last `key=` token (later ones override, as on
 * Linux) and its length through *len, or NULL. */
static const char *find_value(const char *key, size_t *len)
{
        size_t key_len = strlen(key);
        const char *found = NULL;
        const char *p = line();
        while (*p) {
                while (*p == ' ')
                        p++;
                const char *token = p;
                while (*p && *p != ' ')
                        p++;
                if ((size_t)(p - token) > key_len && token[key_len] == '=' &&
                    strncmp(token, key, key_len) == 0) {
                        found = token + key_len + 1;
                        *len = (size_t)(p - found);
                }
        }
        return found;
}

static int parse_long(const char *s, size_t len, long *out)
{
        int negative = len > 0 && s[0] == '-';
        size_t i = (size_t)negative;
        long v = 0;
        if (i == len)
                return -1;
        for (; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        *out = negative ? -v : v;
        return 0;
}

long arg_long(const char *key, long default_value)
{
        size_t len;
        long v;
        const char *s = find_value(key, &len);
        if (!s || parse_long(s, len, &v) < 0)
                return default_value;
        return v;
}

long arg_string(const char *key, char *buf, size_t size)
{
        size_t len;
        const char *s = find_value(key, &len);
        if (!s || size == 0)
                return -1;
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(buf, s, n);
        buf[n] = '\0';
        return (long)len;
}
