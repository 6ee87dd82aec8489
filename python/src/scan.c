// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VM.find() and VM.pages(): `qvmi find` and `qvmi pages`.  Both collect
 * into C arrays under the VM's lock without the GIL (raw malloc only),
 * then make the Python objects.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"

static PyTypeObject *page_type;

/* Grow *p to hold need elements of elem bytes (doubling). */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t c = *cap ? *cap : 256;
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

/* ---- find ------------------------------------------------------------------ */

struct find_args {
	const void *pat;
	size_t len, max; /* max 0: no limit */
	uint64_t *hits;
	size_t n, cap;
};

enum { FIND_STOP = 1, FIND_NOMEM = 2 };

static int find_cb(uint64_t gpa, void *arg)
{
	struct find_args *a = arg;

	if (grow((void **)&a->hits, &a->cap, a->n + 1, sizeof(*a->hits)))
		return FIND_NOMEM;
	a->hits[a->n++] = gpa;
	return a->max && a->n >= a->max ? FIND_STOP : 0;
}

static int find_fn(struct qvmi_ctx *ctx, void *arg)
{
	int r = qvmi_find_pa(ctx, ((struct find_args *)arg)->pat,
			     ((struct find_args *)arg)->len, find_cb, arg);

	return r == FIND_NOMEM ? -ENOMEM : r < 0 ? r : 0;
}

PyObject *py_vm_find(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "pattern", "max", NULL };
	struct find_args a = { 0 };
	PyObject *max = Py_None, *r = NULL;
	Py_buffer pat;
	int err;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "y*|O:find", kwlist, &pat,
					 &max))
		return NULL;
	if (max != Py_None) {
		Py_ssize_t m = PyNumber_AsSsize_t(max, PyExc_OverflowError);

		if (m <= 0) {
			if (!PyErr_Occurred())
				PyErr_SetString(PyExc_ValueError,
						"max must be >= 1");
			PyBuffer_Release(&pat);
			return NULL;
		}
		a.max = (size_t)m;
	}
	a.pat = pat.buf;
	a.len = (size_t)pat.len;
	err = py_vm_call((struct py_vm *)self, find_fn, &a, NULL);
	PyBuffer_Release(&pat);
	if (!err)
		r = PyList_New((Py_ssize_t)a.n);
	for (size_t i = 0; r && i < a.n; i++) {
		PyObject *v = PyLong_FromUnsignedLongLong(a.hits[i]);

		if (!v)
			Py_CLEAR(r);
		else
			PyList_SET_ITEM(r, (Py_ssize_t)i, v);
	}
	free(a.hits);
	return r;
}

/* ---- pages ----------------------------------------------------------------- */

struct pages_args {
	uint64_t dtb;
	int have_dtb;
	struct qvmi_page_range *r;
	size_t n, cap;
};

static int pages_cb(const struct qvmi_page_range *range, void *arg)
{
	struct pages_args *a = arg;

	if (grow((void **)&a->r, &a->cap, a->n + 1, sizeof(*a->r)))
		return -ENOMEM;
	a->r[a->n++] = *range;
	return 0;
}

static int pages_fn(struct qvmi_ctx *ctx, void *arg)
{
	struct pages_args *a = arg;
	struct qvmi_regs_x86 regs;
	int err;

	if (!a->have_dtb) { /* as `qvmi pages`: vCPU 0's CR3 */
		err = qvmi_get_regs(ctx, 0, &regs);
		if (err)
			return err;
		a->dtb = regs.cr3;
	}
	return qvmi_pages(ctx, a->dtb, pages_cb, a);
}

static PyObject *page_record(const struct qvmi_page_range *p)
{
	PyObject *o = PyStructSequence_New(page_type);
	uint64_t v[4] = { p->va, p->pa, p->size, p->page_size };
	const uint32_t bits[3] = { QVMI_PTE_W, QVMI_PTE_U, QVMI_PTE_NX };

	if (!o)
		return NULL;
	for (int i = 0; i < 4; i++)
		PyStructSequence_SET_ITEM(o, i,
					  PyLong_FromUnsignedLongLong(v[i]));
	for (int i = 0; i < 3; i++)
		PyStructSequence_SET_ITEM(
			o, 4 + i, PyBool_FromLong(!!(p->flags & bits[i])));
	if (PyErr_Occurred())
		Py_CLEAR(o);
	return o;
}

PyObject *py_vm_pages(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "dtb", NULL };
	struct pages_args a = { 0 };
	PyObject *dtb = Py_None, *r = NULL;
	int err;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:pages", kwlist, &dtb))
		return NULL;
	if (dtb != Py_None) {
		if (!py_conv_u64(dtb, &a.dtb))
			return NULL;
		a.have_dtb = 1;
	}
	err = py_vm_call((struct py_vm *)self, pages_fn, &a, NULL);
	r = PyList_New(0);
	for (size_t i = 0; r && i < a.n; i++) {
		PyObject *o = page_record(&a.r[i]);

		if (!o || PyList_Append(r, o))
			Py_CLEAR(r);
		Py_XDECREF(o);
	}
	free(a.r);
	if (err) { /* -ELOOP: what was found before is the partial result */
		py_err_partial(r);
		return NULL;
	}
	return r;
}

static PyStructSequence_Field page_fields[] = {
	{ "va", NULL },
	{ "pa", NULL },
	{ "size", "bytes: size / page_size pages" },
	{ "page_size", "4 KiB, 2 MiB, 4 MiB or 1 GiB" },
	{ "writable", "W on every level" },
	{ "user", "U/S on every level" },
	{ "nx", "XD on some level (with EFER.NXE)" },
	{ 0 },
};

int py_scan_init(PyObject *m)
{
	page_type = py_record_type(
		m, "qvmi.PageRange",
		"Contiguous pages of an address space with the same size and "
		"rights.",
		page_fields);
	return page_type ? 0 : -1;
}
