// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Session control against the demo guest through a real qvmid (its QMP
 * and gdbstub, a session socket, a QMP proxy): single-steps never block
 * qvmid and never hang on a halted vCPU; SET_REGS writes and reads back
 * RIP/RAX; SIGTERM with a hooked tool sends EV_UNHOOK, and qvmid leaves no
 * breakpoint behind and the VM running, whether the tool answers or not.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "harness.h"
#include "qvmi.h"
#include "sockcli.h"

enum { STEP_MS = 800, UNHOOK_MS = 1500 };

struct qd {
	char dir[64], ses[96], qmp[96], key[96], log[96];
	pid_t pid;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void qvmid_path(char *buf, size_t size)
{
	const char *b = getenv("QVMI_BUILD");
	ssize_t n;

	if (b) {
		snprintf(buf, size, "%s/qvmid", b);
		return;
	}
	n = readlink("/proc/self/exe", buf, size - 8);
	CHECK(n > 0);
	buf[n] = 0;
	strcpy(strrchr(buf, '/') + 1, "qvmid");
}

static void qd_stop(void *arg)
{
	struct qd *d = arg;

	/* SIGTERM: a SIGKILLed qvmid would leave QEMU stopped for the next
	 * tests (its ledger goes with the directory). */
	if (d->pid > 0) {
		pid_t r = 0;

		kill(d->pid, SIGTERM);
		for (int i = 0; i < 250 && r == 0; i++) {
			r = waitpid(d->pid, NULL, WNOHANG);
			if (r == 0)
				usleep(20000);
		}
		if (r == 0) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, NULL, 0);
		}
	}
	unlink(d->key);
	if (getenv("QVMI_KEEP_LOGS")) /* debugging a failure */
		return;
	unlink(d->log);
	rmdir(d->dir);
	free(d);
}

/* qvmid on the guest's QMP and gdbstub, set-regs allowed. */
static struct qd *qd_start(const struct qvmi_guest *g)
{
	struct qd *d = calloc(1, sizeof(*d));
	char exe[4096], st[16], ut[16];
	uint8_t k[32];
	int fd, rnd;

	CHECK(d);
	snprintf(d->dir, sizeof(d->dir), "/tmp/qvmi-sessctl-XXXXXX");
	CHECK(mkdtemp(d->dir));
	qvmi_test_defer(qd_stop, d);
	snprintf(d->ses, sizeof(d->ses), "%s/s.sock", d->dir);
	snprintf(d->qmp, sizeof(d->qmp), "%s/qmp.sock", d->dir);
	snprintf(d->key, sizeof(d->key), "%s/key", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/qvmid.log", d->dir);
	rnd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	CHECK(rnd >= 0 && read(rnd, k, sizeof(k)) == (ssize_t)sizeof(k));
	close(rnd);
	fd = open(d->key, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && write(fd, k, sizeof(k)) == (ssize_t)sizeof(k));
	close(fd);
	qvmid_path(exe, sizeof(exe));
	snprintf(st, sizeof(st), "%d", STEP_MS);
	snprintf(ut, sizeof(ut), "%d", UNHOOK_MS);
	d->pid = fork();
	CHECK(d->pid >= 0);
	if (!d->pid) {
		int lfd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (lfd >= 0)
			dup2(lfd, 2);
		execl(exe, "qvmid", "--qmp", g->qmp, "--gdb", g->gdb,
		      "--session", d->ses, "--session-key", d->key,
		      "--listen-qmp", d->qmp, "--allow-command", "set-regs",
		      "--step-timeout", st, "--unhook-timeout", ut, "-v",
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 250; i++) {
		struct stat sb;

		if (!stat(d->ses, &sb) && !stat(d->qmp, &sb))
			return d;
		usleep(20000);
	}
	CHECK_MSG(0, "qvmid did not start (see %s)", d->log);
	return NULL;
}

static void ctx_free(void *arg)
{
	qvmi_ctx_destroy(arg);
}

static struct qvmi_ctx *tool(struct qd *d)
{
	QVMI_OPTS(qvmi_session_opts, o, .key_path = d->key, .timeout_ms = 5000);
	struct qvmi_ctx *c;

	CHECK_OK(qvmi_ctx_create(&c));
	qvmi_test_defer(ctx_free, c);
	CHECK_OK(qvmi_session_open(c, d->ses, &o));
	return c;
}

/*
 * query-status's "status" over a QMP socket into out, without CHECK (for
 * threads): 0, or -1 if no answer within ms.
 */
static int qmp_status(const char *path, char *out, size_t size, int ms)
{
	static const char caps[] = "{\"execute\": \"qmp_capabilities\"}\r\n";
	static const char qs[] = "{\"execute\": \"query-status\"}\r\n";
	char buf[8192];
	size_t n = 0;
	int64_t end = now_ms() + ms;
	int fd = tcli_connect(path), rc = -1;

	if (!tcli_send_raw(fd, caps, sizeof(caps) - 1) ||
	    !tcli_send_raw(fd, qs, sizeof(qs) - 1))
		goto out;
	while (n < sizeof(buf) - 1 && now_ms() < end) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t r;
		char *p;

		if (poll(&pfd, 1, (int)(end - now_ms())) <= 0)
			break;
		r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = 0;
		p = strstr(buf, "\"status\": \"");
		if (p && strchr(p + 11, '"')) {
			p += 11;
			*strchr(p, '"') = 0;
			snprintf(out, size, "%s", p);
			rc = 0;
			break;
		}
	}
out:
	tcli_close(fd);
	return rc;
}

/* ---- steps ------------------------------------------------------------------ */

struct probe {
	const char *qmp;
	int64_t start_after, took;
	int rc;
	char status[32];
};

static void *probe_main(void *arg)
{
	struct probe *p = arg;
	int64_t t0;

	usleep((useconds_t)p->start_after * 1000);
	t0 = now_ms();
	p->rc = qmp_status(p->qmp, p->status, sizeof(p->status), 3000);
	p->took = now_ms() - t0;
	return NULL;
}

/* Which vCPU sits just after a hlt (0xf4; the idle loop's "sti; hlt"),
 * or -1. */
static int halted_vcpu(struct qvmi_ctx *c)
{
	struct qvmi_regs_x86 r;
	uint8_t b;

	for (unsigned int v = 0; v < 2; v++)
		if (!qvmi_get_regs(c, v, &r) &&
		    !qvmi_read_va(c, r.cr3, r.rip - 1, &b, 1) && b == 0xf4)
			return (int)v;
	return -1;
}

/*
 * Steps on the paused guest, on a vCPU halted (hlt) when there
 * is one (the guest runs 100 ms between tries so its vCPUs go idle): each
 * step ends (0) or is reported failed (-ETIMEDOUT) within the step
 * timeout; while a long one is out, a management client is answered; the
 * VM stays consistent (registers readable, resumable).
 */
static void t_steps(void)
{
	const struct qvmi_guest *g = guest_get();
	int ok = 0, timedout = 0, probed = 0, halted = 0;
	int64_t longest = 0, quick_max = 0;
	struct qvmi_regs_x86 r;
	struct qvmi_ctx *c;
	struct qd *d;
	char st[32];

	if (!g || !g->gdb)
		SKIP("no demo guest with a gdbstub");
	d = qd_start(g);
	c = tool(d);
	for (int i = 0; i < 16 && (i < 6 || !probed); i++) {
		struct probe p = { .qmp = d->qmp, .start_after = 100 };
		pthread_t th;
		int64_t t0, took;
		int err, v, halted_vcpu_was;

		CHECK_OK(qvmi_vm_pause(c));
		v = halted_vcpu(c);
		halted += v >= 0;
		halted_vcpu_was = v;
		v = v < 0 ? i % 2 : v;
		CHECK_INT(pthread_create(&th, NULL, probe_main, &p), ==, 0);
		t0 = now_ms();
		err = qvmi_single_step(c, (unsigned int)v);
		took = now_ms() - t0;
		pthread_join(th, NULL);
		CHECK_MSG(err == 0 || err == -ETIMEDOUT, "step: %d %s", err,
			  qvmi_errmsg(c));
		CHECK_INT(took, <, STEP_MS + 1500);
		ok += !err;
		timedout += err == -ETIMEDOUT;
		longest = took > longest ? took : longest;
		if (v != halted_vcpu_was)
			quick_max = took > quick_max ? took : quick_max;
		if (took > 300) { /* the step was out while the probe ran */
			probed++;
			CHECK_INT(p.rc, ==, 0);
			CHECK_INT(p.took, <, 250);
		}
		CHECK_OK(qvmi_get_regs(c, (unsigned int)v, &r));
		CHECK_OK(qvmi_vm_resume(c)); /* the EV_STEP */
		CHECK_OK(qvmi_vm_resume(c)); /* our pause */
		usleep(100000);
	}
	qvmi_test_note("%d steps done, %d stopped by qvmid after %d ms; %d "
		       "on a halted vCPU; longest %lld ms (not halted: %lld); "
		       "%d long ones probed",
		       ok, timedout, STEP_MS, halted, (long long)longest,
		       (long long)quick_max, probed);
	CHECK_OK(qmp_status(d->qmp, st, sizeof(st), 3000));
	CHECK_STR(st, "running");
}

/* ---- registers ----------------------------------------------------------------- */

static void t_set_regs(void)
{
	const struct qvmi_guest *g = guest_get();
	struct qvmi_regs_x86 orig, r, b;
	struct qd *d;
	struct qvmi_ctx *c;
	char st[32];

	if (!g || !g->gdb)
		SKIP("no demo guest with a gdbstub");
	d = qd_start(g);
	c = tool(d);
	CHECK_OK(qvmi_vm_pause(c));
	CHECK_OK(qvmi_get_regs(c, 1, &orig));
	CHECK(orig.valid & QVMI_REGS_GPR);
	r = orig;
	r.valid = QVMI_REGS_GPR;
	r.rax = 0x5eed0000c0ffeeull;
	r.rip = orig.rip + 0x10;
	CHECK_OK(qvmi_set_regs(c, 1, &r));
	CHECK_OK(qvmi_get_regs(c, 1, &b));
	CHECK_U64(b.rax, ==, 0x5eed0000c0ffeeull);
	CHECK_U64(b.rip, ==, orig.rip + 0x10);
	CHECK_U64(b.rsp, ==, orig.rsp);
	CHECK_U64(b.cr3, ==, orig.cr3);
	/* refused: groups the gdbstub cannot write, a vCPU that is not */
	r.valid = QVMI_REGS_GPR | QVMI_REGS_DR;
	CHECK_INT(qvmi_set_regs(c, 1, &r), ==, -EINVAL);
	r.valid = QVMI_REGS_GPR;
	CHECK_INT(qvmi_set_regs(c, 7, &r), ==, -ENOENT);
	/* put the guest back as it was before it runs again */
	orig.valid = QVMI_REGS_GPR;
	CHECK_OK(qvmi_set_regs(c, 1, &orig));
	CHECK_OK(qvmi_get_regs(c, 1, &b));
	CHECK_U64(b.rax, ==, orig.rax);
	CHECK_U64(b.rip, ==, orig.rip);
	CHECK_OK(qvmi_vm_resume(c));
	usleep(300000);
	CHECK_OK(qmp_status(d->qmp, st, sizeof(st), 3000));
	CHECK_STR(st, "running");
}

/* ---- SIGTERM ---------------------------------------------------------------- */

struct answerer {
	struct qvmi_ctx *c;
	volatile int stop;
	int hits, unhooks, removed, acked, polled;
	uint32_t reason;
	uint64_t addr;
	bool answer_unhook;
};

static void on_event(struct qvmi_ctx *ctx, const struct qvmi_event *ev,
		     void *arg)
{
	struct answerer *a = arg;

	if (ev->type == QVMI_EVENT_BREAKPOINT) {
		a->hits++;
		qvmi_vm_resume(ctx); /* EVENT_REPLY continue */
	} else if (ev->type == QVMI_EVENT_UNHOOK) {
		a->unhooks++;
		a->reason = ev->reason;
		if (!a->answer_unhook)
			return;
		a->removed = qvmi_bp_remove(ctx, QVMI_BP_HW, a->addr, 1);
		a->acked = qvmi_session_unhook_ack(ctx);
	}
}

static void *answer_main(void *arg)
{
	struct answerer *a = arg;

	/* Bounded: the test stops it, and qvmid's exit ends the session. */
	for (int i = 0; i < 200 && !a->stop; i++) {
		a->polled = qvmi_events_poll(a->c, 50);
		if (a->polled < 0)
			break;
	}
	return NULL;
}

/* qvmid is gone: QEMU must be running with no breakpoint left.  With our
 * own gdbstub connection (it stops the VM; the continue lets it run), the
 * sleeper's syscall must not stop it for 600 ms (it runs every 100 ms). */
static void check_clean(const struct qvmi_guest *g)
{
	QVMI_OPTS(qvmi_gdb_opts, go, .resume = 1, .memory = QVMI_GDB_MEM_OFF);
	struct qvmi_ctx *c;
	struct qvmi_stop s;
	char st[32];

	CHECK_OK(qmp_status(g->qmp, st, sizeof(st), 3000));
	CHECK_STR(st, "running");
	CHECK_OK(qvmi_ctx_create(&c));
	qvmi_test_defer(ctx_free, c);
	CHECK_OK(qvmi_attach_gdb(c, g->gdb, &go));
	CHECK_INT(qvmi_wait_stop(c, 600, &s), ==, -ETIMEDOUT);
}

static void sigterm_case(bool answer)
{
	const struct qvmi_guest *g = guest_get();
	struct answerer a = { .answer_unhook = answer };
	int status = -1, n = 0;
	struct qd *d;
	pthread_t th;
	int64_t t0, took = -1;

	if (!g || !g->gdb)
		SKIP("no demo guest with a gdbstub");
	CHECK_OK(guest_ksym("__x64_sys_clock_nanosleep", &a.addr));
	d = qd_start(g);
	a.c = tool(d);
	CHECK_OK(qvmi_set_event_cb(a.c, on_event, &a));
	CHECK_OK(qvmi_vm_pause(a.c));
	CHECK_OK(qvmi_bp_insert(a.c, QVMI_BP_HW, a.addr, 1));
	if (answer)
		CHECK_OK(qvmi_vm_resume(a.c)); /* running, hits answered */
	CHECK_INT(pthread_create(&th, NULL, answer_main, &a), ==, 0);
	usleep(answer ? 500000 : 100000);
	t0 = now_ms();
	kill(d->pid, SIGTERM);
	while (n++ < 500 && waitpid(d->pid, &status, WNOHANG) == 0)
		usleep(20000);
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		took = now_ms() - t0;
		d->pid = -1;
	}
	a.stop = 1;
	pthread_join(th, NULL);
	CHECK_MSG(took >= 0, "qvmid did not exit in 10 s");
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "qvmid exit status 0x%x", status);
	CHECK_MSG(a.unhooks == 1, "unhooks %d, last poll %d: %s", a.unhooks,
		  a.polled, qvmi_errmsg(a.c));
	CHECK_INT(a.reason, ==, QVMI_UNHOOK_QVMID_EXIT);
	if (answer) {
		CHECK_INT(a.hits, >, 0);
		CHECK_INT(a.removed, ==, 0);
		CHECK_INT(a.acked, ==, 0);
		CHECK_INT(took, <, UNHOOK_MS);
	} else {
		CHECK_INT(took, >=, UNHOOK_MS - 100);
	}
	qvmi_test_note("qvmid exited %lld ms after SIGTERM", (long long)took);
	check_clean(g);
}

static void t_sigterm_tool_acks(void)
{
	sigterm_case(true);
}

static void t_sigterm_tool_silent(void)
{
	sigterm_case(false);
}

static const struct qvmi_test sessctl_tests[] = {
	{ "steps", t_steps },
	{ "set_regs", t_set_regs },
	{ "sigterm_tool_acks", t_sigterm_tool_acks },
	{ "sigterm_tool_silent", t_sigterm_tool_silent },
};
QVMI_SUITE(sessctl, sessctl_tests);
