// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi-bench: speed of each layer next to the physical limit measured in
 * the same run (memcpy, a dependent load).  Prints markdown table rows;
 * scripts/bench assembles BENCHMARKS.md.
 *
 *   qvmi-bench [--qmp PATH] [--gdb PATH] [--qmp-anon PATH] [--quick] [SECTION...]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

int bench_quick;

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

uint64_t bench_rand(uint64_t *state)
{
	uint64_t x = *state; /* xorshift64 */

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

void bench_row(const char *what, double value, const char *unit, double limit,
	       const char *limit_what, const char *goal)
{
	if (limit > 0)
		printf("| %s | %.3g %s | %.3g %s (%s) | %.2f | %s |\n", what,
		       value, unit, limit, unit, limit_what, value / limit,
		       goal ? goal : "");
	else
		printf("| %s | %.3g %s | | | %s |\n", what, value, unit,
		       goal ? goal : "");
	fflush(stdout);
}

/* ---- the physical limit ---------------------------------------------- */

static volatile uint64_t bench_sink;

double bench_memcpy_gibs(size_t total)
{
	size_t chunk = 1 << 20, n = 64u << 20;
	uint8_t *src = malloc(n), *dst = malloc(chunk);
	double t0, t;
	size_t done = 0, off = 0;

	if (!src || !dst)
		exit(1);
	memset(src, 1, n);
	memset(dst, 0, chunk);
	t0 = bench_now();
	while (done < total) {
		memcpy(dst, src + off, chunk);
		bench_sink += dst[off % chunk];
		off = (off + chunk) % n;
		done += chunk;
	}
	t = bench_now() - t0;
	free(src);
	free(dst);
	return (double)total / t / (1u << 30);
}

/* Random 8-byte loads from a buffer as big as a small guest: the cost of a
 * cache/TLB miss, which a random guest read can never beat. */
double bench_random_load_ns(size_t size, size_t iters)
{
	uint8_t *buf = malloc(size);
	uint64_t st = 88172645463325252ull, v = 0;
	double t0;
	size_t i;

	if (!buf)
		exit(1);
	memset(buf, 3, size);
	t0 = bench_now();
	for (i = 0; i < iters; i++) {
		uint64_t off = bench_rand(&st) % (size - 8);
		uint64_t x;

		memcpy(&x, buf + off, 8);
		v += x;
	}
	t0 = bench_now() - t0;
	bench_sink += v;
	free(buf);
	return t0 * 1e9 / (double)iters;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void bench_sort(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
}

/* pmem first: its hole row needs pages the guest never touched, and the
 * sources section's procmem pass allocates every hole of the RAM file
 * (a read fault on a shared tmpfs mapping allocates the page; shm and
 * pmemaccess read holes without allocating them). */
static const struct bench_section sections[] = {
	{ "pmem", bench_pmem },	      { "pmem-load", bench_pmem_load_guest },
	{ "sources", bench_sources }, { "paging", bench_paging },
	{ "linux", bench_linux },     { "gdb", bench_gdb },
	{ "session", bench_session }, { "tls", bench_tls },
	{ "python", bench_python },   { "kvmi", bench_kvmi },
	{ "scale", bench_scale },     { "dump", bench_dump },
	{ "libvirt", bench_libvirt }, { "anon", bench_anon },
};

const char *bench_qmp_anon;

int main(int argc, char **argv)
{
	const char *qmp = NULL;
	int i, nsel = 0, rc = 0;
	const char *sel[16];
	size_t s;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--qmp") && i + 1 < argc)
			qmp = argv[++i];
		else if (!strcmp(argv[i], "--gdb") && i + 1 < argc)
			bench_gdb_path = argv[++i];
		else if (!strcmp(argv[i], "--qmp-anon") && i + 1 < argc)
			bench_qmp_anon = argv[++i];
		else if (!strcmp(argv[i], "--quick"))
			bench_quick = 1;
		else if (nsel < 16)
			sel[nsel++] = argv[i];
	}
	for (s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
		int want = !nsel;

		for (i = 0; i < nsel; i++)
			want |= !strcmp(sel[i], sections[s].name);
		if (want && sections[s].fn(qmp) < 0)
			rc = 1;
	}
	return rc;
}
