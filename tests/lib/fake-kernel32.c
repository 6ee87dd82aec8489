// SPDX-License-Identifier: LGPL-2.1-or-later
/* A synthetic 32-bit Linux kernel in testmem: see fake-kernel32.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "btf-comp.h"
#include "fake-kernel32.h"
#include "os/linux/linux.h"

struct ty {
	int u8, u16, u32, i32, u64, ul, chr, ptr, list;
};

static int btf_tasks(struct btf *b, const struct ty *t)
{
	int kuid = COMP(b, 0, "kuid", 4, { "val", t->u32, 0 });
	int comm = btf__add_array(b, t->u32, t->chr, 16);
	int mt = COMP(b, 0, "maple_tree", 8, { "ma_flags", t->u32, 0 },
		      { "ma_root", t->ptr, 4 });
	int r = COMP(
		b, 0, "maple_range_64", 256, { "parent", t->ptr, 0 },
		{ "pivot", btf__add_array(b, t->u32, t->ul, 31), MN_PIVOT },
		{ "slot", btf__add_array(b, t->u32, t->ptr, 32), MN_SLOT });
	int a = COMP(b, 0, "maple_arange_64", 256, { "parent", t->ptr, 0 },
		     { "pivot", btf__add_array(b, t->u32, t->ul, 20), 4 },
		     { "slot", btf__add_array(b, t->u32, t->ptr, 21), 84 },
		     { "gap", btf__add_array(b, t->u32, t->ul, 21), 168 });

	if (COMP(b, 0, "cred", 16, { "uid", kuid, 4 }) < 0 ||
	    COMP(b, 0, "signal_struct", 32,
		 { "thread_head", t->list, SIG_HEAD }) < 0 ||
	    COMP(b, 1, "maple_node", 256, { "mr64", r, 0 }, { "ma64", a, 0 }) <
		    0 ||
	    COMP(b, 0, "mm_struct", 64, { "pgd", t->ptr, MM_PGD },
		 { "mm_mt", mt, MM_ROOT - 4 },
		 { "start_brk", t->ul, MM_START_BRK }, { "brk", t->ul, MM_BRK },
		 { "start_stack", t->ul, MM_START_STACK },
		 { "arg_start", t->ul, 32 }, { "arg_end", t->ul, 36 },
		 { "env_start", t->ul, 40 }, { "env_end", t->ul, 44 }) < 0 ||
	    COMP(b, 0, "vm_area_struct", VMA_SIZE,
		 { "vm_start", t->ul, VMA_START }, { "vm_end", t->ul, VMA_END },
		 { "vm_mm", t->ptr, VMA_MM }, { "vm_flags", t->ul, VMA_FLAGS },
		 { "vm_pgoff", t->ul, VMA_PGOFF },
		 { "vm_file", t->ptr, VMA_FILE }, { "vm_ops", t->ptr, 24 },
		 { "vm_private_data", t->ptr, 28 }) < 0)
		return -1;
	return COMP(b, 0, "task_struct", T_SIZE, { "__state", t->u32, T_STATE },
		    { "flags", t->u32, T_FLAGS }, { "tasks", t->list, T_TASKS },
		    { "exit_state", t->i32, T_EXIT }, { "mm", t->ptr, T_MM },
		    { "pid", t->i32, T_PID }, { "tgid", t->i32, T_TGID },
		    { "real_parent", t->ptr, T_PARENT },
		    { "cred", t->ptr, T_CRED }, { "comm", comm, T_COMM },
		    { "start_boottime", t->u64, T_START },
		    { "signal", t->ptr, T_SIGNAL },
		    { "thread_node", t->list, T_THREAD });
}

static int btf_rest(struct btf *b, const struct ty *t)
{
	int name = btf__add_array(b, t->u32, t->chr, 56);
	int lay = COMP(b, 0, "module_layout", 16, { "base", t->ptr, 0 },
		       { "size", t->u32, 4 }, { "text_size", t->u32, 8 });
	int lpos = COMP(b, 0, "prb_data_blk_lpos", 8, { "begin", t->ul, 0 },
			{ "next", t->ul, 4 });
	int dr = COMP(b, 0, "prb_desc_ring", 20, { "count_bits", t->u32, 0 },
		      { "descs", t->ptr, 4 }, { "infos", t->ptr, 8 },
		      { "head_id", t->ul, 12 }, { "tail_id", t->ul, 16 });
	int tr = COMP(b, 0, "prb_data_ring", 8, { "size_bits", t->u32, 0 },
		      { "data", t->ptr, 4 });

	if (COMP(b, 0, "module", MOD_SIZE, { "state", t->i32, 0 },
		 { "list", t->list, MOD_LIST }, { "name", name, MOD_NAME },
		 { "core_layout", lay, MOD_CORE },
		 { "init_layout", lay, MOD_INIT }) < 0 ||
	    COMP(b, 0, "prb_desc", PRB_DESC, { "state_var", t->ul, 0 },
		 { "text_blk_lpos", lpos, 4 }) < 0 ||
	    COMP(b, 0, "printk_info", PRB_INFO, { "seq", t->u64, 0 },
		 { "ts_nsec", t->u64, 8 }, { "text_len", t->u16, 16 },
		 { "facility", t->u8, 18 }, { "flags", t->u8, 19, 5, 0 },
		 { "level", t->u8, 19, 3, 5 }, { "caller_id", t->u32, 20 }) < 0)
		return -1;
	return COMP(b, 0, "printk_ringbuffer", 32, { "desc_ring", dr, 0 },
		    { "text_data_ring", tr, 20 });
}

static struct btf *btf32(void)
{
	struct btf *b = btf__new_empty();
	struct ty t;

	if (!b)
		return NULL;
	btf__set_pointer_size(b, 4);
	t.u8 = btf__add_int(b, "unsigned char", 1, 0);
	t.u16 = btf__add_int(b, "short unsigned int", 2, 0);
	t.u32 = btf__add_int(b, "unsigned int", 4, 0);
	t.i32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	t.u64 = btf__add_int(b, "long long unsigned int", 8, 0);
	t.ul = btf__add_int(b, "long unsigned int", 4, 0);
	t.chr = btf__add_int(b, "char", 1, BTF_INT_CHAR);
	t.ptr = btf__add_ptr(b, 0);
	t.list = COMP(b, 0, "list_head", 8, { "next", t.ptr, 0 },
		      { "prev", t.ptr, 4 });
	if (btf_tasks(b, &t) < 0 || btf_rest(b, &t) < 0) {
		btf__free(b);
		return NULL;
	}
	return b;
}

void *k32_btf(uint32_t *size)
{
	struct btf *b = btf32();
	const void *raw = b ? btf__raw_data(b, size) : NULL;
	void *copy = raw ? malloc(*size) : NULL;

	if (copy)
		memcpy(copy, raw, *size);
	btf__free(b);
	return copy;
}

/* ---- memory and handle ------------------------------------------------------ */

void *k32_ptr(struct k32 *k, uint64_t va)
{
	if (va < K32_POB || va - K32_POB >= K32_MEM)
		return NULL;
	return k->mem + (va - K32_POB);
}

void k32_w32(struct k32 *k, uint64_t va, uint32_t v)
{
	void *p = k32_ptr(k, va);

	if (p && va - K32_POB + 4 <= K32_MEM)
		memcpy(p, &v, 4);
}

uint64_t k32_sym(uint32_t off)
{
	return K32_TEXT_VA + off;
}

uint64_t k32_alloc(struct k32 *k, uint32_t size, uint32_t align)
{
	uint32_t pa = (k->next_pa + align - 1) & ~(align - 1);

	if (pa + (uint64_t)size > K32_MEM)
		return 0;
	k->next_pa = pa + size;
	memset(k->mem + pa, 0, size);
	return K32_POB + pa;
}

void k32_list_init(struct k32 *k, uint64_t va)
{
	k32_w32(k, va, (uint32_t)va);
	k32_w32(k, va + 4, (uint32_t)va);
}

void k32_list_add_tail(struct k32 *k, uint64_t head, uint64_t node)
{
	uint32_t prev = 0;
	void *p = k32_ptr(k, head + 4);

	if (p)
		memcpy(&prev, p, 4);
	k32_w32(k, node, (uint32_t)head);
	k32_w32(k, node + 4, prev);
	k32_w32(k, prev, (uint32_t)node);
	k32_w32(k, head + 4, (uint32_t)node);
}

void k32_destroy(struct k32 *k)
{
	qvmi_linux_destroy(k->lx);
	qvmi_ctx_destroy(k->ctx);
	k->lx = NULL;
	k->ctx = NULL;
}

static const struct {
	const char *name;
	uint32_t off;
} syms[] = { { "_text", 0 },
	     { "init_task", S_INIT_TASK },
	     { "modules", S_MODULES },
	     { "prb", S_PRB },
	     { "vmcoreinfo_note", S_VMCOREINFO_NOTE },
	     { "high_memory", S_HIGH_MEMORY } };

int k32_create_over(struct k32 *k, uint8_t *mem, const void *btf,
		    uint32_t btf_size, int init)
{
	struct qvmi_source *src;
	struct qvmi_linux *lx;
	uint64_t it = k32_sym(S_INIT_TASK);
	int err;

	memset(k, 0, sizeof(*k));
	k->mem = mem;
	k->next_pa = K32_HEAP_PA;
	err = qvmi_ctx_create(&k->ctx);
	if (!err)
		err = qvmi_source_testmem_create(k->ctx, mem, K32_MEM, 1, &src);
	if (!err)
		err = qvmi_map_add(k->ctx, src, 0, K32_MEM, 0);
	lx = err ? NULL : calloc(1, sizeof(*lx));
	if (!lx)
		return err ? err : -ENOMEM;
	k->lx = lx;
	lx->ctx = k->ctx;
	lx->lay.ptr_size = 4;
	lx->text_va = K32_TEXT_VA;
	lx->text_pa = K32_TEXT_VA - K32_POB;
	lx->end_va = K32_TEXT_VA + 0x100000;
	lx->page_offset_base = K32_POB;
	lx->vmalloc_base = K32_POB + K32_MEM;
	lx->sym_source = lx->btf_source = lx->layout_source = "test";
	for (size_t i = 0; !err && i < sizeof(syms) / sizeof(syms[0]); i++)
		err = qvmi__ksyms_add(&lx->syms, k32_sym(syms[i].off), 'D',
				      syms[i].name, strlen(syms[i].name));
	if (!err)
		err = qvmi__ksyms_finish(&lx->syms);
	if (!err && btf)
		err = qvmi__btf_load(k->ctx, btf, btf_size, &lx->btf);
	if (err || !init)
		return err;
	/* init_task: an empty list, its own parent; PF_KTHREAD */
	k32_list_init(k, it + T_TASKS);
	k32_list_init(k, it + T_THREAD);
	k32_w32(k, it + T_PARENT, (uint32_t)it);
	k32_w32(k, it + T_FLAGS, 0x00200000);
	memcpy(k32_ptr(k, it + T_COMM), "swapper/0", 10);
	k32_list_init(k, k32_sym(S_MODULES));
	return 0;
}
