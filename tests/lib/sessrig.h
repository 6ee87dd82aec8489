/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The session test rig shared by the session suites (test-session,
 * test-session-tcp, test-sessbp, test-lifecycle): qvmid's session server
 * (or its QMP proxy loop with the session inside) in a thread over a ctx
 * the test fills, a 0600 key file, socket and ledger paths unique to the
 * case, and a libqvmi tool that connects with that key.
 *
 * The rig is freed when the test ends, passed or failed
 * (qvmi_test_defer): a failed CHECK used to leave the server thread
 * running on the test's dead stack frame, which crashed later suites.
 *
 * Header-only, like gdb-model.h: the tests/lib C files also link into the
 * integration runner, which has no qvmid objects.
 */
#ifndef QVMI_TEST_SESSRIG_H
#define QVMI_TEST_SESSRIG_H

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "qvmi.h"
#include "proto/session-auth.h"
#include "proto/session-wire.h"
#include "../../daemon/qmp-proxy.h"
#include "../../daemon/session-server.h"

struct sessrig {
	struct qvmi_ctx *ctx; /* qvmid's: the test adds sources first */
	struct qvmid_session_server *s; /* sessrig_serve */
	struct qvmid_proxy *p; /* sessrig_serve_proxy */
	pthread_t thr;
	bool started, joined, stopped;
	int rc;
	uint8_t key[32];
	char path[108], keyfile[108], ledger[128];
};

static inline __attribute__((unused)) void *sessrig_main(void *arg)
{
	struct sessrig *r = arg;

	r->rc = r->p ? qvmid_proxy_run(r->p) : qvmid_session_server_run(r->s);
	return NULL;
}

static inline __attribute__((unused)) void sessrig_halt(struct sessrig *r)
{
	if (!r->started || r->joined)
		return;
	r->joined = true;
	if (r->p)
		qvmid_proxy_stop(r->p);
	else
		qvmid_session_server_stop(r->s);
	pthread_join(r->thr, NULL);
}

/* Stop the thread: the stats and the ctx are the test's to read then. */
static inline __attribute__((unused)) void sessrig_join(struct sessrig *r)
{
	bool was = r->joined;

	sessrig_halt(r);
	if (r->started && !was)
		CHECK_INT(r->rc, ==, 0);
}

static inline __attribute__((unused)) void sessrig_release(struct sessrig *r)
{
	if (r->stopped)
		return;
	r->stopped = true;
	sessrig_halt(r);
	if (r->p)
		qvmid_proxy_destroy(r->p); /* and its session server */
	else
		qvmid_session_server_destroy(r->s);
	qvmi_ctx_destroy(r->ctx);
	unlink(r->keyfile);
	unlink(r->ledger);
}

/* Join (the loop must have ended well), then destroy the server, the ctx
 * and the files. */
static inline __attribute__((unused)) void sessrig_stop(struct sessrig *r)
{
	sessrig_join(r);
	sessrig_release(r);
}

static inline __attribute__((unused)) void sessrig_free(void *arg)
{
	struct sessrig *r = arg;

	sessrig_release(r);
	free(r);
}

/*
 * A rig named tag (/tmp/qvmi-test-TAG-PID-N.sock, .key, .sock.ledger),
 * its key file holding key, its ctx created.  Freed when the test ends.
 */
static inline __attribute__((unused)) struct sessrig *
sessrig_create(const char *tag, const uint8_t key[32])
{
	static int seq;
	struct sessrig *r = calloc(1, sizeof(*r));
	int fd, n = seq++;

	CHECK(r);
	memcpy(r->key, key, sizeof(r->key));
	snprintf(r->path, sizeof(r->path), "/tmp/qvmi-test-%s-%d-%d.sock", tag,
		 (int)getpid(), n);
	snprintf(r->keyfile, sizeof(r->keyfile), "/tmp/qvmi-test-%s-%d-%d.key",
		 tag, (int)getpid(), n);
	snprintf(r->ledger, sizeof(r->ledger), "%s.ledger", r->path);
	unlink(r->path);
	unlink(r->ledger);
	qvmi_test_defer(sessrig_free, r);
	r->stopped = true; /* nothing to release until serve */
	CHECK_OK(qvmi_ctx_create(&r->ctx));
	r->stopped = false;
	fd = open(r->keyfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_INT(write(fd, key, 32), ==, 32);
	close(fd);
	return r;
}

/* The session server on r->path (or TCP only, with on_unix false), with
 * the rig's key unless o names one, in a thread. */
static inline __attribute__((unused)) void
sessrig_serve(struct sessrig *r, struct qvmid_session_opts *o, bool on_unix)
{
	if (!o->key && !o->key_path) {
		o->key = r->key;
		o->key_len = sizeof(r->key);
	}
	CHECK_OK(qvmid_session_server_create(r->ctx, on_unix ? r->path : NULL,
					     o, &r->s));
	CHECK_INT(pthread_create(&r->thr, NULL, sessrig_main, r), ==, 0);
	r->started = true;
}

/* qvmid's whole loop: the proxy p (on r->ctx, the session added or not),
 * in a thread; the rig destroys it. */
static inline __attribute__((unused)) void
sessrig_serve_proxy(struct sessrig *r, struct qvmid_proxy *p)
{
	r->p = p;
	CHECK_INT(pthread_create(&r->thr, NULL, sessrig_main, r), ==, 0);
	r->started = true;
}

/* A tool: a session with the rig's key file on where (NULL: r->path). */
static inline __attribute__((unused)) int
sessrig_open(struct sessrig *r, const char *where, struct qvmi_ctx **ret)
{
	QVMI_OPTS(qvmi_session_opts, o, .key_path = r->keyfile,
		  .timeout_ms = 3000);

	CHECK_OK(qvmi_ctx_create(ret));
	return qvmi_session_open(*ret, where ? where : r->path, &o);
}

static inline __attribute__((unused)) void sessrig_ctx_free(void *arg)
{
	qvmi_ctx_destroy(arg);
}

static inline __attribute__((unused)) void sessrig_sleep_ms(int ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L },
		  NULL);
}

/* ---- a raw client: forged frames (before and after authentication) ------- */

struct raw {
	int fd;
	uint32_t seq;
	uint8_t t[QVMI_SES_TRANSCRIPT]; /* HELLO request + reply */
	uint8_t auth[QVMI_SES_HDR + QVMI_SES_MAC]; /* the AUTH frame sent */
};

static inline __attribute__((unused)) int64_t sessrig_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline __attribute__((unused)) void raw_connect(struct raw *r,
						       const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(r, 0, sizeof(*r));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	r->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(r->fd >= 0);
	CHECK_OK(connect(r->fd, (struct sockaddr *)&sa, sizeof(sa)));
}

static inline __attribute__((unused)) void raw_send(struct raw *r,
						    const void *b, size_t n)
{
	CHECK_INT(send(r->fd, b, n, MSG_NOSIGNAL), ==, (long)n);
}

/* Read exactly n bytes within 3 s: 0, or -1 on EOF/timeout. */
static inline __attribute__((unused)) int raw_read(struct raw *r, void *buf,
						   size_t n)
{
	uint8_t *b = buf;
	int64_t end = sessrig_now_ms() + 3000;

	while (n) {
		struct pollfd p = { r->fd, POLLIN, 0 };
		ssize_t k;

		if (poll(&p, 1, (int)(end - sessrig_now_ms())) <= 0)
			return -1;
		k = recv(r->fd, b, n, 0);
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* One frame; payload into buf (size >= its size).  -1 on EOF/timeout. */
static inline __attribute__((unused)) int
raw_frame(struct raw *r, struct qvmi_ses_hdr *h, uint8_t *buf, size_t size)
{
	uint8_t hb[QVMI_SES_HDR];

	if (raw_read(r, hb, sizeof(hb)))
		return -1;
	CHECK_OK(qvmi__ses_hdr_decode(hb, h, NULL));
	CHECK(h->size <= size);
	return raw_read(r, buf, h->size);
}

/* The server closes: an ERROR frame with err, then EOF. */
static inline __attribute__((unused)) void raw_expect_close(struct raw *r,
							    uint32_t err)
{
	struct qvmi_ses_hdr h;
	uint8_t buf[512], x;

	CHECK_OK(raw_frame(r, &h, buf, sizeof(buf)));
	CHECK_INT(h.msg, ==, QVMI_SES_ERROR);
	CHECK_INT(h.error, ==, err);
	CHECK_INT(raw_read(r, &x, 1), ==, -1);
	close(r->fd);
}

static inline __attribute__((unused)) void raw_hello(struct raw *r)
{
	uint8_t p[QVMI_SES_HELLO_REQ] = { 0 }, rep[64];
	struct qvmi_ses_hdr h;

	qvmi__ses_put16(p, 1);
	qvmi__ses_put16(p + 2, 1);
	CHECK_OK(qvmi__ses_nonce(p + 8));
	qvmi__ses_frame(r->t, 0, QVMI_SES_HELLO, ++r->seq, 0, p, sizeof(p));
	raw_send(r, r->t, QVMI_SES_HDR + sizeof(p));
	CHECK_OK(raw_frame(r, &h, rep, sizeof(rep)));
	CHECK_INT(h.msg, ==, QVMI_SES_HELLO);
	CHECK_INT(h.size, ==, QVMI_SES_HELLO_REP);
	qvmi__ses_frame(r->t + QVMI_SES_HDR + sizeof(p), QVMI_SES_F_REPLY,
			QVMI_SES_HELLO, h.seq, 0, rep, h.size);
}

static inline __attribute__((unused)) void
raw_send_auth(struct raw *r, const uint8_t mac[QVMI_SES_MAC])
{
	qvmi__ses_frame(r->auth, 0, QVMI_SES_AUTH, ++r->seq, 0, mac,
			QVMI_SES_MAC);
	raw_send(r, r->auth, sizeof(r->auth));
}

/* A full, correct handshake; returns with the AUTH reply read. */
static inline __attribute__((unused)) void
sessraw_auth(struct raw *r, const char *path, const uint8_t *key)
{
	struct qvmi_ses_key k;
	uint8_t mac[QVMI_SES_MAC], *buf = malloc(1 << 16);
	struct qvmi_ses_hdr h;

	CHECK(buf);
	raw_connect(r, path);
	raw_hello(r);
	memset(&k, 0, sizeof(k));
	CHECK_OK(qvmi__ses_key_set(&k, key, 32));
	CHECK_OK(qvmi__ses_mac(&k, QVMI_SES_ROLE_CLIENT, r->t, sizeof(r->t),
			       NULL, 0, mac));
	raw_send_auth(r, mac);
	CHECK_OK(raw_frame(r, &h, buf, 1 << 16));
	CHECK_INT(h.msg, ==, QVMI_SES_AUTH);
	CHECK_INT(h.error, ==, 0);
	qvmi__ses_key_clear(&k);
	free(buf);
}

/* Send a request frame (seq taken care of); read its reply header and
 * payload into buf. */
static inline __attribute__((unused)) void raw_call(struct raw *r, uint16_t msg,
						    const void *p, size_t n,
						    struct qvmi_ses_hdr *h,
						    uint8_t *buf, size_t size)
{
	uint8_t *f = malloc(QVMI_SES_HDR + qvmi__ses_pad8(n));

	CHECK(f);
	n = qvmi__ses_frame(f, 0, msg, ++r->seq, 0, p, n);
	raw_send(r, f, n);
	free(f);
	CHECK_OK(raw_frame(r, h, buf, size));
	CHECK_INT(h->msg, ==, msg);
	CHECK_INT(h->seq, ==, r->seq);
}

#endif
