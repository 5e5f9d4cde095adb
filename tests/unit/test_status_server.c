#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../vmm/status_server.h"
#include "suites.h"

static const char *const metric_names[] = {
        "ftvmm_role", "ftvmm_protected", "ftvmm_generation", "ftvmm_position",
        "ftvmm_epochs_total", "ftvmm_checkpoints_total", "ftvmm_backup_lag_positions",
        "ftvmm_backup_lag_seconds", "ftvmm_log_bytes_total", "ftvmm_output_held_bytes",
        "ftvmm_output_released_bytes_total", "ftvmm_acknowledged_seq",
        "ftvmm_backups_joined_total", "ftvmm_backups_lost_total",
};

static struct status_report following_backup(void)
{
        return (struct status_report){
                .role = "backup", .protection = "following", .generation = 3,
                .position = 412, .epochs = 23, .checkpoints = 2, .lag_positions = 12,
                .lag_ms = 17, .log_bytes = 98304, .output_held = 5, .output_released = 376,
                .acked_seq = 901, .seconds = 2.0, .log_bytes_per_s = 49152,
        };
}

static void format(const struct status_report *st, const char *kind, char *out, size_t size)
{
        size_t n = status_report__format(st, kind, out, size);
        ck_assert_uint_eq(n, strlen(out));
        ck_assert_uint_lt(n, size - 1); /* not cut short */
}

static bool has_line(const char *text, const char *line)
{
        size_t len = strlen(line);
        for (const char *p = text; (p = strstr(p, line)) != NULL; p += len)
                if ((p == text || p[-1] == '\n') && (p[len] == '\n' || p[len] == '\0'))
                        return true;
        return false;
}

START_TEST(lag_in_seconds_is_printed_exactly)
{
        char out[4096];
        struct status_report st = following_backup();
        format(&st, "metrics", out, sizeof(out));
        ck_assert_msg(has_line(out, "ftvmm_backup_lag_seconds 0.017"), "%s", out);
        st.lag_ms = 61500;
        format(&st, "metrics", out, sizeof(out));
        ck_assert_msg(has_line(out, "ftvmm_backup_lag_seconds 61.500"), "%s", out);
}
END_TEST

START_TEST(large_counters_are_printed_exactly)
{
        char out[4096];
        struct status_report st = following_backup();
        st.log_bytes = (1ull << 60) + 1; /* a double would round it */
        format(&st, "metrics", out, sizeof(out));
        ck_assert_msg(has_line(out, "ftvmm_log_bytes_total 1152921504606846977"), "%s", out);
}
END_TEST

/* Every sample line is NAME[{LABELS}] VALUE, after its own HELP and TYPE. */
START_TEST(metrics_are_prometheus_text_exposition)
{
        char out[4096];
        struct status_report st = following_backup();
        format(&st, "metrics", out, sizeof(out));
        regex_t sample;
        ck_assert_int_eq(regcomp(&sample, "^ftvmm_[a-z_]+(\\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*\\})? "
                                          "[0-9]+(\\.[0-9]+)?$", REG_EXTENDED | REG_NOSUB), 0);
        char *copy = strdup(out), *save = NULL;
        unsigned samples = 0;
        char last_type[64] = "";
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (strncmp(line, "# HELP ", 7) == 0)
                        continue;
                if (strncmp(line, "# TYPE ", 7) == 0) {
                        ck_assert_int_eq(sscanf(line + 7, "%63s", last_type), 1);
                        continue;
                }
                ck_assert_msg(regexec(&sample, line, 0, NULL, 0) == 0, "not a sample: '%s'", line);
                ck_assert_msg(strncmp(line, last_type, strlen(last_type)) == 0,
                              "'%s' follows the TYPE of %s", line, last_type);
                samples++;
        }
        free(copy);
        regfree(&sample);
        ck_assert_uint_eq(samples, sizeof(metric_names) / sizeof(metric_names[0]));
        for (size_t i = 0; i < sizeof(metric_names) / sizeof(metric_names[0]); i++) {
                char help[96];
                snprintf(help, sizeof(help), "# HELP %s ", metric_names[i]);
                ck_assert_msg(strstr(out, help), "no HELP for %s", metric_names[i]);
        }
        ck_assert(has_line(out, "ftvmm_role{role=\"backup\",protection=\"following\"} 1"));
        ck_assert(has_line(out, "ftvmm_protected 0"));
}
END_TEST

START_TEST(text_and_json_say_the_same)
{
        char out[4096];
        struct status_report st = following_backup();
        format(&st, "text", out, sizeof(out));
        ck_assert_msg(has_line(out, "role: backup"), "%s", out);
        ck_assert_msg(has_line(out, "backup lag: 12 positions, 17 ms"), "%s", out);
        ck_assert_msg(has_line(out, "output: 5 bytes held, 376 released"), "%s", out);
        format(&st, "json", out, sizeof(out));
        ck_assert_msg(strstr(out, "\"backup_lag_ms\":17,"), "%s", out);
        ck_assert_msg(strstr(out, "\"generation\":3,"), "%s", out);
        ck_assert_msg(strstr(out, "\"log_bytes_per_s\":49152,"), "%s", out);
        ck_assert_uint_eq(out[0], '{');
        ck_assert_str_eq(out + strlen(out) - 2, "}\n");
}
END_TEST

START_TEST(a_small_buffer_cuts_the_report_without_overrunning)
{
        char out[40];
        memset(out, 'x', sizeof(out));
        struct status_report st = following_backup();
        size_t n = status_report__format(&st, "metrics", out, 32);
        ck_assert_uint_lt(n, 32);
        ck_assert_uint_eq(out[n], '\0');
        ck_assert_uint_eq(out[32], 'x');
}
END_TEST

/* The socket itself: a replica with no role yet answers "starting". */
START_TEST(the_socket_answers_one_request_per_connection)
{
        char path[] = "/tmp/ftvmm-status.XXXXXX";
        ck_assert_ptr_nonnull(mkdtemp(path));
        char sock[64];
        snprintf(sock, sizeof(sock), "%s/s", path);
        struct status_server server;
        char err[256];
        ck_assert_msg(status_server__start(&server, sock, err, sizeof(err)) == 0, "%s", err);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock);
        ck_assert_int_eq(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
        ck_assert_int_eq(write(fd, "metrics\n", 8), 8);
        char reply[4096];
        size_t got = 0;
        ssize_t n;
        while ((n = read(fd, reply + got, sizeof(reply) - 1 - got)) > 0)
                got += (size_t)n;
        reply[got] = '\0';
        close(fd);
        status_server__stop(&server);
        ck_assert_msg(has_line(reply, "ftvmm_role{role=\"starting\",protection=\"none\"} 1"), "%s", reply);
        ck_assert_int_ne(access(sock, F_OK), 0); /* stop removes the socket */
        rmdir(path);
}
END_TEST

Suite *make_status_server_suite(void)
{
        Suite *s = suite_create("status_server");
        TCase *tc = tcase_create("reports");
        tcase_add_test(tc, lag_in_seconds_is_printed_exactly);
        tcase_add_test(tc, large_counters_are_printed_exactly);
        tcase_add_test(tc, metrics_are_prometheus_text_exposition);
        tcase_add_test(tc, text_and_json_say_the_same);
        tcase_add_test(tc, a_small_buffer_cuts_the_report_without_overrunning);
        tcase_add_test(tc, the_socket_answers_one_request_per_connection);
        suite_add_tcase(s, tc);
        return s;
}
