// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What qvmi.VM.watch() (python/qvmi/__init__.py) is built on, and
 * VM.step(): breakpoints, waiting for a stop (in slices, so that the
 * Python side sees Ctrl-C and its deadline), single-step, and a qvmid
 * session's events (UNHOOK, RESET: the watch ends as `qvmi watch` does).
 */
#include <errno.h>
#include <string.h>

#include "binding.h"

/* ---- breakpoints (for qvmi.VM.watch) ---------------------------------- */

struct bp_args {
	int kind, insert;
	uint64_t addr;
};

static int bp_fn(struct qvmi_ctx *ctx, void *arg)
{
	struct bp_args *b = arg;

	return b->insert ? qvmi_bp_insert(ctx, b->kind, b->addr, 1) :
			   qvmi_bp_remove(ctx, b->kind, b->addr, 1);
}

static PyObject *bp_common(PyObject *self, PyObject *args, int insert)
{
	struct bp_args b = { .insert = insert };

	if (!PyArg_ParseTuple(args, "iO&", &b.kind, py_conv_u64, &b.addr))
		return NULL;
	if (b.kind != QVMI_BP_SW && b.kind != QVMI_BP_HW)
		return PyErr_Format(PyExc_ValueError, "bad breakpoint kind");
	if (py_vm_call((struct py_vm *)self, bp_fn, &b, NULL))
		return NULL;
	Py_RETURN_NONE;
}

PyObject *py_vm_bp_insert(PyObject *self, PyObject *args)
{
	return bp_common(self, args, 1);
}

PyObject *py_vm_bp_remove(PyObject *self, PyObject *args)
{
	return bp_common(self, args, 0);
}

struct stop_args {
	int timeout_ms;
	struct qvmi_stop s;
};

static int stop_fn(struct qvmi_ctx *ctx, void *arg)
{
	struct stop_args *a = arg;
	int err = qvmi_wait_stop(ctx, a->timeout_ms, &a->s);

	return err == -ETIMEDOUT ? 1 : err;
}

PyObject *py_vm_wait_stop(PyObject *self, PyObject *args)
{
	struct stop_args a = { 0 };
	int r;

	if (!PyArg_ParseTuple(args, "i", &a.timeout_ms))
		return NULL;
	if (a.timeout_ms < 0 || a.timeout_ms > 60000)
		return PyErr_Format(PyExc_ValueError, "timeout 0..60000 ms");
	if (py_vm_call((struct py_vm *)self, stop_fn, &a, &r))
		return NULL;
	if (r == 1)
		Py_RETURN_NONE;
	return Py_BuildValue("(IiKK)", a.s.vcpu, (int)a.s.reason, a.s.rip,
			     a.s.addr);
}

/* ---- single-step ------------------------------------------------------ */

struct step_args {
	unsigned int vcpu;
	uint64_t rip;
};

static int step_fn(struct qvmi_ctx *ctx, void *arg)
{
	struct step_args *a = arg;
	struct qvmi_regs_x86 r;
	int err = qvmi_single_step(ctx, a->vcpu);

	if (!err)
		err = qvmi_get_regs(ctx, a->vcpu, &r);
	a->rip = r.rip;
	return err;
}

PyObject *py_vm_step(PyObject *self, PyObject *args)
{
	struct step_args a = { 0 };

	if (!PyArg_ParseTuple(args, "|O&:step", py_conv_vcpu, &a.vcpu) ||
	    py_vm_call((struct py_vm *)self, step_fn, &a, NULL))
		return NULL;
	return PyLong_FromUnsignedLongLong(a.rip);
}

/* ---- session events ------------------------------------------------------- */

enum { EVENTS_MAX = 256 }; /* what qvmi_events_poll keeps between calls */

struct events_args {
	struct {
		int type;
		uint32_t reason;
	} ev[EVENTS_MAX];
	int n, session;
};

static void collect(struct qvmi_ctx *ctx, const struct qvmi_event *ev,
		    void *arg)
{
	struct events_args *a = arg;

	if (a->n < EVENTS_MAX) {
		a->ev[a->n].type = (int)ev->type;
		a->ev[a->n].reason = ev->reason;
		a->n++;
	}
}

/* The callback is ours only during the poll: events arrive at no other
 * time (qvmi.h: qvmi_events_poll runs it on the calling thread). */
static int events_fn(struct qvmi_ctx *ctx, void *arg)
{
	struct events_args *a = arg;
	int err;

	if (qvmi_session_fd(ctx) < 0)
		return 0; /* not a session: no events */
	a->session = 1;
	err = qvmi_set_event_cb(ctx, collect, a);
	if (!err)
		err = qvmi_events_poll(ctx, 0);
	qvmi_set_event_cb(ctx, NULL, NULL);
	return err < 0 ? err : 0;
}

/* None for a context without events, else [(type, reason), ...]. */
PyObject *py_vm_poll_events(PyObject *self, PyObject *unused)
{
	struct events_args *a = PyMem_Calloc(1, sizeof(*a));
	PyObject *r = NULL;

	if (!a)
		return PyErr_NoMemory();
	if (py_vm_call((struct py_vm *)self, events_fn, a, NULL))
		goto out;
	if (!a->session) {
		r = Py_NewRef(Py_None);
		goto out;
	}
	r = PyList_New(a->n);
	for (int i = 0; r && i < a->n; i++) {
		PyObject *t =
			Py_BuildValue("(iI)", a->ev[i].type, a->ev[i].reason);

		if (!t)
			Py_CLEAR(r);
		else
			PyList_SET_ITEM(r, i, t);
	}
out:
	PyMem_Free(a);
	return r;
}

static int unhook_fn(struct qvmi_ctx *ctx, void *arg)
{
	return qvmi_session_unhook_ack(ctx);
}

PyObject *py_vm_unhook_ack(PyObject *self, PyObject *unused)
{
	if (py_vm_call((struct py_vm *)self, unhook_fn, NULL, NULL))
		return NULL;
	Py_RETURN_NONE;
}
