/* wasic.h: the C API of libraries built with `wasic build --lib`, implemented by the runtime
 * library (rt/src/capi.rs). This file is its one declaration: `wasic build --lib --header`
 * embeds it verbatim into the header it generates, the shared library's export list is the
 * functions declared here, and rt's tests check that these prototypes are exactly the
 * functions rt/src/capi.rs defines, with the same C types.
 *
 * Every function reports failure through its return value (WASIC_OK, WASIC_TRAP, ...) and
 * wasic_last_error() describes the last failure of the calling thread: a trap never takes the
 * host process down. Each function's name starts with `wasic_` and is directly followed by its
 * parameter list: that is how the export list is read from this file.
 *
 * The library's module was compiled when the library was built: creating instances compiles
 * nothing, so there is no compile cache to configure here (embedders compiling modules at run
 * time use the Rust API's wasic_runtime::cache). */
#ifndef WASIC_API_DECLARED
#define WASIC_API_DECLARED

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wasic_config wasic_config_t;
typedef struct wasic_instance wasic_instance_t;

/* One value cell: parameters in, results out (see wasic_instance_call). */
typedef union wasic_val {
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
    uint8_t v128[16];
} __attribute__((aligned(16))) wasic_val_t;

enum {
    WASIC_OK = 0,    /* success */
    WASIC_TRAP = 1,  /* the wasm code trapped; the instance must not be used further */
    WASIC_EXIT = 2,  /* the program called proc_exit outside of _start */
    WASIC_ERROR = 3  /* any other failure (bad use of the API, resources, ...) */
};

/* Description of the last failure on this thread (valid until the next failing call). */
const char *wasic_last_error(void);

/* WASI grants of instances to create. */
wasic_config_t *wasic_config_new(void);
void wasic_config_free(wasic_config_t *cfg);
void wasic_config_arg(wasic_config_t *cfg, const char *arg);           /* argv[0] first */
void wasic_config_env(wasic_config_t *cfg, const char *name, const char *value);
/* Grants host_path to the guest as guest_path (NULL: the same path). */
void wasic_config_dir(wasic_config_t *cfg, const char *host_path, const char *guest_path);
void wasic_config_stdio(wasic_config_t *cfg, int stdin_fd, int stdout_fd, int stderr_fd);
/* Caps the instance's linear memory (memory.grow beyond it fails). */
void wasic_config_max_memory(wasic_config_t *cfg, uint64_t bytes);

/* Instances: any number may live at once; each is used by one thread at a time. */
wasic_instance_t *wasic_instance_new(const wasic_config_t *cfg); /* NULL on failure */
void wasic_instance_free(wasic_instance_t *inst);
/* Reactors: runs _initialize (if exported). Exactly once; a second call fails. */
int wasic_instance_initialize(wasic_instance_t *inst);
/* Commands: runs _start; *exit_code gets 0 or the proc_exit code (the host does not exit). */
int wasic_instance_start(wasic_instance_t *inst, int *exit_code);
/* Calls an export by name: params in values[0..], results written to values[0..]; nvalues is
 * at least the larger of the two counts. */
int wasic_instance_call(wasic_instance_t *inst, const char *name, wasic_val_t *values, size_t nvalues);
/* The exported memory "memory" (NULL if none); *len gets its current size in bytes. Memories
 * never move, so the pointer stays valid as the memory grows. */
uint8_t *wasic_instance_memory(wasic_instance_t *inst, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* WASIC_API_DECLARED */
