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
#include "sessrig.h"
#include "core/internal.h"

static const uint8_t key[32] = "sessbp-test-key-0123456789abcdef";

/* The model stub and qvmid's rig around it.  Heap, freed when the test
 * ends: the rig (deferred later, so released first) closes the stub
 * connection, then the model thread is joined. */
struct bsrv {
	struct model m;
	bool model_started;
	struct sessrig *r;
};

static void bsrv_free(void *arg)
{
	struct bsrv *t = arg;

	if (t->model_started)
		model_join(&t->m);
	free(t);
}

static struct bsrv *bsrv_new(bool running_at_connect)
{
	struct bsrv *t = calloc(1, sizeof(*t));

	CHECK(t);
	qvmi_test_defer(bsrv_free, t);
	t->m.running_at_connect = running_at_connect;
	t->r = sessrig_create("bp", key);
	return t;
}

static void bsrv_start_opts(struct bsrv *t, struct qvmid_session_opts *o)
{
	o->gdb_fd_set = true;
	o->ledger_path = t->r->ledger;
	/* QEMU 7.2 stops a running VM when the stub connection comes and
	 * says so ("T02"); qvmid must let it run again (no QMP here). */
	o->gdb_fd = model_start(&t->m);
	t->model_started = true;
	sessrig_serve(t->r, o, true);
}

static void bsrv_start(struct bsrv *t, int event_timeout_ms)
{
	struct qvmid_session_opts o = { .event_timeout_ms = event_timeout_ms };

	bsrv_start_opts(t, &o);
}

static struct qvmi_ctx *client(struct bsrv *t)
{
	struct qvmi_ctx *c;

	CHECK_OK(sessrig_open(t->r, NULL, &c));
	return c;
}

static void ms_sleep(int ms)
{
	sessrig_sleep_ms(ms);
}

/* Wait (bounded) until the model saw packet s at or after from. */
static int wait_log(struct model *m, const char *s, int from, int ms)
{
	int i;

	for (int n = 0; (i = log_find(m, s, from)) < 0 && n < ms / 10; n++)
		ms_sleep(10);
	return i;
}

static bool model_running(struct model *m)
{
	bool r;

	pthread_mutex_lock(&m->lock);
	r = m->running;
	pthread_mutex_unlock(&m->lock);
	return r;
}

/* qvmid rewrites the ledger after it let the VM go (bp_drop): the model
 * may log the continue first, so wait (bounded) for the file to go. */
static bool ledger_gone(struct bsrv *t, int ms)
{
	for (int n = 0; access(t->r->ledger, F_OK) == 0 && n < ms / 10; n++)
		ms_sleep(10);
	return access(t->r->ledger, F_OK) != 0;
}

static const uint64_t BP = VBASE + 0x100;

/* Event with registers, EVENT_REPLY continue, then EOF: the breakpoint is
 * removed and the VM runs. */
static void t_event_reply_and_eof(void)
{
	struct bsrv *t = bsrv_new(true);
	struct qvmi_stop st;
	struct qvmi_regs_x86 r;
	struct qvmi_ctx *c;
	int i;

	bsrv_start(t, 5000);
	/* the stub stopped the running VM at connect: qvmid let it go */
	CHECK(log_find(&t->m, "vCont;c", 0) >= 0);
	c = client(t);
	CHECK_OK(qvmi_vm_pause(c));
	CHECK(log_find(&t->m, "^C", 0) >= 0);
	CHECK_OK(qvmi_bp_insert(c, QVMI_BP_HW, BP, 1));
	CHECK(log_find(&t->m, "Z1,ffffffff87800100,1", 0) >= 0);
	CHECK(access(t->r->ledger, F_OK) == 0);
	CHECK_OK(qvmi_vm_resume(c)); /* the model hits at once */
	CHECK_OK(qvmi_wait_stop(c, 2000, &st));
	CHECK_INT(st.reason, ==, QVMI_STOP_BREAKPOINT);
	CHECK_INT(st.vcpu, ==, 1);
	CHECK_U64(st.rip, ==, BP);
	CHECK_OK(qvmi_get_regs(c, 1, &r)); /* sent with the event */
	CHECK_U64(r.rip, ==, BP);
	CHECK_U64(r.rsp, ==, get64(t->m.g[1] + 56, 8));
	i = t->m.nlog;
	/* The VM waits: nothing goes to the stub until we reply. */
	ms_sleep(100);
	CHECK_INT(t->m.nlog, ==, i);
	CHECK_OK(qvmi_vm_resume(c)); /* EVENT_REPLY continue: step over */
	CHECK(wait_log(&t->m, "vCont;s:p01.02", i, 2000) >= 0);
	CHECK_OK(qvmi_wait_stop(c, 2000, &st)); /* the model hits again */
	CHECK_INT(st.reason, ==, QVMI_STOP_BREAKPOINT);
	i = t->m.nlog;
	qvmi_ctx_destroy(c); /* EOF with the VM stopped at the event */
	CHECK(wait_log(&t->m, "z1,ffffffff87800100,1", i, 1000) >= 0);
	CHECK(wait_log(&t->m, "vCont;c", i, 1000) >= 0);
	CHECK_INT(t->m.nbps, ==, 0);
	CHECK(ledger_gone(t, 1000));
	sessrig_stop(t->r);
}

/* EOF while the tool holds a pause and has a breakpoint and a watchpoint
 * in, the VM not at an event: both go, and the pause with them. */
static void t_eof_paused(void)
{
	struct bsrv *t = bsrv_new(true);
	struct qvmi_ctx *c;
	int i;

	bsrv_start(t, 5000);
	c = client(t);
	CHECK_OK(qvmi_vm_pause(c));
	CHECK_OK(qvmi_bp_insert(c, QVMI_BP_HW, BP, 1));
	CHECK_OK(qvmi_bp_insert(c, QVMI_WP_ACCESS, VBASE + 0x80, 8));
	CHECK_INT(t->m.nbps, ==, 2);
	CHECK(access(t->r->ledger, F_OK) == 0);
	i = t->m.nlog;
	qvmi_ctx_destroy(c);
	CHECK(wait_log(&t->m, "z4,ffffffff87800080,8", i, 1000) >= 0);
	CHECK(wait_log(&t->m, "z1,ffffffff87800100,1", i, 1000) >= 0);
	CHECK(wait_log(&t->m, "vCont;c", i, 1000) >= 0);
	/* z before the continue: the VM never runs into a stale one */
	CHECK(log_find(&t->m, "vCont;c", i) >
	      log_find(&t->m, "z1,ffffffff87800100,1", i));
	CHECK_INT(t->m.nbps, ==, 0);
	/* one continue, and it ran: no stop at a breakpoint on the way */
	CHECK(log_find(&t->m, "vCont;c", log_find(&t->m, "vCont;c", i) + 1) <
	      0);
	CHECK(log_find(&t->m, "p10", i) < 0);
	CHECK(model_running(&t->m));
	CHECK(ledger_gone(t, 1000));
	sessrig_stop(t->r);
}

/* No reply: qvmid continues the VM itself after event_timeout. */
static void t_event_timeout(void)
{
	struct bsrv *t = bsrv_new(true);
	struct qvmi_stop st;
	struct qvmi_ctx *c;
	int i;

	bsrv_start(t, 200);
	c = client(t);
	CHECK_OK(qvmi_vm_pause(c));
	CHECK_OK(qvmi_bp_insert(c, QVMI_WP_WRITE, VBASE + 0x40, 4));
	CHECK_OK(qvmi_vm_resume(c));
	CHECK_OK(qvmi_wait_stop(c, 2000, &st));
	CHECK_INT(st.reason, ==, QVMI_STOP_WATCH_WRITE);
	CHECK_U64(st.addr, ==, VBASE + 0x40);
	i = t->m.nlog;
	ms_sleep(50);
	CHECK(log_find(&t->m, "vCont;c", i) < 0); /* still waiting */
	CHECK(wait_log(&t->m, "vCont;c", i, 1000) >= 0); /* then continued */
	/* the model's watchpoint fires on every continue: events keep
	 * coming without any reply */
	CHECK_OK(qvmi_wait_stop(c, 2000, &st));
	CHECK_INT(st.reason, ==, QVMI_STOP_WATCH_WRITE);
	qvmi_ctx_destroy(c);
	sessrig_stop(t->r);
}

/* A ledger from a dead qvmid: its breakpoint goes (z) and the VM it had
 * paused is continued, and the ledger is gone. */
static void t_ledger_recovery(void)
{
	struct bsrv *t = bsrv_new(false);
	FILE *f;

	f = fopen(t->r->ledger, "w");
	CHECK(f);
	fprintf(f, "qvmi-ledger 1\npaused 1\nbp 1 ffffffff87800100 1\n"
		   "bp 2 ffffffff87800040 4\n");
	fclose(f);
	t->m.bps[0].type = 1, t->m.bps[0].addr = BP, t->m.bps[0].len = 1;
	t->m.bps[1].type = 2, t->m.bps[1].addr = VBASE + 0x40;
	t->m.bps[1].len = 4;
	t->m.nbps = 2;
	bsrv_start(t, 0);
	CHECK(log_find(&t->m, "z1,ffffffff87800100,1", 0) >= 0);
	CHECK(log_find(&t->m, "z2,ffffffff87800040,4", 0) >= 0);
	CHECK_INT(t->m.nbps, ==, 0);
	CHECK(wait_log(&t->m, "vCont;c", 0, 1000) >= 0);
	CHECK(access(t->r->ledger, F_OK) != 0);
	sessrig_stop(t->r);
}

/* A step is asynchronous: STEP is answered at once, EV_STEP follows when
 * the stub's stop reply comes; the vCPU moved by one instruction. */
static void t_step(void)
{
	struct bsrv *t = bsrv_new(true);
	struct qvmi_regs_x86 r;
	struct qvmi_ctx *c;
	uint64_t rip;
	int i;

	bsrv_start(t, 5000);
	c = client(t);
	CHECK_OK(qvmi_vm_pause(c));
	rip = RIP(&t->m, 1);
	i = t->m.nlog;
	CHECK_OK(qvmi_single_step(c, 1));
	CHECK(log_find(&t->m, "vCont;s:p01.02", i) >= 0);
	CHECK_OK(qvmi_get_regs(c, 1, &r));
	CHECK_U64(r.rip, ==, rip + 1); /* the model's one instruction */
	CHECK_INT(qvmi_single_step(c, 9), ==, -ENOENT);
	CHECK_OK(qvmi_vm_resume(c)); /* answers the EV_STEP */
	CHECK_OK(qvmi_vm_resume(c)); /* gives back the pause */
	CHECK(wait_log(&t->m, "vCont;c", i, 1000) >= 0);
	qvmi_ctx_destroy(c);
	sessrig_stop(t->r);
}

struct prober {
	struct sessrig *r;
	int err;
	int64_t ms;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* While the step hangs: does qvmid still answer?  A second session is
 * refused (EBUSY) by the same loop. */
static void *probe_main(void *arg)
{
	struct prober *p = arg;
	struct qvmi_ctx *c;
	int64_t t0;

	ms_sleep(150);
	t0 = mono_ms();
	if (qvmi_ctx_create(&c)) {
		p->err = -ENOMEM;
		return NULL;
	}
	{
		QVMI_OPTS(qvmi_session_opts, o, .key_path = p->r->keyfile,
			  .timeout_ms = 3000);

		p->err = qvmi_session_open(c, p->r->path, &o);
	}
	p->ms = mono_ms() - t0;
	qvmi_ctx_destroy(c);
	return NULL;
}

/* A vCPU that does not finish its step (hlt under TCG): qvmid keeps
 * serving, stops the vCPU after step_timeout and reports the step
 * failed; the VM is then consistent (stopped, steppable, resumable). */
static void t_step_halted(void)
{
	struct qvmid_session_opts o = { .event_timeout_ms = 5000,
					.step_timeout_ms = 600 };
	struct bsrv *t = bsrv_new(true);
	struct qvmid_session_stats st;
	struct prober pr = { 0 };
	struct qvmi_ctx *c;
	pthread_t th;
	int64_t t0, took;
	int i, err;

	t->m.step_hangs = true;
	bsrv_start_opts(t, &o);
	c = client(t);
	CHECK_OK(qvmi_vm_pause(c));
	i = t->m.nlog;
	pr.r = t->r;
	CHECK_INT(pthread_create(&th, NULL, probe_main, &pr), ==, 0);
	t0 = mono_ms();
	err = qvmi_single_step(c, 1);
	took = mono_ms() - t0;
	pthread_join(th, NULL); /* before any CHECK: pr is on this stack */
	CHECK_INT(err, ==, -ETIMEDOUT);
	CHECK_INT(took, >=, 550);
	CHECK_INT(took, <, 2500);
	/* answered while the step was out */
	CHECK_INT(pr.err, ==, -EBUSY);
	CHECK_INT(pr.ms, <, 400);
	CHECK(log_find(&t->m, "^C", log_find(&t->m, "vCont;s:p01.02", i)) >= 0);
	CHECK(!model_running(&t->m));
	/* the stub is in step again: the next step works */
	pthread_mutex_lock(&t->m.lock);
	t->m.step_hangs = false;
	pthread_mutex_unlock(&t->m.lock);
	CHECK_OK(qvmi_single_step(c, 1));
	CHECK_OK(qvmi_vm_resume(c)); /* the event */
	CHECK(!model_running(&t->m)); /* our pause still holds it */
	CHECK_OK(qvmi_vm_resume(c));
	CHECK(wait_log(&t->m, "vCont;c", i, 1000) >= 0);
	CHECK(model_running(&t->m));
	qvmi_ctx_destroy(c);
	sessrig_join(t->r);
	qvmid_session_server_stats(t->r->s, &st);
	CHECK_INT(st.step_timeouts, ==, 1);
	sessrig_stop(t->r);
}

/* While a step is out, what needs the vCPUs stopped gets EBUSY and the
 * rest is served; then EV_STEP (reason interrupt) and all is served. */
static void t_step_busy(void)
{
	struct qvmid_session_opts o = { .event_timeout_ms = 5000,
					.step_timeout_ms = 500 };
	struct bsrv *t = bsrv_new(true);
	uint8_t p[24] = { 0 }, buf[512];
	struct qvmi_ses_hdr h;
	struct raw r;

	t->m.step_hangs = true;
	bsrv_start_opts(t, &o);
	sessraw_auth(&r, t->r->path, key);
	raw_call(&r, QVMI_SES_PAUSE, NULL, 0, &h, buf, sizeof(buf));
	CHECK_INT(h.error, ==, 0);
	qvmi__ses_put32(p, 1);
	raw_call(&r, QVMI_SES_STEP, p, 8, &h, buf, sizeof(buf));
	CHECK_INT(h.error, ==, 0);
	raw_call(&r, QVMI_SES_GET_REGS, p, 8, &h, buf, sizeof(buf));
	CHECK_INT(h.error, ==, EBUSY);
	raw_call(&r, QVMI_SES_STEP, p, 8, &h, buf, sizeof(buf));
	CHECK_INT(h.error, ==, EBUSY);
	raw_call(&r, QVMI_SES_RESUME, NULL, 0, &h, buf, sizeof(buf));
	CHECK_INT(h.error, ==, EBUSY);
	qvmi__ses_put32(p + 16, 1);
	qvmi__ses_put32(p + 20, QVMI_SES_TR_USE_VCPU);
	raw_call(&r, QVMI_SES_TRANSLATE, p, 24, &h, buf, sizeof(buf));
	CHECK_INT(h.error, ==, EBUSY);
	raw_call(&r, QVMI_SES_VERSION_CMD, NULL, 0, &h, buf, sizeof(buf));
	CHECK_INT(h.error, ==, 0);
	/* the step timeout: the failed step is reported */
	CHECK_OK(raw_frame(&r, &h, buf, sizeof(buf)));
	CHECK_INT(h.flags, ==, QVMI_SES_F_EVENT);
	CHECK_INT(h.msg, ==, QVMI_SES_EV_STEP);
	CHECK_INT(h.seq, ==, 1);
	CHECK_INT(qvmi__ses_get32(buf), ==, 1); /* vCPU */
	CHECK_INT(qvmi__ses_get32(buf + 4), ==, QVMI_STOP_INTERRUPT);
	CHECK_U64(qvmi__ses_get64(buf + 8), ==, RIP(&t->m, 1));
	qvmi__ses_put32(p, 1);
	raw_call(&r, QVMI_SES_GET_REGS, p, 8, &h, buf, sizeof(buf));
	CHECK_INT(h.error, ==, 0);
	CHECK_U64(qvmi__ses_get64(buf + 16 * 8), ==, RIP(&t->m, 1));
	close(r.fd);
	sessrig_stop(t->r);
}

static void allow_set_regs(struct qvmid_session_opts *o)
{
	o->policy_set = true;
	qvmid_session_policy_init(&o->policy);
	CHECK_OK(qvmid_session_policy_apply(&o->policy, "set-regs", true, false,
					    NULL));
}

/* SET_REGS through the gdbstub: RIP and RAX of a stopped vCPU, read back
 * from the session and from the stub; bad groups, vCPUs and a running VM
 * are refused. */
static void t_set_regs(void)
{
	struct qvmid_session_opts o = { .event_timeout_ms = 5000 };
	struct bsrv *t = bsrv_new(true);
	struct qvmi_regs_x86 r, b;
	struct qvmi_ctx *c;

	allow_set_regs(&o);
	bsrv_start_opts(t, &o);
	c = client(t);
	CHECK_OK(qvmi_vm_pause(c));
	CHECK_OK(qvmi_get_regs(c, 1, &r));
	r.rip = VBASE + 0x234;
	r.rax = 0x1122334455667788ull;
	r.valid = QVMI_REGS_GPR;
	CHECK_OK(qvmi_set_regs(c, 1, &r));
	CHECK_OK(qvmi_get_regs(c, 1, &b));
	CHECK_U64(b.rip, ==, VBASE + 0x234);
	CHECK_U64(b.rax, ==, 0x1122334455667788ull);
	CHECK_U64(b.rsp, ==, r.rsp); /* the rest of the group unchanged */
	CHECK_U64(RIP(&t->m, 1), ==, VBASE + 0x234);
	CHECK_U64(get64(t->m.g[1], 8), ==, 0x1122334455667788ull);
	CHECK_OK(qvmi_get_regs(c, 0, &b)); /* the other vCPU untouched */
	CHECK_U64(b.rax, !=, 0x1122334455667788ull);
	/* groups the stub cannot write, unknown bits, nothing at all */
	r.valid = QVMI_REGS_GPR | QVMI_REGS_DR;
	CHECK_INT(qvmi_set_regs(c, 1, &r), ==, -EINVAL);
	r.valid = QVMI_REGS_TABLES;
	CHECK_INT(qvmi_set_regs(c, 1, &r), ==, -EINVAL);
	r.valid = 1u << 20;
	CHECK_INT(qvmi_set_regs(c, 1, &r), ==, -EINVAL);
	r.valid = 0;
	CHECK_INT(qvmi_set_regs(c, 1, &r), ==, -EINVAL);
	r.valid = QVMI_REGS_GPR;
	CHECK_INT(qvmi_set_regs(c, 2, &r), ==, -ENOENT);
	CHECK_INT(qvmi_set_regs(c, 1, NULL), ==, -EINVAL);
	CHECK_U64(RIP(&t->m, 1), ==, VBASE + 0x234);
	/* a running VM: pause first */
	CHECK_OK(qvmi_vm_resume(c));
	CHECK_INT(qvmi_set_regs(c, 1, &r), ==, -EBUSY);
	CHECK_OK(qvmi_vm_pause(c));
	CHECK_OK(qvmi_set_regs(c, 1, &r));
	qvmi_ctx_destroy(c);
	sessrig_stop(t->r);
}

/* At a breakpoint event: a new RIP is what the tool reads, and the
 * continue runs from there (no step over the old breakpoint). */
static void t_set_regs_at_event(void)
{
	struct qvmid_session_opts o = { .event_timeout_ms = 5000 };
	struct bsrv *t = bsrv_new(true);
	struct qvmi_regs_x86 r;
	struct qvmi_stop st;
	struct qvmi_ctx *c;
	int i;

	allow_set_regs(&o);
	bsrv_start_opts(t, &o);
	c = client(t);
	CHECK_OK(qvmi_vm_pause(c));
	CHECK_OK(qvmi_bp_insert(c, QVMI_BP_HW, BP, 1));
	CHECK_OK(qvmi_vm_resume(c));
	CHECK_OK(qvmi_wait_stop(c, 2000, &st));
	CHECK_INT(st.reason, ==, QVMI_STOP_BREAKPOINT);
	CHECK_OK(qvmi_get_regs(c, 1, &r));
	CHECK_U64(r.rip, ==, BP);
	r.rip = BP + 0x10;
	r.valid = QVMI_REGS_GPR;
	CHECK_OK(qvmi_set_regs(c, 1, &r));
	CHECK_OK(qvmi_get_regs(c, 1, &r)); /* not the event's copy */
	CHECK_U64(r.rip, ==, BP + 0x10);
	i = t->m.nlog;
	CHECK_OK(qvmi_vm_resume(c)); /* EVENT_REPLY continue */
	CHECK(wait_log(&t->m, "vCont;c", i, 2000) >= 0);
	CHECK(log_find(&t->m, "vCont;s:p01.02", i) < 0);
	CHECK_OK(qvmi_wait_stop(c, 2000, &st)); /* the model hits again */
	qvmi_ctx_destroy(c);
	sessrig_stop(t->r);
}

/* The documented default: set-regs is denied (EPERM), the session stays. */
static void t_set_regs_denied(void)
{
	struct bsrv *t = bsrv_new(true);
	struct qvmi_regs_x86 r;
	struct qvmi_ctx *c;

	bsrv_start(t, 5000);
	c = client(t);
	CHECK_OK(qvmi_vm_pause(c));
	CHECK_OK(qvmi_get_regs(c, 1, &r));
	r.valid = QVMI_REGS_GPR;
	CHECK_INT(qvmi_set_regs(c, 1, &r), ==, -EPERM);
	CHECK_OK(qvmi_get_regs(c, 1, &r));
	CHECK_OK(qvmi_vm_resume(c));
	qvmi_ctx_destroy(c);
	sessrig_stop(t->r);
}

struct unhooker {
	struct qvmi_ctx *c;
	int unhooks, removed, acked, polled;
	uint32_t reason, timeout_ms;
};

static void on_unhook(struct qvmi_ctx *ctx, const struct qvmi_event *ev,
		      void *arg)
{
	struct unhooker *u = arg;

	if (ev->type != QVMI_EVENT_UNHOOK)
		return;
	u->unhooks++;
	u->reason = ev->reason;
	u->timeout_ms = ev->timeout_ms;
	u->removed = qvmi_bp_remove(ctx, QVMI_BP_HW, BP, 1);
	u->acked = qvmi_session_unhook_ack(ctx);
}

static void *unhooker_main(void *arg)
{
	struct unhooker *u = arg;

	u->polled = qvmi_events_poll(u->c, 3000);
	return NULL;
}

/* qvmid exits (SIGTERM) with a hooked session: EV_UNHOOK, the tool
 * removes its breakpoint and acknowledges, qvmid goes on at once. */
static void t_exit_unhook_ack(void)
{
	struct qvmid_session_opts o = { .event_timeout_ms = 5000,
					.unhook_timeout_ms = 3000 };
	struct bsrv *t = bsrv_new(true);
	struct qvmid_session_stats st;
	struct unhooker u = { 0 };
	pthread_t th;
	int64_t t0, took;
	int err;

	bsrv_start_opts(t, &o);
	u.c = client(t);
	CHECK_OK(qvmi_set_event_cb(u.c, on_unhook, &u));
	CHECK_OK(qvmi_vm_pause(u.c));
	CHECK_OK(qvmi_bp_insert(u.c, QVMI_BP_HW, BP, 1));
	CHECK_OK(qvmi_vm_pause(u.c)); /* nested */
	sessrig_join(t->r); /* qvmid's loop ends, as on SIGTERM */
	CHECK_INT(pthread_create(&th, NULL, unhooker_main, &u), ==, 0);
	t0 = mono_ms();
	err = qvmid_session_server_shutdown(t->r->s);
	took = mono_ms() - t0;
	pthread_join(th, NULL); /* before any CHECK: u is on this stack */
	CHECK_OK(err);
	CHECK_INT(u.unhooks, ==, 1);
	CHECK_INT(u.reason, ==, QVMI_UNHOOK_QVMID_EXIT);
	CHECK_INT(u.timeout_ms, ==, 3000);
	CHECK_INT(u.removed, ==, 0);
	CHECK_INT(u.acked, ==, 0);
	CHECK_INT(took, <, 2000);
	qvmid_session_server_stats(t->r->s, &st);
	CHECK_INT(st.unhook_acks, ==, 1);
	CHECK_INT(st.unhook_timeouts, ==, 0);
	CHECK_INT(t->m.nbps, ==, 0);
	CHECK(!model_running(&t->m)); /* still the tool's pause */
	qvmi_ctx_destroy(u.c);
	/* the session ends: its pauses go, the VM runs, no ledger left */
	sessrig_stop(t->r);
	CHECK(model_running(&t->m) || t->m.detached);
	CHECK(access(t->r->ledger, F_OK) != 0);
}

/* The same, the tool not answering: after unhook_timeout qvmid removes
 * the breakpoint itself and resumes the VM the session had paused. */
static void t_exit_unhook_timeout(void)
{
	struct qvmid_session_opts o = { .event_timeout_ms = 5000,
					.unhook_timeout_ms = 400 };
	struct bsrv *t = bsrv_new(true);
	struct qvmid_session_stats st;
	struct qvmi_ctx *c;
	int64_t t0, took;
	int i;

	bsrv_start_opts(t, &o);
	c = client(t);
	CHECK_OK(qvmi_vm_pause(c));
	CHECK_OK(qvmi_bp_insert(c, QVMI_BP_SW, BP, 1));
	CHECK(access(t->r->ledger, F_OK) == 0);
	sessrig_join(t->r);
	i = t->m.nlog;
	t0 = mono_ms();
	CHECK_OK(qvmid_session_server_shutdown(t->r->s));
	took = mono_ms() - t0;
	CHECK_INT(took, >=, 350);
	CHECK_INT(took, <, 1500);
	CHECK(log_find(&t->m, "z0,ffffffff87800100,1", i) >= 0);
	CHECK_INT(t->m.nbps, ==, 0);
	qvmid_session_server_stats(t->r->s, &st);
	CHECK_INT(st.unhook_timeouts, ==, 1);
	CHECK_INT(st.breakpoints, ==, 0);
	/* the tool was told (and may still read it) */
	CHECK_INT(qvmi_events_poll(c, 0), ==, 1);
	i = t->m.nlog;
	sessrig_release(t->r); /* destroy: the pause goes */
	CHECK(log_find(&t->m, "vCont;c", i) >= 0 ||
	      log_find(&t->m, "D;1", i) >= 0);
	CHECK(access(t->r->ledger, F_OK) != 0);
	qvmi_ctx_destroy(c);
}

/* Not hooked: nothing to wait for. */
static void t_exit_not_hooked(void)
{
	struct bsrv *t = bsrv_new(true);
	struct qvmid_session_stats st;
	struct qvmi_ctx *c;
	int64_t t0;

	bsrv_start(t, 5000);
	c = client(t);
	sessrig_join(t->r);
	t0 = mono_ms();
	CHECK_OK(qvmid_session_server_shutdown(t->r->s));
	CHECK_INT(mono_ms() - t0, <, 100);
	qvmid_session_server_stats(t->r->s, &st);
	CHECK_INT(st.unhooks, ==, 0);
	qvmi_ctx_destroy(c);
	sessrig_stop(t->r);
}

static const struct qvmi_test sessbp_tests[] = {
	{ "event_reply_and_eof", t_event_reply_and_eof },
	{ "eof_paused", t_eof_paused },
	{ "event_timeout", t_event_timeout },
	{ "ledger_recovery", t_ledger_recovery },
	{ "step", t_step },
	{ "step_halted", t_step_halted },
	{ "step_busy", t_step_busy },
	{ "set_regs", t_set_regs },
	{ "set_regs_at_event", t_set_regs_at_event },
	{ "set_regs_denied", t_set_regs_denied },
	{ "exit_unhook_ack", t_exit_unhook_ack },
	{ "exit_unhook_timeout", t_exit_unhook_timeout },
	{ "exit_not_hooked", t_exit_not_hooked },
};
QVMI_SUITE(sessbp, sessbp_tests);
