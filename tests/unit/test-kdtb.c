// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi_linux_kernel_dtb() over a synthetic kernel (tests/lib/fake-kernel.h):
 * init_mm.pgd first (a direct-map pointer, read from guest memory), else
 * the image's init_top_pgt, else -ENOENT.  The Python binding's
 * lx.read_va(va, size) reads kernel memory through it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake-kernel.h"
#include "harness.h"
#include "qvmi.h"
#include "os/linux/linux.h"

#define MEM (8u << 20)

static int add_sym(struct fk *k, const char *name, uint64_t off)
{
	int err = qvmi__ksyms_add(&k->lx->syms, fk_sym(off), 'D', name,
				  strlen(name));

	return err ? err : qvmi__ksyms_finish(&k->lx->syms);
}

/* Neither symbol: -ENOENT, and nothing cached (a later symbol counts). */
static void test_kdtb_image(void)
{
	struct fk k;
	uint64_t dtb = 0;

	CHECK_OK(fk_create(&k, FK_NEW, MEM));
	CHECK_INT(qvmi_linux_kernel_dtb(k.lx, &dtb), ==, -ENOENT);
	CHECK_OK(add_sym(&k, "init_top_pgt", 0x3000));
	CHECK_OK(qvmi_linux_kernel_dtb(k.lx, &dtb));
	CHECK_U64(dtb, ==, FK_TEXT_PA + 0x3000);
	fk_destroy(&k);
	free(k.mem);
}

/* init_mm.pgd wins over init_top_pgt; a pgd that is not a page-aligned
 * kernel address is refused and the image symbol used instead. */
static void test_kdtb_init_mm(void)
{
	struct fk k;
	uint64_t dtb = 0, pgd, mm = fk_sym(0x3100);

	CHECK_OK(fk_create(&k, FK_NEW, MEM));
	CHECK_OK(add_sym(&k, "init_mm", 0x3100));
	CHECK_OK(add_sym(&k, "init_top_pgt", 0x3000));
	pgd = (fk_alloc(&k, 8192) + 4095) & ~4095ull;
	fk_w64(&k, mm + FK_MM_PGD, pgd + 8); /* misaligned: not a dtb */
	CHECK_OK(qvmi_linux_kernel_dtb(k.lx, &dtb));
	CHECK_U64(dtb, ==, FK_TEXT_PA + 0x3000);
	fk_destroy(&k);
	free(k.mem);

	CHECK_OK(fk_create(&k, FK_NEW, MEM));
	CHECK_OK(add_sym(&k, "init_mm", 0x3100));
	CHECK_OK(add_sym(&k, "init_top_pgt", 0x3000));
	pgd = (fk_alloc(&k, 8192) + 4095) & ~4095ull;
	fk_w64(&k, mm + FK_MM_PGD, pgd);
	CHECK_OK(qvmi_linux_kernel_dtb(k.lx, &dtb));
	CHECK_U64(dtb, ==, pgd - FK_POB);
	fk_destroy(&k);
	free(k.mem);
}

static const struct qvmi_test kdtb_tests[] = {
	{ "image", test_kdtb_image },
	{ "init_mm", test_kdtb_init_mm },
};
QVMI_SUITE(kdtb, kdtb_tests);
