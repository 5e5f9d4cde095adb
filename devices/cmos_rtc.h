/* MC146818 CMOS real-time clock and its RAM, index port 0x70, data 0x71.
 * Time of day comes from the environment's wall clock. */
#ifndef FTVMM_CMOS_RTC_H
#define FTVMM_CMOS_RTC_H

#include <stdbool.h>
#include <stdint.h>

#include "../replication/state_record.h"
#include "../replication/environment.h"

struct cmos_rtc {
        uint8_t index;         /* selected register, bit 7 is the NMI mask */
        uint8_t ram[128];      /* registers 0x0e..0x7f and A..D at 0x0a..0x0d */
        int64_t offset_ns;     /* guest time of day minus host wall clock */
        struct environment *env;
};

void cmos_rtc__init(struct cmos_rtc *rtc, struct environment *env);
void cmos_rtc__reset(struct cmos_rtc *rtc);
int cmos_rtc__io(void *rtc, uint64_t offset, uint8_t *data, uint32_t size,
                 bool is_write);
int cmos_rtc__save(const struct cmos_rtc *rtc, struct state_writer *w);
int cmos_rtc__load(struct cmos_rtc *rtc, struct state_reader *r);

#endif
