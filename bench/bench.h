/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef QVMI_BENCH_H
#define QVMI_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "qvmi.h"

extern int bench_quick;

struct bench_section {
	const char *name;
	int (*fn)(const char *qmp);
};

double bench_now(void);
/* ms from posix_spawn to exit of argv (stdout to /dev/null, environment
 * envp), the child's CPU ms into *cpu; -1 if it failed (bench-linux.c). */
double bench_spawn_ms(char *const argv[], char *const envp[], double *cpu);
/* Ascending, in place. */
void bench_sort(double *v, size_t n);
/* The breakpoint round trip (bench-gdb.c), also used by bench-session.c. */
int bench_bp_round_trips(struct qvmi_ctx *ctx, uint64_t addr, double *lat,
			 int n);
uint64_t bench_rand(uint64_t *state);
/* One markdown row: | what | value unit | limit | ratio | goal | */
void bench_row(const char *what, double value, const char *unit, double limit,
	       const char *limit_what, const char *goal);
double bench_memcpy_gibs(size_t total);
double bench_random_load_ns(size_t size, size_t iters);

int bench_sources(const char *qmp);
int bench_paging(const char *qmp);
int bench_pmem(const char *qmp);
int bench_gdb(const char *qmp);
extern const char *bench_gdb_path;
/* --qmp-anon: a guest with anonymous RAM (section anon) */
extern const char *bench_qmp_anon;
int bench_anon(const char *qmp);
int bench_linux(const char *qmp);
int bench_scale(const char *qmp); /* bench-scale.c: no guest needed */
/* bench-pmem-load.c: qvmid's pmem server on ctx (mapping fd) under 32
 * clients, next to a thread-per-connection server (issue 18 item 4). */
int bench_pmem_load(struct qvmi_ctx *ctx, int fd, uint64_t size,
		    const char *goal);
int bench_pmem_load_guest(const char *qmp); /* the same on a guest */
int bench_session(const char *qmp); /* bench-session.c; uses --gdb */
/* bench-tls.c: a session over TCP with TLS vs plain; uses --gdb */
int bench_tls(const char *qmp);
int bench_dump(const char *qmp); /* bench-dump.c */
/* bench-python.c: the binding (python/) next to the C calls */
int bench_python(const char *qmp);
int bench_kvmi(const char *qmp); /* bench-kvmi.c; --gdb: breakpoints */
/* bench-libvirt.c: --domain vs --qmp; its VM from the environment */
int bench_libvirt(const char *qmp);

#endif
