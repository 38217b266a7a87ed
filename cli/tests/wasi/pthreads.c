/* A C program using POSIX threads: a contended mutex, a condition variable, thread-local
 * storage and join values. Debian's wasi-libc has no threads build and no <pthread.h>, so
 * the declarations below are those of wasi-libc's threads build (musl's wasm32 layout); the
 * program links against the wasi-libc that Rust's wasm32-wasip1-threads target ships. */
#include <stdint.h>
#include <stdio.h>

typedef struct __pthread *pthread_t;
typedef union { int __i[9]; volatile int __vi[9]; unsigned __s[9]; } pthread_attr_t;
typedef union { int __i[6]; volatile int __vi[6]; volatile void *volatile __p[6]; } pthread_mutex_t;
typedef union { int __i[12]; volatile int __vi[12]; void *__p[12]; } pthread_cond_t;
int pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
int pthread_join(pthread_t, void **);
int pthread_mutex_lock(pthread_mutex_t *);
int pthread_mutex_unlock(pthread_mutex_t *);
int pthread_cond_wait(pthread_cond_t *, pthread_mutex_t *);
int pthread_cond_broadcast(pthread_cond_t *);

static pthread_mutex_t lock;
static pthread_cond_t ready;
static int go;
static long counter;
static _Thread_local long mine;

static void *work(void *arg) {
    pthread_mutex_lock(&lock);
    while (!go)
        pthread_cond_wait(&ready, &lock);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < 100000; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        mine += (intptr_t)arg;
    }
    return (void *)(intptr_t)(mine / 100000);
}

int main(void) {
    pthread_t t[4];
    for (intptr_t i = 0; i < 4; i++)
        if (pthread_create(&t[i], 0, work, (void *)(i + 1)) != 0)
            return 1;
    pthread_mutex_lock(&lock);
    go = 1;
    pthread_cond_broadcast(&ready);
    pthread_mutex_unlock(&lock);
    long sum = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        sum += (intptr_t)r;
    }
    printf("counter %ld, thread-local sums %ld, main's own %ld\n", counter, sum, mine);
    return 0;
}
