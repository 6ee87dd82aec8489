// SPDX-License-Identifier: LGPL-2.1-or-later
/* Per-source sequential throughput and random 8-byte qvmi_read_pa latency. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include "bench.h"
#include "core/internal.h"

struct src_case {
	const char *name;
	unsigned int mask;
	size_t seq_bytes; /* how much to read sequentially */
	size_t rand_iters; /* random 8-byte reads */
};

static int attach(struct qvmi_ctx **ret, const char *qmp, unsigned int mask)
{
	QVMI_OPTS(qvmi_attach_opts, opts, .sources = mask);
	int err;

	err = qvmi_ctx_create(ret);
	if (!err)
		err = qvmi_attach_qmp(*ret, qmp, &opts);
	if (err)
		fprintf(stderr, "bench: attach (%#x): %s\n", mask,
			qvmi_errmsg(*ret));
	return err;
}

/* The largest RAM range: where both tests read. */
static int ram_range(struct qvmi_ctx *ctx, struct qvmi_ram_range *ret)
{
	struct qvmi_ram_range r;
	size_t i;

	memset(ret, 0, sizeof(*ret));
	for (i = 0; qvmi_ram_get(ctx, i, &r) == 0; i++)
		if (r.size > ret->size)
			*ret = r;
	return ret->size ? 0 : -1;
}

static double seq_gibs(struct qvmi_ctx *ctx, const struct qvmi_ram_range *r,
		       size_t total)
{
	size_t chunk = 1 << 20, done = 0;
	uint8_t *buf = malloc(chunk);
	uint64_t off = 0;
	double t0;

	if (!buf)
		return -1;
	t0 = bench_now();
	while (done < total) {
		if (qvmi_read_pa(ctx, r->gpa + off, buf, chunk)) {
			free(buf);
			return -1;
		}
		off = (off + chunk) % (r->size - chunk);
		done += chunk;
	}
	t0 = bench_now() - t0;
	free(buf);
	return (double)total / t0 / (1u << 30);
}

/* Random 8-byte reads at pages[] (GPAs of 4 KiB pages). */
static double rand_ns(struct qvmi_ctx *ctx, const uint64_t *pages, size_t np,
		      size_t iters)
{
	uint64_t st = 0x9e3779b97f4a7c15ull, v;
	double t0;
	size_t i;

	if (!np)
		return -1;
	t0 = bench_now();
	for (i = 0; i < iters; i++) {
		uint64_t x = bench_rand(&st);
		uint64_t gpa = pages[x % np] + (x >> 40) % (4096 - 8);

		if (qvmi_read_pa(ctx, gpa, &v, 8))
			return -1;
	}
	return (bench_now() - t0) * 1e9 / (double)iters;
}

/* Random 8-byte loads at the same GPAs, from the host mapping directly. */
static double map_load_ns(struct qvmi_ctx *ctx, const uint64_t *pages,
			  size_t np, size_t iters)
{
	const struct qvmi_seg *seg = np ? qvmi__seg_find(ctx, pages[0]) : NULL;
	uint64_t st = 0x9e3779b97f4a7c15ull, v, sum = 0;
	double t0;
	size_t i;

	if (!seg || !seg->host)
		return -1;
	t0 = bench_now();
	for (i = 0; i < iters; i++) {
		uint64_t x = bench_rand(&st);
		uint64_t gpa = pages[x % np] + (x >> 40) % (4096 - 8);
		const struct qvmi_seg *s = qvmi__seg_find(ctx, gpa);

		memcpy(&v, s->host + (gpa - s->start), 8);
		sum += v;
	}
	t0 = bench_now() - t0;
	return sum == 42 ? 0 : t0 * 1e9 / (double)iters;
}

/*
 * Split the RAM range's pages into those the shared RAM file holds (what a
 * guest has touched: kernel, page tables, process memory) and holes (never
 * touched; reading one must not allocate it, so it costs syscalls).  A
 * fresh 512 MiB guest holds ~115 MiB: random reads over all of RAM would
 * mostly measure holes, which VMI rarely reads.
 */
static int split_pages(struct qvmi_ctx *ctx, const struct qvmi_ram_range *r,
		       uint64_t **data, size_t *nd, uint64_t **holes,
		       size_t *nh)
{
	const struct qvmi_seg *seg = qvmi__seg_find(ctx, r->gpa);
	size_t n = (size_t)(r->size >> 12), i;
	unsigned char *vec = malloc(n);

	*nd = *nh = 0;
	*data = malloc(n * sizeof(**data));
	*holes = malloc(n * sizeof(**holes));
	if (!vec || !*data || !*holes || !seg || !seg->host ||
	    r->gpa + r->size - 1 > seg->last ||
	    mincore(seg->host + (r->gpa - seg->start), n << 12, vec)) {
		free(vec);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (vec[i] & 1)
			(*data)[(*nd)++] = r->gpa + ((uint64_t)i << 12);
		else
			(*holes)[(*nh)++] = r->gpa + ((uint64_t)i << 12);
	}
	free(vec);
	return 0;
}

int bench_sources(const char *qmp)
{
	struct src_case cases[] = {
		{ "shm", QVMI_SRC_SHM, 4ull << 30, 4000000 },
		{ "procmem", QVMI_SRC_PROCMEM, 1ull << 30, 200000 },
		{ "xp", QVMI_SRC_XP, 4u << 20, 200 },
	};
	uint64_t *data = NULL, *holes = NULL;
	size_t nd = 0, nh = 0;
	double mc, ld;
	size_t i;
	int rc = 0;

	if (!qmp) {
		fprintf(stderr, "bench sources: needs --qmp (a live guest)\n");
		return 0;
	}
	mc = bench_memcpy_gibs(bench_quick ? 1ull << 30 : 8ull << 30);
	ld = bench_random_load_ns(512u << 20, bench_quick ? 1000000 : 4000000);
	bench_row("memcpy, 1 MiB chunks (limit)", mc, "GiB/s", 0, NULL, NULL);
	bench_row("random 8-byte load from a 512 MiB buffer (limit)", ld, "ns",
		  0, NULL, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct src_case *c = &cases[i];
		struct qvmi_ram_range r;
		struct qvmi_ctx *ctx = NULL;
		char what[128];
		double v;

		if (attach(&ctx, qmp, c->mask) || ram_range(ctx, &r)) {
			qvmi_ctx_destroy(ctx);
			rc = -1;
			continue;
		}
		if (bench_quick) {
			c->seq_bytes /= 4;
			c->rand_iters /= 4;
		}
		/* The first pass over RAM maps it into this process (page
		 * faults); report it apart from the steady state. */
		if (i == 0) {
			v = seq_gibs(ctx, &r,
				     (size_t)r.size & ~(size_t)0xfffff);
			bench_row("shm: first sequential pass (cold mapping)",
				  v, "GiB/s", mc, "memcpy", NULL);
		}
		v = seq_gibs(ctx, &r, c->seq_bytes);
		snprintf(what, sizeof(what), "%s: sequential qvmi_read_pa",
			 c->name);
		bench_row(what, v, "GiB/s", mc, "memcpy",
			  i == 0 ? ">= 0.90 of memcpy" : NULL);
		if (i == 0 && split_pages(ctx, &r, &data, &nd, &holes, &nh))
			fprintf(stderr, "bench sources: no page split\n");
		v = rand_ns(ctx, data, nd, c->rand_iters);
		snprintf(what, sizeof(what),
			 "%s: random 8-byte qvmi_read_pa (%zu MiB the guest "
			 "touched)",
			 c->name, nd >> 8);
		bench_row(what, v, "ns", ld, "random load",
			  i == 0 ? "<= 100 ns" : NULL);
		if (i == 0) {
			/* The fair limit: the same random loads straight from
			 * QEMU's RAM mapping, whose host pages are 4 KiB
			 * (tmpfs), not the 2 MiB THP a malloc'd buffer gets. */
			double lim = map_load_ns(ctx, data, nd, c->rand_iters);

			bench_row("random 8-byte load from the RAM mapping, "
				  "same pages (limit)",
				  lim, "ns", 0, NULL, NULL);
			v = rand_ns(ctx, holes, nh, 20000);
			bench_row("shm: random 8-byte read of a never-touched "
				  "page (hole: syscalls, no allocation)",
				  v, "ns", 0, NULL, NULL);
		}
		qvmi_ctx_destroy(ctx);
	}
	free(data);
	free(holes);
	return rc;
}
