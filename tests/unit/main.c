/* Runs every unit suite. An optional argument names one suite to run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"

static const struct {
        const char *name;
        Suite *(*make)(void);
} suites[] = {
        { "io_bus", make_io_bus_suite },
        { "state_record", make_state_record_suite },
        { "pic8259", make_pic8259_suite },
        { "pit8254", make_pit8254_suite },
        { "cmos_rtc", make_cmos_rtc_suite },
        { "uart16550", make_uart16550_suite },
        { "debug_exit", make_debug_exit_suite },
        { "post_port", make_post_port_suite },
        { "nmi_sc", make_nmi_sc_suite },
        { "pci_conf1", make_pci_conf1_suite },
        { "pvh_loader", make_pvh_loader_suite },
        { "host_kvm", make_host_kvm_suite },
        { "machine", make_machine_suite },
        { "options", make_options_suite },
        { "snapshot", make_snapshot_suite },
        { "checkpoint", make_checkpoint_suite },
        { "log_reader", make_log_reader_suite },
        { "log_writer", make_log_writer_suite },
        { "output_commit", make_output_commit_suite },
        { "session", make_session_suite },
        { "log_layout", make_log_layout_suite },
        { "compression", make_compression_suite },
        { "cpu_model", make_cpu_model_suite },
        { "machine_description", make_machine_description_suite },
        { "pair_wire", make_pair_wire_suite },
        { "arbiter_directory", make_arbiter_directory_suite },
        { "pair_link", make_pair_link_suite },
        { "virtio_blk", make_virtio_blk_suite },
        { "block_file", make_block_file_suite },
        { "machine_disk", make_machine_disk_suite },
        { "status_server", make_status_server_suite },
        { "log_queue", make_log_queue_suite },
        { "primary_protocol", make_primary_protocol_suite },
        { "backup_protocol", make_backup_protocol_suite },
        { "session_primary", make_session_primary_suite },
};

int main(int argc, char **argv)
{
        const char *only = argc > 1 ? argv[1] : NULL;
        SRunner *runner = NULL;

        for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
                if (only && strcmp(only, suites[i].name) != 0)
                        continue;
                if (!runner)
                        runner = srunner_create(suites[i].make());
                else
                        srunner_add_suite(runner, suites[i].make());
        }
        if (!runner) {
                fprintf(stderr, "unit-tests: no suite named '%s'\n", only);
                return 2;
        }
        srunner_run_all(runner, CK_NORMAL);
        int failed = srunner_ntests_failed(runner);
        srunner_free(runner);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
