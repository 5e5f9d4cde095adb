/* libFuzzer target: any byte string handed to the log reader, read the way
 * a replay reads it (entries, epoch look-ahead, checkpoint states decoded
 * into a machine), is either read or refused with a one-line reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../replication/replay_log.h"
#include "../../vmm/checkpoint.h"
#include "fuzz_machine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const char *why)
{
        if (strchr(why, '\n'))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct replay_reader rd;
        struct replay_boot boot;
        char err[256] = "";
        if (replay_reader__open_bytes(&rd, data, size, "fuzz.log", &boot, err, sizeof(err))) {
                if (!err[0])
                        abort();
                check_message(err);
                replay_reader__close(&rd);
                return 0;
        }
        struct replay_entry e, end;
        bool epoch_start = true;
        for (;;) {
                if (epoch_start && replay_reader__peek_epoch_end(&rd, &end) &&
                    strcmp(end.tag, "CHKP") == 0)
                        replay_reader__skip_to_epoch_end(&rd);
                if (!replay_reader__next(&rd, &e))
                        break;
                epoch_start = strcmp(e.tag, "EPOC") == 0 || strcmp(e.tag, "CHKP") == 0;
                if (strcmp(e.tag, "CHKP") == 0 && e.output_length + e.state_length > size)
                        abort();
                if (strcmp(e.tag, "CHKP") == 0 &&
                    checkpoint__decode(fuzz_machine(), e.state, e.state_length, fuzz_vcpu(),
                                       err, sizeof(err)))
                        check_message(err);
        }
        check_message(rd.problem);
        replay_reader__close(&rd);
        return 0;
}
