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
#include "sockcli.h"
#include "qvmi.h"
#include "core/internal.h"
#include "../../daemon/qmp-proxy.h"
#include "proto/jsonobj.h"
#include "proto/pmemaccess.h"
#include "proto/qmp.h"

enum { MEM_SIZE = 1 << 20, WAIT_MS = 5000 };

/* ---- the fake QEMU ------------------------------------------------------ */

struct fake {
	pthread_mutex_t lock;
	char last_id[128]; /* the id QEMU saw last */
	char last_req[1024]; /* ... and that request, as received */
	int slow_ms;
};

static char *fake_qemu(struct json_object *req, const char *id, void *arg)
{
	struct fake *f = arg;
	struct json_object *ex = NULL, *args = NULL;
	const char *cmd;
	char *r = NULL;

	pthread_mutex_lock(&f->lock);
	snprintf(f->last_id, sizeof(f->last_id), "%s", id);
	snprintf(f->last_req, sizeof(f->last_req), "%s",
		 json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
	pthread_mutex_unlock(&f->lock);
	json_object_object_get_ex(req, "execute", &ex);
	json_object_object_get_ex(req, "arguments", &args);
	cmd = ex ? json_object_get_string(ex) : "";
	if (!strcmp(cmd, "slow")) {
		poll(NULL, 0, f->slow_ms);
		cmd = "echo";
	}
	if (!strcmp(cmd, "fail"))
		asprintf(&r,
			 "{\"id\": %s, \"error\": {\"class\": "
			 "\"GenericError\", \"desc\": \"boom \\\"x\\\"\"}}\r\n",
			 id);
	else if (!strcmp(cmd, "query-commands"))
		asprintf(&r,
			 "{\"return\": [{\"name\": \"query-status\"}, "
			 "{\"name\": \"stop\"}], \"id\": %s}\r\n",
			 id);
	else if (!strcmp(cmd, "stop"))
		asprintf(&r,
			 "{\"timestamp\": {\"seconds\": 1, \"microseconds\": "
			 "2}, \"event\": \"STOP\"}\r\n{\"return\": {}, "
			 "\"id\": %s}\r\n",
			 id);
	else
		asprintf(&r,
			 "{\"return\": {\"cmd\": \"%s\", \"args\": %s}, "
			 "\"id\": %s}\r\n",
			 cmd,
			 args ? json_object_to_json_string_ext(
					args, JSON_C_TO_STRING_PLAIN) :
				"{}",
			 id);
	return r;
}

static const struct fq_step serve_script[] = {
	{ FQ_SEND, FQ_GREETING },
	{ FQ_EXPECT, "qmp_capabilities" },
	{ FQ_SEND, FQ_OK },
	{ FQ_SERVE },
	{ FQ_END },
};

/* ---- the proxy under test ---------------------------------------------- */

struct rig {
	struct fake fake;
	struct fakeqmp *f;
	struct qvmi_ctx *ctx;
	struct qvmid_proxy *p;
	pthread_t thr;
	int rc;
	uint8_t *mem;
	char path[108];
};

static void *proxy_main(void *arg)
{
	struct rig *r = arg;

	r->rc = qvmid_proxy_run(r->p);
	return NULL;
}

static void tmp_path(char *buf, size_t n, const char *what)
{
	static int seq;

	snprintf(buf, n, "/tmp/qvmi-test-proxy-%d-%d-%s.sock", (int)getpid(),
		 seq++, what);
}

static void dbg_log(enum qvmi_log_level level, const char *msg, void *arg)
{
	(void)arg;
	fprintf(stderr, "proxy[%d]: %s\n", (int)level, msg);
}

static void rig_start(struct rig *r, size_t max_queue)
{
	struct qvmid_proxy_opts o = { .max_queue = max_queue,
				      .pmem.max_transfer = MEM_SIZE };
	struct qvmi_source *src;

	if (getenv("QVMI_TEST_PROXY_LOG"))
		o.log = dbg_log;
	struct qvmi_qmp *q;
	int fd;

	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->fake.lock, NULL);
	r->fake.slow_ms = 300;
	r->mem = malloc(MEM_SIZE);
	CHECK(r->mem);
	for (size_t i = 0; i < MEM_SIZE; i++)
		r->mem[i] = (uint8_t)(i * 7 + (i >> 12));
	CHECK_OK(qvmi_ctx_create(&r->ctx));
	CHECK_OK(qvmi_source_testmem_create(r->ctx, r->mem, MEM_SIZE, 1, &src));
	CHECK_OK(qvmi_map_add(r->ctx, src, 0, MEM_SIZE, 0));
	CHECK_OK(qvmi__ram_add(r->ctx, 0, MEM_SIZE));
	r->f = fakeqmp_start(serve_script, fake_qemu, &r->fake, &fd);
	CHECK(r->f);
	CHECK_OK(qvmi_qmp_open_fd(r->ctx, fd, 2000, &q));
	r->ctx->qmp = q;
	r->ctx->qmp_close = qvmi_qmp_close;
	tmp_path(r->path, sizeof(r->path), "qmp");
	o.listen_path = r->path;
	CHECK_OK(qvmid_proxy_create(r->ctx, &o, &r->p));
	CHECK_INT(pthread_create(&r->thr, NULL, proxy_main, r), ==, 0);
}

/* Stop the loop; expect rc.  The fake QEMU then sees EOF. */
static void rig_stop(struct rig *r, int rc, struct qvmid_proxy_stats *st)
{
	char msg[256];
	struct stat sb;

	qvmid_proxy_stop(r->p);
	CHECK_INT(pthread_join(r->thr, NULL), ==, 0);
	CHECK_INT(r->rc, ==, rc);
	if (st)
		qvmid_proxy_stats(r->p, st);
	qvmid_proxy_destroy(r->p);
	CHECK_MSG(stat(r->path, &sb) && errno == ENOENT,
		  "proxy socket left behind");
	qvmi_ctx_destroy(r->ctx); /* closes QMP: the fake sees EOF */
	CHECK_MSG(fakeqmp_finish(r->f, msg, sizeof(msg)) == 0, "peer: %s", msg);
	pthread_mutex_destroy(&r->fake.lock);
	free(r->mem);
}

/* ---- raw clients ------------------------------------------------------- */

static char *cli_line(int fd)
{
	return tcli_line(fd, WAIT_MS);
}

static void cli_expect(int fd, const char *send_text, const char *reply)
{
	if (send_text)
		tcli_send_str(fd, send_text);
	CHECK_STR(cli_line(fd), reply);
}

static void cli_nothing(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	CHECK_INT(poll(&p, 1, ms), ==, 0);
}

static int cli_ready(const char *path)
{
	int fd = tcli_connect(path);

	CHECK_STR(cli_line(fd), "{\"QMP\": {\"version\": {\"qemu\": "
				"{\"micro\": 22, \"minor\": 2, \"major\": 7}, "
				"\"package\": \"Debian 1:7.2+dfsg-7+deb12u18+"
				"b3\"}, \"capabilities\": [\"oob\"]}}");
	cli_expect(fd, "{\"execute\": \"qmp_capabilities\"}\n",
		   "{\"return\": {}}");
	return fd;
}

/* ---- tests --------------------------------------------------------------- */

static void test_greeting_and_negotiation(void)
{
	struct rig r;
	int fd;

	rig_start(&r, 0);
	fd = tcli_connect(r.path);
	/* Byte for byte what QEMU sent (FQ_GREETING ends with CRLF). */
	CHECK_STR(strcat(cli_line(fd), "\r\n"), FQ_GREETING);
	cli_expect(fd, "{\"execute\": \"query-status\", \"id\": 1}",
		   "{\"id\": 1, \"error\": {\"class\": \"CommandNotFound\", "
		   "\"desc\": \"Expecting capabilities negotiation with "
		   "'qmp_capabilities'\"}}");
	cli_expect(fd, "[1, 2]",
		   "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP "
		   "input must be a JSON object\"}}");
	cli_expect(fd, "{\"foo\": 1, \"id\": 5}",
		   "{\"id\": 5, \"error\": {\"class\": \"GenericError\", "
		   "\"desc\": \"QMP input member 'foo' is unexpected\"}}");
	cli_expect(fd,
		   "{\"execute\": \"qmp_capabilities\", \"arguments\": "
		   "{\"enable\": [\"foo\"]}, \"id\": \"x\"}",
		   "{\"id\": \"x\", \"error\": {\"class\": \"GenericError\", "
		   "\"desc\": \"Parameter 'null' does not accept value "
		   "'foo'\"}}");
	cli_expect(fd,
		   "{\"execute\": \"qmp_capabilities\", \"arguments\": "
		   "{\"enable\": \"oob\"}}",
		   "{\"error\": {\"class\": \"GenericError\", \"desc\": "
		   "\"Invalid parameter type for 'enable', expected: "
		   "array\"}}");
	cli_expect(fd, "{\"execute\": \"qmp_capabilities\", \"id\": 7}",
		   "{\"return\": {}, \"id\": 7}");
	cli_expect(fd, "{\"execute\": \"qmp_capabilities\", \"id\": 8}",
		   "{\"id\": 8, \"error\": {\"class\": \"CommandNotFound\", "
		   "\"desc\": \"Capabilities negotiation is already complete, "
		   "command ignored\"}}");
	tcli_close(fd);
	rig_stop(&r, 0, NULL);
}

static void test_ids_every_type(void)
{
	static const char *const ids[] = {
		"\"s\"",
		"42",
		"-1.5e3",
		"null",
		"true",
		"false",
		"{\"a\": [1, {\"b\": \"}\"}]}",
		"[1, \"x\", null]",
		"\"\\u0041\"",
	};
	char req[256], want[512];
	struct rig r;
	int fd;

	rig_start(&r, 0);
	fd = cli_ready(r.path);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		snprintf(req, sizeof(req),
			 "{\"execute\": \"echo\", \"id\": %s, \"arguments\": "
			 "{\"n\": %zu}}",
			 ids[i], i);
		snprintf(want, sizeof(want),
			 "{\"return\": {\"cmd\": \"echo\", \"args\": "
			 "{\"n\":%zu}}, \"id\": %s}",
			 i, ids[i]);
		cli_expect(fd, req, want);
		/* QEMU saw our id, not the client's */
		pthread_mutex_lock(&r.fake.lock);
		CHECK_MSG(!strncmp(r.fake.last_id, "\"qvmid-proxy-", 13),
			  "QEMU saw id %s", r.fake.last_id);
		pthread_mutex_unlock(&r.fake.lock);
	}
	/* no id: none back, and QEMU saw the rest unchanged */
	cli_expect(fd, "{\"execute\": \"echo\", \"arguments\": {\"z\": [1]}}",
		   "{\"return\": {\"cmd\": \"echo\", \"args\": {\"z\":[1]}}}");
	pthread_mutex_lock(&r.fake.lock);
	CHECK_MSG(strstr(r.fake.last_req,
			 "{\"execute\":\"echo\",\"arguments\":{\"z\":[1]},"
			 "\"id\":\"qvmid-proxy-"),
		  "QEMU got %s", r.fake.last_req);
	pthread_mutex_unlock(&r.fake.lock);
	/* two ids: the last wins, as in QEMU; an escaped "id" key counts */
	cli_expect(
		fd, "{\"id\": 1, \"execute\": \"echo\", \"\\u0069d\": 2}",
		"{\"return\": {\"cmd\": \"echo\", \"args\": {}}, \"id\": 2}");
	/* an error reply passes through unchanged but for the id */
	cli_expect(fd, "{\"execute\": \"fail\", \"id\": [7]}",
		   "{\"id\": [7], \"error\": {\"class\": \"GenericError\", "
		   "\"desc\": \"boom \\\"x\\\"\"}}");
	tcli_close(fd);
	rig_stop(&r, 0, NULL);
}

static void test_colliding_ids(void)
{
	struct rig r;
	int a, b;

	rig_start(&r, 0);
	a = cli_ready(r.path);
	b = cli_ready(r.path);
	/* Both in flight at once, with the same id. */
	tcli_send_str(a, "{\"execute\": \"slow\", \"id\": 1, \"arguments\": "
			 "{\"who\": \"a\"}}");
	tcli_send_str(b, "{\"execute\": \"echo\", \"id\": 1, \"arguments\": "
			 "{\"who\": \"b\"}}");
	CHECK_STR(cli_line(a), "{\"return\": {\"cmd\": \"echo\", \"args\": "
			       "{\"who\":\"a\"}}, \"id\": 1}");
	CHECK_STR(cli_line(b), "{\"return\": {\"cmd\": \"echo\", \"args\": "
			       "{\"who\":\"b\"}}, \"id\": 1}");
	/* pipelined requests of one client come back in order */
	tcli_send_str(a, "{\"execute\": \"slow\", \"id\": \"p1\"}\n"
			 "{\"execute\": \"query-qvmi\", \"id\": \"p2\"}\n"
			 "{\"execute\": \"echo\", \"id\": \"p3\"}\n");
	CHECK(strstr(cli_line(a), "\"id\": \"p1\""));
	CHECK(strstr(cli_line(a), "\"id\": \"p2\""));
	CHECK(strstr(cli_line(a), "\"id\": \"p3\""));
	cli_nothing(b, 50);
	tcli_close(a);
	tcli_close(b);
	rig_stop(&r, 0, NULL);
}

static void test_events_fan_out(void)
{
	struct rig r;
	int a, b, c;
	const char *stop = "{\"timestamp\": {\"seconds\": 1, "
			   "\"microseconds\": 2}, \"event\": \"STOP\"}";

	rig_start(&r, 0);
	a = cli_ready(r.path);
	b = cli_ready(r.path);
	c = tcli_connect(r.path); /* not negotiated: no events */
	CHECK(cli_line(c));
	fakeqmp_inject(r.f, "{\"event\": \"RESUME\", \"data\": {}}\r\n");
	CHECK_STR(cli_line(a), "{\"event\": \"RESUME\", \"data\": {}}");
	CHECK_STR(cli_line(b), "{\"event\": \"RESUME\", \"data\": {}}");
	/* an event QEMU sends before a reply reaches everyone, first */
	tcli_send_str(b, "{\"execute\": \"stop\", \"id\": 3}");
	CHECK_STR(cli_line(a), stop);
	CHECK_STR(cli_line(b), stop);
	CHECK_STR(cli_line(b), "{\"return\": {}, \"id\": 3}");
	cli_nothing(a, 50);
	cli_nothing(c, 50);
	tcli_close(a);
	tcli_close(b);
	tcli_close(c);
	rig_stop(&r, 0, NULL);
}

/* Read len bytes at gpa through a pmemaccess socket. */
static void pmem_read(const char *path, uint64_t gpa, uint8_t *buf, size_t len)
{
	uint8_t h[QVMI_PMEM_REQ_SIZE], st = 0;
	int fd = tcli_connect(path);
	size_t got = 0;

	qvmi_pmem_encode_req(h, QVMI_PMEM_READ, gpa, len);
	CHECK_INT(send(fd, h, sizeof(h), 0), ==, (long)sizeof(h));
	while (got < len) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		CHECK_INT(poll(&p, 1, WAIT_MS), ==, 1);
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
	struct rig r;
	int fd, keep;

	rig_start(&r, 0);
	tmp_path(pm, sizeof(pm), "pmem");
	fd = cli_ready(r.path);
	snprintf(req, sizeof(req),
		 "{\"execute\": \"pmemaccess\", \"arguments\": {\"path\": "
		 "\"%s\"}, \"id\": \"pm\"}",
		 pm);
	cli_expect(fd, req, "{\"return\": {}, \"id\": \"pm\"}");
	keep = tcli_connect(pm); /* a session in progress */
	pmem_read(pm, 0x3000, buf, sizeof(buf));
	CHECK(!memcmp(buf, r.mem + 0x3000, sizeof(buf)));
	/* the same path again: a live server owns it */
	tcli_send_str(fd, req);
	line = cli_line(fd);
	CHECK_MSG(strstr(line, "\"class\": \"GenericError\"") &&
			  strstr(line, "a live server already listens there"),
		  "%s", line);
	/* as in the patched QEMU, the server goes with its last client */
	close(keep);
	wait_gone(pm);
	cli_expect(fd, req, "{\"return\": {}, \"id\": \"pm\"}");
	pmem_read(pm, 0xff000, buf, sizeof(buf));
	CHECK(!memcmp(buf, r.mem + 0xff000, sizeof(buf)));
	wait_gone(pm);
	cli_expect(fd,
		   "{\"execute\": \"pmemaccess\", \"arguments\": {\"path\": "
		   "\"rel.sock\"}}",
		   "{\"error\": {\"class\": \"GenericError\", \"desc\": "
		   "\"pmemaccess: path must be absolute\"}}");
	cli_expect(fd, "{\"execute\": \"pmemaccess\"}",
		   "{\"error\": {\"class\": \"GenericError\", \"desc\": "
		   "\"Parameter 'path' is missing\"}}");
	cli_expect(fd,
		   "{\"execute\": \"pmemaccess\", \"arguments\": {\"path\": "
		   "1}}",
		   "{\"error\": {\"class\": \"GenericError\", \"desc\": "
		   "\"Invalid parameter type for 'path', expected: "
		   "string\"}}");
	tcli_close(fd);
	rig_stop(&r, 0, NULL);
}

static void test_query_qvmi_and_commands(void)
{
	struct json_object *o, *ret, *v, *pm;
	char pm_path[108], req[256];
	struct rig r;
	int a, b;

	rig_start(&r, 0);
	tmp_path(pm_path, sizeof(pm_path), "pmem");
	a = cli_ready(r.path);
	b = cli_ready(r.path);
	snprintf(req, sizeof(req),
		 "{\"execute\": \"pmemaccess\", \"arguments\": {\"path\": "
		 "\"%s\"}}",
		 pm_path);
	cli_expect(a, req, "{\"return\": {}}");
	tcli_send_str(a, "{\"execute\": \"query-qvmi\", \"id\": 1}");
	o = json_tokener_parse(cli_line(a));
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
	cli_expect(b, "{\"execute\": \"query-commands\", \"id\": \"c\"}",
		   "{\"return\": [{\"name\": \"query-status\"}, {\"name\": "
		   "\"stop\"}, {\"name\": \"pmemaccess\"}, {\"name\": "
		   "\"query-qvmi\"}], \"id\": \"c\"}");
	cli_expect(b,
		   "{\"execute\": \"query-qvmi\", \"arguments\": {\"x\": 1}}",
		   "{\"error\": {\"class\": \"GenericError\", \"desc\": "
		   "\"Parameter 'x' is unexpected\"}}");
	tcli_close(a);
	tcli_close(b);
	rig_stop(&r, 0, NULL);
}

static void test_disconnect_mid_command(void)
{
	struct qvmid_proxy_stats st;
	struct rig r;
	int a, b;

	rig_start(&r, 0);
	a = cli_ready(r.path);
	b = cli_ready(r.path);
	tcli_send_str(a, "{\"execute\": \"slow\", \"id\": 1}");
	poll(NULL, 0, 50); /* at QEMU now */
	tcli_close(a);
	/* b's command queues behind the slow one at QEMU; its reply is
	 * b's own, and a's reply goes nowhere. */
	cli_expect(
		b, "{\"execute\": \"echo\", \"id\": 1}",
		"{\"return\": {\"cmd\": \"echo\", \"args\": {}}, \"id\": 1}");
	cli_nothing(b, 50);
	tcli_close(b);
	rig_stop(&r, 0, &st);
	CHECK_U64(st.discarded, ==, 1);
	CHECK_U64(st.forwarded, ==, 2);
}

static void test_slow_client(void)
{
	struct qvmid_proxy_stats st;
	char *ev = malloc(40000);
	struct rig r;
	int slow, good, n;

	CHECK(ev);
	rig_start(&r, 64 * 1024);
	slow = cli_ready(r.path);
	good = cli_ready(r.path);
	n = snprintf(ev, 40000, "{\"event\": \"BIG\", \"data\": \"");
	memset(ev + n, 'x', 30000);
	strcpy(ev + n + 30000, "\"}\r\n");
	/* ~3 MB of events: far more than the socket buffer plus 64 KiB */
	for (int i = 0; i < 100; i++) {
		char *line;

		fakeqmp_inject(r.f, ev);
		line = cli_line(good); /* the reading client keeps up */
		CHECK_MSG(line && !strncmp(line, ev, 40), "event %d", i);
	}
	/* the slow client was cut off: after what was buffered, EOF */
	for (int i = 0; i < 200; i++)
		if (!cli_line(slow))
			break;
	CHECK(!cli_line(slow));
	cli_expect(good, "{\"execute\": \"echo\"}",
		   "{\"return\": {\"cmd\": \"echo\", \"args\": {}}}");
	tcli_close(slow);
	tcli_close(good);
	rig_stop(&r, 0, &st);
	CHECK_U64(st.dropped_slow, ==, 1);
	CHECK_U64(st.events, ==, 100);
	free(ev);
}

static void test_bad_json_closes(void)
{
	struct rig r;
	int fd;

	rig_start(&r, 0);
	fd = cli_ready(r.path);
	cli_expect(fd, "{\"execute\": \"echo\", \"id\": 1,}",
		   "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON "
		   "parse error, invalid JSON (qvmid accepts strict JSON "
		   "only)\"}}");
	CHECK(!cli_line(fd));
	tcli_close(fd);
	rig_stop(&r, 0, NULL);
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
	CHECK_OK(qvmi_qmp_open_fd(ctx, fd, 2000, &q));
	ctx->qmp = q;
	ctx->qmp_close = qvmi_qmp_close;
	tmp_path(path, sizeof(path), "gone");
	o.listen_path = path;
	CHECK_OK(qvmid_proxy_create(ctx, &o, &p));
	/* the loop runs here: the client is accepted, then QEMU leaves */
	c = tcli_connect(path);
	CHECK_INT(qvmid_proxy_run(p), ==, -EPIPE);
	qvmid_proxy_destroy(p);
	CHECK(cli_line(c)); /* the greeting went out ... */
	CHECK(!cli_line(c)); /* ... then EOF */
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
	CHECK_OK(qvmi_qmp_open_fd(ctx, fd, 2000, &q));
	qvmi_qmp_set_tap(q, tap_cb, &t);
	CHECK_OK(qvmi_qmp_queue(q, line, sizeof(line) - 1));
	CHECK_INT(qvmi_qmp_queued(q), ==, sizeof(line) - 1);
	CHECK_OK(qvmi_qmp_execute(q, "query-status", NULL, NULL));
	CHECK_INT(qvmi_qmp_queued(q), ==, 0);
	/* what arrived while execute waited reached the tap, in order */
	CHECK_INT(t.n, ==, 2);
	CHECK_STR(t.raw[0], "{\"event\": \"STOP\"}");
	CHECK_STR(t.raw[1], "{\"return\": 5, \"id\": \"p-1\"}");
	for (int i = 0; i < 50 && t.n < 3; i++)
		CHECK_OK(qvmi_qmp_poll(q, 100));
	CHECK_INT(t.n, ==, 3);
	CHECK_STR(t.raw[2], "{\"return\": 6, \"id\": \"p-2\"}");
	qvmi_qmp_close(q);
	qvmi_ctx_destroy(ctx);
	CHECK_INT(fakeqmp_finish(f, NULL, 0), ==, 0);
}

/* ---- the member scanner ---------------------------------------------- */

static void set_case(const char *in, const char *val, const char *want)
{
	char *out = NULL;
	size_t len = 0;
	int err = qvmi_jsonobj_set(in, strlen(in), "id", val,
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

	CHECK_INT(qvmi_jsonobj_get(s, strlen(s), "id", &m), ==, 1);
	CHECK_INT(m.end - m.vstart, ==, 12);
	CHECK(!strncmp(s + m.vstart, "[1,{\"id\":2}]", 12));
	CHECK_INT(qvmi_jsonobj_get(s, strlen(s), "zz", &m), ==, 0);
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
	{ "bad_json_closes", test_bad_json_closes },
	{ "qemu_gone", test_qemu_gone },
	{ "tap_and_queue", test_tap_and_queue },
	{ "jsonobj", test_jsonobj },
};
QVMI_SUITE(proxy, proxy_tests);
