/* The guest kernel's internal interfaces, one line per file that owns them. */
#ifndef GUEST_KERNEL_H
#define GUEST_KERNEL_H

#include <stddef.h>
#include <stdint.h>

/* cpu_tables.c */
void cpu_tables_init(void);
void cpu_set_irq_gate(unsigned irq, void (*handler)(void));
void cpu_load_empty_idt(void);

/* console.c: COM1, polled */
void console_init(void);
void console_write(const char *buf, size_t len);

/* kprint.c: the little formatting the kernel itself needs */
void kprint(const char *s);
void kprint_dec(uint64_t value);
void kprint_hex(uint64_t value);

/* boot_info.c: hvm_start_info */
void boot_info_read(uint32_t start_info_paddr);
const char *boot_cmdline(void);
size_t boot_cmdline_length(void);
int boot_has_acpi(void);

/* pic.c */
void pic_init(void);
void pic_unmask(unsigned irq);
int pic_timer_pending(void);
void pic_connect_to_cpu(void);

/* pit.c: channel 0 and the tick count */
extern volatile uint64_t timer_ticks;
void pit_set_reload(uint32_t reload);
uint32_t pit_read_count(void);

/* clock.c: guest monotonic time */
void clock_init(void);
uint64_t clock_now_ns(void);
int clock_set_hz(uint64_t hz);
uint64_t clock_wait_tick(void);

/* rtc.c */
void rtc_read_boot_time(void);
uint64_t rtc_boot_unix_time(void);

/* virtio_blk.c: the disk, if the command line names one */
struct blk_req;
struct blk_done;
struct blk_info;
void virtio_blk_probe(void);
long virtio_blk_submit(const struct blk_req *reqs, long n);
long virtio_blk_wait(struct blk_done *out, long max);
long virtio_blk_poll(struct blk_done *out, long max);
long virtio_blk_info(struct blk_info *info);
extern volatile uint64_t virtio_blk_interrupts;
extern volatile uint32_t *virtio_blk_ack;

/* machine.c: leaving the machine */
_Noreturn void machine_exit(uint32_t status);
void machine_crash(uint64_t how);

/* trap.c, syscall.c: entered from vectors.S */
struct trap_frame {
        uint64_t vector, error, rip, cs, rflags, rsp, ss;
};
_Noreturn void trap_report(const struct trap_frame *frame);
long syscall_dispatch(long a0, long a1, long a2, long number);

/* vectors.S */
extern const uint64_t exception_stubs[32];
void irq_timer(void);
void irq_ignore(void);
void irq_virtio_master(void);
void irq_virtio_slave(void);
void syscall_entry(void);
_Noreturn void enter_user(void (*entry)(void), void *stack);

/* The workload linked into this image (user/crt0.S, workloads/). */
void user_start(void);
extern char user_stack_top[];
extern const char workload_name[];

#endif
