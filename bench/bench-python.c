// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The Python binding (python/, issue 15) next to the C calls it wraps, in
 * the same run: a task list (lx.tasks() vs qvmi_linux_tasks) and a 4 KiB
 * physical read (vm.read_pa vs qvmi_read_pa), both warm, over shared RAM.
 * The Python figures come from bench/python.py, run with the in-place
 * build of the binding (make python); without it the rows are skipped.
 * Both sides report the fastest of their rounds (C: before and after
 * Python): the machine is shared, and the fastest round is the one least
 * disturbed by the neighbours.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

enum { ROUNDS = 7 };

struct c_figures {
	double tasks_us, read_ns, alloc_read_ns;
	size_t ntasks;
};

static double fastest(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static int c_side(struct qvmi_ctx *ctx, struct qvmi_linux *lx, uint64_t pa,
		  int iters, struct c_figures *f)
{
	struct qvmi_linux_task_list l;
	static uint8_t buf[4096];
	double t[ROUNDS], r[ROUNDS], a[ROUNDS], t0;
	uint8_t *volatile p;
	int err = 0;

	for (int k = 0; !err && k < ROUNDS + 1; k++) {
		t0 = bench_now();
		for (int i = 0; !err && i < iters; i++) {
			err = qvmi_linux_tasks(lx, 0, &l);
			f->ntasks = l.n;
			qvmi_linux_task_list_deinit(&l);
		}
		if (k) /* the first round warms up */
			t[k - 1] = (bench_now() - t0) * 1e6 / iters;
		t0 = bench_now();
		for (int i = 0; !err && i < iters; i++)
			err = qvmi_read_pa(ctx, pa, buf, sizeof(buf));
		if (k)
			r[k - 1] = (bench_now() - t0) * 1e9 / iters;
		/* what read_pa -> bytes does in C: a new buffer per read */
		t0 = bench_now();
		for (int i = 0; !err && i < iters; i++) {
			p = malloc(sizeof(buf));
			err = p ? qvmi_read_pa(ctx, pa, p, sizeof(buf)) :
				  -ENOMEM;
			free(p);
		}
		if (k)
			a[k - 1] = (bench_now() - t0) * 1e9 / iters;
	}
	if (err)
		return err;
	f->tasks_us = fastest(t, ROUNDS);
	f->read_ns = fastest(r, ROUNDS);
	f->alloc_read_ns = fastest(a, ROUNDS);
	return 0;
}

struct py_figures {
	double tasks_us, iter_us, read_ns, into_ns, floor_ns, call_ns;
};

/* QVMI_ROOT, else the repository that holds this binary (ROOT/build/). */
static const char *repo_root(char *buf, size_t size)
{
	const char *root = getenv("QVMI_ROOT");
	ssize_t n;
	char *slash;

	if (root)
		return root;
	n = readlink("/proc/self/exe", buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	for (int i = 0; i < 2 && (slash = strrchr(buf, '/')); i++)
		*slash = '\0';
	return buf[0] ? buf : ".";
}

/* bench/python.py's "name value" lines. */
static int py_side(const char *qmp, uint64_t pa, int iters,
		   struct py_figures *f)
{
	const char *py = getenv("QVMI_PYTHON"), *root;
	char cmd[PATH_MAX * 3 + 128], line[256], name[64], exe[PATH_MAX];
	int found = 0, n;
	double v;
	FILE *p;

	root = repo_root(exe, sizeof(exe));
	if (!py)
		py = access("/usr/bin/python3", X_OK) ? "python3" :
							"/usr/bin/python3";
	n = snprintf(cmd, sizeof(cmd),
		     "PYTHONPATH='%s/python' '%s' '%s/bench/python.py' '%s' "
		     "%d %d 0x%llx",
		     root, py, root, qmp, iters, ROUNDS,
		     (unsigned long long)pa);
	if (n < 0 || (size_t)n >= sizeof(cmd)) /* never run a cut command */
		return -ENAMETOOLONG;
	p = popen(cmd, "r");
	if (!p)
		return -errno;
	while (fgets(line, sizeof(line), p)) {
		if (sscanf(line, "%63s %lf", name, &v) != 2)
			continue;
		if (!strcmp(name, "tasks_us"))
			f->tasks_us = v, found |= 1;
		else if (!strcmp(name, "tasks_iter_us"))
			f->iter_us = v, found |= 2;
		else if (!strcmp(name, "read_pa_ns"))
			f->read_ns = v, found |= 4;
		else if (!strcmp(name, "read_into_ns"))
			f->into_ns = v, found |= 8;
		else if (!strcmp(name, "floor_bytes_ns"))
			f->floor_ns = v, found |= 16;
		else if (!strcmp(name, "floor_call_ns"))
			f->call_ns = v, found |= 32;
	}
	return pclose(p) == 0 && found == 63 ? 0 : -ENOENT;
}

int bench_python(const char *qmp)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_linux *lx = NULL;
	struct qvmi_linux_info info;
	struct c_figures c = { 0 }, c2 = { 0 };
	struct py_figures py = { 0 };
	int iters = bench_quick ? 2000 : 20000, err;
	char what[128];

	err = qvmi_ctx_create(&ctx);
	if (!err)
		err = qvmi_attach_qmp(ctx, qmp, NULL);
	if (!err)
		err = qvmi_linux_open(ctx, NULL, &lx);
	if (!err)
		err = qvmi_linux_info(lx, &info);
	/* The kernel's first page: RAM the guest uses, in the shm file. */
	if (!err)
		err = c_side(ctx, lx, info.text_pa, iters, &c);
	if (err)
		goto out;
	if (py_side(qmp, info.text_pa, iters, &py)) {
		fprintf(stderr, "bench: python: no figures from "
				"bench/python.py (make python first)\n");
		err = -ENOENT;
		goto out;
	}
	/* C again after Python: the fastest of both sets, so that a busy
	 * moment on one side does not make the ratio. */
	err = c_side(ctx, lx, info.text_pa, iters, &c2);
	if (err)
		goto out;
	c.tasks_us = c2.tasks_us < c.tasks_us ? c2.tasks_us : c.tasks_us;
	c.read_ns = c2.read_ns < c.read_ns ? c2.read_ns : c.read_ns;
	c.alloc_read_ns = c2.alloc_read_ns < c.alloc_read_ns ?
				  c2.alloc_read_ns :
				  c.alloc_read_ns;
	snprintf(what, sizeof(what),
		 "Python lx.tasks(), %zu tasks, warm (fastest of %d rounds)",
		 c.ntasks, ROUNDS);
	bench_row(what, py.tasks_us, "us", c.tasks_us, "qvmi_linux_tasks in C",
		  "<= 1.2x C");
	bench_row("Python lx.tasks() and every task's pid and comm", py.iter_us,
		  "us", c.tasks_us, "qvmi_linux_tasks in C", NULL);
	bench_row("Python vm.read_pa(pa, 4096) -> bytes, warm", py.read_ns,
		  "ns", c.read_ns, "qvmi_read_pa 4 KiB in C", "<= 2x C");
	bench_row("Python vm.read_pa_into(pa, bytearray(4096)), warm",
		  py.into_ns, "ns", c.read_ns, "qvmi_read_pa 4 KiB in C",
		  "<= 2x C");
	bench_row("Python vm.read_pa(pa, 4096) -> bytes, warm", py.read_ns,
		  "ns", c.alloc_read_ns,
		  "malloc + qvmi_read_pa 4 KiB + free in C", NULL);
	bench_row("Python vm.read_pa(pa, 4096) -> bytes, warm", py.read_ns,
		  "ns", py.floor_ns, "Python's bytes(bytearray(4096))", NULL);
	bench_row("Python floor: a 2-argument C method call (dict.get)",
		  py.call_ns, "ns", 0, NULL, NULL);
out:
	if (err && err != -ENOENT)
		fprintf(stderr, "bench: python: %s\n",
			ctx ? qvmi_errmsg(ctx) : "no context");
	qvmi_linux_destroy(lx);
	qvmi_ctx_destroy(ctx);
	return err ? -1 : 0;
}
