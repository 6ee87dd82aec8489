// SPDX-License-Identifier: LGPL-2.1-or-later
/* A synthetic Linux kernel in testmem: see fake-kernel.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "fake-kernel.h"
#include "os/linux/linux.h"

/*
 * A struct or union from a table of members:
 *	COMP(btf, is_union, "name", size, { "member", type_id, offset },
 *	     { "flags", u32, 8, 3, 2 }, ...)
 * gives the new type's id, or a negative value if libbpf refused.
 */
struct btf_comp_member {
	const char *name;
	int type;
	uint32_t off; /* bytes */
	uint32_t bits; /* bitfield size, 0 if none */
	uint32_t bit; /* bit offset within the byte at off */
};

static inline int btf_comp(struct btf *b, int is_union, const char *name,
			   uint32_t size, const struct btf_comp_member *f,
			   size_t n)
{
	int id = is_union ? btf__add_union(b, name, size) :
			    btf__add_struct(b, name, size);

	for (size_t i = 0; id > 0 && i < n; i++)
		if (btf__add_field(b, f[i].name, f[i].type,
				   f[i].off * 8 + f[i].bit, f[i].bits))
			return -1;
	return id;
}

#define COMP(b, u, name, size, ...)                                         \
	({                                                                  \
		const struct btf_comp_member _f[] = { __VA_ARGS__ };        \
		btf_comp(b, u, name, size, _f, sizeof(_f) / sizeof(_f[0])); \
	})

struct fkt {
	int u8, u16, u32, i32, u64, ul, chr, ptr, list;
};

static const struct fk_lay lay64 = {
	.ptr = 8,
	.pob = FK_POB,
	.text_va = FK_TEXT_VA,
	.task = { FK_TASK_SIZE, FK_TASK_STATE, FK_TASK_FLAGS, FK_TASK_TASKS,
		  FK_TASK_EXIT_STATE, FK_TASK_MM, FK_TASK_PID, FK_TASK_TGID,
		  FK_TASK_REAL_PARENT, FK_TASK_CRED, FK_TASK_COMM,
		  FK_TASK_START, FK_TASK_SIGNAL, FK_TASK_THREAD },
	.cred_size = FK_CRED_SIZE,
	.cred_uid = FK_CRED_UID,
	.sig_size = FK_SIGNAL_SIZE,
	.sig_head = FK_SIGNAL_THREAD_HEAD,
	.mm = { FK_MM_SIZE, FK_MM_PGD, FK_MM_ROOT, FK_MM_START_BRK, FK_MM_BRK,
		FK_MM_START_STACK, FK_MM_ARG_START, FK_MM_ARG_END,
		FK_MM_ENV_START, FK_MM_ENV_END },
	.mr_pivot = FK_MR_PIVOT,
	.mr_slot = FK_MR_SLOT,
	.mr_n = 16,
	.ma_pivot = FK_MA_PIVOT,
	.ma_slot = FK_MA_SLOT,
	.ma_n = 10,
	.vma = { FK_VMA_SIZE, FK_VMA_START, FK_VMA_END, FK_VMA_NEXT, FK_VMA_MM,
		 FK_VMA_FLAGS, FK_VMA_PGOFF, FK_VMA_FILE, FK_VMA_OPS,
		 FK_VMA_PRIV },
	.path = { FK_FILE_SIZE, FK_FILE_MNT, FK_FILE_DENTRY, FK_DENTRY_SIZE,
		  FK_DENTRY_PARENT, FK_DENTRY_NAME, FK_MOUNT_SIZE,
		  FK_MOUNT_PARENT, FK_MOUNT_MOUNTPOINT, FK_MOUNT_MNT },
	.mod = { FK_MOD_SIZE, FK_MOD_STATE, FK_MOD_LIST, FK_MOD_NAME,
		 FK_MOD_MEM, FK_MOD_CORE, FK_MOD_INIT },
	.prb = { FK_PRB_SIZE, FK_PRB_DESC_SIZE, FK_PRB_INFO_SIZE, FK_PRB_DESCS,
		 FK_PRB_INFOS, FK_PRB_HEAD_ID, FK_PRB_TAIL_ID, FK_PRB_SIZE_BITS,
		 FK_PRB_DATA },
};

/* i386: packed tighter than x86_64, 4-byte pointers (the task-walk32
 * corpus was made for these offsets) */
static const struct fk_lay lay32 = {
	.ptr = 4,
	.pob = FK32_POB,
	.text_va = FK32_TEXT_VA,
	.task = { 128, 4, 8, 16, 24, 28, 32, 36, 40, 44, 48, 64, 72, 76 },
	.cred_size = 16,
	.cred_uid = 4,
	.sig_size = 32,
	.sig_head = 8,
	.mm = { 64, 4, 12, 20, 24, 28, 32, 36, 40, 44 },
	.mr_pivot = 4,
	.mr_slot = 128,
	.mr_n = 32,
	.ma_pivot = 4,
	.ma_slot = 84,
	.ma_n = 21,
	.vma = { 64, 0, 4, 32, 8, 12, 16, 20, 24, 28 },
	.path = { 32, 8, 12, 32, 12, 24, 64, 8, 12, 16 },
	.mod = { 128, 0, 4, 12, 0, 68, 84 },
	.prb = { 48, 12, 24, 4, 8, 12, 16, 20, 24 },
};

const struct fk_lay *fk_layout(enum fk_variant v)
{
	return v == FK_I386 || v == FK_I386_OLD ? &lay32 : &lay64;
}

static int arr(struct btf *b, int elem, int index, uint32_t n)
{
	return btf__add_array(b, index, elem, n);
}

static int add_tasks(struct btf *b, const struct fkt *t, enum fk_variant v)
{
	const struct fk_lay *L = fk_layout(v);
	int kuid = COMP(b, 0, "kuid", 4, { "val", t->u32, 0 });
	int comm = arr(b, t->chr, t->u32, 16);
	int old = fk_is_old(v);

	if (COMP(b, 0, "cred", L->cred_size, { "uid", kuid, L->cred_uid }) < 0)
		return -1;
	if (COMP(b, 0, "signal_struct", L->sig_size,
		 { old ? "nr_threads" : "thread_head", old ? t->i32 : t->list,
		   L->sig_head }) < 0)
		return -1;
	return COMP(b, 0, "task_struct", L->task.size,
		    { old ? "state" : "__state", old ? t->ul : t->u32,
		      L->task.state },
		    { "flags", t->u32, L->task.flags },
		    { "tasks", t->list, L->task.tasks },
		    { "exit_state", t->i32, L->task.exit },
		    { "mm", t->ptr, L->task.mm },
		    { "pid", t->i32, L->task.pid },
		    { "tgid", t->i32, L->task.tgid },
		    { "real_parent", t->ptr, L->task.parent },
		    { "cred", t->ptr, L->task.cred },
		    { "comm", comm, L->task.comm },
		    { old ? "start_time" : "start_boottime", t->u64,
		      L->task.start },
		    { "signal", t->ptr, L->task.signal },
		    { old ? "thread_group" : "thread_node", t->list,
		      L->task.thread });
}

static int add_mm(struct btf *b, const struct fkt *t, enum fk_variant v)
{
	const struct fk_lay *L = fk_layout(v);
	uint32_t P = L->ptr;
	/* 6.1: ma_lock, ma_root, ma_flags */
	int mt = COMP(b, 0, "maple_tree", 3 * P, { "ma_lock", t->u32, 0 },
		      { "ma_root", t->ptr, P }, { "ma_flags", t->u32, 2 * P });
	int r = COMP(
		b, 0, "maple_range_64", FK_MN_SIZE, { "parent", t->ptr, 0 },
		{ "pivot", arr(b, t->ul, t->u32, L->mr_n - 1), L->mr_pivot },
		{ "slot", arr(b, t->ptr, t->u32, L->mr_n), L->mr_slot });
	int a = COMP(
		b, 0, "maple_arange_64", FK_MN_SIZE, { "parent", t->ptr, 0 },
		{ "pivot", arr(b, t->ul, t->u32, L->ma_n - 1), L->ma_pivot },
		{ "slot", arr(b, t->ptr, t->u32, L->ma_n), L->ma_slot },
		{ "gap", arr(b, t->ul, t->u32, L->ma_n),
		  L->ma_slot + L->ma_n * P });

	if (COMP(b, 1, "maple_node", FK_MN_SIZE, { "mr64", r, 0 },
		 { "ma64", a, 0 }) < 0)
		return -1;
	return COMP(
		b, 0, "mm_struct", L->mm.size, { "pgd", t->ptr, L->mm.pgd },
		fk_is_old(v) ?
			(struct btf_comp_member){ "mmap", t->ptr, L->mm.root } :
			(struct btf_comp_member){ "mm_mt", mt, L->mm.root - P },
		{ "start_brk", t->ul, L->mm.start_brk },
		{ "brk", t->ul, L->mm.brk },
		{ "start_stack", t->ul, L->mm.start_stack },
		{ "arg_start", t->ul, L->mm.arg_start },
		{ "arg_end", t->ul, L->mm.arg_end },
		{ "env_start", t->ul, L->mm.env_start },
		{ "env_end", t->ul, L->mm.env_end });
}

static int add_vma(struct btf *b, const struct fkt *t, enum fk_variant v)
{
	const struct fk_lay *L = fk_layout(v);
	uint32_t P = L->ptr;
	int path = COMP(b, 0, "path", 2 * P, { "mnt", t->ptr, 0 },
			{ "dentry", t->ptr, P });
	int qstr = COMP(b, 0, "qstr", 8 + P, { "hash_len", t->u64, 0 },
			{ "name", t->ptr, 8 });
	int vfsmnt = COMP(b, 0, "vfsmount", 2 * P, { "mnt_root", t->ptr, 0 });

	if (COMP(b, 0, "file", L->path.file_size,
		 { "f_path", path, L->path.file_mnt }) < 0 ||
	    COMP(b, 0, "dentry", L->path.dentry_size,
		 { "d_parent", t->ptr, L->path.dentry_parent },
		 { "d_name", qstr, L->path.dentry_name - 8 }) < 0 ||
	    COMP(b, 0, "mount", L->path.mount_size,
		 { "mnt_parent", t->ptr, L->path.mount_parent },
		 { "mnt_mountpoint", t->ptr, L->path.mount_mountpoint },
		 { "mnt", vfsmnt, L->path.mount_mnt }) < 0 ||
	    COMP(b, 0, "vm_special_mapping", 2 * P, { "name", t->ptr, 0 }) < 0)
		return -1;
	return COMP(b, 0, "vm_area_struct", L->vma.size,
		    { "vm_start", t->ul, L->vma.start },
		    { "vm_end", t->ul, L->vma.end },
		    { fk_is_old(v) ? "vm_next" : "vm_rb_pad", t->ptr,
		      L->vma.next },
		    { "vm_mm", t->ptr, L->vma.mm },
		    { "vm_flags", t->ul, L->vma.flags },
		    { "vm_pgoff", t->ul, L->vma.pgoff },
		    { "vm_file", t->ptr, L->vma.file },
		    { "vm_ops", t->ptr, L->vma.ops },
		    { "vm_private_data", t->ptr, L->vma.priv });
}

static int add_module(struct btf *b, const struct fkt *t, enum fk_variant v)
{
	const struct fk_lay *L = fk_layout(v);
	uint32_t P = L->ptr;
	int name = arr(b, t->chr, t->u32, 56), lay;

	if (v == FK_NEW) {
		/* struct mod_tree_node: mod, latch_tree_node (2 rb_nodes) */
		int mtn = COMP(b, 0, "mod_tree_node", 56, { "mod", t->ptr, 0 },
			       { "node", arr(b, t->u64, t->u32, 6), 8 });

		lay = COMP(b, 0, "module_memory", FK_MOD_MEM_SIZE,
			   { "base", t->ptr, 0 }, { "size", t->u32, 8 },
			   { "mtn", mtn, 16 });
		return COMP(b, 0, "module", L->mod.size,
			    { "state", t->i32, L->mod.state },
			    { "list", t->list, L->mod.list },
			    { "name", name, L->mod.name },
			    { "mem", arr(b, lay, t->u32, FK_MOD_MEM_N),
			      L->mod.mem });
	}
	lay = COMP(b, 0, "module_layout", 4 * P, { "base", t->ptr, 0 },
		   { "size", t->u32, P }, { "text_size", t->u32, P + 4 });
	return COMP(b, 0, "module", L->mod.size,
		    { "state", t->i32, L->mod.state },
		    { "list", t->list, L->mod.list },
		    { "name", name, L->mod.name },
		    { "core_layout", lay, L->mod.core },
		    { "init_layout", lay, L->mod.init });
}

static int add_prb(struct btf *b, const struct fkt *t, const struct fk_lay *L)
{
	uint32_t P = L->ptr;
	int lpos, desc_ring, data_ring;

	lpos = COMP(b, 0, "prb_data_blk_lpos", 2 * P, { "begin", t->ul, 0 },
		    { "next", t->ul, P });
	if (COMP(b, 0, "prb_desc", L->prb.desc_size, { "state_var", t->ul, 0 },
		 { "text_blk_lpos", lpos, P }) < 0 ||
	    COMP(b, 0, "printk_info", L->prb.info_size, { "seq", t->u64, 0 },
		 { "ts_nsec", t->u64, 8 }, { "text_len", t->u16, 16 },
		 { "facility", t->u8, 18 }, { "flags", t->u8, 19, 5, 0 },
		 { "level", t->u8, 19, 3, 5 }, { "caller_id", t->u32, 20 }) < 0)
		return -1;
	desc_ring = COMP(b, 0, "prb_desc_ring", L->prb.size_bits,
			 { "count_bits", t->u32, 0 },
			 { "descs", t->ptr, L->prb.descs },
			 { "infos", t->ptr, L->prb.infos },
			 { "head_id", t->ul, L->prb.head_id },
			 { "tail_id", t->ul, L->prb.tail_id });
	data_ring = COMP(b, 0, "prb_data_ring", 4 * P,
			 { "size_bits", t->u32, 0 }, { "data", t->ptr, P },
			 { "head_lpos", t->ul, 2 * P },
			 { "tail_lpos", t->ul, 3 * P });
	return COMP(b, 0, "printk_ringbuffer", L->prb.size,
		    { "desc_ring", desc_ring, 0 },
		    { "text_data_ring", data_ring, L->prb.size_bits },
		    { "fail", t->ul, L->prb.size - 2 * P });
}

static int add_printk(struct btf *b, const struct fkt *t, enum fk_variant v)
{
	if (fk_is_old(v))
		return COMP(b, 0, "printk_log", FK_PLOG_SIZE,
			    { "ts_nsec", t->u64, 0 }, { "len", t->u16, 8 },
			    { "text_len", t->u16, 10 },
			    { "dict_len", t->u16, 12 },
			    { "facility", t->u8, 14 },
			    { "flags", t->u8, 15, 5, 0 },
			    { "level", t->u8, 15, 3, 5 });
	return add_prb(b, t, fk_layout(v));
}

void *fk_btf(enum fk_variant v, uint32_t *size)
{
	struct btf *b = btf__new_empty();
	uint32_t P = fk_layout(v)->ptr;
	struct fkt t;
	const void *raw;
	void *copy = NULL;

	if (!b)
		return NULL;
	btf__set_pointer_size(b, P);
	t.u8 = btf__add_int(b, "unsigned char", 1, 0);
	t.u16 = btf__add_int(b, "short unsigned int", 2, 0);
	t.u32 = btf__add_int(b, "unsigned int", 4, 0);
	t.i32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	t.ul = btf__add_int(b, "long unsigned int", P, 0);
	t.u64 = P == 8 ? t.ul : btf__add_int(b, "long long unsigned int", 8, 0);
	t.chr = btf__add_int(b, "char", 1, BTF_INT_CHAR);
	t.ptr = btf__add_ptr(b, 0);
	t.list = COMP(b, 0, "list_head", 2 * P, { "next", t.ptr, 0 },
		      { "prev", t.ptr, P });
	if (add_tasks(b, &t, v) > 0 && add_mm(b, &t, v) > 0 &&
	    add_vma(b, &t, v) > 0 && add_module(b, &t, v) > 0 &&
	    add_printk(b, &t, v) > 0) {
		raw = btf__raw_data(b, size);
		copy = raw ? malloc(*size) : NULL;
		if (copy)
			memcpy(copy, raw, *size);
	}
	btf__free(b);
	return copy;
}

/* ---- memory and handle ------------------------------------------------------ */

static const struct {
	const char *name;
	uint64_t off;
} syms[] = {
	{ "_text", 0 },
	{ "init_task", FK_SYM_INIT_TASK },
	{ "modules", FK_SYM_MODULES },
	{ "prb", FK_SYM_PRB },
	{ "log_buf", FK_SYM_LOG_BUF },
	{ "log_buf_len", FK_SYM_LOG_BUF_LEN },
	{ "log_first_idx", FK_SYM_LOG_FIRST_IDX },
	{ "log_next_idx", FK_SYM_LOG_NEXT_IDX },
	{ "special_mapping_vmops", FK_SYM_SPECIAL_OPS },
	{ "vmcoreinfo_note", FK_SYM_VMCOREINFO_NOTE },
	{ "high_memory", FK_SYM_HIGH_MEMORY },
	{ "_end", 0x100000 },
};

uint64_t fk_sym(uint64_t off)
{
	return FK_TEXT_VA + off;
}

uint64_t fk_ksym(const struct fk *k, uint64_t off)
{
	return k->L->text_va + off;
}

static void fk_place(struct qvmi_linux *lx, const struct fk_lay *L)
{
	lx->text_va = L->text_va;
	lx->text_pa = FK_TEXT_PA;
	lx->end_va = L->text_va + 0x100000;
	lx->page_offset_base = L->pob;
	if (L->ptr == 4) { /* as kallsyms found with 4-byte addresses */
		lx->lay.ptr_size = 4;
		/* 896 MiB of lowmem: the direct map reaches past memory */
		lx->vmalloc_base = L->pob + 0x38000000;
	} else {
		lx->vmalloc_base = 0xffffc90000000000ull;
		lx->vmemmap_base = 0xffffea0000000000ull;
	}
}

int fk_create_over(struct fk *k, enum fk_variant v, uint8_t *mem, size_t size,
		   const void *btf, uint32_t btf_size)
{
	struct qvmi_source *src;
	struct qvmi_linux *lx;
	int err;

	memset(k, 0, sizeof(*k));
	k->variant = v;
	k->L = fk_layout(v);
	k->mem = mem;
	k->size = size;
	k->next_pa = FK_HEAP_PA;
	err = qvmi_ctx_create(&k->ctx);
	if (!err)
		err = qvmi_source_testmem_create(k->ctx, mem, size, 1, &src);
	if (!err)
		err = qvmi_map_add(k->ctx, src, 0, size, 0);
	lx = err ? NULL : calloc(1, sizeof(*lx));
	if (!lx)
		return err ? err : -ENOMEM;
	k->lx = lx;
	lx->ctx = k->ctx;
	fk_place(lx, k->L);
	lx->sym_source = lx->btf_source = lx->layout_source = "test";
	for (size_t i = 0; !err && i < sizeof(syms) / sizeof(syms[0]); i++)
		err = qvmi__ksyms_add(&lx->syms, fk_ksym(k, syms[i].off), 'D',
				      syms[i].name, strlen(syms[i].name));
	if (!err)
		err = qvmi__ksyms_finish(&lx->syms);
	if (!err && btf)
		err = qvmi__btf_load(k->ctx, btf, btf_size, &lx->btf);
	lx->btf_size = btf_size;
	return err;
}

int fk_create(struct fk *k, enum fk_variant v, size_t size)
{
	uint32_t bsz = 0;
	void *btf = fk_btf(v, &bsz);
	uint8_t *mem = calloc(1, size);
	int err;

	if (!btf || !mem || size < (4 << 20)) {
		free(btf);
		free(mem);
		return -ENOMEM;
	}
	err = fk_create_over(k, v, mem, size, btf, bsz);
	free(btf);
	k->mem = mem;
	if (!err) { /* init_task: an empty list, its own parent */
		uint64_t it = fk_ksym(k, FK_SYM_INIT_TASK);

		fk_list_init(k, it + k->L->task.tasks);
		fk_list_init(k, it + k->L->task.thread);
		fk_wp(k, it + k->L->task.parent, it);
		fk_wstr(k, it + k->L->task.comm, "swapper/0");
		fk_list_init(k, fk_ksym(k, FK_SYM_MODULES));
	}
	return err;
}

void fk_destroy(struct fk *k)
{
	qvmi_linux_destroy(k->lx);
	qvmi_ctx_destroy(k->ctx);
	k->lx = NULL;
	k->ctx = NULL;
}

uint64_t fk_alloc(struct fk *k, size_t size)
{
	uint64_t pa = k->next_pa;

	size = (size + 63) & ~(size_t)63;
	if (pa + size > k->size)
		return 0;
	k->next_pa += size;
	memset(k->mem + pa, 0, size);
	return k->L->pob + pa;
}

void *fk_ptr(struct fk *k, uint64_t va)
{
	uint64_t pa, text = k->L->text_va, pob = k->L->pob;

	if (va >= text && va < text + 0x100000)
		pa = va - text + FK_TEXT_PA;
	else if (va >= pob && va - pob < k->size)
		pa = va - pob;
	else
		return NULL;
	return pa < k->size ? k->mem + pa : NULL;
}

static void fk_write(struct fk *k, uint64_t va, const void *v, size_t n)
{
	void *p = fk_ptr(k, va);

	if (p && fk_ptr(k, va + n - 1))
		memcpy(p, v, n);
}

void fk_w64(struct fk *k, uint64_t va, uint64_t v)
{
	fk_write(k, va, &v, 8);
}

void fk_w32(struct fk *k, uint64_t va, uint32_t v)
{
	fk_write(k, va, &v, 4);
}

void fk_wp(struct fk *k, uint64_t va, uint64_t v)
{
	if (k->L->ptr == 4)
		fk_w32(k, va, (uint32_t)v);
	else
		fk_w64(k, va, v);
}

uint64_t fk_rp(struct fk *k, uint64_t va)
{
	const uint8_t *p = fk_ptr(k, va);
	uint64_t v = 0;

	if (p && fk_ptr(k, va + k->L->ptr - 1))
		memcpy(&v, p, k->L->ptr); /* little-endian */
	return v;
}

void fk_wstr(struct fk *k, uint64_t va, const char *s)
{
	fk_write(k, va, s, strlen(s) + 1);
}

void fk_list_init(struct fk *k, uint64_t va)
{
	fk_wp(k, va, va);
	fk_wp(k, va + k->L->ptr, va);
}

void fk_list_add_tail(struct fk *k, uint64_t head, uint64_t node)
{
	uint32_t P = k->L->ptr;
	uint64_t prev = fk_rp(k, head + P);

	if (!fk_ptr(k, head))
		return;
	fk_wp(k, node, head);
	fk_wp(k, node + P, prev);
	fk_wp(k, prev, node);
	fk_wp(k, head + P, node);
}

uint64_t fk_task(struct fk *k, int pid, int tgid, uint64_t parent,
		 const char *comm, uint32_t state)
{
	const struct fk_lay *L = k->L;
	uint64_t t = fk_alloc(k, L->task.size);

	if (!t)
		return 0;
	fk_w32(k, t + L->task.state, state);
	fk_w32(k, t + L->task.pid, (uint32_t)pid);
	fk_w32(k, t + L->task.tgid, (uint32_t)tgid);
	fk_wp(k, t + L->task.parent, parent);
	fk_wstr(k, t + L->task.comm, comm);
	fk_list_init(k, t + L->task.thread);
	if (pid == tgid)
		fk_list_add_tail(k,
				 fk_ksym(k, FK_SYM_INIT_TASK) + L->task.tasks,
				 t + L->task.tasks);
	return t;
}
