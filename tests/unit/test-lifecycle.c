// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Lifecycle interception and session events, in-process: a scripted fake
 * QEMU (tests/lib/fakeqmp) behind qvmid's proxy loop with a session
 * server, in a thread; a libqvmi session (the tool) and raw QMP clients
 * (management) in the test's thread.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fakeqmp.h"
#include "gdb-model.h"
#include "harness.h"
#include "sessrig.h"
#include "sockcli.h"
#include "qvmi.h"
#include "core/internal.h"
#include "../../daemon/qmp-proxy.h"
#include "../../daemon/session-server.h"
#include "proto/qmp.h"
#include "proto/session-wire.h"

enum { MEM_SIZE = 1 << 20, WAIT_MS = 5000, UNHOOK_MS = 400 };

static const uint8_t test_key[32] = "0123456789abcdef0123456789abcdef";

/* ---- the fake QEMU: records what reached it ------------------------------ */

struct fake {
	pthread_mutex_t lock;
	char seen[4096]; /* commands in arrival order, space separated */
};

static char *fake_qemu(struct json_object *req, const char *id, void *arg)
{
	struct fake *f = arg;
	struct json_object *ex = NULL;
	const char *cmd, *ev = NULL;
	char *r = NULL;

	json_object_object_get_ex(req, "execute", &ex);
	cmd = ex ? json_object_get_string(ex) : "";
	pthread_mutex_lock(&f->lock);
	if (strlen(f->seen) + strlen(cmd) + 2 < sizeof(f->seen))
		strcat(strcat(f->seen, cmd), " ");
	pthread_mutex_unlock(&f->lock);
	/* What QEMU 7.2 sends before each command's reply. */
	if (!strcmp(cmd, "stop"))
		ev = "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
		     "\"event\": \"STOP\"}\r\n";
	else if (!strcmp(cmd, "cont"))
		ev = "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 3}, "
		     "\"event\": \"RESUME\"}\r\n";
	else if (!strcmp(cmd, "system_reset"))
		ev = "{\"timestamp\": {\"seconds\": 3, \"microseconds\": 4}, "
		     "\"event\": \"RESET\", \"data\": {\"guest\": false, "
		     "\"reason\": \"host-qmp-system-reset\"}}\r\n";
	else if (!strcmp(cmd, "quit"))
		ev = "{\"timestamp\": {\"seconds\": 5, \"microseconds\": 6}, "
		     "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, "
		     "\"reason\": \"host-qmp-quit\"}}\r\n";
	if (asprintf(&r, "%s{\"return\": {}, \"id\": %s}\r\n", ev ? ev : "",
		     id) < 0)
		return NULL;
	return r;
}

static const struct fq_step serve_script[] = {
	{ FQ_SEND, FQ_GREETING },
	{ FQ_EXPECT, "qmp_capabilities" },
	{ FQ_SEND, FQ_OK },
	{ FQ_SERVE },
	{ FQ_END },
};

/* ---- qvmid ---------------------------------------------------------------- */

/* Heap, freed when the test ends, passed or failed: the session rig
 * (deferred later, so released first) ends qvmid's loop and closes its QMP
 * connection, then the fake QEMU is finished. */
struct rig {
	struct fake fake;
	struct fakeqmp *f;
	struct sessrig *sr;
	struct qvmi_ctx *ctx; /* qvmid's: sr->ctx */
	struct qvmid_proxy *p;
	uint8_t *mem;
	char qmp[108];
	const char *ses, *key;
	/* the tool */
	struct qvmi_ctx *tool;
	struct qvmi_event ev[32];
	int nev;
	/* with_gdb: the gdbstub model behind the session */
	struct model m;
	bool model_started;
};

static void on_event(struct qvmi_ctx *ctx, const struct qvmi_event *ev,
		     void *arg)
{
	struct rig *r = arg;

	(void)ctx;
	if (r->nev < (int)QVMI_ARRAY_SIZE(r->ev))
		r->ev[r->nev++] = *ev;
}

static void rig_free(void *arg)
{
	struct rig *r = arg;
	char msg[256];

	qvmi_ctx_destroy(r->tool);
	if (r->f)
		fakeqmp_finish(r->f, msg, sizeof(msg));
	if (r->model_started) /* the session rig closed its end */
		model_join(&r->m);
	pthread_mutex_destroy(&r->fake.lock);
	free(r->mem);
	free(r);
}

static struct rig *rig_start_gdb(const struct qvmid_proxy_opts *po,
				 const char *deny_events, bool with_gdb)
{
	static int seq;
	struct rig *r = calloc(1, sizeof(*r));
	struct qvmid_proxy_opts o = *po;
	struct qvmid_session_opts so = { .unhook_timeout_ms = UNHOOK_MS };
	struct qvmi_source *src;
	struct qvmi_qmp *q;
	int fd;

	CHECK(r);
	pthread_mutex_init(&r->fake.lock, NULL);
	qvmi_test_defer(rig_free, r);
	r->mem = calloc(1, MEM_SIZE);
	CHECK(r->mem);
	r->f = fakeqmp_start(serve_script, fake_qemu, &r->fake, &fd);
	CHECK(r->f);
	r->sr = sessrig_create("lc", test_key);
	r->ctx = r->sr->ctx;
	r->ses = r->sr->path;
	r->key = r->sr->keyfile;
	CHECK_OK(qvmi_source_testmem_create(r->ctx, r->mem, MEM_SIZE, 1, &src));
	CHECK_OK(qvmi_map_add(r->ctx, src, 0, MEM_SIZE, 0));
	CHECK_OK(qvmi__ram_add(r->ctx, 0, MEM_SIZE));
	CHECK_OK(qvmi__qmp_open_fd(r->ctx, fd, 2000, &q));
	r->ctx->qmp = q;
	r->ctx->qmp_close = qvmi__qmp_close;
	snprintf(r->qmp, sizeof(r->qmp), "/tmp/qvmi-test-lc-%d-%d-qmp.sock",
		 (int)getpid(), seq++);
	so.key = test_key;
	so.key_len = sizeof(test_key);
	if (deny_events) {
		so.policy_set = true;
		qvmid_session_policy_init(&so.policy);
		CHECK_OK(qvmid_session_policy_apply(&so.policy, deny_events,
						    false, true, NULL));
	}
	if (with_gdb) {
		r->m.running_at_connect = true;
		so.gdb_fd_set = true;
		so.gdb_fd = model_start(&r->m);
		r->model_started = true;
		so.ledger_path = r->sr->ledger;
	}
	o.listen_path = r->qmp;
	CHECK_OK(qvmid_proxy_create(r->ctx, &o, &r->p));
	r->sr->p = r->p; /* the rig destroys it from here on */
	CHECK_OK(qvmid_proxy_add_session(r->p, r->ses, &so));
	sessrig_serve_proxy(r->sr, r->p);
	return r;
}

static struct rig *rig_start(const struct qvmid_proxy_opts *po,
			     const char *deny_events)
{
	return rig_start_gdb(po, deny_events, false);
}

static void tool_open(struct rig *r)
{
	CHECK_OK(sessrig_open(r->sr, NULL, &r->tool));
	CHECK_OK(qvmi_set_event_cb(r->tool, on_event, r));
}

static void rig_stop(struct rig *r, struct qvmid_proxy_stats *st)
{
	char msg[256];
	struct fakeqmp *f = r->f;

	qvmi_ctx_destroy(r->tool);
	r->tool = NULL;
	sessrig_join(r->sr);
	if (st)
		qvmid_proxy_stats(r->p, st);
	sessrig_release(r->sr);
	r->f = NULL;
	CHECK_MSG(fakeqmp_finish(f, msg, sizeof(msg)) == 0, "peer: %s", msg);
}

static bool qemu_saw(struct rig *r, const char *cmd)
{
	bool yes;

	pthread_mutex_lock(&r->fake.lock);
	yes = strstr(r->fake.seen, cmd) != NULL;
	pthread_mutex_unlock(&r->fake.lock);
	return yes;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- management clients ----------------------------------------------------- */

static void cli_nothing(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	CHECK_INT(tcli_buffered(fd), ==, 0);
	CHECK_INT(poll(&p, 1, ms), ==, 0);
}

static int cli_ready(const char *path)
{
	int fd = tcli_connect(path);

	CHECK(tcli_line(fd, WAIT_MS)); /* greeting */
	tcli_send_str(fd, "{\"execute\": \"qmp_capabilities\"}");
	CHECK_STR(tcli_line(fd, WAIT_MS), "{\"return\": {}}");
	return fd;
}

/* Skip event lines; return the next reply line. */
static char *cli_reply(int fd, int ms)
{
	for (int i = 0; i < 8; i++) {
		char *l = tcli_line(fd, ms);

		if (!l || !strstr(l, "\"event\""))
			return l;
	}
	return NULL;
}

/* ---- the tool --------------------------------------------------------------- */

/* Poll until an event of type comes (or fail); returns its index. */
static int tool_wait(struct rig *r, enum qvmi_event_type type, int ms)
{
	int64_t end = mono_ms() + ms;

	for (;;) {
		for (int i = 0; i < r->nev; i++)
			if (r->ev[i].type == type)
				return i;
		CHECK_MSG(mono_ms() < end, "no event %d in %d ms (%d others)",
			  (int)type, ms, r->nev);
		CHECK(qvmi_events_poll(r->tool, 50) >= 0);
	}
}

static bool tool_has(struct rig *r, enum qvmi_event_type type, int ms)
{
	int64_t end = mono_ms() + ms;

	while (mono_ms() < end)
		CHECK(qvmi_events_poll(r->tool, 20) >= 0);
	for (int i = 0; i < r->nev; i++)
		if (r->ev[i].type == type)
			return true;
	return false;
}

static struct rig *start_hooked(const struct qvmid_proxy_opts *po,
				const char *deny)
{
	struct rig *r = rig_start(po, deny);

	tool_open(r);
	CHECK_OK(qvmi_session_hook(r->tool));
	return r;
}

/* ---- tests ------------------------------------------------------------------ */

static const struct qvmid_proxy_opts defaults = { 0 };

/* Case A: the tool acknowledges: the stop goes on, its reply comes back. */
static void test_stop_ack(void)
{
	struct qvmid_proxy_stats st;
	struct rig *r;
	int fd, i;

	r = start_hooked(&defaults, NULL);
	fd = cli_ready(r->qmp);
	tcli_send_str(fd, "{\"execute\": \"stop\", \"id\": 1}");
	i = tool_wait(r, QVMI_EVENT_UNHOOK, WAIT_MS);
	CHECK_INT(r->ev[i].reason, ==, QVMI_UNHOOK_STOP);
	CHECK_INT(r->ev[i].timeout_ms, ==, UNHOOK_MS);
	CHECK_INT(r->ev[i].seq, ==, 1);
	cli_nothing(fd, 100);
	CHECK(!qemu_saw(r, "stop"));
	CHECK_OK(qvmi_session_unhook_ack(r->tool));
	CHECK_STR(tcli_line(fd, WAIT_MS),
		  "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
		  "\"event\": \"STOP\"}");
	CHECK_STR(tcli_line(fd, WAIT_MS), "{\"return\": {}, \"id\": 1}");
	CHECK(qemu_saw(r, "stop"));
	/* Paused by someone else: the tool hears of it, with QEMU's time. */
	i = tool_wait(r, QVMI_EVENT_PAUSED, WAIT_MS);
	CHECK_U64(r->ev[i].timestamp_ns, ==, 1000002000ull);
	CHECK_INT(r->ev[i].seq, ==, 2);
	/* Unhooked now: the next stop passes at once. */
	tcli_send_str(fd, "{\"execute\": \"stop\", \"id\": 2}");
	CHECK_STR(cli_reply(fd, WAIT_MS), "{\"return\": {}, \"id\": 2}");
	tool_wait(r, QVMI_EVENT_PAUSED, WAIT_MS);
	CHECK(tool_has(r, QVMI_EVENT_PAUSED, 50));
	CHECK_INT(r->nev, ==, 3); /* UNHOOK, PAUSED, PAUSED: no second UNHOOK */
	CHECK_INT(r->ev[2].type, ==, QVMI_EVENT_PAUSED);
	close(fd);
	rig_stop(r, &st);
	CHECK_U64(st.held, ==, 1);
	CHECK_U64(st.released, ==, 1);
}

/* Case B: the tool ignores UNHOOK: after unhook_timeout the stop goes on. */
static void test_stop_timeout(void)
{
	struct rig *r;
	int64_t t0, dt;
	int fd;

	r = start_hooked(&defaults, NULL);
	fd = cli_ready(r->qmp);
	t0 = mono_ms();
	tcli_send_str(fd, "{\"execute\": \"stop\", \"id\": \"a\"}");
	CHECK_STR(cli_reply(fd, WAIT_MS), "{\"return\": {}, \"id\": \"a\"}");
	dt = mono_ms() - t0;
	CHECK_MSG(dt >= UNHOOK_MS - 20 && dt < UNHOOK_MS + 1500,
		  "released after %lld ms", (long long)dt);
	tool_wait(r, QVMI_EVENT_UNHOOK, WAIT_MS);
	/* qvmid took the hook away: a late ack is harmless. */
	CHECK_OK(qvmi_session_unhook_ack(r->tool));
	close(fd);
	rig_stop(r, NULL);
}

/* system_reset is held too; the tool then sees the RESET with its cause. */
static void test_reset_and_quit(void)
{
	struct rig *r;
	int fd, i;

	r = start_hooked(&defaults, NULL);
	fd = cli_ready(r->qmp);
	tcli_send_str(fd, "{\"execute\": \"system_reset\", \"id\": 3}");
	i = tool_wait(r, QVMI_EVENT_UNHOOK, WAIT_MS);
	CHECK_INT(r->ev[i].reason, ==, QVMI_UNHOOK_SYSTEM_RESET);
	CHECK(!qemu_saw(r, "system_reset"));
	CHECK_OK(qvmi_session_unhook_ack(r->tool));
	CHECK_STR(cli_reply(fd, WAIT_MS), "{\"return\": {}, \"id\": 3}");
	i = tool_wait(r, QVMI_EVENT_RESET, WAIT_MS);
	CHECK_INT(r->ev[i].reason, ==, QVMI_CAUSE_HOST_QMP_SYSTEM_RESET);
	CHECK_INT(r->ev[i].flags, ==, 0);
	CHECK_U64(r->ev[i].timestamp_ns, ==, 3000004000ull);
	/* Hook again: quit is held (unhook_on_shutdown by default). */
	r->nev = 0;
	CHECK_OK(qvmi_session_hook(r->tool));
	tcli_send_str(fd, "{\"execute\": \"quit\", \"id\": 4}");
	i = tool_wait(r, QVMI_EVENT_UNHOOK, WAIT_MS);
	CHECK_INT(r->ev[i].reason, ==, QVMI_UNHOOK_QUIT);
	cli_nothing(fd, 100);
	CHECK(!qemu_saw(r, "quit"));
	CHECK_OK(qvmi_session_unhook_ack(r->tool));
	CHECK_STR(cli_reply(fd, WAIT_MS), "{\"return\": {}, \"id\": 4}");
	i = tool_wait(r, QVMI_EVENT_SHUTDOWN, WAIT_MS);
	CHECK_INT(r->ev[i].reason, ==, QVMI_CAUSE_HOST_QMP_QUIT);
	close(fd);
	rig_stop(r, NULL);
}

/* unhook_on_shutdown=false: quit and system_powerdown pass at once, no
 * UNHOOK; stop is still held. */
static void test_shutdown_passes(void)
{
	struct qvmid_proxy_opts o = { .no_unhook_on_shutdown = true };
	struct rig *r;
	int fd;

	r = start_hooked(&o, NULL);
	fd = cli_ready(r->qmp);
	tcli_send_str(fd, "{\"execute\": \"system_powerdown\", \"id\": 5}");
	CHECK_STR(cli_reply(fd, 300), "{\"return\": {}, \"id\": 5}");
	tcli_send_str(fd, "{\"execute\": \"quit\", \"id\": 6}");
	CHECK_STR(cli_reply(fd, 300), "{\"return\": {}, \"id\": 6}");
	CHECK_INT(tool_wait(r, QVMI_EVENT_SHUTDOWN, WAIT_MS), >=, 0);
	CHECK(!tool_has(r, QVMI_EVENT_UNHOOK, 50));
	tcli_send_str(fd, "{\"execute\": \"stop\", \"id\": 7}");
	tool_wait(r, QVMI_EVENT_UNHOOK, WAIT_MS);
	CHECK(!qemu_saw(r, "stop"));
	CHECK_OK(qvmi_session_unhook_ack(r->tool));
	CHECK_STR(cli_reply(fd, WAIT_MS), "{\"return\": {}, \"id\": 7}");
	close(fd);
	rig_stop(r, NULL);
}

/* async_unhook (default): the same client's other commands flow while its
 * stop is held; its reply comes after theirs. */
static void test_async_unhook(void)
{
	struct rig *r;
	int fd;

	r = start_hooked(&defaults, NULL);
	fd = cli_ready(r->qmp);
	tcli_send_str(fd, "{\"execute\": \"stop\", \"id\": 1}");
	tool_wait(r, QVMI_EVENT_UNHOOK, WAIT_MS);
	tcli_send_str(fd, "{\"execute\": \"query-status\", \"id\": 2}");
	CHECK_STR(tcli_line(fd, WAIT_MS), "{\"return\": {}, \"id\": 2}");
	CHECK(qemu_saw(r, "query-status"));
	CHECK(!qemu_saw(r, "stop"));
	CHECK_OK(qvmi_session_unhook_ack(r->tool));
	CHECK_STR(cli_reply(fd, WAIT_MS), "{\"return\": {}, \"id\": 1}");
	close(fd);
	rig_stop(r, NULL);
}

/* Without async_unhook the client's later commands wait behind the held
 * one, and replies stay in request order. */
static void test_sync_unhook(void)
{
	struct qvmid_proxy_opts o = { .no_async_unhook = true };
	struct rig *r;
	int fd, other;

	r = start_hooked(&o, NULL);
	fd = cli_ready(r->qmp);
	other = cli_ready(r->qmp);
	tcli_send_str(fd, "{\"execute\": \"stop\", \"id\": 1}");
	tool_wait(r, QVMI_EVENT_UNHOOK, WAIT_MS);
	tcli_send_str(fd, "{\"execute\": \"query-status\", \"id\": 2}");
	/* Another client is not held. */
	tcli_send_str(other, "{\"execute\": \"query-kvm\", \"id\": 9}");
	CHECK_STR(tcli_line(other, WAIT_MS), "{\"return\": {}, \"id\": 9}");
	cli_nothing(fd, 200);
	CHECK(!qemu_saw(r, "query-status"));
	CHECK_OK(qvmi_session_unhook_ack(r->tool));
	CHECK_STR(cli_reply(fd, WAIT_MS), "{\"return\": {}, \"id\": 1}");
	CHECK_STR(cli_reply(fd, WAIT_MS), "{\"return\": {}, \"id\": 2}");
	close(fd);
	close(other);
	rig_stop(r, NULL);
}

/* A denied event is never sent; others still are.  A denied UNHOOK takes
 * the hooks away at once. */
static void test_denied_events(void)
{
	struct rig *r;
	int fd, i;

	r = start_hooked(&defaults, "paused,unhook");
	fd = cli_ready(r->qmp);
	tcli_send_str(fd, "{\"execute\": \"stop\", \"id\": 1}");
	CHECK_STR(cli_reply(fd, 300), "{\"return\": {}, \"id\": 1}");
	fakeqmp_inject(r->f, "{\"timestamp\": {\"seconds\": 7, "
			     "\"microseconds\": 8}, \"event\": \"RESET\", "
			     "\"data\": {\"guest\": true, \"reason\": "
			     "\"guest-reset\"}}\r\n");
	i = tool_wait(r, QVMI_EVENT_RESET, WAIT_MS);
	CHECK_INT(r->ev[i].reason, ==, QVMI_CAUSE_GUEST_RESET);
	CHECK_INT(r->ev[i].flags, ==, QVMI_EVENT_F_GUEST);
	CHECK_INT(r->ev[i].seq, ==, 1); /* nothing was sent before it */
	CHECK_INT(r->nev, ==, 1);
	close(fd);
	rig_stop(r, NULL);
}

/* The tool dies during the hold: the command goes on at once. */
static void test_tool_eof(void)
{
	struct rig *r;
	int64_t t0, dt;
	int fd;

	r = start_hooked(&defaults, NULL);
	fd = cli_ready(r->qmp);
	tcli_send_str(fd, "{\"execute\": \"migrate\", \"arguments\": {\"uri\": "
			  "\"exec:cat>/dev/null\"}, \"id\": 1}");
	CHECK_INT(r->ev[tool_wait(r, QVMI_EVENT_UNHOOK, WAIT_MS)].reason, ==,
		  QVMI_UNHOOK_MIGRATE);
	t0 = mono_ms();
	qvmi_ctx_destroy(r->tool);
	r->tool = NULL;
	CHECK_STR(cli_reply(fd, WAIT_MS), "{\"return\": {}, \"id\": 1}");
	dt = mono_ms() - t0;
	CHECK_MSG(dt < UNHOOK_MS / 2, "released after %lld ms", (long long)dt);
	close(fd);
	rig_stop(r, NULL);
}

/* Not hooked: nothing is held; the client that leaves with a held quit
 * still gets it to QEMU. */
static void test_unhooked_and_orphan(void)
{
	struct qvmid_proxy_stats st;
	struct rig *r;
	int fd;

	r = rig_start(&defaults, NULL);
	tool_open(r);
	fd = cli_ready(r->qmp);
	tcli_send_str(fd, "{\"execute\": \"stop\", \"id\": 1}");
	CHECK_STR(cli_reply(fd, 300), "{\"return\": {}, \"id\": 1}");
	CHECK_INT(r->ev[tool_wait(r, QVMI_EVENT_PAUSED, WAIT_MS)].seq, ==, 1);
	CHECK_OK(qvmi_session_hook(r->tool));
	tcli_send_str(fd, "{\"execute\": \"quit\"}");
	tool_wait(r, QVMI_EVENT_UNHOOK, WAIT_MS);
	close(fd);
	poll(NULL, 0, 50);
	CHECK(!qemu_saw(r, "quit"));
	CHECK_OK(qvmi_session_unhook_ack(r->tool));
	for (int i = 0; i < 100 && !qemu_saw(r, "quit"); i++)
		poll(NULL, 0, 10);
	CHECK(qemu_saw(r, "quit"));
	rig_stop(r, &st);
	CHECK_U64(st.held, ==, 1);
	CHECK_INT(st.holding, ==, 0);
}

/* ---- breakpoints across a guest reset --------------------------------------- */

static const char guest_reset[] =
	"{\"timestamp\": {\"seconds\": 7, \"microseconds\": 8}, "
	"\"event\": \"RESET\", \"data\": {\"guest\": true, "
	"\"reason\": \"guest-reset\"}}\r\n";

/* Wait (bounded) until the model saw packet s at or after from. */
static int model_wait(struct model *m, const char *s, int from, int ms)
{
	int i;

	for (int n = 0; (i = log_find(m, s, from)) < 0 && n < ms / 10; n++)
		poll(NULL, 0, 10);
	return i;
}

static bool ledger_has(struct rig *r, const char *line)
{
	char buf[512] = "";
	FILE *f = fopen(r->sr->ledger, "re");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return strstr(buf, line) != NULL;
}

/* A guest reset with a breakpoint in: qvmid takes it out and puts it in
 * again (z, then Z) and the session goes on. */
static void test_reset_reverify(void)
{
	const uint64_t bp = VBASE + 0x100, bp2 = VBASE + 0x200;
	uint8_t buf[8];
	struct rig *r = rig_start_gdb(&defaults, NULL, true);
	int from, z, i;

	tool_open(r);
	CHECK_OK(qvmi_vm_pause(r->tool));
	CHECK_OK(qvmi_bp_insert(r->tool, QVMI_BP_HW, bp, 1));
	CHECK(ledger_has(r, "bp 1 ffffffff87800100 1"));
	from = r->m.nlog;
	fakeqmp_inject(r->f, guest_reset);
	i = tool_wait(r, QVMI_EVENT_RESET, WAIT_MS);
	CHECK_INT(r->ev[i].reason, ==, QVMI_CAUSE_GUEST_RESET);
	z = model_wait(&r->m, "z1,ffffffff87800100,1", from, WAIT_MS);
	CHECK(z >= 0);
	CHECK(model_wait(&r->m, "Z1,ffffffff87800100,1", z, WAIT_MS) > z);
	CHECK(!tool_has(r, QVMI_EVENT_BP_REMOVED, 100));
	pthread_mutex_lock(&r->m.lock);
	CHECK_INT(r->m.nbps, ==, 1);
	pthread_mutex_unlock(&r->m.lock);
	CHECK(ledger_has(r, "bp 1 ffffffff87800100 1"));
	/* The session still works. */
	CHECK_OK(qvmi_bp_insert(r->tool, QVMI_WP_WRITE, bp2, 8));
	CHECK_OK(qvmi_bp_remove(r->tool, QVMI_WP_WRITE, bp2, 8));
	CHECK_OK(qvmi_read_pa(r->tool, 0x1000, buf, sizeof(buf)));
	CHECK_OK(qvmi_bp_remove(r->tool, QVMI_BP_HW, bp, 1));
	CHECK(!ledger_has(r, "bp ")); /* only our pause is left */
	CHECK_OK(qvmi_vm_resume(r->tool));
	CHECK(access(r->sr->ledger, F_OK) != 0);
	rig_stop(r, NULL);
	CHECK_INT(r->m.nbps, ==, 0);
}

/* The stub refuses the re-insert (a GVA that no longer translates): the
 * tool is told, and the breakpoint is gone from the session and ledger. */
static void test_reset_refused(void)
{
	const uint64_t bp = VBASE + 0x100, bp2 = VBASE + 0x200;
	struct rig *r = rig_start_gdb(&defaults, NULL, true);
	int i;

	tool_open(r);
	CHECK_OK(qvmi_vm_pause(r->tool));
	CHECK_OK(qvmi_bp_insert(r->tool, QVMI_BP_SW, bp, 1));
	CHECK_OK(qvmi_bp_insert(r->tool, QVMI_WP_ACCESS, bp2, 4));
	CHECK(ledger_has(r, "bp 4 ffffffff87800200 4"));
	pthread_mutex_lock(&r->m.lock);
	r->m.refuse_z = bp2;
	pthread_mutex_unlock(&r->m.lock);
	fakeqmp_inject(r->f, guest_reset);
	i = tool_wait(r, QVMI_EVENT_BP_REMOVED, WAIT_MS);
	CHECK_U64(r->ev[i].addr, ==, bp2);
	CHECK_INT(r->ev[i].kind, ==, QVMI_WP_ACCESS);
	CHECK_INT(r->ev[i].len, ==, 4);
	/* EV_RESET came first */
	CHECK_INT(r->ev[tool_wait(r, QVMI_EVENT_RESET, 0)].seq, <,
		  r->ev[i].seq);
	CHECK(!ledger_has(r, "ffffffff87800200"));
	CHECK(ledger_has(r, "bp 0 ffffffff87800100 1"));
	CHECK_INT(qvmi_bp_remove(r->tool, QVMI_WP_ACCESS, bp2, 4), ==, -ENOENT);
	CHECK_OK(qvmi_bp_remove(r->tool, QVMI_BP_SW, bp, 1));
	CHECK(!ledger_has(r, "bp ")); /* only our pause is left */
	CHECK_OK(qvmi_vm_resume(r->tool));
	CHECK(access(r->sr->ledger, F_OK) != 0);
	rig_stop(r, NULL);
	CHECK_INT(r->m.nbps, ==, 0);
}

static void *inject_reset_later(void *arg)
{
	struct rig *r = arg;

	poll(NULL, 0, 300);
	fakeqmp_inject(r->f, guest_reset);
	return NULL;
}

/* A reset while a step is out: the breakpoints are re-verified once the
 * step is over (here: it hangs, and qvmid stops it after 1 s), never
 * under it. */
static void test_reset_during_step(void)
{
	struct rig *r = rig_start_gdb(&defaults, NULL, true);
	pthread_t th;
	int from, s, c, z, err;

	tool_open(r);
	CHECK_OK(qvmi_vm_pause(r->tool));
	CHECK_OK(qvmi_bp_insert(r->tool, QVMI_BP_HW, VBASE + 0x100, 1));
	pthread_mutex_lock(&r->m.lock);
	r->m.step_hangs = true;
	pthread_mutex_unlock(&r->m.lock);
	from = r->m.nlog;
	CHECK_INT(pthread_create(&th, NULL, inject_reset_later, r), ==, 0);
	err = qvmi_single_step(r->tool, 1);
	pthread_join(th, NULL);
	CHECK_INT(err, ==, -ETIMEDOUT);
	tool_wait(r, QVMI_EVENT_RESET, WAIT_MS);
	s = log_find(&r->m, "vCont;s:p01.02", from);
	CHECK(s >= 0);
	c = log_find(&r->m, "^C", s);
	CHECK(c > s);
	z = model_wait(&r->m, "z1,ffffffff87800100,1", from, WAIT_MS);
	CHECK_MSG(z > c, "z at %d, step at %d, its stop at %d", z, s, c);
	CHECK(model_wait(&r->m, "Z1,ffffffff87800100,1", z, WAIT_MS) > z);
	CHECK(!tool_has(r, QVMI_EVENT_BP_REMOVED, 50));
	CHECK_OK(qvmi_vm_resume(r->tool)); /* the EV_STEP */
	CHECK_OK(qvmi_bp_remove(r->tool, QVMI_BP_HW, VBASE + 0x100, 1));
	CHECK_OK(qvmi_vm_resume(r->tool));
	rig_stop(r, NULL);
	CHECK_INT(r->m.nbps, ==, 0);
}

/* The wire rules for events, as the client checks them. */
static void test_event_frames(void)
{
	uint8_t p[QVMI_SES_EV_CPU_SIZE] = { 0 };
	struct qvmi_ses_hdr h = { .flags = QVMI_SES_F_EVENT,
				  .msg = QVMI_SES_EV_RESET,
				  .size = QVMI_SES_EV_LIFE_SIZE,
				  .seq = 3 };
	const char *why = NULL;

	CHECK_OK(qvmi__ses_check_event(&h, p, 3, &why));
	CHECK_INT(qvmi__ses_check_event(&h, p, 4, &why), ==, -EPROTO);
	CHECK_STR(why, "out-of-sequence event");
	qvmi__ses_put32(p + 12, 2);
	CHECK_INT(qvmi__ses_check_event(&h, p, 3, &why), ==, -EPROTO);
	CHECK_STR(why, "unknown event flags");
	qvmi__ses_put32(p + 12, 0);
	h.size = 24;
	CHECK_INT(qvmi__ses_check_event(&h, p, 3, &why), ==, -EPROTO);
	CHECK_STR(why, "wrong event payload size");
	h.msg = QVMI_SES_EV_UNHOOK;
	h.size = QVMI_SES_EV_UNHOOK_SIZE;
	CHECK_INT(qvmi__ses_check_event(&h, p, 3, &why), ==, -EPROTO);
	CHECK_STR(why, "unhook: bad reason");
	qvmi__ses_put32(p, QVMI_UNHOOK_QUIT);
	CHECK_OK(qvmi__ses_check_event(&h, p, 3, &why));
	h.msg = QVMI_SES_EV_BP_REMOVED;
	h.size = QVMI_SES_EV_BP_REMOVED_SIZE;
	memset(p, 0, sizeof(p));
	qvmi__ses_put32(p + 8, QVMI_WP_ACCESS + 1);
	CHECK_INT(qvmi__ses_check_event(&h, p, 3, &why), ==, -EPROTO);
	CHECK_STR(why, "bp-removed: bad kind");
	/* 16 bytes like a lifecycle event, but no flags word */
	qvmi__ses_put32(p + 8, QVMI_WP_ACCESS);
	qvmi__ses_put32(p + 12, 8);
	CHECK_OK(qvmi__ses_check_event(&h, p, 3, &why));
	h.msg = 0x8a;
	CHECK_INT(qvmi__ses_check_event(&h, p, 3, &why), ==, -EPROTO);
	CHECK_STR(why, "unknown event");
	h.msg = QVMI_SES_EV_UNHOOK;
	h.flags = QVMI_SES_F_REPLY;
	CHECK_INT(qvmi__ses_check_event(&h, p, 3, &why), ==, -EPROTO);
	CHECK_STR(why, "not an event");
}

/* Continues the gdbstub model got at or after from. */
static int model_conts(struct model *m, int from)
{
	int n = 0;

	pthread_mutex_lock(&m->lock);
	for (int i = from; i < m->nlog && i < NLOG; i++)
		n += !strcmp(m->log[i], "vCont;c") || !strcmp(m->log[i], "c");
	pthread_mutex_unlock(&m->lock);
	return n;
}

static void mgmt(int fd, const char *cmd, int id)
{
	char req[96], want[64];

	snprintf(req, sizeof(req), "{\"execute\": \"%s\", \"id\": %d}", cmd,
		 id);
	snprintf(want, sizeof(want), "{\"return\": {}, \"id\": %d}", id);
	tcli_send_str(fd, req);
	CHECK_STR(cli_reply(fd, WAIT_MS), want);
}

/*
 * A management stop while the tool holds a pause (an unhooked tool: it
 * passes at once): the VM's run state is management's from then on, so
 * the tool's last resume leaves it stopped, and the ledger no longer
 * says the session paused it (a restarted qvmid would not resume it).
 * A management cont gives the pause back to the tool.
 */
static void test_mgmt_stop_in_pause(void)
{
	struct rig *r = rig_start_gdb(&defaults, NULL, true);
	int fd, from;

	tool_open(r);
	from = r->m.nlog;
	CHECK_OK(qvmi_vm_pause(r->tool));
	CHECK(ledger_has(r, "paused 1"));
	fd = cli_ready(r->qmp);
	mgmt(fd, "stop", 1);
	CHECK(!ledger_has(r, "paused"));
	mgmt(fd, "cont", 2);
	CHECK(ledger_has(r, "paused 1"));
	mgmt(fd, "stop", 3);
	CHECK(!ledger_has(r, "paused"));
	CHECK_OK(qvmi_vm_resume(r->tool));
	poll(NULL, 0, 50);
	CHECK_INT(model_conts(&r->m, from), ==, 0);
	close(fd);
	rig_stop(r, NULL);
}

static const struct qvmi_test lifecycle_tests[] = {
	{ "stop_ack", test_stop_ack },
	{ "stop_timeout", test_stop_timeout },
	{ "reset_and_quit", test_reset_and_quit },
	{ "shutdown_passes", test_shutdown_passes },
	{ "async_unhook", test_async_unhook },
	{ "sync_unhook", test_sync_unhook },
	{ "denied_events", test_denied_events },
	{ "tool_eof", test_tool_eof },
	{ "unhooked_and_orphan", test_unhooked_and_orphan },
	{ "event_frames", test_event_frames },
	{ "reset_reverify", test_reset_reverify },
	{ "reset_refused", test_reset_refused },
	{ "reset_during_step", test_reset_during_step },
	{ "mgmt_stop_in_pause", test_mgmt_stop_in_pause },
};
QVMI_SUITE(lifecycle, lifecycle_tests);
