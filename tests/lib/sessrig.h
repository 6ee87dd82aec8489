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
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "qvmi.h"
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

#endif
