// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Callbacks may call back into the library (qvmi.h says so for each
 * typedef): a binding's for-loop body does exactly that.  Each walk with a
 * callback is run here with a callback that starts other walks and reads
 * on the same handle, and the outer walk must still see everything.  The
 * first of these found the task walk ending after 1 of 6 tasks, returning
 * 0, when its callback called qvmi_linux_task_find (a shared buffer).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "fake-kernel.h"
#include "harness.h"
#include "qvmi.h"
#include "os/linux/linux.h"

#define MEM (8u << 20)

enum { PF_KTHREAD = 0x00200000 };

/* swapper(0) <- init(1) <- a(10), b(11), c(12); kthreadd(2); and one
 * module. */
static void world(struct fk *k)
{
	uint64_t it = fk_sym(FK_SYM_INIT_TASK), init, cred, m;

	CHECK_OK(fk_create(k, FK_NEW, MEM));
	cred = fk_alloc(k, FK_CRED_SIZE);
	fk_w64(k, it + FK_TASK_CRED, cred);
	fk_w32(k, it + FK_TASK_FLAGS, PF_KTHREAD);
	init = fk_task(k, 1, 1, it, "init", 1);
	fk_w32(k, fk_task(k, 2, 2, it, "kthreadd", 1) + FK_TASK_FLAGS,
	       PF_KTHREAD);
	fk_task(k, 10, 10, init, "a", 1);
	fk_task(k, 11, 11, init, "b", 1);
	fk_task(k, 12, 12, init, "c", 1);
	for (uint64_t t = init; t < init + 5 * FK_TASK_SIZE; t += FK_TASK_SIZE)
		fk_w64(k, t + FK_TASK_CRED, cred);
	m = fk_alloc(k, FK_MOD_SIZE);
	fk_wstr(k, m + FK_MOD_NAME, "crc7");
	fk_list_add_tail(k, fk_sym(FK_SYM_MODULES), m + FK_MOD_LIST);
}

struct outer {
	struct qvmi_linux *lx;
	int seen, found, inner_tasks, inner_mods;
	int32_t pids[8];
};

static int inner_count(const struct qvmi_linux_task *t, void *arg)
{
	(void)t;
	++*(int *)arg;
	return 0;
}

static int outer_task(const struct qvmi_linux_task *t, void *arg)
{
	struct outer *o = arg;
	struct qvmi_linux_task f;
	struct qvmi_linux_task_list l;
	struct qvmi_linux_module_list ml;
	int n = 0;

	if (o->seen < 8)
		o->pids[o->seen] = t->pid;
	o->seen++;
	/* a lookup, a nested foreach, a collected list and the module
	 * walk, all on the handle the outer walk is using */
	if (!qvmi_linux_task_find(o->lx, t->pid, 0, &f) && f.pid == t->pid &&
	    f.addr == t->addr && !strcmp(f.comm, t->comm))
		o->found++;
	if (!qvmi_linux_task_foreach(o->lx, 0, inner_count, &n))
		o->inner_tasks += n;
	if (!qvmi_linux_tasks(o->lx, 0, &l))
		o->inner_tasks += (int)l.n;
	qvmi_linux_task_list_deinit(&l);
	if (!qvmi_linux_modules(o->lx, &ml))
		o->inner_mods += (int)ml.n;
	qvmi_linux_module_list_deinit(&ml);
	return 0;
}

static void test_task_walk(void)
{
	static const int32_t want[] = { 0, 1, 2, 10, 11, 12 };
	struct fk k;
	struct outer o = { 0 };

	world(&k);
	o.lx = k.lx;
	CHECK_OK(qvmi_linux_task_foreach(k.lx, 0, outer_task, &o));
	CHECK_INT(o.seen, ==, 6);
	for (int i = 0; i < 6 && i < o.seen; i++)
		CHECK_INT(o.pids[i], ==, want[i]);
	CHECK_INT(o.found, ==, 6);
	CHECK_INT(o.inner_tasks, ==, 6 * 12);
	CHECK_INT(o.inner_mods, ==, 6);
	fk_destroy(&k);
	free(k.mem);
}

/* The same from inside a dmesg record and a find hit. */
struct rec_arg {
	struct qvmi_linux *lx;
	int recs, found;
};

static int on_rec(const struct qvmi_linux_log_rec *r, void *arg)
{
	struct rec_arg *a = arg;
	struct qvmi_linux_task t;

	(void)r;
	a->recs++;
	if (!qvmi_linux_task_find(a->lx, 12, 0, &t) && !strcmp(t.comm, "c"))
		a->found++;
	return 0;
}

static void test_dmesg(void)
{
	struct fk k;
	struct rec_arg a = { 0 };
	uint64_t rb, descs, infos, data;

	world(&k);
	a.lx = k.lx;
	/* one finalized record, id 1, "hello" (layout: fake-kernel.h) */
	rb = fk_alloc(&k, FK_PRB_SIZE);
	descs = fk_alloc(&k, 4 * FK_PRB_DESC_SIZE);
	infos = fk_alloc(&k, 4 * FK_PRB_INFO_SIZE);
	data = fk_alloc(&k, 128);
	fk_w64(&k, fk_sym(FK_SYM_PRB), rb);
	fk_w32(&k, rb + FK_PRB_COUNT_BITS, 2);
	fk_w64(&k, rb + FK_PRB_DESCS, descs);
	fk_w64(&k, rb + FK_PRB_INFOS, infos);
	fk_w64(&k, rb + FK_PRB_TAIL_ID, 1);
	fk_w64(&k, rb + FK_PRB_HEAD_ID, 1);
	fk_w32(&k, rb + FK_PRB_SIZE_BITS, 7);
	fk_w64(&k, rb + FK_PRB_DATA, data);
	fk_w64(&k, descs + FK_PRB_DESC_SIZE, 2ull << 62 | 1);
	fk_w64(&k, descs + FK_PRB_DESC_SIZE + 8, 0);
	fk_w64(&k, descs + FK_PRB_DESC_SIZE + 16, 24);
	fk_w64(&k, infos + FK_PRB_INFO_SIZE, 1);
	fk_w32(&k, infos + FK_PRB_INFO_SIZE + 16, 5 | 6u << 29);
	fk_w64(&k, data, 1);
	memcpy(fk_ptr(&k, data + 8), "hello", 5);
	CHECK_INT(qvmi_linux_dmesg(k.lx, on_rec, &a), ==, 1);
	CHECK_INT(a.recs, ==, 1);
	CHECK_INT(a.found, ==, 1);
	fk_destroy(&k);
	free(k.mem);
}

struct find_arg {
	struct qvmi_ctx *ctx;
	int hits, read_ok, nested;
};

static int count_hit(uint64_t gpa, void *arg)
{
	(void)gpa;
	++*(int *)arg;
	return 0;
}

static int on_hit(uint64_t gpa, void *arg)
{
	struct find_arg *a = arg;
	char b[8];
	int n = 0;

	a->hits++;
	if (!qvmi_read_pa(a->ctx, gpa, b, 8) && !memcmp(b, "QVMIMARK", 8))
		a->read_ok++;
	if (!qvmi_find_pa(a->ctx, "QVMIMARK", 8, count_hit, &n))
		a->nested += n;
	return 0;
}

static void test_find(void)
{
	static uint8_t mem[1 << 20];
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_source *s = NULL;
	struct find_arg a = { 0 };

	memcpy(mem + 0x1000, "QVMIMARK", 8);
	memcpy(mem + 0x80000 - 3, "QVMIMARK", 8); /* across a page */
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_source_testmem_create(ctx, mem, sizeof(mem), 0, &s));
	CHECK_OK(qvmi_map_add(ctx, s, 0, sizeof(mem), 0));
	a.ctx = ctx;
	CHECK_OK(qvmi_find_pa(ctx, "QVMIMARK", 8, on_hit, &a));
	CHECK_INT(a.hits, ==, 2);
	CHECK_INT(a.read_ok, ==, 2);
	CHECK_INT(a.nested, ==, 4);
	qvmi_ctx_destroy(ctx);
}

/* libbpf's print callback is process-wide: qvmi routes it once and passes
 * on what is not from its own parses, instead of swapping it around each
 * parse (which raced with other threads and hid the application's). */
static int app_lines;

static int app_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	app_lines++;
	return 0;
}

static int ctx_lines;

static void ctx_log(enum qvmi_log_level level, const char *msg, void *arg)
{
	(void)level, (void)arg;
	if (!strncmp(msg, "libbpf: ", 8))
		ctx_lines++;
}

static void test_libbpf_print(void)
{
	/* a header qvmi accepts, a type kind libbpf refuses (kind 31) */
	static const uint32_t blob[] = { 0x0001eb9f, 24, 0,	     12, 12,
					 4,	     0,	 0x1f000000, 0,	 0 };
	libbpf_print_fn_t before = libbpf_set_print(app_print);
	struct qvmi_ctx *ctx = NULL;
	struct btf *b = NULL;
	int lines;

	CHECK_OK(qvmi_ctx_create(&ctx));
	qvmi_set_log(ctx, ctx_log, NULL, QVMI_LOG_DEBUG);
	CHECK_INT(qvmi__btf_load(ctx, blob, sizeof(blob), &b), ==, -EBADMSG);
	CHECK_MSG(ctx_lines > 0, "%s app %d", qvmi_errmsg(ctx), app_lines);
	lines = app_lines;
	/* the application's own libbpf call still reaches its callback */
	CHECK(!btf__new(blob, sizeof(blob)));
	CHECK(app_lines > lines);
	qvmi_ctx_destroy(ctx);
	libbpf_set_print(before);
}

static const struct qvmi_test reentry_tests[] = {
	{ "task_walk", test_task_walk },
	{ "dmesg", test_dmesg },
	{ "find", test_find },
	{ "libbpf_print", test_libbpf_print },
};
QVMI_SUITE(reentry, reentry_tests);
