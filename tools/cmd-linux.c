// SPDX-License-Identifier: LGPL-2.1-or-later
/* qvmi ps / pstree / lsmod / maps / cmdline / env / dmesg / sym: views of a
 * Linux guest (src/os/linux). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cli.h"

enum { OPT_THREADS = OPT_CMD_BASE, OPT_LONG };

/* ps --long: a CLI flag next to the library's QVMI_LINUX_* ones. */
#define PS_LONG (1u << 31)

/* QVMI_TIMING=1: the phases of a view on stderr, ms since the process
 * started (CLOCK_MONOTONIC minus the process's own start is not at hand,
 * so the first mark is "start"); for profiling whole-process runs. */
static void mark(const char *what)
{
	static int on = -1;
	static struct timespec t0;
	struct timespec t;

	if (on < 0) {
		const char *e = getenv("QVMI_TIMING");

		on = e && *e == '1';
		clock_gettime(CLOCK_MONOTONIC, &t0);
	}
	if (!on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t);
	fprintf(stderr, "qvmi: timing %-12s %8.3f ms\n", what,
		(double)(t.tv_sec - t0.tv_sec) * 1e3 +
			(double)(t.tv_nsec - t0.tv_nsec) / 1e6);
}

/* Parse, attach, open the kernel.  Returns the index of the first
 * positional argument, or -1 with *rc set (0 after --help). */
static int setup(struct cli *cli, const char *name, int argc, char **argv,
		 const struct option *opts, cli_opt_fn fn, void *data, int npos,
		 struct qvmi_linux **lx, int *rc)
{
	const struct cli_cmd *cmd = cli_find_cmd(name);
	int i = (mark("start"),
		 cli_parse(cli, cmd, argc, argv, opts, fn, data));

	*rc = i == CLI_EXIT_HELP ? 0 : 2;
	if (i < 0)
		return -1;
	if (argc - i != npos) {
		cli_usage_error(cmd,
				npos ? "need %d argument(s)" :
				       "no arguments expected",
				npos);
		return -1;
	}
	*rc = 1;
	mark("parsed");
	if (cli_attach(cli))
		return -1;
	mark("attached");
	if (cli_linux_open(cli, lx))
		return -1;
	mark("linux_open");
	return i;
}

int cli_linux_open(struct cli *cli, struct qvmi_linux **ret)
{
	struct qvmi_linux_opts o = { .sz = sizeof(o),
				     .btf_path = cli->btf,
				     .isf_path = cli->isf,
				     .system_map = cli->system_map,
				     .cache_dir = cli->cache_dir };
	int err = qvmi_linux_open(cli->ctx, &o, ret);

	return err ? cli_fail(cli, "linux", err) : 0;
}

int cli_parse_pid(const char *s, int32_t *ret)
{
	uint64_t v;

	if (cli_parse_u64(s, &v) || v > INT32_MAX) {
		fprintf(stderr, "qvmi: bad pid '%s'\n", s);
		return -1;
	}
	*ret = (int32_t)v;
	return 0;
}

static struct json_object *jstr(const char *s)
{
	return json_object_new_string(s);
}

static struct json_object *ju64(uint64_t v)
{
	return json_object_new_uint64(v);
}

/* ---- ps, pstree ---------------------------------------------------------- */

static int threads_opt(struct cli *cli, int opt, const char *arg, void *data)
{
	(void)cli;
	(void)arg;
	*(unsigned int *)data |= opt == OPT_THREADS ? QVMI_LINUX_THREADS :
				 opt == OPT_LONG    ? PS_LONG :
						      0;
	return 0;
}

static struct json_object *task_json(const struct qvmi_linux_task *t)
{
	struct json_object *o = json_object_new_object();
	char st[2] = { t->state, 0 };

	json_object_object_add(o, "pid", json_object_new_int(t->pid));
	json_object_object_add(o, "tgid", json_object_new_int(t->tgid));
	json_object_object_add(o, "ppid", json_object_new_int(t->ppid));
	json_object_object_add(o, "uid", json_object_new_int64(t->uid));
	json_object_object_add(o, "state", jstr(st));
	json_object_object_add(o, "comm", jstr(t->comm));
	json_object_object_add(
		o, "kthread",
		json_object_new_boolean(t->flags & QVMI_LINUX_TASK_KTHREAD));
	json_object_object_add(o, "start_time_ns", ju64(t->start_time));
	json_object_object_add(o, "task", ju64(t->addr));
	json_object_object_add(o, "mm", ju64(t->mm));
	json_object_object_add(o, "dtb", ju64(t->dtb));
	return o;
}

/* --long adds the task_struct and the page-table base (CR3 value, the
 * dtb LibVMI calls it) that user memory of the task translates through. */
static void ps_print(const struct qvmi_linux_task_list *l, bool wide)
{
	printf("%7s %7s %7s %5s S %-16s ", "PID", "TGID", "PPID", "UID",
	       "COMM");
	printf(wide ? "%10s %18s %12s\n" : "%s\n", "START", "TASK", "DTB");
	for (size_t i = 0; i < l->n; i++) {
		const struct qvmi_linux_task *t = &l->tasks[i];
		bool k = t->flags & QVMI_LINUX_TASK_KTHREAD;
		char comm[QVMI_LINUX_COMM_LEN + 2], start[32];

		snprintf(comm, sizeof(comm), k ? "[%s]" : "%s", t->comm);
		snprintf(start, sizeof(start), "%llu.%02llu",
			 (unsigned long long)(t->start_time / 1000000000),
			 (unsigned long long)(t->start_time % 1000000000 /
					      10000000));
		printf("%7d %7d %7d %5u %c %-16s ", t->pid, t->tgid, t->ppid,
		       t->uid, t->state, comm);
		if (!wide)
			printf("%s\n", start);
		else if (t->dtb)
			printf("%10s 0x%016" PRIx64 " 0x%010" PRIx64 "\n",
			       start, t->addr, t->dtb);
		else
			printf("%10s 0x%016" PRIx64 " %12s\n", start, t->addr,
			       "-");
	}
}

int cmd_ps(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "threads", no_argument, NULL, OPT_THREADS },
		{ "long", no_argument, NULL, OPT_LONG },
		{ 0 },
	};
	struct qvmi_linux_task_list l;
	struct qvmi_linux *lx = NULL;
	unsigned int flags = 0;
	int rc, err;

	if (setup(cli, "ps", argc, argv, opts, threads_opt, &flags, 0, &lx,
		  &rc) < 0)
		return rc;
	err = qvmi_linux_tasks(lx, flags & ~PS_LONG, &l);
	mark("tasks");
	if (err && !l.partial) {
		rc = cli_fail(cli, "ps", err);
	} else if (cli->json) {
		struct json_object *a = json_object_new_array();

		for (size_t i = 0; i < l.n; i++)
			json_object_array_add(a, task_json(&l.tasks[i]));
		rc = cli_result(cli, "ps", a, err);
	} else {
		ps_print(&l, flags & PS_LONG);
		rc = cli_result(cli, "ps", NULL, err);
	}
	qvmi_linux_task_list_deinit(&l);
	fflush(stdout);
	mark("printed");
	qvmi_linux_destroy(lx);
	return rc;
}

/* Children of pid, depth first; printed[] keeps a cyclic ppid chain in
 * hostile data from looping. */
static void tree_print(const struct qvmi_linux_task_list *l, bool *printed,
		       size_t at, int depth, struct json_object *parent)
{
	const struct qvmi_linux_task *t = &l->tasks[at];
	struct json_object *o = NULL, *kids = NULL;

	printed[at] = true;
	if (parent) {
		o = task_json(t);
		kids = json_object_new_array();
		json_object_object_add(o, "children", kids);
		json_object_array_add(parent, o);
	} else {
		printf("%*s%s(%d)\n", depth * 2, "", t->comm, t->pid);
	}
	for (size_t i = 0; i < l->n; i++)
		if (!printed[i] && l->tasks[i].ppid == t->pid && i != at &&
		    depth < 512)
			tree_print(l, printed, i, depth + 1, kids);
}

int cmd_pstree(struct cli *cli, int argc, char **argv)
{
	struct qvmi_linux_task_list l;
	struct qvmi_linux *lx = NULL;
	struct json_object *roots = NULL;
	bool *printed;
	int rc, err;

	if (setup(cli, "pstree", argc, argv, NULL, NULL, NULL, 0, &lx, &rc) < 0)
		return rc;
	err = qvmi_linux_tasks(lx, 0, &l);
	if (err && !l.partial) {
		rc = cli_fail(cli, "pstree", err);
		goto out;
	}
	printed = calloc(l.n + 1, sizeof(*printed));
	if (!printed) {
		rc = cli_fail(cli, "pstree", -ENOMEM);
		goto out;
	}
	if (cli->json)
		roots = json_object_new_array();
	/* pid 0 is everyone's root; then anything left over (orphans of a
	 * partial or racing walk). */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < l.n; i++)
			if (!printed[i] && (pass || l.tasks[i].pid == 0))
				tree_print(&l, printed, i, 0, roots);
	rc = cli_result(cli, "pstree", roots, err);
	free(printed);
out:
	qvmi_linux_task_list_deinit(&l);
	qvmi_linux_destroy(lx);
	return rc;
}

/* ---- lsmod ----------------------------------------------------------------- */

static const char *mod_state(int s)
{
	static const char *const n[] = { "Live", "Loading", "Unloading",
					 "Unformed" };

	return s >= 0 && s < 4 ? n[s] : "?";
}

int cmd_lsmod(struct cli *cli, int argc, char **argv)
{
	struct qvmi_linux_module_list l;
	struct qvmi_linux *lx = NULL;
	int rc, err;

	if (setup(cli, "lsmod", argc, argv, NULL, NULL, NULL, 0, &lx, &rc) < 0)
		return rc;
	err = qvmi_linux_modules(lx, &l);
	if (err && !l.partial) {
		rc = cli_fail(cli, "lsmod", err);
	} else if (cli->json) {
		struct json_object *a = json_object_new_array();

		for (size_t i = 0; i < l.n; i++) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "name", jstr(l.mods[i].name));
			json_object_object_add(o, "size", ju64(l.mods[i].size));
			json_object_object_add(o, "base", ju64(l.mods[i].base));
			json_object_object_add(
				o, "state", jstr(mod_state(l.mods[i].state)));
			json_object_object_add(o, "module",
					       ju64(l.mods[i].addr));
			json_object_array_add(a, o);
		}
		rc = cli_result(cli, "lsmod", a, err);
	} else {
		printf("%-24s %8s %-9s %s\n", "Module", "Size", "State",
		       "Base");
		for (size_t i = 0; i < l.n; i++)
			printf("%-24s %8llu %-9s 0x%llx\n", l.mods[i].name,
			       (unsigned long long)l.mods[i].size,
			       mod_state(l.mods[i].state),
			       (unsigned long long)l.mods[i].base);
		rc = cli_result(cli, "lsmod", NULL, err);
	}
	qvmi_linux_module_list_deinit(&l);
	qvmi_linux_destroy(lx);
	return rc;
}

/* ---- maps ------------------------------------------------------------------ */

static int maps_print(struct cli *cli, const struct qvmi_linux_vma_list *l,
		      int err)
{
	struct json_object *a = cli->json ? json_object_new_array() : NULL;

	for (size_t i = 0; i < l->n; i++) {
		const struct qvmi_linux_vma *v = &l->vmas[i];
		/* /proc/PID/maps shows an offset for file mappings only. */
		uint64_t off = v->file ? v->pgoff << 12 : 0;

		if (!a) {
			printf("%08llx-%08llx %s %08llx %s\n",
			       (unsigned long long)v->start,
			       (unsigned long long)v->end, v->perms,
			       (unsigned long long)off, v->name);
			continue;
		}
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "start", ju64(v->start));
		json_object_object_add(o, "end", ju64(v->end));
		json_object_object_add(o, "perms", jstr(v->perms));
		json_object_object_add(o, "offset", ju64(off));
		json_object_object_add(o, "flags", ju64(v->flags));
		json_object_object_add(o, "name", jstr(v->name));
		json_object_object_add(o, "vma", ju64(v->addr));
		json_object_array_add(a, o);
	}
	return cli_result(cli, "maps", a, err);
}

int cmd_maps(struct cli *cli, int argc, char **argv)
{
	struct qvmi_linux_vma_list l;
	struct qvmi_linux *lx = NULL;
	int32_t pid;
	int rc, err, i;

	i = setup(cli, "maps", argc, argv, NULL, NULL, NULL, 1, &lx, &rc);
	if (i < 0)
		return rc;
	if (cli_parse_pid(argv[i], &pid)) {
		qvmi_linux_destroy(lx);
		return 2;
	}
	err = qvmi_linux_vmas(lx, pid, &l);
	rc = err && !l.partial ? cli_fail(cli, "maps", err) :
				 maps_print(cli, &l, err);
	qvmi_linux_vma_list_deinit(&l);
	qvmi_linux_destroy(lx);
	return rc;
}

/* ---- cmdline, env ---------------------------------------------------------- */

static int args_cmd(struct cli *cli, const char *name, int argc, char **argv,
		    enum qvmi_linux_args which)
{
	struct qvmi_linux *lx = NULL;
	struct json_object *a = NULL;
	struct qvmi_linux_args_block blk = { 0 };
	size_t p;
	int32_t pid;
	int rc, err, i;

	i = setup(cli, name, argc, argv, NULL, NULL, NULL, 1, &lx, &rc);
	if (i < 0)
		return rc;
	if (cli_parse_pid(argv[i], &pid)) {
		qvmi_linux_destroy(lx);
		return 2;
	}
	err = qvmi_linux_proc_args(lx, pid, which, &blk);
	if (err) {
		rc = cli_fail(cli, name, err);
		goto out;
	}
	if (cli->json)
		a = json_object_new_array();
	for (p = 0; p < blk.len; p += strlen(blk.data + p) + 1) {
		if (a)
			json_object_array_add(a, jstr(blk.data + p));
		else if (which == QVMI_LINUX_CMDLINE)
			printf("%s%s", p ? " " : "", blk.data + p);
		else
			printf("%s\n", blk.data + p);
	}
	if (!a && which == QVMI_LINUX_CMDLINE)
		putchar('\n');
	rc = cli_result(cli, name, a, 0);
out:
	qvmi_linux_args_deinit(&blk);
	qvmi_linux_destroy(lx);
	return rc;
}

int cmd_cmdline(struct cli *cli, int argc, char **argv)
{
	return args_cmd(cli, "cmdline", argc, argv, QVMI_LINUX_CMDLINE);
}

int cmd_env(struct cli *cli, int argc, char **argv)
{
	return args_cmd(cli, "env", argc, argv, QVMI_LINUX_ENVIRON);
}

/* ---- dmesg ----------------------------------------------------------------- */

struct dmesg_out {
	struct json_object *a; /* --json */
	size_t n;
};

static int dmesg_rec(const struct qvmi_linux_log_rec *r, void *arg)
{
	struct dmesg_out *d = arg;
	struct json_object *o;

	d->n++;
	if (!d->a) {
		printf("[%5llu.%06llu] %.*s\n",
		       (unsigned long long)(r->ts_nsec / 1000000000),
		       (unsigned long long)(r->ts_nsec % 1000000000 / 1000),
		       (int)r->text_len, r->text);
		return 0;
	}
	o = json_object_new_object();
	json_object_object_add(o, "seq", ju64(r->seq));
	json_object_object_add(o, "ts_nsec", ju64(r->ts_nsec));
	json_object_object_add(o, "level", json_object_new_int(r->level));
	json_object_object_add(o, "facility", json_object_new_int(r->facility));
	json_object_object_add(o, "text",
			       json_object_new_string_len(r->text,
							  (int)r->text_len));
	json_object_array_add(d->a, o);
	return 0;
}

int cmd_dmesg(struct cli *cli, int argc, char **argv)
{
	struct qvmi_linux *lx = NULL;
	struct dmesg_out d = { 0 };
	int rc, err;

	if (setup(cli, "dmesg", argc, argv, NULL, NULL, NULL, 0, &lx, &rc) < 0)
		return rc;
	d.a = cli->json ? json_object_new_array() : NULL;
	err = qvmi_linux_dmesg(lx, dmesg_rec, &d);
	if (err < 0 && !d.n) {
		json_object_put(d.a);
		rc = cli_fail(cli, "dmesg", err);
	} else {
		/* Records seen before a failure are printed, marked partial. */
		rc = cli_result(cli, "dmesg", d.a, err < 0 ? err : 0);
	}
	qvmi_linux_destroy(lx);
	return rc;
}

/* ---- sym ------------------------------------------------------------------- */

int cmd_sym(struct cli *cli, int argc, char **argv)
{
	struct qvmi_linux *lx = NULL;
	struct json_object *o;
	char name[512];
	uint64_t addr, off = 0;
	int rc, err, i;
	bool by_addr;

	i = setup(cli, "sym", argc, argv, NULL, NULL, NULL, 1, &lx, &rc);
	if (i < 0)
		return rc;
	by_addr = !cli_parse_u64(argv[i], &addr);
	if (by_addr) {
		err = qvmi_linux_sym_name(lx, addr, name, sizeof(name), &off);
	} else {
		snprintf(name, sizeof(name), "%s", argv[i]);
		err = qvmi_linux_sym_addr(lx, name, &addr);
	}
	if (err) {
		rc = cli_fail(cli, "sym", err);
	} else if (cli->json) {
		o = json_object_new_object();
		json_object_object_add(o, "name", jstr(name));
		json_object_object_add(o, "address", ju64(addr - off));
		json_object_object_add(o, "offset", ju64(off));
		rc = cli_result(cli, "sym", o, 0);
	} else {
		if (by_addr)
			printf("0x%llx %s+0x%llx\n", (unsigned long long)addr,
			       name, (unsigned long long)off);
		else
			printf("0x%llx %s\n", (unsigned long long)addr, name);
		rc = 0;
	}
	qvmi_linux_destroy(lx);
	return rc;
}
