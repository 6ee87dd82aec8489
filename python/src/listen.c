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

static int ln_init(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "addr", "key", "timeout", NULL };
	struct py_listener *o = (struct py_listener *)self;
	struct qvmi_session_listener *l = NULL;
	const char *addr, *key;
	double timeout = 5.0;
	int err;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "ss|$d:Listener", kwlist,
					 &addr, &key, &timeout))
		return -1;
	if (!(timeout > 0 && timeout <= 3600)) {
		PyErr_SetString(PyExc_ValueError, "timeout must be 0..3600 s");
		return -1;
	}
	if (o->l)
		return py_raise_errno(-EBUSY, "this Listener listens already");
	QVMI_OPTS(qvmi_session_listen_opts, lo, .key_path = key,
		  .timeout_ms = (int)(timeout * 1000) ? (int)(timeout * 1000) :
							1);
	Py_BEGIN_ALLOW_THREADS;
	err = qvmi_session_listener_create(addr, &lo, &l);
	Py_END_ALLOW_THREADS;
	if (err) {
		char msg[256];

		snprintf(msg, sizeof(msg), "listen on %s: %s", addr,
			 strerror(-err));
		return py_raise_errno(err, msg);
	}
	o->l = l;
	return 0;
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
	.tp_doc = "Listener(addr, key, *, timeout=5.0)\n\n"
		  "Accept VMs whose qvmid dials in (qvmid --session-connect): "
		  "addr is\n\"PATH\" or \"unix:PATH\" (a socket created 0600), "
		  "\"tcp:ADDR:PORT\" (PORT 0\npicks one: see .port) or "
		  "\"vsock:CID:PORT\"; key the shared key file;\ntimeout the "
		  "handshake's and each later request's, in seconds.",
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
