/* COM1 (16550 at 0x3f8), transmit only and polled. A port access is a VM
 * exit, so the driver reads LSR once per burst and, when the transmitter is
 * empty, writes a whole FIFO's worth (16 bytes) without looking again: 17
 * exits per 16 bytes. No baud-rate or line setup: emulated UARTs ignore it
 * and it would cost 4 exits. Bytes go out unchanged (no \n -> \r\n). */
#include "io.h"
#include "kernel.h"

#define COM1     0x3f8
#define UART_THR (COM1 + 0)
#define UART_FCR (COM1 + 2)
#define UART_LSR (COM1 + 5)
#define FCR_ENABLE_AND_CLEAR 0x07
#define LSR_THRE 0x20
#define UART_FIFO_BYTES 16

void console_init(void)
{
        outb(UART_FCR, FCR_ENABLE_AND_CLEAR);
}

static void wait_transmitter_empty(void)
{
        while (!(inb(UART_LSR) & LSR_THRE))
                ;
}

void console_write(const char *buf, size_t len)
{
        while (len > 0) {
                size_t burst = len < UART_FIFO_BYTES ? len : UART_FIFO_BYTES;
                wait_transmitter_empty();
                for (size_t i = 0; i < burst; i++)
                        outb(UART_THR, (uint8_t)buf[i]);
                buf += burst;
                len -= burst;
        }
}
