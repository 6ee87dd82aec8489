// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Linux views on the demo guest, against its own ground truth (the
 * "QVMI-GT" lines of guest/init): ps, maps, cmdline, modules, a marker's
 * heap read through its process page table, dmesg, and `qvmi ps` on a dump
 * written by `qvmi dump`.  Skipped without a demo guest.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"
#include "harness.h"
#include "qvmi.h"
#include "views-gt.h"

#define MIN_D(a, b) ((a) < (b) ? (a) : (b))

static struct qvmi_ctx *ctx;
static struct qvmi_linux *lx;

static const char *views_setup(void)
{
	return guest_get() ? NULL : "no demo guest (QVMI_GUEST_DIR unset)";
}

static void close_all(void)
{
	qvmi_linux_destroy(lx);
	lx = NULL;
	qvmi_ctx_destroy(ctx);
	ctx = NULL;
}

static void open_all(void)
{
	const struct qvmi_guest *g = guest_get();
	int err;

	if (!g)
		SKIP("no demo guest");
	close_all();
	CHECK_OK(qvmi_ctx_create(&ctx));
	err = qvmi_attach_qmp(ctx, g->qmp, NULL);
	CHECK_MSG(!err, "attach: %s", qvmi_errmsg(ctx));
	err = qvmi_linux_open(ctx, NULL, &lx);
	CHECK_MSG(!err, "linux: %s", qvmi_errmsg(ctx));
}

/* Guest uptime in seconds when /init printed its ground truth. */
static double gt_uptime(void)
{
	const struct qvmi_guest *g = guest_get();
	char line[256];
	double up = 0;
	FILE *f = g ? fopen(g->serial, "r") : NULL;

	while (f && fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "QVMI-GT uptime ");

		if (p)
			up = strtod(p + 15, NULL);
	}
	if (f)
		fclose(f);
	return up;
}

static const struct qvmi_linux_task *
find_task(const struct qvmi_linux_task_list *l, int pid)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->tasks[i].pid == pid)
			return &l->tasks[i];
	return NULL;
}

static bool is_kworker(const char *comm)
{
	return !strncmp(comm, "kworker/", 8);
}

/*
 * /proc/PID/stat names a kworker "kworker/0:1-events" (its current work
 * queue, wq_worker_comm()) where task->comm holds "kworker/0:1", and since
 * 5.17 shows a kernel thread's full name ("rcu_tasks_kthread") where
 * task->comm holds the first 15 characters.
 */
static bool comm_matches(const char *gt, const char *ours, bool kthread,
			 int *kw, int *full)
{
	size_t n = strlen(ours);

	if (!strcmp(gt, ours))
		return true;
	if (strncmp(gt, ours, n))
		return false;
	if (is_kworker(ours) && gt[n] == '-')
		return ++*kw;
	return kthread && n == QVMI_LINUX_COMM_LEN - 1 && ++*full;
}

static void test_ps(void)
{
	const struct guest_ps *gt;
	struct qvmi_linux_task_list l;
	size_t n, i, matched = 0, gone = 0, born = 0;
	double up = gt_uptime();
	int kw = 0, full = 0;

	open_all();
	guest_ps(&gt, &n);
	CHECK(n > 20);
	CHECK_OK(qvmi_linux_tasks(lx, 0, &l));
	CHECK_INT(l.tasks[0].pid, ==, 0); /* the idle task, not in /proc */
	for (i = 0; i < n; i++) {
		const struct qvmi_linux_task *t = find_task(&l, gt[i].pid);

		if (!t) {
			/* Allowed: a kworker that exited since. */
			CHECK_MSG(is_kworker(gt[i].comm), "pid %d (%s) missing",
				  gt[i].pid, gt[i].comm);
			gone++;
			continue;
		}
		CHECK_MSG(comm_matches(gt[i].comm, t->comm,
				       t->flags & QVMI_LINUX_TASK_KTHREAD, &kw,
				       &full),
			  "pid %d: comm %s vs %s", gt[i].pid, gt[i].comm,
			  t->comm);
		CHECK_INT(t->ppid, ==, gt[i].ppid);
		CHECK(strchr("RSDTtXZPI", t->state));
		matched++;
	}
	for (i = 1; i < l.n; i++) {
		const struct qvmi_linux_task *t = &l.tasks[i];

		if (guest_ps_find(t->pid))
			continue;
		/* Allowed: started after the ground truth was taken (init's
		 * `sleep 3600`, new kworkers). */
		CHECK_MSG(
			is_kworker(t->comm) ||
				(double)t->start_time / 1e9 >= up - 2.0,
			"pid %d (%s) started at %.2f s, not in the guest's ps "
			"(taken at ~%.2f s)",
			t->pid, t->comm, (double)t->start_time / 1e9, up);
		born++;
	}
	qvmi_test_note("%zu tasks; %zu of %zu ground-truth pids matched (comm, "
		       "ppid); allowed: %zu exited kworker(s), %zu task(s) "
		       "started later, %d kworker name(s) without the "
		       "\"-workqueue\" suffix /proc adds, %d kernel thread "
		       "name(s) cut to 15 characters in task->comm",
		       l.n, matched, n, gone, born, kw, full);
	CHECK(matched + gone == n);
	qvmi_linux_task_list_deinit(&l);
}

/* The markers' threads (marker-b starts two, guest/init): the thread walk
 * (signal->thread_head through thread_node, the only link since 6.7
 * removed thread_group) finds each with its tgid and comm, and a plain
 * walk lists the leaders only. */
static void test_threads(void)
{
	const struct guest_thread *gt;
	struct qvmi_linux_task_list all, leaders;
	size_t n, extra = 0;

	open_all();
	guest_threads(&gt, &n);
	if (!n)
		SKIP("the guest printed no threads (an older guest/init)");
	CHECK_OK(qvmi_linux_tasks(lx, QVMI_LINUX_THREADS, &all));
	CHECK_OK(qvmi_linux_tasks(lx, 0, &leaders));
	for (size_t i = 0; i < n; i++) {
		const struct qvmi_linux_task *t = find_task(&all, gt[i].tid);

		CHECK_MSG(t, "thread %d (%s) missing", gt[i].tid, gt[i].comm);
		if (!t)
			continue;
		CHECK_INT(t->tgid, ==, gt[i].tgid);
		CHECK_STR(t->comm, gt[i].comm);
		CHECK(!!find_task(&leaders, gt[i].tid) ==
		      (gt[i].tid == gt[i].tgid));
		extra += gt[i].tid != gt[i].tgid;
	}
	CHECK(extra >= 2);
	qvmi_test_note("%zu threads of the helpers, %zu not leaders; %zu tasks "
		       "with threads, %zu leaders",
		       n, extra, all.n, leaders.n);
	qvmi_linux_task_list_deinit(&all);
	qvmi_linux_task_list_deinit(&leaders);
}

static void test_maps(void)
{
	const struct guest_marker *mk;
	size_t nm, checked = 0;

	open_all();
	guest_markers(&mk, &nm);
	CHECK(nm >= 2);
	for (size_t m = 0; m < nm; m++) {
		vgt_check_vmas(lx, mk[m].pid, &checked);
	}
	qvmi_test_note("%zu VMAs of %zu processes match /proc/PID/maps",
		       checked, nm);
}

static void test_cmdline(void)
{
	const struct guest_marker *mk;
	size_t nm, checked = 0;
	int pids[8], np = 0;

	open_all();
	guest_markers(&mk, &nm);
	pids[np++] = 1;
	for (size_t i = 0; i < nm && np < 7; i++)
		pids[np++] = mk[i].pid;
	for (int i = 0; i < np; i++) {
		const char *gt = guest_cmdline(pids[i]);

		if (!gt)
			continue;
		vgt_check_cmdline(lx, pids[i], gt);
		checked++;
	}
	CHECK(checked >= 3);
	{ /* the environment the kernel gives init */
		struct qvmi_linux_args_block env;

		CHECK_OK(qvmi_linux_proc_args(lx, 1, QVMI_LINUX_ENVIRON, &env));
		CHECK(memmem(env.data, env.len, "HOME=/\0", 7));
		CHECK(memmem(env.data, env.len, "TERM=linux", 10));
		qvmi_linux_args_deinit(&env);
	}
}

static void test_lsmod(void)
{
	const struct guest_module *gt;
	size_t n;

	open_all();
	n = vgt_check_modules(lx, &gt);
	for (size_t i = 0; i < n; i++)
		CHECK_STR(gt[i].state, "Live"); /* /proc/modules */
	qvmi_test_note("%zu module(s) match /proc/modules", n);
}

static const char *qvmi_bin(char *buf, size_t size)
{
	const char *b = getenv("QVMI_BUILD");

	snprintf(buf, size, "%s/qvmi", b ? b : "build");
	return buf;
}

/* Run a command, return its stdout (malloc'd) or NULL. */
static char *run(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	size_t cap = 1 << 20, n = 0;
	char *out = malloc(cap + 1);

	if (!p || !out) {
		if (p)
			pclose(p);
		free(out);
		return NULL;
	}
	n = fread(out, 1, cap, p);
	out[n] = '\0';
	if (pclose(p)) {
		free(out);
		return NULL;
	}
	return out;
}

static void test_marker_heap(void)
{
	const struct guest_marker *mk;
	char cmd[512], bin[256], *out;
	size_t len;

	open_all();
	mk = vgt_check_marker_heap(ctx, lx);
	len = strlen(mk->heap);
	close_all(); /* QEMU serves one QMP client at a time */
	snprintf(cmd, sizeof(cmd),
		 "%s --qmp %s read --pid %d --va 0x%llx "
		 "--len %zu --raw",
		 qvmi_bin(bin, sizeof(bin)), guest_get()->qmp, mk->pid,
		 (unsigned long long)mk->heap_va, len);
	out = run(cmd);
	CHECK_MSG(out, "%s failed", cmd);
	CHECK_STR(out, mk->heap);
	free(out);
}

/* Records as syslog(2) prints them (kernel/printk/printk.c,
 * info_print_prefix + print_time): one "<facility << 3 | level>[ts] line"
 * per line of a record's text. */
struct lines {
	char **v;
	size_t n, cap;
};

static int syslog_lines(const struct qvmi_linux_log_rec *r, void *arg)
{
	struct lines *L = arg;
	size_t at = 0;

	do {
		size_t len = 0;
		char *s;

		while (at + len < r->text_len && r->text[at + len] != '\n')
			len++;
		if (L->n == L->cap) {
			L->cap = L->cap ? L->cap * 2 : 256;
			L->v = realloc(L->v, L->cap * sizeof(*L->v));
			if (!L->v)
				return -ENOMEM;
		}
		if (asprintf(&s, "<%d>[%5llu.%06llu] %.*s",
			     r->facility << 3 | r->level,
			     (unsigned long long)(r->ts_nsec / 1000000000),
			     (unsigned long long)(r->ts_nsec % 1000000000 /
						  1000),
			     (int)len, r->text + at) < 0)
			return -ENOMEM;
		L->v[L->n++] = s;
		at += len + 1;
	} while (at < r->text_len);
	return 0;
}

/* The guest's dmesg -r: its first lines are our first lines, and its last
 * lines (taken later, after /init's own kmsg line) are a run of ours. */
static void test_dmesg(void)
{
	struct lines L = { 0 };
	char *const *head, *const *tail;
	size_t nh, nt, i, at;
	int nrec;

	open_all();
	nrec = vgt_check_dmesg_banner(ctx, lx);
	guest_dmesg(0, &head, &nh);
	guest_dmesg(1, &tail, &nt);
	if (!nh || !nt)
		SKIP("the guest printed no dmesg lines (an older guest/init)");
	/* a record may hold several lines; the guest logs on meanwhile */
	CHECK_OK(qvmi_linux_dmesg(lx, syslog_lines, &L));
	CHECK((int)L.n >= nrec);
	CHECK(L.n >= nh);
	for (i = 0; i < nh && i < L.n; i++)
		CHECK_STR(L.v[i], head[i]);
	for (at = 0; at < L.n && strcmp(L.v[at], tail[0]); at++)
		;
	CHECK_MSG(at < L.n, "last lines: '%s' not found", tail[0]);
	for (i = 0; i < nt && at + i < L.n; i++)
		CHECK_STR(L.v[at + i], tail[i]);
	CHECK(at + nt <= L.n);
	/* /init's own line: facility user (1), the default level */
	for (i = 0; i < nt && !strstr(tail[i], "qvmi-gt: kmsg marker"); i++)
		;
	CHECK_MSG(i < nt && atoi(tail[i] + 1) >> 3 == 1,
		  "no kmsg marker of facility 1 among the last lines");
	qvmi_test_note("%d records, %zu lines; the guest's first %zu and "
		       "last %zu lines match",
		       nrec, L.n, nh, nt);
	for (i = 0; i < L.n; i++)
		free(L.v[i]);
	free(L.v);
}

static void test_ps_on_dump(void)
{
	char path[] = "/tmp/qvmi-views-dump-XXXXXX", cmd[768], bin[256];
	const struct guest_marker *mk;
	char *out, pid[32];
	size_t nm;
	int fd;

	if (!guest_get())
		SKIP("no demo guest");
	fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s --qmp %s dump %s >/dev/null",
		 qvmi_bin(bin, sizeof(bin)), guest_get()->qmp, path);
	CHECK_MSG(!system(cmd), "%s failed", cmd);
	snprintf(cmd, sizeof(cmd), "%s --dump %s ps", bin, path);
	out = run(cmd);
	unlink(path);
	CHECK_MSG(out, "%s failed", cmd);
	guest_markers(&mk, &nm);
	for (size_t i = 0; i < nm; i++) {
		snprintf(pid, sizeof(pid), " %d ", mk[i].pid);
		CHECK(strstr(out, pid));
		CHECK(strstr(out, mk[i].comm));
	}
	CHECK(strstr(out, "[kthreadd]"));
	free(out);
}

static int count(const struct qvmi_linux_task *t, void *arg)
{
	(void)t;
	(*(int *)arg)++;
	return 0;
}

/* In-process walk with warm caches (layout looked up, pages touched). */
static void test_walk_time(void)
{
	struct timespec a, b;
	double best = 1e9;
	int n = 0;

	open_all();
	CHECK_OK(qvmi_linux_task_foreach(lx, 0, count, &n));
	for (int r = 0; r < 5; r++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (int i = 0; i < 2000; i++)
			qvmi_linux_task_foreach(lx, 0, count, &n);
		clock_gettime(CLOCK_MONOTONIC, &b);
		best = MIN_D(best, ((double)(b.tv_sec - a.tv_sec) * 1e9 +
				    (double)(b.tv_nsec - a.tv_nsec)) /
					   2000 / 1e3);
	}
	n /= 1 + 5 * 2000;
	qvmi_test_note("task walk: %d tasks in %.2f us (best of 5 x 2000)", n,
		       best);
	CHECK(best < 1000);
	close_all();
}

static const struct qvmi_test views_tests[] = {
	{ "ps", test_ps },
	{ "threads", test_threads },
	{ "maps", test_maps },
	{ "cmdline", test_cmdline },
	{ "lsmod", test_lsmod },
	{ "marker_heap", test_marker_heap },
	{ "dmesg", test_dmesg },
	{ "walk_time", test_walk_time },
	{ "ps_on_dump", test_ps_on_dump },
};
QVMI_SUITE_SETUP(views, views_tests, views_setup);
