/* Telling a service manager how the replica stands (systemd's sd_notify,
 * Type=notify units): READY=1 once a backup is in sync (or a primary is
 * running), and each event as the unit's STATUS=. Without a manager
 * (NOTIFY_SOCKET unset) these do nothing. */
#ifndef FTVMM_SERVICE_NOTIFY_H
#define FTVMM_SERVICE_NOTIFY_H

void service_notify__ready(const char *status);
void service_notify__status(const char *status);

#endif
