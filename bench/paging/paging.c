// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Costs of guest-virtual access on a memcpy-speed source (a host mapping,
 * like shared RAM): a full 4-level walk, a translation-cache hit, random
 * 8-byte virtual reads, and sequential virtual reads against memcpy.
 * Builds synthetic page tables over 256 MiB mapped with 4 KiB pages.
 *
 * Standalone for now (kept out of the bench/*.c glob, which main's
 * bench/bench.c owns); build and run with
 *   make build/libqvmi.a && gcc -O2 -D_GNU_SOURCE -Iinclude -Isrc \
 *     bench/paging/paging.c build/libqvmi.a -o build/paging-bench && \
 *     build/paging-bench
 * Times are CPU time: the machine is shared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qvmi.h"
#include "core/internal.h"

enum { RAM = 256 << 20, PT_BASE = 0x100000, DATA = 16 << 20 };
#define VA_BASE 0x00007f0000000000ull

static uint8_t *ram;
static uint64_t next_table = PT_BASE;

static double now(void)
{
	struct timespec ts;

	/* CPU time: the machine is shared, wall time mostly measures others */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t table_for(uint64_t ea)
{
	uint64_t e;

	memcpy(&e, ram + ea, 8);
	if (!(e & 1)) {
		e = next_table | 7;
		next_table += 4096;
		memcpy(ram + ea, &e, 8);
	}
	return e & 0x000ffffffffff000ull;
}

/* Map [VA_BASE, VA_BASE + n pages) to DATA.. with 4 KiB pages, with the
 * physical pages shuffled so that neighbours are not contiguous. */
static void build(uint64_t cr3, uint64_t npages)
{
	for (uint64_t i = 0; i < npages; i++) {
		uint64_t va = VA_BASE + i * 4096, t = cr3, e;
		uint64_t pa = DATA + ((i * 7919) % npages) * 4096;

		for (int shift = 39; shift > 12; shift -= 9)
			t = table_for(t + ((va >> shift) & 511) * 8);
		e = pa | 7;
		memcpy(ram + t + ((va >> 12) & 511) * 8, &e, 8);
	}
}

static uint64_t rng = 88172645463325252ull;
static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int main(void)
{
	uint64_t cr3 = 0x1000, npages = (RAM - DATA) / 4096, pa, sum = 0, v;
	size_t n = 2000000, chunk = 64 << 10;
	struct qvmi_source *src;
	struct qvmi_ctx *ctx;
	uint8_t *buf;
	double t0, t;

	ram = calloc(1, RAM);
	buf = malloc(chunk);
	if (!ram || !buf || qvmi_ctx_create(&ctx))
		return 1;
	build(cr3, npages);
	/* Touch the data: untouched calloc pages would fault on first read. */
	memset(ram + DATA, 0x5a, RAM - DATA);
	if (qvmi_source_testmem_create(ctx, ram, RAM, 1, &src) ||
	    qvmi__map_add_host(ctx, src, 0, RAM, 0, ram) ||
	    qvmi_set_paging_mode(ctx, QVMI_PAGING_4LEVEL))
		return 1;

	qvmi_cache_set_mode(ctx, QVMI_CACHE_OFF);
	t0 = now();
	for (size_t i = 0; i < n; i++)
		sum += qvmi_translate(ctx, cr3, VA_BASE + 0x5000, &pa);
	t = now() - t0;
	printf("4-level walk, same va (no cache)    %7.1f ns\n", t / n * 1e9);
	t0 = now();
	for (size_t i = 0; i < n; i++)
		sum += qvmi_translate(
			ctx, cr3, VA_BASE + (xorshift() % npages) * 4096, &pa);
	t = now() - t0;
	printf("4-level walk, random va (no cache)  %7.1f ns\n", t / n * 1e9);

	qvmi_cache_set_mode(ctx, QVMI_CACHE_TRUST);
	t0 = now();
	for (size_t i = 0; i < n; i++)
		sum += qvmi_translate(ctx, cr3, VA_BASE + 0x5000, &pa);
	t = now() - t0;
	printf("TLB hit (trust)                     %7.1f ns\n", t / n * 1e9);

	/* the physical limit for random 8-byte reads: memcpy, then
	 * qvmi_read_pa, at the same random physical addresses */
	t0 = now();
	for (size_t i = 0; i < n; i++) {
		memcpy(&v, ram + DATA + xorshift() % (npages * 4096 - 8), 8);
		sum += v;
	}
	t = now() - t0;
	printf("random 8-byte memcpy, independent   %7.1f ns\n", t / n * 1e9);
	/* ... and when each address depends on the previous load, as a
	 * translated read's data address depends on its PTE: the latency */
	v = 0;
	t0 = now();
	for (size_t i = 0; i < n; i++) {
		memcpy(&v,
		       ram + DATA +
			       (xorshift() ^ (v >> 63)) % (npages * 4096 - 8),
		       8);
		sum += v;
	}
	t = now() - t0;
	printf("random 8-byte memcpy, dependent     %7.1f ns\n", t / n * 1e9);
	t0 = now();
	for (size_t i = 0; i < n; i++) {
		sum += qvmi_read_pa(
			ctx, DATA + xorshift() % (npages * 4096 - 8), &v, 8);
		sum += v;
	}
	t = now() - t0;
	printf("random 8-byte read_pa               %7.1f ns\n", t / n * 1e9);
	for (int mode = 0; mode < 2; mode++) {
		qvmi_cache_set_mode(ctx,
				    mode ? QVMI_CACHE_TRUST : QVMI_CACHE_OFF);
		t0 = now();
		for (size_t i = 0; i < n; i++) {
			sum += qvmi_read_u64_va(
				ctx, cr3,
				VA_BASE + xorshift() % (npages * 4096 - 8), &v);
			sum += v;
		}
		t = now() - t0;
		printf("random 8-byte read_va (%s)        %7.1f ns\n",
		       mode ? "trust" : "off  ", t / n * 1e9);
	}
	/* the same 8-byte reads within 1024 pages: all TLB hits */
	t0 = now();
	for (size_t i = 0; i < n; i++) {
		sum += qvmi_read_u64_va(
			ctx, cr3, VA_BASE + xorshift() % (1024 * 4096 - 8), &v);
		sum += v;
	}
	t = now() - t0;
	printf("random 8-byte read_va, 4 MiB (trust)%7.1f ns\n", t / n * 1e9);

	for (int rep = 0; rep < 2; rep++) {
		uint64_t total = npages * 4096;

		t0 = now();
		for (uint64_t off = 0; off < total; off += chunk)
			sum += qvmi_read_va(ctx, cr3, VA_BASE + off, buf,
					    chunk);
		t = now() - t0;
		printf("sequential read_va 64 KiB chunks    %7.2f GiB/s\n",
		       total / t / (1 << 30));
		t0 = now();
		for (uint64_t off = 0; off < total; off += chunk)
			memcpy(buf, ram + DATA + off, chunk);
		sum += buf[1];
		t = now() - t0;
		printf("memcpy 64 KiB chunks, contiguous    %7.2f GiB/s\n",
		       total / t / (1 << 30));
		/* the fair limit: the same scattered 4 KiB pages */
		t0 = now();
		for (uint64_t i = 0; i < npages; i++)
			memcpy(buf + (i % 16) * 4096,
			       ram + DATA + ((i * 7919) % npages) * 4096, 4096);
		sum += buf[1];
		t = now() - t0;
		printf("memcpy of the same scattered pages  %7.2f GiB/s\n",
		       total / t / (1 << 30));
	}
	qvmi_ctx_destroy(ctx);
	free(ram);
	free(buf);
	return sum == 42; /* keep the loops */
}
