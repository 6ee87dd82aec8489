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

#include "fake-kernel32.h"
#include "harness.h"
#include "qvmi.h"
#include "os/linux/views.h"

/* ---- memory ---------------------------------------------------------------- */

static void destroy(struct k32 *k)
{
	k32_destroy(k);
	free(k->mem);
	k->mem = NULL;
}

static void k32_create(struct k32 *k)
{
	uint32_t sz = 0;
	void *btf = k32_btf(&sz);
	uint8_t *mem = calloc(1, K32_MEM);

	CHECK(btf && mem);
	CHECK_OK(k32_create_over(k, mem, btf, sz, 1));
	free(btf);
}

static uint64_t task(struct k32 *k, int pid, int tgid, uint64_t parent,
		     const char *comm, uint64_t cred, uint64_t mm)
{
	uint64_t t = k32_alloc(k, T_SIZE, 64);

	k32_w32(k, t + T_PID, (uint32_t)pid);
	k32_w32(k, t + T_TGID, (uint32_t)tgid);
	k32_w32(k, t + T_PARENT, (uint32_t)parent);
	k32_w32(k, t + T_CRED, (uint32_t)cred);
	k32_w32(k, t + T_MM, (uint32_t)mm);
	k32_w32(k, t + T_STATE, 1);
	memcpy(k32_ptr(k, t + T_COMM), comm, strlen(comm));
	k32_w32(k, t + T_START, 0x11223344);
	k32_w32(k, t + T_START + 4, 0x5);
	if (pid == tgid)
		k32_list_add_tail(k, k32_sym(S_INIT_TASK) + T_TASKS,
				  t + T_TASKS);
	return t;
}

/* init(1) <- proc(100, thread 101); kthreadd(2) */
struct world32 {
	struct k32 k;
	uint64_t init, kthreadd, proc, thr, mm, pdpt, cred, sig;
};

static void world(struct world32 *w)
{
	struct k32 *k = &w->k;
	uint64_t it = k32_sym(S_INIT_TASK);

	k32_create(k);
	w->cred = k32_alloc(k, 16, 64);
	k32_w32(k, w->cred + 4, 1000);
	k32_w32(k, it + T_CRED, (uint32_t)w->cred);
	w->mm = k32_alloc(k, 64, 64);
	/* PAE: the PDPT is 32-byte aligned, not page aligned */
	w->pdpt = k32_alloc(k, 4096, 4096) + 0x20;
	k32_w32(k, w->mm + MM_PGD, (uint32_t)w->pdpt);
	k32_w32(k, w->mm + MM_PGD + 4, 0xdeadbeef); /* neighbour */
	w->init = task(k, 1, 1, it, "init", w->cred, w->mm);
	w->kthreadd = task(k, 2, 2, it, "kthreadd", w->cred, 0);
	k32_w32(k, w->kthreadd + T_FLAGS, 0x00200000);
	w->proc = task(k, 100, 100, w->init, "proc", w->cred, w->mm);
	w->sig = k32_alloc(k, 32, 64);
	k32_list_init(k, w->sig + SIG_HEAD);
	k32_list_add_tail(k, w->sig + SIG_HEAD, w->proc + T_THREAD);
	k32_w32(k, w->proc + T_SIGNAL, (uint32_t)w->sig);
	w->thr = task(k, 101, 100, w->init, "proc-thr", w->cred, w->mm);
	k32_list_add_tail(k, w->sig + SIG_HEAD, w->thr + T_THREAD);
	k32_w32(k, w->thr + T_SIGNAL, (uint32_t)w->sig);
}

static void test_tasks(void)
{
	struct world32 w;
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
	CHECK_U64(l.tasks[1].dtb, ==, w.pdpt - K32_POB);
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
	destroy(&w.k);
}

static void test_task_cycle(void)
{
	struct world32 w;
	struct qvmi_linux_task_list l;

	world(&w);
	/* proc.tasks.next back to init.tasks: never reaches the head */
	k32_w32(&w.k, w.proc + T_TASKS, (uint32_t)(w.init + T_TASKS));
	CHECK_INT(qvmi_linux_tasks(w.k.lx, 0, &l), ==, -ELOOP);
	CHECK_INT(l.n, ==, 4);
	CHECK_INT(l.partial, ==, 1);
	qvmi_linux_task_list_deinit(&l);
	/* a pointer below PAGE_OFFSET is not a kernel pointer on i386 */
	k32_w32(&w.k, w.proc + T_TASKS, 0x12345678);
	CHECK_INT(qvmi_linux_tasks(w.k.lx, 0, &l), ==, -EFAULT);
	CHECK_INT(l.partial, ==, 1);
	qvmi_linux_task_list_deinit(&l);
	/* the thread ring looping on the thread, not the head */
	k32_w32(&w.k, w.proc + T_TASKS,
		(uint32_t)(k32_sym(S_INIT_TASK) + T_TASKS));
	k32_w32(&w.k, w.thr + T_THREAD, (uint32_t)(w.thr + T_THREAD));
	CHECK_INT(qvmi_linux_tasks(w.k.lx, QVMI_LINUX_THREADS, &l), ==, -ELOOP);
	qvmi_linux_task_list_deinit(&l);
	destroy(&w.k);
}

/* ---- maple tree ----------------------------------------------------------- */

static uint64_t vma(struct k32 *k, uint64_t mm, uint32_t start, uint32_t end)
{
	uint64_t v = k32_alloc(k, VMA_SIZE, 64);

	k32_w32(k, v + VMA_START, start);
	k32_w32(k, v + VMA_END, end);
	k32_w32(k, v + VMA_MM, (uint32_t)mm);
	k32_w32(k, v + VMA_FLAGS, 0x3); /* rw */
	k32_w32(k, v + VMA_PGOFF, start >> 12);
	return v;
}

/* A leaf_64 of n VMAs of one page each from base; its encoded node. */
static uint64_t leaf(struct k32 *k, uint64_t mm, uint32_t base, int n,
		     uint32_t max)
{
	uint64_t node = k32_alloc(k, 256, 256);
	int s = 0;

	for (int i = 0; i < n; i++) {
		uint32_t a = base + (uint32_t)i * 0x2000;

		/* a gap (empty slot) then the VMA */
		k32_w32(k, node + MN_PIVOT + 4 * s, a - 1);
		s++;
		k32_w32(k, node + MN_SLOT + 4 * s,
			(uint32_t)vma(k, mm, a, a + 0x1000));
		k32_w32(k, node + MN_PIVOT + 4 * s, a + 0xfff);
		s++;
	}
	k32_w32(k, node + MN_PIVOT + 4 * s, max); /* the rest: empty */
	return node | 1 << 3 | 4;
}

static void test_maple(void)
{
	struct world32 w;
	struct k32 *k = &w.k;
	struct qvmi_linux_vma_list l;
	uint64_t root, l1, l2;

	world(&w);
	/* range_64 root: [0, 0x8000000] -> leaf of 15 VMAs, rest -> leaf of
	 * 5; 15 VMAs need 31 slots: only a 32-bit node holds them */
	root = k32_alloc(k, 256, 256);
	l1 = leaf(k, w.mm, 0x1000000, 15, 0x8000000);
	l2 = leaf(k, w.mm, 0x9000000, 5, 0xffffffff);
	k32_w32(k, root + MN_SLOT, (uint32_t)l1);
	k32_w32(k, root + MN_PIVOT, 0x8000000);
	k32_w32(k, root + MN_SLOT + 4, (uint32_t)l2);
	k32_w32(k, root + MN_PIVOT + 4, 0xffffffff);
	k32_w32(k, w.mm + MM_ROOT, (uint32_t)(root | 2 << 3 | 4 | 2));
	k32_w32(k, w.mm + MM_ROOT + 4, 0x7777); /* neighbour */
	k32_w32(k, w.mm + MM_START_BRK, 0x1002000);
	k32_w32(k, w.mm + MM_BRK, 0x1003000);
	k32_w32(k, w.mm + MM_START_STACK, 0x9008800);
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
	k32_w32(k, root + MN_SLOT + 4, (uint32_t)(root | 2 << 3 | 4));
	CHECK_INT(qvmi_linux_vmas(k->lx, 100, &l), ==, -ELOOP);
	CHECK_INT(l.n, ==, 15);
	CHECK_INT(l.partial, ==, 1);
	qvmi_linux_vma_list_deinit(&l);
	destroy(k);
}

/* ---- modules, printk ring -------------------------------------------------- */

static void test_modules(void)
{
	struct world32 w;
	struct k32 *k = &w.k;
	struct qvmi_linux_module_list l;
	const char *names[] = { "crc7", "crc_itu_t" };

	world(&w);
	for (int i = 0; i < 2; i++) {
		uint64_t m = k32_alloc(k, MOD_SIZE, 64);

		memcpy(k32_ptr(k, m + MOD_NAME), names[i], strlen(names[i]));
		k32_w32(k, m + MOD_CORE, 0xe07f9000u - (uint32_t)i * 0x7000);
		k32_w32(k, m + MOD_CORE + 4, 0x3000);
		k32_w32(k, m + MOD_CORE + 8, 0x1000);
		k32_w32(k, m + MOD_INIT + 4, 0x1000 * (uint32_t)i);
		k32_list_add_tail(k, k32_sym(S_MODULES), m + MOD_LIST);
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

		memcpy(&first, k32_ptr(k, k32_sym(S_MODULES)), 4);
		k32_w32(k, first, first); /* the first's list.next */
	}
	CHECK_INT(qvmi_linux_modules(k->lx, &l), ==, -ELOOP);
	CHECK_INT(l.partial, ==, 1);
	qvmi_linux_module_list_deinit(&l);
	destroy(k);
}

/* Every view's field set on the i386 layout (see fields::field_budgets):
 * planned, complete, inside its struct. */
static void test_field_budgets(void)
{
	static const struct {
		const char *what;
		int (*fn)(struct qvmi_linux *, struct qvmi_lx_fields_info *);
		unsigned int nfields;
		uint32_t size;
	} want[] = {
		{ "tasks", qvmi__lx_tasks_fields, 13, T_SIZE },
		{ "modules", qvmi__lx_modules_fields, 7, MOD_SIZE },
		{ "vmas", qvmi__lx_vmas_fields, 8, VMA_SIZE },
	};
	struct k32 k;

	k32_create(&k);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct qvmi_lx_fields_info fi = { 0 };
		int err = want[i].fn(k.lx, &fi);

		CHECK_MSG(!err, "%s: %d %s", want[i].what, err,
			  qvmi_errmsg(k.ctx));
		CHECK_MSG(fi.nfields == want[i].nfields, "%s: %u fields",
			  want[i].what, fi.nfields);
		CHECK_MSG(fi.end <= want[i].size, "%s: ends at %u",
			  want[i].what, fi.end);
	}
	destroy(&k);
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
	struct world32 w;
	struct k32 *k = &w.k;
	struct logs g = { 0 };
	uint64_t rb, descs, infos, data;
	uint32_t pos = 0;

	world(&w);
	rb = k32_alloc(k, 32, 64);
	descs = k32_alloc(k, 4 * PRB_DESC, 64);
	infos = k32_alloc(k, 4 * PRB_INFO, 64);
	data = k32_alloc(k, 256, 64);
	k32_w32(k, k32_sym(S_PRB), (uint32_t)rb);
	k32_w32(k, k32_sym(S_PRB) + 4, 0xabcdef01); /* neighbour */
	k32_w32(k, rb, 2);
	k32_w32(k, rb + 4, (uint32_t)descs);
	k32_w32(k, rb + 8, (uint32_t)infos);
	k32_w32(k, rb + 12, 7 | 2u << 30); /* head_id (state bits ignored) */
	k32_w32(k, rb + 16, 5); /* tail_id */
	k32_w32(k, rb + 20, 8); /* 2^8 bytes */
	k32_w32(k, rb + 24, (uint32_t)data);
	for (uint32_t id = 5; id <= 7; id++) {
		uint64_t d = descs + (id & 3) * PRB_DESC;
		uint64_t in = infos + (id & 3) * PRB_INFO;
		const char *t = texts[id - 5];
		uint32_t len = (uint32_t)strlen(t);

		k32_w32(k, d, id | (id == 7 ? 1u : 2u) << 30);
		k32_w32(k, d + 4, pos);
		k32_w32(k, d + 8, pos + 4 + ((len + 3) & ~3u));
		k32_w32(k, data + pos, id);
		memcpy(k32_ptr(k, data + pos + 4), t, len);
		k32_w32(k, in, 40 + id); /* seq */
		k32_w32(k, in + 16, len);
		pos += 4 + ((len + 3) & ~3u);
	}
	CHECK_INT(qvmi_linux_dmesg(k->lx, on_log, &g), ==, 3);
	CHECK_INT(g.n, ==, 3);
	CHECK_STR(g.text[0], "first line");
	CHECK_STR(g.text[1], "second");
	CHECK_STR(g.text[2], "third one");
	CHECK_U64(g.seq[2], ==, 47);
	destroy(k);
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
	struct world32 w;
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
	CHECK_OK(qvmi__ksyms_add(&w.k.lx->syms, K32_TEXT_VA, 'T', "_text", 5));
	CHECK_OK(qvmi__ksyms_finish(&w.k.lx->syms));
	CHECK_OK(qvmi__linux_load_isf(w.k.lx, path));
	unlink(path);
	CHECK_MSG(!qvmi_linux_tasks(w.k.lx, 0, &l), "%s", qvmi_errmsg(w.k.ctx));
	CHECK_INT(l.n, ==, 4);
	CHECK_INT(l.tasks[3].pid, ==, 100);
	CHECK_INT(l.tasks[3].ppid, ==, 1);
	CHECK_STR(l.tasks[3].comm, "proc");
	CHECK_INT(l.tasks[3].uid, ==, 1000);
	CHECK_U64(l.tasks[3].dtb, ==, w.pdpt - K32_POB);
	qvmi_linux_task_list_deinit(&l);
	destroy(&w.k);
}

static const struct qvmi_test views32_tests[] = {
	{ "tasks", test_tasks },
	{ "task_cycle", test_task_cycle },
	{ "maple", test_maple },
	{ "modules", test_modules },
	{ "field_budgets", test_field_budgets },
	{ "dmesg", test_dmesg },
	{ "isf", test_isf },
};
QVMI_SUITE(views32, views32_tests);
