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
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

enum { MAX_RUNS = 64, P_MAX = 16 /* programs per round robin */ };

static double median(double *v, int n)
{
	bench_sort(v, (size_t)n);
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
	bench_row("qvmi_attach_qmp from the layout cache (no QMP)",
		  median(cat, runs), "ms", median(at, runs),
		  "qvmi_attach_qmp (shm)", NULL);
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

/* The child's environment: ours with XDG_CACHE_HOME=cache, plus env. */
static char **child_env(const char *cache, const char *env)
{
	extern char **environ;
	size_t n = 0, k = 0;
	char **e;

	while (environ[n])
		n++;
	e = calloc(n + 3, sizeof(*e));
	if (!e)
		return NULL;
	if (asprintf(&e[k], "XDG_CACHE_HOME=%s", cache) < 0) {
		free(e);
		return NULL;
	}
	k++;
	if (env)
		e[k++] = strdup(env);
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "XDG_CACHE_HOME=", 15))
			e[k++] = strdup(environ[i]);
	return e;
}

static void free_env(char **e)
{
	for (size_t i = 0; e && e[i]; i++)
		free(e[i]);
	free(e);
}

/*
 * Spawn argv with envp and stdout to /dev/null; ms from spawn to exit,
 * and the child's CPU ms (user + system) in *cpu: on a shared, loaded
 * host the wall time mostly measures the neighbours.  posix_spawn
 * (vfork-like in glibc) measures what starting the program costs, as
 * from a small shell; a fork of this big process would add copying its
 * page tables and copy-on-write faults that are not the program's.
 */
double bench_spawn_ms(char *const argv[], char *const envp[], double *cpu)
{
	posix_spawn_file_actions_t fa;
	double t0 = bench_now();
	struct rusage ru;
	int st = 0, err;
	pid_t pid;

	if (posix_spawn_file_actions_init(&fa))
		return -1;
	err = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
					       0) ||
	      posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		return -1;
	if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		return -1;
	*cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-3;
	return (bench_now() - t0) * 1e3;
}

/* One program of the spawn table. */
struct prog {
	const char *what;
	char *argv[6];
	bool cold; /* empty the profile cache before each run */
	const char *env; /* NAME=VALUE for the child, or NULL */
	bool ok; /* the binary exists */
	double wall[MAX_RUNS], cpu[MAX_RUNS];
	double wall_med, wall_min, cpu_med;
};

/* Round robin: every program once per round, so a burst of load from
 * the neighbours hits all of them alike and the ratios stay fair. */
static int spawn_rounds(struct prog *p, size_t n, const char *cache, int runs)
{
	char dir[PATH_MAX], **envp[P_MAX] = { 0 };
	int err = 0;

	if (n > P_MAX)
		return -1;
	snprintf(dir, sizeof(dir), "%s/qvmi", cache);
	for (size_t i = 0; i < n && !err; i++)
		if (!(envp[i] = child_env(cache, p[i].env)))
			err = -1;
	for (int r = 0; r < runs && !err; r++) {
		for (size_t i = 0; i < n && !err; i++) {
			if (!p[i].ok)
				continue;
			if (p[i].cold)
				clear_dir(dir);
			p[i].wall[r] = bench_spawn_ms(p[i].argv, envp[i],
						      &p[i].cpu[r]);
			if (p[i].wall[r] < 0) {
				fprintf(stderr, "bench: %s failed\n",
					p[i].what);
				err = -1;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		free_env(envp[i]);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (!p[i].ok)
			continue;
		p[i].wall_med = median(p[i].wall, runs); /* sorts */
		p[i].wall_min = p[i].wall[0];
		p[i].cpu_med = median(p[i].cpu, runs);
	}
	return 0;
}

static void spawn_rows(const struct prog *p, const struct prog *base,
		       const char *goal)
{
	char w[200];

	if (!p->ok)
		return;
	snprintf(w, sizeof(w), "process: %s, wall (median)", p->what);
	bench_row(w, p->wall_med, "ms", base ? base->wall_med : 0,
		  base ? base->what : NULL, goal);
	snprintf(w, sizeof(w), "process: %s, wall (fastest run)", p->what);
	bench_row(w, p->wall_min, "ms", base ? base->wall_min : 0,
		  base ? base->what : NULL, goal);
	snprintf(w, sizeof(w), "process: %s, CPU (user+sys, median)", p->what);
	bench_row(w, p->cpu_med, "ms", base ? base->cpu_med : 0,
		  base ? base->what : NULL, NULL);
}

static bool executable(const char *path)
{
	return access(path, X_OK) == 0;
}

enum { P_TRUE, P_DYN, P_FLOOR, P_STATUS, P_COLD, P_NOLAYOUT, P_CACHED, P_N };

/*
 * The cached ps the way a user repeats it: qvmi ps again and again, each
 * run after a trivial one, with nothing between that talks to QEMU.  In
 * the round robin above it follows a run that attached through QMP, and
 * QEMU (TCG: its threads share our 2 cores) is still busy with that
 * session when it starts.
 */
static int spawn_repeat(const struct prog *floor, const struct prog *cached,
			const char *cache, int runs)
{
	struct prog q[2] = { *floor, *cached };

	q[0].what = "trivial main linked like qvmi, repeated";
	q[1].what = "qvmi ps, profile + layout cached, repeated";
	if (!q[0].ok || !q[1].ok)
		return 0;
	if (spawn_rounds(q, 2, cache, runs))
		return -1;
	spawn_rows(&q[0], NULL, NULL);
	spawn_rows(&q[1], &q[0], "<= 5 ms");
	return 0;
}

/* Whole processes, spawn to exit: the exec floors (/bin/true, a trivial
 * binary linked like qvmi, i.e. fully static where libc.a is installed,
 * one linked like qvmi was before) next to qvmi status (QMP only) and
 * qvmi ps cold and cached. */
static int bench_spawn(const char *qmp, const char *cache, int runs)
{
	char dir[PATH_MAX], self[PATH_MAX];
	static char exe[P_N][PATH_MAX + 32];
	static const char *const names[P_N] = {
		[P_DYN] = "bench-floor-dyn", [P_FLOOR] = "bench-floor",
		[P_STATUS] = "qvmi",	     [P_COLD] = "qvmi",
		[P_NOLAYOUT] = "qvmi",	     [P_CACHED] = "qvmi",
	};
	struct prog p[P_N] = {
		[P_TRUE] = { "/bin/true (exec floor)", { "/bin/true" } },
		[P_DYN] = { "trivial main, PIE + shared libraries (qvmi "
			    "before)" },
		[P_FLOOR] = { "trivial main linked like qvmi" },
		[P_STATUS] = { "qvmi status (QMP only)" },
		[P_COLD] = { "qvmi ps, cold (no profile)", { 0 }, true },
		/* the attach through QMP every time (src/core/layout-cache.c) */
		[P_NOLAYOUT] = { "qvmi ps, profile cached, no layout cache",
				 .env = "QVMI_NO_LAYOUT_CACHE=1" },
		[P_CACHED] = { "qvmi ps, profile + layout cached" },
	};
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	snprintf(dir, sizeof(dir), "%s", self);
	for (int i = P_DYN; i < P_N; i++) {
		snprintf(exe[i], sizeof(exe[i]), "%s/%s", dir, names[i]);
		p[i].argv[0] = exe[i];
	}
	for (int i = P_STATUS; i < P_N; i++) {
		p[i].argv[1] = "--qmp";
		p[i].argv[2] = (char *)qmp;
		p[i].argv[3] = i == P_STATUS ? "status" : "ps";
	}
	for (int i = 0; i < P_N; i++)
		p[i].ok = executable(p[i].argv[0]);
	if (spawn_rounds(p, P_N, cache, runs))
		return -1;
	spawn_rows(&p[P_TRUE], NULL, NULL);
	spawn_rows(&p[P_DYN], &p[P_TRUE], NULL);
	spawn_rows(&p[P_FLOOR], &p[P_TRUE], NULL);
	spawn_rows(&p[P_STATUS], &p[P_FLOOR], NULL);
	spawn_rows(&p[P_COLD], &p[P_FLOOR], "<= 50 ms");
	spawn_rows(&p[P_NOLAYOUT], &p[P_FLOOR], NULL);
	spawn_rows(&p[P_CACHED], &p[P_FLOOR], "<= 5 ms");
	return spawn_repeat(&p[P_FLOOR], &p[P_CACHED], cache, runs);
}

int bench_linux(const char *qmp)
{
	char cache[] = "/tmp/qvmi-bench-linux-XXXXXX", dir[PATH_MAX], *old;
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
	/* The layout cache goes beside the profile, so that clear_dir()
	 * makes the first attach of each round a full one. */
	old = getenv("XDG_CACHE_HOME");
	old = old ? strdup(old) : NULL;
	setenv("XDG_CACHE_HOME", cache, 1);
	rc = bench_open(qmp, dir, runs);
	if (old)
		setenv("XDG_CACHE_HOME", old, 1);
	else
		unsetenv("XDG_CACHE_HOME");
	free(old);
	if (!rc)
		rc = bench_walk(qmp, dir);
	if (!rc)
		rc = bench_spawn(qmp, cache, runs);
	clear_dir(dir);
	rmdir(dir);
	rmdir(cache);
	return rc;
}

/*
 * Issue 18 item 2: warm qvmi ps on a guest whose RAM is QEMU's own
 * anonymous memory (--backend none: process_vm_readv, no RAM file) next
 * to the shared-RAM guest of the other rows, in the same rounds, with
 * the profile and both layouts cached (one warm-up run each first).
 */
int bench_anon(const char *qmp)
{
	char cache[] = "/tmp/qvmi-bench-anon-XXXXXX", dir[PATH_MAX];
	char self[PATH_MAX], exe[2][PATH_MAX + 32];
	struct prog p[3] = {
		{ "trivial main linked like qvmi" },
		{ "qvmi ps, profile + layout cached (shared RAM)" },
		{ "qvmi ps, profile + layout cached, anonymous RAM "
		  "(--backend none)" },
	};
	int runs = bench_quick ? 5 : 15, rc = -1;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (!qmp || !bench_qmp_anon) { /* scripts/bench runs it apart */
		fprintf(stderr, "bench: anon: skipped, needs --qmp and "
				"--qmp-anon\n");
		return 0;
	}
	if (n <= 0 || !mkdtemp(cache))
		return -1;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(exe[0], sizeof(exe[0]), "%s/bench-floor", self);
	snprintf(exe[1], sizeof(exe[1]), "%s/qvmi", self);
	p[0].argv[0] = exe[0];
	for (int i = 1; i < 3; i++) {
		p[i].argv[0] = exe[1];
		p[i].argv[1] = "--qmp";
		p[i].argv[2] = (char *)(i == 1 ? qmp : bench_qmp_anon);
		p[i].argv[3] = "ps";
	}
	for (int i = 0; i < 3; i++)
		p[i].ok = executable(p[i].argv[0]);
	snprintf(dir, sizeof(dir), "%s/qvmi", cache);
	/* the first round fills the caches; the rows are the next ones */
	if (p[0].ok && p[1].ok && p[2].ok && !mkdir(dir, 0700) &&
	    !spawn_rounds(p, 3, cache, 1) && !spawn_rounds(p, 3, cache, runs)) {
		spawn_rows(&p[1], &p[0], NULL);
		spawn_rows(&p[2], &p[1], "<= 1.2x");
		rc = 0;
	}
	clear_dir(dir);
	rmdir(dir);
	rmdir(cache);
	return rc;
}
