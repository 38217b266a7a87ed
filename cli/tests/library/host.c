// A C host program linking a reactor library built by `wasic build --lib`: two instances,
// exports called on both, a trap coming back as an error value while the host goes on.
#include <stdio.h>
#include <string.h>
#include "reactor.h"

#define CHECK(x) do { int rc_ = (x); if (rc_ != WASIC_OK) { printf("FAIL %s: %d %s\n", #x, rc_, wasic_last_error()); return 1; } } while (0)

int main(void) {
    wasic_config_t *cfg = wasic_config_new();
    wasic_config_arg(cfg, "reactor");
    wasic_instance_t *a = wasic_instance_new(cfg);
    wasic_instance_t *b = wasic_instance_new(cfg);
    if (!a || !b) { printf("FAIL new: %s\n", wasic_last_error()); return 1; }
    CHECK(wasic_instance_initialize(a));
    CHECK(wasic_instance_initialize(b));
    int rc = wasic_instance_initialize(a);
    printf("second initialize: %d %s\n", rc, strstr(wasic_last_error(), "already initialized") ? "already initialized" : wasic_last_error());
    CHECK(reactor_bump(a));
    CHECK(reactor_bump(a));
    int32_t x = 0, y = 0;
    CHECK(reactor_add(a, 1, 2, &x));
    CHECK(reactor_add(b, 1, 2, &y));
    printf("a.add=%d b.add=%d\n", x, y);
    int64_t g = 0;
    CHECK(reactor_get(a, &g));
    printf("a.get=%lld\n", (long long)g);
    double h = 0;
    CHECK(reactor_half(b, 9.0, &h));
    printf("b.half=%g\n", h);
    fflush(stdout);
    CHECK(reactor_greet(b));
    int32_t z = 0;
    rc = reactor_boom(a, 1, &z);
    printf("boom: rc=%d trap=%s\n", rc, strstr(wasic_last_error(), "unreachable") ? "unreachable" : wasic_last_error());
    CHECK(reactor_boom(b, 0, &z));
    printf("b still works: %d\n", z);
    size_t len = 0;
    uint8_t *mem = wasic_instance_memory(b, &len);
    printf("memory: %s, %zu bytes\n", mem ? "yes" : "no", len);
    rc = wasic_instance_call(b, "nope", NULL, 0);
    printf("unknown export: rc=%d\n", rc);
    wasic_instance_free(a);
    wasic_instance_free(b);
    wasic_config_free(cfg);
    printf("host done\n");
    return 0;
}
