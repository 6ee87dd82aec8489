// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Loaded modules: the "modules" list of struct module (module.list).  The
 * memory layout changed in 6.4 (commit ac3b43283923, "module: replace
 * module_layout with module_memory"): mem[MOD_TEXT..] instead of
 * core_layout/init_layout (and data_layout on architectures that keep data
 * apart).  BTF says which one this kernel has.  struct module lives in the
 * module area (vmalloc), so reads go through the kernel's page table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "views.h"

struct mod_layout {
	struct qvmi_lx_fields f;
	uint32_t list, name, name_len, state, state_size;
	/* >= 6.4: mem[i].base/size at mem_off + i * mem_esize + mem_base
	 * (mem_size); the number of regions is BTF's (MOD_MEM_NUM_TYPES: 7
	 * in 6.4-6.12), never a constant here.  Before: the layouts'. */
	bool mem;
	uint32_t nmem, mem_off, mem_esize, mem_base, mem_size;
	uint32_t core_base, core_size, core_text, init_size, data_size;
	bool has_data;
};

static uint32_t mem_at(const struct mod_layout *m, uint32_t i, uint32_t off)
{
	return m->mem_off + i * m->mem_esize + off;
}

static int layout_mem(struct qvmi_linux *lx, struct mod_layout *m)
{
	uint32_t size, base0, size0;
	int err = qvmi__lx_member(lx, "module", "mem", &m->mem_off, &size);

	if (!err)
		err = qvmi__lx_member(lx, "module", "mem[0]", &base0,
				      &m->mem_esize);
	if (!err)
		err = qvmi__lx_off(lx, "module", "mem[0].base", &base0);
	if (!err)
		err = qvmi__lx_off(lx, "module", "mem[0].size", &size0);
	if (err)
		return err;
	/* Checked before adding 2 fields a region: a damaged BTF must not
	 * make us add millions (plan refuses the far ones anyway). */
	if (!m->mem_esize || size % m->mem_esize || !(size / m->mem_esize) ||
	    size > QVMI_LX_STRUCT_MAX || base0 < m->mem_off ||
	    size0 < m->mem_off || base0 - m->mem_off >= m->mem_esize ||
	    size0 - m->mem_off + 4 > m->mem_esize)
		return qvmi__err(lx->ctx, -EBADMSG,
				 "linux: odd module.mem (%u bytes, %u each)",
				 size, m->mem_esize);
	m->nmem = size / m->mem_esize;
	m->mem_base = base0 - m->mem_off;
	m->mem_size = size0 - m->mem_off;
	for (uint32_t i = 0; i < m->nmem; i++) {
		qvmi__lx_fields_add(&m->f, mem_at(m, i, m->mem_base),
				    qvmi__lx_psize(lx));
		qvmi__lx_fields_add(&m->f, mem_at(m, i, m->mem_size), 4);
	}
	return 0;
}

static int layout_core(struct qvmi_linux *lx, struct mod_layout *m)
{
	int err = qvmi__lx_off(lx, "module", "core_layout.base", &m->core_base);

	if (!err)
		err = qvmi__lx_off(lx, "module", "core_layout.size",
				   &m->core_size);
	if (!err)
		err = qvmi__lx_off(lx, "module", "core_layout.text_size",
				   &m->core_text);
	if (!err)
		err = qvmi__lx_off(lx, "module", "init_layout.size",
				   &m->init_size);
	if (err)
		return err;
	m->has_data = qvmi__lx_has(lx, "module", "data_layout.size");
	if (m->has_data)
		err = qvmi__lx_off(lx, "module", "data_layout.size",
				   &m->data_size);
	qvmi__lx_fields_add(&m->f, m->core_base, qvmi__lx_psize(lx));
	qvmi__lx_fields_add(&m->f, m->core_size, 4);
	qvmi__lx_fields_add(&m->f, m->core_text, 4);
	qvmi__lx_fields_add(&m->f, m->init_size, 4);
	if (m->has_data)
		qvmi__lx_fields_add(&m->f, m->data_size, 4);
	return err;
}

static int mod_layout(struct qvmi_linux *lx, struct mod_layout *m)
{
	int err;

	memset(m, 0, sizeof(*m));
	err = qvmi__lx_off(lx, "module", "list", &m->list);
	if (!err)
		err = qvmi__lx_member(lx, "module", "name", &m->name,
				      &m->name_len);
	if (!err)
		err = qvmi__lx_member(lx, "module", "state", &m->state,
				      &m->state_size);
	if (err)
		return err;
	if (!m->name_len || m->state_size > 8)
		return qvmi__err(lx->ctx, -EBADMSG, "linux: odd struct module");
	qvmi__lx_fields_add(&m->f, m->list, qvmi__lx_psize(lx));
	/* One byte past what struct qvmi_linux_module holds: decode()
	 * tells a name that fills it from one that does not fit. */
	qvmi__lx_fields_add(&m->f, m->name, QVMI_MIN(m->name_len, 64u));
	qvmi__lx_fields_add(&m->f, m->state, m->state_size);
	m->mem = qvmi__lx_has(lx, "module", "mem");
	err = m->mem ? layout_mem(lx, m) : layout_core(lx, m);
	if (!err)
		err = qvmi__lx_fields_plan(lx, &m->f);
	return err;
}

int qvmi__lx_modules_fields(struct qvmi_linux *lx,
			    struct qvmi_lx_fields_info *ret)
{
	struct mod_layout m;
	int err = mod_layout(lx, &m);

	if (!err)
		qvmi__lx_fields_info(&m.f, ret);
	qvmi__lx_fields_deinit(&m.f);
	return err;
}

static int decode(struct qvmi_linux *lx, const struct mod_layout *m,
		  const uint8_t *b, uint64_t va, struct qvmi_linux_module *o)
{
	size_t n = QVMI_MIN((size_t)m->name_len, sizeof(o->name) - 1);

	memset(o, 0, sizeof(*o));
	o->addr = va;
	memcpy(o->name, b + m->name, n);
	o->name[n] = '\0';
	/* MODULE_NAME_LEN is 56 (60 on 32-bit): a kernel with longer names
	 * and a module using them gets an error, not a cut name. */
	if (strlen(o->name) == sizeof(o->name) - 1 &&
	    m->name_len >= sizeof(o->name) && b[m->name + n])
		return qvmi__err(lx->ctx, -ENAMETOOLONG,
				 "module at 0x%" PRIx64
				 ": name longer than %zu",
				 va, sizeof(o->name) - 1);
	o->state = (int)qvmi__lx_uint(b, m->state, m->state_size);
	if (m->mem) {
		/* /proc/modules (kernel/module/procfs.c, 6.4+): the sum of
		 * every region, and mem[MOD_TEXT].base. */
		o->base = qvmi__lx_ptr(lx, b, mem_at(m, 0, m->mem_base));
		o->text_size = qvmi__lx_u32(b, mem_at(m, 0, m->mem_size));
		for (uint32_t i = 0; i < m->nmem; i++)
			o->size += qvmi__lx_u32(b, mem_at(m, i, m->mem_size));
	} else {
		o->base = qvmi__lx_ptr(lx, b, m->core_base);
		o->text_size = qvmi__lx_u32(b, m->core_text);
		/* /proc/modules: init_layout.size + core_layout.size (init
		 * is 0 once the module's init has run). */
		o->size = (uint64_t)qvmi__lx_u32(b, m->core_size) +
			  qvmi__lx_u32(b, m->init_size);
		if (m->has_data)
			o->size += qvmi__lx_u32(b, m->data_size);
	}
	return 0;
}

static int add(struct qvmi_linux_module_list *l, size_t *cap,
	       const struct qvmi_linux_module *m)
{
	if (l->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 32;
		struct qvmi_linux_module *n = realloc(l->mods, nc * sizeof(*n));

		if (!n)
			return -ENOMEM;
		l->mods = n;
		*cap = nc;
	}
	l->mods[l->n++] = *m;
	return 0;
}

static int walk(struct qvmi_linux *lx, const struct mod_layout *m,
		uint64_t head, struct qvmi_linux_module_list *ret)
{
	struct qvmi_linux_module mod;
	struct qvmi_lx_seen seen;
	uint8_t *b = qvmi__lx_scratch_get(lx, &m->f);
	size_t cap = 0, budget = QVMI_LX_LIST_MAX;
	uint64_t n;
	int err = b ? qvmi__lx_kread_ptr(lx, head, &n) : -ENOMEM, r;

	qvmi__lx_seen_init(&seen);
	while (!err && n != head) {
		uint64_t va = n - m->list;

		if (!qvmi__lx_kptr(lx, n)) {
			err = qvmi__fault(lx->ctx, n,
					  "module list: bad pointer");
			break;
		}
		r = qvmi__lx_seen_add(&seen, va);
		if (r || !budget--) {
			err = r < 0 ? qvmi__err(lx->ctx, r, "out of memory") :
				      qvmi__err(
					      lx->ctx, -ELOOP,
					      "module list: cycle at 0x%" PRIx64,
					      va);
			break;
		}
		err = qvmi__lx_fields_read(lx, &m->f, va, b);
		if (err)
			break;
		err = decode(lx, m, b, va, &mod);
		if (err)
			break;
		n = qvmi__lx_ptr(lx, b, m->list);
		if (add(ret, &cap, &mod))
			err = qvmi__err(lx->ctx, -ENOMEM, "out of memory");
	}
	qvmi__lx_seen_deinit(&seen);
	if (b)
		qvmi__lx_scratch_put(lx, b);
	return err;
}

QVMI_API int qvmi_linux_modules(struct qvmi_linux *lx,
				struct qvmi_linux_module_list *ret)
{
	struct qvmi_linux_views *v = NULL;
	struct mod_layout m;
	uint64_t head;
	int err;

	if (!lx || !ret)
		return lx ? qvmi__err(lx->ctx, -EINVAL, "modules: NULL") :
			    -EINVAL;
	memset(ret, 0, sizeof(*ret));
	err = qvmi__lx_views(lx, &v);
	if (!err)
		err = qvmi_linux_sym_addr(lx, "modules", &head);
	if (!err) {
		err = mod_layout(lx, &m);
		if (!err)
			err = walk(lx, &m, head, ret);
		qvmi__lx_fields_deinit(&m.f);
	}
	if (err && ret->n)
		ret->partial = 1;
	return err;
}

QVMI_API void qvmi_linux_module_list_deinit(struct qvmi_linux_module_list *list)
{
	if (!list)
		return;
	free(list->mods);
	memset(list, 0, sizeof(*list));
}
