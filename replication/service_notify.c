#include "service_notify.h"

#include <stdio.h>
#include <systemd/sd-daemon.h>

void service_notify__ready(const char *status)
{
        char message[600];
        snprintf(message, sizeof(message), "READY=1\nSTATUS=%s", status);
        sd_notify(0, message);
}

void service_notify__status(const char *status)
{
        char message[600];
        snprintf(message, sizeof(message), "STATUS=%s", status);
        sd_notify(0, message);
}
