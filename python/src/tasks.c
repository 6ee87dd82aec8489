// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi.Task and qvmi.TaskList.  A TaskList owns the library's array
 * (struct qvmi_linux_task_list) as it came from the walk, and makes a
 * Task (a copy of one entry, 100-odd bytes) only when an item is asked
 * for: listing tasks costs one walk and one object, not one object per
 * task.  Both are immutable and safe to share between threads.
 */
#include <stddef.h>
#include <string.h>

#include "binding.h"
#include "structmember.h"

struct py_task {
	PyObject_HEAD struct qvmi_linux_task t;
};

struct py_tasklist {
	PyObject_HEAD struct qvmi_linux_task_list l;
	int err; /* the walk's error when partial (negative errno) */
};

PyObject *py_task_new(const struct qvmi_linux_task *t)
{
	struct py_task *o = PyObject_New(struct py_task, &py_task_type);

	if (o)
		memcpy(&o->t, t, sizeof(*t));
	return (PyObject *)o;
}

static PyObject *task_comm(PyObject *self, void *unused)
{
	const struct qvmi_linux_task *t = &((struct py_task *)self)->t;

	return py_str(t->comm, strnlen(t->comm, sizeof(t->comm)));
}

static PyObject *task_state(PyObject *self, void *unused)
{
	char c = ((struct py_task *)self)->t.state;

	return py_str(&c, 1);
}

static PyObject *task_kthread(PyObject *self, void *unused)
{
	return PyBool_FromLong(((struct py_task *)self)->t.flags &
			       QVMI_LINUX_TASK_KTHREAD);
}

static PyObject *task_repr(PyObject *self)
{
	const struct qvmi_linux_task *t = &((struct py_task *)self)->t;
	PyObject *comm = task_comm(self, NULL), *r;
	char addr[24]; /* PyUnicode_FromFormat has no %llx */

	if (!comm)
		return NULL;
	snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)t->addr);
	r = PyUnicode_FromFormat("Task(pid=%d, tgid=%d, ppid=%d, comm=%R, "
				 "state='%c', address=%s)",
				 t->pid, t->tgid, t->ppid, comm, t->state,
				 addr);
	Py_DECREF(comm);
	return r;
}

#define TOFF(f) \
	(offsetof(struct py_task, t) + offsetof(struct qvmi_linux_task, f))
static PyMemberDef task_members[] = {
	{ "pid", T_INT, TOFF(pid), READONLY, "Thread id (task_struct.pid)." },
	{ "tgid", T_INT, TOFF(tgid), READONLY, "Process id." },
	{ "ppid", T_INT, TOFF(ppid), READONLY, "real_parent's tgid." },
	{ "uid", T_UINT, TOFF(uid), READONLY, "cred->uid." },
	{ "address", T_ULONGLONG, TOFF(addr), READONLY,
	  "The task_struct's kernel virtual address." },
	{ "dtb", T_ULONGLONG, TOFF(dtb), READONLY,
	  "Guest-physical address of mm->pgd (a CR3); 0 for kernel threads." },
	{ "mm", T_ULONGLONG, TOFF(mm), READONLY,
	  "The mm_struct; 0 for kernel threads." },
	{ "start_time", T_ULONGLONG, TOFF(start_time), READONLY,
	  "Nanoseconds since boot (start_boottime)." },
	{ "raw_state", T_ULONGLONG, TOFF(raw_state), READONLY,
	  "task_struct.__state (or .state) as read." },
	{ 0 },
};
#undef TOFF

static PyGetSetDef task_getset[] = {
	{ "comm", task_comm, NULL, "Command name (TASK_COMM_LEN).", NULL },
	{ "state", task_state, NULL, "As ps shows it: R S D T t X Z P I.",
	  NULL },
	{ "kthread", task_kthread, NULL,
	  "A kernel thread (PF_KTHREAD or no mm).", NULL },
	{ 0 },
};

PyTypeObject py_task_type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "qvmi.Task",
	.tp_basicsize = sizeof(struct py_task),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "A task as read from the guest's task list: a snapshot, "
		  "immutable,\nsafe to share between threads.",
	.tp_repr = task_repr,
	.tp_members = task_members,
	.tp_getset = task_getset,
};

/* ---- TaskList ------------------------------------------------------------ */

PyObject *py_tasklist_new(struct qvmi_linux_task_list *l, int err)
{
	struct py_tasklist *o =
		PyObject_New(struct py_tasklist, &py_tasklist_type);

	if (!o) {
		qvmi_linux_task_list_deinit(l);
		return NULL;
	}
	o->l = *l; /* takes the array */
	o->err = err;
	return (PyObject *)o;
}

static void tasklist_dealloc(PyObject *self)
{
	qvmi_linux_task_list_deinit(&((struct py_tasklist *)self)->l);
	PyObject_Free(self);
}

static Py_ssize_t tasklist_len(PyObject *self)
{
	return (Py_ssize_t)((struct py_tasklist *)self)->l.n;
}

static PyObject *tasklist_item(PyObject *self, Py_ssize_t i)
{
	const struct qvmi_linux_task_list *l = &((struct py_tasklist *)self)->l;

	if (i < 0 || (size_t)i >= l->n) {
		PyErr_SetString(PyExc_IndexError, "task index out of range");
		return NULL;
	}
	return py_task_new(&l->tasks[i]);
}

static PyObject *tasklist_subscript(PyObject *self, PyObject *key)
{
	Py_ssize_t start, stop, step, n, i;
	PyObject *r;

	if (PyIndex_Check(key)) {
		i = PyNumber_AsSsize_t(key, PyExc_IndexError);
		if (i == -1 && PyErr_Occurred())
			return NULL;
		return tasklist_item(self, i < 0 ? i + tasklist_len(self) : i);
	}
	if (!PySlice_Check(key))
		return PyErr_Format(PyExc_TypeError,
				    "indices must be integers or slices");
	if (PySlice_Unpack(key, &start, &stop, &step) < 0)
		return NULL;
	n = PySlice_AdjustIndices(tasklist_len(self), &start, &stop, step);
	r = PyList_New(n);
	for (i = 0; r && i < n; i++) {
		PyObject *t = tasklist_item(self, start + i * step);

		if (!t) {
			Py_CLEAR(r);
			break;
		}
		PyList_SET_ITEM(r, i, t);
	}
	return r;
}

static PyObject *tasklist_repr(PyObject *self)
{
	const struct py_tasklist *o = (struct py_tasklist *)self;

	return PyUnicode_FromFormat("<qvmi.TaskList of %zd tasks%s>",
				    (Py_ssize_t)o->l.n,
				    o->l.partial ? ", partial" : "");
}

static PyObject *tasklist_partial(PyObject *self, void *unused)
{
	return PyBool_FromLong(((struct py_tasklist *)self)->l.partial);
}

static PySequenceMethods tasklist_seq = {
	.sq_length = tasklist_len,
	.sq_item = tasklist_item,
};

static PyMappingMethods tasklist_map = {
	.mp_length = tasklist_len,
	.mp_subscript = tasklist_subscript,
};

static PyGetSetDef tasklist_getset[] = {
	{ "partial", tasklist_partial, NULL,
	  "True if the walk stopped early (only on qvmi.Error.partial).",
	  NULL },
	{ 0 },
};

PyTypeObject py_tasklist_type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "qvmi.TaskList",
	.tp_basicsize = sizeof(struct py_tasklist),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_SEQUENCE,
	.tp_doc = "The result of Linux.tasks(): a read-only sequence of "
		  "qvmi.Task, in\nlist order (pid 0 first).  It holds the "
		  "walk's array and makes a Task\nper item asked for.",
	.tp_dealloc = tasklist_dealloc,
	.tp_repr = tasklist_repr,
	.tp_as_sequence = &tasklist_seq,
	.tp_as_mapping = &tasklist_map,
	.tp_getset = tasklist_getset,
};
