// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Memory maps of a process, and its argument/environment blocks.
 *
 * Kernel 6.1 moved the VMAs from a list (mm->mmap, vm_next) into a maple
 * tree (mm->mm_mt; commit d4af56c5c7c6 "mm: start tracking VMAs with maple
 * tree", and 763ecb035029 removed mm->mmap).  Both are read here, chosen by
 * BTF.  Maple tree encoding (lib/maple_tree.c, include/linux/maple_tree.h,
 * 64-bit): the root pointer has bit 1 set when it is a node; an encoded
 * node ("enode") is the 256-byte aligned node address | type << 3 | 4,
 * with types dense 0, leaf_64 1, range_64 2, arange_64 3.  A range_64 or
 * leaf_64 node has 15 pivots and 16 slots, an arange_64 9 and 10 (the
 * counts are taken from BTF).  Slot i covers (pivot[i-1], pivot[i]]; the
 * last used slot is the one whose pivot reaches the node's max, and a zero
 * pivot past slot 0 ends the node.  Leaves hold vm_area_struct pointers.
 * On 32-bit kernels pivots and slots are 4 bytes and a 256-byte range_64
 * node has 31 pivots and 32 slots (arange_64: 20 and 21).
 */
#include <stdlib.h>
#include <string.h>

#include "views.h"

enum {
	VM_READ = 1,
	VM_WRITE = 2,
	VM_EXEC = 4,
	VM_SHARED = 8,
	MT_DEPTH_MAX = 31, /* MAPLE_HEIGHT_MAX */
	/* An enode keeps flags in the node address's low 8 bits
	 * (MAPLE_NODE_MASK), so a node is 256-byte aligned; its size comes
	 * from BTF (256 since 5.18), bounded here only against damage. */
	MT_NODE_ALIGN = 256,
	MT_NODE_MAX = 4096,
	PATH_MAX_ = 4096,
	NAME_MAX_ = 256,
	DPATH_STEPS = 256,
};

enum mt_type { MT_DENSE, MT_LEAF64, MT_RANGE64, MT_ARANGE64 };

struct maps_layout {
	struct qvmi_lx_fields vf; /* vm_area_struct */
	uint32_t vm_start, vm_end, vm_flags, vm_flags_size, vm_pgoff, vm_file;
	uint32_t vm_mm, vm_ops, vm_priv, vm_next;
	uint32_t mm_root, mm_mmap, start_brk, brk, start_stack;
	bool maple;
	/* maple node: range_64 and arange_64 pivots/slots and counts */
	uint32_t r_piv, r_slot, r_np, r_ns, a_piv, a_slot, a_np, a_ns;
	uint32_t node_size;
	/* file path */
	uint32_t f_dentry, f_mnt, d_name, d_parent, mnt_root, mount_mnt;
	uint32_t mnt_parent, mnt_mountpoint, special_name;
	bool paths;
	uint64_t special_ops[2];
};

struct maps {
	struct qvmi_linux *lx;
	struct maps_layout *L;
	uint64_t mm, start_brk, brk, start_stack;
	struct qvmi_linux_vma_list *out;
	size_t cap, budget;
	struct qvmi_lx_seen seen;
	int bad; /* VMAs refused as implausible, or bad maple nodes */
	int bad_names; /* file paths that could not be read to the root */
	uint8_t *vbuf; /* L->vf.end bytes */
	uint8_t *node; /* L->node_size bytes */
};

/* ---- layout ------------------------------------------------------------- */

static int count_of(struct qvmi_linux *lx, const struct maps_layout *L,
		    const char *path, uint32_t *off, uint32_t *n)
{
	uint32_t size;
	int err = qvmi__lx_member(lx, "maple_node", path, off, &size);

	if (err)
		return err;
	*n = size / qvmi__lx_psize(lx);
	if (!*n || *off + size < *off || *off + size > L->node_size)
		return qvmi__err(lx->ctx, -EBADMSG, "linux: odd maple_node.%s",
				 path);
	return 0;
}

static int layout_maple(struct qvmi_linux *lx, struct maps_layout *L)
{
	uint64_t size = 0;
	int err = qvmi__lx_off(lx, "mm_struct", "mm_mt.ma_root", &L->mm_root);

	if (!err)
		err = qvmi_linux_type_size(lx, "maple_node", &size);
	if (!err && (size < MT_NODE_ALIGN / 2 || size > MT_NODE_MAX))
		err = qvmi__err(lx->ctx, -EBADMSG,
				"linux: odd maple_node (%" PRIu64 " bytes)",
				size);
	L->node_size = (uint32_t)size;
	if (!err)
		err = count_of(lx, L, "mr64.pivot", &L->r_piv, &L->r_np);
	if (!err)
		err = count_of(lx, L, "mr64.slot", &L->r_slot, &L->r_ns);
	if (!err)
		err = count_of(lx, L, "ma64.pivot", &L->a_piv, &L->a_np);
	if (!err)
		err = count_of(lx, L, "ma64.slot", &L->a_slot, &L->a_ns);
	if (!err && (L->r_ns != L->r_np + 1 || L->a_ns != L->a_np + 1))
		err = qvmi__err(lx->ctx, -EBADMSG,
				"linux: maple pivots/slots do not match");
	return err;
}

/* Optional: without these, file VMAs get no name. */
static void layout_paths(struct qvmi_linux *lx, struct maps_layout *L)
{
	L->paths = !qvmi__lx_off(lx, "file", "f_path.dentry", &L->f_dentry) &&
		   !qvmi__lx_off(lx, "file", "f_path.mnt", &L->f_mnt) &&
		   !qvmi__lx_off(lx, "dentry", "d_name.name", &L->d_name) &&
		   !qvmi__lx_off(lx, "dentry", "d_parent", &L->d_parent) &&
		   !qvmi__lx_off(lx, "vfsmount", "mnt_root", &L->mnt_root) &&
		   !qvmi__lx_off(lx, "mount", "mnt", &L->mount_mnt) &&
		   !qvmi__lx_off(lx, "mount", "mnt_parent", &L->mnt_parent) &&
		   !qvmi__lx_off(lx, "mount", "mnt_mountpoint",
				 &L->mnt_mountpoint);
	if (qvmi__lx_off(lx, "vm_special_mapping", "name", &L->special_name) ||
	    qvmi_linux_sym_addr(lx, "special_mapping_vmops",
				&L->special_ops[0]))
		L->special_ops[0] = 0;
	if (qvmi_linux_sym_addr(lx, "legacy_special_mapping_vmops",
				&L->special_ops[1]))
		L->special_ops[1] = 0;
	qvmi__clear_err(lx->ctx);
}

static int layout_vma(struct qvmi_linux *lx, struct maps_layout *L)
{
	static const struct {
		const char *name;
		size_t where;
	} f[] = {
		{ "vm_start", offsetof(struct maps_layout, vm_start) },
		{ "vm_end", offsetof(struct maps_layout, vm_end) },
		{ "vm_pgoff", offsetof(struct maps_layout, vm_pgoff) },
		{ "vm_file", offsetof(struct maps_layout, vm_file) },
		{ "vm_mm", offsetof(struct maps_layout, vm_mm) },
		{ "vm_ops", offsetof(struct maps_layout, vm_ops) },
		{ "vm_private_data", offsetof(struct maps_layout, vm_priv) },
	};
	int err = 0;

	for (size_t i = 0; !err && i < QVMI_ARRAY_SIZE(f); i++) {
		uint32_t *o = (uint32_t *)((char *)L + f[i].where);

		err = qvmi__lx_off(lx, "vm_area_struct", f[i].name, o);
		qvmi__lx_fields_add(&L->vf, *o, qvmi__lx_psize(lx));
	}
	/* 6.3 wrapped vm_flags in a union with __vm_flags: same offset. */
	if (!err)
		err = qvmi__lx_member(lx, "vm_area_struct", "vm_flags",
				      &L->vm_flags, &L->vm_flags_size);
	if (!err && L->vm_flags_size > 8)
		err = qvmi__err(lx->ctx, -EBADMSG, "linux: odd vm_flags");
	qvmi__lx_fields_add(&L->vf, L->vm_flags, L->vm_flags_size);
	if (!err && !L->maple) {
		err = qvmi__lx_off(lx, "vm_area_struct", "vm_next",
				   &L->vm_next);
		qvmi__lx_fields_add(&L->vf, L->vm_next, qvmi__lx_psize(lx));
	}
	if (!err)
		err = qvmi__lx_fields_plan(lx, &L->vf);
	return err;
}

static int maps_layout(struct qvmi_linux *lx, struct maps_layout *L)
{
	int err;

	memset(L, 0, sizeof(*L));
	L->maple = qvmi__lx_has(lx, "mm_struct", "mm_mt");
	err = L->maple ? layout_maple(lx, L) :
			 qvmi__lx_off(lx, "mm_struct", "mmap", &L->mm_mmap);
	if (!err)
		err = qvmi__lx_off(lx, "mm_struct", "start_brk", &L->start_brk);
	if (!err)
		err = qvmi__lx_off(lx, "mm_struct", "brk", &L->brk);
	if (!err)
		err = qvmi__lx_off(lx, "mm_struct", "start_stack",
				   &L->start_stack);
	if (!err)
		err = layout_vma(lx, L);
	if (!err)
		layout_paths(lx, L);
	return err;
}

int qvmi__lx_vmas_fields(struct qvmi_linux *lx, struct qvmi_lx_fields_info *ret)
{
	struct maps_layout L;
	int err = maps_layout(lx, &L);

	if (!err)
		qvmi__lx_fields_info(&L.vf, ret);
	qvmi__lx_fields_deinit(&L.vf);
	return err;
}

/* ---- names ----------------------------------------------------------------- */

static int kptr_at(struct qvmi_linux *lx, uint64_t va, uint64_t *ret)
{
	int err = qvmi__lx_kread_ptr(lx, va, ret);

	if (!err && !qvmi__lx_kptr(lx, *ret))
		err = qvmi__fault(lx->ctx, *ret, "bad kernel pointer");
	return err;
}

/* Prepend "/name" to the path built backwards at buf[*pos]. */
static int prepend(struct maps *m, uint64_t dentry, char *buf, size_t *pos)
{
	char name[NAME_MAX_];
	uint64_t p;
	int n;

	if (kptr_at(m->lx, dentry + m->L->d_name, &p))
		return -EFAULT;
	n = qvmi__lx_kstr(m->lx, p, name, sizeof(name));
	if (n < 0 && n != -E2BIG)
		return n;
	n = (int)strlen(name);
	if ((size_t)n + 1 > *pos)
		return -ENAMETOOLONG;
	*pos -= (size_t)n;
	memcpy(buf + *pos, name, (size_t)n);
	buf[--*pos] = '/';
	return 0;
}

/* d_path(): dentries up to their mount's root, then across mount points
 * to the root of the mount tree; bounded. */
static char *file_path(struct maps *m, uint64_t file)
{
	const struct maps_layout *L = m->L;
	char *buf = malloc(PATH_MAX_);
	size_t pos = PATH_MAX_ - 1;
	uint64_t dentry = 0, vfsmnt = 0, mnt, root, parent;
	int steps = DPATH_STEPS, err;

	if (!buf)
		return NULL;
	buf[pos] = '\0';
	err = kptr_at(m->lx, file + L->f_dentry, &dentry);
	if (!err)
		err = kptr_at(m->lx, file + L->f_mnt, &vfsmnt);
	mnt = vfsmnt - L->mount_mnt;
	while (!err && steps--) {
		err = kptr_at(m->lx, vfsmnt + L->mnt_root, &root);
		if (!err)
			err = kptr_at(m->lx, dentry + L->d_parent, &parent);
		if (err)
			break;
		if (dentry == root || dentry == parent) {
			uint64_t up;

			err = kptr_at(m->lx, mnt + L->mnt_parent, &up);
			if (err || up == mnt)
				break; /* the root of the mount tree */
			err = kptr_at(m->lx, mnt + L->mnt_mountpoint, &dentry);
			mnt = up;
			vfsmnt = up + L->mount_mnt;
			continue;
		}
		err = prepend(m, dentry, buf, &pos);
		dentry = parent;
	}
	/* A chain we could not follow to the root of the mount tree gives
	 * a path without its start: kept, but the call says so. */
	if (err || steps < 0)
		m->bad_names++;
	if (pos == PATH_MAX_ - 1 && !err)
		buf[--pos] = '/';
	memmove(buf, buf + pos, PATH_MAX_ - pos);
	qvmi__clear_err(m->lx->ctx);
	return buf;
}

static char *special_name(struct maps *m, uint64_t ops, uint64_t priv)
{
	const struct maps_layout *L = m->L;
	char name[64];
	uint64_t p;

	if (!ops || (ops != L->special_ops[0] && ops != L->special_ops[1]))
		return NULL;
	if (kptr_at(m->lx, priv + L->special_name, &p) ||
	    qvmi__lx_kstr(m->lx, p, name, sizeof(name)) < 0) {
		/* A special mapping ("[vdso]") whose name we cannot read:
		 * the VMA is kept, the call says a name is missing. */
		m->bad_names++;
		qvmi__clear_err(m->lx->ctx);
		return NULL;
	}
	return qvmi__strdup(name);
}

static char *vma_name(struct maps *m, const struct qvmi_linux_vma *v,
		      uint64_t file, uint64_t ops, uint64_t priv)
{
	char *s;

	if (file && qvmi__lx_kptr(m->lx, file) && m->L->paths)
		return file_path(m, file);
	s = special_name(m, ops, priv);
	if (s)
		return s;
	if (v->start <= m->brk && v->end >= m->start_brk)
		return qvmi__strdup("[heap]");
	if (v->start <= m->start_stack && v->end >= m->start_stack)
		return qvmi__strdup("[stack]");
	return qvmi__strdup("");
}

/* ---- VMAs --------------------------------------------------------------- */

static int add_vma(struct maps *m, const struct qvmi_linux_vma *v)
{
	struct qvmi_linux_vma_list *l = m->out;

	if (l->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct qvmi_linux_vma *n = realloc(l->vmas, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		l->vmas = n;
		m->cap = cap;
	}
	l->vmas[l->n++] = *v;
	return 0;
}

/* Read, check and record the VMA at va, which must lie in [lo, hi]. */
static int vma(struct maps *m, uint64_t va, uint64_t lo, uint64_t hi,
	       uint64_t *next)
{
	const struct maps_layout *L = m->L;
	struct qvmi_linux_vma v = { 0 };
	uint8_t *b = m->vbuf;
	uint64_t fl;
	int err;

	if (!qvmi__lx_kptr(m->lx, va))
		return qvmi__fault(m->lx->ctx, va, "VMA: bad pointer");
	err = qvmi__lx_fields_read(m->lx, &L->vf, va, b);
	if (err)
		return err;
	v.addr = va;
	v.start = qvmi__lx_ptr(m->lx, b, L->vm_start);
	v.end = qvmi__lx_ptr(m->lx, b, L->vm_end);
	v.pgoff = qvmi__lx_ptr(m->lx, b, L->vm_pgoff);
	v.flags = fl = qvmi__lx_uint(b, L->vm_flags, L->vm_flags_size);
	v.file = qvmi__lx_ptr(m->lx, b, L->vm_file);
	if (next)
		*next = qvmi__lx_ptr(m->lx, b, L->vm_next);
	if (qvmi__lx_ptr(m->lx, b, L->vm_mm) != m->mm || v.start >= v.end ||
	    v.start < lo || v.end - 1 > hi) {
		m->bad++;
		return 0;
	}
	v.perms[0] = fl & VM_READ ? 'r' : '-';
	v.perms[1] = fl & VM_WRITE ? 'w' : '-';
	v.perms[2] = fl & VM_EXEC ? 'x' : '-';
	v.perms[3] = fl & VM_SHARED ? 's' : 'p';
	v.name = vma_name(m, &v, v.file, qvmi__lx_ptr(m->lx, b, L->vm_ops),
			  qvmi__lx_ptr(m->lx, b, L->vm_priv));
	if (!v.name || add_vma(m, &v)) {
		free(v.name);
		return qvmi__err(m->lx->ctx, -ENOMEM, "out of memory");
	}
	return 0;
}

static int budget(struct maps *m, uint64_t va)
{
	int r = qvmi__lx_seen_add(&m->seen, va);

	if (r < 0)
		return qvmi__err(m->lx->ctx, r, "out of memory");
	if (r || !m->budget--)
		return qvmi__err(m->lx->ctx, -ELOOP,
				 "VMAs: cycle or too many at 0x%" PRIx64, va);
	return 0;
}

/* The node's pivots and slots: where they are and how many, by type. */
static void mt_arrays(const struct maps_layout *L, unsigned int type,
		      uint32_t *po, uint32_t *so, uint32_t *np, uint32_t *ns)
{
	bool a = type == MT_ARANGE64;

	*po = a ? L->a_piv : L->r_piv;
	*so = a ? L->a_slot : L->r_slot;
	*np = a ? L->a_np : L->r_np;
	*ns = a ? L->a_ns : L->r_ns;
}

static int mt_node(struct maps *m, uint64_t enode, uint64_t min, uint64_t max,
		   int depth)
{
	const struct maps_layout *L = m->L;
	uint64_t node = enode & ~(uint64_t)(MT_NODE_ALIGN - 1), lo = min;
	unsigned int type = (enode >> 3) & 0xf;
	uint32_t ps = qvmi__lx_psize(m->lx), po, so, np, ns;
	uint8_t *b;
	int err;

	if (depth > MT_DEPTH_MAX)
		return qvmi__err(m->lx->ctx, -ELOOP, "maple tree too deep");
	b = m->node + (size_t)depth * L->node_size;
	if (type != MT_LEAF64 && type != MT_RANGE64 && type != MT_ARANGE64)
		return qvmi__err(m->lx->ctx, -EBADMSG,
				 "maple node type %u at 0x%" PRIx64, type,
				 node);
	err = budget(m, node);
	if (!err)
		err = qvmi__lx_kread(m->lx, node, b, L->node_size);
	if (err)
		return err;
	/* Pivots and slots are unsigned long and pointers: 4 bytes on
	 * i386, where a range_64 node has 31 pivots and 32 slots.  b is
	 * this depth's own buffer: children are read into the next. */
	mt_arrays(L, type, &po, &so, &np, &ns);
	for (unsigned int i = 0; i < ns && !err; i++) {
		uint64_t hi = i < np ? qvmi__lx_ptr(m->lx, b, po + i * ps) :
				       max;
		uint64_t slot = qvmi__lx_ptr(m->lx, b, so + i * ps);

		if (i < np && i && !hi)
			break; /* a zero pivot past slot 0: the node's end */
		if (hi < lo || hi > max) {
			/* Out of order: a damaged node, or one the guest
			 * was rewriting.  The rest of it is unknown. */
			m->bad++;
			break;
		}
		if (slot && type == MT_LEAF64)
			err = vma(m, slot, lo, hi, NULL);
		else if (slot)
			err = mt_node(m, slot, lo, hi, depth + 1);
		if (hi >= max)
			break;
		lo = hi + 1;
	}
	return err;
}

static int walk_maple(struct maps *m)
{
	uint64_t root,
		max = qvmi__lx_psize(m->lx) == 4 ? UINT32_MAX : UINT64_MAX;
	int err = qvmi__lx_kread_ptr(m->lx, m->mm + m->L->mm_root, &root);

	if (err || !root)
		return err;
	if ((root & 3) != 2) /* one entry, stored in the root itself */
		return vma(m, root, 0, max, NULL);
	return mt_node(m, root, 0, max, 0);
}

static int walk_list(struct maps *m)
{
	uint64_t va, lo = 0;
	int err = qvmi__lx_kread_ptr(m->lx, m->mm + m->L->mm_mmap, &va);
	size_t before;

	while (!err && va) {
		err = budget(m, va);
		before = m->out->n;
		if (!err)
			err = vma(m, va, lo, UINT64_MAX, &va);
		/* The list is sorted: a step back is a loop. */
		if (!err && m->out->n > before)
			lo = m->out->vmas[m->out->n - 1].end;
	}
	return err;
}

static int task_mm(struct qvmi_linux *lx, int32_t pid,
		   struct qvmi_linux_task *t)
{
	int err = qvmi_linux_task_find(lx, pid, 0, t);

	if (err == -ENOENT)
		err = qvmi_linux_task_find(lx, pid, QVMI_LINUX_THREADS, t);
	if (!err && !t->mm)
		err = qvmi__err(lx->ctx, -ESRCH, "pid %d has no mm", pid);
	return err;
}

static int mm_vars(struct maps *m)
{
	int err = qvmi__lx_kread_ptr(m->lx, m->mm + m->L->start_brk,
				     &m->start_brk);

	if (!err)
		err = qvmi__lx_kread_ptr(m->lx, m->mm + m->L->brk, &m->brk);
	if (!err)
		err = qvmi__lx_kread_ptr(m->lx, m->mm + m->L->start_stack,
					 &m->start_stack);
	return err;
}

/* Bad VMAs, maple nodes or paths make the list partial: say so. */
static int maps_verdict(struct maps *m)
{
	if (m->bad)
		return qvmi__err(m->lx->ctx, -EBADMSG,
				 "%d implausible VMA(s) or maple node(s) "
				 "skipped",
				 m->bad);
	if (m->bad_names)
		return qvmi__err(m->lx->ctx, -EBADMSG,
				 "%d file path(s) or mapping name(s) not "
				 "readable",
				 m->bad_names);
	return 0;
}

static int maps_walk(struct maps *m)
{
	const struct maps_layout *L = m->L;
	int err;

	m->vbuf = qvmi__lx_scratch_get(m->lx, &L->vf);
	if (!m->vbuf)
		return -ENOMEM;
	if (L->maple) {
		m->node = calloc(MT_DEPTH_MAX + 1, L->node_size);
		if (!m->node)
			return qvmi__err(m->lx->ctx, -ENOMEM, "out of memory");
	}
	err = mm_vars(m);
	if (!err)
		err = L->maple ? walk_maple(m) : walk_list(m);
	return err ? err : maps_verdict(m);
}

QVMI_API int qvmi_linux_vmas(struct qvmi_linux *lx, int32_t pid,
			     struct qvmi_linux_vma_list *ret)
{
	struct qvmi_linux_task t;
	struct maps_layout L;
	struct maps *m = NULL;
	int err;

	if (!lx || !ret)
		return lx ? qvmi__err(lx->ctx, -EINVAL, "vmas: NULL") : -EINVAL;
	memset(ret, 0, sizeof(*ret));
	err = maps_layout(lx, &L);
	if (!err)
		err = task_mm(lx, pid, &t);
	if (!err) {
		m = calloc(1, sizeof(*m));
		if (!m)
			err = qvmi__err(lx->ctx, -ENOMEM, "out of memory");
	}
	if (!err) {
		m->lx = lx;
		m->L = &L;
		m->mm = ret->mm = t.mm;
		ret->dtb = t.dtb;
		m->out = ret;
		m->budget = QVMI_LX_LIST_MAX;
		qvmi__lx_seen_init(&m->seen);
		err = maps_walk(m);
		qvmi__lx_seen_deinit(&m->seen);
		if (m->vbuf)
			qvmi__lx_scratch_put(lx, m->vbuf);
		free(m->node);
	}
	if (err && ret->n)
		ret->partial = 1;
	free(m);
	qvmi__lx_fields_deinit(&L.vf);
	return err;
}

QVMI_API void qvmi_linux_vma_list_deinit(struct qvmi_linux_vma_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->n; i++)
		free(list->vmas[i].name);
	free(list->vmas);
	memset(list, 0, sizeof(*list));
}

/* ---- arguments and environment -------------------------------------------- */

QVMI_API void qvmi_linux_args_deinit(struct qvmi_linux_args_block *block)
{
	if (!block)
		return;
	free(block->data);
	memset(block, 0, sizeof(*block));
}

QVMI_API int qvmi_linux_proc_args(struct qvmi_linux *lx, int32_t pid,
				  enum qvmi_linux_args which,
				  struct qvmi_linux_args_block *ret)
{
	const char *names[2][2] = { { "arg_start", "arg_end" },
				    { "env_start", "env_end" } };
	struct qvmi_linux_task t;
	uint32_t o_start, o_end;
	uint64_t start, end, n;
	char *buf;
	int err;

	if (!lx || !ret ||
	    (which != QVMI_LINUX_CMDLINE && which != QVMI_LINUX_ENVIRON))
		return lx ? qvmi__err(lx->ctx, -EINVAL, "proc_args: bad args") :
			    -EINVAL;
	memset(ret, 0, sizeof(*ret));
	err = qvmi__lx_off(lx, "mm_struct", names[which][0], &o_start);
	if (!err)
		err = qvmi__lx_off(lx, "mm_struct", names[which][1], &o_end);
	if (!err)
		err = task_mm(lx, pid, &t);
	if (!err)
		err = qvmi__lx_kread_ptr(lx, t.mm + o_start, &start);
	if (!err)
		err = qvmi__lx_kread_ptr(lx, t.mm + o_end, &end);
	if (!err)
		err = qvmi__lx_paging(lx);
	if (err)
		return err;
	if (end < start || !t.dtb)
		return qvmi__err(lx->ctx, -EBADMSG, "pid %d: bad %s range", pid,
				 names[which][0]);
	n = QVMI_MIN(end - start, (uint64_t)QVMI_LINUX_ARGS_MAX);
	buf = malloc(n + 1);
	if (!buf)
		return qvmi__err(lx->ctx, -ENOMEM, "out of memory");
	err = qvmi_read_va(lx->ctx, t.dtb, start, buf, n);
	if (err == -EFAULT && qvmi_fault_addr(lx->ctx) > start &&
	    qvmi_fault_addr(lx->ctx) - start < n) {
		uint64_t at = qvmi_fault_addr(lx->ctx);

		/* Only the start was there (the kernel's own
		 * /proc/PID/cmdline would page the rest in): not an
		 * answer, which would look whole. */
		err = qvmi__err(lx->ctx, -EFAULT,
				"pid %d: %s cut at 0x%" PRIx64
				" (page not present): %" PRIu64 " of %" PRIu64
				" bytes readable",
				pid, names[which][0], at, at - start,
				end - start);
		lx->ctx->fault_addr = at;
	} else if (!err && end - start > n) {
		err = qvmi__err(lx->ctx, -E2BIG,
				"pid %d: %s is %" PRIu64 " bytes, more than "
				"the %" PRIu64 " read",
				pid, names[which][0], end - start, n);
	}
	if (err) {
		free(buf);
		return err;
	}
	buf[n] = '\0';
	ret->data = buf;
	ret->len = n;
	return 0;
}
