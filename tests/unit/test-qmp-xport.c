// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * QMP over a transport that is not a socket (src/proto/qmp-xport.c), as
 * libvirt's virDomainQemuMonitorCommand is one: a scripted transport
 * answers each command with the next reply of its script, and records
 * what it was asked.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "core/internal.h"
#include "proto/qmp.h"

enum { SCRIPT_MAX = 16 };

struct fake {
	const char *reply[SCRIPT_MAX]; /* NULL: fail with err[i] */
	int err[SCRIPT_MAX];
	unsigned int n, next;
	char *seen[SCRIPT_MAX]; /* the commands, as the transport got them */
	int destroyed;
};

static int fake_exec(void *priv, struct qvmi_ctx *ctx, const char *cmd,
		     char **ret)
{
	struct fake *f = priv;
	unsigned int i = f->next++;

	*ret = NULL;
	if (i >= f->n)
		return qvmi__err(ctx, -EIO, "script ended");
	f->seen[i] = strdup(cmd);
	if (!f->reply[i])
		return qvmi__err(ctx, f->err[i], "transport failed");
	*ret = strdup(f->reply[i]);
	return *ret ? 0 : -ENOMEM;
}

static void fake_destroy(void *priv)
{
	((struct fake *)priv)->destroyed++;
}

static const struct qvmi_qmp_xport_ops fake_ops = {
	.name = "fake",
	.exec = fake_exec,
	.destroy = fake_destroy,
};

static const char version_reply[] =
	"{\"return\": {\"qemu\": {\"micro\": 19, \"minor\": 2, \"major\": 7},"
	" \"package\": \"Debian\"}, \"id\": \"libvirt-1\"}";

static void fake_free(struct fake *f)
{
	for (unsigned int i = 0; i < SCRIPT_MAX; i++)
		free(f->seen[i]);
}

static struct qvmi_qmp *open_fake(struct qvmi_ctx *ctx, struct fake *f)
{
	struct qvmi_qmp *q = NULL;

	f->reply[0] = version_reply;
	CHECK_OK(qvmi__qmp_open_xport(ctx, &fake_ops, f, 1000, &q));
	return q;
}

/* The greeting comes from query-version; a command goes without our id
 * and its reply comes back matched (libvirt's own id replaced). */
static void test_xport_execute(void)
{
	struct fake f = { .n = 3 };
	struct qvmi_ctx *ctx = NULL;
	struct json_object *r = NULL, *v;
	struct qvmi_qmp *q;
	size_t glen;

	CHECK_OK(qvmi_ctx_create(&ctx));
	f.reply[1] = "{\"return\": {\"status\": \"running\", \"running\": "
		     "true}, \"id\": \"libvirt-7\"}";
	f.reply[2] = "{\"return\": \"RIP=ffffffff81000000\\r\\n\", "
		     "\"id\": \"libvirt-8\"}";
	q = open_fake(ctx, &f);
	CHECK_STR(qvmi__qmp_version(q), "7.2.19");
	CHECK(strstr(qvmi__qmp_greeting(q, &glen), "\"QMP\"") != NULL);
	CHECK_STR(qvmi__qmp_xport_name(q), "fake");
	CHECK_OK(qvmi__qmp_execute(q, "query-status", NULL, &r));
	CHECK(json_object_object_get_ex(r, "status", &v));
	CHECK_STR(json_object_get_string(v), "running");
	json_object_put(r);
	CHECK(f.seen[1] && !strstr(f.seen[1], "\"id\""));
	CHECK(f.seen[1] && strstr(f.seen[1], "\"query-status\""));
	char *out = NULL;
	CHECK_OK(qvmi__qmp_hmp(q, "info registers", &out));
	CHECK_STR(out, "RIP=ffffffff81000000\r\n");
	free(out);
	CHECK(strstr(f.seen[2], "\"command-line\":\"info registers\""));
	CHECK_INT(qvmi__qmp_fd(q), ==, -1);
	CHECK_INT(qvmi__qmp_peer_pid(q), ==, 0);
	qvmi__qmp_close(q);
	CHECK_INT(f.destroyed, ==, 1);
	fake_free(&f);
	qvmi_ctx_destroy(ctx);
}

struct got {
	int err[4];
	int64_t val[4];
	int n;
};

static void on_reply(int err, struct json_object *ret, void *arg)
{
	struct got *g = arg;
	struct json_object *v;

	g->err[g->n] = err;
	g->val[g->n] = !err && json_object_object_get_ex(ret, "n", &v) ?
			       json_object_get_int64(v) :
			       -1;
	g->n++;
}

/* Pipelined commands run in order when synced, each reply to its own
 * callback; a QMP error is that command's alone. */
static void test_xport_pipeline(void)
{
	struct fake f = { .n = 4 };
	struct qvmi_ctx *ctx = NULL;
	struct got g = { 0 };
	struct qvmi_qmp *q;

	CHECK_OK(qvmi_ctx_create(&ctx));
	f.reply[1] = "{\"return\": {\"n\": 1}}";
	f.reply[2] = "{\"error\": {\"class\": \"GenericError\", \"desc\": "
		     "\"no\"}, \"id\": \"libvirt-3\"}";
	f.reply[3] = "{\"return\": {\"n\": 3}}";
	q = open_fake(ctx, &f);
	CHECK_OK(qvmi__qmp_send(q, "a", NULL, on_reply, &g));
	CHECK_OK(qvmi__qmp_send(q, "b", NULL, on_reply, &g));
	CHECK_OK(qvmi__qmp_send(q, "c", NULL, on_reply, &g));
	CHECK_INT(f.next, ==, 1u); /* nothing ran before the sync */
	CHECK_OK(qvmi__qmp_sync(q));
	CHECK_INT(g.n, ==, 3);
	CHECK_INT(g.err[0], ==, 0);
	CHECK_INT(g.val[0], ==, 1);
	CHECK_INT(g.err[1], ==, -EREMOTEIO);
	CHECK_INT(g.err[2], ==, 0);
	CHECK_INT(g.val[2], ==, 3);
	qvmi__qmp_close(q);
	fake_free(&f);
	qvmi_ctx_destroy(ctx);
}

/* A failed transport (the domain went away) breaks the connection for
 * good, as a closed socket does. */
static void test_xport_failure(void)
{
	struct fake f = { .n = 2 };
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_qmp *q;

	CHECK_OK(qvmi_ctx_create(&ctx));
	f.err[1] = -EPIPE;
	q = open_fake(ctx, &f);
	CHECK_INT(qvmi__qmp_execute(q, "stop", NULL, NULL), ==, -EPIPE);
	CHECK(strstr(qvmi_errmsg(ctx), "transport failed") != NULL);
	CHECK_INT(qvmi__qmp_execute(q, "cont", NULL, NULL), ==, -EPIPE);
	CHECK_INT(f.next, ==, 2u); /* not asked again */
	qvmi__qmp_close(q);
	fake_free(&f);
	qvmi_ctx_destroy(ctx);
}

/* What libvirt hands back is QEMU's output: anything but one JSON object
 * is a protocol error, never a crash or a wrong answer. */
static void test_xport_bad_replies(void)
{
	static const char *const bad[] = {
		"",	      "not json",	  "[1, 2]",
		"null",	      "{\"return\": 1",	  "{\"return\": {}} trailing",
		"\"string\"", "{\"neither\": 1}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fake f = { .n = 2 };
		struct qvmi_ctx *ctx = NULL;
		struct qvmi_qmp *q;
		int err;

		CHECK_OK(qvmi_ctx_create(&ctx));
		f.reply[1] = bad[i];
		q = open_fake(ctx, &f);
		err = qvmi__qmp_execute(q, "query-status", NULL, NULL);
		CHECK_MSG(err == -EPROTO, "reply '%s': %d", bad[i], err);
		qvmi__qmp_close(q);
		fake_free(&f);
		qvmi_ctx_destroy(ctx);
	}
}

/* No usable version: no connection, and the transport is destroyed. */
static void test_xport_open_fails(void)
{
	static const char *const replies[] = {
		"{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"x\"}}",
		"{\"return\": {\"qemu\": {\"major\": -1, \"minor\": 0, "
		"\"micro\": 0}}}",
		"{\"return\": {}}",
		NULL,
	};

	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		struct fake f = { .n = 1 };
		struct qvmi_ctx *ctx = NULL;
		struct qvmi_qmp *q = (struct qvmi_qmp *)&f;

		CHECK_OK(qvmi_ctx_create(&ctx));
		f.reply[0] = replies[i];
		f.err[0] = -EIO;
		CHECK(qvmi__qmp_open_xport(ctx, &fake_ops, &f, 1000, &q) < 0);
		CHECK(q == NULL);
		CHECK_INT(f.destroyed, ==, 1);
		fake_free(&f);
		qvmi_ctx_destroy(ctx);
	}
}

/* No events come through the transport: a VM seen paused may have been
 * resumed by another client since, so slow reads are not cached (with
 * a socket, the RESUME event would flush the cache). */
static void test_xport_no_stale_cache(void)
{
	struct fake f = { .n = 2 };
	struct qvmi_source src = { 0 };
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_qmp *q;

	CHECK_OK(qvmi_ctx_create(&ctx));
	f.reply[1] = "{\"return\": {\"status\": \"paused\", \"running\": "
		     "false}}";
	q = open_fake(ctx, &f);
	ctx->qmp = q;
	ctx->qmp_close = qvmi__qmp_close;
	CHECK_OK(qvmi__ctl_qmp_install(ctx, q));
	CHECK_INT(ctx->vm_state, ==, QVMI_VM_PAUSED);
	src.ctx = ctx;
	CHECK(!qvmi__cache_usable(ctx, &src));
	CHECK_INT(ctx->vm_state, ==, QVMI_VM_UNKNOWN);
	qvmi_ctx_destroy(ctx); /* closes q */
	CHECK_INT(f.destroyed, ==, 1);
	fake_free(&f);
}

static const struct qvmi_test qmp_xport_tests[] = {
	{ "no_stale_cache", test_xport_no_stale_cache },
	{ "execute", test_xport_execute },
	{ "pipeline", test_xport_pipeline },
	{ "failure", test_xport_failure },
	{ "bad_replies", test_xport_bad_replies },
	{ "open_fails", test_xport_open_fails },
};
QVMI_SUITE(qmp_xport, qmp_xport_tests);
