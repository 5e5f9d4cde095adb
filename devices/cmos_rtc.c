#include "cmos_rtc.h"

#include <errno.h>
#include <string.h>

#define REG_SECONDS 0x00
#define REG_MINUTES 0x02
#define REG_HOURS 0x04
#define REG_WEEKDAY 0x06
#define REG_DAY 0x07
#define REG_MONTH 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define REG_CENTURY 0x32

#define A_UIP 0x80
#define B_SET 0x80
#define B_BINARY 0x04
#define B_24_HOUR 0x02
#define D_VRT 0x80
#define HOUR_PM 0x80

#define NS_PER_S 1000000000ll
/* The MC146818 raises UIP this long before it updates the time registers. */
#define UIP_WINDOW_NS 244000ll

struct civil_time {
        int64_t year;
        unsigned month, day, hour, minute, second, weekday; /* weekday 1 = Sunday */
};

/* Howard Hinnant's days-from-civil algorithm and its inverse: pure integer
 * arithmetic over the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        unsigned yoe = (unsigned)(y - era * 400);
        unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t)doe - 719468;
}

static struct civil_time civil_from_seconds(int64_t t)
{
        int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
        int64_t secs = t - days * 86400;
        struct civil_time c = {
                .hour = (unsigned)(secs / 3600),
                .minute = (unsigned)(secs / 60 % 60),
                .second = (unsigned)(secs % 60),
                .weekday = (unsigned)(((days % 7) + 11) % 7) + 1, /* 1970-01-01 was a Thursday */
        };
        int64_t z = days + 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        unsigned doe = (unsigned)(z - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        unsigned mp = (5 * doy + 2) / 153;
        c.day = doy - (153 * mp + 2) / 5 + 1;
        c.month = mp < 10 ? mp + 3 : mp - 9;
        c.year = (int64_t)yoe + era * 400 + (c.month <= 2);
        return c;
}

static int64_t guest_time_ns(const struct cmos_rtc *rtc)
{
        return environment__realtime_ns(rtc->env) + rtc->offset_ns;
}

static uint8_t encode(const struct cmos_rtc *rtc, unsigned v)
{
        if (rtc->ram[REG_B] & B_BINARY)
                return (uint8_t)v;
        return (uint8_t)((v / 10) << 4 | v % 10);
}

static unsigned decode(const struct cmos_rtc *rtc, uint8_t v)
{
        if (rtc->ram[REG_B] & B_BINARY)
                return v;
        return (v >> 4) * 10u + (v & 0xf);
}

static uint8_t encode_hour(const struct cmos_rtc *rtc, unsigned hour)
{
        if (rtc->ram[REG_B] & B_24_HOUR)
                return encode(rtc, hour);
        unsigned h12 = hour % 12 ? hour % 12 : 12;
        return (uint8_t)(encode(rtc, h12) | (hour >= 12 ? HOUR_PM : 0));
}

static unsigned decode_hour(const struct cmos_rtc *rtc, uint8_t v)
{
        if (rtc->ram[REG_B] & B_24_HOUR)
                return decode(rtc, v);
        unsigned h = decode(rtc, v & 0x7f) % 12;
        return (v & HOUR_PM) ? h + 12 : h;
}

/* Refreshes the time registers from the clock unless the guest holds SET. */
static void refresh_time(struct cmos_rtc *rtc)
{
        if (rtc->ram[REG_B] & B_SET)
                return;
        int64_t ns = guest_time_ns(rtc);
        int64_t secs = ns >= 0 ? ns / NS_PER_S : (ns - NS_PER_S + 1) / NS_PER_S;
        struct civil_time c = civil_from_seconds(secs);
        rtc->ram[REG_SECONDS] = encode(rtc, c.second);
        rtc->ram[REG_MINUTES] = encode(rtc, c.minute);
        rtc->ram[REG_HOURS] = encode_hour(rtc, c.hour);
        rtc->ram[REG_WEEKDAY] = encode(rtc, c.weekday);
        rtc->ram[REG_DAY] = encode(rtc, c.day);
        rtc->ram[REG_MONTH] = encode(rtc, c.month);
        rtc->ram[REG_YEAR] = encode(rtc, (unsigned)(c.year % 100));
        rtc->ram[REG_CENTURY] = encode(rtc, (unsigned)(c.year / 100 % 100));
        bool uip = NS_PER_S - (ns - secs * NS_PER_S) <= UIP_WINDOW_NS;
        rtc->ram[REG_A] = (uint8_t)((rtc->ram[REG_A] & ~A_UIP) | (uip ? A_UIP : 0));
}

/* When the guest releases SET, the clock restarts from what it wrote. */
static void commit_written_time(struct cmos_rtc *rtc)
{
        int64_t year = decode(rtc, rtc->ram[REG_CENTURY]) * 100 + decode(rtc, rtc->ram[REG_YEAR]);
        int64_t days = days_from_civil(year, decode(rtc, rtc->ram[REG_MONTH]),
                                       decode(rtc, rtc->ram[REG_DAY]));
        int64_t secs = days * 86400 + decode_hour(rtc, rtc->ram[REG_HOURS]) * 3600 +
                       decode(rtc, rtc->ram[REG_MINUTES]) * 60 + decode(rtc, rtc->ram[REG_SECONDS]);
        rtc->offset_ns = secs * NS_PER_S - environment__realtime_ns(rtc->env);
}

void cmos_rtc__reset(struct cmos_rtc *rtc)
{
        memset(rtc->ram, 0, sizeof(rtc->ram));
        rtc->index = 0;
        rtc->ram[REG_A] = 0x26;           /* 32.768 kHz divider, 1024 Hz rate */
        rtc->ram[REG_B] = B_24_HOUR;      /* BCD, 24-hour, as PC firmware leaves it */
        rtc->ram[REG_D] = D_VRT;
}

void cmos_rtc__init(struct cmos_rtc *rtc, struct environment *env)
{
        memset(rtc, 0, sizeof(*rtc));
        rtc->env = env;
        cmos_rtc__reset(rtc);
}

static uint8_t read_register(struct cmos_rtc *rtc, uint8_t reg)
{
        if (reg <= REG_A || reg == REG_CENTURY)
                refresh_time(rtc);
        uint8_t v = rtc->ram[reg];
        if (reg == REG_C)
                rtc->ram[REG_C] = 0; /* flags clear on read; none are raised: IRQ 8 is not wired */
        return v;
}

static void write_register(struct cmos_rtc *rtc, uint8_t reg, uint8_t v)
{
        switch (reg) {
        case REG_A:
                rtc->ram[REG_A] = (uint8_t)((rtc->ram[REG_A] & A_UIP) | (v & ~A_UIP));
                return;
        case REG_B: {
                bool was_set = rtc->ram[REG_B] & B_SET;
                if (!was_set && (v & B_SET))
                        refresh_time(rtc); /* freeze what the guest will edit */
                rtc->ram[REG_B] = v;
                if (was_set && !(v & B_SET))
                        commit_written_time(rtc);
                return;
        }
        case REG_C:
        case REG_D:
                return; /* read-only */
        default:
                rtc->ram[reg] = v;
        }
}

int cmos_rtc__io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
        struct cmos_rtc *rtc = opaque;
        if (size != 1 || offset > 1)
                return -EINVAL;
        if (offset == 0) {
                if (is_write)
                        rtc->index = data[0];
                else
                        data[0] = 0xff; /* the index register is write-only */
                return 0;
        }
        uint8_t reg = rtc->index & 0x7f; /* bit 7 masks NMI, which we do not model */
        if (is_write)
                write_register(rtc, reg, data[0]);
        else
                data[0] = read_register(rtc, reg);
        return 0;
}

int cmos_rtc__save(const struct cmos_rtc *rtc, struct state_writer *w)
{
        state_writer__begin(w, "RTC ", 1);
        state_writer__u8(w, rtc->index);
        state_writer__bytes(w, rtc->ram, sizeof(rtc->ram));
        state_writer__u64(w, (uint64_t)rtc->offset_ns);
        return state_writer__end(w);
}

int cmos_rtc__load(struct cmos_rtc *rtc, struct state_reader *r)
{
        struct cmos_rtc loaded = *rtc;
        if (state_reader__begin(r, "RTC ", 1))
                return -EINVAL;
        loaded.index = state_reader__u8(r);
        state_reader__bytes(r, loaded.ram, sizeof(loaded.ram));
        loaded.offset_ns = (int64_t)state_reader__u64(r);
        if (!(loaded.ram[REG_D] & D_VRT))
                state_reader__fail(r, "RTC register D lacks the valid-RAM bit");
        if (state_reader__end(r))
                return -EINVAL;
        *rtc = loaded;
        return 0;
}
