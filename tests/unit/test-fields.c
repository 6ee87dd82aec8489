// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The views' field sets (src/os/linux/views.c): every view's set on every
 * layout the synthetic kernel models plans, holds every field and ends
 * inside its struct (a fixed budget of 16 fields made lsmod empty on
 * every kernel since 6.4); sets of any size plan; spans merge; the visited
 * set grows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake-kernel.h"
#include "harness.h"
#include "qvmi.h"
#include "os/linux/views.h"

#define MEM (8u << 20)

/*
 * Every view's field set on every layout the fake models: it must plan
 * (no "too many fields", no field past the buffer), hold every field the
 * view asked for, and end inside the struct.  FK_NEW's struct module has
 * the 6.4+ mem[7] (3 + 2 * 7 = 17 fields), which a fixed budget of 16
 * refused: lsmod was empty on every kernel since 6.4.
 */
static void check_fields(struct qvmi_linux *lx, const char *what,
			 int (*fn)(struct qvmi_linux *,
				   struct qvmi_lx_fields_info *),
			 unsigned int nfields, uint32_t size)
{
	struct qvmi_lx_fields_info fi = { 0 };
	int err = fn(lx, &fi);

	CHECK_MSG(!err, "%s: %d %s", what, err, qvmi_errmsg(lx->ctx));
	CHECK_MSG(fi.nfields == nfields, "%s: %u fields, want %u", what,
		  fi.nfields, nfields);
	CHECK_MSG(fi.nspans >= 1 && fi.nspans <= fi.nfields, "%s: %u spans",
		  what, fi.nspans);
	CHECK_MSG(fi.end <= size, "%s: ends at %u of %u", what, fi.end, size);
}

static void test_field_budgets(void)
{
	static const struct {
		enum fk_variant v;
		unsigned int tasks, mods, vmas;
	} want[] = {
		/* 11 + signal + thread_node; 3 + 2 * FK_MOD_MEM_N; 8 */
		{ FK_NEW, 13, 3 + 2 * FK_MOD_MEM_N, 8 },
		/* 11 + thread_group; 3 + core/init_layout 4; 8 + vm_next */
		{ FK_OLD, 12, 7, 9 },
		/* i386 6.1: FK_NEW's tasks and vmas; core/init_layout */
		{ FK_I386, 13, 7, 8 },
		{ FK_I386_OLD, 12, 7, 9 },
	};

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(want); i++) {
		struct fk k;

		CHECK_OK(fk_create(&k, want[i].v, MEM));
		check_fields(k.lx, "tasks", qvmi__lx_tasks_fields,
			     want[i].tasks, k.L->task.size);
		check_fields(k.lx, "modules", qvmi__lx_modules_fields,
			     want[i].mods, k.L->mod.size);
		check_fields(k.lx, "vmas", qvmi__lx_vmas_fields, want[i].vmas,
			     k.L->vma.size);
		fk_destroy(&k);
		free(k.mem);
	}
}

static void test_seen_and_spans(void)
{
	struct qvmi_lx_seen s;
	struct qvmi_lx_fields f = { 0 };
	struct fk k;

	qvmi__lx_seen_init(&s);
	for (uint64_t i = 0; i < 5000; i++)
		CHECK_INT(qvmi__lx_seen_add(&s, 0xffff888000000000ull + i * 64),
			  ==, 0);
	CHECK_INT(qvmi__lx_seen_add(&s, 0xffff888000000000ull + 4999 * 64), ==,
		  1);
	CHECK_INT(qvmi__lx_seen_add(&s, 0xffff888000000000ull), ==, 1);
	qvmi__lx_seen_deinit(&s);

	CHECK_OK(fk_create(&k, FK_NEW, MEM));
	qvmi__lx_fields_add(&f, 2416, 4);
	qvmi__lx_fields_add(&f, 24, 4);
	qvmi__lx_fields_add(&f, 2420, 4);
	qvmi__lx_fields_add(&f, 2976, 16);
	CHECK_OK(qvmi__lx_fields_plan(k.lx, &f));
	CHECK_INT(f.nspans, ==, 3);
	CHECK_INT(f.span_off[0], ==, 24);
	CHECK_INT(f.span_off[1], ==, 2416);
	CHECK_INT(f.span_len[1], ==, 8);
	CHECK_INT(f.end, ==, 2992);
	/* past 16 KiB (the old fixed buffer): planned, sized from the
	 * layout; past 1 MiB: a damaged BTF, refused */
	qvmi__lx_fields_add(&f, 20000, 4);
	CHECK_OK(qvmi__lx_fields_plan(k.lx, &f));
	CHECK_INT(f.end, ==, 20004);
	qvmi__lx_fields_add(&f, 2u << 20, 4);
	CHECK_INT(qvmi__lx_fields_plan(k.lx, &f), ==, -E2BIG);
	qvmi__lx_fields_add(&f, UINT32_MAX - 1, 4); /* wraps */
	CHECK_INT(qvmi__lx_fields_plan(k.lx, &f), ==, -E2BIG);
	qvmi__lx_fields_deinit(&f);
	/* no count limit: 300 fields, every other one a span */
	for (uint32_t i = 0; i < 300; i++)
		qvmi__lx_fields_add(&f, (299 - i) * 200, i % 2 ? 8 : 4);
	CHECK_OK(qvmi__lx_fields_plan(k.lx, &f));
	CHECK_INT(f.nfields, ==, 300);
	CHECK_INT(f.nspans, ==, 300);
	CHECK_INT(f.span_off[299], ==, 299 * 200);
	CHECK_INT(f.end, ==, 299 * 200 + 4);
	qvmi__lx_fields_deinit(&f);
	CHECK_INT(f.nfields, ==, 0);
	fk_destroy(&k);
	free(k.mem);
}

static const struct qvmi_test fields_tests[] = {
	{ "field_budgets", test_field_budgets },
	{ "seen_and_spans", test_seen_and_spans },
};
QVMI_SUITE(fields, fields_tests);
