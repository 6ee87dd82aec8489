// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pmemaccess through qvmid's server (daemon/pmem-server.c, in-process, over
 * a ctx attached to the live guest), next to its physical limits in the
 * same run:
 *  - a raw unix-socket echo moving the same bytes (24 bytes in, len + 1
 *    out, sent from real memory): the transport's round trip;
 *  - a raw one-way stream of 1 MiB pieces (no requests at all), sent from
 *    the RAM mapping (send) and from the RAM file (sendfile): the ceiling
 *    of any socket protocol.  memcpy is not reachable through a socket:
 *    send copies into the socket and recv copies out again;
 *  - memcpy.
 *
 * Goals: a 4 KiB read round trip within 1.5x the raw echo; 1 MiB reads at
 * least half of memcpy.
 *
 * Fairness: the echo is a thread of this process like the server, on an
 * AF_UNIX stream socket with the server's SO_SNDBUF (1 MiB), and sends
 * the same guest pages (not a hot buffer that would sit in the cache).
 * Both are driven by the same client code (one send, one recv with
 * MSG_WAITALL of len + 1 bytes), on the same addresses.  4 KiB reads go to
 * pages the guest touched (what VMI reads: kernel data, page tables); a
 * never-touched page (a hole of the sparse RAM file) has its own row,
 * because reading one must not allocate it and that costs a syscall.  The
 * rows are measured in interleaved rounds: throughput rows report their
 * best round, so a burst of load from other processes on this shared
 * 2-core machine hits neither side's figure; round trips report p50 and
 * p99 over every request of every round.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench.h"
#include "bench-pmem.h"
#include "../daemon/pmem-server.h"
#include "proto/pmemaccess.h"

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
		ssize_t n = recv(fd, b, len, MSG_WAITALL);

		if (n <= 0)
			return false;
		b += n;
		len -= (size_t)n;
	}
	return true;
}

/* ---- the transport alone: 24 bytes in, len + 1 bytes out ------------ */

/* Send len bytes from p and a status byte 1, in one sendmsg as the server
 * does. */
static bool send_reply(int fd, const uint8_t *p, size_t len)
{
	static uint8_t one = 1;
	struct iovec iov[2] = { { (void *)p, len }, { &one, 1 } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);

	if (n > 0 && (size_t)n <= len) /* short: the rest, then the status */
		return send_all(fd, p + n, len - (size_t)n) &&
		       send_all(fd, &one, 1);
	return n == (ssize_t)len + 1;
}

void *bpm_echo_main(void *arg)
{
	struct bpm_echo *e = arg;
	uint8_t h[QVMI_PMEM_REQ_SIZE];
	struct qvmi_pmem_req r;

	while (recv_all(e->fd, h, sizeof(h))) {
		const uint8_t *p = e->buf;

		qvmi__pmem_decode_req(h, &r);
		if (r.type == QVMI_PMEM_QUIT || r.length > BPM_MIB)
			break;
		/* the very bytes the server sends: the guest's RAM */
		if (r.address >= e->lo && r.address < e->hi &&
		    r.length <= e->hi - r.address)
			p = e->host + (r.address - e->lo);
		if (!send_reply(e->fd, p, r.length))
			break;
	}
	return NULL;
}

/* ---- one-way: n pieces of 1 MiB, no requests ------------------------- */

static void *oneway_main(void *arg)
{
	struct bpm_oneway *o = arg;

	for (size_t i = 0; i < o->n; i++) {
		const struct bpm_range *r = &o->at[i % o->nat];
		bool ok;

		if (o->file_fd >= 0) {
			off_t off = (off_t)r->file_off;
			size_t left = BPM_MIB;

			ok = true;
			while (ok && left) {
				ssize_t w =
					sendfile(o->fd, o->file_fd, &off, left);

				ok = w > 0;
				left -= ok ? (size_t)w : 0;
			}
		} else {
			ok = send_all(o->fd, r->host, BPM_MIB);
		}
		if (!ok)
			break;
	}
	return NULL;
}

/* Seconds to receive n pieces of 1 MiB streamed by o (file_fd or not),
 * timed from the end of one more piece before them, so the thread's and
 * socket's start-up stay out of it. */
static double oneway_secs(struct bpm_oneway *o, size_t n, uint8_t *buf)
{
	int sv[2];
	pthread_t thr;
	double t0 = 0, t = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return 0;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &(int){ BPM_MIB },
		   sizeof(int));
	o->fd = sv[1];
	o->n = n + 1;
	pthread_create(&thr, NULL, oneway_main, o);
	for (size_t i = 0; i <= n; i++) {
		if (!recv_all(sv[0], buf, BPM_MIB))
			break;
		if (!i)
			t0 = bench_now();
		else if (i == n)
			t = bench_now() - t0;
	}
	shutdown(sv[0], SHUT_RDWR);
	pthread_join(thr, NULL);
	close(sv[0]);
	close(sv[1]);
	return t;
}

/* ---- request/reply clients ------------------------------------------- */

/* n reads of len bytes on fd at pages[i % np]; per-request seconds go to
 * lat (if not NULL), the total to *secs. */
static bool raw_reads(int fd, size_t len, const uint64_t *pages, size_t np,
		      size_t first, size_t n, uint8_t *buf, double *lat,
		      double *secs)
{
	uint8_t h[QVMI_PMEM_REQ_SIZE];
	double t0 = bench_now(), t = t0;

	for (size_t i = 0; i < n; i++) {
		double t1;

		qvmi__pmem_encode_req(h, QVMI_PMEM_READ,
				      pages[(first + i) % np], len);
		if (send(fd, h, sizeof(h), MSG_NOSIGNAL) != sizeof(h) ||
		    !recv_all(fd, buf, len + 1) || buf[len] != 1)
			return false;
		t1 = bench_now();
		if (lat)
			lat[i] = t1 - t;
		t = t1;
	}
	*secs += t - t0;
	return true;
}

/* The same through libqvmi's pmem source (src/source/pmem.c). */
static bool lib_reads(struct qvmi_ctx *pc, size_t len, const uint64_t *pages,
		      size_t np, size_t first, size_t n, uint8_t *buf,
		      double *lat, double *secs)
{
	double t0 = bench_now(), t = t0;

	for (size_t i = 0; i < n; i++) {
		double t1;

		if (qvmi_read_pa(pc, pages[(first + i) % np], buf, len))
			return false;
		t1 = bench_now();
		if (lat)
			lat[i] = t1 - t;
		t = t1;
	}
	*secs += t - t0;
	return true;
}

/* ---- rounds ------------------------------------------------------------ */

/*
 * Request `at` of a row on the same pages as the other rows.  Who comes
 * first to a page reads it from DRAM and leaves it in the cache for the
 * next, so the order rotates with `at`.
 */
static bool step(struct bpm *b, int row, size_t len, size_t at, uint8_t *buf,
		 double *lat, double *secs)
{
	const uint64_t *pg = len == BPM_PAGE ? b->data : b->big;
	size_t np = len == BPM_PAGE ? b->nd : b->nbig;

	switch (row) {
	case 0:
		return raw_reads(b->pfd, len, pg, np, at, 1, buf, lat, secs);
	case 1:
		return raw_reads(b->efd, len, pg, np, at, 1, buf, lat, secs);
	default:
		return lib_reads(b->pc, len, pg, np, at, 1, buf, lat, secs);
	}
}

/*
 * One round: n4k requests of each round trip row, then n1m of each
 * throughput row, interleaved request by request (pmem, echo, libqvmi in
 * a rotating order) on the same addresses, so that no row finds the
 * scheduler, the caches or the page tables in a state an earlier row left
 * them in.  lat[] grows by n4k samples per round trip row; best[] keeps
 * each throughput row's best.
 */
static bool round_once(struct bpm *b, int r, uint8_t *buf)
{
	static const int rt[3] = { BPM_RT_PMEM, BPM_RT_ECHO, BPM_RT_LIB };
	static const int tp[3] = { BPM_TP_PMEM, BPM_TP_ECHO, BPM_TP_LIB };
	size_t n4k = b->n4k / BPM_ROUNDS, n1m = b->n1m / BPM_ROUNDS;
	size_t f4 = (size_t)r * n4k, f1 = (size_t)r * n1m;
	double t[BPM_TP_ROWS] = { 0 }, d = 0;
	bool ok = true;

	for (size_t i = 0; ok && i < n4k; i++) {
		size_t at = f4 + i;

		for (int k = 0; ok && k < 3; k++) {
			int row = (int)((at + (size_t)k) % 3);

			ok = step(b, row, BPM_PAGE, at, buf,
				  b->lat[rt[row]] + at, &d);
		}
		ok = ok && (!b->nh ||
			    raw_reads(b->pfd, BPM_PAGE, b->holes, b->nh, at, 1,
				      buf, b->lat[BPM_RT_HOLE] + at, &d));
	}
	for (size_t i = 0; ok && i < n1m; i++) {
		for (int k = 0; ok && k < 3; k++) {
			int row = (int)((f1 + i + (size_t)k) % 3);

			ok = step(b, row, BPM_MIB, f1 + i, buf, NULL,
				  &t[tp[row]]);
		}
	}
	if (!ok)
		return false;
	b->ow_map.file_fd = -1;
	t[BPM_TP_ONEWAY_MAP] = oneway_secs(&b->ow_map, n1m, buf);
	t[BPM_TP_ONEWAY_FILE] = oneway_secs(&b->ow_file, n1m, buf);
	/* memcpy time only (not its buffers' setup) */
	t[BPM_TP_MEMCPY] =
		(double)n1m / 1024 / bench_memcpy_gibs(n1m * BPM_MIB);
	for (int i = 0; i < BPM_TP_ROWS; i++)
		if (t[i] > 0 && (!b->best[i] || t[i] < b->best[i]))
			b->best[i] = t[i];
	return true;
}

int bpm_measure(struct bpm *b)
{
	size_t n = b->n4k / BPM_ROUNDS * BPM_ROUNDS;
	uint8_t *buf = malloc(BPM_MIB + 1);
	double warm = 0;
	bool ok;

	for (int i = 0; i < BPM_RT_ROWS; i++)
		b->lat[i] = calloc(n, sizeof(double));
	ok = buf && b->lat[BPM_RT_ROWS - 1];
	for (int i = 0; ok && i < BPM_RT_ROWS; i++)
		ok = b->lat[i];
	/* Warm every path and every page once (socket buffers, the page
	 * tables of the RAM mapping): rows measured later in a round would
	 * otherwise find pages an earlier row mapped.  A first read of a page
	 * costs the server one madvise more (pmem-server.c populate). */
	ok = ok &&
	     raw_reads(b->pfd, BPM_PAGE, b->data, b->nd, 0, b->nd, buf, NULL,
		       &warm) &&
	     raw_reads(b->pfd, BPM_MIB, b->big, b->nbig, 0, b->nbig, buf, NULL,
		       &warm) &&
	     raw_reads(b->efd, BPM_PAGE, b->data, b->nd, 0, 200, buf, NULL,
		       &warm);
	for (int r = 0; ok && r < BPM_ROUNDS; r++)
		ok = round_once(b, r, buf);
	free(buf);
	if (ok)
		bpm_report(b, n);
	for (int i = 0; i < BPM_RT_ROWS; i++)
		free(b->lat[i]);
	if (!ok) {
		fprintf(stderr, "bench pmem: a read failed\n");
		return -EIO;
	}
	return 0;
}
