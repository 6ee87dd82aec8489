// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Guest-virtual memory on a real guest: CR3 from every vCPU, linux_banner's
 * address from the guest's own /proc/kallsyms, "Linux version" read back
 * through the page tables; the same on a 5-level (-cpu max) guest.
 *
 * The guest is named by QVMI_GUEST_DIR (tests/integration/run: DIR/guest.env
 * gives "qmp=" and "serial=") or by QVMI_GUEST_QMP + QVMI_GUEST_SERIAL.  The
 * serial log must hold the line "QVMI-GT ksym <hex> <type> linux_banner"
 * (guest/init prints it); "QVMI-GT banner <text>" is compared when present.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "qvmi.h"

/* Weak: this file links even where attaching is not built yet. */
#pragma weak qvmi_attach_qmp

enum { PATH_MAX_LEN = 512, LINE_MAX_LEN = 4096 };

struct live {
	char qmp[PATH_MAX_LEN];
	char serial[PATH_MAX_LEN];
	uint64_t banner_va, text_va;
	char banner[LINE_MAX_LEN];
};

/* A path too long for us is dropped (the test then skips). */
static void copy_path(char *dst, const char *src)
{
	size_t n = strlen(src);

	dst[0] = '\0';
	if (n < PATH_MAX_LEN)
		memcpy(dst, src, n + 1);
}

/* key=value lines of DIR/guest.env (scripts/demo-guest). */
static void read_env_file(struct live *g, const char *dir)
{
	char path[PATH_MAX_LEN], line[LINE_MAX_LEN];
	FILE *f;

	snprintf(path, sizeof(path), "%s/guest.env", dir);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "qmp=", 4))
			copy_path(g->qmp, line + 4);
		else if (!strncmp(line, "serial=", 7))
			copy_path(g->serial, line + 7);
	}
	fclose(f);
}

static void read_serial(struct live *g)
{
	char line[LINE_MAX_LEN], name[128], type;
	unsigned long long addr;
	FILE *f = fopen(g->serial, "r");
	int lines = 0;

	if (!f)
		return;
	/* Bounded: a runaway log is not read past 1M lines. */
	while (lines++ < (1 << 20) && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (sscanf(line, "QVMI-GT ksym %llx %c %127s", &addr, &type,
			   name) == 3) {
			if (!strcmp(name, "linux_banner"))
				g->banner_va = addr;
			else if (!strcmp(name, "_text"))
				g->text_va = addr;
		} else if (!strncmp(line, "QVMI-GT banner ", 15)) {
			snprintf(g->banner, sizeof(g->banner), "%s", line + 15);
		}
	}
	fclose(f);
}

static void live_get(struct live *g)
{
	const char *dir = getenv("QVMI_GUEST_DIR");

	memset(g, 0, sizeof(*g));
	if (!qvmi_attach_qmp)
		SKIP("qvmi_attach_qmp is not built in");
	if (getenv("QVMI_GUEST_QMP")) {
		copy_path(g->qmp, getenv("QVMI_GUEST_QMP"));
		copy_path(g->serial, getenv("QVMI_GUEST_SERIAL") ?
					     getenv("QVMI_GUEST_SERIAL") :
					     "");
	} else if (dir) {
		read_env_file(g, dir);
	}
	if (!g->qmp[0] || !g->serial[0])
		SKIP("no guest: set QVMI_GUEST_DIR, or QVMI_GUEST_QMP and "
		     "QVMI_GUEST_SERIAL");
	read_serial(g);
	if (!g->banner_va)
		SKIP("serial log %s has no linux_banner ksym line", g->serial);
}

static struct qvmi_ctx *attach(const struct live *g)
{
	struct qvmi_ctx *ctx = NULL;
	int err;

	CHECK_OK(qvmi_ctx_create(&ctx));
	err = qvmi_attach_qmp(ctx, g->qmp, NULL);
	CHECK_MSG(!err, "attach %s: %d %s", g->qmp, err, qvmi_errmsg(ctx));
	return ctx;
}

/* Read linux_banner through cr3 and compare it with the guest's words;
 * returns the CR3 that maps the kernel. */
static uint64_t check_banner(struct qvmi_ctx *ctx, const struct live *g,
			     uint64_t cr3, unsigned int vcpu)
{
	struct qvmi_translation t;
	char buf[QVMI_STR_MAX];
	int err, n;

	err = qvmi_translate_ex(ctx, cr3, g->banner_va, &t);
	/* PTI: a vCPU in user mode runs on the user half of an 8 KiB PGD
	 * pair, which does not map the kernel image. */
	if (err == -EFAULT && (cr3 & 0x1000)) {
		qvmi_test_note("vCPU %u: user CR3 0x%" PRIx64
			       ", using kernel's",
			       vcpu, cr3);
		cr3 &= ~0x1fffull;
		err = qvmi_translate_ex(ctx, cr3, g->banner_va, &t);
	}
	CHECK_MSG(!err, "vCPU %u: translate 0x%" PRIx64 ": %s", vcpu,
		  g->banner_va, qvmi_errmsg(ctx));
	CHECK_U64(t.pa & 0xfff, ==, g->banner_va & 0xfff);
	CHECK(!(t.flags & QVMI_PTE_U)); /* kernel data */
	n = qvmi_read_str_va(ctx, cr3, g->banner_va, buf, sizeof(buf));
	CHECK_MSG(n > 0, "vCPU %u: read_str_va: %d %s", vcpu, n,
		  qvmi_errmsg(ctx));
	CHECK_MSG(!strncmp(buf, "Linux version ", 14), "banner \"%.60s\"", buf);
	buf[strcspn(buf, "\n")] = '\0';
	if (g->banner[0])
		CHECK_STR(buf, g->banner);
	qvmi_test_note("vCPU %u: CR3 0x%" PRIx64 " va 0x%" PRIx64
		       " -> pa 0x%" PRIx64 " (%" PRIu64 " KiB page): %.40s",
		       vcpu, cr3, g->banner_va, t.pa, t.page_size >> 10, buf);
	return cr3;
}

struct find_va {
	uint64_t va;
	struct qvmi_page_range hit;
	int found;
	uint64_t first_text; /* first mapped 2 MiB page at >= -2 GiB */
};

static int find_range(const struct qvmi_page_range *r, void *arg)
{
	struct find_va *f = arg;

	if (r->va <= f->va && f->va - r->va < r->size) {
		f->hit = *r;
		f->found = 1;
	}
	if (!f->first_text && r->va >= 0xffffffff80000000ull &&
	    r->page_size == (2u << 20))
		f->first_text = r->va;
	return 0;
}

/*
 * The translation cache on a live VM, through process memory (no host
 * mapping, so AUTO mode caches while paused): hits while paused, none
 * after a resume.
 */
static void check_tlb_live(const struct live *g, uint64_t kcr3, uint64_t pa)
{
	struct qvmi_attach_opts o = { sizeof(o), QVMI_SRC_PROCMEM, 0 };
	struct qvmi_tlb_stats s0, s1;
	struct qvmi_ctx *ctx = NULL;
	uint64_t pa2;
	int err;

	CHECK_OK(qvmi_ctx_create(&ctx));
	err = qvmi_attach_qmp(ctx, g->qmp, &o);
	if (err) {
		qvmi_test_note("process memory attach: %s; TLB check skipped",
			       qvmi_errmsg(ctx));
		qvmi_ctx_destroy(ctx);
		return;
	}
	CHECK_OK(qvmi_vm_pause(ctx));
	qvmi_tlb_stats(ctx, &s0);
	CHECK_OK(qvmi_translate(ctx, kcr3, g->banner_va, &pa2));
	CHECK_U64(pa2, ==, pa);
	CHECK_OK(qvmi_translate(ctx, kcr3, g->banner_va, &pa2));
	qvmi_tlb_stats(ctx, &s1);
	CHECK_U64(s1.hits - s0.hits, ==, 1);
	CHECK_U64(pa2, ==, pa);
	CHECK_OK(qvmi_vm_resume(ctx));
	CHECK_OK(qvmi_translate(ctx, kcr3, g->banner_va, &pa2));
	CHECK_OK(qvmi_translate(ctx, kcr3, g->banner_va, &pa2));
	qvmi_tlb_stats(ctx, &s0);
	CHECK_U64(s0.hits, ==, s1.hits);
	CHECK_U64(pa2, ==, pa);
	qvmi_ctx_destroy(ctx);
}

static void run_guest(bool want_la57)
{
	struct qvmi_regs_x86 r;
	enum qvmi_paging_mode mode, want;
	struct find_va f = { 0 };
	struct qvmi_ctx *ctx;
	struct live g;
	uint64_t pa, kcr3 = 0;
	int n;

	live_get(&g);
	ctx = attach(&g);
	CHECK_OK(qvmi_get_regs(ctx, 0, &r));
	if (want_la57 && !(r.cr4 & (1u << 12))) {
		qvmi_ctx_destroy(ctx);
		SKIP("guest runs without CR4.LA57 (boot it with -cpu max)");
	}
	want = (r.cr4 & (1u << 12)) ? QVMI_PAGING_5LEVEL : QVMI_PAGING_4LEVEL;
	CHECK_OK(qvmi_paging_mode_from_regs(&r, &mode));
	CHECK_INT(mode, ==, want);
	/* AUTO derives the same from vCPU 0 */
	CHECK_OK(qvmi_get_paging_mode(ctx, &mode));
	CHECK_INT(mode, ==, want);
	n = qvmi_vcpu_count(ctx);
	CHECK_INT(n, >=, 1);
	for (int i = 0; i < n; i++) {
		CHECK_OK(qvmi_get_regs(ctx, (unsigned int)i, &r));
		CHECK(r.valid & QVMI_REGS_CR);
		pa = check_banner(ctx, &g, r.cr3, (unsigned int)i);
		if (!i)
			kcr3 = pa;
	}
	/* the address-space enumeration agrees with the walk */
	CHECK_OK(qvmi_translate(ctx, kcr3, g.banner_va, &pa));
	f.va = g.banner_va;
	CHECK_OK(qvmi_pages(ctx, kcr3, find_range, &f));
	CHECK(f.found);
	CHECK_U64(f.hit.pa + (g.banner_va - f.hit.va), ==, pa);
	if (g.text_va)
		CHECK_U64(f.first_text, ==, g.text_va);
	qvmi_ctx_destroy(ctx);
	check_tlb_live(&g, kcr3, pa);
}

static void test_banner(void)
{
	run_guest(false);
}

static void test_la57_banner(void)
{
	run_guest(true);
}

static const struct qvmi_test paging_live_tests[] = {
	{ "banner_every_vcpu", test_banner },
};
QVMI_SUITE(paging_live, paging_live_tests);

/* Claimed by the "la57" configuration (a -cpu max guest). */
static const struct qvmi_test la57_tests[] = {
	{ "banner_5level", test_la57_banner },
};
QVMI_SUITE(la57, la57_tests);
