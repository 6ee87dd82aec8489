// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Free pages for kdump's dump level 16 (src/os/linux/freepages.c): the
 * VMCOREINFO layout, the scan of struct pages (6.1's page_type and the
 * top-byte form of later kernels, orders and alignment not trusted, an
 * unbacked memory map), and the kdump writer leaving them out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "qvmi.h"
#include "core/internal.h"
#include "dumpcore.h"
#include "fake-kernel.h"
#include "os/linux/freepages.h"

/* As Debian's 6.1.0-57-amd64 prints them. */
#define VMCI_61                                                \
	"OSRELEASE=6.1.0-fake\nPAGESIZE=4096\nSIZE(page)=64\n" \
	"OFFSET(page.flags)=0\nOFFSET(page._mapcount)=48\n"    \
	"OFFSET(page.private)=40\nNUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-129\n"

static void test_layout(void)
{
	struct qvmi__buddy b;

	CHECK_OK(qvmi__buddy_from_vmci(VMCI_61, 8, &b));
	CHECK_INT(b.page_size, ==, 64);
	CHECK_INT(b.mapcount_off, ==, 48);
	CHECK_INT(b.private_off, ==, 40);
	CHECK_U64(b.value, ==, 0xffffff7fu);
	CHECK_U64(b.mask, ==, 0xffffffffu);
	/* PGTY_buddy << 24, printed as a negative or an unsigned int */
	CHECK_OK(qvmi__buddy_from_vmci(
		"SIZE(page)=64\nOFFSET(page._mapcount)=48\nOFFSET(page."
		"private)=40\nNUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-268435456\n",
		8, &b));
	CHECK_U64(b.value, ==, 0xf0000000u);
	CHECK_U64(b.mask, ==, 0xff000000u);
	CHECK_OK(qvmi__buddy_from_vmci(
		"SIZE(page)=64\nOFFSET(page._mapcount)=48\nOFFSET(page."
		"private)=40\nNUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=4026531840\n",
		8, &b));
	CHECK_U64(b.value, ==, 0xf0000000u);
	/* 4.17 and before: -128 */
	CHECK_OK(qvmi__buddy_from_vmci(
		"SIZE(page)=56\nOFFSET(page._mapcount)=24\nOFFSET(page."
		"private)=48\nNUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-128\n",
		8, &b));
	CHECK_U64(b.value, ==, 0xffffff80u);
}

static int layout_err(const char *t)
{
	struct qvmi__buddy b;

	return qvmi__buddy_from_vmci(t, 8, &b);
}

#define L(size, mc, pr, v)                                                    \
	"SIZE(page)=" size "\nOFFSET(page._mapcount)=" mc                     \
	"\nOFFSET(page.private)=" pr "\nNUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=" v \
	"\n"

static void test_layout_bad(void)
{
	struct qvmi__buddy b;

	CHECK_INT(layout_err("OSRELEASE=6.1\n"), ==, -ENOENT);
	CHECK_INT(layout_err("SIZE(page)=64\nOFFSET(page._mapcount)=48\n"
			     "OFFSET(page.private)=40\n"),
		  ==, -ENOENT);
	CHECK_INT(layout_err(L("2000", "48", "40", "-129")), ==, -EBADMSG);
	CHECK_INT(layout_err(L("64", "61", "40", "-129")), ==, -EBADMSG);
	CHECK_INT(layout_err(L("64", "48", "57", "-129")), ==, -EBADMSG);
	CHECK_INT(layout_err(L("4", "0", "0", "-129")), ==, -EBADMSG);
	CHECK_INT(layout_err(L("-64", "48", "40", "-129")), ==, -EBADMSG);
	CHECK_INT(layout_err(L("64", "48", "40", "x")), ==, -EBADMSG);
	/* marks a page in use could carry: -1, 0, a positive count */
	CHECK_INT(layout_err(L("64", "48", "40", "-1")), ==, -EBADMSG);
	CHECK_INT(layout_err(L("64", "48", "40", "0")), ==, -EBADMSG);
	CHECK_INT(layout_err(L("64", "48", "40", "128")), ==, -EBADMSG);
	CHECK_INT(layout_err(L("64", "48", "40", "-2147483649")), ==, -EBADMSG);
	CHECK_INT(layout_err(L("64", "48", "40", "4294967296")), ==, -EBADMSG);
	CHECK_INT(qvmi__buddy_from_vmci(VMCI_61, 3, &b), ==, -EINVAL);
	CHECK_INT(qvmi__buddy_from_vmci(NULL, 8, &b), ==, -EINVAL);
}

/* ---- the scan over a memory map in a buffer ------------------------------ */

enum { NPFN = 4096, PSZ = 64 };

struct mm {
	uint8_t map[NPFN * PSZ];
	uint64_t fault_lo, fault_hi; /* pfns whose map reads fail */
	int fault_err;
	unsigned int reads;
};

static void head(struct mm *m, uint64_t pfn, uint32_t type, uint64_t order)
{
	memcpy(m->map + pfn * PSZ + 48, &type, 4);
	memcpy(m->map + pfn * PSZ + 40, &order, 8);
}

static int mm_read(void *arg, uint64_t pfn, void *buf, size_t n)
{
	struct mm *m = arg;

	m->reads++;
	if (pfn + n > NPFN)
		return -EFAULT;
	if (pfn < m->fault_hi && pfn + n > m->fault_lo)
		return m->fault_err;
	memcpy(buf, m->map + pfn * PSZ, n * PSZ);
	return 0;
}

static bool bit(const uint8_t *bm, uint64_t pfn)
{
	return bm[pfn >> 3] >> (pfn & 7) & 1;
}

static uint64_t count(const uint8_t *bm, uint64_t lo, uint64_t hi)
{
	uint64_t n = 0;

	for (uint64_t p = lo; p < hi; p++)
		n += bit(bm, p);
	return n;
}

static void fill_map(struct mm *m)
{
	memset(m, 0, sizeof(*m));
	for (uint64_t p = 0; p < NPFN; p++)
		head(m, p, 0xffffffffu, 0); /* _mapcount -1: in use */
	head(m, 0, 0xffffff7fu, 3); /* 0-7 */
	head(m, 16, 0xffffff7fu, 0); /* 16 */
	head(m, 18, 0xffffff7fu, 2); /* not aligned: kept */
	head(m, 1024, 0xffffff7fu, 10); /* 1024-2047 */
	head(m, 1030, 0xffffff7fu, 0); /* inside the block: not a head */
	head(m, 2048, 0xffffff7fu, 11); /* above MAX_ORDER: kept */
	head(m, 2056, 0xfffffe7fu, 0); /* another type (PG_offline) */
	head(m, 2064, 0xffffff7fu, 0); /* 2064 */
	head(m, 3072, 0xffffff7fu, 3); /* 3072-3079 */
	head(m, 4088, 0xffffff7fu, 3); /* 4088-4095, end clipped at 4092 */
}

static void test_scan(void)
{
	static struct mm m;
	struct qvmi__buddy b;
	uint8_t bm[NPFN / 8];
	uint64_t n;

	fill_map(&m);
	CHECK_OK(qvmi__buddy_from_vmci(VMCI_61, 8, &b));
	memset(bm, 0, sizeof(bm));
	CHECK_OK(qvmi__buddy_scan(&b, 0, 4092, mm_read, &m, bm, NPFN, &n));
	CHECK_U64(count(bm, 0, 8), ==, 8);
	CHECK(!bit(bm, 8) && bit(bm, 16) && !bit(bm, 17));
	CHECK_U64(count(bm, 18, 22), ==, 0);
	CHECK_U64(count(bm, 1024, 2048), ==, 1024);
	CHECK_U64(count(bm, 2048, 3072), ==, 1); /* 2064 only */
	CHECK_U64(count(bm, 3072, 3080), ==, 8);
	CHECK_U64(count(bm, 4088, 4096), ==, 4);
	CHECK_U64(n, ==, 8 + 1 + 1024 + 1 + 8 + 4);
	CHECK_U64(count(bm, 0, NPFN), ==, n);
	/* the struct pages after 1024's chunk inside its block are not
	 * read: 8 chunks of 512 less one */
	CHECK_INT(m.reads, ==, 7);

	/* a range that starts inside a block finds no head for it */
	memset(bm, 0, sizeof(bm));
	CHECK_OK(qvmi__buddy_scan(&b, 1025, 2048, mm_read, &m, bm, NPFN, &n));
	CHECK_U64(n, ==, 1); /* 1030, a stale mark inside */
	/* a bitmap shorter than the range: never written past */
	memset(bm, 0, sizeof(bm));
	CHECK_OK(qvmi__buddy_scan(&b, 0, 4096, mm_read, &m, bm, 1030, &n));
	CHECK_U64(n, ==, 8 + 1 + 6);

	/* an unbacked memory map keeps its pages; other errors stop */
	m.fault_lo = 1024;
	m.fault_hi = 1100;
	m.fault_err = -EFAULT;
	memset(bm, 0, sizeof(bm));
	CHECK_OK(qvmi__buddy_scan(&b, 0, NPFN, mm_read, &m, bm, NPFN, &n));
	CHECK_U64(count(bm, 1024, 2048), ==, 0);
	CHECK_U64(count(bm, 3072, 3080), ==, 8);
	m.fault_err = -EIO;
	CHECK_INT(qvmi__buddy_scan(&b, 0, NPFN, mm_read, &m, bm, NPFN, &n), ==,
		  -EIO);
}

/* Later kernels: the type in the top byte, the low 24 bits the type's. */
static void test_scan_top_byte(void)
{
	static struct mm m;
	struct qvmi__buddy b;
	uint8_t bm[NPFN / 8] = { 0 };
	uint64_t n;

	memset(&m, 0, sizeof(m));
	for (uint64_t p = 0; p < NPFN; p++)
		head(&m, p, 0xffffffffu, 0);
	head(&m, 8, 0xf0000000u, 3);
	head(&m, 32, 0xf0001234u, 0);
	head(&m, 64, 0xf1000000u, 0); /* another type */
	head(&m, 65, 0xffffff7fu, 0); /* 6.1's mark means nothing here */
	CHECK_OK(qvmi__buddy_from_vmci(L("64", "48", "40", "-268435456"), 8,
				       &b));
	CHECK_OK(qvmi__buddy_scan(&b, 0, NPFN, mm_read, &m, bm, NPFN, &n));
	CHECK_U64(n, ==, 9);
	CHECK_U64(count(bm, 8, 16), ==, 8);
	CHECK(bit(bm, 32) && !bit(bm, 64) && !bit(bm, 65));
}

/* ---- the kdump writer over the synthetic kernel -------------------------- */

enum { FK_MEM = 4 << 20, MAP_PA = 0x380000 };

/* Every page of the fake kernel's memory gets data; its memory map (in
 * the direct map at MAP_PA) marks 0x100-0x10f and 0x2f0 free. */
static void free_kernel(struct fk *k, char *vmci, size_t vsz)
{
	for (size_t i = 0; i < FK_MEM; i++)
		if (i < MAP_PA || i >= MAP_PA + 0x10000)
			k->mem[i] = (uint8_t)(i * 7 + (i >> 12) + 1);
	memset(k->mem + MAP_PA, 0, 0x10000);
	for (uint64_t p = 0; p < FK_MEM / 4096; p++) {
		uint32_t t = p == 0x100 || p == 0x2f0 ? 0xffffff7fu :
							0xffffffffu;
		uint64_t o = p == 0x100 ? 4 : 0;

		memcpy(k->mem + MAP_PA + p * 64 + 48, &t, 4);
		memcpy(k->mem + MAP_PA + p * 64 + 40, &o, 8);
	}
	k->lx->vmemmap_base = FK_POB + MAP_PA;
	snprintf(vmci, vsz, "%s", VMCI_61);
}

static int frozen_state(struct qvmi_ctl *c, enum qvmi_vm_state *ret)
{
	(void)c;
	*ret = QVMI_VM_FROZEN;
	return 0;
}

static const struct qvmi_ctl_ops frozen_ctl = { .name = "frozen",
						.state = frozen_state };

static uint32_t header_level(const char *path)
{
	uint8_t h[4096 + 16];
	uint32_t v = 0;
	int fd = open(path, O_RDONLY);

	if (fd >= 0 && pread(fd, h, sizeof(h), 0) == sizeof(h))
		memcpy(&v, h + 4096 + 8, 4);
	if (fd >= 0)
		close(fd);
	return v;
}

static void check_back(const char *path, const uint8_t *mem, bool filtered)
{
	struct qvmi_ctx *back = new_ctx();
	uint8_t *out = malloc(FK_MEM), zero[4096] = { 0 };

	CHECK(out);
	CHECK_OK(qvmi_attach_dump(back, path, NULL));
	CHECK_OK(qvmi_read_pa(back, 0, out, FK_MEM));
	for (uint64_t p = 0; p < FK_MEM / 4096; p++) {
		bool f = filtered && ((p >= 0x100 && p < 0x110) || p == 0x2f0);

		if (memcmp(out + p * 4096, f ? zero : mem + p * 4096, 4096)) {
			CHECK_U64(p, ==, UINT64_MAX); /* names the page */
			break;
		}
	}
	CHECK_INT(header_level(path), ==, filtered ? 17 : 1);
	qvmi_ctx_destroy(back);
	free(out);
}

static void test_write_free(void)
{
	struct qvmi_dump_kernel kl = { .page_offset = FK_POB };
	char vmci[512], path[128];
	struct fk k;

	CHECK_OK(fk_create(&k, FK_NEW, FK_MEM));
	free_kernel(&k, vmci, sizeof(vmci));
	kl.vmcoreinfo = vmci;
	kl.vmcoreinfo_len = strlen(vmci);
	CHECK_OK(qvmi__ctl_set(k.ctx, &frozen_ctl, NULL));
	tmp_path(path, sizeof(path), "free.kdump");
	{
		QVMI_OPTS(qvmi_dump_write_opts, o, .format = QVMI_DUMP_KDUMP,
			  .kernel = &kl, .lx = k.lx, .dump_level = 17);
		CHECK_OK(qvmi_dump_write(k.ctx, path, &o));
		check_back(path, k.mem, true);
	}
	{
		QVMI_OPTS(qvmi_dump_write_opts, o, .format = QVMI_DUMP_KDUMP,
			  .kernel = &kl, .lx = k.lx, .dump_level = 1);
		CHECK_OK(qvmi_dump_write(k.ctx, path, &o));
		check_back(path, k.mem, false);
	}
	unlink(path);
	fk_destroy(&k);
	free(k.mem);
}

static int write_err(struct fk *k, const struct qvmi_dump_kernel *kl,
		     enum qvmi_dump_format fmt, unsigned int level, bool lx)
{
	char path[128];
	int err;

	tmp_path(path, sizeof(path), "free-bad.kdump");
	QVMI_OPTS(qvmi_dump_write_opts, o, .format = fmt, .kernel = kl,
		  .lx = lx ? k->lx : NULL, .dump_level = level);
	err = qvmi_dump_write(k->ctx, path, &o);
	unlink(path);
	return err;
}

static void test_write_free_bad(void)
{
	struct qvmi_dump_kernel kl = { .page_offset = FK_POB };
	const enum qvmi_dump_format K = QVMI_DUMP_KDUMP;
	char vmci[512];
	struct fk k;

	CHECK_OK(fk_create(&k, FK_NEW, FK_MEM));
	free_kernel(&k, vmci, sizeof(vmci));
	kl.vmcoreinfo = vmci;
	kl.vmcoreinfo_len = strlen(vmci);
	/* no state to tell: the guest may be running */
	CHECK_INT(write_err(&k, &kl, K, 17, true), ==, -EINVAL);
	CHECK(strstr(qvmi_errmsg(k.ctx), "holds still"));
	CHECK_OK(qvmi__ctl_set(k.ctx, &frozen_ctl, NULL));
	CHECK_INT(write_err(&k, &kl, K, 31, true), ==, -EOPNOTSUPP);
	CHECK_INT(write_err(&k, &kl, K, 2, true), ==, -EOPNOTSUPP);
	CHECK_INT(write_err(&k, &kl, K, 32, true), ==, -EINVAL);
	CHECK_INT(write_err(&k, &kl, QVMI_DUMP_ELF, 17, true), ==, -EINVAL);
	CHECK_INT(write_err(&k, &kl, QVMI_DUMP_LIME, 1, true), ==, -EINVAL);
	CHECK_INT(write_err(&k, &kl, K, 17, false), ==, -EINVAL);
	CHECK_INT(write_err(&k, NULL, K, 17, true), ==, -EINVAL);
	/* a VMCOREINFO without the struct page layout: no dump */
	snprintf(vmci, sizeof(vmci), "OSRELEASE=6.1.0-fake\n");
	kl.vmcoreinfo_len = strlen(vmci);
	CHECK_INT(write_err(&k, &kl, K, 17, true), ==, -ENOENT);
	CHECK(strstr(qvmi_errmsg(k.ctx), "SIZE(page)"));
	/* a 32-bit kernel has no vmemmap here */
	snprintf(vmci, sizeof(vmci), "%s", VMCI_61);
	k.lx->vmemmap_base = 0;
	CHECK_INT(write_err(&k, &kl, K, 17, true), ==, -EOPNOTSUPP);
	fk_destroy(&k);
	free(k.mem);
}

static const struct qvmi_test freepages_tests[] = {
	{ "layout", test_layout },
	{ "layout_bad", test_layout_bad },
	{ "scan", test_scan },
	{ "scan_top_byte", test_scan_top_byte },
	{ "write_free", test_write_free },
	{ "write_free_bad", test_write_free_bad },
};

QVMI_SUITE(freepages, freepages_tests);
