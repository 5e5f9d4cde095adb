/* The CMOS RTC, read once at boot (about 16 exits): wall-clock time is an
 * input from the environment, and one reading is all a workload needs. The
 * year is taken as 20yy; the century register is not standard. */
#include "io.h"
#include "kernel.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71
#define REG_SECONDS 0x00
#define REG_MINUTES 0x02
#define REG_HOURS   0x04
#define REG_DAY     0x07
#define REG_MONTH   0x08
#define REG_YEAR    0x09
#define REG_A       0x0a
#define REG_B       0x0b
#define A_UPDATE_IN_PROGRESS 0x80
#define B_24_HOUR 0x02
#define B_BINARY  0x04
#define HOUR_PM   0x80

struct rtc_reading {
        uint8_t b, sec, min, hour, day, mon, year;
};

static struct rtc_reading boot;

static uint8_t cmos_read(uint8_t reg)
{
        outb(CMOS_INDEX, reg);
        return inb(CMOS_DATA);
}

/* Once UIP reads clear, the next update is at least 244 us away: enough
 * for the dozen reads below even at exit cost. */
void rtc_read_boot_time(void)
{
        outb(CMOS_INDEX, REG_A);
        while (inb(CMOS_DATA) & A_UPDATE_IN_PROGRESS)
                ;
        boot.sec = cmos_read(REG_SECONDS);
        boot.min = cmos_read(REG_MINUTES);
        boot.hour = cmos_read(REG_HOURS);
        boot.day = cmos_read(REG_DAY);
        boot.mon = cmos_read(REG_MONTH);
        boot.year = cmos_read(REG_YEAR);
        boot.b = cmos_read(REG_B);
}

static unsigned from_bcd(uint8_t v, int binary)
{
        return binary ? v : (v >> 4) * 10u + (v & 15);
}

static unsigned hour_24(uint8_t raw, uint8_t b)
{
        unsigned h = from_bcd(raw & 0x7f, b & B_BINARY);
        if (b & B_24_HOUR)
                return h;
        return h % 12 + (raw & HOUR_PM ? 12 : 0);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), so no table is needed. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        unsigned yoe = (unsigned)(y - era * 400);
        unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t)doe - 719468;
}

uint64_t rtc_boot_unix_time(void)
{
        int binary = boot.b & B_BINARY;
        int64_t days = days_from_civil(2000 + from_bcd(boot.year, binary),
                                       from_bcd(boot.mon, binary),
                                       from_bcd(boot.day, binary));
        return (uint64_t)(days * 86400 + hour_24(boot.hour, boot.b) * 3600 +
                          from_bcd(boot.min, binary) * 60 + from_bcd(boot.sec, binary));
}
