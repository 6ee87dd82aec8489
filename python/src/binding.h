/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvmi's CPython binding (the qvmi._qvmi extension): shared declarations.
 * Only the public include/qvmi.h is used.
 *
 * Threads: a qvmi context is not thread-safe (qvmi.h), so each VM object
 * owns a lock, taken around every library call on it and on its Linux
 * views.  Calls that touch the guest run with the GIL released (other
 * Python threads run meanwhile); two threads using one VM take turns.
 */
#ifndef QVMI_PY_BINDING_H
#define QVMI_PY_BINDING_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>
#include <stdint.h>

#include "qvmi.h"

struct py_lx;

struct py_vm {
	PyObject_HEAD struct qvmi_ctx *ctx; /* NULL once closed */
	PyThread_type_lock lock;
	struct py_lx *lx_head; /* Linux views to destroy before ctx */
	PyObject *weakrefs;
	/* Guest RAM served by shared memory (the "shm" source: a memcpy),
	 * set at attach; reads inside one of these ranges may keep the GIL
	 * (py_vm_read_fast). */
	struct qvmi_ram_range fast[8];
	unsigned int nfast;
};

struct py_lx {
	PyObject_HEAD struct py_vm *vm; /* strong reference */
	struct qvmi_linux *lx; /* NULL once its VM closed */
	struct py_lx *next, *prev;
};

/* What a failed call left on its context, copied under the VM's lock. */
struct py_err {
	int err;
	uint64_t fault;
	char msg[256];
};

typedef int (*py_call_fn)(struct qvmi_ctx *ctx, void *arg);
typedef int (*py_lx_fn)(struct qvmi_ctx *ctx, struct qvmi_linux *lx, void *arg);

extern PyTypeObject py_vm_type, py_lx_type, py_task_type, py_tasklist_type;
extern PyObject *py_error;

/*
 * Run fn(ctx, arg) under vm's lock with the GIL released.  0 on success;
 * -1 with qvmi.Error set (ENOTCONN once the VM is closed) otherwise.  fn's
 * negative errno and the context's message go into the exception; with
 * fn's result >= 0 it is stored in *ret (may be NULL).
 */
int py_vm_call(struct py_vm *vm, py_call_fn fn, void *arg, int *ret);
/*
 * py_vm_call() for a read of [pa, pa + len): a short read from shared RAM
 * is a memcpy of tens of ns, less than releasing and taking back the GIL,
 * so while nobody else holds the VM's lock it runs with the GIL held.
 */
int py_vm_call_read(struct py_vm *vm, py_call_fn fn, void *arg, uint64_t pa,
		    size_t len);
/* Under the lock, after attach: which RAM the shm source serves. */
void py_vm_find_fast(struct py_vm *vm);
/* py_vm_call() for a Linux method (self a py_lx): its VM's lock, no
 * GIL; ENOTCONN once the VM is closed. */
int py_lx_run(PyObject *self, py_lx_fn fn, void *arg, int *ret);
/* Raise qvmi.Error for e (always returns -1). */
int py_raise(const struct py_err *e);
int py_raise_errno(int err, const char *msg);
/* Attach "partial" (a result read before the failure) to the exception
 * being raised; steals partial. */
void py_err_partial(PyObject *partial);

/* Arguments: unsigned 64-bit addresses (any int that fits). */
int py_conv_u64(PyObject *o, void *ret);
/* A pid: None -> -1 (the kernel), else 0..INT32_MAX. */
int py_conv_pid(PyObject *o, void *ret);
/* A pid that must be given (not None). */
int py_conv_pid_req(PyObject *o, void *ret);
/* A vCPU index: 0..4096 (unsigned int). */
int py_conv_vcpu(PyObject *o, void *ret);
PyObject *py_str(const char *s, size_t len);

/* tasks.c: a Task copied from t; a TaskList taking l's array. */
PyObject *py_task_new(const struct qvmi_linux_task *t);
PyObject *py_tasklist_new(struct qvmi_linux_task_list *l, int err);
PyObject *py_lx_open(PyObject *vm, PyObject *args, PyObject *kw);

/* views.c: modules, maps, cmdline, environ, dmesg, current */
PyObject *py_lx_modules(PyObject *self, PyObject *unused);
PyObject *py_lx_maps(PyObject *self, PyObject *args);
PyObject *py_lx_cmdline(PyObject *self, PyObject *args);
PyObject *py_lx_environ(PyObject *self, PyObject *args);
PyObject *py_lx_dmesg(PyObject *self, PyObject *unused);
PyObject *py_lx_current(PyObject *self, PyObject *args);
int py_views_init(PyObject *m);
/* A struct sequence type named qvmi.<name> (fields NULL-terminated). */
PyTypeObject *py_record_type(PyObject *m, const char *name, const char *doc,
			     PyStructSequence_Field *fields);

/* events.c: breakpoints, stops, single-step, session events */
PyObject *py_vm_bp_insert(PyObject *self, PyObject *args);
PyObject *py_vm_bp_remove(PyObject *self, PyObject *args);
PyObject *py_vm_wait_stop(PyObject *self, PyObject *args);
PyObject *py_vm_step(PyObject *self, PyObject *args);
PyObject *py_vm_poll_events(PyObject *self, PyObject *unused);
PyObject *py_vm_unhook_ack(PyObject *self, PyObject *unused);
/* scan.c: find, pages */
PyObject *py_vm_find(PyObject *self, PyObject *args, PyObject *kw);
PyObject *py_vm_pages(PyObject *self, PyObject *args, PyObject *kw);
int py_scan_init(PyObject *m);
/* listen.c: qvmi.Listener */
int py_listen_init(PyObject *m);

int py_linux_init(PyObject *m);
int py_vm_init(PyObject *m);

#endif
