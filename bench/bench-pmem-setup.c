// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The pmemaccess section's setup and report (bench-pmem.c measures): a
 * ctx on the live guest, qvmid's pmem server on it in a thread, the raw
 * echo thread, a second ctx reading through libqvmi's pmem source, and
 * the guest's pages split into touched ones and holes.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench.h"
#include "bench-pmem.h"
#include "core/internal.h"
#include "../daemon/pmem-server.h"

struct srv {
	struct qvmid_pmem_server *s;
	int rc;
};

static void *srv_main(void *arg)
{
	struct srv *t = arg;

	t->rc = qvmid_pmem_server_run(t->s);
	return NULL;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Guest RAM end below 4 GiB, from the ctx's RAM list (>= 16 MiB). */
static uint64_t ram_top(struct qvmi_ctx *ctx)
{
	struct qvmi_map_entry e;
	uint64_t top = 0;

	for (size_t i = 0; i < qvmi_map_count(ctx); i++)
		if (!qvmi_map_get(ctx, i, &e) && e.gpa == 0x100000)
			top = e.gpa + e.size;
	return top;
}

static void shuffle(uint64_t *a, size_t n, uint64_t seed)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(bench_rand(&seed) % i);
		uint64_t t = a[i - 1];

		a[i - 1] = a[j];
		a[j] = t;
	}
}

/* Whole 1 MiB ranges of [lo, top) that the guest touched throughout. */
static void find_ranges(struct bpm *b, struct qvmi_ctx *ctx,
			const unsigned char *vec, uint64_t lo, uint64_t top)
{
	const struct qvmi_seg *seg = qvmi__seg_find(ctx, lo);

	for (uint64_t g = lo; g + BPM_MIB <= top; g += BPM_MIB) {
		const unsigned char *v = vec + ((g - lo) >> 12);
		struct qvmi_pa_file f;
		size_t i = 0;

		while (i < BPM_MIB / BPM_PAGE && (v[i] & 1))
			i++;
		if (i < BPM_MIB / BPM_PAGE ||
		    qvmi__pa_file(ctx, g, BPM_MIB, &f) || f.len != BPM_MIB)
			continue;
		b->big[b->nbig] = g;
		b->ranges[b->nbig++] =
			(struct bpm_range){ g, seg->host + (g - seg->start),
					    f.off };
	}
}

/* Split [1 MiB, top) into touched pages and holes, by mincore on the RAM
 * mapping (a fresh 512 MiB guest has touched ~115 MiB). */
static int split_pages(struct bpm *b, struct qvmi_ctx *ctx, uint64_t top)
{
	const uint64_t lo = 0x100000;
	const struct qvmi_seg *seg = qvmi__seg_find(ctx, lo);
	size_t n = (size_t)((top - lo) >> 12);
	unsigned char *vec = malloc(n);

	b->data = malloc(n * sizeof(uint64_t));
	b->holes = malloc(n * sizeof(uint64_t));
	b->big = malloc((n / 256 + 1) * sizeof(uint64_t));
	b->ranges = malloc((n / 256 + 1) * sizeof(*b->ranges));
	if (!vec || !b->data || !b->holes || !b->big || !b->ranges || !seg ||
	    !seg->host || top - 1 > seg->last ||
	    mincore(seg->host + (lo - seg->start), n << 12, vec)) {
		free(vec);
		return -ENOENT;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t g = lo + ((uint64_t)i << 12);

		if (vec[i] & 1)
			b->data[b->nd++] = g;
		else
			b->holes[b->nh++] = g;
	}
	find_ranges(b, ctx, vec, lo, top);
	free(vec);
	if (b->nd < 1024 || b->nbig < 4)
		return -ENOENT;
	if (b->nh < 1024) /* too few to sample: no hole row */
		b->nh = 0;
	shuffle(b->data, b->nd, 0x9e3779b97f4a7c15ull);
	shuffle(b->holes, b->nh, 0x2545f4914f6cdd1dull);
	/* one permutation of the ranges; their gpas follow */
	for (size_t i = b->nbig, st = 77; i > 1; i--) {
		size_t j = (size_t)(bench_rand(&(uint64_t){ st += i }) % i);
		struct bpm_range t = b->ranges[i - 1];

		b->ranges[i - 1] = b->ranges[j];
		b->ranges[j] = t;
	}
	for (size_t i = 0; i < b->nbig; i++)
		b->big[i] = b->ranges[i].gpa;
	b->ow_map = (struct bpm_oneway){ -1, -1, b->ranges, b->nbig, 0 };
	b->ow_file = b->ow_map;
	return 0;
}

/* p-th percentile of n samples, in us (sorts them). */
static double pct_us(double *v, size_t n, double p)
{
	bench_sort(v, n);
	return v[(size_t)((double)(n - 1) * p)] * 1e6;
}

void bpm_report(struct bpm *b, size_t n)
{
	static const char *const rt[BPM_RT_ROWS] = {
		[BPM_RT_PMEM] = "pmemaccess 4 KiB read of a touched page",
		[BPM_RT_LIB] = "pmemaccess 4 KiB read via libqvmi "
			       "(qvmi_read_pa on the pmem source)",
		[BPM_RT_HOLE] = "pmemaccess 4 KiB read of a never-touched "
				"page (hole)",
	};
	double p50[BPM_RT_ROWS], p99[BPM_RT_ROWS], mc, gib[BPM_TP_ROWS];
	char what[160];
	size_t n1m = b->n1m / BPM_ROUNDS;

	for (int i = 0; i < BPM_RT_ROWS; i++) {
		p99[i] = pct_us(b->lat[i], n, 0.99);
		p50[i] = pct_us(b->lat[i], n, 0.50);
	}
	for (int i = 0; i < BPM_RT_ROWS; i++) {
		if (i == BPM_RT_ECHO)
			continue;
		if (i == BPM_RT_HOLE && !b->nh) {
			/* the sources section reads all of RAM through
			 * QEMU's process memory, which allocates it */
			printf("| %s | skipped: no holes left in the RAM file "
			       "(an earlier section allocated them) | | | |\n",
			       rt[i]);
			continue;
		}
		snprintf(what, sizeof(what), "%s, round trip p50", rt[i]);
		bench_row(what, p50[i], "us", p50[BPM_RT_ECHO],
			  "raw unix echo of 4 KiB, p50",
			  i == BPM_RT_PMEM ? "<= 1.5x echo" : NULL);
		snprintf(what, sizeof(what), "%s, round trip p99", rt[i]);
		bench_row(what, p99[i], "us", p99[BPM_RT_ECHO],
			  "raw unix echo of 4 KiB, p99", NULL);
	}
	for (int i = 0; i < BPM_TP_ROWS; i++)
		gib[i] = b->best[i] > 0 ? (double)n1m / b->best[i] / 1024 : 0;
	mc = gib[BPM_TP_MEMCPY];
	bench_row("pmemaccess 1 MiB reads (touched RAM)", gib[BPM_TP_PMEM],
		  "GiB/s", mc, "memcpy", ">= 0.5x memcpy");
	bench_row("pmemaccess 1 MiB reads via libqvmi (qvmi_read_pa)",
		  gib[BPM_TP_LIB], "GiB/s", mc, "memcpy", NULL);
	bench_row("raw unix echo of 1 MiB (request, then send from memory)",
		  gib[BPM_TP_ECHO], "GiB/s", mc, "memcpy", "(transport)");
	bench_row("raw unix one-way 1 MiB stream, send() from the RAM mapping",
		  gib[BPM_TP_ONEWAY_MAP], "GiB/s", mc, "memcpy",
		  "(socket ceiling)");
	bench_row("raw unix one-way 1 MiB stream, sendfile() from the RAM "
		  "file (no copy in; 4 KiB page fragments out)",
		  gib[BPM_TP_ONEWAY_FILE], "GiB/s", mc, "memcpy", NULL);
	bench_row("pmemaccess 1 MiB reads vs the socket ceiling",
		  gib[BPM_TP_PMEM], "GiB/s", gib[BPM_TP_ONEWAY_MAP],
		  "one-way stream from the mapping", NULL);
}

/* Everything but the server: the echo thread, the clients, the pages. */
static int run(struct bpm *b, struct qvmi_ctx *ctx, const char *path,
	       uint64_t top)
{
	struct qvmi_pmem_opts po = { .sz = sizeof(po), .ram_size = top };
	struct bpm_echo e = { .fd = -1 };
	const struct qvmi_seg *seg;
	pthread_t ethr;
	int err, sv[2];

	err = split_pages(b, ctx, top);
	if (err) {
		fprintf(stderr,
			"bench pmem: no touched/hole page split (%zu touched, "
			"%zu holes, %zu whole MiB touched)\n",
			b->nd, b->nh, b->nbig);
		return err;
	}
	seg = qvmi__seg_find(ctx, b->big[0]);
	b->ow_file.file_fd = seg->src->file_fd;
	e.host = seg->host;
	e.lo = seg->start;
	e.hi = seg->last; /* inclusive: leave its last byte out */
	e.buf = malloc(BPM_MIB + 1);
	if (!e.buf || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		free(e.buf);
		return -ENOMEM;
	}
	memset(e.buf, 1, BPM_MIB + 1); /* real pages; status 1 anywhere */
	b->pfd = connect_to(path);
	err = b->pfd < 0 ? -ECONNREFUSED : qvmi_ctx_create(&b->pc);
	if (!err)
		err = qvmi_attach_pmem(b->pc, path, &po);
	if (!err) {
		e.fd = sv[1];
		b->efd = sv[0];
		/* the server's socket option (pmem-server.c set_sndbuf) */
		setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &(int){ BPM_MIB },
			   sizeof(int));
		pthread_create(&ethr, NULL, bpm_echo_main, &e);
		err = bpm_measure(b);
		shutdown(sv[0], SHUT_RDWR);
		pthread_join(ethr, NULL);
	}
	close(sv[0]);
	close(sv[1]);
	if (b->pfd >= 0)
		close(b->pfd);
	qvmi_ctx_destroy(b->pc);
	free(e.buf);
	return err;
}

int bench_pmem(const char *qmp)
{
	struct qvmid_pmem_opts o = { .max_transfer = BPM_MIB };
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	struct bpm b = { .pfd = -1, .efd = -1 };
	struct qvmi_ctx *ctx = NULL;
	struct srv t = { 0 };
	char path[108];
	pthread_t thr;
	uint64_t top;
	int err;

	if (!qmp) {
		printf("<!-- pmem: skipped, no --qmp guest -->\n");
		return 0;
	}
	b.n4k = bench_quick ? 2048 : 16384;
	b.n1m = bench_quick ? 128 : 512;
	snprintf(path, sizeof(path), "/tmp/qvmi-bench-pmem-%d.sock",
		 (int)getpid());
	/* As qvmid does: a client gone mid-reply must not kill the server,
	 * and the server sends shared RAM by sendfile only then. */
	sigaction(SIGPIPE, &ign, &old);
	err = qvmi_ctx_create(&ctx);
	if (!err)
		err = qvmi_attach_qmp(ctx, qmp, NULL);
	top = err ? 0 : ram_top(ctx);
	if (!err && top < 16 * BPM_MIB)
		err = -ENOENT;
	if (!err)
		err = qvmid_pmem_server_create(ctx, path, &o, &t.s);
	if (err) {
		fprintf(stderr, "bench pmem: %s: %s\n", qmp,
			ctx ? qvmi_errmsg(ctx) : strerror(-err));
		qvmi_ctx_destroy(ctx);
		sigaction(SIGPIPE, &old, NULL);
		return err;
	}
	pthread_create(&thr, NULL, srv_main, &t);
	err = run(&b, ctx, path, top);
	qvmid_pmem_server_stop(t.s);
	pthread_join(thr, NULL);
	qvmid_pmem_server_destroy(t.s);
	qvmi_ctx_destroy(ctx);
	free(b.data);
	free(b.holes);
	free(b.big);
	free(b.ranges);
	sigaction(SIGPIPE, &old, NULL);
	return err;
}
