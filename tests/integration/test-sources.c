// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Issue 2 acceptance on the shared demo guest: every memory source (shared
 * RAM, QEMU process memory, QMP xp, QEMU's own ELF dump, our raw dump)
 * returns the same bytes for the kernel banner and for a marker in a guest
 * process's heap (checked against what the guest itself printed), and
 * writes through one live source are seen by another.  test-livemem.c
 * compares the live sources page by page and covers faults past RAM.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "guest.h"
#include "harness.h"
#include "qvmi.h"
#include "core/internal.h"
#include "proto/qmp.h"

static const struct qvmi_guest *need_guest(void)
{
	const struct qvmi_guest *g = guest_get();

	if (!g)
		SKIP("no demo guest (QVMI_GUEST_DIR unset)");
	return g;
}

static struct qvmi_ctx *attach_live(unsigned int sources)
{
	const struct qvmi_guest *g = need_guest();
	QVMI_OPTS(qvmi_attach_opts, opts, .sources = sources,
		  .timeout_ms = 60000); /* dump-guest-memory takes seconds */
	struct qvmi_ctx *ctx = NULL;
	int err;

	CHECK_OK(qvmi_ctx_create(&ctx));
	err = qvmi_attach_qmp(ctx, g->qmp, &opts);
	CHECK_MSG(!err, "attach %#x: %s", sources, qvmi_errmsg(ctx));
	return ctx;
}

/* The one marker process the tests use: the first with a heap marker whose
 * 128-byte buffer does not cross a page (so heap_pa covers it all). */
static const struct guest_marker *marker(void)
{
	const struct guest_marker *m;
	size_t n, i;

	guest_markers(&m, &n);
	for (i = 0; i < n; i++)
		if ((m[i].heap_va & 0xfff) + 128 <= 0x1000 && m[i].heap_pa)
			return &m[i];
	SKIP("no marker with a page-contained heap buffer");
}

static int first_hit(uint64_t gpa, void *arg)
{
	*(uint64_t *)arg = gpa;
	return 1;
}

/* GPA of the banner text: found by scanning (the ground truth is the text
 * /proc/version printed, which must be at that address). */
static uint64_t banner_gpa(struct qvmi_ctx *ctx, const char **text)
{
	const char *b = guest_banner();
	uint64_t gpa = UINT64_MAX;

	CHECK_MSG(b && strlen(b) > 20, "guest printed no banner");
	CHECK_INT(qvmi_find_pa(ctx, b, strlen(b), first_hit, &gpa), ==, 1);
	*text = b;
	return gpa;
}

struct sample {
	uint64_t banner_gpa;
	size_t banner_len;
	char banner[512];
	char heap[128];
};

static void sample_read(struct qvmi_ctx *ctx, const struct sample *want,
			const char *what)
{
	const struct guest_marker *m = marker();
	char b[512], h[128];
	int err;

	err = qvmi_read_pa(ctx, want->banner_gpa, b, want->banner_len);
	CHECK_MSG(!err, "%s: banner read: %s", what, qvmi_errmsg(ctx));
	CHECK_MSG(!memcmp(b, want->banner, want->banner_len),
		  "%s: banner differs", what);
	err = qvmi_read_pa(ctx, m->heap_pa, h, sizeof(h));
	CHECK_MSG(!err, "%s: heap read: %s", what, qvmi_errmsg(ctx));
	CHECK_MSG(!memcmp(h, want->heap, sizeof(h)), "%s: heap differs", what);
}

static struct sample truth;

static void take_truth(void)
{
	const struct guest_marker *m = marker();
	struct qvmi_ctx *ctx = attach_live(QVMI_SRC_SHM);
	const char *text;

	truth.banner_gpa = banner_gpa(ctx, &text);
	truth.banner_len = strlen(text);
	CHECK_OK(qvmi_read_pa(ctx, truth.banner_gpa, truth.banner,
			      truth.banner_len));
	CHECK_OK(qvmi_read_pa(ctx, m->heap_pa, truth.heap, sizeof(truth.heap)));
	/* ground truth from the guest itself */
	CHECK_MSG(!strcmp(truth.heap, m->heap),
		  "heap marker at 0x%llx is "
		  "\"%.60s\", guest says \"%s\"",
		  (unsigned long long)m->heap_pa, truth.heap, m->heap);
	qvmi_ctx_destroy(ctx);
}

static void test_shm(void)
{
	struct qvmi_ctx *ctx;
	struct qvmi_vm_info vi;

	take_truth();
	ctx = attach_live(QVMI_SRC_SHM);
	CHECK_OK(qvmi_vm_info(ctx, &vi));
	CHECK_INT(vi.pid, ==, need_guest()->pid);
	CHECK_INT(vi.vcpus, ==, 2);
	CHECK(strstr(vi.qemu_version, "7.") || strstr(vi.qemu_version, "8.") ||
	      strstr(vi.qemu_version, "9."));
	sample_read(ctx, &truth, "shm");
	qvmi_ctx_destroy(ctx);
}

static void test_each_live_source(void)
{
	static const struct {
		unsigned int mask;
		const char *name;
	} srcs[] = { { QVMI_SRC_PROCMEM, "procmem" }, { QVMI_SRC_XP, "xp" } };
	size_t i;

	if (!truth.banner_len)
		take_truth();
	for (i = 0; i < QVMI_ARRAY_SIZE(srcs); i++) {
		struct qvmi_ctx *ctx = attach_live(srcs[i].mask);
		struct qvmi_map_entry e;

		/* the map really is served by that source alone */
		CHECK_OK(qvmi_map_get(ctx, 0, &e));
		CHECK_STR(e.source, srcs[i].name);
		sample_read(ctx, &truth, srcs[i].name);
		qvmi_ctx_destroy(ctx);
	}
}

/* Write through one live source, read through another; restore.  QEMU's
 * QMP socket serves one client at a time, so the contexts take turns. */
static void cross_write(unsigned int wmask, unsigned int rmask)
{
	const struct guest_marker *m = marker();
	uint64_t pa = m->heap_pa + 100; /* unused tail of the 128-byte buffer */
	char orig[16], got[16], pat[16];
	struct qvmi_ctx *c;

	snprintf(pat, sizeof(pat), "qvmi-w%02x-r%02x!", wmask, rmask);
	c = attach_live(wmask);
	CHECK_OK(qvmi_read_pa(c, pa, orig, sizeof(orig)));
	CHECK_OK(qvmi_write_pa(c, pa, pat, sizeof(pat)));
	qvmi_ctx_destroy(c);
	c = attach_live(rmask);
	CHECK_OK(qvmi_read_pa(c, pa, got, sizeof(got)));
	qvmi_ctx_destroy(c);
	c = attach_live(wmask);
	CHECK_OK(qvmi_write_pa(c, pa, orig, sizeof(orig)));
	qvmi_ctx_destroy(c);
	CHECK_MSG(!memcmp(got, pat, sizeof(pat)), "write %#x not seen by %#x",
		  wmask, rmask);
}

static void test_cross_writes(void)
{
	cross_write(QVMI_SRC_SHM, QVMI_SRC_PROCMEM);
	cross_write(QVMI_SRC_PROCMEM, QVMI_SRC_SHM);
	cross_write(QVMI_SRC_PROCMEM, QVMI_SRC_XP);
}

static void test_dumps(void)
{
	const struct qvmi_guest *g = need_guest();
	struct qvmi_ctx *live = attach_live(QVMI_SRC_SHM), *d = NULL;
	struct json_object *args;
	char elf[512], raw[512], proto[600];
	struct qvmi_regs_x86 lr, dr;
	QVMI_OPTS(qvmi_dump_write_opts, wopts, .format = QVMI_DUMP_RAW);
	int err;

	if (!truth.banner_len)
		take_truth();
	snprintf(elf, sizeof(elf), "%s/itest-qemu.elf", g->dir);
	snprintf(raw, sizeof(raw), "%s/itest-qvmi.raw", g->dir);
	/* A consistent image: pause, let QEMU dump, dump ourselves. */
	CHECK_OK(qvmi_vm_pause(live));
	args = json_object_new_object();
	json_object_object_add(args, "paging", json_object_new_boolean(0));
	snprintf(proto, sizeof(proto), "file:%s", elf);
	json_object_object_add(args, "protocol", json_object_new_string(proto));
	err = qvmi__qmp_execute(live->qmp, "dump-guest-memory", args, NULL);
	json_object_put(args);
	CHECK_MSG(!err, "dump-guest-memory: %s", qvmi_errmsg(live));
	err = qvmi_dump_write(live, raw, &wopts);
	CHECK_MSG(!err, "qvmi_dump_write: %s", qvmi_errmsg(live));
	CHECK_OK(qvmi_get_regs(live, 0, &lr));
	CHECK_OK(qvmi_vm_resume(live));

	CHECK_OK(qvmi_ctx_create(&d));
	err = qvmi_attach_dump(d, elf, NULL);
	CHECK_MSG(!err, "ELF attach: %s", qvmi_errmsg(d));
	sample_read(d, &truth, "QEMU ELF dump");
	/* registers taken while paused equal the dump's notes */
	CHECK_OK(qvmi_get_regs(d, 0, &dr));
	CHECK_U64(dr.cr3, ==, lr.cr3);
	CHECK_U64(dr.rip, ==, lr.rip);
	qvmi_ctx_destroy(d);

	CHECK_OK(qvmi_ctx_create(&d));
	err = qvmi_attach_dump(d, raw, NULL);
	CHECK_MSG(!err, "raw attach: %s", qvmi_errmsg(d));
	sample_read(d, &truth, "raw dump");
	qvmi_ctx_destroy(d);
	qvmi_ctx_destroy(live);
	unlink(elf);
	unlink(raw);
}

static const struct qvmi_test sources_tests[] = {
	{ "shm", test_shm },
	{ "each_live_source", test_each_live_source },
	{ "cross_writes", test_cross_writes },
	{ "dumps", test_dumps },
};
QVMI_SUITE(sources, sources_tests);
