// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi_linux_open on a synthetic i386 kernel like Debian's 686-pae: 4-byte
 * kallsyms with text symbols only, the image at VA = PA + 0xc0000000, a
 * banner between _etext and the tables.  A System.map of the same build,
 * linked 14 MiB higher than this "boot" placed it (a negative KASLR
 * slide), gives the data symbols; one of another build is refused; and
 * without types the task walk says what is missing and how to make it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "ksyms-build.h"
#include "qvmi.h"

enum {
	RAM = 8 << 20,
	IMG_PA = 0x200000, /* _text */
	TABLES_PA = 0x210000,
	HIGH_MEMORY_PA = 0x220000,
};

#define TEXT_VA 0xc0200000ull /* PA + PAGE_OFFSET */
#define LINK_DELTA 0xe00000ull /* the map's _text is 0xc1000000 */

static const char banner[] = "Linux version 6.1.0-t1-686-pae (ci@test) "
			     "(gcc 12) #1 SMP PREEMPT_DYNAMIC Debian 6.1.1-1\n";

struct img {
	uint8_t *ram;
	struct qvmi_ctx *ctx;
	char map[64];
};

static void img_create(struct img *m)
{
	static const char *const nm[] = { "_text",   "startup_32", "fn_0123",
					  "fn_4567", "fn_89",	   "_etext" };
	struct kb_opts o = { KB_OLD_SEQS, 4, 0, 0, 4 };
	struct kb_sym s[6];
	struct kb_layout bl;
	struct qvmi_source *src;
	uint32_t hm = 0xc0000000u + RAM;

	memset(m, 0, sizeof(*m));
	m->ram = calloc(1, RAM);
	CHECK(m->ram);
	for (int i = 0; i < 6; i++)
		s[i] = (struct kb_sym){
			TEXT_VA + (i > 1 ? 0x1000u * (i - 1) : 0), 'T', nm[i]
		};
	CHECK_INT(kb_build(m->ram, RAM, TABLES_PA, s, 6, &o, &bl), ==, 0);
	/* the banner after _etext (PA 0x204000), before the tables */
	memcpy(m->ram + 0x204100, banner, sizeof(banner));
	memcpy(m->ram + HIGH_MEMORY_PA, &hm, 4);
	CHECK_OK(qvmi_ctx_create(&m->ctx));
	CHECK_OK(qvmi_source_testmem_create(m->ctx, m->ram, RAM, 1, &src));
	CHECK_OK(qvmi_map_add(m->ctx, src, 0, RAM, 0));
}

static void img_destroy(struct img *m)
{
	qvmi_ctx_destroy(m->ctx);
	free(m->ram);
	if (m->map[0])
		unlink(m->map);
}

/* A System.map at link-time addresses (runtime + LINK_DELTA); the
 * banner and fn_4567 can be put elsewhere, as another build would. */
static void write_map(struct img *m, uint64_t banner_off, uint64_t fn_off)
{
	static const struct {
		uint64_t off; /* from _text */
		char type;
		const char *name;
	} e[] = {
		{ 0, 'T', "_text" },	      { 0, 'T', "startup_32" },
		{ 0, 'T', "_stext" },	      { 0x1000, 'T', "fn_0123" },
		{ 0x2000, 'T', "fn_4567" },   { 0x3000, 'T', "fn_89" },
		{ 0x4000, 'T', "_etext" },    { 0x4100, 'D', "linux_banner" },
		{ 0x5000, 'D', "init_task" }, { 0x20000, 'B', "high_memory" },
		{ 0x30000, 'B', "_end" },
	};
	FILE *f;
	int fd;

	snprintf(m->map, sizeof(m->map), "/tmp/qvmi-kernel32-XXXXXX");
	fd = mkstemp(m->map);
	CHECK(fd >= 0);
	f = fdopen(fd, "w");
	CHECK(f);
	fprintf(f, "01000000 A phys_startup_32\n");
	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		uint64_t off = e[i].off;

		if (!strcmp(e[i].name, "linux_banner"))
			off = banner_off;
		if (!strcmp(e[i].name, "fn_4567"))
			off = fn_off;
		fprintf(f, "%08llx %c %s\n",
			(unsigned long long)(TEXT_VA + LINK_DELTA + off),
			e[i].type, e[i].name);
	}
	fclose(f);
}

static int open_lx(struct img *m, const char *map, struct qvmi_linux **ret)
{
	QVMI_OPTS(qvmi_linux_opts, o, .system_map = map,
		  .flags = QVMI_LINUX_NO_CACHE);

	return qvmi_linux_open(m->ctx, &o, ret);
}

static void test_map(void)
{
	struct img m;
	struct qvmi_linux *lx = NULL;
	struct qvmi_linux_info info;
	uint64_t a, off;
	char name[64];

	img_create(&m);
	write_map(&m, 0x4100, 0x2000);
	CHECK_MSG(!open_lx(&m, m.map, &lx), "%s", qvmi_errmsg(m.ctx));
	CHECK_OK(qvmi_linux_info(lx, &info));
	CHECK_STR(info.release, "6.1.0-t1-686-pae");
	CHECK_STR(info.sym_source, "system.map");
	CHECK_U64(info.text_va, ==, TEXT_VA);
	CHECK_U64(info.text_pa, ==, IMG_PA);
	CHECK_U64(info.page_offset_base, ==, 0xc0000000);
	/* data symbols slid down by 14 MiB; absolute ones stay */
	CHECK_OK(qvmi_linux_sym_addr(lx, "init_task", &a));
	CHECK_U64(a, ==, TEXT_VA + 0x5000);
	CHECK_OK(qvmi_linux_sym_addr(lx, "phys_startup_32", &a));
	CHECK_U64(a, ==, 0x01000000);
	CHECK_OK(qvmi_linux_sym_name(lx, TEXT_VA + 0x1010, name, sizeof(name),
				     &off));
	CHECK_STR(name, "fn_0123");
	CHECK_U64(off, ==, 0x10);
	/* below _text: no "phys_startup_32+0xbf..." */
	CHECK_INT(qvmi_linux_sym_name(lx, TEXT_VA - 0x1000, name, sizeof(name),
				      &off),
		  ==, -ENOENT);
	/* high_memory (8 MiB of RAM) ends the linear map */
	CHECK_OK(qvmi_linux_va_to_pa(lx, 0xc07ff000, &a));
	CHECK_U64(a, ==, 0x7ff000);
	CHECK_INT(qvmi_linux_va_to_pa(lx, 0xc0800000, &a), ==, -EFAULT);
	/* no BTF: the walk names the missing file */
	{
		struct qvmi_linux_task_list l;

		CHECK_INT(qvmi_linux_tasks(lx, 0, &l), ==, -ENOENT);
		CHECK(strstr(qvmi_errmsg(m.ctx), "no BTF"));
		CHECK(strstr(qvmi_errmsg(m.ctx), "--btf_encode_detached"));
		qvmi_linux_task_list_deinit(&l);
	}
	qvmi_linux_destroy(lx);
	img_destroy(&m);
}

static void test_other_build(void)
{
	struct img m;
	struct qvmi_linux *lx = NULL;

	img_create(&m);
	write_map(&m, 0x4140, 0x2000); /* linux_banner elsewhere */
	CHECK_INT(open_lx(&m, m.map, &lx), ==, -ESTALE);
	CHECK(strstr(qvmi_errmsg(m.ctx), "another kernel build"));
	unlink(m.map);
	write_map(&m, 0x4100, 0x2100); /* a text symbol elsewhere */
	CHECK_INT(open_lx(&m, m.map, &lx), ==, -ESTALE);
	CHECK(strstr(qvmi_errmsg(m.ctx), "fn_4567"));
	CHECK(!lx);
	img_destroy(&m);
}

/* Debian's /boot/System.map-* is a one-line stub. */
static void test_stub_map(void)
{
	struct img m;
	struct qvmi_linux *lx = NULL;
	FILE *f;
	int fd;

	img_create(&m);
	snprintf(m.map, sizeof(m.map), "/tmp/qvmi-kernel32-XXXXXX");
	fd = mkstemp(m.map);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	CHECK(f);
	fputs("ffffffffffffffff B The real System.map is in the "
	      "linux-image-<version>-dbg package\n",
	      f);
	fclose(f);
	CHECK_INT(open_lx(&m, m.map, &lx), ==, -ENOENT);
	CHECK(strstr(qvmi_errmsg(m.ctx), "is a stub"));
	img_destroy(&m);
}

/* Neither BTF nor data symbols: exactly what is missing, and how to make
 * both, within the 255 characters of a message. */
static void test_no_types(void)
{
	static const char want[] =
		"kernel 6.1.0-t1-686-pae: no BTF, no data symbols (no "
		"KALLSYMS_ALL): need --btf F from 'pahole "
		"--btf_encode_detached=F vmlinux' + --system-map "
		"usr/lib/debug/boot/System.map-6.1.0-t1-686-pae of "
		"linux-image-6.1.0-t1-686-pae-dbg, or --isf F (dwarf2json)";
	struct img m;
	struct qvmi_linux *lx = NULL;
	struct qvmi_linux_task_list l;
	struct qvmi_linux_module_list ml;
	uint64_t a;

	img_create(&m);
	CHECK_MSG(!open_lx(&m, NULL, &lx), "%s", qvmi_errmsg(m.ctx));
	CHECK_OK(qvmi_linux_sym_addr(lx, "fn_89", &a));
	CHECK_U64(a, ==, TEXT_VA + 0x3000);
	CHECK_INT(qvmi_linux_tasks(lx, 0, &l), ==, -ENOENT);
	CHECK_STR(qvmi_errmsg(m.ctx), want);
	qvmi_linux_task_list_deinit(&l);
	CHECK_INT(qvmi_linux_modules(lx, &ml), ==, -ENOENT);
	CHECK_STR(qvmi_errmsg(m.ctx), want);
	qvmi_linux_module_list_deinit(&ml);
	qvmi_linux_destroy(lx);
	img_destroy(&m);
}

static const struct qvmi_test kernel32_tests[] = {
	{ "system_map", test_map },
	{ "other_build", test_other_build },
	{ "stub_map", test_stub_map },
	{ "no_types", test_no_types },
};
QVMI_SUITE(kernel32, kernel32_tests);
