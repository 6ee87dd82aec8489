// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The QMP client against scripted fake peers (tests/lib/fakeqmp.c), and the
 * JSON stream splitter on its own.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fakeqmp.h"
#include "harness.h"
#include "proto/qmp.h"

static struct qvmi_ctx *new_ctx(void)
{
	struct qvmi_ctx *ctx = NULL;

	CHECK_OK(qvmi_ctx_create(&ctx));
	return ctx;
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void finish(struct fakeqmp *f)
{
	char msg[256];

	CHECK_MSG(fakeqmp_finish(f, msg, sizeof(msg)) == 0, "peer: %s", msg);
}

/* ---- JSON stream splitter ----------------------------------------------- */

static void test_stream_split(void)
{
	static const char in[] = "{\"a\": 1}\r\n{\"b\": [1, {\"c\": \"}\"}]}"
				 "  \n\n{\"event\": \"STOP\"}\r\n";
	struct qvmi_json_stream js;
	struct json_object *o;
	int got = 0;

	/* byte by byte: every split point of every message */
	CHECK_OK(qvmi__json_stream_init(&js, 1024));
	for (size_t i = 0; i < sizeof(in) - 1; i++) {
		CHECK_OK(qvmi__json_stream_feed(&js, in + i, 1));
		while (qvmi__json_stream_next(&js, &o) == 1) {
			got++;
			if (got == 2) {
				struct json_object *b, *c;

				CHECK(json_object_object_get_ex(o, "b", &b));
				c = json_object_array_get_idx(b, 1);
				CHECK(json_object_object_get_ex(c, "c", &c));
				CHECK_STR(json_object_get_string(c), "}");
			}
			json_object_put(o);
		}
	}
	CHECK_INT(got, ==, 3);
	CHECK(!qvmi__json_stream_partial(&js));
	qvmi__json_stream_deinit(&js);

	/* all at once */
	CHECK_OK(qvmi__json_stream_init(&js, 1024));
	CHECK_OK(qvmi__json_stream_feed(&js, in, sizeof(in) - 1));
	got = 0;
	while (qvmi__json_stream_next(&js, &o) == 1) {
		got++;
		json_object_put(o);
	}
	CHECK_INT(got, ==, 3);
	/* half a message is "partial" */
	CHECK_OK(qvmi__json_stream_feed(&js, "{\"x\":", 5));
	CHECK_INT(qvmi__json_stream_next(&js, &o), ==, 0);
	CHECK(qvmi__json_stream_partial(&js));
	qvmi__json_stream_deinit(&js);
}

static void test_stream_errors(void)
{
	static const char *const bad[] = { "hello\n", "{\"a\": 1,}\n",
					   "{\"a\": tru}\n", "null\n",
					   "{\"a\" 1}" };
	struct qvmi_json_stream js;
	struct json_object *o;
	char big[200];

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(bad); i++) {
		CHECK_OK(qvmi__json_stream_init(&js, 1024));
		CHECK_OK(qvmi__json_stream_feed(&js, bad[i], strlen(bad[i])));
		CHECK_INT(qvmi__json_stream_next(&js, &o), ==, -EBADMSG);
		CHECK(!o);
		/* sticky: the stream cannot resynchronise */
		CHECK_INT(qvmi__json_stream_feed(&js, "{}", 2), ==, -EBADMSG);
		CHECK_INT(qvmi__json_stream_next(&js, &o), ==, -EBADMSG);
		qvmi__json_stream_deinit(&js);
	}

	/* one value larger than max_msg, fed in pieces */
	CHECK_OK(qvmi__json_stream_init(&js, 64));
	memset(big, 'x', sizeof(big));
	big[0] = '"';
	for (int i = 0; i < 5; i++) {
		int err = qvmi__json_stream_feed(&js, big + (i ? 1 : 0), 40);

		if (err == 0)
			err = qvmi__json_stream_next(&js, &o);
		if (i < 1)
			CHECK_INT(err, ==, 0);
		if (err) {
			CHECK_INT(err, ==, -EMSGSIZE);
			break;
		}
		CHECK_MSG(i < 2, "no -EMSGSIZE after %d bytes", (i + 1) * 40);
	}
	qvmi__json_stream_deinit(&js);

	/* a pending backlog beyond max_msg is refused at feed time */
	CHECK_OK(qvmi__json_stream_init(&js, 64));
	CHECK_INT(qvmi__json_stream_feed(&js, big, 65), ==, -EMSGSIZE);
	qvmi__json_stream_deinit(&js);
}

/* ---- connection and commands ------------------------------------------ */

static struct qvmi_qmp *open_peer(struct qvmi_ctx *ctx,
				  const struct fq_step *script,
				  struct fakeqmp **f, int timeout_ms)
{
	struct qvmi_qmp *q = NULL;
	int fd = -1;

	*f = fakeqmp_start(script, NULL, NULL, &fd);
	CHECK(*f);
	CHECK_OK(qvmi__qmp_open_fd(ctx, fd, timeout_ms, &q));
	return q;
}

#define HANDSHAKE                                            \
	{ FQ_SEND, FQ_GREETING, 0, 0 },                      \
		{ FQ_EXPECT, "\"qmp_capabilities\"", 0, 0 }, \
	{                                                    \
		FQ_SEND, FQ_OK, 0, 0                         \
	}

static void test_open_and_execute(void)
{
	static const struct fq_step script[] = {
		HANDSHAKE,
		{ FQ_EXPECT, "\"execute\":\"query-status\"" },
		{ FQ_SEND, "{\"return\": {\"status\": \"running\", "
			   "\"singlestep\": false, \"running\": true}, "
			   "\"id\": %ID%}\r\n" },
		{ FQ_EXPECT, "\"human-monitor-command\"" },
		{ FQ_SEND, "{\"return\": \"Host virtual address for "
			   "0x1000000 (pc.ram) is 0x7fde88e00000\\r\\n\", "
			   "\"id\": %ID%}\r\n" },
		{ FQ_WAIT_EOF },
		{ FQ_END },
	};
	struct qvmi_ctx *ctx = new_ctx();
	struct json_object *r = NULL, *st;
	struct fakeqmp *f;
	struct qvmi_qmp *q = open_peer(ctx, script, &f, 2000);
	char *out;

	CHECK_STR(qvmi__qmp_version(q), "7.2.22");
	/* socketpair: the peer is this very process */
	CHECK_INT(qvmi__qmp_peer_pid(q), ==, getpid());
	CHECK(qvmi__qmp_fd(q) >= 0);
	CHECK(qvmi__qmp_ctx(q) == ctx);
	CHECK_OK(qvmi__qmp_execute(q, "query-status", NULL, &r));
	CHECK(json_object_object_get_ex(r, "status", &st));
	CHECK_STR(json_object_get_string(st), "running");
	json_object_put(r);
	CHECK_OK(qvmi__qmp_hmp(q, "gpa2hva 0x1000000", &out));
	CHECK_STR(out, "Host virtual address for 0x1000000 (pc.ram) is "
		       "0x7fde88e00000\r\n");
	free(out);
	qvmi__qmp_close(q);
	finish(f);
	qvmi_ctx_destroy(ctx);
}

struct ev_log {
	char names[8][16];
	int n;
};

static void log_event(const char *event, struct json_object *ev, void *arg)
{
	struct ev_log *l = arg;

	if (l->n < 8)
		snprintf(l->names[l->n++], sizeof(l->names[0]), "%s", event);
}

static void test_events_before_reply(void)
{
	static const struct fq_step script[] = {
		HANDSHAKE,
		{ FQ_EXPECT, "\"stop\"" },
		/* two events and the reply in one write, then a split one */
		{ FQ_SEND, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": "
			   "2}, \"event\": \"STOP\"}\r\n{\"event\": \"RESET\", "
			   "\"data\": {\"guest\": true}}\r\n{\"return\": {}, "
			   "\"id\": %ID%}\r\n{\"event\": \"RES" },
		{ FQ_SLEEP, NULL, 50 },
		{ FQ_SEND, "UME\"}\r\n" },
		{ FQ_WAIT_EOF },
		{ FQ_END },
	};
	struct qvmi_ctx *ctx = new_ctx();
	struct ev_log log = { 0 };
	struct json_object *ev, *name;
	struct fakeqmp *f;
	struct qvmi_qmp *q = open_peer(ctx, script, &f, 2000);

	qvmi__qmp_set_event_cb(q, log_event, &log);
	CHECK_OK(qvmi__qmp_execute(q, "stop", NULL, NULL));
	CHECK_INT(log.n, ==, 2);
	CHECK_STR(log.names[0], "STOP");
	CHECK_STR(log.names[1], "RESET");
	CHECK_INT(qvmi__qmp_poll(q, 2000), ==, 3);
	CHECK_INT(log.n, ==, 3);
	CHECK_STR(log.names[2], "RESUME");
	CHECK_OK(qvmi__qmp_event_pop(q, &ev));
	CHECK(json_object_object_get_ex(ev, "event", &name));
	CHECK_STR(json_object_get_string(name), "STOP");
	json_object_put(ev);
	CHECK_OK(qvmi__qmp_event_pop(q, &ev));
	CHECK(json_object_object_get_ex(ev, "data", &name));
	json_object_put(ev);
	CHECK_OK(qvmi__qmp_event_pop(q, &ev));
	json_object_put(ev);
	CHECK_INT(qvmi__qmp_event_pop(q, &ev), ==, -ENOENT);
	CHECK(!ev);
	CHECK_INT(qvmi__qmp_poll(q, 0), ==, 0);
	qvmi__qmp_close(q);
	finish(f);
	qvmi_ctx_destroy(ctx);
}

static void test_error_reply(void)
{
	static const struct fq_step script[] = {
		HANDSHAKE,
		{ FQ_EXPECT, "\"no-such\"" },
		{ FQ_SEND, "{\"id\": %ID%, \"error\": {\"class\": "
			   "\"CommandNotFound\", \"desc\": \"The command "
			   "no-such has not been found\"}}\r\n" },
		{ FQ_EXPECT, "\"query-status\"" },
		{ FQ_SEND, "{\"return\": 42, \"id\": %ID%}\r\n" },
		{ FQ_WAIT_EOF },
		{ FQ_END },
	};
	struct qvmi_ctx *ctx = new_ctx();
	struct json_object *r = (void *)1;
	struct fakeqmp *f;
	struct qvmi_qmp *q = open_peer(ctx, script, &f, 2000);

	CHECK_INT(qvmi__qmp_execute(q, "no-such", NULL, &r), ==, -EREMOTEIO);
	CHECK(!r);
	CHECK(strstr(qvmi_errmsg(ctx), "CommandNotFound"));
	CHECK(strstr(qvmi_errmsg(ctx), "no-such has not been found"));
	/* the connection stays usable after an error reply */
	CHECK_OK(qvmi__qmp_execute(q, "query-status", NULL, &r));
	CHECK_INT(json_object_get_int(r), ==, 42);
	json_object_put(r);
	qvmi__qmp_close(q);
	finish(f);
	qvmi_ctx_destroy(ctx);
}

static void test_timeout_then_late_reply(void)
{
	static const struct fq_step script[] = {
		HANDSHAKE,
		{ FQ_EXPECT, "\"slow\"" },
		/* never answered in time ... */
		{ FQ_EXPECT, "\"fast\"" },
		/* ... its late reply arrives first and must be dropped */
		{ FQ_SEND, "{\"return\": 1, \"id\": \"qvmi-2\"}\r\n"
			   "{\"return\": 2, \"id\": %ID%}\r\n" },
		{ FQ_WAIT_EOF },
		{ FQ_END },
	};
	struct qvmi_ctx *ctx = new_ctx();
	struct json_object *r;
	struct timespec t0;
	struct fakeqmp *f;
	struct qvmi_qmp *q = open_peer(ctx, script, &f, 2000);

	qvmi__qmp_set_timeout(q, 100);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(qvmi__qmp_execute(q, "slow", NULL, &r), ==, -ETIMEDOUT);
	CHECK(elapsed_ms(&t0) >= 90 && elapsed_ms(&t0) < 1000);
	CHECK(strstr(qvmi_errmsg(ctx), "no reply in 100 ms"));
	CHECK_OK(qvmi__qmp_execute(q, "fast", NULL, &r));
	CHECK_INT(json_object_get_int(r), ==, 2);
	json_object_put(r);
	qvmi__qmp_close(q);
	finish(f);
	qvmi_ctx_destroy(ctx);
}

static void slow_event(const char *event, struct json_object *ev, void *arg)
{
	usleep(100);
}

static void test_event_flood_times_out(void)
{
	static const struct fq_step script[] = {
		HANDSHAKE,
		{ FQ_EXPECT, "\"query-status\"" },
		/* 3 s: a client that waits for the flood's end returns
		 * after it */
		{ FQ_FLOOD, NULL, 3000 },
		{ FQ_WAIT_EOF },
		{ FQ_END },
	};
	struct qvmi_ctx *ctx = new_ctx();
	struct timespec t0;
	struct fakeqmp *f;
	struct qvmi_qmp *q = open_peer(ctx, script, &f, 2000);
	long ms;

	qvmi__qmp_set_timeout(q, 200);
	/* a slow consumer: the socket never runs dry */
	qvmi__qmp_set_event_cb(q, slow_event, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(qvmi__qmp_execute(q, "query-status", NULL, NULL), ==,
		  -ETIMEDOUT);
	ms = elapsed_ms(&t0);
	/* bounded by the flood, not by 1 s: a loaded host (load 33 seen)
	 * stretched the 200 ms to 1.7 s */
	CHECK_MSG(ms >= 190 && ms < 3000, "timed out after %ld ms", ms);
	/* the queue kept only the newest events */
	CHECK_INT(qvmi__qmp_poll(q, 0), ==, QVMI_QMP_MAX_EVENTS);
	qvmi__qmp_close(q);
	finish(f);
	qvmi_ctx_destroy(ctx);
}

static void test_closed_mid_reply(void)
{
	static const struct fq_step script[] = {
		HANDSHAKE,
		{ FQ_EXPECT, "\"query-status\"" },
		{ FQ_SEND, "{\"return\": {\"status\": \"runn" },
		{ FQ_END },
	};
	struct qvmi_ctx *ctx = new_ctx();
	struct json_object *r;
	struct fakeqmp *f;
	struct qvmi_qmp *q = open_peer(ctx, script, &f, 2000);
	struct timespec t0;

	CHECK_INT(qvmi__qmp_execute(q, "query-status", NULL, &r), ==, -EPIPE);
	CHECK(strstr(qvmi_errmsg(ctx), "closed by peer mid-message"));
	finish(f);
	/* broken for good, and says so at once */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(qvmi__qmp_execute(q, "query-status", NULL, &r), ==, -EPIPE);
	CHECK_INT(qvmi__qmp_poll(q, 1000), ==, -EPIPE);
	CHECK(elapsed_ms(&t0) < 100);
	CHECK(strstr(qvmi_errmsg(ctx), "connection closed"));
	qvmi__qmp_close(q);
	qvmi_ctx_destroy(ctx);
}

static void test_closed_between_messages(void)
{
	static const struct fq_step script[] = {
		HANDSHAKE,
		{ FQ_EXPECT, "\"quit\"" },
		{ FQ_END },
	};
	struct qvmi_ctx *ctx = new_ctx();
	struct fakeqmp *f;
	struct qvmi_qmp *q = open_peer(ctx, script, &f, 2000);

	CHECK_INT(qvmi__qmp_execute(q, "quit", NULL, NULL), ==, -EPIPE);
	CHECK(strstr(qvmi_errmsg(ctx), "closed by peer"));
	CHECK(!strstr(qvmi_errmsg(ctx), "mid-message"));
	qvmi__qmp_close(q);
	finish(f);
	qvmi_ctx_destroy(ctx);
}

static void test_garbage(void)
{
	static const struct fq_step script[] = {
		HANDSHAKE,
		{ FQ_EXPECT, "\"query-status\"" },
		{ FQ_SEND, "{\"event\": \"STOP\"}\r\nError: <html>\r\n" },
		{ FQ_WAIT_EOF },
		{ FQ_END },
	};
	static const struct fq_step not_object[] = {
		HANDSHAKE,
		{ FQ_EXPECT, "\"query-status\"" },
		{ FQ_SEND, "[1, 2]\r\n" },
		{ FQ_WAIT_EOF },
		{ FQ_END },
	};
	static const struct fq_step no_return[] = {
		HANDSHAKE,
		{ FQ_EXPECT, "\"query-status\"" },
		{ FQ_SEND, "{\"id\": %ID%, \"something\": 1}\r\n" },
		{ FQ_WAIT_EOF },
		{ FQ_END },
	};
	const struct fq_step *scripts[] = { script, not_object, no_return };
	struct qvmi_ctx *ctx = new_ctx();
	struct json_object *r;
	struct fakeqmp *f;

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(scripts); i++) {
		struct qvmi_qmp *q = open_peer(ctx, scripts[i], &f, 2000);

		CHECK_INT(qvmi__qmp_execute(q, "query-status", NULL, &r), ==,
			  -EPROTO);
		CHECK(!r);
		CHECK_INT(qvmi__qmp_execute(q, "query-status", NULL, &r), ==,
			  -EPROTO);
		qvmi__qmp_close(q);
		finish(f);
	}
	qvmi_ctx_destroy(ctx);
}

static void test_oversized(void)
{
	static const struct fq_step script[] = {
		HANDSHAKE,
		{ FQ_EXPECT, "\"human-monitor-command\"" },
		{ FQ_SEND_BIG, NULL, 0, QVMI_QMP_MAX_MSG + (1 << 20) },
		{ FQ_END },
	};
	struct qvmi_ctx *ctx = new_ctx();
	struct fakeqmp *f;
	struct qvmi_qmp *q = open_peer(ctx, script, &f, 5000);
	char *out = (void *)1;

	CHECK_INT(qvmi__qmp_hmp(q, "info mtree", &out), ==, -EMSGSIZE);
	CHECK(!out);
	CHECK(strstr(qvmi_errmsg(ctx), "larger than the limit"));
	qvmi__qmp_close(q); /* unblocks the peer's writes */
	finish(f);
	qvmi_ctx_destroy(ctx);
}

static void test_hmp_not_string(void)
{
	static const struct fq_step script[] = {
		HANDSHAKE,
		{ FQ_EXPECT, "\"command-line\":\"info status\"" },
		{ FQ_SEND, "{\"return\": {}, \"id\": %ID%}\r\n" },
		{ FQ_WAIT_EOF },
		{ FQ_END },
	};
	struct qvmi_ctx *ctx = new_ctx();
	struct fakeqmp *f;
	struct qvmi_qmp *q = open_peer(ctx, script, &f, 2000);
	char *out;

	CHECK_INT(qvmi__qmp_hmp(q, "info status", &out), ==, -EPROTO);
	CHECK(!out);
	qvmi__qmp_close(q);
	finish(f);
	qvmi_ctx_destroy(ctx);
}

static void test_bad_greetings(void)
{
	static const struct fq_step silent[] = { { FQ_SLEEP, NULL, 300 },
						 { FQ_END } };
	static const struct fq_step not_qmp[] = {
		{ FQ_SEND, "{\"hello\": 1}\r\n" }, { FQ_WAIT_EOF }, { FQ_END }
	};
	static const struct fq_step bad_version[] = {
		{ FQ_SEND, "{\"QMP\": {\"version\": {\"qemu\": {\"major\": "
			   "\"7\"}}}}\r\n" },
		{ FQ_WAIT_EOF },
		{ FQ_END }
	};
	static const struct fq_step caps_refused[] = {
		{ FQ_SEND, FQ_GREETING },
		{ FQ_EXPECT, "qmp_capabilities" },
		{ FQ_SEND, "{\"error\": {\"class\": \"CommandNotFound\", "
			   "\"desc\": \"Capabilities negotiation is already "
			   "complete\"}, \"id\": %ID%}\r\n" },
		{ FQ_WAIT_EOF },
		{ FQ_END }
	};
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_qmp *q = (void *)1;
	struct timespec t0;
	struct fakeqmp *f;
	int fd;

	f = fakeqmp_start(silent, NULL, NULL, &fd);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* connected, no greeting: QMP held by another client (issue 18) */
	CHECK_INT(qvmi__qmp_open_fd(ctx, fd, 100, &q), ==, -EBUSY);
	CHECK(!q);
	CHECK(elapsed_ms(&t0) < 280);
	CHECK(strstr(qvmi_errmsg(ctx), "no greeting"));
	CHECK(strstr(qvmi_errmsg(ctx), "qvmid --listen-qmp"));
	finish(f);

	f = fakeqmp_start(not_qmp, NULL, NULL, &fd);
	CHECK_INT(qvmi__qmp_open_fd(ctx, fd, 1000, &q), ==, -EPROTO);
	finish(f);
	f = fakeqmp_start(bad_version, NULL, NULL, &fd);
	CHECK_INT(qvmi__qmp_open_fd(ctx, fd, 1000, &q), ==, -EPROTO);
	CHECK(strstr(qvmi_errmsg(ctx), "version"));
	finish(f);
	f = fakeqmp_start(caps_refused, NULL, NULL, &fd);
	CHECK_INT(qvmi__qmp_open_fd(ctx, fd, 1000, &q), ==, -EREMOTEIO);
	finish(f);
	qvmi_ctx_destroy(ctx);
}

static void test_poll_waits(void)
{
	static const struct fq_step script[] = {
		HANDSHAKE,
		{ FQ_SLEEP, NULL, 150 },
		{ FQ_SEND, "{\"event\": \"POWERDOWN\"}\r\n" },
		{ FQ_WAIT_EOF },
		{ FQ_END },
	};
	struct qvmi_ctx *ctx = new_ctx();
	struct fakeqmp *f;
	struct qvmi_qmp *q = open_peer(ctx, script, &f, 2000);
	struct json_object *ev;
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(qvmi__qmp_poll(q, 0), ==, 0);
	CHECK(elapsed_ms(&t0) < 100);
	CHECK_INT(qvmi__qmp_poll(q, 3000), ==, 1);
	/* returned when the event came, not at the timeout */
	CHECK(elapsed_ms(&t0) < 2000);
	CHECK_OK(qvmi__qmp_event_pop(q, &ev));
	CHECK_STR(json_object_get_string(json_object_object_get(ev, "event")),
		  "POWERDOWN");
	json_object_put(ev);
	qvmi__qmp_close(q);
	finish(f);
	qvmi_ctx_destroy(ctx);
}

static void test_event_queue_bounded(void)
{
	static const struct fq_step script[] = { HANDSHAKE,
						 { FQ_WAIT_EOF },
						 { FQ_END } };
	struct qvmi_ctx *ctx = new_ctx();
	struct fakeqmp *f;
	struct qvmi_qmp *q = open_peer(ctx, script, &f, 2000);
	struct json_object *ev;
	char buf[96];
	int n = 0, last = -1;

	for (int i = 0; i < QVMI_QMP_MAX_EVENTS + 10; i++) {
		snprintf(buf, sizeof(buf), "{\"event\": \"E\", \"data\": %d}\n",
			 i);
		fakeqmp_inject(f, buf);
		/* a socketpair holds only a few hundred small writes */
		if (i % 100 == 99)
			CHECK_OK(qvmi__qmp_poll(q, 0));
	}
	for (int i = 0; i < 100 && n < QVMI_QMP_MAX_EVENTS; i++)
		n = qvmi__qmp_poll(q, 100);
	CHECK_INT(n, ==, QVMI_QMP_MAX_EVENTS);
	/* the oldest were dropped: the first kept is number 10 */
	CHECK_OK(qvmi__qmp_event_pop(q, &ev));
	CHECK_INT(json_object_get_int(json_object_object_get(ev, "data")), ==,
		  10);
	json_object_put(ev);
	while (qvmi__qmp_event_pop(q, &ev) == 0) {
		last = json_object_get_int(json_object_object_get(ev, "data"));
		json_object_put(ev);
	}
	CHECK_INT(last, ==, QVMI_QMP_MAX_EVENTS + 9);
	qvmi__qmp_close(q);
	finish(f);
	qvmi_ctx_destroy(ctx);
}

static void test_open_path(void)
{
	static const struct fq_step script[] = { HANDSHAKE,
						 { FQ_WAIT_EOF },
						 { FQ_END } };
	char dir[] = "/tmp/qvmi-qmp-XXXXXX", path[64], lng[200];
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_qmp *q = NULL;
	struct fakeqmp *f;

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/qmp.sock", dir);
	f = fakeqmp_listen(path, script);
	CHECK(f);
	CHECK_OK(qvmi__qmp_open(ctx, path, 2000, &q));
	CHECK_STR(qvmi__qmp_version(q), "7.2.22");
	qvmi__qmp_close(q);
	finish(f);
	CHECK_INT(qvmi__qmp_open(ctx, path, 200, &q), ==, -ECONNREFUSED);
	unlink(path);
	CHECK_INT(qvmi__qmp_open(ctx, path, 200, &q), ==, -ENOENT);
	CHECK(strstr(qvmi_errmsg(ctx), path));
	memset(lng, 'a', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = '\0';
	CHECK_INT(qvmi__qmp_open(ctx, lng, 200, &q), ==, -ENAMETOOLONG);
	rmdir(dir);
	qvmi_ctx_destroy(ctx);
}

/* ---- pipelining (qvmi__qmp_send / _sync) ------------------------------ */

struct replies {
	int n;
	int err[8];
	int val[8];
};

static void got_reply(int err, struct json_object *ret, void *arg)
{
	struct replies *r = arg;

	if (r->n < 8) {
		r->err[r->n] = err;
		r->val[r->n] = ret ? json_object_get_int(ret) : -1;
	}
	r->n++;
}

static void count_tap(struct json_object *msg, const char *raw, size_t len,
		      void *arg)
{
	(void)msg;
	(void)raw;
	(void)len;
	(*(int *)arg)++;
}

static void test_pipelined(void)
{
	static const struct fq_step script[] = {
		HANDSHAKE,
		/* three queued commands arrive before any reply is sent */
		{ FQ_EXPECT, "\"one\"" },
		{ FQ_EXPECT, "\"two\"" },
		{ FQ_EXPECT, "\"three\"" },
		{ FQ_SEND, "{\"return\": 1, \"id\": \"qvmi-2\"}\r\n"
			   "{\"event\": \"STOP\", \"timestamp\": {}}\r\n"
			   "{\"error\": {\"class\": \"CommandNotFound\", "
			   "\"desc\": \"no two\"}, \"id\": \"qvmi-3\"}\r\n"
			   "{\"return\": 3, \"id\": \"qvmi-4\"}\r\n" },
		/* a queued command's reply comes before execute's own */
		{ FQ_EXPECT, "\"four\"" },
		{ FQ_EXPECT, "\"five\"" },
		{ FQ_SEND, "{\"return\": 4, \"id\": \"qvmi-5\"}\r\n"
			   "{\"return\": 5, \"id\": \"qvmi-6\"}\r\n" },
		/* poll delivers a queued command's reply, not to the tap */
		{ FQ_EXPECT, "\"six\"" },
		{ FQ_SEND, "{\"return\": 6, \"id\": \"qvmi-7\"}\r\n" },
		/* a proxy's queued line goes first, then execute's own */
		{ FQ_EXPECT, "\"from-proxy\"" },
		{ FQ_EXPECT, "\"seven\"" },
		{ FQ_SEND, "{\"return\": 7, \"id\": %ID%}\r\n" },
		{ FQ_WAIT_EOF },
		{ FQ_END },
	};
	struct qvmi_ctx *ctx = new_ctx();
	struct replies got = { 0 };
	struct json_object *r, *ev;
	struct fakeqmp *f;
	struct qvmi_qmp *q = open_peer(ctx, script, &f, 2000);
	int tapped = 0;

	CHECK_OK(qvmi__qmp_send(q, "one", NULL, got_reply, &got));
	CHECK_OK(qvmi__qmp_send(q, "two", NULL, got_reply, &got));
	CHECK_OK(qvmi__qmp_send(q, "three", NULL, got_reply, &got));
	CHECK_INT(got.n, ==, 0); /* nothing read yet */
	CHECK_OK(qvmi__qmp_sync(q));
	CHECK_INT(got.n, ==, 3);
	CHECK_INT(got.err[0], ==, 0);
	CHECK_INT(got.val[0], ==, 1);
	CHECK_INT(got.err[1], ==, -EREMOTEIO);
	CHECK_INT(got.val[1], ==, -1);
	CHECK_INT(got.err[2], ==, 0);
	CHECK_INT(got.val[2], ==, 3);
	CHECK(strstr(qvmi_errmsg(ctx), "no two"));
	/* the event on the way was queued */
	CHECK_OK(qvmi__qmp_event_pop(q, &ev));
	json_object_put(ev);
	CHECK_OK(qvmi__qmp_sync(q)); /* nothing in flight: no wait */

	CHECK_OK(qvmi__qmp_send(q, "four", NULL, got_reply, &got));
	CHECK_OK(qvmi__qmp_execute(q, "five", NULL, &r));
	CHECK_INT(json_object_get_int(r), ==, 5);
	json_object_put(r);
	CHECK_INT(got.n, ==, 4);
	CHECK_INT(got.val[3], ==, 4);

	qvmi__qmp_set_tap(q, count_tap, &tapped);
	CHECK_OK(qvmi__qmp_send(q, "six", NULL, got_reply, &got));
	CHECK_INT(qvmi__qmp_flush(q), ==, 0);
	for (int i = 0; i < 50 && got.n < 5; i++)
		CHECK(qvmi__qmp_poll(q, 100) >= 0);
	CHECK_INT(got.n, ==, 5);
	CHECK_INT(got.val[4], ==, 6);
	CHECK_INT(tapped, ==, 0);
	{
		static const char line[] =
			"{\"execute\": \"from-proxy\", \"id\": 1}\n";

		CHECK_OK(qvmi__qmp_queue(q, line, sizeof(line) - 1));
		CHECK_OK(qvmi__qmp_execute(q, "seven", NULL, &r));
		CHECK_INT(json_object_get_int(r), ==, 7);
		json_object_put(r);
		CHECK_INT(qvmi__qmp_queued(q), ==, 0);
	}
	qvmi__qmp_close(q);
	finish(f);
	qvmi_ctx_destroy(ctx);
}

/* A wait that fails forgets the callbacks: a late reply is dropped. */
static void test_pipelined_timeout(void)
{
	static const struct fq_step script[] = {
		HANDSHAKE,
		{ FQ_EXPECT, "\"slow\"" },
		{ FQ_EXPECT, "\"fast\"" },
		{ FQ_SEND, "{\"return\": 1, \"id\": \"qvmi-2\"}\r\n"
			   "{\"return\": 2, \"id\": %ID%}\r\n" },
		{ FQ_WAIT_EOF },
		{ FQ_END },
	};
	struct qvmi_ctx *ctx = new_ctx();
	struct replies got = { 0 };
	struct json_object *r;
	struct fakeqmp *f;
	struct qvmi_qmp *q = open_peer(ctx, script, &f, 2000);

	qvmi__qmp_set_timeout(q, 100);
	CHECK_OK(qvmi__qmp_send(q, "slow", NULL, got_reply, &got));
	CHECK_INT(qvmi__qmp_sync(q), ==, -ETIMEDOUT);
	CHECK(strstr(qvmi_errmsg(ctx), "QMP slow: no reply in 100 ms"));
	CHECK_OK(qvmi__qmp_execute(q, "fast", NULL, &r));
	CHECK_INT(json_object_get_int(r), ==, 2);
	json_object_put(r);
	CHECK_INT(got.n, ==, 0);
	qvmi__qmp_close(q);
	finish(f);
	qvmi_ctx_destroy(ctx);
}

static const struct qvmi_test qmp_tests[] = {
	{ "stream_split", test_stream_split },
	{ "stream_errors", test_stream_errors },
	{ "open_and_execute", test_open_and_execute },
	{ "events_before_reply", test_events_before_reply },
	{ "error_reply", test_error_reply },
	{ "timeout_then_late_reply", test_timeout_then_late_reply },
	{ "event_flood_times_out", test_event_flood_times_out },
	{ "closed_mid_reply", test_closed_mid_reply },
	{ "closed_between_messages", test_closed_between_messages },
	{ "garbage", test_garbage },
	{ "oversized", test_oversized },
	{ "hmp_not_string", test_hmp_not_string },
	{ "bad_greetings", test_bad_greetings },
	{ "poll_waits", test_poll_waits },
	{ "event_queue_bounded", test_event_queue_bounded },
	{ "open_path", test_open_path },
	{ "pipelined", test_pipelined },
	{ "pipelined_timeout", test_pipelined_timeout },
};
QVMI_SUITE(qmp, qmp_tests);
