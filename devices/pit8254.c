#include "pit8254.h"

#include <errno.h>
#include <string.h>

#define NS_PER_S 1000000000ull
#define CONTROL_PORT 3
#define READ_BACK 3          /* channel field value of a read-back command */
#define ACCESS_LATCH 0
#define ACCESS_LSB 1
#define ACCESS_MSB 2
#define ACCESS_WORD 3

static uint64_t ticks_between(uint64_t start_ns, uint64_t now_ns)
{
        if (now_ns <= start_ns)
                return 0;
        return (uint64_t)((unsigned __int128)(now_ns - start_ns) * PIT_FREQUENCY_HZ / NS_PER_S);
}

/* Environment time at which `ticks` PIT clocks have elapsed since start. */
static uint64_t time_of_tick(uint64_t start_ns, uint64_t ticks)
{
        unsigned __int128 ns = (unsigned __int128)ticks * NS_PER_S + PIT_FREQUENCY_HZ - 1;
        return start_ns + (uint64_t)(ns / PIT_FREQUENCY_HZ);
}

static bool is_periodic(uint8_t mode)
{
        return mode == 2 || mode == 3;
}

/* Clocks counted since the count was loaded, frozen while paused. */
static uint64_t elapsed_ticks(const struct pit8254_channel *ch, uint64_t now)
{
        return ch->paused ? ch->paused_ticks : ticks_between(ch->start_ns, now);
}

static uint16_t to_bcd(uint32_t v)
{
        return (uint16_t)((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

static uint32_t from_bcd(uint16_t v)
{
        return (v >> 12 & 0xf) * 1000u + (v >> 8 & 0xf) * 100u + (v >> 4 & 0xf) * 10u + (v & 0xf);
}

/* The counting element's value at now, in binary. */
static uint32_t current_count(const struct pit8254_channel *ch, uint64_t now)
{
        if (!ch->counting)
                return ch->reload & 0xffff;
        uint64_t ticks = elapsed_ticks(ch, now);
        uint32_t modulus = ch->bcd ? 10000 : 65536;
        switch (ch->mode) {
        case 2:
                return ch->reload - (uint32_t)(ticks % ch->reload);
        case 3: {
                /* Decrements by two, twice per period. */
                uint32_t half = ch->reload / 2 ? ch->reload / 2 : 1;
                return ch->reload - 2 * (uint32_t)(ticks % half);
        }
        default:
                return (uint32_t)((ch->reload + modulus - ticks % modulus) % modulus);
        }
}

static bool output_level(const struct pit8254_channel *ch, uint64_t now)
{
        if (!ch->counting)
                return ch->mode != 0;
        if (!ch->gate && is_periodic(ch->mode))
                return true; /* a low gate forces OUT high in modes 2 and 3 */
        if (ch->paused && (ch->mode == 1 || ch->mode == 5))
                return true; /* not triggered yet */
        uint64_t ticks = elapsed_ticks(ch, now);
        switch (ch->mode) {
        case 2:
                return ticks % ch->reload != ch->reload - 1;
        case 3:
                return ticks % ch->reload < (ch->reload + 1) / 2;
        default:
                return ticks >= ch->reload;
        }
}

static void schedule_irq(struct pit8254 *pit, uint64_t now)
{
        const struct pit8254_channel *ch = &pit->channel[0];
        pit->next_irq_ns = UINT64_MAX;
        if (!ch->counting || ch->paused)
                return;
        uint64_t ticks = ticks_between(ch->start_ns, now);
        if (is_periodic(ch->mode))
                pit->next_irq_ns = time_of_tick(ch->start_ns, (ticks / ch->reload + 1) * ch->reload);
        else if (ch->mode == 0 && ticks < ch->reload)
                pit->next_irq_ns = time_of_tick(ch->start_ns, ch->reload);
}

uint64_t pit8254__next_deadline_ns(const struct pit8254 *pit)
{
        return pit->next_irq_ns;
}

void pit8254__advance(struct pit8254 *pit, uint64_t now_ns)
{
        if (pit->next_irq_ns > now_ns)
                return;
        irq_line__pulse(&pit->irq0);
        pit->irqs_raised++;
        if (pit->channel[0].mode == 0) {
                pit->next_irq_ns = UINT64_MAX;
                return;
        }
        schedule_irq(pit, now_ns);
}

static void channel_reset(struct pit8254_channel *ch)
{
        memset(ch, 0, sizeof(*ch));
        ch->access = ACCESS_WORD;
        ch->gate = true;
        ch->reload = 65536;
}

void pit8254__reset(struct pit8254 *pit)
{
        for (int i = 0; i < 3; i++)
                channel_reset(&pit->channel[i]);
        /* Channel 2's gate is port 0x61 bit 0, which a PC resets to 0. */
        pit->channel[2].gate = false;
        pit->next_irq_ns = UINT64_MAX;
        pit->irqs_raised = 0;
}

void pit8254__init(struct pit8254 *pit, struct environment *env, struct irq_line irq0)
{
        memset(pit, 0, sizeof(*pit));
        pit->env = env;
        pit->irq0 = irq0;
        pit8254__reset(pit);
}

static uint8_t status_byte(const struct pit8254_channel *ch, uint64_t now)
{
        return (uint8_t)(output_level(ch, now) << 7 | ch->null_count << 6 |
                         ch->access << 4 | ch->mode << 1 | ch->bcd);
}

static void latch_count(struct pit8254_channel *ch, uint64_t now)
{
        if (ch->latched_count_valid)
                return; /* a second latch before the read is ignored */
        uint32_t count = current_count(ch, now) & 0xffff;
        ch->latched_count = ch->bcd ? to_bcd(count) : (uint16_t)count;
        ch->latched_count_valid = true;
        ch->latched_msb_next = false;
}

static void load_count(struct pit8254 *pit, struct pit8254_channel *ch, uint16_t value,
                       uint64_t now)
{
        uint32_t count = ch->bcd ? from_bcd(value) : value;
        if (count == 0)
                count = ch->bcd ? 10000 : 65536;
        if (is_periodic(ch->mode) && count == 1)
                count = 2; /* modes 2 and 3 cannot divide by one */
        ch->reload = count;
        ch->start_ns = now;
        ch->counting = true;
        ch->null_count = false;
        /* With the gate low the count waits: modes 0 and 4 for the gate to
         * be high, the others for its rising edge. */
        ch->paused = !ch->gate;
        ch->paused_ticks = 0;
        if (ch == &pit->channel[0])
                schedule_irq(pit, now);
}

static void write_counter(struct pit8254 *pit, unsigned index, uint8_t v, uint64_t now)
{
        struct pit8254_channel *ch = &pit->channel[index];
        switch (ch->access) {
        case ACCESS_LSB:
                load_count(pit, ch, v, now);
                return;
        case ACCESS_MSB:
                load_count(pit, ch, (uint16_t)(v << 8), now);
                return;
        }
        if (!ch->write_msb_next) {
                ch->write_lsb = v;
                ch->write_msb_next = true;
                if (ch->mode == 0) { /* mode 0 stops counting on the first byte */
                        ch->counting = false;
                        if (index == 0)
                                pit->next_irq_ns = UINT64_MAX;
                }
                return;
        }
        ch->write_msb_next = false;
        load_count(pit, ch, (uint16_t)(ch->write_lsb | v << 8), now);
}

static uint8_t read_word_byte(uint16_t word, uint8_t access, bool *msb_next)
{
        switch (access) {
        case ACCESS_LSB: return (uint8_t)word;
        case ACCESS_MSB: return (uint8_t)(word >> 8);
        }
        uint8_t byte = *msb_next ? (uint8_t)(word >> 8) : (uint8_t)word;
        *msb_next = !*msb_next;
        return byte;
}

static uint8_t read_counter(struct pit8254_channel *ch, uint64_t now)
{
        if (ch->latched_status_valid) {
                ch->latched_status_valid = false;
                return ch->latched_status;
        }
        if (ch->latched_count_valid) {
                uint8_t byte = read_word_byte(ch->latched_count, ch->access, &ch->latched_msb_next);
                if (ch->access != ACCESS_WORD || !ch->latched_msb_next)
                        ch->latched_count_valid = false;
                return byte;
        }
        uint32_t count = current_count(ch, now) & 0xffff;
        uint16_t shown = ch->bcd ? to_bcd(count) : (uint16_t)count;
        return read_word_byte(shown, ch->access, &ch->read_msb_next);
}

static void read_back(struct pit8254 *pit, uint8_t v, uint64_t now)
{
        for (unsigned i = 0; i < 3; i++) {
                struct pit8254_channel *ch = &pit->channel[i];
                if (!(v & (2u << i)))
                        continue;
                if (!(v & 0x20))
                        latch_count(ch, now);
                if (!(v & 0x10) && !ch->latched_status_valid) {
                        ch->latched_status = status_byte(ch, now);
                        ch->latched_status_valid = true;
                }
        }
}

static void write_control(struct pit8254 *pit, uint8_t v, uint64_t now)
{
        unsigned index = v >> 6;
        if (index == READ_BACK) {
                read_back(pit, v, now);
                return;
        }
        struct pit8254_channel *ch = &pit->channel[index];
        uint8_t access = (v >> 4) & 3;
        if (access == ACCESS_LATCH) {
                latch_count(ch, now);
                return;
        }
        uint8_t mode = (v >> 1) & 7;
        ch->mode = mode > 5 ? mode - 4 : mode; /* 6 and 7 alias 2 and 3 */
        ch->access = access;
        ch->bcd = v & 1;
        ch->counting = false;
        ch->paused = false;
        ch->paused_ticks = 0;
        ch->null_count = true;
        ch->write_msb_next = ch->read_msb_next = false;
        ch->latched_count_valid = ch->latched_status_valid = false;
        if (index == 0)
                pit->next_irq_ns = UINT64_MAX;
}

/* Shifts start_ns so that `ticks` clocks have elapsed at now. */
static void resume_at(struct pit8254_channel *ch, uint64_t ticks, uint64_t now)
{
        uint64_t ns = time_of_tick(0, ticks);
        ch->start_ns = now > ns ? now - ns : 0;
        ch->paused = false;
        ch->paused_ticks = 0;
}

static void gate_fell(struct pit8254_channel *ch, uint64_t now)
{
        if (ch->mode == 1 || ch->mode == 5 || ch->paused)
                return; /* triggered modes ignore the gate's level */
        ch->paused_ticks = ticks_between(ch->start_ns, now);
        ch->paused = true;
}

static void gate_rose(struct pit8254_channel *ch, uint64_t now)
{
        if (ch->mode == 0 || ch->mode == 4) {
                if (ch->paused)
                        resume_at(ch, ch->paused_ticks, now);
                return;
        }
        resume_at(ch, 0, now); /* modes 1, 2, 3, 5: the edge reloads the count */
}

void pit8254__set_gate(struct pit8254 *pit, unsigned index, bool level)
{
        if (index > 2 || pit->channel[index].gate == level)
                return;
        struct pit8254_channel *ch = &pit->channel[index];
        uint64_t now = environment__monotonic_ns(pit->env);
        pit8254__advance(pit, now);
        ch->gate = level;
        if (ch->counting) {
                if (level)
                        gate_rose(ch, now);
                else
                        gate_fell(ch, now);
        }
        if (index == 0)
                schedule_irq(pit, now);
}

bool pit8254__gate(const struct pit8254 *pit, unsigned index)
{
        return index <= 2 && pit->channel[index].gate;
}

bool pit8254__output(struct pit8254 *pit, unsigned index)
{
        if (index > 2)
                return false;
        uint64_t now = environment__monotonic_ns(pit->env);
        pit8254__advance(pit, now);
        return output_level(&pit->channel[index], now);
}

int pit8254__io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
        struct pit8254 *pit = opaque;
        if (size != 1 || offset > CONTROL_PORT)
                return -EINVAL;
        uint64_t now = environment__monotonic_ns(pit->env);
        /* IRQ 0 for a period is raised before the guest can see the counter
         * reloaded for the next one, so a tick-plus-counter clock never
         * steps back (PLATFORM.md). */
        pit8254__advance(pit, now);
        if (offset == CONTROL_PORT) {
                if (is_write)
                        write_control(pit, data[0], now);
                else
                        data[0] = 0xff; /* the control register is write-only */
                return 0;
        }
        if (is_write)
                write_counter(pit, (unsigned)offset, data[0], now);
        else
                data[0] = read_counter(&pit->channel[offset], now);
        return 0;
}

static void save_channel(const struct pit8254_channel *ch, struct state_writer *w)
{
        state_writer__u8(w, ch->mode);
        state_writer__u8(w, ch->access);
        state_writer__bool(w, ch->bcd);
        state_writer__bool(w, ch->gate);
        state_writer__u32(w, ch->reload);
        state_writer__u64(w, ch->start_ns);
        state_writer__bool(w, ch->counting);
        state_writer__bool(w, ch->write_msb_next);
        state_writer__bool(w, ch->read_msb_next);
        state_writer__u8(w, ch->write_lsb);
        state_writer__bool(w, ch->latched_count_valid);
        state_writer__u16(w, ch->latched_count);
        state_writer__bool(w, ch->latched_msb_next);
        state_writer__bool(w, ch->latched_status_valid);
        state_writer__u8(w, ch->latched_status);
        state_writer__bool(w, ch->null_count);
        state_writer__bool(w, ch->paused);
        state_writer__u64(w, ch->paused_ticks);
}

static void load_channel(struct pit8254_channel *ch, struct state_reader *r, unsigned index)
{
        ch->mode = state_reader__u8(r);
        ch->access = state_reader__u8(r);
        ch->bcd = state_reader__bool(r);
        ch->gate = state_reader__bool(r);
        ch->reload = state_reader__u32(r);
        ch->start_ns = state_reader__u64(r);
        ch->counting = state_reader__bool(r);
        ch->write_msb_next = state_reader__bool(r);
        ch->read_msb_next = state_reader__bool(r);
        ch->write_lsb = state_reader__u8(r);
        ch->latched_count_valid = state_reader__bool(r);
        ch->latched_count = state_reader__u16(r);
        ch->latched_msb_next = state_reader__bool(r);
        ch->latched_status_valid = state_reader__bool(r);
        ch->latched_status = state_reader__u8(r);
        ch->null_count = state_reader__bool(r);
        ch->paused = state_reader__bool(r);
        ch->paused_ticks = state_reader__u64(r);
        if (ch->mode > 5)
                state_reader__fail(r, "PIT channel %u mode %u out of range", index, ch->mode);
        if (ch->access < ACCESS_LSB || ch->access > ACCESS_WORD)
                state_reader__fail(r, "PIT channel %u access mode %u out of range", index, ch->access);
        if (ch->reload < 1 || ch->reload > 65536)
                state_reader__fail(r, "PIT channel %u reload %u out of range", index, ch->reload);
        if (ch->paused && (!ch->counting || ch->gate))
                state_reader__fail(r, "PIT channel %u paused without a count or with its gate high", index);
        if (!ch->paused && ch->paused_ticks)
                state_reader__fail(r, "PIT channel %u has paused clocks but is not paused", index);
}

int pit8254__save(const struct pit8254 *pit, struct state_writer *w)
{
        state_writer__begin(w, "PIT ", 2); /* 2: gate pause */
        for (unsigned i = 0; i < 3; i++)
                save_channel(&pit->channel[i], w);
        state_writer__u64(w, pit->next_irq_ns);
        state_writer__u64(w, pit->irqs_raised);
        return state_writer__end(w);
}

int pit8254__load(struct pit8254 *pit, struct state_reader *r)
{
        struct pit8254 loaded = *pit; /* keeps env and irq0 */
        if (state_reader__begin(r, "PIT ", 2))
                return -EINVAL;
        for (unsigned i = 0; i < 3; i++)
                load_channel(&loaded.channel[i], r, i);
        loaded.next_irq_ns = state_reader__u64(r);
        loaded.irqs_raised = state_reader__u64(r);
        if (state_reader__end(r))
                return -EINVAL;
        *pit = loaded;
        return 0;
}

/* Shifting every stored time by the same amount keeps every counter value
 * and deadline as the guest would see them, now - from_ns after from_ns. */
void pit8254__rebase(struct pit8254 *pit, uint64_t from_ns, uint64_t to_ns)
{
        for (unsigned i = 0; i < 3; i++)
                pit->channel[i].start_ns += to_ns - from_ns;
        if (pit->next_irq_ns != UINT64_MAX)
                pit->next_irq_ns += to_ns - from_ns;
}
