/* libFuzzer target: any byte string arriving on a backup's connection, cut
 * into records the way its receiver cuts them (state_record__check), each
 * control message decoded (pair_wire), each log record checked by the log
 * reader as the backup checks it before acknowledging it. Everything is
 * either taken or refused with a one-line reason; nothing crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../replication/log_reader.h"
#include "../../replication/pair_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const char *why)
{
        if (strchr(why, '\n'))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct log_reader reader;
        log_reader__init(&reader, 16u << 20);
        uint8_t header[LOG_HEADER_SIZE];
        log_format__header(header);
        log_reader__feed(&reader, header, sizeof(header));
        size_t at = 0;
        while (at < size) {
                struct state_record_header h;
                char why[200] = "";
                enum state_record_check c = state_record__check(data + at, size - at, &h, why, sizeof(why));
                if (c != STATE_RECORD_COMPLETE) {
                        check_message(why);
                        break;
                }
                size_t length = STATE_RECORD_OVERHEAD + h.payload_length;
                if (pair_wire__kind(h.tag) >= 0) {
                        struct pair_message m;
                        if (pair_wire__decode(data + at, length, &m, why, sizeof(why)))
                                check_message(why);
                        else if (m.kind == PAIR_HELLO && strlen(m.name) > PAIR_NAME_MAX)
                                abort();
                } else {
                        struct log_entry e;
                        log_reader__feed(&reader, data + at, length);
                        enum log_read got = log_reader__next(&reader, &e);
                        if (got == LOG_READ_CORRUPT) {
                                check_message(reader.problem);
                                break;
                        }
                        if (got == LOG_READ_RECORD && e.state.length + e.output.length > size)
                                abort();
                }
                at += length;
        }
        log_reader__release(&reader);
        return 0;
}
