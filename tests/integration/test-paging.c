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

enum {
	PATH_MAX_LEN = 512,
	LINE_MAX_LEN = 4096,
	MAX_MARKERS = 8,
	MARK_LEN = 128,
	MAX_PGDS = 4096,
};

/* A user process's ground truth (guest/init: /proc/PID/pagemap). */
struct marker {
	int pid;
	uint64_t heap_va, heap_pa, stack_va, stack_pa;
	char heap[MARK_LEN];
};

struct live {
	char qmp[PATH_MAX_LEN];
	char serial[PATH_MAX_LEN];
	uint64_t banner_va, text_va;
	char banner[LINE_MAX_LEN];
	struct marker mk[MAX_MARKERS];
	int nmk;
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

/* "QVMI-GT marker PID COMM heap_va=0x.. heap_pa=0x.. stack_va=0x..
 * stack_pa=0x.. heap=STRING stack=STRING" */
static void parse_marker(struct live *g, const char *line)
{
	struct marker *m = &g->mk[g->nmk];
	unsigned long long hv, hp, sv, sp;
	char comm[64];

	if (sscanf(line,
		   "QVMI-GT marker %d %63s heap_va=%llx heap_pa=%llx "
		   "stack_va=%llx stack_pa=%llx heap=%127s",
		   &m->pid, comm, &hv, &hp, &sv, &sp, m->heap) != 7)
		return;
	m->heap_va = hv;
	m->heap_pa = hp;
	m->stack_va = sv;
	m->stack_pa = sp;
	g->nmk++;
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
		} else if (!strncmp(line, "QVMI-GT marker ", 15) &&
			   g->nmk < MAX_MARKERS) {
			parse_marker(g, line);
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

/*
 * Top-level tables of every address space: pages whose kernel half (entries
 * 256..511) equals that of the kernel's.  Read in 1 MiB chunks, so a
 * sparse shared-RAM file is read with pread, not faulted in.
 */
static size_t find_pgds(struct qvmi_ctx *ctx, uint64_t kpgd, uint64_t *ret)
{
	static uint8_t chunk[1 << 20];
	uint8_t top[2048];
	size_t n = 0, i;

	CHECK_OK(qvmi_read_pa(ctx, kpgd + 2048, top, sizeof(top)));
	for (i = 0; i < qvmi_ram_count(ctx); i++) {
		struct qvmi_ram_range r;

		CHECK_OK(qvmi_ram_get(ctx, i, &r));
		for (uint64_t off = 0; off + sizeof(chunk) <= r.size;
		     off += sizeof(chunk)) {
			if (qvmi_read_pa(ctx, r.gpa + off, chunk,
					 sizeof(chunk)))
				continue;
			for (size_t p = 0; p < sizeof(chunk) && n < MAX_PGDS;
			     p += 4096)
				if (!memcmp(chunk + p + 2048, top, sizeof(top)))
					ret[n++] = r.gpa + off + p;
		}
	}
	return n;
}

/* User memory of the marker processes: 4 KiB pages, user, writable,
 * no-execute, at the physical address the guest's pagemap gave. */
static void test_user_markers(void)
{
	static uint64_t pgds[MAX_PGDS];
	struct qvmi_translation t;
	struct qvmi_regs_x86 r;
	char buf[QVMI_STR_MAX];
	struct qvmi_ctx *ctx;
	struct live g;
	size_t npgd;

	live_get(&g);
	if (!g.nmk)
		SKIP("no QVMI-GT marker lines in %s", g.serial);
	ctx = attach(&g);
	CHECK_OK(qvmi_get_regs(ctx, 0, &r));
	npgd = find_pgds(
		ctx, check_banner(ctx, &g, r.cr3, 0) & 0x000ffffffffff000ull,
		pgds);
	qvmi_test_note("%zu address spaces found", npgd);
	for (int m = 0; m < g.nmk; m++) {
		const struct marker *mk = &g.mk[m];
		size_t i;

		for (i = 0; i < npgd; i++)
			if (!qvmi_translate_ex(ctx, pgds[i], mk->heap_va, &t) &&
			    t.pa == mk->heap_pa)
				break;
		CHECK_MSG(i < npgd,
			  "pid %d: no address space maps heap 0x%" PRIx64
			  " to 0x%" PRIx64,
			  mk->pid, mk->heap_va, mk->heap_pa);
		CHECK_U64(t.page_size, ==, 4096);
		CHECK_INT(t.flags, ==, QVMI_PTE_W | QVMI_PTE_U | QVMI_PTE_NX);
		CHECK_OK(qvmi_read_str_va(ctx, pgds[i], mk->heap_va, buf,
					  sizeof(buf)));
		CHECK_STR(buf, mk->heap);
		CHECK_OK(qvmi_translate_ex(ctx, pgds[i], mk->stack_va, &t));
		CHECK_U64(t.pa, ==, mk->stack_pa);
		CHECK_INT(t.flags, ==, QVMI_PTE_W | QVMI_PTE_U | QVMI_PTE_NX);
		qvmi_test_note("pid %d: pgd 0x%" PRIx64 " heap 0x%" PRIx64
			       " -> 0x%" PRIx64 " \"%.30s\"",
			       mk->pid, pgds[i], mk->heap_va, mk->heap_pa, buf);
	}
	qvmi_ctx_destroy(ctx);
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
	{ "user_markers", test_user_markers },
};
QVMI_SUITE(paging_live, paging_live_tests);

/* Claimed by the "la57" configuration (a -cpu max guest). */
static const struct qvmi_test la57_tests[] = {
	{ "banner_5level", test_la57_banner },
};
QVMI_SUITE(la57, la57_tests);
