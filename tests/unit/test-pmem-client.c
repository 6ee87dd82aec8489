// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libqvmi's pmemaccess client (src/source/pmem.c) against a scripted peer:
 * long reads are pipelined (the peer only answers once a whole batch of
 * headers has arrived, so a client that waits for a reply before sending
 * the next header fails), replies land in the caller's buffer, a failure
 * in the middle of a batch keeps the stream in step, writes carry their
 * payload, and a reply cut off mid-way times out within the deadline.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "qvmi.h"
#include "proto/pmemaccess.h"

enum { PG = 4096, RAM = 1 << 20, BATCH_MAX = 32, REQ_MAX = 64 };

static uint8_t mem_byte(uint64_t a)
{
	return (uint8_t)(a * 7 + 1);
}

struct peer {
	int lfd;
	char path[108];
	pthread_t thr;
	/* script: batches of requests, each received whole before answering */
	size_t batch[8], nbatch;
	int fail_at; /* request index answered with failure, or -1 */
	bool stall; /* answer the first read with half its data, then wait */
	/* what the peer saw */
	struct qvmi_pmem_req req[REQ_MAX];
	uint8_t payload[2 * PG];
	size_t nreq, npayload;
	const char *error; /* set by the peer thread on a script mismatch */
};

static bool precv(int fd, void *buf, size_t len)
{
	return recv(fd, buf, len, MSG_WAITALL) == (ssize_t)len;
}

static bool psend(int fd, const void *buf, size_t len)
{
	return send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len;
}

/* Answer request r (index i): data for reads, payload taken for writes. */
static bool answer(struct peer *p, int fd, const struct qvmi_pmem_req *r,
		   size_t i)
{
	static uint8_t out[PG + 1];
	uint8_t ok = (int)i == p->fail_at ? QVMI_PMEM_STATUS_FAIL :
					    QVMI_PMEM_STATUS_OK;

	if (r->length > PG)
		return false;
	if (r->type == QVMI_PMEM_WRITE) {
		if (p->npayload + r->length > sizeof(p->payload) ||
		    !precv(fd, p->payload + p->npayload, r->length))
			return false;
		p->npayload += r->length;
		return psend(fd, &ok, 1);
	}
	for (size_t k = 0; k < r->length; k++)
		out[k] = ok ? mem_byte(r->address + k) : 0;
	out[r->length] = ok;
	if (p->stall) { /* half the data, then nothing until the client goes */
		psend(fd, out, r->length / 2);
		precv(fd, out, 1);
		return false;
	}
	return psend(fd, out, r->length + 1);
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	struct timeval tv = { 3, 0 };
	uint8_t h[BATCH_MAX * QVMI_PMEM_REQ_SIZE];
	int fd = accept(p->lfd, NULL, NULL);

	if (fd < 0) {
		p->error = "accept";
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (size_t b = 0; b < p->nbatch && !p->error; b++) {
		size_t n = p->batch[b];

		/* Writes come one at a time (header, payload, status). */
		if (!precv(fd, h, n * QVMI_PMEM_REQ_SIZE)) {
			p->error = "batch of headers not sent before replies";
			break;
		}
		for (size_t i = 0; i < n && !p->error; i++) {
			struct qvmi_pmem_req *r = &p->req[p->nreq];

			qvmi__pmem_decode_req(h + i * QVMI_PMEM_REQ_SIZE, r);
			if (!answer(p, fd, r, p->nreq++))
				p->error = "reply failed";
		}
	}
	close(fd);
	return NULL;
}

static void peer_start(struct peer *p, struct qvmi_ctx **ctx, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static int seq;
	QVMI_OPTS(qvmi_pmem_opts, o, .ram_size = RAM, .max_transfer = PG,
		  .timeout_ms = timeout_ms);

	snprintf(p->path, sizeof(p->path), "/tmp/qvmi-test-pmemcli-%d-%d",
		 (int)getpid(), seq++);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p->path);
	p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(p->lfd >= 0);
	unlink(p->path);
	CHECK_OK(bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)));
	CHECK_OK(listen(p->lfd, 4));
	CHECK_INT(pthread_create(&p->thr, NULL, peer_main, p), ==, 0);
	CHECK_OK(qvmi_ctx_create(ctx));
	CHECK_OK(qvmi_attach_pmem(*ctx, p->path, &o));
}

static void peer_stop(struct peer *p, struct qvmi_ctx *ctx)
{
	qvmi_ctx_destroy(ctx); /* closes the connection: the peer ends */
	CHECK_INT(pthread_join(p->thr, NULL), ==, 0);
	close(p->lfd);
	unlink(p->path);
}

static void check_mem(const uint8_t *b, uint64_t gpa, size_t len)
{
	for (size_t i = 0; i < len; i++)
		CHECK_MSG(b[i] == mem_byte(gpa + i), "byte %zu of 0x%" PRIx64,
			  i, gpa);
}

/* 17 pieces: 16 headers in one go, then the last. */
static void test_pipelined_read(void)
{
	struct peer p = { .batch = { 16, 1 }, .nbatch = 2, .fail_at = -1 };
	const uint64_t gpa = 0x1003;
	const size_t len = 16 * PG + 100;
	uint8_t *b = malloc(len);
	struct qvmi_ctx *ctx;

	CHECK(b);
	peer_start(&p, &ctx, 2000);
	CHECK_OK(qvmi_read_pa(ctx, gpa, b, len));
	check_mem(b, gpa, len);
	peer_stop(&p, ctx);
	CHECK_MSG(!p.error, "peer: %s", p.error);
	CHECK_U64(p.nreq, ==, 17);
	for (size_t i = 0; i < 17; i++) {
		CHECK_INT(p.req[i].type, ==, QVMI_PMEM_READ);
		CHECK_U64(p.req[i].address, ==, gpa + i * PG);
		CHECK_U64(p.req[i].length, ==, i < 16 ? PG : 100);
	}
	free(b);
}

/* Piece 2 of 5 fails: -EFAULT, yet every reply is read, so the next read
 * on the same connection is in step. */
static void test_failure_mid_batch(void)
{
	struct peer p = { .batch = { 5, 1 }, .nbatch = 2, .fail_at = 2 };
	uint8_t *b = malloc(5 * PG);
	struct qvmi_ctx *ctx;

	CHECK(b);
	peer_start(&p, &ctx, 2000);
	CHECK_INT(qvmi_read_pa(ctx, 0x10000, b, 5 * PG), ==, -EFAULT);
	CHECK_OK(qvmi_read_pa(ctx, 0x20005, b, 300));
	check_mem(b, 0x20005, 300);
	peer_stop(&p, ctx);
	CHECK_MSG(!p.error, "peer: %s", p.error);
	CHECK_U64(p.nreq, ==, 6);
	CHECK_U64(p.req[5].address, ==, 0x20005);
	free(b);
}

/* A write is header + payload; each piece answered; a failure -EFAULT. */
static void test_writes(void)
{
	struct peer p = { .batch = { 1, 1, 1 }, .nbatch = 3, .fail_at = 2 };
	uint8_t w[PG + 904];
	struct qvmi_ctx *ctx;

	for (size_t i = 0; i < sizeof(w); i++)
		w[i] = (uint8_t)(i * 3 + 9);
	peer_start(&p, &ctx, 2000);
	CHECK_OK(qvmi_write_pa(ctx, 0x3000, w, sizeof(w)));
	CHECK_INT(qvmi_write_pa(ctx, 0x9000, w, 10), ==, -EFAULT);
	peer_stop(&p, ctx);
	CHECK_MSG(!p.error, "peer: %s", p.error);
	CHECK_U64(p.nreq, ==, 3);
	CHECK_INT(p.req[0].type, ==, QVMI_PMEM_WRITE);
	CHECK_U64(p.req[0].length, ==, PG);
	CHECK_U64(p.req[1].address, ==, 0x3000 + PG);
	CHECK_U64(p.req[1].length, ==, 904);
	CHECK_U64(p.npayload, ==, sizeof(w) + 10);
	CHECK(!memcmp(p.payload, w, sizeof(w)));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Half a reply, then silence: -ETIMEDOUT near the timeout, not a hang,
 * and the connection is dropped (the stream is out of step). */
static void test_reply_cut_off(void)
{
	struct peer p = {
		.batch = { 1 }, .nbatch = 1, .fail_at = -1, .stall = true
	};
	uint8_t b[PG];
	struct qvmi_ctx *ctx;
	double t0;

	peer_start(&p, &ctx, 300);
	t0 = now_s();
	CHECK_INT(qvmi_read_pa(ctx, 0, b, PG), ==, -ETIMEDOUT);
	CHECK(now_s() - t0 >= 0.25 && now_s() - t0 < 2.0);
	CHECK(strstr(qvmi_errmsg(ctx), "receive from"));
	peer_stop(&p, ctx);
	CHECK_U64(p.nreq, ==, 1);
}

static const struct qvmi_test pmem_client_tests[] = {
	{ "pipelined_read", test_pipelined_read },
	{ "failure_mid_batch", test_failure_mid_batch },
	{ "writes", test_writes },
	{ "reply_cut_off", test_reply_cut_off },
};
QVMI_SUITE(pmem_client, pmem_client_tests);
