// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Linux views over a synthetic 32-bit (i386 PAE) kernel: BTF with 4-byte
 * pointers and unsigned longs, PAGE_OFFSET 0xc0000000, kallsyms found with
 * 4-byte addresses (lay.ptr_size 4).  Every pointer is followed by a
 * non-zero neighbour, so an 8-byte read of one gives a wrong value.
 * Tasks with a thread group, a cycle and a pointer below PAGE_OFFSET; a
 * maple tree whose leaf holds 20 VMAs (more than the 16 slots of a 64-bit
 * node: the 32 slots come from BTF) and a self-linked node; modules; the
 * printk ring with 30-bit ids and 4-byte block ids.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "harness.h"
#include "qvmi.h"
#include "os/linux/views.h"

#define MEM (4u << 20)
#define POB 0xc0000000ull
#define TEXT_VA 0xc0100000ull /* image at PA 0x100000: VA = PA + POB */
#define HEAP_PA 0x200000u

enum {
	S_INIT_TASK = 0x1000, /* symbols, offsets from _text */
	S_MODULES = 0x2000,
	S_PRB = 0x2010,
	T_SIZE = 128, /* task_struct */
	T_STATE = 4,
	T_FLAGS = 8,
	T_TASKS = 16,
	T_EXIT = 24,
	T_MM = 28,
	T_PID = 32,
	T_TGID = 36,
	T_PARENT = 40,
	T_CRED = 44,
	T_COMM = 48,
	T_START = 64,
	T_SIGNAL = 72,
	T_THREAD = 76,
	SIG_HEAD = 8,
	MM_PGD = 4,
	MM_ROOT = 12, /* mm_mt at 8, ma_root at +4 */
	MM_START_BRK = 20,
	MM_BRK = 24,
	MM_START_STACK = 28,
	MN_PIVOT = 4, /* maple_range_64: 31 pivots, 32 slots */
	MN_SLOT = 128,
	VMA_SIZE = 64,
	VMA_START = 0,
	VMA_END = 4,
	VMA_MM = 8,
	VMA_FLAGS = 12,
	VMA_PGOFF = 16,
	VMA_FILE = 20,
	MOD_SIZE = 128,
	MOD_LIST = 4,
	MOD_NAME = 12,
	MOD_CORE = 68, /* module_layout {base @0, size @4, text_size @8} */
	MOD_INIT = 84,
	PRB_DESC = 12, /* state_var, begin, next */
	PRB_INFO = 24,
};

struct k32 {
	uint8_t *mem;
	uint32_t next_pa;
	struct qvmi_ctx *ctx;
	struct qvmi_linux *lx;
};

/* ---- BTF ------------------------------------------------------------------ */

struct fld {
	const char *name;
	int type;
	uint32_t off, bits, bit;
};

static int comp(struct btf *b, int un, const char *name, uint32_t size,
		const struct fld *f, size_t n)
{
	int id = un ? btf__add_union(b, name, size) :
		      btf__add_struct(b, name, size);

	for (size_t i = 0; id > 0 && i < n; i++)
		if (btf__add_field(b, f[i].name, f[i].type,
				   f[i].off * 8 + f[i].bit, f[i].bits))
			return -1;
	return id;
}

#define COMP(b, u, name, size, ...)                                     \
	({                                                              \
		const struct fld _f[] = { __VA_ARGS__ };                \
		comp(b, u, name, size, _f, sizeof(_f) / sizeof(_f[0])); \
	})

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

/* ---- memory ---------------------------------------------------------------- */

static void *hp(struct k32 *k, uint64_t va)
{
	return k->mem + (va - POB);
}

static void w32(struct k32 *k, uint64_t va, uint32_t v)
{
	memcpy(hp(k, va), &v, 4);
}

static uint64_t sym(uint32_t off)
{
	return TEXT_VA + off;
}

/* Zeroed direct-map object, aligned to align; its VA. */
static uint64_t alloc(struct k32 *k, uint32_t size, uint32_t align)
{
	uint32_t pa = (k->next_pa + align - 1) & ~(align - 1);

	k->next_pa = pa + size;
	return POB + pa;
}

static void list_init(struct k32 *k, uint64_t va)
{
	w32(k, va, (uint32_t)va);
	w32(k, va + 4, (uint32_t)va);
}

static void list_add_tail(struct k32 *k, uint64_t head, uint64_t node)
{
	uint32_t prev;

	memcpy(&prev, hp(k, head + 4), 4);
	w32(k, node, (uint32_t)head);
	w32(k, node + 4, prev);
	w32(k, prev, (uint32_t)node);
	w32(k, head + 4, (uint32_t)node);
}

static void k32_destroy(struct k32 *k)
{
	qvmi_linux_destroy(k->lx);
	qvmi_ctx_destroy(k->ctx);
	free(k->mem);
	memset(k, 0, sizeof(*k));
}

static void k32_create(struct k32 *k)
{
	static const struct {
		const char *name;
		uint32_t off;
	} syms[] = { { "_text", 0 },
		     { "init_task", S_INIT_TASK },
		     { "modules", S_MODULES },
		     { "prb", S_PRB } };
	struct qvmi_source *src;
	struct qvmi_linux *lx;
	struct btf *b = btf32();
	const void *raw;
	uint32_t sz = 0;

	memset(k, 0, sizeof(*k));
	CHECK(b);
	k->mem = calloc(1, MEM);
	k->next_pa = HEAP_PA;
	CHECK(k->mem);
	CHECK_OK(qvmi_ctx_create(&k->ctx));
	CHECK_OK(qvmi_source_testmem_create(k->ctx, k->mem, MEM, 1, &src));
	CHECK_OK(qvmi_map_add(k->ctx, src, 0, MEM, 0));
	k->lx = lx = calloc(1, sizeof(*lx));
	CHECK(lx);
	lx->ctx = k->ctx;
	lx->lay.ptr_size = 4;
	lx->text_va = TEXT_VA;
	lx->text_pa = TEXT_VA - POB;
	lx->end_va = TEXT_VA + 0x100000;
	lx->page_offset_base = POB;
	lx->vmalloc_base = POB + MEM;
	lx->sym_source = lx->btf_source = lx->layout_source = "test";
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
		CHECK_OK(qvmi__ksyms_add(&lx->syms, sym(syms[i].off), 'D',
					 syms[i].name, strlen(syms[i].name)));
	CHECK_OK(qvmi__ksyms_finish(&lx->syms));
	raw = btf__raw_data(b, &sz);
	CHECK(raw);
	CHECK_OK(qvmi__btf_load(k->ctx, raw, sz, &lx->btf));
	btf__free(b);
	/* init_task: an empty list, its own parent; PF_KTHREAD */
	list_init(k, sym(S_INIT_TASK) + T_TASKS);
	list_init(k, sym(S_INIT_TASK) + T_THREAD);
	w32(k, sym(S_INIT_TASK) + T_PARENT, (uint32_t)sym(S_INIT_TASK));
	w32(k, sym(S_INIT_TASK) + T_FLAGS, 0x00200000);
	memcpy(hp(k, sym(S_INIT_TASK) + T_COMM), "swapper/0", 10);
	list_init(k, sym(S_MODULES));
}

static uint64_t task(struct k32 *k, int pid, int tgid, uint64_t parent,
		     const char *comm, uint64_t cred, uint64_t mm)
{
	uint64_t t = alloc(k, T_SIZE, 64);

	w32(k, t + T_PID, (uint32_t)pid);
	w32(k, t + T_TGID, (uint32_t)tgid);
	w32(k, t + T_PARENT, (uint32_t)parent);
	w32(k, t + T_CRED, (uint32_t)cred);
	w32(k, t + T_MM, (uint32_t)mm);
	w32(k, t + T_STATE, 1);
	memcpy(hp(k, t + T_COMM), comm, strlen(comm));
	w32(k, t + T_START, 0x11223344);
	w32(k, t + T_START + 4, 0x5);
	if (pid == tgid)
		list_add_tail(k, sym(S_INIT_TASK) + T_TASKS, t + T_TASKS);
	return t;
}

/* init(1) <- proc(100, thread 101); kthreadd(2) */
struct w32 {
	struct k32 k;
	uint64_t init, kthreadd, proc, thr, mm, pdpt, cred, sig;
};

static void world(struct w32 *w)
{
	struct k32 *k = &w->k;
	uint64_t it = sym(S_INIT_TASK);

	k32_create(k);
	w->cred = alloc(k, 16, 64);
	w32(k, w->cred + 4, 1000);
	w32(k, it + T_CRED, (uint32_t)w->cred);
	w->mm = alloc(k, 64, 64);
	/* PAE: the PDPT is 32-byte aligned, not page aligned */
	w->pdpt = alloc(k, 4096, 4096) + 0x20;
	w32(k, w->mm + MM_PGD, (uint32_t)w->pdpt);
	w32(k, w->mm + MM_PGD + 4, 0xdeadbeef); /* neighbour */
	w->init = task(k, 1, 1, it, "init", w->cred, w->mm);
	w->kthreadd = task(k, 2, 2, it, "kthreadd", w->cred, 0);
	w32(k, w->kthreadd + T_FLAGS, 0x00200000);
	w->proc = task(k, 100, 100, w->init, "proc", w->cred, w->mm);
	w->sig = alloc(k, 32, 64);
	list_init(k, w->sig + SIG_HEAD);
	list_add_tail(k, w->sig + SIG_HEAD, w->proc + T_THREAD);
	w32(k, w->proc + T_SIGNAL, (uint32_t)w->sig);
	w->thr = task(k, 101, 100, w->init, "proc-thr", w->cred, w->mm);
	list_add_tail(k, w->sig + SIG_HEAD, w->thr + T_THREAD);
	w32(k, w->thr + T_SIGNAL, (uint32_t)w->sig);
}

static void test_tasks(void)
{
	struct w32 w;
	struct qvmi_linux_task_list l;

	world(&w);
	CHECK_OK(qvmi_linux_tasks(w.k.lx, 0, &l));
	CHECK_INT(l.n, ==, 4);
	CHECK_INT(l.tasks[0].pid, ==, 0);
	CHECK_STR(l.tasks[0].comm, "swapper/0");
	CHECK_INT(l.tasks[0].ppid, ==, 0);
	CHECK_INT(l.tasks[1].pid, ==, 1);
	CHECK_INT(l.tasks[1].ppid, ==, 0);
	CHECK_U64(l.tasks[1].mm, ==, w.mm);
	CHECK_U64(l.tasks[1].dtb, ==, w.pdpt - POB);
	CHECK_INT(l.tasks[1].uid, ==, 1000);
	CHECK_U64(l.tasks[1].start_time, ==, 0x511223344ull);
	CHECK_STR(l.tasks[2].comm, "kthreadd");
	CHECK(l.tasks[2].flags & QVMI_LINUX_TASK_KTHREAD);
	CHECK_U64(l.tasks[2].dtb, ==, 0);
	CHECK_INT(l.tasks[3].pid, ==, 100);
	CHECK_INT(l.tasks[3].ppid, ==, 1);
	CHECK_INT(l.partial, ==, 0);
	qvmi_linux_task_list_deinit(&l);
	CHECK_OK(qvmi_linux_tasks(w.k.lx, QVMI_LINUX_THREADS, &l));
	CHECK_INT(l.n, ==, 5);
	CHECK_INT(l.tasks[4].pid, ==, 101);
	CHECK_INT(l.tasks[4].tgid, ==, 100);
	CHECK_STR(l.tasks[4].comm, "proc-thr");
	qvmi_linux_task_list_deinit(&l);
	k32_destroy(&w.k);
}

static void test_task_cycle(void)
{
	struct w32 w;
	struct qvmi_linux_task_list l;

	world(&w);
	/* proc.tasks.next back to init.tasks: never reaches the head */
	w32(&w.k, w.proc + T_TASKS, (uint32_t)(w.init + T_TASKS));
	CHECK_INT(qvmi_linux_tasks(w.k.lx, 0, &l), ==, -ELOOP);
	CHECK_INT(l.n, ==, 4);
	CHECK_INT(l.partial, ==, 1);
	qvmi_linux_task_list_deinit(&l);
	/* a pointer below PAGE_OFFSET is not a kernel pointer on i386 */
	w32(&w.k, w.proc + T_TASKS, 0x12345678);
	CHECK_INT(qvmi_linux_tasks(w.k.lx, 0, &l), ==, -EFAULT);
	CHECK_INT(l.partial, ==, 1);
	qvmi_linux_task_list_deinit(&l);
	/* the thread ring looping on the thread, not the head */
	w32(&w.k, w.proc + T_TASKS, (uint32_t)(sym(S_INIT_TASK) + T_TASKS));
	w32(&w.k, w.thr + T_THREAD, (uint32_t)(w.thr + T_THREAD));
	CHECK_INT(qvmi_linux_tasks(w.k.lx, QVMI_LINUX_THREADS, &l), ==, -ELOOP);
	qvmi_linux_task_list_deinit(&l);
	k32_destroy(&w.k);
}

/* ---- maple tree ----------------------------------------------------------- */

static uint64_t vma(struct k32 *k, uint64_t mm, uint32_t start, uint32_t end)
{
	uint64_t v = alloc(k, VMA_SIZE, 64);

	w32(k, v + VMA_START, start);
	w32(k, v + VMA_END, end);
	w32(k, v + VMA_MM, (uint32_t)mm);
	w32(k, v + VMA_FLAGS, 0x3); /* rw */
	w32(k, v + VMA_PGOFF, start >> 12);
	return v;
}

/* A leaf_64 of n VMAs of one page each from base; its encoded node. */
static uint64_t leaf(struct k32 *k, uint64_t mm, uint32_t base, int n,
		     uint32_t max)
{
	uint64_t node = alloc(k, 256, 256);
	int s = 0;

	for (int i = 0; i < n; i++) {
		uint32_t a = base + (uint32_t)i * 0x2000;

		/* a gap (empty slot) then the VMA */
		w32(k, node + MN_PIVOT + 4 * s, a - 1);
		s++;
		w32(k, node + MN_SLOT + 4 * s,
		    (uint32_t)vma(k, mm, a, a + 0x1000));
		w32(k, node + MN_PIVOT + 4 * s, a + 0xfff);
		s++;
	}
	w32(k, node + MN_PIVOT + 4 * s, max); /* the rest: empty */
	return node | 1 << 3 | 4;
}

static void test_maple(void)
{
	struct w32 w;
	struct k32 *k = &w.k;
	struct qvmi_linux_vma_list l;
	uint64_t root, l1, l2;

	world(&w);
	/* range_64 root: [0, 0x8000000] -> leaf of 15 VMAs, rest -> leaf of
	 * 5; 15 VMAs need 31 slots: only a 32-bit node holds them */
	root = alloc(k, 256, 256);
	l1 = leaf(k, w.mm, 0x1000000, 15, 0x8000000);
	l2 = leaf(k, w.mm, 0x9000000, 5, 0xffffffff);
	w32(k, root + MN_SLOT, (uint32_t)l1);
	w32(k, root + MN_PIVOT, 0x8000000);
	w32(k, root + MN_SLOT + 4, (uint32_t)l2);
	w32(k, root + MN_PIVOT + 4, 0xffffffff);
	w32(k, w.mm + MM_ROOT, (uint32_t)(root | 2 << 3 | 4 | 2));
	w32(k, w.mm + MM_ROOT + 4, 0x7777); /* neighbour */
	w32(k, w.mm + MM_START_BRK, 0x1002000);
	w32(k, w.mm + MM_BRK, 0x1003000);
	w32(k, w.mm + MM_START_STACK, 0x9008800);
	CHECK_OK(qvmi_linux_vmas(k->lx, 100, &l));
	CHECK_INT(l.n, ==, 20);
	CHECK_U64(l.vmas[0].start, ==, 0x1000000);
	CHECK_U64(l.vmas[0].end, ==, 0x1001000);
	CHECK_STR(l.vmas[0].perms, "rw-p");
	CHECK_U64(l.vmas[0].pgoff, ==, 0x1000);
	CHECK_STR(l.vmas[1].name, "[heap]");
	CHECK_U64(l.vmas[14].start, ==, 0x101c000);
	CHECK_U64(l.vmas[15].start, ==, 0x9000000);
	CHECK_U64(l.vmas[19].end, ==, 0x9009000);
	CHECK_STR(l.vmas[19].name, "[stack]");
	CHECK_STR(l.vmas[18].name, "");
	CHECK_INT(l.partial, ==, 0);
	qvmi_linux_vma_list_deinit(&l);
	/* a node whose slot points at itself */
	w32(k, root + MN_SLOT + 4, (uint32_t)(root | 2 << 3 | 4));
	CHECK_INT(qvmi_linux_vmas(k->lx, 100, &l), ==, -ELOOP);
	CHECK_INT(l.n, ==, 15);
	CHECK_INT(l.partial, ==, 1);
	qvmi_linux_vma_list_deinit(&l);
	k32_destroy(k);
}

/* ---- modules, printk ring -------------------------------------------------- */

static void test_modules(void)
{
	struct w32 w;
	struct k32 *k = &w.k;
	struct qvmi_linux_module_list l;
	const char *names[] = { "crc7", "crc_itu_t" };

	world(&w);
	for (int i = 0; i < 2; i++) {
		uint64_t m = alloc(k, MOD_SIZE, 64);

		memcpy(hp(k, m + MOD_NAME), names[i], strlen(names[i]));
		w32(k, m + MOD_CORE, 0xe07f9000u - (uint32_t)i * 0x7000);
		w32(k, m + MOD_CORE + 4, 0x3000);
		w32(k, m + MOD_CORE + 8, 0x1000);
		w32(k, m + MOD_INIT + 4, 0x1000 * (uint32_t)i);
		list_add_tail(k, sym(S_MODULES), m + MOD_LIST);
	}
	CHECK_OK(qvmi_linux_modules(k->lx, &l));
	CHECK_INT(l.n, ==, 2);
	CHECK_STR(l.mods[0].name, "crc7");
	CHECK_U64(l.mods[0].base, ==, 0xe07f9000);
	CHECK_U64(l.mods[0].size, ==, 0x3000);
	CHECK_U64(l.mods[0].text_size, ==, 0x1000);
	CHECK_STR(l.mods[1].name, "crc_itu_t");
	CHECK_U64(l.mods[1].base, ==, 0xe07f2000);
	CHECK_U64(l.mods[1].size, ==, 0x4000);
	qvmi_linux_module_list_deinit(&l);
	/* the second module's next back to the first: a cycle */
	{
		uint32_t first;

		memcpy(&first, hp(k, sym(S_MODULES)), 4);
		w32(k, first, first); /* the first's list.next */
	}
	CHECK_INT(qvmi_linux_modules(k->lx, &l), ==, -ELOOP);
	CHECK_INT(l.partial, ==, 1);
	qvmi_linux_module_list_deinit(&l);
	k32_destroy(k);
}

struct logs {
	int n;
	char text[4][32];
	uint64_t seq[4];
};

static int on_log(const struct qvmi_linux_log_rec *r, void *arg)
{
	struct logs *g = arg;

	if (g->n < 4) {
		memcpy(g->text[g->n], r->text,
		       r->text_len < 31 ? r->text_len : 31);
		g->seq[g->n] = r->seq;
	}
	g->n++;
	return 0;
}

/* 4 descriptors (count_bits 2), 256 bytes of text; ids 5..7 committed or
 * finalized (state in bits 31:30), each block "id(4) text". */
static void test_dmesg(void)
{
	static const char *const texts[] = { "first line", "second",
					     "third one" };
	struct w32 w;
	struct k32 *k = &w.k;
	struct logs g = { 0 };
	uint64_t rb, descs, infos, data;
	uint32_t pos = 0;

	world(&w);
	rb = alloc(k, 32, 64);
	descs = alloc(k, 4 * PRB_DESC, 64);
	infos = alloc(k, 4 * PRB_INFO, 64);
	data = alloc(k, 256, 64);
	w32(k, sym(S_PRB), (uint32_t)rb);
	w32(k, sym(S_PRB) + 4, 0xabcdef01); /* neighbour */
	w32(k, rb, 2);
	w32(k, rb + 4, (uint32_t)descs);
	w32(k, rb + 8, (uint32_t)infos);
	w32(k, rb + 12, 7 | 2u << 30); /* head_id (state bits ignored) */
	w32(k, rb + 16, 5); /* tail_id */
	w32(k, rb + 20, 8); /* 2^8 bytes */
	w32(k, rb + 24, (uint32_t)data);
	for (uint32_t id = 5; id <= 7; id++) {
		uint64_t d = descs + (id & 3) * PRB_DESC;
		uint64_t in = infos + (id & 3) * PRB_INFO;
		const char *t = texts[id - 5];
		uint32_t len = (uint32_t)strlen(t);

		w32(k, d, id | (id == 7 ? 1u : 2u) << 30);
		w32(k, d + 4, pos);
		w32(k, d + 8, pos + 4 + ((len + 3) & ~3u));
		w32(k, data + pos, id);
		memcpy(hp(k, data + pos + 4), t, len);
		w32(k, in, 40 + id); /* seq */
		w32(k, in + 16, len);
		pos += 4 + ((len + 3) & ~3u);
	}
	CHECK_INT(qvmi_linux_dmesg(k->lx, on_log, &g), ==, 3);
	CHECK_INT(g.n, ==, 3);
	CHECK_STR(g.text[0], "first line");
	CHECK_STR(g.text[1], "second");
	CHECK_STR(g.text[2], "third one");
	CHECK_U64(g.seq[2], ==, 47);
	k32_destroy(k);
}

/* ---- types and init_task from a hand-made ISF ---------------------------- */

#define F(name, off, type) \
	"\"" name "\":{\"offset\":" #off ",\"type\":" type "}"
#define BASE(name) "{\"kind\":\"base\",\"name\":\"" name "\"}"
#define STRUCT(name) "{\"kind\":\"struct\",\"name\":\"" name "\"}"
#define PTR "{\"kind\":\"pointer\",\"subtype\":" BASE("void") "}"
#define INT(name, size, sign)                               \
	"\"" name "\":{\"size\":" #size ",\"signed\":" sign \
	",\"kind\":\"int\",\"endian\":\"little\"}"

/* i386 as dwarf2json writes it: 4-byte pointers, linked at 0xc1000000
 * (the handle's _text is 0xc0100000: the symbols slide down). */
static const char isf32[] =
	"{\"metadata\":{},\"enums\":{},"
	"\"base_types\":{" INT("pointer", 4, "false") "," INT("void", 0, "false") "," INT("unsigned int", 4, "false") "," INT("int", 4, "true") "," INT("char", 1, "true") "," INT(
		"long long unsigned int",
		8,
		"false") "},\"user_types\":{"
			 "\"list_head\":{\"kind\":\"struct\",\"size\":8,\"fields\":{" F("next", 0, PTR) "," F(
				 "prev", 4,
				 PTR) "}},"
				      "\"kuid\":{\"kind\":\"struct\",\"size\":4,\"fields\":{" F(
					      "val", 0,
					      BASE("unsigned int")) "}},"
								    "\"cred\":{\"kind\":\"struct\",\"size\":16,\"fields\":{" F(
									    "uid",
									    4,
									    STRUCT("kuid")) "}},"
											    "\"mm_struct\":{\"kind\":\"struct\",\"size\":64,\"fields\":{" F(
												    "pgd",
												    4,
												    PTR) "}},"
													 "\"task_struct\":{\"kind\":\"struct\",\"size\":128,\"fields\":{" F("__state", 4, BASE("unsigned int")) "," F("flags", 8, BASE("unsigned int")) "," F("tasks", 16, STRUCT("list_head")) "," F(
														 "exit_state",
														 24,
														 BASE("int")) "," F("mm",
																    28,
																    PTR) "," F("pid",
																	       32,
																	       BASE("int")) "," F("tgid",
																				  36,
																				  BASE("int")) "," F("real_parent",
																						     40,
																						     PTR) "," F("cred",
																								44,
																								PTR) "," F("comm",
																									   48,
																									   "{\"kind\":\"array\",\"count\":16,\"subtype\":" BASE(
																										   "char") "}") "," F("start_boottime",
																												      64,
																												      BASE("long long unsigned int")) "}}},"
																																      "\"symbols\":{\"_text\":{\"address\":3238002688},"
																																      "\"init_task\":{\"address\":3238006784}}}";

static void test_isf(void)
{
	char path[] = "/tmp/qvmi-isf32-XXXXXX";
	struct qvmi_linux_task_list l;
	struct w32 w;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK_INT(write(fd, isf32, sizeof(isf32) - 1), ==,
		  (int)sizeof(isf32) - 1);
	close(fd);
	world(&w);
	/* no BTF, and init_task only in the ISF */
	btf__free(w.k.lx->btf);
	w.k.lx->btf = NULL;
	qvmi__ksyms_free(&w.k.lx->syms);
	CHECK_OK(qvmi__ksyms_add(&w.k.lx->syms, TEXT_VA, 'T', "_text", 5));
	CHECK_OK(qvmi__ksyms_finish(&w.k.lx->syms));
	CHECK_OK(qvmi__linux_load_isf(w.k.lx, path));
	unlink(path);
	CHECK_MSG(!qvmi_linux_tasks(w.k.lx, 0, &l), "%s", qvmi_errmsg(w.k.ctx));
	CHECK_INT(l.n, ==, 4);
	CHECK_INT(l.tasks[3].pid, ==, 100);
	CHECK_INT(l.tasks[3].ppid, ==, 1);
	CHECK_STR(l.tasks[3].comm, "proc");
	CHECK_INT(l.tasks[3].uid, ==, 1000);
	CHECK_U64(l.tasks[3].dtb, ==, w.pdpt - POB);
	qvmi_linux_task_list_deinit(&l);
	k32_destroy(&w.k);
}

static const struct qvmi_test views32_tests[] = {
	{ "tasks", test_tasks }, { "task_cycle", test_task_cycle },
	{ "maple", test_maple }, { "modules", test_modules },
	{ "dmesg", test_dmesg }, { "isf", test_isf },
};
QVMI_SUITE(views32, views32_tests);
