/* topology.c -- the C side of topology: where the calling thread runs, and pinning it.
 * Reading NUMA layout from sysfs is done in Python (aioultra/_topology.py); the engine
 * receives the result as a CPU -> node map and a planned CPU per worker. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>

#include "aioultra.h"

int32_t aio_current_cpu(void) {
    int cpu = sched_getcpu();
    return cpu < 0 ? -1 : (int32_t)cpu;
}

int aio_pin_current_thread(int32_t cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return AIO_EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0 ? AIO_OK : AIO_ESYS;
}
