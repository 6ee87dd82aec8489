/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The KVMi unit suites' rig (test-kvmi.c, test-kvmi-events.c): qvmid's
 * KVMi front-end over a testmem ctx, run by a thread of the test; the test
 * is the tool, listening and taking qvmid's dial, with frames built from
 * KVMI-WIRE.md.  Header-only (static inline) so each suite takes what it
 * uses.
 */
#ifndef QVMI_TEST_KVMI_RIG_H
#define QVMI_TEST_KVMI_RIG_H

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "core/internal.h"
#include "proto/kvmi-wire.h"
#include "../../daemon/kvmi-server.h"

enum { MEM_SIZE = 64 << 10, IO_MS = 5000 };

struct rig {
	char dir[64], sock[108], key[108];
	int lfd; /* the tool's listener */
	int fd; /* the accepted connection */
	struct qvmi_ctx *ctx;
	uint8_t *mem;
	struct qvmid_kvmi *k;
	pthread_t thr;
	bool running;
	uint32_t seq;
	struct qvmid_kvmi_stats st; /* after rig_stop */
};

static inline void *loop(void *arg)
{
	qvmid_kvmi_run(arg);
	return NULL;
}

static inline void rig_stop(void *arg)
{
	struct rig *r = arg;

	if (r->running) {
		qvmid_kvmi_stop(r->k);
		pthread_join(r->thr, NULL);
		r->running = false;
		qvmid_kvmi_stats(r->k, &r->st);
	}
}

static inline void rig_free(void *arg)
{
	struct rig *r = arg;

	rig_stop(r);
	qvmid_kvmi_destroy(r->k);
	qvmi_ctx_destroy(r->ctx);
	if (r->fd >= 0)
		close(r->fd);
	if (r->lfd >= 0)
		close(r->lfd);
	unlink(r->sock);
	unlink(r->key);
	rmdir(r->dir);
	free(r->mem);
	free(r);
}

static inline struct rig *rig_new(void)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct qvmi_source *src;

	CHECK(r != NULL);
	r->fd = r->lfd = -1;
	qvmi_test_defer(rig_free, r);
	snprintf(r->dir, sizeof(r->dir), "/tmp/kvmi-unit-XXXXXX");
	CHECK(mkdtemp(r->dir) != NULL);
	snprintf(r->sock, sizeof(r->sock), "%s/tool.sock", r->dir);
	snprintf(r->key, sizeof(r->key), "%s/key", r->dir);
	r->mem = calloc(1, MEM_SIZE);
	CHECK(r->mem != NULL);
	for (size_t i = 0; i < MEM_SIZE; i++)
		r->mem[i] = (uint8_t)(i * 7 + (i >> 12));
	CHECK_OK(qvmi_ctx_create(&r->ctx));
	CHECK_OK(qvmi_source_testmem_create(r->ctx, r->mem, MEM_SIZE, 1, &src));
	CHECK_OK(qvmi_map_add(r->ctx, src, 0, MEM_SIZE, 0));
	CHECK_OK(qvmi__ram_add(r->ctx, 0, MEM_SIZE));
	r->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(r->lfd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r->sock);
	CHECK_OK(bind(r->lfd, (struct sockaddr *)&sa, sizeof(sa)));
	CHECK_OK(listen(r->lfd, 4));
	return r;
}

static inline void rig_start(struct rig *r, struct qvmid_kvmi_opts *o)
{
	o->connect_addr = r->sock;
	o->reconnect_ms = o->reconnect_ms ?: 50;
	CHECK_OK(qvmid_kvmi_create(r->ctx, o, &r->k));
	CHECK_OK(pthread_create(&r->thr, NULL, loop, r->k));
	r->running = true;
}

static inline void read_all(int fd, void *buf, size_t n)
{
	uint8_t *b = buf;

	while (n) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t got;

		CHECK_INT(poll(&p, 1, IO_MS), ==, 1);
		got = read(fd, b, n);
		CHECK_MSG(got > 0, "read: %zd", got);
		b += got;
		n -= (size_t)got;
	}
}

/* The connection closes within IO_MS (EOF, nothing else before it). */
static inline void expect_eof(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	uint8_t b[64];

	CHECK_INT(poll(&p, 1, IO_MS), ==, 1);
	CHECK_INT(read(fd, b, sizeof(b)), ==, 0);
}

/* Accept qvmid's dial, take its handshake (size hs), answer with cookie
 * (NULL: zeros, as LibVMI and libkvmi send). */
static inline void tool_accept(struct rig *r, size_t hs, const uint8_t *cookie)
{
	struct pollfd p = { r->lfd, POLLIN, 0 };
	uint8_t b[QVMI_KVMI_HS_V12], ans[24] = { 0 };

	CHECK_INT(poll(&p, 1, IO_MS), ==, 1);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
	CHECK(r->fd >= 0);
	read_all(r->fd, b, hs);
	CHECK_INT(qvmi__kvmi_u32(b), ==, hs);
	qvmi__kvmi_put32(ans, 24);
	if (cookie)
		memcpy(ans + 4, cookie, 20);
	CHECK_INT(write(r->fd, ans, sizeof(ans)), ==, 24);
}

static inline uint32_t send_msg(struct rig *r, uint16_t id, const void *p,
				size_t n)
{
	uint8_t b[QVMI_KVMI_HDR + QVMI_KVMI_MAX_PAYLOAD];
	struct qvmi_kvmi_hdr h = { id, (uint16_t)n, ++r->seq };

	qvmi__kvmi_hdr_encode(&h, b);
	if (n)
		memcpy(b + QVMI_KVMI_HDR, p, n);
	CHECK_INT(write(r->fd, b, QVMI_KVMI_HDR + n), ==,
		  (ssize_t)(QVMI_KVMI_HDR + n));
	return h.seq;
}

/* Read the reply to (id, seq): its error code, data into out (up to
 * cap; *n = data size). */
static inline int32_t get_reply(struct rig *r, uint16_t id, uint32_t seq,
				void *out, size_t cap, size_t *n)
{
	uint8_t b[QVMI_KVMI_HDR + QVMI_KVMI_MAX_PAYLOAD];
	struct qvmi_kvmi_hdr h;
	const char *why;

	read_all(r->fd, b, QVMI_KVMI_HDR);
	CHECK_OK(qvmi__kvmi_hdr_decode(b, &h, &why));
	CHECK_INT(h.id, ==, id);
	CHECK_INT(h.seq, ==, seq);
	CHECK_INT(h.size, >=, QVMI_KVMI_ERR);
	read_all(r->fd, b + QVMI_KVMI_HDR, h.size);
	if (n)
		*n = h.size - QVMI_KVMI_ERR;
	if (out)
		memcpy(out, b + QVMI_KVMI_HDR + QVMI_KVMI_ERR,
		       QVMI_MIN(cap, (size_t)h.size - QVMI_KVMI_ERR));
	return (int32_t)qvmi__kvmi_u32(b + QVMI_KVMI_HDR);
}

static inline int32_t call(struct rig *r, uint16_t id, const void *p, size_t n,
			   void *out, size_t cap, size_t *got)
{
	uint32_t seq = send_msg(r, id, p, n);

	return get_reply(r, id, seq, out, cap, got);
}

static inline struct rig *started(struct qvmid_kvmi_opts *o)
{
	struct rig *r = rig_new();
	struct qvmid_kvmi_opts def = { 0 };

	rig_start(r, o ? o : &def);
	tool_accept(r, o && o->v12 ? 104 : 96, NULL);
	return r;
}

#endif
