// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmid's narrow header (src/attach/qvmid.h): the accessors return what
 * the context holds, over testmem sources whose fields the test sets
 * (a file, host_ok, file_gone) as the shared-RAM source would.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "qvmi.h"
#include "core/internal.h"
#include "attach/qvmid.h"

static struct qvmi_ctx *new_ctx(void)
{
	struct qvmi_ctx *ctx = NULL;

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK(ctx);
	return ctx;
}

/* sa under sb: the map is sa, sb, sa again (a later registration wins). */
static void test_seg_views(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	static uint8_t a[0x3000], b[0x1000];
	struct qvmi_source *sa, *sb;
	struct qvmi_seg_view v[3], w;

	CHECK_OK(qvmi_source_testmem_create(ctx, a, sizeof(a), 1, &sa));
	CHECK_OK(qvmi_source_testmem_create(ctx, b, sizeof(b), 1, &sb));
	CHECK_OK(qvmi_map_add(ctx, sa, 0x10000, 0x3000, 0));
	CHECK_OK(qvmi_map_add(ctx, sb, 0x11000, 0x1000, 0));
	CHECK_INT(qvmi_map_count(ctx), ==, 3);
	for (size_t i = 0; i < 3; i++)
		CHECK_OK(qvmi__ctx_seg(ctx, i, &v[i]));
	CHECK_INT(qvmi__ctx_seg(ctx, 3, &w), ==, -ERANGE);
	CHECK_U64(v[0].start, ==, 0x10000);
	CHECK_U64(v[0].last, ==, 0x10fff);
	CHECK_U64(v[1].start, ==, 0x11000);
	CHECK_U64(v[1].last, ==, 0x11fff);
	CHECK_U64(v[2].start, ==, 0x12000);
	CHECK_U64(v[2].last, ==, 0x12fff);
	CHECK_U64(v[2].src_addr, ==, 0x2000);
	CHECK(v[0].src == sa && v[2].src == sa && v[1].src == sb);
	CHECK(!v[0].host && !v[1].host);
	CHECK_INT(v[0].file_fd, ==, -1);
	/* by address; a miss leaves the last error alone */
	CHECK_OK(qvmi__ctx_seg_at(ctx, 0x11800, &w));
	CHECK(w.src == sb && w.start == 0x11000);
	qvmi__err(ctx, -EIO, "earlier");
	CHECK_INT(qvmi__ctx_seg_at(ctx, 0x13000, &w), ==, -EFAULT);
	CHECK_INT(qvmi_errcode(ctx), ==, -EIO);
	CHECK(!qvmi__ctx_seg_gone(ctx, 0) && !qvmi__ctx_seg_gone(ctx, 9));
	qvmi_ctx_destroy(ctx);
}

static bool ok_answer, gone_answer;

static bool host_ok(struct qvmi_source *s, uint64_t addr, size_t len)
{
	(void)s, (void)addr, (void)len;
	return ok_answer;
}

static bool file_gone(struct qvmi_source *s)
{
	(void)s;
	return gone_answer;
}

/* qvmi__ctx_pa_host: the host mapping where one segment holds the range
 * and its source allows it; a gone file's bulk range says so. */
static void test_pa_host(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	static uint8_t ram[0x40000];
	struct qvmi_source *src;
	struct qvmi_seg_view v;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	bool gone = true;

	CHECK(fd >= 0);
	CHECK_OK(qvmi_source_testmem_create(ctx, ram, sizeof(ram), 1, &src));
	CHECK_OK(qvmi__map_add_host(ctx, src, 0x100000, sizeof(ram), 0, ram));
	/* no file, no host_ok: any mapped range */
	CHECK(qvmi__ctx_pa_host(ctx, 0x100010, 16, &gone) == ram + 0x10);
	CHECK(!gone);
	CHECK(!qvmi__ctx_pa_host(ctx, 0x13fff0, 32, &gone)); /* past the end */
	CHECK(!qvmi__ctx_pa_host(ctx, 0x200000, 16, &gone)); /* unmapped */
	/* a file without host_ok: its holes must not be touched */
	src->file_fd = fd;
	CHECK(!qvmi__ctx_pa_host(ctx, 0x100010, 16, &gone));
	CHECK_OK(qvmi__ctx_seg(ctx, 0, &v));
	CHECK_INT(v.file_fd, ==, fd);
	CHECK(v.host == ram);
	src->host_ok = host_ok;
	ok_answer = false;
	CHECK(!qvmi__ctx_pa_host(ctx, 0x100010, 16, &gone));
	ok_answer = true;
	CHECK(qvmi__ctx_pa_host(ctx, 0x100010, 16, &gone) == ram + 0x10);
	/* QEMU gone: bulk ranges fail, small ones still answer */
	src->file_gone = file_gone;
	gone_answer = true;
	CHECK(qvmi__ctx_seg_gone(ctx, 0));
	CHECK(!qvmi__ctx_pa_host(ctx, 0x100000, QVMI_BULK_MIN, &gone));
	CHECK(gone);
	CHECK(qvmi__ctx_pa_host(ctx, 0x100000, 4096, &gone) == ram);
	CHECK(!gone);
	gone_answer = false;
	CHECK(!qvmi__ctx_seg_gone(ctx, 0));
	CHECK(qvmi__ctx_pa_host(ctx, 0x100000, QVMI_BULK_MIN, &gone) == ram);
	src->file_fd = -1; /* ours to close */
	close(fd);
	qvmi_ctx_destroy(ctx);
}

static int get_regs(struct qvmi_ctl *c, unsigned int vcpu,
		    struct qvmi_regs_x86 *ret)
{
	(void)c, (void)vcpu, (void)ret;
	return -EIO;
}

static int vm_op(struct qvmi_ctl *c)
{
	(void)c;
	return -EIO;
}

static const struct qvmi_ctl_ops regs_only = { .name = "r",
					       .get_regs = get_regs };
static const struct qvmi_ctl_ops pause_only = { .name = "p", .pause = vm_op };
static const struct qvmi_ctl_ops both = { .name = "b",
					  .get_regs = get_regs,
					  .pause = vm_op,
					  .resume = vm_op };

static void test_ctl_caps(void)
{
	struct qvmi_ctx *ctx = new_ctx();

	CHECK_INT(qvmi__ctx_ctl_caps(ctx), ==, 0);
	CHECK_OK(qvmi__ctl_set(ctx, &regs_only, NULL));
	CHECK_INT(qvmi__ctx_ctl_caps(ctx), ==, QVMI_CTL_CAN_REGS);
	CHECK_OK(qvmi__ctl_set(ctx, &pause_only, NULL)); /* no resume */
	CHECK_INT(qvmi__ctx_ctl_caps(ctx), ==, 0);
	CHECK_OK(qvmi__ctl_set(ctx, &both, NULL));
	CHECK_INT(qvmi__ctx_ctl_caps(ctx), ==,
		  QVMI_CTL_CAN_REGS | QVMI_CTL_CAN_PAUSE);
	CHECK(!qvmi__ctl_gdb(ctx));
	qvmi_ctx_destroy(ctx);
}

/* A ctx with no QMP attach: no connection, no live layout, nothing to
 * poll; the flush generation moves with every flush. */
static void test_ctx_fields(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	uint64_t gen = qvmi__ctx_flush_gen(ctx);

	CHECK(!qvmi__ctx_qmp(ctx));
	CHECK_INT(qvmi__ctx_qemu_pid(ctx), ==, 0);
	CHECK(!qvmi__ctx_qemu_version(ctx));
	CHECK(!qvmi__ctx_layout_live(ctx));
	CHECK(!qvmi__ctx_layout_stale(ctx));
	qvmi__ctx_layout_poll(ctx); /* no-ops: must not crash */
	qvmi__ctx_layout_check(ctx);
	qvmi__map_stale(ctx); /* no layout: stays fresh */
	CHECK(!qvmi__ctx_layout_stale(ctx));
	CHECK_INT(qvmi__qmp_need(ctx), ==, -ENOTCONN);
	qvmi_cache_flush(ctx);
	CHECK_U64(qvmi__ctx_flush_gen(ctx), ==, gen + 1);
	qvmi_ctx_destroy(ctx);
}

static const struct qvmi_test qvmid_api_tests[] = {
	{ "seg_views", test_seg_views },
	{ "pa_host", test_pa_host },
	{ "ctl_caps", test_ctl_caps },
	{ "ctx_fields", test_ctx_fields },
};
QVMI_SUITE(qvmid_api, qvmid_api_tests);
