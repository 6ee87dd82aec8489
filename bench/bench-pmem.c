// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pmemaccess through qvmid's server (daemon/pmem-server.c, in-process, over
 * a ctx attached to the live guest), next to its physical limits in the
 * same run: a raw unix-socket echo moving the same bytes (the transport
 * alone), and memcpy.
 *
 * Goals: a 4 KiB read round trip within 1.5x the raw echo; 1 MiB reads at
 * least half of memcpy.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench.h"
#include "../daemon/pmem-server.h"
#include "proto/pmemaccess.h"

enum { MIB = 1 << 20, PAGE = 4096 };

static bool send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *b = buf;

	while (len) {
		ssize_t n = send(fd, b, len, MSG_NOSIGNAL);

		if (n <= 0)
			return false;
		b += n;
		len -= (size_t)n;
	}
	return true;
}

static bool recv_all(int fd, void *buf, size_t len)
{
	uint8_t *b = buf;

	while (len) {
		ssize_t n = recv(fd, b, len, 0);

		if (n <= 0)
			return false;
		b += n;
		len -= (size_t)n;
	}
	return true;
}

/* ---- the transport alone: 24 bytes in, len + 1 bytes out ------------ */

struct echo {
	int fd;
	uint8_t *buf;
};

static void *echo_main(void *arg)
{
	struct echo *e = arg;
	uint8_t h[QVMI_PMEM_REQ_SIZE];
	struct qvmi_pmem_req r;

	while (recv_all(e->fd, h, sizeof(h))) {
		qvmi_pmem_decode_req(h, &r);
		if (r.type == QVMI_PMEM_QUIT || r.length > MIB ||
		    !send_all(e->fd, e->buf, r.length + 1))
			break;
	}
	return NULL;
}

/* Time n requests of len bytes on fd; fills *secs. */
static bool run_reads(int fd, size_t len, size_t n, uint64_t gpa_max,
		      uint8_t *buf, double *secs)
{
	uint8_t h[QVMI_PMEM_REQ_SIZE];
	uint64_t st = 0x9e3779b97f4a7c15ull;
	double t0 = bench_now();

	for (size_t i = 0; i < n; i++) {
		uint64_t gpa =
			0x100000 + bench_rand(&st) % (gpa_max - 0x100000 - len);

		qvmi_pmem_encode_req(h, QVMI_PMEM_READ, gpa & ~(uint64_t)4095,
				     len);
		if (!send_all(fd, h, sizeof(h)) ||
		    !recv_all(fd, buf, len + 1) || buf[len] != 1)
			return false;
	}
	*secs = bench_now() - t0;
	return true;
}

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

static int measure(int pfd, int efd, uint64_t top)
{
	size_t n4k = bench_quick ? 2000 : 20000, n1m = bench_quick ? 128 : 512;
	uint8_t *buf = malloc(MIB + 1);
	double tp, te, tpm, tem, mc;

	if (!buf)
		return -ENOMEM;
	/* warm both paths (first-touch of the shm mapping, socket buffers) */
	if (!run_reads(pfd, PAGE, 200, top, buf, &tp) ||
	    !run_reads(efd, PAGE, 200, top, buf, &te) ||
	    !run_reads(pfd, PAGE, n4k, top, buf, &tp) ||
	    !run_reads(efd, PAGE, n4k, top, buf, &te) ||
	    !run_reads(pfd, MIB, n1m, top, buf, &tpm) ||
	    !run_reads(efd, MIB, n1m, top, buf, &tem)) {
		free(buf);
		fprintf(stderr, "bench pmem: a read failed\n");
		return -EIO;
	}
	free(buf);
	mc = bench_memcpy_gibs((size_t)n1m * MIB);
	bench_row("pmemaccess 4 KiB read, round trip", tp * 1e6 / (double)n4k,
		  "us", te * 1e6 / (double)n4k, "raw unix echo of 4 KiB",
		  "<= 1.5x echo");
	bench_row("pmemaccess 1 MiB reads", (double)n1m / tpm / 1024, "GiB/s",
		  mc, "memcpy", ">= 0.5x memcpy");
	bench_row("raw unix echo of 1 MiB", (double)n1m / tem / 1024, "GiB/s",
		  mc, "memcpy", "(transport limit)");
	return 0;
}

int bench_pmem(const char *qmp)
{
	struct qvmid_pmem_opts o = { .max_transfer = MIB };
	struct echo e = { .fd = -1 };
	struct qvmi_ctx *ctx = NULL;
	struct srv t = { 0 };
	char path[108];
	pthread_t thr, ethr;
	int err, sv[2], pfd = -1;
	uint64_t top;

	if (!qmp) {
		printf("<!-- pmem: skipped, no --qmp guest -->\n");
		return 0;
	}
	snprintf(path, sizeof(path), "/tmp/qvmi-bench-pmem-%d.sock",
		 (int)getpid());
	err = qvmi_ctx_create(&ctx);
	if (!err)
		err = qvmi_attach_qmp(ctx, qmp, NULL);
	top = err ? 0 : ram_top(ctx);
	if (!err && top < 16 * MIB)
		err = -ENOENT;
	if (!err)
		err = qvmid_pmem_server_create(ctx, path, &o, &t.s);
	if (err) {
		fprintf(stderr, "bench pmem: %s: %s\n", qmp,
			ctx ? qvmi_errmsg(ctx) : strerror(-err));
		qvmi_ctx_destroy(ctx);
		return err;
	}
	pthread_create(&thr, NULL, srv_main, &t);
	e.buf = calloc(1, MIB + 1);
	if (e.buf)
		e.buf[MIB] = 1; /* a status byte wherever the reply ends */
	err = !e.buf || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ?
		      -ENOMEM :
		      0;
	pfd = err ? -1 : connect_to(path);
	if (!err && pfd >= 0) {
		e.fd = sv[1];
		e.buf[PAGE] = 1; /* 4 KiB replies' status byte */
		pthread_create(&ethr, NULL, echo_main, &e);
		err = measure(pfd, sv[0], top);
		shutdown(sv[0], SHUT_RDWR);
		pthread_join(ethr, NULL);
		close(sv[0]);
		close(sv[1]);
	} else if (!err) {
		err = -ECONNREFUSED;
	}
	if (pfd >= 0)
		close(pfd);
	qvmid_pmem_server_stop(t.s);
	pthread_join(thr, NULL);
	qvmid_pmem_server_destroy(t.s);
	qvmi_ctx_destroy(ctx);
	free(e.buf);
	return err;
}
