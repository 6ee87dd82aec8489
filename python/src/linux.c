// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi._qvmi.Linux: the Linux kernel of a VM (qvmi_linux_*): symbols,
 * BTF types, kernel and process memory, and the views the CLI prints
 * (ps, lsmod, maps, cmdline, env, dmesg).  A Linux holds its VM; the
 * VM's close() destroys the handle first, and later calls raise
 * qvmi.Error(ENOTCONN).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"

struct lx_call {
	struct py_lx *l;
	py_lx_fn fn;
	void *arg;
};

static int lx_call_fn(struct qvmi_ctx *ctx, void *arg)
{
	struct lx_call *c = arg;

	if (!c->l->lx)
		return -ENOTCONN;
	return c->fn(ctx, c->l->lx, c->arg);
}

int py_lx_run(PyObject *self, py_lx_fn fn, void *arg, int *ret)
{
	struct lx_call c = { (struct py_lx *)self, fn, arg };

	if (!c.l->vm) /* cleared by the cycle collector */
		return py_raise_errno(-ENOTCONN, "the VM is closed (detached)");
	return py_vm_call(c.l->vm, lx_call_fn, &c, ret);
}

/* ---- open, close ------------------------------------------------------- */

struct open_args {
	struct qvmi_linux_opts o;
	struct py_lx *l;
};

static int open_fn(struct qvmi_ctx *ctx, void *arg)
{
	struct open_args *a = arg;
	struct py_vm *vm = a->l->vm;
	int err = qvmi_linux_open(ctx, &a->o, &a->l->lx);

	if (err)
		return err;
	/* Linked under the VM's lock, which close() takes too. */
	a->l->next = vm->lx_head;
	if (vm->lx_head)
		vm->lx_head->prev = a->l;
	vm->lx_head = a->l;
	return 0;
}

PyObject *py_lx_open(PyObject *vm, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "btf",       "isf",	   "system_map",
				  "cache_dir", "no_cache", NULL };
	struct open_args a = { .o = { .sz = sizeof(a.o) } };
	int no_cache = 0;

	if (!PyArg_ParseTupleAndKeywords(
		    args, kw, "|zzzzp:linux", kwlist, &a.o.btf_path,
		    &a.o.isf_path, &a.o.system_map, &a.o.cache_dir, &no_cache))
		return NULL;
	if (no_cache)
		a.o.flags |= QVMI_LINUX_NO_CACHE;
	a.l = PyObject_GC_New(struct py_lx, &py_lx_type);
	if (!a.l)
		return NULL;
	a.l->vm = (struct py_vm *)Py_NewRef(vm);
	a.l->lx = NULL;
	a.l->next = a.l->prev = NULL;
	PyObject_GC_Track(a.l);
	if (py_vm_call(a.l->vm, open_fn, &a, NULL)) {
		Py_DECREF(a.l);
		return NULL;
	}
	return (PyObject *)a.l;
}

/* Destroy the handle and drop the VM.  The cycle collector calls it too
 * (a Linux stored in its VM's __dict__ makes a cycle). */
static int lx_clear(PyObject *self)
{
	struct py_lx *l = (struct py_lx *)self;
	struct py_vm *vm = l->vm;

	if (!vm)
		return 0;
	Py_BEGIN_ALLOW_THREADS;
	PyThread_acquire_lock(vm->lock, WAIT_LOCK);
	qvmi_linux_destroy(l->lx); /* NULL once the VM closed */
	l->lx = NULL;
	/* Linked once the open succeeded, until now. */
	if (l->prev || vm->lx_head == l) {
		if (l->prev)
			l->prev->next = l->next;
		else
			vm->lx_head = l->next;
		if (l->next)
			l->next->prev = l->prev;
	}
	l->next = l->prev = NULL;
	PyThread_release_lock(vm->lock);
	Py_END_ALLOW_THREADS;
	Py_CLEAR(l->vm);
	return 0;
}

static int lx_traverse(PyObject *self, visitproc visit, void *arg)
{
	Py_VISIT(((struct py_lx *)self)->vm);
	return 0;
}

static void lx_dealloc(PyObject *self)
{
	PyObject_GC_UnTrack(self);
	lx_clear(self);
	PyObject_GC_Del(self);
}

/* ---- symbols and types ------------------------------------------------- */

struct sym_args {
	const char *name, *type;
	uint64_t addr, off;
	char buf[512];
};

static int symbol_fn(struct qvmi_ctx *ctx, struct qvmi_linux *lx, void *arg)
{
	struct sym_args *a = arg;

	return qvmi_linux_sym_addr(lx, a->name, &a->addr);
}

static int symbolize_fn(struct qvmi_ctx *ctx, struct qvmi_linux *lx, void *arg)
{
	struct sym_args *a = arg;

	return qvmi_linux_sym_name(lx, a->addr, a->buf, sizeof(a->buf),
				   &a->off);
}

static int offsetof_fn(struct qvmi_ctx *ctx, struct qvmi_linux *lx, void *arg)
{
	struct sym_args *a = arg;

	return qvmi_linux_offset(lx, a->type, a->name, &a->off);
}

static int sizeof_fn(struct qvmi_ctx *ctx, struct qvmi_linux *lx, void *arg)
{
	struct sym_args *a = arg;

	return qvmi_linux_type_size(lx, a->type, &a->off);
}

static int kdtb_fn(struct qvmi_ctx *ctx, struct qvmi_linux *lx, void *arg)
{
	return qvmi_linux_kernel_dtb(lx, &((struct sym_args *)arg)->addr);
}

static PyTypeObject *symbol_type;

static PyObject *lx_symbol(PyObject *self, PyObject *args)
{
	struct sym_args a;

	if (!PyArg_ParseTuple(args, "s:symbol", &a.name) ||
	    py_lx_run(self, symbol_fn, &a, NULL))
		return NULL;
	return PyLong_FromUnsignedLongLong(a.addr);
}

static PyObject *lx_symbolize(PyObject *self, PyObject *args)
{
	struct sym_args a;
	PyObject *s;

	if (!PyArg_ParseTuple(args, "O&:symbolize", py_conv_u64, &a.addr) ||
	    py_lx_run(self, symbolize_fn, &a, NULL))
		return NULL;
	s = PyStructSequence_New(symbol_type);
	if (!s)
		return NULL;
	PyStructSequence_SET_ITEM(s, 0, py_str(a.buf, strlen(a.buf)));
	PyStructSequence_SET_ITEM(s, 1,
				  PyLong_FromUnsignedLongLong(a.addr - a.off));
	PyStructSequence_SET_ITEM(s, 2, PyLong_FromUnsignedLongLong(a.off));
	if (PyErr_Occurred())
		Py_CLEAR(s);
	return s;
}

static PyObject *lx_offsetof(PyObject *self, PyObject *args)
{
	struct sym_args a;

	if (!PyArg_ParseTuple(args, "ss:offsetof", &a.type, &a.name) ||
	    py_lx_run(self, offsetof_fn, &a, NULL))
		return NULL;
	return PyLong_FromUnsignedLongLong(a.off);
}

static PyObject *lx_sizeof(PyObject *self, PyObject *args)
{
	struct sym_args a;

	if (!PyArg_ParseTuple(args, "s:sizeof", &a.type) ||
	    py_lx_run(self, sizeof_fn, &a, NULL))
		return NULL;
	return PyLong_FromUnsignedLongLong(a.off);
}

static PyObject *lx_kernel_dtb(PyObject *self, void *unused)
{
	struct sym_args a;

	if (py_lx_run(self, kdtb_fn, &a, NULL))
		return NULL;
	return PyLong_FromUnsignedLongLong(a.addr);
}

struct info_args {
	struct qvmi_linux_info i;
	char banner[512], release[128], sym[32], btf[32], layout[32];
};

static int info_fn(struct qvmi_ctx *ctx, struct qvmi_linux *lx, void *arg)
{
	struct info_args *a = arg;
	int err = qvmi_linux_info(lx, &a->i);

	if (err)
		return err;
	snprintf(a->banner, sizeof(a->banner), "%s", a->i.banner);
	snprintf(a->release, sizeof(a->release), "%s", a->i.release);
	snprintf(a->sym, sizeof(a->sym), "%s", a->i.sym_source);
	snprintf(a->btf, sizeof(a->btf), "%s", a->i.btf_source);
	snprintf(a->layout, sizeof(a->layout), "%s", a->i.layout);
	return 0;
}

static PyObject *lx_info(PyObject *self, PyObject *unused)
{
	struct info_args a;

	if (py_lx_run(self, info_fn, &a, NULL))
		return NULL;
	return Py_BuildValue("{sssssKsKsLsKsKsKsKsnsnssssss}", "banner",
			     a.banner, "release", a.release, "text_va",
			     a.i.text_va, "text_pa", a.i.text_pa, "kaslr_slide",
			     (long long)a.i.kaslr_slide, "phys_base",
			     a.i.phys_base, "page_offset_base",
			     a.i.page_offset_base, "vmalloc_base",
			     a.i.vmalloc_base, "vmemmap_base", a.i.vmemmap_base,
			     "nsyms", (Py_ssize_t)a.i.nsyms, "btf_size",
			     (Py_ssize_t)a.i.btf_size, "sym_source", a.sym,
			     "btf_source", a.btf, "layout", a.layout);
}

/* ---- virtual memory ------------------------------------------------------ */

struct va_args {
	uint64_t va, pa;
	int32_t pid;
	void *buf;
	size_t len;
	int translate;
};

/* The kernel's page table, or the process's (a thread id works too). */
static int pick_dtb(struct qvmi_linux *lx, int32_t pid, uint64_t *ret)
{
	struct qvmi_linux_task t;
	int err;

	if (pid < 0)
		return qvmi_linux_kernel_dtb(lx, ret);
	err = qvmi_linux_task_find(lx, pid, QVMI_LINUX_THREADS, &t);
	if (err)
		return err;
	if (!t.dtb)
		return -ESRCH; /* a kernel thread: no user memory */
	*ret = t.dtb;
	return 0;
}

static int va_fn(struct qvmi_ctx *ctx, struct qvmi_linux *lx, void *arg)
{
	struct va_args *a = arg;
	uint64_t dtb;
	int err = pick_dtb(lx, a->pid, &dtb);

	if (err)
		return err;
	if (a->translate)
		return qvmi_translate(ctx, dtb, a->va, &a->pa);
	return qvmi_read_va(ctx, dtb, a->va, a->buf, a->len);
}

static PyObject *lx_read_va(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "va", "size", "pid", NULL };
	struct va_args a = { 0 };
	PyObject *pid = Py_None, *b;
	Py_ssize_t size;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O&n|O:read_va", kwlist,
					 py_conv_u64, &a.va, &size, &pid) ||
	    !py_conv_pid(pid, &a.pid))
		return NULL;
	if (size < 0)
		return PyErr_Format(PyExc_ValueError, "negative size");
	b = PyBytes_FromStringAndSize(NULL, size);
	if (!b)
		return NULL;
	a.buf = PyBytes_AS_STRING(b);
	a.len = (size_t)size;
	if (py_lx_run(self, va_fn, &a, NULL))
		Py_CLEAR(b);
	return b;
}

static PyObject *lx_read_va_into(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "va", "buffer", "pid", NULL };
	struct va_args a = { 0 };
	PyObject *pid = Py_None, *obj;
	Py_buffer view;
	int err;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O&O|O:read_va_into", kwlist,
					 py_conv_u64, &a.va, &obj, &pid) ||
	    !py_conv_pid(pid, &a.pid) ||
	    PyObject_GetBuffer(obj, &view, PyBUF_WRITABLE | PyBUF_SIMPLE))
		return NULL;
	a.buf = view.buf;
	a.len = (size_t)view.len;
	err = py_lx_run(self, va_fn, &a, NULL);
	PyBuffer_Release(&view);
	return err ? NULL : PyLong_FromSsize_t((Py_ssize_t)a.len);
}

static PyObject *lx_translate(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "va", "pid", NULL };
	struct va_args a = { .translate = 1 };
	PyObject *pid = Py_None;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|O:translate", kwlist,
					 py_conv_u64, &a.va, &pid) ||
	    !py_conv_pid(pid, &a.pid) || py_lx_run(self, va_fn, &a, NULL))
		return NULL;
	return PyLong_FromUnsignedLongLong(a.pa);
}

/* ---- tasks ----------------------------------------------------------------- */

struct tasks_args {
	unsigned int flags;
	int32_t pid;
	struct qvmi_linux_task_list l;
	struct qvmi_linux_task t;
};

static int tasks_fn(struct qvmi_ctx *ctx, struct qvmi_linux *lx, void *arg)
{
	struct tasks_args *a = arg;

	return qvmi_linux_tasks(lx, a->flags, &a->l);
}

static int task_fn(struct qvmi_ctx *ctx, struct qvmi_linux *lx, void *arg)
{
	struct tasks_args *a = arg;

	return qvmi_linux_task_find(lx, a->pid, QVMI_LINUX_THREADS, &a->t);
}

/* METH_FASTCALL | METH_KEYWORDS: the common tasks() has no argument to
 * parse, and a warm walk is only a few us. */
static PyObject *lx_tasks(PyObject *self, PyObject *const *args,
			  Py_ssize_t nargs, PyObject *kwnames)
{
	PyObject *threads = NULL;
	struct tasks_args a = { 0 };
	int err;

	if (nargs > 1 ||
	    (kwnames && (PyTuple_GET_SIZE(kwnames) != 1 || nargs ||
			 !PyUnicode_Check(PyTuple_GET_ITEM(kwnames, 0)) ||
			 PyUnicode_CompareWithASCIIString(
				 PyTuple_GET_ITEM(kwnames, 0), "threads"))))
		return PyErr_Format(PyExc_TypeError,
				    "tasks() takes one argument, threads");
	if (nargs || kwnames)
		threads = args[0];
	if (threads) {
		int t = PyObject_IsTrue(threads);

		if (t < 0)
			return NULL;
		a.flags = t ? QVMI_LINUX_THREADS : 0;
	}
	/* l is initialised by the library whatever happens (qvmi.h). */
	err = py_lx_run(self, tasks_fn, &a, NULL);
	if (err) {
		/* py_tasklist_new takes the array (or frees it). */
		if (a.l.partial)
			py_err_partial(py_tasklist_new(&a.l, -1));
		else
			qvmi_linux_task_list_deinit(&a.l);
		return NULL;
	}
	return py_tasklist_new(&a.l, 0);
}

static PyObject *lx_task(PyObject *self, PyObject *args)
{
	struct tasks_args a = { 0 };

	if (!PyArg_ParseTuple(args, "O&:task", py_conv_pid_req, &a.pid))
		return NULL;
	if (py_lx_run(self, task_fn, &a, NULL))
		return NULL;
	return py_task_new(&a.t);
}

/* ---- type ----------------------------------------------------------------- */

static PyMethodDef lx_methods[] = {
	{ "info", lx_info, METH_NOARGS,
	  "info() -> dict\n\nbanner, release, text_va, text_pa, kaslr_slide, "
	  "phys_base,\npage_offset_base, vmalloc_base, vmemmap_base, nsyms, "
	  "btf_size,\nsym_source, btf_source, layout." },
	{ "symbol", lx_symbol, METH_VARARGS,
	  "symbol(name) -> int\n\nAddress of the kernel symbol "
	  "(qvmi.Error ENOENT if none)." },
	{ "symbolize", lx_symbolize, METH_VARARGS,
	  "symbolize(addr) -> qvmi.Symbol(name, address, offset)\n\nThe "
	  "symbol at or below addr." },
	{ "offsetof", lx_offsetof, METH_VARARGS,
	  "offsetof(type, member) -> int\n\nByte offset of a member path "
	  "('comm', 'se.vruntime', 'tasks.next')\nin a struct or union, "
	  "from the guest's BTF (or ISF)." },
	{ "sizeof", lx_sizeof, METH_VARARGS,
	  "sizeof(type) -> int\n\nSize of a struct, union, typedef or base "
	  "type from the guest's BTF." },
	{ "read_va", (PyCFunction)(void (*)(void))lx_read_va,
	  METH_VARARGS | METH_KEYWORDS,
	  "read_va(va, size, pid=None) -> bytes\n\nRead kernel memory "
	  "(pid=None: through the kernel's page table) or a\nprocess's "
	  "memory (through its page table; ESRCH for a kernel "
	  "thread).\nEFAULT carries fault_address, the first byte not "
	  "read." },
	{ "read_va_into", (PyCFunction)(void (*)(void))lx_read_va_into,
	  METH_VARARGS | METH_KEYWORDS,
	  "read_va_into(va, buffer, pid=None) -> int\n\nread_va into a "
	  "writable buffer, with no intermediate copy." },
	{ "translate", (PyCFunction)(void (*)(void))lx_translate,
	  METH_VARARGS | METH_KEYWORDS,
	  "translate(va, pid=None) -> int\n\nGuest-physical address of va "
	  "in the kernel's or pid's address space." },
	{ "tasks", (PyCFunction)(void (*)(void))lx_tasks,
	  METH_FASTCALL | METH_KEYWORDS,
	  "tasks(threads=False) -> qvmi.TaskList\n\nThe task list from "
	  "init_task (pid 0 first), processes only, or every\nthread.  "
	  "Items are qvmi.Task: pid, tgid, ppid, uid, comm, state,\n"
	  "kthread, address, dtb, mm, start_time.  A walk stopped by bad "
	  "guest\ndata raises qvmi.Error with what it read as .partial." },
	{ "task", lx_task, METH_VARARGS,
	  "task(pid) -> qvmi.Task\n\nOne task by pid or thread id "
	  "(ENOENT if none)." },
	{ "modules", py_lx_modules, METH_NOARGS,
	  "modules() -> list of qvmi.Module(name, size, base, state, "
	  "address,\ntext_size), as lsmod." },
	{ "maps", py_lx_maps, METH_VARARGS,
	  "maps(pid) -> list of qvmi.Vma(start, end, perms, offset, flags, "
	  "name,\naddress), as /proc/PID/maps (ESRCH for a kernel thread)." },
	{ "cmdline", py_lx_cmdline, METH_VARARGS,
	  "cmdline(pid) -> list of str\n\nThe process's arguments "
	  "(EFAULT if its pages are not present)." },
	{ "environ", py_lx_environ, METH_VARARGS,
	  "environ(pid) -> dict\n\nThe process's environment." },
	{ "dmesg", py_lx_dmesg, METH_NOARGS,
	  "dmesg() -> list of qvmi.LogRecord(seq, ts_nsec, level, "
	  "facility,\ncaller_id, text), oldest first." },
	{ "current", py_lx_current, METH_VARARGS,
	  "current(vcpu) -> qvmi.Current(pid, tgid, comm, address, user,\n"
	  "percpu_base)\n\nThe task running on a vCPU (stable only while the "
	  "VM is stopped)." },
	{ 0 },
};

static PyObject *lx_get_vm(PyObject *self, void *unused)
{
	struct py_vm *vm = ((struct py_lx *)self)->vm;

	return Py_NewRef(vm ? (PyObject *)vm : Py_None);
}

static PyGetSetDef lx_getset[] = {
	{ "kernel_dtb", lx_kernel_dtb, NULL,
	  "The kernel's page table (init_mm.pgd) as a dtb.", NULL },
	{ "vm", lx_get_vm, NULL, "The VM this kernel runs in.", NULL },
	{ 0 },
};

PyTypeObject py_lx_type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "qvmi.Linux",
	.tp_basicsize = sizeof(struct py_lx),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
	.tp_traverse = lx_traverse,
	.tp_clear = lx_clear,
	.tp_doc = "The Linux kernel of a VM: made by VM.linux().\n\n"
		  "Threads: calls take the VM's lock and run without the "
		  "GIL, like the\nVM's.  Results are snapshots: a running "
		  "guest may change as it is\nread (pause it for a "
		  "consistent picture).",
	.tp_dealloc = lx_dealloc,
	.tp_methods = lx_methods,
	.tp_getset = lx_getset,
};

static PyStructSequence_Field symbol_fields[] = {
	{ "name", NULL },
	{ "address", "the symbol's address" },
	{ "offset", "addr - address" },
	{ 0 },
};

int py_linux_init(PyObject *m)
{
	symbol_type = py_record_type(m, "qvmi.Symbol",
				     "A kernel symbol and the offset into it.",
				     symbol_fields);
	if (!symbol_type || PyType_Ready(&py_lx_type) ||
	    PyType_Ready(&py_task_type) || PyType_Ready(&py_tasklist_type) ||
	    PyModule_AddObjectRef(m, "Linux", (PyObject *)&py_lx_type) ||
	    PyModule_AddObjectRef(m, "Task", (PyObject *)&py_task_type) ||
	    PyModule_AddObjectRef(m, "TaskList", (PyObject *)&py_tasklist_type))
		return -1;
	return py_views_init(m);
}
