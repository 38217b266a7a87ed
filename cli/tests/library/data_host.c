// A host of the data_reader library: calls `first_bytes` on an instance with no grants (the
// library's embedded /data serves it), then on one granting a host directory at /data, which
// replaces the embedded one; argv[1] is that directory. Each time it also prints what the
// initialiser read, if the library was built with --preinit.
#include <stdio.h>
#include "data_reader.h"

int main(int argc, char **argv) {
    for (int i = 0; i < 2; i++) {
        wasic_config_t *cfg = wasic_config_new();
        if (i == 1) wasic_config_dir(cfg, argv[1], "/data");
        wasic_instance_t *inst = wasic_instance_new(cfg);
        if (!inst) { printf("FAIL new: %s\n", wasic_last_error()); return 1; }
        if (wasic_instance_initialize(inst) != WASIC_OK) { printf("FAIL init: %s\n", wasic_last_error()); return 1; }
        int32_t v = 0;
        if (data_reader_first_bytes(inst, &v) != WASIC_OK) { printf("FAIL call: %s\n", wasic_last_error()); return 1; }
        int32_t c = 0;
        if (data_reader_cached_bytes(inst, &c) != WASIC_OK) { printf("FAIL cached: %s\n", wasic_last_error()); return 1; }
        printf("%s: %.4s, at initialisation: %.4s\n", i == 0 ? "embedded" : "granted", (char *)&v,
               c == -1 ? "none" : (char *)&c);
        wasic_instance_free(inst);
        wasic_config_free(cfg);
    }
    return 0;
}
