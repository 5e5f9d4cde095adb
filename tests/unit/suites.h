/* One Check suite per module; main.c runs them all. */
#ifndef FTVMM_TEST_SUITES_H
#define FTVMM_TEST_SUITES_H

#include <check.h>

Suite *make_io_bus_suite(void);
Suite *make_state_record_suite(void);
Suite *make_pic8259_suite(void);
Suite *make_pit8254_suite(void);
Suite *make_cmos_rtc_suite(void);
Suite *make_uart16550_suite(void);
Suite *make_debug_exit_suite(void);
Suite *make_post_port_suite(void);
Suite *make_nmi_sc_suite(void);
Suite *make_pci_conf1_suite(void);
Suite *make_pvh_loader_suite(void);
Suite *make_host_kvm_suite(void);
Suite *make_machine_suite(void);
Suite *make_options_suite(void);
Suite *make_snapshot_suite(void);
Suite *make_checkpoint_suite(void);
Suite *make_log_reader_suite(void);
Suite *make_log_writer_suite(void);
Suite *make_output_commit_suite(void);
Suite *make_session_suite(void);
Suite *make_log_layout_suite(void);
Suite *make_compression_suite(void);
Suite *make_cpu_model_suite(void);
Suite *make_machine_description_suite(void);
Suite *make_pair_wire_suite(void);
Suite *make_arbiter_directory_suite(void);
Suite *make_pair_link_suite(void);
Suite *make_virtio_blk_suite(void);
Suite *make_block_file_suite(void);
Suite *make_machine_disk_suite(void);
Suite *make_status_server_suite(void);
Suite *make_log_queue_suite(void);
Suite *make_primary_protocol_suite(void);
Suite *make_backup_protocol_suite(void);
Suite *make_session_primary_suite(void);

#endif
