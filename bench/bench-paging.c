// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Costs of guest-virtual access on a memcpy-speed source (a host mapping,
 * like shared RAM): a full 4-level walk, a translation-cache hit, random
 * 8-byte virtual reads, and sequential virtual reads against memcpy.
 * Synthetic page tables over 256 MiB mapped with 4 KiB pages, plus the
 * kernel image of a live guest through its own page tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "core/internal.h"

enum { RAM = 256 << 20, PT_BASE = 0x100000, DATA = 16 << 20 };
#define VA_BASE 0x00007f0000000000ull

static uint8_t *ram;
static uint64_t next_table = PT_BASE;

/* CPU time: on a shared machine wall time mostly measures others. */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
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

static volatile uint64_t sink;

struct synth {
	struct qvmi_ctx *ctx;
	uint64_t cr3, npages;
	size_t n;
};

static double walk_ns(struct synth *s, int random)
{
	uint64_t pa, sum = 0;
	double t0 = now();

	for (size_t i = 0; i < s->n; i++)
		sum += qvmi_translate(
			s->ctx, s->cr3,
			VA_BASE + (random ? (xorshift() % s->npages) * 4096 :
					    0x5000),
			&pa);
	sink += sum;
	return (now() - t0) / (double)s->n * 1e9;
}

static double rand_read_ns(struct synth *s, int dependent, int va)
{
	uint64_t span = s->npages * 4096 - 8, v = 0, sum = 0;
	double t0 = now();

	for (size_t i = 0; i < s->n; i++) {
		uint64_t off = (xorshift() ^ (dependent ? v >> 63 : 0)) % span;

		if (va)
			sum += qvmi_read_u64_va(s->ctx, s->cr3, VA_BASE + off,
						&v);
		else
			memcpy(&v, ram + DATA + off, 8);
		sum += v;
	}
	sink += sum;
	return (now() - t0) / (double)s->n * 1e9;
}

static void seq_rows(struct synth *s, uint8_t *buf, size_t chunk)
{
	uint64_t total = s->npages * 4096, off, i;
	double t0, tva, tmc;

	t0 = now();
	for (off = 0; off < total; off += chunk)
		sink += qvmi_read_va(s->ctx, s->cr3, VA_BASE + off, buf, chunk);
	tva = now() - t0;
	/* the fair limit: memcpy of the same scattered 4 KiB pages */
	t0 = now();
	for (i = 0; i < s->npages; i++)
		memcpy(buf + (i % 16) * 4096,
		       ram + DATA + ((i * 7919) % s->npages) * 4096, 4096);
	sink += buf[1];
	tmc = now() - t0;
	bench_row("synthetic: sequential qvmi_read_va, 64 KiB chunks",
		  (double)total / tva / (1 << 30), "GiB/s",
		  (double)total / tmc / (1 << 30), "memcpy of the same pages",
		  NULL);
}

static int synthetic(void)
{
	struct synth s = { NULL, 0x1000, (RAM - DATA) / 4096, 2000000 };
	size_t chunk = 64 << 10;
	struct qvmi_source *src;
	uint8_t *buf;
	double dep;

	ram = calloc(1, RAM);
	buf = malloc(chunk);
	if (!ram || !buf || qvmi_ctx_create(&s.ctx))
		return -1;
	if (bench_quick)
		s.n /= 4;
	build(s.cr3, s.npages);
	/* Touch the data: untouched calloc pages would fault on first read. */
	memset(ram + DATA, 0x5a, RAM - DATA);
	if (qvmi_source_testmem_create(s.ctx, ram, RAM, 1, &src) ||
	    qvmi__map_add_host(s.ctx, src, 0, RAM, 0, ram) ||
	    qvmi_set_paging_mode(s.ctx, QVMI_PAGING_4LEVEL))
		return -1;
	qvmi_cache_set_mode(s.ctx, QVMI_CACHE_OFF);
	dep = rand_read_ns(&s, 1, 0);
	bench_row("random 8-byte load, each address depending on the last "
		  "(limit)",
		  dep, "ns", 0, NULL, NULL);
	bench_row("synthetic: full 4-level walk, same va, no cache",
		  walk_ns(&s, 0), "ns", 0, NULL, "<= 150 ns");
	bench_row("synthetic: full 4-level walk, random va, no cache",
		  walk_ns(&s, 1), "ns", dep, "dependent load", "<= 150 ns");
	qvmi_cache_set_mode(s.ctx, QVMI_CACHE_TRUST);
	bench_row("synthetic: translation-cache hit", walk_ns(&s, 0), "ns", 0,
		  NULL, "<= 20 ns");
	qvmi_cache_set_mode(s.ctx, QVMI_CACHE_OFF);
	bench_row("synthetic: random 8-byte qvmi_read_va over 240 MiB",
		  rand_read_ns(&s, 0, 1), "ns", dep, "dependent load",
		  "<= 100 ns");
	seq_rows(&s, buf, chunk);
	qvmi_ctx_destroy(s.ctx);
	free(ram);
	free(buf);
	return 0;
}

/* The kernel image of a live guest, through vCPU 0's page tables. */
static int live_kernel(const char *qmp)
{
	QVMI_OPTS(qvmi_attach_opts, opts, .sources = QVMI_SRC_SHM);
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_linux *lx = NULL;
	struct qvmi_regs_x86 r;
	uint64_t text, etext, len, off, st = 1, v;
	size_t chunk = 1 << 20, i, n = bench_quick ? 200000 : 1000000;
	uint8_t *buf = malloc(chunk), *copy = malloc(chunk);
	double t0, tva, tmc;
	int err;

	err = qvmi_ctx_create(&ctx);
	if (!err)
		err = qvmi_attach_qmp(ctx, qmp, &opts);
	if (!err)
		err = qvmi_linux_open(ctx, NULL, &lx);
	if (!err)
		err = qvmi_get_regs(ctx, 0, &r);
	if (!err)
		err = qvmi_linux_sym_addr(lx, "_text", &text);
	if (!err)
		err = qvmi_linux_sym_addr(lx, "_etext", &etext);
	if (err || !buf || !copy || etext <= text) {
		fprintf(stderr, "bench paging: live: %s\n", qvmi_errmsg(ctx));
		goto out;
	}
	len = (etext - text) & ~(uint64_t)(chunk - 1);
	/* A fresh page fault costs ~18 us on this VM: touch the buffers. */
	memset(buf, 0, chunk);
	memset(copy, 0, chunk);
	/* warm both sides: the first touch maps pages into this process */
	for (off = 0; off < len; off += chunk)
		sink += qvmi_read_va(ctx, r.cr3, text + off, buf, chunk);
	/* The limit: memcpy of the same bytes straight from the shared-RAM
	 * mapping (the kernel image is physically contiguous).  Rounds
	 * alternate and each side keeps its best: the host is a shared
	 * 2-core VM, and the order must not favour either side's caches. */
	{
		const struct qvmi_seg *seg;
		const uint8_t *host;
		uint64_t pa = 0;

		err = qvmi_translate(ctx, r.cr3, text, &pa);
		seg = err ? NULL : qvmi__seg_find(ctx, pa);
		if (!seg || !seg->host || pa + len - 1 > seg->last) {
			fprintf(stderr, "bench paging: kernel text not in one "
					"shared-RAM segment\n");
			err = -1;
			goto out;
		}
		host = seg->host + (pa - seg->start);
		tva = tmc = 1e9;
		for (int rep = 0; rep < 9; rep++) {
			t0 = bench_now();
			for (off = 0; off < len; off += chunk)
				sink += qvmi_read_va(ctx, r.cr3, text + off,
						     buf, chunk);
			tva = QVMI_MIN(tva, bench_now() - t0);
			t0 = bench_now();
			for (off = 0; off < len; off += chunk)
				memcpy(copy, host + off, chunk);
			tmc = QVMI_MIN(tmc, bench_now() - t0);
		}
	}
	sink += copy[7];
	bench_row("live shm: sequential qvmi_read_va of the kernel text",
		  (double)len / tva / (1 << 30), "GiB/s",
		  (double)len / tmc / (1 << 30), "memcpy from the RAM mapping",
		  ">= 0.90 of memcpy");
	t0 = bench_now();
	for (i = 0; i < n; i++)
		sink += qvmi_read_u64_va(
			ctx, r.cr3, text + bench_rand(&st) % (len - 8), &v);
	tva = (bench_now() - t0) / (double)n * 1e9;
	/* the limit: the same random loads from the RAM mapping (4 KiB host
	 * pages; each miss is a nested-paging TLB miss on this VM) */
	{
		const struct qvmi_seg *seg;
		uint64_t pa = 0, sum = 0;

		qvmi_translate(ctx, r.cr3, text, &pa);
		seg = qvmi__seg_find(ctx, pa);
		st = 1;
		t0 = bench_now();
		/* each address depends on the previous load, as a
		 * translated read's data address depends on its PTEs */
		for (i = 0, v = 0; seg && seg->host && i < n; i++) {
			memcpy(&v,
			       seg->host + (pa - seg->start) +
				       (bench_rand(&st) ^ (v >> 63)) %
					       (len - 8),
			       8);
			sum += v;
		}
		tmc = (bench_now() - t0) / (double)n * 1e9;
		sink += sum;
	}
	bench_row("live shm: random 8-byte qvmi_read_va in the kernel text",
		  tva, "ns", tmc, "dependent loads, same RAM mapping",
		  "<= 100 ns");
out:
	qvmi_linux_destroy(lx);
	qvmi_ctx_destroy(ctx);
	free(buf);
	free(copy);
	return err ? -1 : 0;
}

int bench_paging(const char *qmp)
{
	int err = synthetic();

	if (qmp && live_kernel(qmp))
		err = -1;
	return err;
}
