// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi._qvmi: module init, qvmi.Error, argument converters and the one
 * place that runs a library call under a VM's lock without the GIL.
 */
#include <errno.h>
#include <string.h>

#include "binding.h"

PyObject *py_error;

int py_raise(const struct py_err *e)
{
	const char *msg = e->msg[0] ? e->msg : strerror(-e->err);
	PyObject *exc = NULL, *text, *fault;

	text = py_str(msg, strlen(msg));
	/* The fault address means something only for -EFAULT (qvmi.h). */
	fault = e->err == -EFAULT && e->fault != UINT64_MAX ?
			PyLong_FromUnsignedLongLong(e->fault) :
			Py_NewRef(Py_None);
	if (text && fault)
		exc = PyObject_CallFunction(py_error, "iO", -e->err, text);
	if (exc && !PyObject_SetAttrString(exc, "fault_address", fault) &&
	    !PyObject_SetAttrString(exc, "message", text))
		PyErr_SetObject(py_error, exc);
	Py_XDECREF(exc);
	Py_XDECREF(text);
	Py_XDECREF(fault);
	return -1;
}

int py_raise_errno(int err, const char *msg)
{
	struct py_err e = { .err = err, .fault = UINT64_MAX };

	snprintf(e.msg, sizeof(e.msg), "%s", msg ? msg : "");
	return py_raise(&e);
}

void py_err_partial(PyObject *partial)
{
	PyObject *type, *value, *tb;

	PyErr_Fetch(&type, &value, &tb);
	PyErr_NormalizeException(&type, &value, &tb);
	if (value && partial)
		PyObject_SetAttrString(value, "partial", partial);
	Py_XDECREF(partial);
	PyErr_Restore(type, value, tb);
}

static void take_err(struct qvmi_ctx *ctx, int err, struct py_err *e)
{
	e->err = err;
	e->fault = UINT64_MAX;
	e->msg[0] = '\0';
	if (!ctx)
		return;
	/* The handle's message belongs to this failure only if its code
	 * is this one; an older message would mislead. */
	if (qvmi_errcode(ctx) == err)
		snprintf(e->msg, sizeof(e->msg), "%s", qvmi_errmsg(ctx));
	e->fault = qvmi_fault_addr(ctx);
}

int py_vm_call(struct py_vm *vm, py_call_fn fn, void *arg, int *ret)
{
	struct py_err e = { 0 };
	int r;

	Py_BEGIN_ALLOW_THREADS;
	PyThread_acquire_lock(vm->lock, WAIT_LOCK);
	if (!vm->ctx) {
		r = -ENOTCONN;
	} else {
		r = fn(vm->ctx, arg);
		if (r < 0)
			take_err(vm->ctx, r, &e);
	}
	PyThread_release_lock(vm->lock);
	Py_END_ALLOW_THREADS;
	if (r == -ENOTCONN && !e.err)
		return py_raise_errno(r, "the VM is closed (detached)");
	if (r < 0)
		return py_raise(&e);
	if (ret)
		*ret = r;
	return 0;
}

enum { FAST_READ_MAX = 64 << 10 };

static int is_fast(const struct py_vm *vm, uint64_t pa, size_t len)
{
	if (len > FAST_READ_MAX)
		return 0;
	for (unsigned int i = 0; i < vm->nfast; i++)
		if (pa >= vm->fast[i].gpa &&
		    pa - vm->fast[i].gpa <= vm->fast[i].size &&
		    len <= vm->fast[i].size - (pa - vm->fast[i].gpa))
			return 1;
	return 0;
}

int py_vm_call_read(struct py_vm *vm, py_call_fn fn, void *arg, uint64_t pa,
		    size_t len)
{
	struct py_err e = { 0 };
	int r;

	if (!is_fast(vm, pa, len) ||
	    !PyThread_acquire_lock(vm->lock, NOWAIT_LOCK))
		return py_vm_call(vm, fn, arg, NULL);
	r = vm->ctx ? fn(vm->ctx, arg) : -ENOTCONN;
	if (r < 0)
		take_err(vm->ctx, r, &e);
	PyThread_release_lock(vm->lock);
	if (r == -ENOTCONN && !e.msg[0])
		return py_raise_errno(r, "the VM is closed (detached)");
	return r < 0 ? py_raise(&e) : 0;
}

/* RAM ranges wholly inside "shm" entries of the flattened map. */
void py_vm_find_fast(struct py_vm *vm)
{
	size_t nram = qvmi_ram_count(vm->ctx), nmap = qvmi_map_count(vm->ctx);
	struct qvmi_ram_range r;
	struct qvmi_map_entry m;

	vm->nfast = 0;
	for (size_t i = 0; i < nram && vm->nfast < 8; i++) {
		uint64_t at;
		int ok = 1;

		if (qvmi_ram_get(vm->ctx, i, &r) || !r.size)
			continue;
		at = r.gpa;
		/* The map is sorted: walk the entries over [gpa, end). */
		for (size_t j = 0; ok && j < nmap && at - r.gpa < r.size; j++) {
			if (qvmi_map_get(vm->ctx, j, &m) || m.gpa > at)
				ok = 0;
			else if (m.gpa + m.size > at) { /* covers at */
				ok = !strcmp(m.source, "shm");
				at = m.gpa + m.size;
			}
		}
		if (ok && at - r.gpa >= r.size)
			vm->fast[vm->nfast++] = r;
	}
}

int py_conv_u64(PyObject *o, void *ret)
{
	unsigned long long v;

	if (!PyLong_Check(o)) {
		PyErr_Format(PyExc_TypeError,
			     "an address must be an int, not %s",
			     Py_TYPE(o)->tp_name);
		return 0;
	}
	v = PyLong_AsUnsignedLongLong(o);
	if (v == (unsigned long long)-1 && PyErr_Occurred()) {
		PyErr_SetString(PyExc_OverflowError,
				"an address must be in 0..2**64-1");
		return 0;
	}
	*(uint64_t *)ret = v;
	return 1;
}

int py_conv_pid(PyObject *o, void *ret)
{
	long v;

	if (o == Py_None) {
		*(int32_t *)ret = -1;
		return 1;
	}
	v = PyLong_AsLong(o);
	if (v == -1 && PyErr_Occurred())
		return 0;
	if (v < 0 || v > INT32_MAX) {
		PyErr_SetString(PyExc_ValueError, "a pid must be 0..2**31-1");
		return 0;
	}
	*(int32_t *)ret = (int32_t)v;
	return 1;
}

int py_conv_pid_req(PyObject *o, void *ret)
{
	if (o == Py_None) {
		PyErr_SetString(PyExc_TypeError, "a pid is needed");
		return 0;
	}
	return py_conv_pid(o, ret);
}

int py_conv_vcpu(PyObject *o, void *ret)
{
	long v = PyLong_AsLong(o);

	if (v == -1 && PyErr_Occurred())
		return 0;
	if (v < 0 || v > 4096) { /* the CLI's bound too */
		PyErr_SetString(PyExc_ValueError, "a vCPU must be 0..4096");
		return 0;
	}
	*(unsigned int *)ret = (unsigned int)v;
	return 1;
}

/* Guest strings are bytes: undecodable ones show as \xNN escapes. */
PyObject *py_str(const char *s, size_t len)
{
	return PyUnicode_DecodeUTF8(s, (Py_ssize_t)len, "backslashreplace");
}

static struct PyModuleDef py_module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "qvmi._qvmi",
	.m_doc = "Native core of the qvmi package (use 'import qvmi').",
	.m_size = -1,
};

static const char error_doc[] =
	"A qvmi failure: an OSError whose errno is the library's (EFAULT: "
	"guest\naddress not mapped, ENOENT: symbol or task not found, "
	"EOPNOTSUPP: the\nsource cannot do that, ENOTCONN: the VM is "
	"closed, ...), whose strerror\nand message are the library's "
	"message, and whose fault_address is the\nfirst guest address "
	"that could not be read (EFAULT only, else None).\nA walk that "
	"failed half-way carries what it read as .partial.";

PyMODINIT_FUNC PyInit__qvmi(void);
PyMODINIT_FUNC PyInit__qvmi(void)
{
	PyObject *m = PyModule_Create(&py_module), *dict;

	if (!m)
		return NULL;
	dict = Py_BuildValue("{sOsOsO}", "fault_address", Py_None, "message",
			     Py_None, "partial", Py_None);
	if (!dict)
		goto fail;
	py_error = PyErr_NewExceptionWithDoc("qvmi.Error", error_doc,
					     PyExc_OSError, dict);
	Py_DECREF(dict);
	if (!py_error || PyModule_AddObjectRef(m, "Error", py_error) ||
	    PyModule_AddIntConstant(m, "VERSION_MAJOR", QVMI_VERSION_MAJOR) ||
	    PyModule_AddIntConstant(m, "VERSION_MINOR", QVMI_VERSION_MINOR) ||
	    py_vm_init(m) || py_linux_init(m) || py_listen_init(m))
		goto fail;
	return m;
fail:
	Py_DECREF(m);
	return NULL;
}
