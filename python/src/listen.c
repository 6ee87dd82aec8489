// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi._qvmi.Listener: `qvmi --session-listen` (qvmi_session_listener_*):
 * VMs whose qvmid runs with --session-connect dial in, prove the key, and
 * each one accepted becomes a VM.  qvmi.Listener.accept()
 * (python/qvmi/__init__.py) waits in slices so that Ctrl-C is seen; the
 * C side takes one slice.  A listener is used by one thread at a time
 * (its own lock keeps two from using it at once).
 */
#include <errno.h>
#include <string.h>

#include "binding.h"

struct py_listener {
	PyObject_HEAD struct qvmi_session_listener *l;
	PyThread_type_lock lock;
};

static PyObject *ln_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	struct py_listener *o = (struct py_listener *)type->tp_alloc(type, 0);

	if (!o)
		return NULL;
	o->lock = PyThread_allocate_lock();
	if (!o->lock) {
		Py_DECREF(o);
		return PyErr_NoMemory();
	}
	return (PyObject *)o;
}

/* Create o->l; a failure raises with the library's message. */
static int ln_create(struct py_listener *o, const char *addr,
		     struct qvmi_session_listen_opts *lo)
{
	struct qvmi_session_listener *l = NULL;
	struct qvmi_ctx *ectx = NULL;
	char msg[512];
	int err;

	Py_BEGIN_ALLOW_THREADS;
	/* No listener holds a message yet: a ctx for it. */
	if (!qvmi_ctx_create(&ectx))
		lo->err_ctx = ectx;
	err = qvmi_session_listener_create(addr, lo, &l);
	if (err)
		snprintf(msg, sizeof(msg), "%s",
			 ectx ? qvmi_errmsg(ectx) : strerror(-err));
	qvmi_ctx_destroy(ectx);
	Py_END_ALLOW_THREADS;
	if (err)
		return py_raise_errno(err, msg);
	o->l = l;
	return 0;
}

static int ln_init(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "addr", "key", "timeout", "key_dir", NULL };
	struct py_listener *o = (struct py_listener *)self;
	const char *addr, *key = NULL, *key_dir = NULL;
	double timeout = 5.0;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "s|z$dz:Listener", kwlist,
					 &addr, &key, &timeout, &key_dir))
		return -1;
	if (!(timeout > 0 && timeout <= 3600)) {
		PyErr_SetString(PyExc_ValueError, "timeout must be 0..3600 s");
		return -1;
	}
	if (!key == !key_dir) {
		PyErr_SetString(PyExc_ValueError,
				"give key (a key file) or key_dir (per-VM "
				"keys), not both");
		return -1;
	}
	if (o->l)
		return py_raise_errno(-EBUSY, "this Listener listens already");
	QVMI_OPTS(qvmi_session_listen_opts, lo, .key_path = key,
		  .key_dir = key_dir,
		  .timeout_ms = (int)(timeout * 1000) ? (int)(timeout * 1000) :
							1);
	return ln_create(o, addr, &lo);
}

static void ln_close_locked(struct py_listener *o)
{
	qvmi_session_listener_destroy(o->l);
	o->l = NULL;
}

static void ln_dealloc(PyObject *self)
{
	struct py_listener *o = (struct py_listener *)self;

	ln_close_locked(o);
	if (o->lock)
		PyThread_free_lock(o->lock);
	Py_TYPE(self)->tp_free(self);
}

static PyObject *ln_close(PyObject *self, PyObject *unused)
{
	struct py_listener *o = (struct py_listener *)self;

	Py_BEGIN_ALLOW_THREADS;
	PyThread_acquire_lock(o->lock, WAIT_LOCK);
	ln_close_locked(o);
	PyThread_release_lock(o->lock);
	Py_END_ALLOW_THREADS;
	Py_RETURN_NONE;
}

/* _accept_into(vm, timeout_ms): one wait; vm is a VM not attached yet.
 * True once attached, False when no VM came in the slice. */
static PyObject *ln_accept_into(PyObject *self, PyObject *args)
{
	struct py_listener *o = (struct py_listener *)self;
	struct qvmi_ctx *ctx = NULL;
	struct py_err e = { 0 };
	struct py_vm *vm;
	int ms, err;

	if (!PyArg_ParseTuple(args, "O!i", &py_vm_type, &vm, &ms))
		return NULL;
	if (ms < 0 || ms > 60000)
		return PyErr_Format(PyExc_ValueError, "timeout 0..60000 ms");
	if (vm->ctx) {
		py_raise_errno(-EBUSY, "this VM is attached already");
		return NULL;
	}
	err = qvmi_ctx_create(&ctx);
	if (err) {
		py_raise_errno(err, "qvmi_ctx_create");
		return NULL;
	}
	Py_BEGIN_ALLOW_THREADS;
	PyThread_acquire_lock(o->lock, WAIT_LOCK);
	err = o->l ? qvmi_session_accept(o->l, ctx, ms) : -ENOTCONN;
	PyThread_release_lock(o->lock);
	if (err && err != -ETIMEDOUT) {
		e.err = err;
		e.fault = UINT64_MAX;
		snprintf(e.msg, sizeof(e.msg), "%s",
			 err == -ENOTCONN ? "the listener is closed" :
					    qvmi_errmsg(ctx));
	}
	if (err)
		qvmi_ctx_destroy(ctx);
	Py_END_ALLOW_THREADS;
	if (err == -ETIMEDOUT)
		Py_RETURN_FALSE;
	if (err) {
		py_raise(&e);
		return NULL;
	}
	Py_BEGIN_ALLOW_THREADS;
	PyThread_acquire_lock(vm->lock, WAIT_LOCK);
	vm->ctx = ctx;
	py_vm_find_fast(vm);
	PyThread_release_lock(vm->lock);
	Py_END_ALLOW_THREADS;
	Py_RETURN_TRUE;
}

static PyObject *ln_fileno(PyObject *self, PyObject *unused)
{
	struct py_listener *o = (struct py_listener *)self;

	if (!o->l) {
		py_raise_errno(-ENOTCONN, "the listener is closed");
		return NULL;
	}
	return PyLong_FromLong(qvmi_session_listener_fd(o->l));
}

static PyObject *ln_port(PyObject *self, void *unused)
{
	struct py_listener *o = (struct py_listener *)self;

	return PyLong_FromUnsignedLong(o->l ? qvmi_session_listener_port(o->l) :
					      0);
}

static PyMethodDef ln_methods[] = {
	{ "close", ln_close, METH_NOARGS,
	  "close()\n\nStop listening (a unix socket is removed); VMs "
	  "accepted stay attached." },
	{ "fileno", ln_fileno, METH_NOARGS,
	  "fileno() -> int\n\nThe listening socket, for select(): readable "
	  "when a VM connects." },
	{ "_accept_into", ln_accept_into, METH_VARARGS, NULL },
	{ 0 },
};

static PyGetSetDef ln_getset[] = {
	{ "port", ln_port, NULL, "The bound TCP or vsock port (0 for unix).",
	  NULL },
	{ 0 },
};

PyTypeObject py_listener_type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "qvmi._qvmi.Listener",
	.tp_basicsize = sizeof(struct py_listener),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc =
		"Listener(addr, key=None, *, timeout=5.0, key_dir=None)\n\n"
		"Accept VMs whose qvmid dials in (qvmid --session-connect): "
		"addr is\n\"PATH\" or \"unix:PATH\" (a socket created 0600), "
		"\"tcp:ADDR:PORT\" (PORT 0\npicks one: see .port) or "
		"\"vsock:CID:PORT\"; key the shared key file, or\nkey_dir "
		"a directory of per-VM keys (tcp: and vsock: only), one file\n"
		"per VM named by its uuid, 32 lowercase hex digits and "
		"\".key\": a VM\nmust prove the key of the uuid it claims; "
		"timeout the handshake's\nand each later request's, in "
		"seconds.",
	.tp_new = ln_new,
	.tp_init = ln_init,
	.tp_dealloc = ln_dealloc,
	.tp_methods = ln_methods,
	.tp_getset = ln_getset,
};

int py_listen_init(PyObject *m)
{
	if (PyType_Ready(&py_listener_type))
		return -1;
	return PyModule_AddObjectRef(m, "Listener",
				     (PyObject *)&py_listener_type);
}
