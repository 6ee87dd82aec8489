// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Linux attach speed: qvmi_linux_open with no profile (cold: memory scan,
 * kallsyms decoding, BTF) and from the profile cache, the task walk with
 * warm caches, and whole processes from spawn to exit: `qvmi ps` cold and
 * cached next to `qvmi status` (a process that only speaks QMP) and a
 * process that only starts (`qvmi --help`).
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

enum { MAX_RUNS = 64 };

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Empty a cache directory (it holds only files). */
static void clear_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' &&
		    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) <
			    (int)sizeof(path))
			unlink(path);
	closedir(d);
}

static int attach(const char *qmp, struct qvmi_ctx **ret)
{
	int err = qvmi_ctx_create(ret);

	if (!err)
		err = qvmi_attach_qmp(*ret, qmp, NULL);
	if (err) {
		fprintf(stderr, "bench: attach: %s\n",
			*ret ? qvmi_errmsg(*ret) : "no context");
		qvmi_ctx_destroy(*ret);
		*ret = NULL;
	}
	return err;
}

/* Attach + qvmi_linux_open (+ one task walk); ms of each part. */
static int open_once(const char *qmp, const char *dir, double *t_attach,
		     double *t_open, double *t_walk)
{
	QVMI_OPTS(qvmi_linux_opts, o, .cache_dir = dir);
	struct qvmi_linux_task_list l;
	struct qvmi_linux *lx = NULL;
	struct qvmi_ctx *ctx = NULL;
	double t0 = bench_now(), t1, t2;
	int err = attach(qmp, &ctx);

	if (err)
		return err;
	t1 = bench_now();
	err = qvmi_linux_open(ctx, &o, &lx);
	t2 = bench_now();
	if (err) {
		fprintf(stderr, "bench: linux_open: %s\n", qvmi_errmsg(ctx));
		qvmi_ctx_destroy(ctx);
		return err;
	}
	err = qvmi_linux_tasks(lx, 0, &l);
	*t_walk = (bench_now() - t2) * 1e3;
	qvmi_linux_task_list_deinit(&l);
	qvmi_linux_destroy(lx);
	qvmi_ctx_destroy(ctx);
	*t_attach = (t1 - t0) * 1e3;
	*t_open = (t2 - t1) * 1e3;
	return err;
}

static int bench_open(const char *qmp, const char *dir, int runs)
{
	double at[MAX_RUNS], op[MAX_RUNS], wk[MAX_RUNS];
	double cat[MAX_RUNS], cop[MAX_RUNS], cwk[MAX_RUNS];

	for (int i = 0; i < runs; i++) {
		clear_dir(dir);
		if (open_once(qmp, dir, &at[i], &op[i], &wk[i]) ||
		    open_once(qmp, dir, &cat[i], &cop[i], &cwk[i]))
			return -1;
	}
	bench_row("qvmi_attach_qmp (shm)", median(at, runs), "ms", 0, NULL,
		  NULL);
	bench_row("qvmi_linux_open, no profile (scan, decode, BTF)",
		  median(op, runs), "ms", 0, NULL, NULL);
	bench_row("first task walk after a cold open", median(wk, runs), "ms",
		  0, NULL, NULL);
	bench_row("qvmi_linux_open from the profile", median(cop, runs), "ms",
		  0, NULL, NULL);
	bench_row("first task walk after a cached open", median(cwk, runs),
		  "ms", 0, NULL, NULL);
	return 0;
}

static int count_task(const struct qvmi_linux_task *t, void *arg)
{
	(void)t;
	(*(size_t *)arg)++;
	return 0;
}

/* The in-process task walk once everything is warm. */
static int bench_walk(const char *qmp, const char *dir)
{
	QVMI_OPTS(qvmi_linux_opts, o, .cache_dir = dir);
	struct qvmi_linux *lx = NULL;
	struct qvmi_ctx *ctx = NULL;
	int iters = bench_quick ? 200 : 2000, err;
	double v[5];
	size_t n = 0;
	char what[96];

	if (attach(qmp, &ctx))
		return -1;
	err = qvmi_linux_open(ctx, &o, &lx);
	for (int i = 0; !err && i < 10; i++) /* warm up */
		err = qvmi_linux_task_foreach(lx, 0, count_task, &n);
	for (int r = 0; !err && r < 5; r++) {
		double t0 = bench_now();

		n = 0;
		for (int i = 0; !err && i < iters; i++)
			err = qvmi_linux_task_foreach(lx, 0, count_task, &n);
		v[r] = (bench_now() - t0) * 1e6 / iters;
	}
	if (!err) {
		snprintf(what, sizeof(what), "task walk, %zu tasks, warm",
			 n / (size_t)iters);
		bench_row(what, median(v, 5), "us", 0, NULL, "<= 3 us");
	} else {
		fprintf(stderr, "bench: task walk: %s\n", qvmi_errmsg(ctx));
	}
	qvmi_linux_destroy(lx);
	qvmi_ctx_destroy(ctx);
	return err ? -1 : 0;
}

/* Spawn argv with XDG_CACHE_HOME=cache and stdout to /dev/null; ms from
 * fork to exit, and the child's CPU ms (user + system) in *cpu: on a
 * shared, loaded host the wall time mostly measures the neighbours. */
static double spawn_ms(char *const argv[], const char *cache, double *cpu)
{
	double t0 = bench_now();
	struct rusage ru;
	int st = 0;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 1);
		setenv("XDG_CACHE_HOME", cache, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		return -1;
	*cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-3;
	return (bench_now() - t0) * 1e3;
}

/* Median spawn time and CPU time; cold: the cache is emptied before
 * each run. */
static double spawn_median(char *const argv[], const char *cache, int runs,
			   bool cold, double *cpu)
{
	char dir[PATH_MAX];
	double v[MAX_RUNS], c[MAX_RUNS];

	snprintf(dir, sizeof(dir), "%s/qvmi", cache);
	for (int i = 0; i < runs; i++) {
		if (cold)
			clear_dir(dir);
		v[i] = spawn_ms(argv, cache, &c[i]);
		if (v[i] < 0) {
			fprintf(stderr, "bench: %s ... %s failed\n", argv[0],
				argv[1] && argv[2] ? argv[3] : argv[1]);
			return -1;
		}
	}
	*cpu = median(c, runs);
	return median(v, runs);
}

static void spawn_rows(const char *what, double wall, double cpu,
		       double floor_wall, double floor_cpu, const char *goal)
{
	char w[160];

	snprintf(w, sizeof(w), "%s, wall", what);
	bench_row(w, wall, "ms", floor_wall, "qvmi status", goal);
	snprintf(w, sizeof(w), "%s, CPU (user+sys)", what);
	bench_row(w, cpu, "ms", floor_cpu, "qvmi status", NULL);
}

static int bench_spawn(const char *qmp, const char *cache, int runs)
{
	char exe[PATH_MAX + 8], self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	snprintf(exe, sizeof(exe), "%s/qvmi", self);
	{
		char *help[] = { exe, "--help", NULL };
		char *status[] = { exe, "--qmp", (char *)qmp, "status", NULL };
		char *ps[] = { exe, "--qmp", (char *)qmp, "ps", NULL };
		double fw, fc, w, c;

		w = spawn_median(help, cache, runs, false, &c);
		spawn_rows("process: qvmi --help (exec floor)", w, c, 0, 0,
			   NULL);
		fw = spawn_median(status, cache, runs, false, &fc);
		spawn_rows("process: qvmi status (QMP floor)", fw, fc, 0, 0,
			   NULL);
		w = spawn_median(ps, cache, runs, true, &c);
		spawn_rows("process: qvmi ps, cold (no profile)", w, c, fw, fc,
			   "<= 50 ms");
		w = spawn_median(ps, cache, runs, false, &c);
		spawn_rows("process: qvmi ps, profile cached", w, c, fw, fc,
			   "<= 5 ms");
	}
	return 0;
}

int bench_linux(const char *qmp)
{
	char cache[] = "/tmp/qvmi-bench-linux-XXXXXX", dir[PATH_MAX];
	int runs = bench_quick ? 5 : 15, rc;

	if (!qmp) {
		printf("| linux | skipped: no --qmp | | | |\n");
		return 0;
	}
	if (!mkdtemp(cache))
		return -1;
	snprintf(dir, sizeof(dir), "%s/qvmi", cache);
	if (mkdir(dir, 0700))
		return -1;
	rc = bench_open(qmp, dir, runs);
	if (!rc)
		rc = bench_walk(qmp, dir);
	if (!rc)
		rc = bench_spawn(qmp, cache, runs);
	clear_dir(dir);
	rmdir(dir);
	rmdir(cache);
	return rc;
}
