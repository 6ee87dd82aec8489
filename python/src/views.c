// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The Linux views that come back as lists of records (struct sequences:
 * named fields, also unpackable as tuples): lsmod, maps, cmdline, env,
 * dmesg, and the task on a vCPU.  Each walk runs under the VM's lock
 * without the GIL and fills C memory; the Python objects are made after,
 * with the GIL.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"

static PyTypeObject *module_type, *vma_type, *log_type, *current_type;

PyTypeObject *py_record_type(PyObject *m, const char *name, const char *doc,
			     PyStructSequence_Field *fields)
{
	PyStructSequence_Desc d = { .name = name,
				    .doc = doc,
				    .fields = fields };
	PyTypeObject *t;

	for (d.n_in_sequence = 0; fields[d.n_in_sequence].name;)
		d.n_in_sequence++;
	t = PyStructSequence_NewType(&d);
	if (t &&
	    PyModule_AddObjectRef(m, strchr(name, '.') + 1, (PyObject *)t)) {
		Py_DECREF(t);
		return NULL;
	}
	return t;
}

/* Fill a record from a format of K (u64), i (int), s (str + len) and O. */
static PyObject *record(PyTypeObject *type, const char *fmt, ...)
{
	PyObject *r = PyStructSequence_New(type), *v;
	va_list ap;

	if (!r)
		return NULL;
	va_start(ap, fmt);
	for (Py_ssize_t i = 0; fmt[i]; i++) {
		if (fmt[i] == 'K') {
			v = PyLong_FromUnsignedLongLong(va_arg(ap, uint64_t));
		} else if (fmt[i] == 'i') {
			v = PyLong_FromLong(va_arg(ap, int));
		} else if (fmt[i] == 'O') {
			v = Py_NewRef(va_arg(ap, PyObject *));
		} else {
			const char *s = va_arg(ap, const char *);

			v = py_str(s, va_arg(ap, size_t));
		}
		if (!v) {
			Py_CLEAR(r);
			break;
		}
		PyStructSequence_SET_ITEM(r, i, v);
	}
	va_end(ap);
	return r;
}

/* ---- modules ------------------------------------------------------------- */

static int modules_fn(struct qvmi_ctx *ctx, struct qvmi_linux *lx, void *arg)
{
	return qvmi_linux_modules(lx, arg);
}

static const char *mod_state(int s)
{
	/* as lsmod and /proc/modules say it */
	static const char *const n[] = { "Live", "Loading", "Unloading",
					 "Unformed" };

	return s >= 0 && s < 4 ? n[s] : "?";
}

PyObject *py_lx_modules(PyObject *self, PyObject *unused)
{
	struct qvmi_linux_module_list l;
	PyObject *r;
	int err;

	memset(&l, 0, sizeof(l));
	err = py_lx_run(self, modules_fn, &l, NULL);
	r = PyList_New(0);
	for (size_t i = 0; r && i < l.n; i++) {
		const struct qvmi_linux_module *m = &l.mods[i];
		const char *st = mod_state(m->state);
		PyObject *o = record(module_type, "sKKsKK", m->name,
				     strnlen(m->name, sizeof(m->name)), m->size,
				     m->base, st, strlen(st), m->addr,
				     m->text_size);

		if (!o || PyList_Append(r, o))
			Py_CLEAR(r);
		Py_XDECREF(o);
	}
	qvmi_linux_module_list_deinit(&l);
	if (err) { /* the error stays set; r is what was read */
		py_err_partial(l.partial ? r : (Py_XDECREF(r), NULL));
		return NULL;
	}
	return r;
}

/* ---- maps ------------------------------------------------------------------ */

struct pid_args {
	int32_t pid;
	union {
		struct qvmi_linux_vma_list vmas;
		struct {
			int which;
			struct qvmi_linux_args_block blk;
		} args;
	};
};

static int maps_fn(struct qvmi_ctx *ctx, struct qvmi_linux *lx, void *arg)
{
	struct pid_args *a = arg;

	return qvmi_linux_vmas(lx, a->pid, &a->vmas);
}

PyObject *py_lx_maps(PyObject *self, PyObject *args)
{
	struct pid_args a;
	PyObject *r;
	int err;

	memset(&a, 0, sizeof(a));
	if (!PyArg_ParseTuple(args, "O&:maps", py_conv_pid_req, &a.pid))
		return NULL;
	err = py_lx_run(self, maps_fn, &a, NULL);
	r = PyList_New(0);
	for (size_t i = 0; r && i < a.vmas.n; i++) {
		const struct qvmi_linux_vma *v = &a.vmas.vmas[i];
		/* /proc/PID/maps shows an offset for file mappings only */
		uint64_t off = v->file ? v->pgoff << 12 : 0;
		const char *name = v->name ? v->name : "";
		PyObject *o = record(vma_type, "KKsKKsK", v->start, v->end,
				     v->perms, strlen(v->perms), off, v->flags,
				     name, strlen(name), v->addr);

		if (!o || PyList_Append(r, o))
			Py_CLEAR(r);
		Py_XDECREF(o);
	}
	qvmi_linux_vma_list_deinit(&a.vmas);
	if (err) {
		py_err_partial(a.vmas.partial ? r : (Py_XDECREF(r), NULL));
		return NULL;
	}
	return r;
}

/* ---- cmdline, environ --------------------------------------------------- */

static int args_fn(struct qvmi_ctx *ctx, struct qvmi_linux *lx, void *arg)
{
	struct pid_args *a = arg;

	return qvmi_linux_proc_args(lx, a->pid, a->args.which, &a->args.blk);
}

/* The NUL-separated strings of pid's block, as a list of str. */
static PyObject *args_list(PyObject *self, PyObject *args, int which)
{
	struct pid_args a;
	PyObject *r = NULL;
	size_t p, n;

	memset(&a, 0, sizeof(a));
	a.args.which = which;
	if (!PyArg_ParseTuple(args, "O&", py_conv_pid_req, &a.pid) ||
	    py_lx_run(self, args_fn, &a, NULL))
		return NULL;
	r = PyList_New(0);
	for (p = 0; r && p < a.args.blk.len; p += n + 1) {
		PyObject *s;

		n = strnlen(a.args.blk.data + p, a.args.blk.len - p);
		s = py_str(a.args.blk.data + p, n);
		if (!s || PyList_Append(r, s))
			Py_CLEAR(r);
		Py_XDECREF(s);
	}
	qvmi_linux_args_deinit(&a.args.blk);
	return r;
}

PyObject *py_lx_cmdline(PyObject *self, PyObject *args)
{
	return args_list(self, args, QVMI_LINUX_CMDLINE);
}

/* "K=V" strings as a dict; a string without "=" maps to "". */
PyObject *py_lx_environ(PyObject *self, PyObject *args)
{
	PyObject *l = args_list(self, args, QVMI_LINUX_ENVIRON), *d, *eq;

	if (!l)
		return NULL;
	eq = PyUnicode_FromString("=");
	d = eq ? PyDict_New() : NULL;
	for (Py_ssize_t i = 0; d && i < PyList_GET_SIZE(l); i++) {
		PyObject *kv = PyUnicode_Partition(PyList_GET_ITEM(l, i), eq);

		if (!kv || PyDict_SetItem(d, PyTuple_GET_ITEM(kv, 0),
					  PyTuple_GET_ITEM(kv, 2)))
			Py_CLEAR(d);
		Py_XDECREF(kv);
	}
	Py_XDECREF(eq);
	Py_DECREF(l);
	return d;
}

/* ---- dmesg ------------------------------------------------------------------ */

struct log_rec {
	uint64_t seq, ts_nsec;
	int level, facility;
	uint32_t caller_id;
	size_t off, len;
};

struct log_acc {
	struct log_rec *recs;
	size_t n, cap;
	char *text;
	size_t text_len, text_cap;
};

/* Without the GIL: raw malloc only.  The library bounds the walk (2^22
 * records, 64 MiB of text), so the arrays are bounded too. */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t c = *cap ? *cap : 64;
	void *np;

	while (c < need)
		c *= 2;
	if (c == *cap)
		return 0;
	np = realloc(*p, c * elem);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = c;
	return 0;
}

static int log_cb(const struct qvmi_linux_log_rec *r, void *arg)
{
	struct log_acc *a = arg;
	struct log_rec *o;

	if (grow((void **)&a->recs, &a->cap, a->n + 1, sizeof(*a->recs)) ||
	    grow((void **)&a->text, &a->text_cap, a->text_len + r->text_len + 1,
		 1))
		return -ENOMEM;
	o = &a->recs[a->n++];
	*o = (struct log_rec){ r->seq,	    r->ts_nsec,	  r->level,
			       r->facility, r->caller_id, a->text_len,
			       r->text_len };
	memcpy(a->text + a->text_len, r->text, r->text_len);
	a->text_len += r->text_len;
	return 0;
}

static int dmesg_fn(struct qvmi_ctx *ctx, struct qvmi_linux *lx, void *arg)
{
	/* Only the sign of the result is used: what it counts is not
	 * needed (the records are counted here). */
	int r = qvmi_linux_dmesg(lx, log_cb, arg);

	return r < 0 ? r : 0;
}

PyObject *py_lx_dmesg(PyObject *self, PyObject *unused)
{
	struct log_acc a = { 0 };
	PyObject *r = NULL;

	if (py_lx_run(self, dmesg_fn, &a, NULL))
		goto out;
	r = PyList_New((Py_ssize_t)a.n);
	for (size_t i = 0; r && i < a.n; i++) {
		const struct log_rec *l = &a.recs[i];
		PyObject *o = record(log_type, "KKiiKs", l->seq, l->ts_nsec,
				     l->level, l->facility,
				     (uint64_t)l->caller_id, a.text + l->off,
				     l->len);

		if (!o)
			Py_CLEAR(r);
		else
			PyList_SET_ITEM(r, (Py_ssize_t)i, o);
	}
out:
	free(a.recs);
	free(a.text);
	return r;
}

/* ---- the task on a vCPU ----------------------------------------------------- */

struct cur_args {
	unsigned int vcpu;
	struct qvmi_linux_current c;
};

static int current_fn(struct qvmi_ctx *ctx, struct qvmi_linux *lx, void *arg)
{
	struct cur_args *a = arg;

	return qvmi_linux_current_task(lx, a->vcpu, &a->c);
}

PyObject *py_lx_current(PyObject *self, PyObject *args)
{
	struct cur_args a = { 0 };

	if (!PyArg_ParseTuple(args, "O&:current", py_conv_vcpu, &a.vcpu) ||
	    py_lx_run(self, current_fn, &a, NULL))
		return NULL;
	return record(current_type, "iisKOK", a.c.pid, a.c.tgid, a.c.comm,
		      strnlen(a.c.comm, sizeof(a.c.comm)), a.c.task,
		      a.c.user ? Py_True : Py_False, a.c.percpu_base);
}

/* ---- types ------------------------------------------------------------------ */

static PyStructSequence_Field module_fields[] = {
	{ "name", NULL },
	{ "size", "all parts, as /proc/modules adds them up" },
	{ "base", "core text address" },
	{ "state", "'Live', 'Loading', 'Unloading' or 'Unformed'" },
	{ "address", "the struct module" },
	{ "text_size", "core text size" },
	{ 0 },
};

static PyStructSequence_Field vma_fields[] = {
	{ "start", NULL },
	{ "end", NULL },
	{ "perms", "'rwxp' as /proc/PID/maps" },
	{ "offset", "file offset (0 for anonymous memory)" },
	{ "flags", "vm_flags" },
	{ "name", "file path, '[heap]', '[stack]', '[vdso]' or ''" },
	{ "address", "the vm_area_struct" },
	{ 0 },
};

static PyStructSequence_Field log_fields[] = {
	{ "seq", NULL },
	{ "ts_nsec", "local_clock() at logging" },
	{ "level", "0..7, -1 unknown" },
	{ "facility", NULL },
	{ "caller_id", "0 when the kernel has none" },
	{ "text", NULL },
	{ 0 },
};

static PyStructSequence_Field current_fields[] = {
	{ "pid", "thread id (0: the idle task)" },
	{ "tgid", "process id" },
	{ "comm", NULL },
	{ "address", "the task_struct" },
	{ "user", "the vCPU was running user code" },
	{ "percpu_base", "the vCPU's per-CPU offset" },
	{ 0 },
};

int py_views_init(PyObject *m)
{
	module_type = py_record_type(m, "qvmi.Module",
				     "A loaded module, as lsmod shows it.",
				     module_fields);
	vma_type = py_record_type(m, "qvmi.Vma",
				  "A memory map of a process (/proc/PID/maps).",
				  vma_fields);
	log_type = py_record_type(m, "qvmi.LogRecord",
				  "A kernel log record (dmesg).", log_fields);
	current_type = py_record_type(
		m, "qvmi.Current",
		"The task a vCPU runs (Linux.current, a watch hit's task).",
		current_fields);
	return module_type && vma_type && log_type && current_type ? 0 : -1;
}
