// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi._qvmi.VM: a qvmi context attached to one VM (QMP, dump, pmemaccess,
 * qvmid session, gdbstub), its physical memory, registers and control.
 * Every method that reaches the guest runs through py_vm_call(): under
 * the VM's lock, without the GIL.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "binding.h"

/* ---- attach ------------------------------------------------------------- */

struct attach_args {
	struct py_vm *vm;
	const char *qmp, *dump, *pmem, *session, *key, *gdb, *raw_map;
	const char *domain, *connect; /* a libvirt domain and URI */
	int timeout_ms;
};

/* The CLI's cli_attach(): QMP first, then the gdbstub for control.
 * Connecting to the gdbstub pauses the VM (QEMU 7.2): continue it if QMP
 * saw it running, so that attaching changes nothing. */
static int attach_one(struct qvmi_ctx *ctx, void *arg)
{
	const struct attach_args *a = arg;
	enum qvmi_vm_state st = QVMI_VM_UNKNOWN;
	int err = 0;

	if (a->dump) {
		QVMI_OPTS(qvmi_dump_opts, o, .raw_map = a->raw_map);
		return qvmi_attach_dump(ctx, a->dump, &o);
	}
	if (a->session) {
		QVMI_OPTS(qvmi_session_opts, o, .key_path = a->key,
			  .timeout_ms = a->timeout_ms);
		return qvmi_session_open(ctx, a->session, &o);
	}
	if (a->pmem) {
		QVMI_OPTS(qvmi_pmem_opts, o, .timeout_ms = a->timeout_ms);
		return qvmi_attach_pmem(ctx, a->pmem, &o);
	}
	if (a->qmp || a->domain) {
		QVMI_OPTS(qvmi_attach_opts, o, .timeout_ms = a->timeout_ms);
		err = a->qmp ? qvmi_attach_qmp(ctx, a->qmp, &o) :
			       qvmi_attach_domain(ctx, a->domain, a->connect,
						  &o);
		if (!err && a->gdb && qvmi_vm_state(ctx, &st))
			st = QVMI_VM_UNKNOWN;
	}
	if (!err && a->gdb) {
		QVMI_OPTS(qvmi_gdb_opts, o, .timeout_ms = a->timeout_ms,
			  .resume = st == QVMI_VM_RUNNING);
		err = qvmi_attach_gdb(ctx, a->gdb, &o);
	}
	return err;
}

static int attach_fn(struct qvmi_ctx *ctx, void *arg)
{
	struct attach_args *a = arg;
	int err = attach_one(ctx, arg);

	if (!err)
		py_vm_find_fast(a->vm);
	return err;
}

static int check_targets(const struct attach_args *a)
{
	int n = !!a->qmp + !!a->dump + !!a->pmem + !!a->session + !!a->domain;

	if (n == 0 && !a->gdb)
		PyErr_SetString(PyExc_TypeError,
				"VM() needs qmp=, domain=, dump=, pmem=, "
				"session= or gdb=");
	else if (n > 1)
		PyErr_SetString(PyExc_TypeError,
				"VM(): give only one of qmp=, domain=, dump=, "
				"pmem=, session=");
	else if (a->gdb && !a->qmp && !a->domain && n)
		PyErr_SetString(PyExc_TypeError,
				"VM(): gdb= goes with qmp=, domain= or alone");
	else if (a->connect && !a->domain)
		PyErr_SetString(PyExc_TypeError, "connect= goes with domain=");
	else if (a->session && !a->key)
		PyErr_SetString(PyExc_TypeError, "VM(session=) needs key=");
	else if (a->raw_map && !a->dump)
		PyErr_SetString(PyExc_TypeError, "raw_map= goes with dump=");
	else
		return 0;
	return -1;
}

static int vm_init(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "qmp",    "dump",    "pmem",	  "session",
				  "key",    "gdb",     "raw_map", "timeout",
				  "domain", "connect", NULL };
	struct py_vm *vm = (struct py_vm *)self;
	struct attach_args a = { .vm = (struct py_vm *)self };
	struct qvmi_ctx *ctx = NULL;
	double timeout = 5.0;
	int err;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|$zzzzzzzdzz", kwlist,
					 &a.qmp, &a.dump, &a.pmem, &a.session,
					 &a.key, &a.gdb, &a.raw_map, &timeout,
					 &a.domain, &a.connect))
		return -1;
	if (check_targets(&a))
		return -1;
	if (!(timeout > 0 && timeout <= 3600)) {
		PyErr_SetString(PyExc_ValueError, "timeout must be 0..3600 s");
		return -1;
	}
	a.timeout_ms = (int)(timeout * 1000);
	if (a.timeout_ms < 1)
		a.timeout_ms = 1;
	if (vm->ctx)
		return py_raise_errno(-EBUSY, "this VM is attached already");
	err = qvmi_ctx_create(&ctx);
	if (err)
		return py_raise_errno(err, "qvmi_ctx_create");
	PyThread_acquire_lock(vm->lock, WAIT_LOCK);
	vm->ctx = ctx;
	PyThread_release_lock(vm->lock);
	if (!py_vm_call(vm, attach_fn, &a, NULL))
		return 0;
	Py_BEGIN_ALLOW_THREADS;
	PyThread_acquire_lock(vm->lock, WAIT_LOCK);
	vm->ctx = NULL;
	PyThread_release_lock(vm->lock);
	qvmi_ctx_destroy(ctx);
	Py_END_ALLOW_THREADS;
	return -1;
}

static PyObject *vm_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	struct py_vm *vm = (struct py_vm *)type->tp_alloc(type, 0);

	if (!vm)
		return NULL;
	vm->lock = PyThread_allocate_lock();
	if (!vm->lock) {
		Py_DECREF(vm);
		return PyErr_NoMemory();
	}
	return (PyObject *)vm;
}

/* Under the lock: the Linux views go first (they use ctx). */
static void close_locked(struct py_vm *vm)
{
	for (struct py_lx *l = vm->lx_head; l; l = l->next) {
		qvmi_linux_destroy(l->lx);
		l->lx = NULL;
	}
	qvmi_ctx_destroy(vm->ctx);
	vm->ctx = NULL;
	vm->nfast = 0;
}

static void vm_dealloc(PyObject *self)
{
	struct py_vm *vm = (struct py_vm *)self;

	if (vm->weakrefs)
		PyObject_ClearWeakRefs(self);
	/* No Linux view is left (each holds a reference), but destroying
	 * a gdbstub context talks to QEMU: not under the GIL. */
	if (vm->ctx) {
		Py_BEGIN_ALLOW_THREADS;
		close_locked(vm);
		Py_END_ALLOW_THREADS;
	}
	if (vm->lock)
		PyThread_free_lock(vm->lock);
	Py_TYPE(self)->tp_free(self);
}

static PyObject *vm_close(PyObject *self, PyObject *unused)
{
	struct py_vm *vm = (struct py_vm *)self;

	Py_BEGIN_ALLOW_THREADS;
	PyThread_acquire_lock(vm->lock, WAIT_LOCK);
	if (vm->ctx)
		close_locked(vm);
	PyThread_release_lock(vm->lock);
	Py_END_ALLOW_THREADS;
	Py_RETURN_NONE;
}

static PyObject *vm_enter(PyObject *self, PyObject *unused)
{
	return Py_NewRef(self);
}

static PyObject *vm_exit(PyObject *self, PyObject *args)
{
	PyObject *r = vm_close(self, NULL);

	if (!r)
		return NULL;
	Py_DECREF(r);
	Py_RETURN_FALSE;
}

static PyObject *vm_closed(PyObject *self, void *unused)
{
	return PyBool_FromLong(((struct py_vm *)self)->ctx == NULL);
}

/* ---- physical memory ------------------------------------------------------ */

struct mem_args {
	uint64_t addr;
	void *buf;
	size_t len;
};

static int read_pa_fn(struct qvmi_ctx *ctx, void *arg)
{
	struct mem_args *m = arg;

	return qvmi_read_pa(ctx, m->addr, m->buf, m->len);
}

static int write_pa_fn(struct qvmi_ctx *ctx, void *arg)
{
	struct mem_args *m = arg;

	return qvmi_write_pa(ctx, m->addr, m->buf, m->len);
}

/* (addr, int-or-buffer): METH_FASTCALL, no tuple to build or parse, as
 * a 4 KiB read costs only tens of ns. */
static int mem_parse(PyObject *const *args, Py_ssize_t nargs, const char *name,
		     struct mem_args *m)
{
	if (nargs != 2) {
		PyErr_Format(PyExc_TypeError,
			     "%s() takes 2 arguments (%zd given)", name, nargs);
		return -1;
	}
	return py_conv_u64(args[0], &m->addr) ? 0 : -1;
}

static PyObject *vm_read_pa(PyObject *self, PyObject *const *args,
			    Py_ssize_t nargs)
{
	struct mem_args m;
	Py_ssize_t size;
	PyObject *b;

	if (mem_parse(args, nargs, "read_pa", &m))
		return NULL;
	size = PyNumber_AsSsize_t(args[1], PyExc_OverflowError);
	if (size == -1 && PyErr_Occurred())
		return NULL;
	if (size < 0)
		return PyErr_Format(PyExc_ValueError, "negative size");
	/* Read straight into the bytes object: one copy, guest to result. */
	b = PyBytes_FromStringAndSize(NULL, size);
	if (!b)
		return NULL;
	m.buf = PyBytes_AS_STRING(b);
	m.len = (size_t)size;
	if (py_vm_call_read((struct py_vm *)self, read_pa_fn, &m, m.addr,
			    m.len)) {
		Py_DECREF(b);
		return NULL;
	}
	return b;
}

static PyObject *vm_read_pa_into(PyObject *self, PyObject *const *args,
				 Py_ssize_t nargs)
{
	struct mem_args m;
	Py_buffer view;
	int err;

	if (mem_parse(args, nargs, "read_pa_into", &m) ||
	    PyObject_GetBuffer(args[1], &view, PyBUF_WRITABLE | PyBUF_SIMPLE))
		return NULL;
	m.buf = view.buf;
	m.len = (size_t)view.len;
	err = py_vm_call_read((struct py_vm *)self, read_pa_fn, &m, m.addr,
			      m.len);
	PyBuffer_Release(&view);
	return err ? NULL : PyLong_FromSsize_t((Py_ssize_t)m.len);
}

static PyObject *vm_write_pa(PyObject *self, PyObject *args)
{
	struct mem_args m;
	Py_buffer view;
	PyObject *obj;
	int err;

	if (!PyArg_ParseTuple(args, "O&O:write_pa", py_conv_u64, &m.addr,
			      &obj) ||
	    PyObject_GetBuffer(obj, &view, PyBUF_SIMPLE))
		return NULL;
	m.buf = view.buf;
	m.len = (size_t)view.len;
	err = py_vm_call((struct py_vm *)self, write_pa_fn, &m, NULL);
	PyBuffer_Release(&view);
	return err ? NULL : PyLong_FromSsize_t((Py_ssize_t)m.len);
}

/* ---- translation, registers ------------------------------------------- */

struct xlate_args {
	uint64_t va, dtb, pa;
	int have_dtb;
};

static int translate_fn(struct qvmi_ctx *ctx, void *arg)
{
	struct xlate_args *x = arg;
	struct qvmi_regs_x86 r;
	int err;

	if (!x->have_dtb) { /* the CLI's default: vCPU 0's CR3 */
		err = qvmi_get_regs(ctx, 0, &r);
		if (err)
			return err;
		x->dtb = r.cr3;
	}
	return qvmi_translate(ctx, x->dtb, x->va, &x->pa);
}

static PyObject *vm_translate(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "va", "dtb", NULL };
	struct xlate_args x = { 0 };
	PyObject *dtb = Py_None;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|O:translate", kwlist,
					 py_conv_u64, &x.va, &dtb))
		return NULL;
	if (dtb != Py_None) {
		if (!py_conv_u64(dtb, &x.dtb))
			return NULL;
		x.have_dtb = 1;
	}
	if (py_vm_call((struct py_vm *)self, translate_fn, &x, NULL))
		return NULL;
	return PyLong_FromUnsignedLongLong(x.pa);
}

struct regs_args {
	unsigned int vcpu;
	struct qvmi_regs_x86 r;
};

static int regs_fn(struct qvmi_ctx *ctx, void *arg)
{
	struct regs_args *a = arg;

	return qvmi_get_regs(ctx, a->vcpu, &a->r);
}

static PyObject *vm_regs(PyObject *self, PyObject *args)
{
	struct regs_args a = { 0 };
	const char *name;
	PyObject *d, *v;
	uint64_t x;
	int err;

	if (!PyArg_ParseTuple(args, "|O&:regs", py_conv_vcpu, &a.vcpu) ||
	    py_vm_call((struct py_vm *)self, regs_fn, &a, NULL))
		return NULL;
	d = PyDict_New();
	/* names and order as `qvmi regs` prints them; left out: what the
	 * source cannot give */
	for (unsigned int i = 0;
	     d && (err = qvmi_regs_x86_get(&a.r, i, &name, &x)) != -ERANGE;
	     i++) {
		if (err)
			continue;
		v = PyLong_FromUnsignedLongLong(x);
		if (!v || PyDict_SetItemString(d, name, v)) {
			Py_XDECREF(v);
			Py_CLEAR(d);
			break;
		}
		Py_DECREF(v);
	}
	return d;
}

/* ---- control -------------------------------------------------------------- */

static int pause_fn(struct qvmi_ctx *ctx, void *arg)
{
	return qvmi_vm_pause(ctx);
}

static int resume_fn(struct qvmi_ctx *ctx, void *arg)
{
	return qvmi_vm_resume(ctx);
}

static int vcpus_fn(struct qvmi_ctx *ctx, void *arg)
{
	return qvmi_vcpu_count(ctx);
}

static int state_fn(struct qvmi_ctx *ctx, void *arg)
{
	enum qvmi_vm_state st;
	int err = qvmi_vm_state(ctx, &st);

	return err ? err : (int)st;
}

static PyObject *vm_pause(PyObject *self, PyObject *unused)
{
	if (py_vm_call((struct py_vm *)self, pause_fn, NULL, NULL))
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *vm_resume(PyObject *self, PyObject *unused)
{
	if (py_vm_call((struct py_vm *)self, resume_fn, NULL, NULL))
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *vm_vcpus(PyObject *self, void *unused)
{
	int n;

	if (py_vm_call((struct py_vm *)self, vcpus_fn, NULL, &n))
		return NULL;
	return PyLong_FromLong(n);
}

static PyObject *vm_state(PyObject *self, void *unused)
{
	int st;

	if (py_vm_call((struct py_vm *)self, state_fn, NULL, &st))
		return NULL;
	return PyUnicode_FromString(qvmi_vm_state_name(st));
}

/* ---- info -------------------------------------------------------------- */

enum { INFO_RAM_MAX = 64, INFO_MAP_MAX = 256 };

struct info_args {
	struct qvmi_vm_info vi;
	/* Copied under the lock: the strings live as long as ctx. */
	char name[128], uuid[64], qemu[64], arch[16], backend[16];
	struct qvmi_ram_range ram[INFO_RAM_MAX];
	size_t nram, nmap;
	struct {
		uint64_t gpa, size;
		char source[24];
	} map[INFO_MAP_MAX];
};

static int info_fn(struct qvmi_ctx *ctx, void *arg)
{
	struct info_args *a = arg;
	size_t n = qvmi_ram_count(ctx);
	int err = qvmi_vm_info(ctx, &a->vi);

	if (err)
		return err;
	if (n > INFO_RAM_MAX || qvmi_map_count(ctx) > INFO_MAP_MAX)
		return -E2BIG; /* never cut silently */
	for (a->nmap = 0; a->nmap < qvmi_map_count(ctx); a->nmap++) {
		struct qvmi_map_entry e;

		err = qvmi_map_get(ctx, a->nmap, &e);
		if (err)
			return err;
		a->map[a->nmap].gpa = e.gpa;
		a->map[a->nmap].size = e.size;
		snprintf(a->map[a->nmap].source, sizeof(a->map[0].source), "%s",
			 e.source);
	}
	for (a->nram = 0; a->nram < n; a->nram++) {
		err = qvmi_ram_get(ctx, a->nram, &a->ram[a->nram]);
		if (err)
			return err;
	}
	snprintf(a->name, sizeof(a->name), "%s", a->vi.name);
	snprintf(a->uuid, sizeof(a->uuid), "%s", a->vi.uuid);
	snprintf(a->qemu, sizeof(a->qemu), "%s", a->vi.qemu_version);
	snprintf(a->arch, sizeof(a->arch), "%s", a->vi.arch);
	snprintf(a->backend, sizeof(a->backend), "%s", a->vi.backend);
	return 0;
}

static PyObject *vm_info(PyObject *self, PyObject *unused)
{
	struct info_args *a = PyMem_Calloc(1, sizeof(*a));
	PyObject *ram = NULL, *map = NULL, *d = NULL;

	if (!a)
		return PyErr_NoMemory();
	if (py_vm_call((struct py_vm *)self, info_fn, a, NULL))
		goto out;
	ram = PyList_New((Py_ssize_t)a->nram);
	for (size_t i = 0; ram && i < a->nram; i++) {
		PyObject *t =
			Py_BuildValue("(KK)", a->ram[i].gpa, a->ram[i].size);

		if (!t)
			goto out;
		PyList_SET_ITEM(ram, (Py_ssize_t)i, t);
	}
	if (ram)
		map = PyList_New((Py_ssize_t)a->nmap);
	for (size_t i = 0; map && i < a->nmap; i++) {
		PyObject *t = Py_BuildValue("(KKs)", a->map[i].gpa,
					    a->map[i].size, a->map[i].source);

		if (!t)
			goto out;
		PyList_SET_ITEM(map, (Py_ssize_t)i, t);
	}
	if (map)
		d = Py_BuildValue("{sssssssssssisIsOsO}", "name", a->name,
				  "uuid", a->uuid, "qemu_version", a->qemu,
				  "arch", a->arch, "backend", a->backend, "pid",
				  a->vi.pid, "vcpus", a->vi.vcpus, "ram", ram,
				  "map", map);
out:
	Py_XDECREF(ram);
	Py_XDECREF(map);
	PyMem_Free(a);
	return d;
}

/* ---- dump ------------------------------------------------------------------ */

struct dump_args {
	const char *path;
	int format;
};

static int dump_fn(struct qvmi_ctx *ctx, void *arg)
{
	struct dump_args *a = arg;
	QVMI_OPTS(qvmi_dump_write_opts, o, .format = a->format);

	return qvmi_dump_write(ctx, a->path, &o);
}

static PyObject *vm_dump(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "path", "format", NULL };
	struct dump_args a = { 0 };
	const char *fmt = "elf";
	PyObject *path;
	int err;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|s:dump", kwlist,
					 PyUnicode_FSConverter, &path, &fmt))
		return NULL;
	if (strcmp(fmt, "elf") && strcmp(fmt, "raw")) {
		Py_DECREF(path);
		return PyErr_Format(PyExc_ValueError,
				    "format is 'elf' or 'raw'");
	}
	a.path = PyBytes_AS_STRING(path);
	a.format = fmt[0] == 'e' ? QVMI_DUMP_ELF : QVMI_DUMP_RAW;
	err = py_vm_call((struct py_vm *)self, dump_fn, &a, NULL);
	Py_DECREF(path);
	if (err)
		return NULL;
	Py_RETURN_NONE;
}

/* ---- type ----------------------------------------------------------------- */

static PyMethodDef vm_methods[] = {
	{ "close", vm_close, METH_NOARGS,
	  "close()\n\nDetach: release the context (and every Linux view of "
	  "this VM).\nA VM under a watch or paused by this object stays as "
	  "the gdbstub\nbackend leaves it (see qvmi.h).  Idempotent." },
	{ "__enter__", vm_enter, METH_NOARGS, NULL },
	{ "__exit__", vm_exit, METH_VARARGS, NULL },
	{ "read_pa", (PyCFunction)(void (*)(void))vm_read_pa, METH_FASTCALL,
	  "read_pa(addr, size) -> bytes\n\nRead guest-physical memory.  "
	  "A gap raises qvmi.Error(EFAULT) with\nfault_address at its "
	  "first byte." },
	{ "read_pa_into", (PyCFunction)(void (*)(void))vm_read_pa_into,
	  METH_FASTCALL,
	  "read_pa_into(addr, buffer) -> int\n\nRead len(buffer) bytes "
	  "of guest-physical memory into a writable\nbuffer (bytearray, "
	  "memoryview, numpy array...) with no intermediate\ncopy; returns "
	  "the number of bytes." },
	{ "write_pa", vm_write_pa, METH_VARARGS,
	  "write_pa(addr, data) -> int\n\nWrite a bytes-like object to "
	  "guest-physical memory (EOPNOTSUPP on a\nread-only source such as "
	  "a dump)." },
	{ "translate", (PyCFunction)(void (*)(void))vm_translate,
	  METH_VARARGS | METH_KEYWORDS,
	  "translate(va, dtb=None) -> int\n\nGuest-physical address of va "
	  "in the address space dtb (a CR3 value);\ndtb=None uses vCPU 0's "
	  "CR3, as `qvmi translate` does." },
	{ "regs", vm_regs, METH_VARARGS,
	  "regs(vcpu=0) -> dict\n\nThe vCPU's registers by the names "
	  "`qvmi regs` prints (rax ... dr7;\neax ... eip, eflags for a "
	  "32-bit vCPU); registers the source cannot\ngive are left out." },
	{ "pause", vm_pause, METH_NOARGS, "pause()\n\nStop the VM." },
	{ "resume", vm_resume, METH_NOARGS, "resume()\n\nContinue the VM." },
	{ "info", vm_info, METH_NOARGS,
	  "info() -> dict\n\nname, uuid, qemu_version, arch, backend, pid, "
	  "vcpus; ram: the guest's\nRAM ranges as (gpa, size) tuples; map: "
	  "the guest-physical map as\n(gpa, size, source) tuples, as `qvmi "
	  "info` lists them." },
	{ "linux", (PyCFunction)(void (*)(void))py_lx_open,
	  METH_VARARGS | METH_KEYWORDS,
	  "linux(btf=None, isf=None, system_map=None, cache_dir=None, "
	  "no_cache=False)\n-> qvmi.Linux\n\nFind the Linux kernel in guest "
	  "memory (kallsyms, KASLR, BTF).  btf: a\ncopy of "
	  "/sys/kernel/btf/vmlinux; isf: a Volatility 3 ISF; system_map:\na "
	  "System.map or copy of /proc/kallsyms; each overrides what "
	  "memory has." },
	{ "dump", (PyCFunction)(void (*)(void))vm_dump,
	  METH_VARARGS | METH_KEYWORDS,
	  "dump(path, format='elf')\n\nWrite all guest RAM to path (mode "
	  "0600), as `qvmi dump`: an ELF core\nlike QEMU's "
	  "dump-guest-memory with the vCPU registers, or 'raw'\n(file "
	  "offset = GPA).  Zero pages stay holes.  Open it with\n"
	  "qvmi.VM(dump=path)." },
	{ "step", py_vm_step, METH_VARARGS,
	  "step(vcpu=0) -> int\n\nSingle-step one vCPU of the stopped VM "
	  "(pause() first; the others\nstay stopped) and return its new RIP.  "
	  "The VM stays stopped: resume()\ncontinues it.  Needs gdb= or a "
	  "session." },
	{ "find", (PyCFunction)(void (*)(void))py_vm_find,
	  METH_VARARGS | METH_KEYWORDS,
	  "find(pattern, max=None) -> list of int\n\nGuest-physical "
	  "addresses of a bytes pattern (1..4096 bytes) in all\nguest RAM, "
	  "ascending, as `qvmi find`; at most max of them (None: all)." },
	{ "pages", (PyCFunction)(void (*)(void))py_vm_pages,
	  METH_VARARGS | METH_KEYWORDS,
	  "pages(dtb=None) -> list of qvmi.PageRange(va, pa, size, "
	  "page_size,\nwritable, user, nx)\n\nThe mapped ranges of an "
	  "address space (dtb None: vCPU 0's CR3), as\n`qvmi pages`." },
	{ "_bp_insert", py_vm_bp_insert, METH_VARARGS, NULL },
	{ "_bp_remove", py_vm_bp_remove, METH_VARARGS, NULL },
	{ "_wait_stop", py_vm_wait_stop, METH_VARARGS, NULL },
	{ "_poll_events", py_vm_poll_events, METH_NOARGS, NULL },
	{ "_unhook_ack", py_vm_unhook_ack, METH_NOARGS, NULL },
	{ 0 },
};

static PyGetSetDef vm_getset[] = {
	{ "closed", vm_closed, NULL, "True once close() ran.", NULL },
	{ "vcpus", vm_vcpus, NULL, "Number of vCPUs.", NULL },
	{ "state", vm_state, NULL,
	  "'running', 'paused', 'shutdown', 'frozen' (a dump) or 'unknown'.",
	  NULL },
	{ 0 },
};

PyTypeObject py_vm_type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "qvmi._qvmi.VM",
	.tp_basicsize = sizeof(struct py_vm),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc =
		"VM(*, qmp=None, dump=None, pmem=None, session=None, key=None,\n"
		"   gdb=None, raw_map=None, timeout=5.0, domain=None, "
		"connect=None)\n\n"
		"A VM to introspect: qmp= QEMU's QMP socket; domain= a "
		"running libvirt\ndomain's name (connect= libvirt's URI, "
		"default libvirt's own; QMP\ngoes through libvirt); dump= an "
		"ELF core or raw\nimage (raw_map='GPA:SIZE[@OFF],...'); pmem= a "
		"pmemaccess socket;\nsession= a qvmid session (unix path, "
		"tcp:HOST:PORT, vsock:CID:PORT)\nwith key= its key file; "
		"gdb= QEMU's gdbstub socket (registers,\nbreakpoints; with "
		"qmp= or alone).  timeout: seconds per exchange.\n\n"
		"Threads: a VM may be shared.  Its calls (and its Linux "
		"views') take\nturns on one lock and run without the GIL, so "
		"other threads run\nwhile one waits on the guest.  'with "
		"VM(...) as vm:' closes it.",
	.tp_new = vm_new,
	.tp_init = vm_init,
	.tp_dealloc = vm_dealloc,
	.tp_methods = vm_methods,
	.tp_getset = vm_getset,
	.tp_weaklistoffset = offsetof(struct py_vm, weakrefs),
};

int py_vm_init(PyObject *m)
{
	if (PyType_Ready(&py_vm_type) ||
	    PyModule_AddObjectRef(m, "VM", (PyObject *)&py_vm_type) ||
	    PyModule_AddIntConstant(m, "BP_SW", QVMI_BP_SW) ||
	    PyModule_AddIntConstant(m, "BP_HW", QVMI_BP_HW) ||
	    PyModule_AddIntConstant(m, "STOP_BREAKPOINT",
				    QVMI_STOP_BREAKPOINT) ||
	    PyModule_AddIntConstant(m, "STOP_EXITED", QVMI_STOP_EXITED) ||
	    PyModule_AddIntConstant(m, "EVENT_UNHOOK", QVMI_EVENT_UNHOOK) ||
	    PyModule_AddIntConstant(m, "EVENT_RESET", QVMI_EVENT_RESET) ||
	    PyModule_AddIntConstant(m, "EVENT_SHUTDOWN", QVMI_EVENT_SHUTDOWN))
		return -1;
	return py_scan_init(m);
}
