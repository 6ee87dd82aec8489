// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi watch: a breakpoint on a kernel function, one line per hit with the
 * task that hit it.  qvmi step: single-step a vCPU.  Both need the gdbstub
 * (--gdb), and leave the VM running or paused as they found it (see
 * cli_attach: with --gdb alone the connection itself paused the VM, and a
 * watch leaves it running).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cli.h"

enum {
	OPT_BREAK = OPT_CMD_BASE,
	OPT_COUNT,
	OPT_HW,
	OPT_SW,
	OPT_SECONDS,
	OPT_STATS,
	OPT_VCPU,
	WAIT_SLICE_MS = 200, /* how often a wait looks at Ctrl-C */
	MAX_SAMPLES = 1 << 20,
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct watch_args {
	const char *where;
	uint64_t count; /* 0: until Ctrl-C */
	uint64_t seconds; /* 0: no limit */
	enum qvmi_bp_kind kind;
	bool stats;
	int vcpu;
};

static int watch_opt(struct cli *cli, int opt, const char *arg, void *data)
{
	struct watch_args *a = data;
	uint64_t v = 0;

	(void)cli;
	switch (opt) {
	case OPT_BREAK:
		a->where = arg;
		return 0;
	case OPT_HW:
		a->kind = QVMI_BP_HW;
		return 0;
	case OPT_SW:
		a->kind = QVMI_BP_SW;
		return 0;
	case OPT_STATS:
		a->stats = true;
		return 0;
	}
	if (cli_parse_u64(arg, &v) || v > (opt == OPT_VCPU ? 4096 : 1u << 30)) {
		fprintf(stderr, "qvmi: bad number '%s'\n", arg);
		return -1;
	}
	if (opt == OPT_COUNT)
		a->count = v;
	else if (opt == OPT_SECONDS)
		a->seconds = v;
	else
		a->vcpu = (int)v;
	return 0;
}

/* "SYMBOL", "SYMBOL+OFF" or an address. */
static int resolve(struct cli *cli, struct qvmi_linux *lx, const char *s,
		   uint64_t *ret)
{
	char name[256];
	const char *plus = strchr(s, '+');
	uint64_t off = 0;
	size_t n = plus ? (size_t)(plus - s) : strlen(s);
	int err;

	if (!cli_parse_u64(s, ret))
		return 0;
	if (n >= sizeof(name) || (plus && cli_parse_u64(plus + 1, &off))) {
		fprintf(stderr, "qvmi: bad breakpoint '%s'\n", s);
		return -EINVAL;
	}
	if (!lx) {
		fprintf(stderr, "qvmi: no kernel symbols to resolve '%s'\n", s);
		return -ENOENT;
	}
	memcpy(name, s, n);
	name[n] = '\0';
	err = qvmi_linux_sym_addr(lx, name, ret);
	if (err)
		return cli_fail(cli, name, err), err;
	*ret += off;
	return 0;
}

static void sym_of(struct qvmi_linux *lx, uint64_t addr, char *buf, size_t size)
{
	char name[128];
	uint64_t off;

	buf[0] = '\0';
	if (!lx || qvmi_linux_sym_name(lx, addr, name, sizeof(name), &off))
		return;
	if (off)
		snprintf(buf, size, "%s+0x%llx", name, (unsigned long long)off);
	else
		snprintf(buf, size, "%s", name);
}

/* JSON null for what a hit could not be attributed to, never a made-up
 * value. */
static struct json_object *jint_or_null(bool ok, int64_t v)
{
	return ok ? json_object_new_int64(v) : NULL;
}

/*
 * One hit: "vcpu N pid P tgid T comm C rip 0x... SYMBOL", or JSON lines.
 * A hit whose task cannot be found is printed with "?" (JSON null) and
 * counts as unattributed: the first such failure is explained once, and
 * the watch's exit status says the result was partial.
 */
static void print_hit(struct cli *cli, struct qvmi_linux *lx,
		      const struct qvmi_stop *s, uint64_t *unattributed)
{
	struct qvmi_linux_current cur = { .pid = -1, .tgid = -1 };
	char sym[160], pid[16] = "?", tgid[16] = "?";
	int err = lx ? qvmi_linux_current_task(lx, s->vcpu, &cur) : -ENOENT;

	if (err) {
		snprintf(cur.comm, sizeof(cur.comm), "?");
		if (lx && !(*unattributed)++)
			fprintf(stderr,
				"qvmi: watch: hit not attributed to a task: "
				"%s: %s\n",
				qvmi_errmsg(cli->ctx), strerror(-err));
	} else {
		snprintf(pid, sizeof(pid), "%d", cur.pid);
		snprintf(tgid, sizeof(tgid), "%d", cur.tgid);
	}
	sym_of(lx, s->rip, sym, sizeof(sym));
	if (cli->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "vcpu",
				       json_object_new_int((int)s->vcpu));
		json_object_object_add(o, "pid", jint_or_null(!err, cur.pid));
		json_object_object_add(o, "tgid", jint_or_null(!err, cur.tgid));
		json_object_object_add(o, "comm",
				       err ? NULL :
					     json_object_new_string(cur.comm));
		json_object_object_add(o, "task",
				       err ? NULL :
					     json_object_new_uint64(cur.task));
		json_object_object_add(o, "user",
				       err ? NULL :
					     json_object_new_boolean(cur.user));
		json_object_object_add(o, "rip",
				       json_object_new_uint64(s->rip));
		json_object_object_add(o, "symbol",
				       json_object_new_string(sym));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		printf("vcpu %u pid %s tgid %s comm %s rip 0x%llx %s\n",
		       s->vcpu, pid, tgid, cur.comm, (unsigned long long)s->rip,
		       sym);
	}
	fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void print_stats(const char *what, const double *ms, size_t n)
{
	double *s;

	if (!n || !(s = malloc(n * sizeof(*s))))
		return;
	memcpy(s, ms, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	fprintf(stderr,
		"qvmi: watch: %zu hits, %s p50 %.3f ms p99 %.3f ms max %.3f "
		"ms\n",
		n, what, s[n / 2], s[(n * 99 + 99) / 100 - 1], s[n - 1]);
	free(s);
}

struct watch {
	struct cli *cli;
	struct qvmi_linux *lx;
	struct watch_args a;
	uint64_t addr;
	uint64_t hits;
	uint64_t unattributed; /* hits whose task lookup failed */
	/* Through a qvmid session: the reason of an UNHOOK qvmid sent (a
	 * management client's stop/reset/quit... waits for us), 0 if none. */
	uint32_t unhook;
	/* Through a session: the guest reset (QVMI_EVENT_RESET).  The
	 * kernel address watched is stale then (KASLR moves the kernel on
	 * the next boot): the watch ends like on UNHOOK. */
	bool reset;
	/* --stats, per hit: stop seen -> VM running again, and the part of
	 * it spent finding the task and printing */
	double *ms, *ms_task;
};

static bool stats_alloc(struct watch *w)
{
	size_t n = w->a.count && w->a.count < MAX_SAMPLES ? w->a.count :
							    MAX_SAMPLES;

	w->ms = calloc(n, sizeof(*w->ms));
	w->ms_task = calloc(n, sizeof(*w->ms_task));
	return w->ms && w->ms_task;
}

static void on_event(struct qvmi_ctx *ctx, const struct qvmi_event *ev,
		     void *arg)
{
	struct watch *w = arg;

	(void)ctx;
	if (ev->type == QVMI_EVENT_UNHOOK)
		w->unhook = ev->reason ? ev->reason : QVMI_UNHOOK_STOP;
	else if (ev->type == QVMI_EVENT_RESET)
		w->reset = true;
}

static const char *unhook_why(uint32_t reason)
{
	static const char *const why[] = {
		[QVMI_UNHOOK_STOP] = "a management stop",
		[QVMI_UNHOOK_SYSTEM_RESET] = "a system_reset",
		[QVMI_UNHOOK_MIGRATE] = "a migration",
		[QVMI_UNHOOK_QUIT] = "a quit",
		[QVMI_UNHOOK_SYSTEM_POWERDOWN] = "a system_powerdown",
		[QVMI_UNHOOK_QVMID_EXIT] = "qvmid exiting",
	};

	return reason < sizeof(why) / sizeof(why[0]) && why[reason] ?
		       why[reason] :
		       "an unknown reason";
}

/* Wait for the next stop in slices so that Ctrl-C, --seconds and qvmid's
 * UNHOOK or RESET are seen.  1: a stop in *s, 0: interrupted, out of
 * time, asked to unhook or the guest reset, < 0: error. */
static int next_stop(struct watch *w, double deadline, struct qvmi_stop *s)
{
	bool session = qvmi_session_fd(w->cli->ctx) >= 0;
	int err;

	while (!interrupted) {
		/* Events read while waiting for a stop wait in the
		 * session's queue until delivered here. */
		if (session && qvmi_events_poll(w->cli->ctx, 0) == -EPIPE)
			return -EPIPE;
		if (w->unhook || w->reset || (deadline && now_ms() >= deadline))
			return 0;
		err = qvmi_wait_stop(w->cli->ctx, WAIT_SLICE_MS, s);
		if (err == -ETIMEDOUT)
			continue;
		return err ? err : 1;
	}
	return 0;
}

static int watch_loop(struct watch *w)
{
	struct qvmi_ctx *ctx = w->cli->ctx;
	double deadline = w->a.seconds ? now_ms() + w->a.seconds * 1e3 : 0, t0;
	struct qvmi_stop s;
	int err = qvmi_vm_resume(ctx);

	while (!err && (!w->a.count || w->hits < w->a.count)) {
		err = next_stop(w, deadline, &s);
		if (err <= 0)
			break;
		t0 = now_ms();
		err = 0;
		if (s.reason == QVMI_STOP_EXITED) {
			fprintf(stderr, "qvmi: watch: the VM is gone\n");
			return -EPIPE;
		}
		/* Other stops (someone else's breakpoint, a stray ^C) are
		 * not ours to report: continue. */
		if (s.reason == QVMI_STOP_BREAKPOINT && s.rip == w->addr &&
		    (w->a.vcpu < 0 || s.vcpu == (unsigned int)w->a.vcpu)) {
			print_hit(w->cli, w->lx, &s, &w->unattributed);
			w->hits++;
			if (w->ms_task && w->hits <= MAX_SAMPLES)
				w->ms_task[w->hits - 1] = now_ms() - t0;
			if (w->a.count && w->hits == w->a.count)
				break;
		}
		err = qvmi_vm_resume(ctx);
		if (w->ms && w->hits && w->hits <= MAX_SAMPLES)
			w->ms[w->hits - 1] = now_ms() - t0;
	}
	return err < 0 ? cli_fail(w->cli, "watch", err), err : 0;
}

/* Take the breakpoint out and put the VM back as it was. */
static int watch_finish(struct watch *w, bool was_running)
{
	struct qvmi_ctx *ctx = w->cli->ctx;
	enum qvmi_vm_state st = QVMI_VM_UNKNOWN;
	int err = 0;

	/* A pause also tells the gdbstub backend that the VM should stay
	 * paused when the context goes (our resumes said the opposite). */
	if (!was_running || (!qvmi_vm_state(ctx, &st) && st == QVMI_VM_RUNNING))
		err = qvmi_vm_pause(ctx);
	if (!err)
		err = qvmi_bp_remove(ctx, w->a.kind, w->addr, 1);
	/* After a reset qvmid drops a breakpoint it could not put back
	 * (EV_BP_REMOVED): it is gone either way. */
	if (err == -ENOENT && w->reset)
		err = 0;
	if (!err && was_running)
		err = qvmi_vm_resume(ctx);
	return err ? cli_fail(w->cli, "watch: cleanup", err) : 0;
}

static int watch_parse(struct cli *cli, const char *name, int argc, char **argv,
		       struct watch_args *a)
{
	static const struct option opts[] = {
		{ "break", required_argument, NULL, OPT_BREAK },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "hw", no_argument, NULL, OPT_HW },
		{ "sw", no_argument, NULL, OPT_SW },
		{ "seconds", required_argument, NULL, OPT_SECONDS },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "vcpu", required_argument, NULL, OPT_VCPU },
		{ 0 },
	};
	const struct cli_cmd *cmd = cli_find_cmd(name);
	int i = cli_parse(cli, cmd, argc, argv, opts, watch_opt, a);

	if (i == CLI_EXIT_HELP)
		return 0;
	if (i >= 0 && i != argc)
		i = cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
	if (i < 0)
		return 2;
	return cli_attach(cli) ? 1 : -1;
}

/*
 * The Linux layer that names hits and steps, with the user's --btf, --isf
 * and --system-map.  Given any of those, a failure ends the command; with
 * none, the guest may not be Linux at all: hits and steps still come, not
 * attributed to tasks, and a warning says why.  0 or -1 (printed).
 */
static int open_linux(struct cli *cli, struct qvmi_linux **ret)
{
	int err;

	*ret = NULL;
	if (cli->btf || cli->isf || cli->system_map)
		return cli_linux_open(cli, ret) ? -1 : 0;
	err = qvmi_linux_open(cli->ctx, NULL, ret);
	if (err) {
		*ret = NULL;
		fprintf(stderr,
			"qvmi: warning: no symbols or tasks for this guest "
			"(%s): addresses only\n",
			qvmi_errmsg(cli->ctx));
	}
	return 0;
}

static int watch_main(struct cli *cli, int argc, char **argv)
{
	struct watch w = { .cli = cli,
			   .a = { .kind = QVMI_BP_HW, .vcpu = -1 } };
	enum qvmi_vm_state st = QVMI_VM_UNKNOWN;
	bool was_running;
	int rc = watch_parse(cli, "watch", argc, argv, &w.a), err;

	if (rc >= 0)
		return rc;
	if (!w.a.where)
		return cli_usage_error(cli_find_cmd("watch"),
				       "--break is required"),
		       2;
	/* With --gdb alone the connection paused the VM: whatever it did
	 * before, a watch leaves it running. */
	was_running = (cli->gdb && !cli->qmp) ||
		      (!qvmi_vm_state(cli->ctx, &st) && st == QVMI_VM_RUNNING);
	if (qvmi_session_fd(cli->ctx) >= 0)
		qvmi_set_event_cb(cli->ctx, on_event, &w);
	if (open_linux(cli, &w.lx))
		return 1;
	if (resolve(cli, w.lx, w.a.where, &w.addr)) {
		qvmi_linux_destroy(w.lx);
		return 1;
	}
	if (w.a.stats && !stats_alloc(&w)) {
		rc = cli_fail(cli, "watch", -ENOMEM);
		goto out;
	}
	err = qvmi_vm_pause(cli->ctx);
	if (!err)
		err = qvmi_bp_insert(cli->ctx, w.a.kind, w.addr, 1);
	if (err) {
		rc = cli_fail(cli, "watch: breakpoint", err);
		if (was_running)
			qvmi_vm_resume(cli->ctx);
		goto out;
	}
	rc = watch_loop(&w) ? 1 : 0;
	rc |= watch_finish(&w, was_running);
	if (w.unhook) {
		/* Our breakpoint is out: let the held command through now
		 * rather than after qvmid's unhook timeout. */
		err = qvmi_session_unhook_ack(cli->ctx);
		fprintf(stderr,
			"qvmi: watch: qvmid asked to unhook (%s): breakpoint "
			"removed after %llu hits\n",
			unhook_why(w.unhook), (unsigned long long)w.hits);
		rc = err ? cli_fail(cli, "watch: unhook", err) : rc ? rc : 3;
	} else if (w.reset) {
		fprintf(stderr,
			"qvmi: watch: the guest reset: breakpoint removed "
			"after %llu hits\n",
			(unsigned long long)w.hits);
		rc = rc ? rc : 3;
	}
	if (w.a.stats) {
		size_t n = w.hits < MAX_SAMPLES ? w.hits : MAX_SAMPLES;

		print_stats("hit->running", w.ms, n);
		print_stats("hit->printed (task lookup)", w.ms_task, n);
	}
	if (!rc && w.unattributed) {
		fprintf(stderr,
			"qvmi: watch: partial result: %llu of %llu hits not "
			"attributed to a task\n",
			(unsigned long long)w.unattributed,
			(unsigned long long)w.hits);
		rc = 1;
	}
	/* --seconds ran out first: say so in the exit status */
	if (!rc && w.a.count && w.hits < w.a.count && !interrupted) {
		fprintf(stderr, "qvmi: watch: %llu of %llu hits in %llu s\n",
			(unsigned long long)w.hits,
			(unsigned long long)w.a.count,
			(unsigned long long)w.a.seconds);
		rc = 3;
	}
out:
	free(w.ms);
	free(w.ms_task);
	qvmi_linux_destroy(w.lx);
	return rc;
}

int cmd_watch(struct cli *cli, int argc, char **argv)
{
	/* Caught from the start, SIGTERM and SIGHUP too: dying while the
	 * gdbstub is connected would leave the VM stopped, at the breakpoint
	 * once it is in (QEMU 7.2 ignores a closed connection). */
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_handler = on_signal }, old[3];
	int rc;

	interrupted = 0;
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	rc = watch_main(cli, argc, argv);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	return rc;
}

/* ---- step ------------------------------------------------------------- */

static int step_print(struct cli *cli, struct qvmi_linux *lx, unsigned int vcpu,
		      uint64_t i)
{
	struct qvmi_regs_x86 r;
	char sym[160];
	int err = qvmi_get_regs(cli->ctx, vcpu, &r);

	if (err)
		return cli_fail(cli, "step: registers", err);
	sym_of(lx, r.rip, sym, sizeof(sym));
	if (cli->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "step", json_object_new_uint64(i));
		json_object_object_add(o, "vcpu",
				       json_object_new_int((int)vcpu));
		json_object_object_add(o, "rip", json_object_new_uint64(r.rip));
		json_object_object_add(o, "symbol",
				       json_object_new_string(sym));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		printf("%llu vcpu %u rip 0x%llx %s\n", (unsigned long long)i,
		       vcpu, (unsigned long long)r.rip, sym);
	}
	return 0;
}

int cmd_step(struct cli *cli, int argc, char **argv)
{
	struct watch_args a = { .count = 1 };
	enum qvmi_vm_state st = QVMI_VM_UNKNOWN;
	struct qvmi_linux *lx;
	int rc = watch_parse(cli, "step", argc, argv, &a), n, err = 0;

	if (rc >= 0)
		return rc;
	n = qvmi_vcpu_count(cli->ctx);
	if (n < 0)
		return cli_fail(cli, "step", n);
	if (a.vcpu >= n)
		return cli_error(cli, "step", -ENOENT, "no vCPU %d (VM has %d)",
				 a.vcpu, n);
	if (open_linux(cli, &lx))
		return 1;
	/* Pause only a running VM: a pause of a stopped one would also
	 * forget how the gdbstub found it. */
	if (!qvmi_vm_state(cli->ctx, &st) && st == QVMI_VM_RUNNING)
		err = qvmi_vm_pause(cli->ctx);
	if (err) {
		qvmi_linux_destroy(lx);
		return cli_fail(cli, "step: pause", err);
	}
	rc = step_print(cli, lx, (unsigned int)a.vcpu, 0);
	for (uint64_t i = 1; !rc && i <= a.count; i++) {
		err = qvmi_single_step(cli->ctx, (unsigned int)a.vcpu);
		rc = err ? cli_fail(cli, "step", err) :
			   step_print(cli, lx, (unsigned int)a.vcpu, i);
	}
	qvmi_linux_destroy(lx);
	if (st == QVMI_VM_RUNNING) {
		err = qvmi_vm_resume(cli->ctx);
		if (err)
			rc = cli_fail(cli, "step: resume", err);
	}
	return rc;
}
