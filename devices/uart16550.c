#include "uart16550.h"

#include <errno.h>
#include <string.h>

#define REG_DATA 0   /* RBR / THR, DLL with DLAB */
#define REG_IER 1    /* DLM with DLAB */
#define REG_IIR 2    /* FCR on write */
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define REG_MSR 6
#define REG_SCR 7

#define IER_RX 0x01
#define IER_THRE 0x02
#define IER_LINE 0x04
#define IER_MODEM 0x08
#define IIR_NONE 0x01
#define IIR_LINE 0x06
#define IIR_RX 0x04
#define IIR_THRE 0x02
#define IIR_MODEM 0x00
#define IIR_FIFO_ON 0xc0
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_DELTA_MASK 0x0f

static uint8_t interrupt_id(const struct uart16550 *u)
{
        if ((u->ier & IER_LINE) && u->overrun)
                return IIR_LINE;
        if ((u->ier & IER_RX) && u->rx_count)
                return IIR_RX;
        if ((u->ier & IER_THRE) && u->thr_interrupt_pending)
                return IIR_THRE;
        if ((u->ier & IER_MODEM) && (u->msr & MSR_DELTA_MASK))
                return IIR_MODEM;
        return IIR_NONE;
}

/* A PC gates the UART's interrupt output with OUT2. */
static void update_irq(struct uart16550 *u)
{
        irq_line__set(&u->irq, interrupt_id(u) != IIR_NONE && (u->mcr & MCR_OUT2));
}

void uart16550__reset(struct uart16550 *u)
{
        u->ier = u->iir_fifo_bits = u->fcr = u->lcr = u->mcr = u->msr = u->scr = 0;
        u->dll = 0x0c; /* 9600 baud */
        u->dlm = 0;
        u->thr_interrupt_pending = false;
        u->rx_head = u->rx_count = 0;
        u->overrun = false;
        update_irq(u);
}

void uart16550__init(struct uart16550 *u, struct irq_line irq, struct output_sink out)
{
        memset(u, 0, sizeof(*u));
        u->irq = irq;
        u->out = out;
        uart16550__reset(u);
}

static size_t rx_push(struct uart16550 *u, const uint8_t *bytes, size_t count)
{
        size_t accepted = 0;
        while (accepted < count && u->rx_count < UART16550_FIFO_SIZE) {
                u->rx_fifo[(u->rx_head + u->rx_count) % UART16550_FIFO_SIZE] = bytes[accepted++];
                u->rx_count++;
        }
        if (accepted < count)
                u->overrun = true; /* the datasheet's OE: a byte arrived to a full FIFO */
        return accepted;
}

size_t uart16550__receive(struct uart16550 *u, const uint8_t *bytes, size_t count)
{
        size_t accepted = rx_push(u, bytes, count);
        update_irq(u);
        return accepted;
}

static uint8_t rx_pop(struct uart16550 *u)
{
        if (!u->rx_count)
                return 0;
        uint8_t b = u->rx_fifo[u->rx_head];
        u->rx_head = (uint8_t)((u->rx_head + 1) % UART16550_FIFO_SIZE);
        u->rx_count--;
        return b;
}

static void transmit(struct uart16550 *u, uint8_t byte)
{
        if (u->mcr & MCR_LOOP)
                rx_push(u, &byte, 1);
        else
                output_sink__write(&u->out, &byte, 1);
        /* Transmission is immediate, so the holding register is empty again. */
        u->thr_interrupt_pending = true;
}

/* In loopback the modem outputs drive the modem inputs: RTS->CTS, DTR->DSR,
 * OUT1->RI, OUT2->DCD. */
static uint8_t modem_status(const struct uart16550 *u)
{
        if (!(u->mcr & MCR_LOOP))
                return u->msr;
        uint8_t m = u->mcr;
        return (uint8_t)((u->msr & MSR_DELTA_MASK) | (m & MCR_RTS) << 3 | (m & MCR_DTR) << 5 |
                         (m & MCR_OUT1) << 4 | (m & MCR_OUT2) << 4);
}

static void write_fcr(struct uart16550 *u, uint8_t v)
{
        if (v & FCR_CLEAR_RX)
                u->rx_head = u->rx_count = 0;
        u->fcr = v & 0xc9; /* trigger level, DMA mode and enable are stored */
        u->iir_fifo_bits = (v & FCR_ENABLE) ? IIR_FIFO_ON : 0;
}

static void write_register(struct uart16550 *u, unsigned reg, uint8_t v)
{
        bool dlab = u->lcr & LCR_DLAB;
        switch (reg) {
        case REG_DATA:
                if (dlab)
                        u->dll = v;
                else
                        transmit(u, v);
                break;
        case REG_IER:
                if (dlab) {
                        u->dlm = v;
                } else {
                        /* Enabling THRE interrupts with THR empty raises one. */
                        if ((v & IER_THRE) && !(u->ier & IER_THRE))
                                u->thr_interrupt_pending = true;
                        u->ier = v & 0x0f;
                }
                break;
        case REG_IIR: write_fcr(u, v); break;
        case REG_LCR: u->lcr = v; break;
        case REG_MCR: u->mcr = v & 0x1f; break;
        case REG_LSR: break; /* factory test register: writes ignored */
        case REG_MSR: break;
        case REG_SCR: u->scr = v; break;
        }
        update_irq(u);
}

static uint8_t read_register(struct uart16550 *u, unsigned reg)
{
        bool dlab = u->lcr & LCR_DLAB;
        uint8_t v = 0;
        switch (reg) {
        case REG_DATA: v = dlab ? u->dll : rx_pop(u); break;
        case REG_IER: v = dlab ? u->dlm : u->ier; break;
        case REG_IIR:
                v = (uint8_t)(interrupt_id(u) | u->iir_fifo_bits);
                if (interrupt_id(u) == IIR_THRE)
                        u->thr_interrupt_pending = false;
                break;
        case REG_LCR: v = u->lcr; break;
        case REG_MCR: v = u->mcr; break;
        case REG_LSR:
                v = (uint8_t)(LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0) |
                              (u->overrun ? LSR_OE : 0));
                u->overrun = false;
                break;
        case REG_MSR:
                v = modem_status(u);
                u->msr &= (uint8_t)~MSR_DELTA_MASK;
                break;
        case REG_SCR: v = u->scr; break;
        }
        update_irq(u);
        return v;
}

int uart16550__io(void *opaque, uint64_t offset, uint8_t *data, uint32_t size, bool is_write)
{
        struct uart16550 *u = opaque;
        if (size != 1 || offset > REG_SCR)
                return -EINVAL;
        if (is_write)
                write_register(u, (unsigned)offset, data[0]);
        else
                data[0] = read_register(u, (unsigned)offset);
        return 0;
}

int uart16550__save(const struct uart16550 *u, struct state_writer *w)
{
        state_writer__begin(w, "UART", 1);
        uint8_t regs[] = { u->ier, u->iir_fifo_bits, u->fcr, u->lcr, u->mcr, u->msr,
                           u->scr, u->dll, u->dlm, u->rx_head, u->rx_count };
        state_writer__bytes(w, regs, sizeof(regs));
        state_writer__bool(w, u->thr_interrupt_pending);
        state_writer__bool(w, u->overrun);
        state_writer__bytes(w, u->rx_fifo, sizeof(u->rx_fifo));
        return state_writer__end(w);
}

int uart16550__load(struct uart16550 *u, struct state_reader *r)
{
        struct uart16550 l = *u; /* keeps irq and out */
        if (state_reader__begin(r, "UART", 1))
                return -EINVAL;
        uint8_t regs[11];
        state_reader__bytes(r, regs, sizeof(regs));
        l.ier = regs[0]; l.iir_fifo_bits = regs[1]; l.fcr = regs[2]; l.lcr = regs[3];
        l.mcr = regs[4]; l.msr = regs[5]; l.scr = regs[6]; l.dll = regs[7]; l.dlm = regs[8];
        l.rx_head = regs[9]; l.rx_count = regs[10];
        l.thr_interrupt_pending = state_reader__bool(r);
        l.overrun = state_reader__bool(r);
        state_reader__bytes(r, l.rx_fifo, sizeof(l.rx_fifo));
        if (l.rx_count > UART16550_FIFO_SIZE || l.rx_head >= UART16550_FIFO_SIZE)
                state_reader__fail(r, "UART receive FIFO head %u count %u out of range",
                                   l.rx_head, l.rx_count);
        if (l.ier > 0x0f || l.mcr > 0x1f || (l.iir_fifo_bits != 0 && l.iir_fifo_bits != IIR_FIFO_ON))
                state_reader__fail(r, "UART register value out of range (ier 0x%x mcr 0x%x)",
                                   l.ier, l.mcr);
        if (state_reader__end(r))
                return -EINVAL;
        *u = l;
        update_irq(u);
        return 0;
}
