// SPDX-License-Identifier: LGPL-2.1-or-later
/* A synthetic Linux kernel in testmem: see fake-kernel.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "btf-comp.h"
#include "fake-kernel.h"
#include "os/linux/linux.h"

struct fkt {
	int u8, u16, u32, i32, u64, chr, ptr, list;
};

static int arr(struct btf *b, int elem, int index, uint32_t n)
{
	return btf__add_array(b, index, elem, n);
}

static int add_tasks(struct btf *b, const struct fkt *t, enum fk_variant v)
{
	int kuid = COMP(b, 0, "kuid", 4, { "val", t->u32, 0 });
	int comm = arr(b, t->chr, t->u32, 16);
	int old = v == FK_OLD;

	if (COMP(b, 0, "cred", FK_CRED_SIZE, { "uid", kuid, FK_CRED_UID }) < 0)
		return -1;
	if (COMP(b, 0, "signal_struct", FK_SIGNAL_SIZE,
		 { old ? "nr_threads" : "thread_head", old ? t->i32 : t->list,
		   FK_SIGNAL_THREAD_HEAD }) < 0)
		return -1;
	return COMP(b, 0, "task_struct", FK_TASK_SIZE,
		    { old ? "state" : "__state", old ? t->u64 : t->u32,
		      FK_TASK_STATE },
		    { "flags", t->u32, FK_TASK_FLAGS },
		    { "tasks", t->list, FK_TASK_TASKS },
		    { "exit_state", t->i32, FK_TASK_EXIT_STATE },
		    { "mm", t->ptr, FK_TASK_MM },
		    { "pid", t->i32, FK_TASK_PID },
		    { "tgid", t->i32, FK_TASK_TGID },
		    { "real_parent", t->ptr, FK_TASK_REAL_PARENT },
		    { "cred", t->ptr, FK_TASK_CRED },
		    { "comm", comm, FK_TASK_COMM },
		    { old ? "start_time" : "start_boottime", t->u64,
		      FK_TASK_START },
		    { "signal", t->ptr, FK_TASK_SIGNAL },
		    { old ? "thread_group" : "thread_node", t->list,
		      FK_TASK_THREAD });
}

static int add_mm(struct btf *b, const struct fkt *t, enum fk_variant v)
{
	int mt = COMP(b, 0, "maple_tree", 24, { "ma_lock", t->u32, 0 },
		      { "ma_root", t->ptr, 8 }, { "ma_flags", t->u32, 16 });
	int r = COMP(b, 0, "maple_range_64", FK_MN_SIZE,
		     { "parent", t->ptr, 0 },
		     { "pivot", arr(b, t->u64, t->u32, 15), FK_MR_PIVOT },
		     { "slot", arr(b, t->ptr, t->u32, 16), FK_MR_SLOT });
	int a = COMP(b, 0, "maple_arange_64", FK_MN_SIZE,
		     { "parent", t->ptr, 0 },
		     { "pivot", arr(b, t->u64, t->u32, 9), FK_MA_PIVOT },
		     { "slot", arr(b, t->ptr, t->u32, 10), FK_MA_SLOT },
		     { "gap", arr(b, t->u64, t->u32, 10), 160 });

	if (COMP(b, 1, "maple_node", FK_MN_SIZE, { "mr64", r, 0 },
		 { "ma64", a, 0 }) < 0)
		return -1;
	return COMP(
		b, 0, "mm_struct", FK_MM_SIZE, { "pgd", t->ptr, FK_MM_PGD },
		v == FK_OLD ?
			(struct btf_comp_member){ "mmap", t->ptr, FK_MM_ROOT } :
			(struct btf_comp_member){ "mm_mt", mt, FK_MM_ROOT - 8 },
		{ "start_brk", t->u64, FK_MM_START_BRK },
		{ "brk", t->u64, FK_MM_BRK },
		{ "start_stack", t->u64, FK_MM_START_STACK },
		{ "arg_start", t->u64, FK_MM_ARG_START },
		{ "arg_end", t->u64, FK_MM_ARG_END },
		{ "env_start", t->u64, FK_MM_ENV_START },
		{ "env_end", t->u64, FK_MM_ENV_END });
}

static int add_vma(struct btf *b, const struct fkt *t, enum fk_variant v)
{
	int path = COMP(b, 0, "path", 16, { "mnt", t->ptr, 0 },
			{ "dentry", t->ptr, 8 });
	int qstr = COMP(b, 0, "qstr", 16, { "hash_len", t->u64, 0 },
			{ "name", t->ptr, 8 });
	int vfsmnt = COMP(b, 0, "vfsmount", 16, { "mnt_root", t->ptr, 0 });

	if (COMP(b, 0, "file", FK_FILE_SIZE, { "f_path", path, FK_FILE_MNT }) <
		    0 ||
	    COMP(b, 0, "dentry", FK_DENTRY_SIZE,
		 { "d_parent", t->ptr, FK_DENTRY_PARENT },
		 { "d_name", qstr, FK_DENTRY_NAME - 8 }) < 0 ||
	    COMP(b, 0, "mount", FK_MOUNT_SIZE,
		 { "mnt_parent", t->ptr, FK_MOUNT_PARENT },
		 { "mnt_mountpoint", t->ptr, FK_MOUNT_MOUNTPOINT },
		 { "mnt", vfsmnt, FK_MOUNT_MNT }) < 0 ||
	    COMP(b, 0, "vm_special_mapping", 16, { "name", t->ptr, 0 }) < 0)
		return -1;
	return COMP(b, 0, "vm_area_struct", FK_VMA_SIZE,
		    { "vm_start", t->u64, FK_VMA_START },
		    { "vm_end", t->u64, FK_VMA_END },
		    { v == FK_OLD ? "vm_next" : "vm_rb_pad", t->ptr,
		      FK_VMA_NEXT },
		    { "vm_mm", t->ptr, FK_VMA_MM },
		    { "vm_flags", t->u64, FK_VMA_FLAGS },
		    { "vm_pgoff", t->u64, FK_VMA_PGOFF },
		    { "vm_file", t->ptr, FK_VMA_FILE },
		    { "vm_ops", t->ptr, FK_VMA_OPS },
		    { "vm_private_data", t->ptr, FK_VMA_PRIV });
}

static int add_module(struct btf *b, const struct fkt *t, enum fk_variant v)
{
	int name = arr(b, t->chr, t->u32, 56), lay;

	if (v == FK_NEW) {
		/* struct mod_tree_node: mod, latch_tree_node (2 rb_nodes) */
		int mtn = COMP(b, 0, "mod_tree_node", 56, { "mod", t->ptr, 0 },
			       { "node", arr(b, t->u64, t->u32, 6), 8 });

		lay = COMP(b, 0, "module_memory", FK_MOD_MEM_SIZE,
			   { "base", t->ptr, 0 }, { "size", t->u32, 8 },
			   { "mtn", mtn, 16 });
		return COMP(b, 0, "module", FK_MOD_SIZE,
			    { "state", t->i32, FK_MOD_STATE },
			    { "list", t->list, FK_MOD_LIST },
			    { "name", name, FK_MOD_NAME },
			    { "mem", arr(b, lay, t->u32, FK_MOD_MEM_N),
			      FK_MOD_MEM });
	}
	lay = COMP(b, 0, "module_layout", 32, { "base", t->ptr, 0 },
		   { "size", t->u32, 8 }, { "text_size", t->u32, 12 });
	return COMP(b, 0, "module", FK_MOD_SIZE,
		    { "state", t->i32, FK_MOD_STATE },
		    { "list", t->list, FK_MOD_LIST },
		    { "name", name, FK_MOD_NAME },
		    { "core_layout", lay, FK_MOD_CORE },
		    { "init_layout", lay, FK_MOD_INIT });
}

static int add_printk(struct btf *b, const struct fkt *t, enum fk_variant v)
{
	int lpos, desc_ring, data_ring;

	if (v == FK_OLD)
		return COMP(b, 0, "printk_log", FK_PLOG_SIZE,
			    { "ts_nsec", t->u64, 0 }, { "len", t->u16, 8 },
			    { "text_len", t->u16, 10 },
			    { "dict_len", t->u16, 12 },
			    { "facility", t->u8, 14 },
			    { "flags", t->u8, 15, 5, 0 },
			    { "level", t->u8, 15, 3, 5 });
	lpos = COMP(b, 0, "prb_data_blk_lpos", 16, { "begin", t->u64, 0 },
		    { "next", t->u64, 8 });
	if (COMP(b, 0, "prb_desc", FK_PRB_DESC_SIZE, { "state_var", t->u64, 0 },
		 { "text_blk_lpos", lpos, 8 }) < 0 ||
	    COMP(b, 0, "printk_info", FK_PRB_INFO_SIZE, { "seq", t->u64, 0 },
		 { "ts_nsec", t->u64, 8 }, { "text_len", t->u16, 16 },
		 { "facility", t->u8, 18 }, { "flags", t->u8, 19, 5, 0 },
		 { "level", t->u8, 19, 3, 5 }, { "caller_id", t->u32, 20 }) < 0)
		return -1;
	desc_ring = COMP(b, 0, "prb_desc_ring", 48, { "count_bits", t->u32, 0 },
			 { "descs", t->ptr, 8 }, { "infos", t->ptr, 16 },
			 { "head_id", t->u64, 24 }, { "tail_id", t->u64, 32 });
	data_ring = COMP(b, 0, "prb_data_ring", 32, { "size_bits", t->u32, 0 },
			 { "data", t->ptr, 8 }, { "head_lpos", t->u64, 16 },
			 { "tail_lpos", t->u64, 24 });
	return COMP(b, 0, "printk_ringbuffer", FK_PRB_SIZE,
		    { "desc_ring", desc_ring, 0 },
		    { "text_data_ring", data_ring, 48 },
		    { "fail", t->u64, 80 });
}

void *fk_btf(enum fk_variant v, uint32_t *size)
{
	struct btf *b = btf__new_empty();
	struct fkt t;
	const void *raw;
	void *copy = NULL;

	if (!b)
		return NULL;
	t.u8 = btf__add_int(b, "unsigned char", 1, 0);
	t.u16 = btf__add_int(b, "short unsigned int", 2, 0);
	t.u32 = btf__add_int(b, "unsigned int", 4, 0);
	t.i32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	t.u64 = btf__add_int(b, "long unsigned int", 8, 0);
	t.chr = btf__add_int(b, "char", 1, BTF_INT_CHAR);
	t.ptr = btf__add_ptr(b, 0);
	t.list = COMP(b, 0, "list_head", 16, { "next", t.ptr, 0 },
		      { "prev", t.ptr, 8 });
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
	{ "_end", 0x100000 },
};

uint64_t fk_sym(uint64_t off)
{
	return FK_TEXT_VA + off;
}

int fk_create_over(struct fk *k, enum fk_variant v, uint8_t *mem, size_t size,
		   const void *btf, uint32_t btf_size)
{
	struct qvmi_source *src;
	struct qvmi_linux *lx;
	int err;

	memset(k, 0, sizeof(*k));
	k->variant = v;
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
	lx->text_va = FK_TEXT_VA;
	lx->text_pa = FK_TEXT_PA;
	lx->end_va = FK_TEXT_VA + 0x100000;
	lx->page_offset_base = FK_POB;
	lx->vmalloc_base = 0xffffc90000000000ull;
	lx->vmemmap_base = 0xffffea0000000000ull;
	lx->sym_source = lx->btf_source = lx->layout_source = "test";
	for (size_t i = 0; !err && i < sizeof(syms) / sizeof(syms[0]); i++)
		err = qvmi__ksyms_add(&lx->syms, FK_TEXT_VA + syms[i].off, 'D',
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
		uint64_t it = fk_sym(FK_SYM_INIT_TASK);

		fk_list_init(k, it + FK_TASK_TASKS);
		fk_list_init(k, it + FK_TASK_THREAD);
		fk_w64(k, it + FK_TASK_REAL_PARENT, it);
		fk_wstr(k, it + FK_TASK_COMM, "swapper/0");
		fk_list_init(k, fk_sym(FK_SYM_MODULES));
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
	return FK_POB + pa;
}

void *fk_ptr(struct fk *k, uint64_t va)
{
	uint64_t pa;

	if (va >= FK_TEXT_VA && va < FK_TEXT_VA + 0x100000)
		pa = va - FK_TEXT_VA + FK_TEXT_PA;
	else if (va >= FK_POB && va - FK_POB < k->size)
		pa = va - FK_POB;
	else
		return NULL;
	return pa < k->size ? k->mem + pa : NULL;
}

void fk_w64(struct fk *k, uint64_t va, uint64_t v)
{
	void *p = fk_ptr(k, va);

	if (p && fk_ptr(k, va + 7))
		memcpy(p, &v, 8);
}

void fk_w32(struct fk *k, uint64_t va, uint32_t v)
{
	void *p = fk_ptr(k, va);

	if (p && fk_ptr(k, va + 3))
		memcpy(p, &v, 4);
}

void fk_wstr(struct fk *k, uint64_t va, const char *s)
{
	char *p = fk_ptr(k, va);

	if (p && fk_ptr(k, va + strlen(s)))
		memcpy(p, s, strlen(s) + 1);
}

void fk_list_init(struct fk *k, uint64_t va)
{
	fk_w64(k, va, va);
	fk_w64(k, va + 8, va);
}

void fk_list_add_tail(struct fk *k, uint64_t head, uint64_t node)
{
	uint64_t *h = fk_ptr(k, head), prev;

	if (!h)
		return;
	prev = h[1];
	fk_w64(k, node, head);
	fk_w64(k, node + 8, prev);
	fk_w64(k, prev, node);
	fk_w64(k, head + 8, node);
}

uint64_t fk_task(struct fk *k, int pid, int tgid, uint64_t parent,
		 const char *comm, uint32_t state)
{
	uint64_t t = fk_alloc(k, FK_TASK_SIZE);

	if (!t)
		return 0;
	fk_w32(k, t + FK_TASK_STATE, state);
	fk_w32(k, t + FK_TASK_PID, (uint32_t)pid);
	fk_w32(k, t + FK_TASK_TGID, (uint32_t)tgid);
	fk_w64(k, t + FK_TASK_REAL_PARENT, parent);
	fk_wstr(k, t + FK_TASK_COMM, comm);
	fk_list_init(k, t + FK_TASK_THREAD);
	if (pid == tgid)
		fk_list_add_tail(k, fk_sym(FK_SYM_INIT_TASK) + FK_TASK_TASKS,
				 t + FK_TASK_TASKS);
	return t;
}
