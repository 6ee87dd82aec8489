// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Session breakpoints (docs/PROTOCOL.md "Breakpoints"): qvmid's session
 * server over the gdbstub model, a libqvmi session client.  A breakpoint
 * event comes with registers and the VM waits for the reply; without one
 * qvmid continues by itself; the tool's EOF removes its breakpoints; a
 * ledger left by a dead qvmid is cleaned up.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "gdb-model.h"
#include "core/internal.h"
#include "../../daemon/session-server.h"

static const uint8_t key[32] = "sessbp-test-key-0123456789abcdef";

struct bsrv {
	struct model m;
	struct qvmi_ctx *ctx;
	struct qvmid_session_server *s;
	pthread_t thr;
	int rc;
	char path[108], keyfile[108], ledger[120];
};

static void *bsrv_main(void *arg)
{
	struct bsrv *t = arg;

	t->rc = qvmid_session_server_run(t->s);
	return NULL;
}

/* A socket path per case: a case that fails leaves its server (and
 * socket) behind, which must not fail the next ones with EADDRINUSE. */
static void bsrv_paths(struct bsrv *t)
{
	static int ncase;
	int fd;

	ncase++;
	snprintf(t->path, sizeof(t->path), "/tmp/qvmi-test-bp-%d-%d.sock",
		 (int)getpid(), ncase);
	snprintf(t->keyfile, sizeof(t->keyfile), "/tmp/qvmi-test-bp-%d-%d.key",
		 (int)getpid(), ncase);
	unlink(t->path);
	snprintf(t->ledger, sizeof(t->ledger), "%s.ledger", t->path);
	fd = open(t->keyfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_INT(write(fd, key, sizeof(key)), ==, (long)sizeof(key));
	close(fd);
}

static void bsrv_start(struct bsrv *t, int event_timeout_ms)
{
	struct qvmid_session_opts o = { .key = key,
					.key_len = sizeof(key),
					.gdb_fd_set = true,
					.event_timeout_ms = event_timeout_ms,
					.ledger_path = t->ledger };

	/* QEMU 7.2 stops a running VM when the stub connection comes and
	 * says so ("T02"); qvmid must let it run again (no QMP here). */
	o.gdb_fd = model_start(&t->m);
	CHECK_OK(qvmi_ctx_create(&t->ctx));
	CHECK_OK(qvmid_session_server_create(t->ctx, t->path, &o, &t->s));
	CHECK_INT(pthread_create(&t->thr, NULL, bsrv_main, t), ==, 0);
}

static void bsrv_stop(struct bsrv *t)
{
	qvmid_session_server_stop(t->s);
	CHECK_INT(pthread_join(t->thr, NULL), ==, 0);
	qvmid_session_server_destroy(t->s);
	qvmi_ctx_destroy(t->ctx); /* closes the stub connection */
	model_join(&t->m);
	unlink(t->keyfile);
	unlink(t->ledger);
}

static struct qvmi_ctx *client(struct bsrv *t)
{
	QVMI_OPTS(qvmi_session_opts, o, .key_path = t->keyfile,
		  .timeout_ms = 3000);
	struct qvmi_ctx *c;

	CHECK_OK(qvmi_ctx_create(&c));
	CHECK_OK(qvmi_session_open(c, t->path, &o));
	return c;
}

static void ms_sleep(int ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L },
		  NULL);
}

/* Wait (bounded) until the model saw packet s at or after from. */
static int wait_log(struct model *m, const char *s, int from, int ms)
{
	int i;

	for (int n = 0; (i = log_find(m, s, from)) < 0 && n < ms / 10; n++)
		ms_sleep(10);
	return i;
}

static const uint64_t BP = VBASE + 0x100;

/* Event with registers, EVENT_REPLY continue, then EOF: the breakpoint is
 * removed and the VM runs. */
static void t_event_reply_and_eof(void)
{
	struct bsrv t = { .m.running_at_connect = true };
	struct qvmi_stop st;
	struct qvmi_regs_x86 r;
	struct qvmi_ctx *c;
	int i;

	bsrv_paths(&t);
	bsrv_start(&t, 5000);
	/* the stub stopped the running VM at connect: qvmid let it go */
	CHECK(log_find(&t.m, "vCont;c", 0) >= 0);
	c = client(&t);
	CHECK_OK(qvmi_vm_pause(c));
	CHECK(log_find(&t.m, "^C", 0) >= 0);
	CHECK_OK(qvmi_bp_insert(c, QVMI_BP_HW, BP, 1));
	CHECK(log_find(&t.m, "Z1,ffffffff87800100,1", 0) >= 0);
	CHECK(access(t.ledger, F_OK) == 0);
	CHECK_OK(qvmi_vm_resume(c)); /* the model hits at once */
	CHECK_OK(qvmi_wait_stop(c, 2000, &st));
	CHECK_INT(st.reason, ==, QVMI_STOP_BREAKPOINT);
	CHECK_INT(st.vcpu, ==, 1);
	CHECK_U64(st.rip, ==, BP);
	CHECK_OK(qvmi_get_regs(c, 1, &r)); /* sent with the event */
	CHECK_U64(r.rip, ==, BP);
	CHECK_U64(r.rsp, ==, get64(t.m.g[1] + 56, 8));
	i = t.m.nlog;
	/* The VM waits: nothing goes to the stub until we reply. */
	ms_sleep(100);
	CHECK_INT(t.m.nlog, ==, i);
	CHECK_OK(qvmi_vm_resume(c)); /* EVENT_REPLY continue: step over */
	CHECK(wait_log(&t.m, "vCont;s:p01.02", i, 2000) >= 0);
	CHECK_OK(qvmi_wait_stop(c, 2000, &st)); /* the model hits again */
	CHECK_INT(st.reason, ==, QVMI_STOP_BREAKPOINT);
	i = t.m.nlog;
	qvmi_ctx_destroy(c); /* EOF with the VM stopped at the event */
	CHECK(wait_log(&t.m, "z1,ffffffff87800100,1", i, 1000) >= 0);
	CHECK(wait_log(&t.m, "vCont;c", i, 1000) >= 0);
	CHECK_INT(t.m.nbps, ==, 0);
	CHECK(access(t.ledger, F_OK) != 0);
	bsrv_stop(&t);
}

/* EOF while the tool holds a pause and has a breakpoint and a watchpoint
 * in, the VM not at an event: both go, and the pause with them. */
static void t_eof_paused(void)
{
	struct bsrv t = { .m.running_at_connect = true };
	struct qvmi_ctx *c;
	bool running;
	int i;

	bsrv_paths(&t);
	bsrv_start(&t, 5000);
	c = client(&t);
	CHECK_OK(qvmi_vm_pause(c));
	CHECK_OK(qvmi_bp_insert(c, QVMI_BP_HW, BP, 1));
	CHECK_OK(qvmi_bp_insert(c, QVMI_WP_ACCESS, VBASE + 0x80, 8));
	CHECK_INT(t.m.nbps, ==, 2);
	CHECK(access(t.ledger, F_OK) == 0);
	i = t.m.nlog;
	qvmi_ctx_destroy(c);
	CHECK(wait_log(&t.m, "z4,ffffffff87800080,8", i, 1000) >= 0);
	CHECK(wait_log(&t.m, "z1,ffffffff87800100,1", i, 1000) >= 0);
	CHECK(wait_log(&t.m, "vCont;c", i, 1000) >= 0);
	/* z before the continue: the VM never runs into a stale one */
	CHECK(log_find(&t.m, "vCont;c", i) >
	      log_find(&t.m, "z1,ffffffff87800100,1", i));
	CHECK_INT(t.m.nbps, ==, 0);
	/* one continue, and it ran: no stop at a breakpoint on the way */
	CHECK(log_find(&t.m, "vCont;c", log_find(&t.m, "vCont;c", i) + 1) < 0);
	CHECK(log_find(&t.m, "p10", i) < 0);
	pthread_mutex_lock(&t.m.lock);
	running = t.m.running;
	pthread_mutex_unlock(&t.m.lock);
	CHECK(running);
	CHECK(access(t.ledger, F_OK) != 0);
	bsrv_stop(&t);
}

/* No reply: qvmid continues the VM itself after event_timeout. */
static void t_event_timeout(void)
{
	struct bsrv t = { .m.running_at_connect = true };
	struct qvmi_stop st;
	struct qvmi_ctx *c;
	int i;

	bsrv_paths(&t);
	bsrv_start(&t, 200);
	c = client(&t);
	CHECK_OK(qvmi_vm_pause(c));
	CHECK_OK(qvmi_bp_insert(c, QVMI_WP_WRITE, VBASE + 0x40, 4));
	CHECK_OK(qvmi_vm_resume(c));
	CHECK_OK(qvmi_wait_stop(c, 2000, &st));
	CHECK_INT(st.reason, ==, QVMI_STOP_WATCH_WRITE);
	CHECK_U64(st.addr, ==, VBASE + 0x40);
	i = t.m.nlog;
	ms_sleep(50);
	CHECK(log_find(&t.m, "vCont;c", i) < 0); /* still waiting */
	CHECK(wait_log(&t.m, "vCont;c", i, 1000) >= 0); /* then continued */
	/* the model's watchpoint fires on every continue: events keep
	 * coming without any reply */
	CHECK_OK(qvmi_wait_stop(c, 2000, &st));
	CHECK_INT(st.reason, ==, QVMI_STOP_WATCH_WRITE);
	qvmi_ctx_destroy(c);
	bsrv_stop(&t);
}

/* A ledger from a dead qvmid: its breakpoint goes (z) and the VM it had
 * paused is continued, and the ledger is gone. */
static void t_ledger_recovery(void)
{
	struct bsrv t = { 0 };
	FILE *f;

	bsrv_paths(&t);
	f = fopen(t.ledger, "w");
	CHECK(f);
	fprintf(f, "qvmi-ledger 1\npaused 1\nbp 1 ffffffff87800100 1\n"
		   "bp 2 ffffffff87800040 4\n");
	fclose(f);
	t.m.bps[0].type = 1, t.m.bps[0].addr = BP, t.m.bps[0].len = 1;
	t.m.bps[1].type = 2, t.m.bps[1].addr = VBASE + 0x40;
	t.m.bps[1].len = 4;
	t.m.nbps = 2;
	bsrv_start(&t, 0);
	CHECK(log_find(&t.m, "z1,ffffffff87800100,1", 0) >= 0);
	CHECK(log_find(&t.m, "z2,ffffffff87800040,4", 0) >= 0);
	CHECK_INT(t.m.nbps, ==, 0);
	CHECK(wait_log(&t.m, "vCont;c", 0, 1000) >= 0);
	CHECK(access(t.ledger, F_OK) != 0);
	bsrv_stop(&t);
}

static const struct qvmi_test sessbp_tests[] = {
	{ "event_reply_and_eof", t_event_reply_and_eof },
	{ "eof_paused", t_eof_paused },
	{ "event_timeout", t_event_timeout },
	{ "ledger_recovery", t_ledger_recovery },
};
QVMI_SUITE(sessbp, sessbp_tests);
