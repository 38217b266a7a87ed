// Runs a command built with --lib: _start's proc_exit code comes back instead of exiting.
#include <stdio.h>
#include "command.h"
int main(void) {
    wasic_instance_t *inst = wasic_instance_new(NULL);
    if (!inst) { printf("FAIL new: %s\n", wasic_last_error()); return 1; }
    int code = -1;
    fflush(stdout);
    int rc = wasic_instance_start(inst, &code);
    printf("start: rc=%d exit code=%d\n", rc, code);
    wasic_instance_free(inst);
    printf("host done\n");
    return 0;
}
