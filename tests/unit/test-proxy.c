// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmid's QMP proxy, in-process: a scripted fake QEMU (tests/lib/fakeqmp)
 * behind a ctx, the proxy loop in a thread, and raw socket clients.  Also
 * the QMP client's tap and send queue, and the JSON member scanner.
 */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fakeqmp.h"
#include "harness.h"
#include "proxyrig.h"
#include "sockcli.h"
#include "qvmi.h"
#include "core/internal.h"
#include "../../daemon/qmp-proxy.h"
#include "proto/jsonobj.h"
#include "proto/pmemaccess.h"
#include "proto/qmp.h"

/* The rig, the fake QEMU and the raw clients: tests/unit/proxyrig.c. */

/* ---- tests --------------------------------------------------------------- */

static void test_greeting_and_negotiation(void)
{
	struct prig r;
	int fd;

	prig_start(&r, 0);
	fd = tcli_connect(r.path);
	/* Byte for byte what QEMU sent (FQ_GREETING ends with CRLF). */
	CHECK_STR(strcat(pcli_line(fd), "\r\n"), FQ_GREETING);
	pcli_expect(fd, "{\"execute\": \"query-status\", \"id\": 1}",
		    "{\"id\": 1, \"error\": {\"class\": \"CommandNotFound\", "
		    "\"desc\": \"Expecting capabilities negotiation with "
		    "'qmp_capabilities'\"}}");
	pcli_expect(fd, "[1, 2]",
		    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP "
		    "input must be a JSON object\"}}");
	pcli_expect(fd, "{\"foo\": 1, \"id\": 5}",
		    "{\"id\": 5, \"error\": {\"class\": \"GenericError\", "
		    "\"desc\": \"QMP input member 'foo' is unexpected\"}}");
	pcli_expect(fd,
		    "{\"execute\": \"qmp_capabilities\", \"arguments\": "
		    "{\"enable\": [\"foo\"]}, \"id\": \"x\"}",
		    "{\"id\": \"x\", \"error\": {\"class\": \"GenericError\", "
		    "\"desc\": \"Parameter 'null' does not accept value "
		    "'foo'\"}}");
	pcli_expect(fd,
		    "{\"execute\": \"qmp_capabilities\", \"arguments\": "
		    "{\"enable\": \"oob\"}}",
		    "{\"error\": {\"class\": \"GenericError\", \"desc\": "
		    "\"Invalid parameter type for 'enable', expected: "
		    "array\"}}");
	pcli_expect(fd, "{\"execute\": \"qmp_capabilities\", \"id\": 7}",
		    "{\"return\": {}, \"id\": 7}");
	pcli_expect(fd, "{\"execute\": \"qmp_capabilities\", \"id\": 8}",
		    "{\"id\": 8, \"error\": {\"class\": \"CommandNotFound\", "
		    "\"desc\": \"Capabilities negotiation is already complete, "
		    "command ignored\"}}");
	tcli_close(fd);
	prig_stop(&r, 0, NULL);
}

static void test_ids_every_type(void)
{
	/* Sent, and as QEMU 7.2 writes it back (qobject_to_json; checked
	 * live: tests/unit/data/qemu72-json.txt). */
	static const char *const ids[][2] = {
		{ "\"s\"", "\"s\"" },
		{ "42", "42" },
		{ "-1.5e3", "-1500" },
		{ "null", "null" },
		{ "true", "true" },
		{ "false", "false" },
		{ "{\"a\": [1, {\"b\": \"}\"}]}",
		  "{\"a\": [1, {\"b\": \"}\"}]}" },
		{ "[1, \"x\", null]", "[1, \"x\", null]" },
		{ "\"\\u0041\"", "\"A\"" },
		{ "'q\\'\"'", "\"q'\\\"\"" },
		{ "1e400", "1e400" }, /* QEMU says inf: not JSON */
	};
	char req[256], want[512];
	struct prig r;
	int fd;

	prig_start(&r, 0);
	fd = pcli_ready(r.path);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		snprintf(req, sizeof(req),
			 "{\"execute\": \"echo\", \"id\": %s, \"arguments\": "
			 "{\"n\": %zu}}",
			 ids[i][0], i);
		snprintf(want, sizeof(want),
			 "{\"return\": {\"cmd\": \"echo\", \"args\": "
			 "{\"n\":%zu}}, \"id\": %s}",
			 i, ids[i][1]);
		pcli_expect(fd, req, want);
		/* QEMU saw our id, not the client's */
		pthread_mutex_lock(&r.fake.lock);
		CHECK_MSG(!strncmp(r.fake.last_id, "\"qvmid-proxy-", 13),
			  "QEMU saw id %s", r.fake.last_id);
		pthread_mutex_unlock(&r.fake.lock);
	}
	/* no id: none back, and QEMU saw the rest unchanged */
	pcli_expect(fd, "{\"execute\": \"echo\", \"arguments\": {\"z\": [1]}}",
		    "{\"return\": {\"cmd\": \"echo\", \"args\": {\"z\":[1]}}}");
	pthread_mutex_lock(&r.fake.lock);
	CHECK_MSG(strstr(r.fake.last_req,
			 "{\"execute\":\"echo\",\"arguments\":{\"z\":[1]},"
			 "\"id\":\"qvmid-proxy-"),
		  "QEMU got %s", r.fake.last_req);
	pthread_mutex_unlock(&r.fake.lock);
	/* two ids, even spelt differently: QEMU 7.2 refuses duplicate keys */
	pcli_expect(fd, "{\"id\": 1, \"execute\": \"echo\", \"\\u0069d\": 2}",
		    "{\"error\": {\"class\": \"GenericError\", \"desc\": "
		    "\"JSON parse error, duplicate key\"}}");
	/* an error reply passes through unchanged but for the id */
	pcli_expect(fd, "{\"execute\": \"fail\", \"id\": [7]}",
		    "{\"id\": [7], \"error\": {\"class\": \"GenericError\", "
		    "\"desc\": \"boom \\\"x\\\"\"}}");
	tcli_close(fd);
	prig_stop(&r, 0, NULL);
}

static void test_colliding_ids(void)
{
	struct prig r;
	int a, b;

	prig_start(&r, 0);
	a = pcli_ready(r.path);
	b = pcli_ready(r.path);
	/* Both in flight at once, with the same id. */
	tcli_send_str(a, "{\"execute\": \"slow\", \"id\": 1, \"arguments\": "
			 "{\"who\": \"a\"}}");
	tcli_send_str(b, "{\"execute\": \"echo\", \"id\": 1, \"arguments\": "
			 "{\"who\": \"b\"}}");
	CHECK_STR(pcli_line(a), "{\"return\": {\"cmd\": \"echo\", \"args\": "
				"{\"who\":\"a\"}}, \"id\": 1}");
	CHECK_STR(pcli_line(b), "{\"return\": {\"cmd\": \"echo\", \"args\": "
				"{\"who\":\"b\"}}, \"id\": 1}");
	/* pipelined requests of one client come back in order */
	tcli_send_str(a, "{\"execute\": \"slow\", \"id\": \"p1\"}\n"
			 "{\"execute\": \"query-qvmi\", \"id\": \"p2\"}\n"
			 "{\"execute\": \"echo\", \"id\": \"p3\"}\n");
	CHECK(strstr(pcli_line(a), "\"id\": \"p1\""));
	CHECK(strstr(pcli_line(a), "\"id\": \"p2\""));
	CHECK(strstr(pcli_line(a), "\"id\": \"p3\""));
	pcli_nothing(b, 50);
	tcli_close(a);
	tcli_close(b);
	prig_stop(&r, 0, NULL);
}

static void test_events_fan_out(void)
{
	struct prig r;
	int a, b, c;
	const char *stop = "{\"timestamp\": {\"seconds\": 1, "
			   "\"microseconds\": 2}, \"event\": \"STOP\"}";

	prig_start(&r, 0);
	a = pcli_ready(r.path);
	b = pcli_ready(r.path);
	c = tcli_connect(r.path); /* not negotiated: no events */
	CHECK(pcli_line(c));
	fakeqmp_inject(r.f, "{\"event\": \"RESUME\", \"data\": {}}\r\n");
	CHECK_STR(pcli_line(a), "{\"event\": \"RESUME\", \"data\": {}}");
	CHECK_STR(pcli_line(b), "{\"event\": \"RESUME\", \"data\": {}}");
	/* an event QEMU sends before a reply reaches everyone, first */
	tcli_send_str(b, "{\"execute\": \"stop\", \"id\": 3}");
	CHECK_STR(pcli_line(a), stop);
	CHECK_STR(pcli_line(b), stop);
	CHECK_STR(pcli_line(b), "{\"return\": {}, \"id\": 3}");
	pcli_nothing(a, 50);
	pcli_nothing(c, 50);
	tcli_close(a);
	tcli_close(b);
	tcli_close(c);
	prig_stop(&r, 0, NULL);
}

/* Read len bytes at gpa through a pmemaccess socket. */
static void pmem_read(const char *path, uint64_t gpa, uint8_t *buf, size_t len)
{
	uint8_t h[QVMI_PMEM_REQ_SIZE], st = 0;
	int fd = tcli_connect(path);
	size_t got = 0;

	qvmi__pmem_encode_req(h, QVMI_PMEM_READ, gpa, len);
	CHECK_INT(send(fd, h, sizeof(h), 0), ==, (long)sizeof(h));
	while (got < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		CHECK_INT(poll(&p, 1, PRIG_WAIT_MS), ==, 1);
		n = recv(fd, buf + got, len - got, 0);
		CHECK(n > 0);
		got += (size_t)n;
	}
	CHECK_INT(recv(fd, &st, 1, MSG_WAITALL), ==, 1);
	CHECK_INT(st, ==, 1);
	tcli_close(fd);
}

static void wait_gone(const char *path)
{
	for (int i = 0; i < 200 && !access(path, F_OK); i++)
		poll(NULL, 0, 10);
	CHECK_MSG(access(path, F_OK) && errno == ENOENT, "%s still there",
		  path);
}

static void test_pmemaccess_command(void)
{
	char pm[108], req[256], *line;
	uint8_t buf[4096];
	struct prig r;
	int fd, keep;

	prig_start(&r, 0);
	prig_tmp_path(pm, sizeof(pm), "pmem");
	fd = pcli_ready(r.path);
	snprintf(req, sizeof(req),
		 "{\"execute\": \"pmemaccess\", \"arguments\": {\"path\": "
		 "\"%s\"}, \"id\": \"pm\"}",
		 pm);
	pcli_expect(fd, req, "{\"return\": {}, \"id\": \"pm\"}");
	keep = tcli_connect(pm); /* a session in progress */
	pmem_read(pm, 0x3000, buf, sizeof(buf));
	CHECK(!memcmp(buf, r.mem + 0x3000, sizeof(buf)));
	/* the same path again: a live server owns it */
	tcli_send_str(fd, req);
	line = pcli_line(fd);
	CHECK_MSG(strstr(line, "\"class\": \"GenericError\"") &&
			  strstr(line, "a live server already listens there"),
		  "%s", line);
	/* as in the patched QEMU, the server goes with its last client */
	close(keep);
	wait_gone(pm);
	pcli_expect(fd, req, "{\"return\": {}, \"id\": \"pm\"}");
	pmem_read(pm, 0xff000, buf, sizeof(buf));
	CHECK(!memcmp(buf, r.mem + 0xff000, sizeof(buf)));
	wait_gone(pm);
	pcli_expect(fd,
		    "{\"execute\": \"pmemaccess\", \"arguments\": {\"path\": "
		    "\"rel.sock\"}}",
		    "{\"error\": {\"class\": \"GenericError\", \"desc\": "
		    "\"pmemaccess: path must be absolute\"}}");
	pcli_expect(fd, "{\"execute\": \"pmemaccess\"}",
		    "{\"error\": {\"class\": \"GenericError\", \"desc\": "
		    "\"Parameter 'path' is missing\"}}");
	pcli_expect(fd,
		    "{\"execute\": \"pmemaccess\", \"arguments\": {\"path\": "
		    "1}}",
		    "{\"error\": {\"class\": \"GenericError\", \"desc\": "
		    "\"Invalid parameter type for 'path', expected: "
		    "string\"}}");
	tcli_close(fd);
	prig_stop(&r, 0, NULL);
}

static void test_query_qvmi_and_commands(void)
{
	struct json_object *o, *ret, *v, *pm;
	char pm_path[108], req[256];
	struct prig r;
	int a, b;

	prig_start(&r, 0);
	prig_tmp_path(pm_path, sizeof(pm_path), "pmem");
	a = pcli_ready(r.path);
	b = pcli_ready(r.path);
	snprintf(req, sizeof(req),
		 "{\"execute\": \"pmemaccess\", \"arguments\": {\"path\": "
		 "\"%s\"}}",
		 pm_path);
	pcli_expect(a, req, "{\"return\": {}}");
	tcli_send_str(a, "{\"execute\": \"query-qvmi\", \"id\": 1}");
	o = json_tokener_parse(pcli_line(a));
	CHECK(o && json_object_object_get_ex(o, "return", &ret));
	CHECK(json_object_object_get_ex(ret, "qmp-clients", &v));
	CHECK_INT(json_object_get_int(v), ==, 2);
	CHECK(json_object_object_get_ex(ret, "sources", &v));
	CHECK_STR(json_object_get_string(json_object_array_get_idx(v, 0)),
		  "testmem");
	CHECK(json_object_object_get_ex(ret, "pmemaccess", &v));
	CHECK_INT(json_object_array_length(v), ==, 1);
	pm = json_object_array_get_idx(v, 0);
	CHECK(json_object_object_get_ex(pm, "path", &v));
	CHECK_STR(json_object_get_string(v), pm_path);
	CHECK(json_object_object_get_ex(pm, "clients", &v));
	CHECK_INT(json_object_get_int(v), ==, 0);
	json_object_put(o);
	pcli_expect(b, "{\"execute\": \"query-commands\", \"id\": \"c\"}",
		    "{\"return\": [{\"name\": \"query-status\"}, {\"name\": "
		    "\"stop\"}, {\"name\": \"pmemaccess\"}, {\"name\": "
		    "\"query-qvmi\"}], \"id\": \"c\"}");
	pcli_expect(b,
		    "{\"execute\": \"query-qvmi\", \"arguments\": {\"x\": 1}}",
		    "{\"error\": {\"class\": \"GenericError\", \"desc\": "
		    "\"Parameter 'x' is unexpected\"}}");
	tcli_close(a);
	tcli_close(b);
	prig_stop(&r, 0, NULL);
}

static void test_disconnect_mid_command(void)
{
	struct qvmid_proxy_stats st;
	struct prig r;
	int a, b;

	prig_start(&r, 0);
	a = pcli_ready(r.path);
	b = pcli_ready(r.path);
	tcli_send_str(a, "{\"execute\": \"slow\", \"id\": 1}");
	poll(NULL, 0, 50); /* at QEMU now */
	tcli_close(a);
	/* b's command queues behind the slow one at QEMU; its reply is
	 * b's own, and a's reply goes nowhere. */
	pcli_expect(
		b, "{\"execute\": \"echo\", \"id\": 1}",
		"{\"return\": {\"cmd\": \"echo\", \"args\": {}}, \"id\": 1}");
	pcli_nothing(b, 50);
	tcli_close(b);
	prig_stop(&r, 0, &st);
	CHECK_U64(st.discarded, ==, 1);
	CHECK_U64(st.forwarded, ==, 2);
}

static void test_slow_client(void)
{
	struct qvmid_proxy_stats st;
	char *ev = malloc(40000);
	struct prig r;
	int slow, good, n;

	CHECK(ev);
	prig_start(&r, 64 * 1024);
	slow = pcli_ready(r.path);
	good = pcli_ready(r.path);
	n = snprintf(ev, 40000, "{\"event\": \"BIG\", \"data\": \"");
	memset(ev + n, 'x', 30000);
	strcpy(ev + n + 30000, "\"}\r\n");
	/* ~3 MB of events: far more than the socket buffer plus 64 KiB */
	for (int i = 0; i < 100; i++) {
		char *line;

		fakeqmp_inject(r.f, ev);
		line = pcli_line(good); /* the reading client keeps up */
		CHECK_MSG(line && !strncmp(line, ev, 40), "event %d", i);
	}
	/* the slow client was cut off: after what was buffered, EOF */
	for (int i = 0; i < 200; i++)
		if (!pcli_line(slow))
			break;
	CHECK(!pcli_line(slow));
	pcli_expect(good, "{\"execute\": \"echo\"}",
		    "{\"return\": {\"cmd\": \"echo\", \"args\": {}}}");
	tcli_close(slow);
	tcli_close(good);
	prig_stop(&r, 0, &st);
	CHECK_U64(st.dropped_slow, ==, 1);
	CHECK_U64(st.events, ==, 100);
	free(ev);
}

/* As QEMU 7.2: a parse error is answered (without an id), the reader
 * resynchronises, and the connection stays. */
static void test_bad_json_answered(void)
{
	struct prig r;
	int fd;

	prig_start(&r, 0);
	fd = pcli_ready(r.path);
	pcli_expect(fd, "{\"execute\": \"echo\", \"id\": 1,}",
		    "{\"error\": {\"class\": \"GenericError\", \"desc\": "
		    "\"JSON parse error, expecting value\"}}");
	pcli_expect(
		fd, "{\"execute\": \"echo\", \"id\": 2}",
		"{\"return\": {\"cmd\": \"echo\", \"args\": {}}, \"id\": 2}");
	tcli_close(fd);
	prig_stop(&r, 0, NULL);
}

static const struct fq_step quit_script[] = {
	{ FQ_SEND, FQ_GREETING },
	{ FQ_EXPECT, "qmp_capabilities" },
	{ FQ_SEND, FQ_OK },
	{ FQ_SLEEP, NULL, 200 },
	{ FQ_END },
};

static void test_qemu_gone(void)
{
	struct qvmid_proxy_opts o = { 0 };
	struct qvmid_proxy *p;
	struct qvmi_ctx *ctx;
	struct fakeqmp *f;
	struct qvmi_qmp *q;
	char path[108];
	int fd, c;

	CHECK_OK(qvmi_ctx_create(&ctx));
	f = fakeqmp_start(quit_script, NULL, NULL, &fd);
	CHECK_OK(qvmi__qmp_open_fd(ctx, fd, 2000, &q));
	ctx->qmp = q;
	ctx->qmp_close = qvmi__qmp_close;
	prig_tmp_path(path, sizeof(path), "gone");
	o.listen_path = path;
	CHECK_OK(qvmid_proxy_create(ctx, &o, &p));
	/* the loop runs here: the client is accepted, then QEMU leaves */
	c = tcli_connect(path);
	CHECK_INT(qvmid_proxy_run(p), ==, -EPIPE);
	qvmid_proxy_destroy(p);
	CHECK(pcli_line(c)); /* the greeting went out ... */
	CHECK(!pcli_line(c)); /* ... then EOF */
	tcli_close(c);
	CHECK_MSG(access(path, F_OK) && errno == ENOENT, "socket left");
	qvmi_ctx_destroy(ctx);
	CHECK_INT(fakeqmp_finish(f, NULL, 0), ==, 0);
}

/* ---- the QMP client's sharing hooks ------------------------------------ */

struct tapped {
	int n;
	char raw[4][128];
};

static void tap_cb(struct json_object *msg, const char *raw, size_t len,
		   void *arg)
{
	struct tapped *t = arg;

	(void)msg;
	if (t->n < 4)
		snprintf(t->raw[t->n], sizeof(t->raw[0]), "%.*s", (int)len,
			 raw);
	t->n++;
}

static const struct fq_step tap_script[] = {
	{ FQ_SEND, FQ_GREETING },
	{ FQ_EXPECT, "qmp_capabilities" },
	{ FQ_SEND, FQ_OK },
	/* a proxied line queued before execute goes out first, whole */
	{ FQ_EXPECT, "{\"execute\": \"other\", \"id\": \"p-1\"}" },
	{ FQ_EXPECT, "query-status" },
	{ FQ_SEND, "{\"event\": \"STOP\"}\r\n{\"return\": 5, \"id\": "
		   "\"p-1\"}\r\n{\"return\": {}, \"id\": %ID%}\r\n" },
	{ FQ_SEND, "{\"return\": 6, \"id\": \"p-2\"}\r\n" },
	{ FQ_SLEEP, NULL, 300 },
	{ FQ_END },
};

static void test_tap_and_queue(void)
{
	struct tapped t = { 0 };
	struct qvmi_ctx *ctx;
	struct fakeqmp *f;
	struct qvmi_qmp *q;
	static const char line[] =
		"{\"execute\": \"other\", \"id\": \"p-1\"}\n";
	int fd;

	CHECK_OK(qvmi_ctx_create(&ctx));
	f = fakeqmp_start(tap_script, NULL, NULL, &fd);
	CHECK_OK(qvmi__qmp_open_fd(ctx, fd, 2000, &q));
	qvmi__qmp_set_tap(q, tap_cb, &t);
	CHECK_OK(qvmi__qmp_queue(q, line, sizeof(line) - 1));
	CHECK_INT(qvmi__qmp_queued(q), ==, sizeof(line) - 1);
	CHECK_OK(qvmi__qmp_execute(q, "query-status", NULL, NULL));
	CHECK_INT(qvmi__qmp_queued(q), ==, 0);
	/* what arrived while execute waited reached the tap, in order */
	CHECK_INT(t.n, ==, 2);
	CHECK_STR(t.raw[0], "{\"event\": \"STOP\"}");
	CHECK_STR(t.raw[1], "{\"return\": 5, \"id\": \"p-1\"}");
	for (int i = 0; i < 50 && t.n < 3; i++)
		CHECK_OK(qvmi__qmp_poll(q, 100));
	CHECK_INT(t.n, ==, 3);
	CHECK_STR(t.raw[2], "{\"return\": 6, \"id\": \"p-2\"}");
	qvmi__qmp_close(q);
	qvmi_ctx_destroy(ctx);
	CHECK_INT(fakeqmp_finish(f, NULL, 0), ==, 0);
}

/* ---- the member scanner ---------------------------------------------- */

static void set_case(const char *in, const char *val, const char *want)
{
	char *out = NULL;
	size_t len = 0;
	int err = qvmi__jsonobj_set(in, strlen(in), "id", val,
				    val ? strlen(val) : 0, &out, &len);

	if (!want) {
		CHECK_INT(err, ==, -EBADMSG);
		return;
	}
	CHECK_OK(err);
	CHECK_INT(len, ==, strlen(out));
	CHECK_STR(out, want);
	free(out);
}

static void test_jsonobj(void)
{
	struct qvmi_jsonobj_member m;
	const char *s = "{ \"a\" : \"x}\\\"\" , \"id\":[1,{\"id\":2}], "
			"\"b\": -1e5 }";

	CHECK_INT(qvmi__jsonobj_get(s, strlen(s), "id", &m), ==, 1);
	CHECK_INT(m.end - m.vstart, ==, 12);
	CHECK(!strncmp(s + m.vstart, "[1,{\"id\":2}]", 12));
	CHECK_INT(qvmi__jsonobj_get(s, strlen(s), "zz", &m), ==, 0);
	set_case(s, "7", "{\"a\" : \"x}\\\"\", \"id\": 7, \"b\": -1e5}");
	set_case(s, NULL, "{\"a\" : \"x}\\\"\", \"b\": -1e5}");
	set_case("{}", "1", "{\"id\": 1}");
	set_case(" {\"x\": {}}", "\"q\"", "{\"x\": {}, \"id\": \"q\"}");
	set_case("{\"id\": 1, \"id\": 2}", "3", "{\"id\": 3}");
	set_case("{\"\\u0069d\": 1, \"i\\\\d\": 2}", NULL, "{\"i\\\\d\": 2}");
	set_case("[1]", "1", NULL);
	set_case("{\"a\" 1}", "1", NULL);
	set_case("{\"a\": 1", "1", NULL);
	set_case("{\"a\": \"1}", "1", NULL);
	set_case("{\"a\": [1, 2}", "1", NULL);
	set_case("{\"a\": 1,}", "1", NULL);
	set_case("{\"a\": }", "1", NULL);
	set_case("", "1", NULL);
}

static const struct qvmi_test proxy_tests[] = {
	{ "greeting_and_negotiation", test_greeting_and_negotiation },
	{ "ids_every_type", test_ids_every_type },
	{ "colliding_ids", test_colliding_ids },
	{ "events_fan_out", test_events_fan_out },
	{ "pmemaccess_command", test_pmemaccess_command },
	{ "query_qvmi_and_commands", test_query_qvmi_and_commands },
	{ "disconnect_mid_command", test_disconnect_mid_command },
	{ "slow_client", test_slow_client },
	{ "bad_json_answered", test_bad_json_answered },
	{ "qemu_gone", test_qemu_gone },
	{ "tap_and_queue", test_tap_and_queue },
	{ "jsonobj", test_jsonobj },
};
QVMI_SUITE(proxy, proxy_tests);
