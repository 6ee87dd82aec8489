// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Bounds checks of the dump readers (ELF cores, kdump, LiME) that no other
 * test reached: scripts/mutate-bounds showed every suite green with each of
 * them deleted (tests/mutate/bounds.list).  Where a later check would turn
 * the same bad file away with the same error code, the test asserts the
 * message too: it names which bound the file broke, and a user reads it.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dumpcore.h"
#include "harness.h"
#include "qvmi.h"

/* Attach buf; the error, with the message checked to hold want. */
static int attach_msg(const void *buf, size_t len, const char *want)
{
	struct qvmi_ctx *ctx = new_ctx();
	int err = attach_buf(ctx, buf, len, NULL);

	if (err && want)
		CHECK_MSG(strstr(qvmi_errmsg(ctx), want), "want \"%s\": %s",
			  want, qvmi_errmsg(ctx));
	qvmi_ctx_destroy(ctx);
	return err;
}

/* ---- ELF ----------------------------------------------------------------- */

static void elf_short_headers(void)
{
	struct tcore c;

	std_core(&c);
	/* 10 bytes: not even e_ident */
	CHECK_INT(attach_msg(c.buf, 10, "truncated ELF header"), ==, -EBADMSG);
	/* e_ident of ELFCLASS64, but 40 of the 64 header bytes */
	CHECK_INT(attach_msg(c.buf, 40, "truncated ELF header"), ==, -EBADMSG);
	free(c.buf);
}

static void elf_xnum_bounds(void)
{
	struct tcore c;
	Elf64_Shdr sh = { 0 };
	uint8_t *b;

	std_core(&c);
	/* PN_XNUM: the count is in section header 0, put at the end */
	b = realloc(c.buf, c.len + sizeof(sh));
	CHECK(b);
	c.buf = b;
	EH(&c)->e_phnum = PN_XNUM;
	EH(&c)->e_shoff = c.len;
	EH(&c)->e_shentsize = sizeof(sh);
	EH(&c)->e_shnum = 1;
	sh.sh_info = 4;
	memcpy(b + c.len, &sh, sizeof(sh));
	CHECK_OK(attach_msg(b, c.len + sizeof(sh), NULL));
	/* the section header cut by one byte */
	CHECK_INT(attach_msg(b, c.len + sizeof(sh) - 1,
			     "section header 0 outside the file"),
		  ==, -EBADMSG);
	/* one program header more than the limit */
	sh.sh_info = QVMI_DUMP_MAX_PHDRS + 1;
	memcpy(b + c.len, &sh, sizeof(sh));
	CHECK_INT(attach_msg(b, c.len + sizeof(sh), "too many program headers"),
		  ==, -EBADMSG);
	free(c.buf);
}

/* A core whose notes are one note (name, desc of descsz bytes). */
static void one_note_core(struct tcore *c, const char *name, uint32_t type,
			  const void *desc, size_t descsz)
{
	uint8_t *notes = NULL;
	size_t nl = 0;

	note_add(&notes, &nl, name, type, desc, descsz);
	make_core(c, std_loads, 1, notes, nl);
	free(notes);
}

static void elf_qemu_note_short(void)
{
	struct qvmi_qemu_cpustate s;
	struct tcore c;

	cpustate(0, &s);
	/* 8 bytes less than the oldest QEMUCPUState; its size says so */
	s.size = QVMI_QEMU_CPUSTATE_MIN - 8;
	one_note_core(&c, "QEMU", 0, &s, QVMI_QEMU_CPUSTATE_MIN - 8);
	CHECK_INT(attach_msg(c.buf, c.len, "QEMU note too short"), ==,
		  -EBADMSG);
	free(c.buf);
}

/* QEMU before 7.1 wrote a 432-byte QEMUCPUState (no kernel_gs_base): as
 * the only note it ends the buffer, and only its 432 bytes are read (an
 * over-read ASan sees: the mutation list judges that bound with it). */
static void elf_qemu_note_old(void)
{
	struct qvmi_qemu_cpustate s;
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_regs_x86 r;
	struct tcore c;

	cpustate(0, &s);
	s.size = QVMI_QEMU_CPUSTATE_MIN;
	one_note_core(&c, "QEMU", 0, &s, QVMI_QEMU_CPUSTATE_MIN);
	CHECK_OK(attach_buf(ctx, c.buf, c.len, NULL));
	CHECK_OK(qvmi_get_regs(ctx, 0, &r));
	CHECK_U64(r.cr3, ==, cr3_of(0));
	CHECK(!(r.valid & QVMI_REGS_KGS));
	qvmi_ctx_destroy(ctx);
	free(c.buf);
}

static void elf_prstatus_size(void)
{
	uint8_t p[sizeof(struct qvmi_prstatus64) + 4];
	struct qvmi_prstatus64 ps;
	struct tcore c;

	prstatus(0, &ps);
	memset(p, 0, sizeof(p));
	memcpy(p, &ps, sizeof(ps));
	one_note_core(&c, "CORE", NT_PRSTATUS, p, sizeof(ps));
	CHECK_OK(attach_msg(c.buf, c.len, NULL));
	free(c.buf);
	/* neither the 64-bit nor the 32-bit layout */
	one_note_core(&c, "CORE", NT_PRSTATUS, p, sizeof(p));
	CHECK_INT(attach_msg(c.buf, c.len, "NT_PRSTATUS of unknown size"), ==,
		  -EBADMSG);
	free(c.buf);
}

static void elf_vmcoreinfo_size(void)
{
	size_t n = QVMI_DUMP_MAX_VMCOREINFO + 4;
	char *v = malloc(n);
	struct tcore c;

	CHECK(v);
	memset(v, 'A', n);
	memcpy(v, "OSRELEASE=6.1\n", 14);
	one_note_core(&c, "VMCOREINFO", 0, v, QVMI_DUMP_MAX_VMCOREINFO);
	CHECK_OK(attach_msg(c.buf, c.len, NULL));
	free(c.buf);
	one_note_core(&c, "VMCOREINFO", 0, v, n);
	CHECK_INT(attach_msg(c.buf, c.len, "VMCOREINFO note too large"), ==,
		  -EBADMSG);
	free(c.buf);
	free(v);
}

static void elf_note_outside(void)
{
	struct tcore c;

	std_core(&c);
	PH(&c, 0)->p_filesz = c.len - PH(&c, 0)->p_offset + 1;
	CHECK_INT(attach_msg(c.buf, c.len, "PT_NOTE outside the file"), ==,
		  -EBADMSG);
	free(c.buf);
}

/* 33 PT_NOTEs over the same 2 MiB note: 66 MiB of notes in all, past the
 * 64 MiB the reader takes from one file. */
static void elf_notes_total(void)
{
	size_t big = 2 << 20, nl = 0, phoff, n = 33;
	uint8_t *pad = calloc(1, big), *notes = NULL, *b;
	Elf64_Phdr *ph;
	struct tcore c;

	CHECK(pad);
	note_add(&notes, &nl, "PAD", 0x50414400, pad, big - 20);
	make_core(&c, std_loads, 1, notes, nl);
	CHECK_OK(attach_msg(c.buf, c.len, NULL));
	phoff = (c.len + 7) & ~(size_t)7;
	b = realloc(c.buf, phoff + (n + 1) * sizeof(*ph));
	CHECK(b);
	c.buf = b;
	memset(b + c.len, 0, phoff - c.len);
	ph = (Elf64_Phdr *)(void *)(b + phoff);
	for (size_t i = 0; i < n; i++)
		ph[i] = *PH(&c, 0); /* the PT_NOTE */
	ph[n] = *PH(&c, 1); /* the PT_LOAD */
	EH(&c)->e_phoff = phoff;
	EH(&c)->e_phnum = (Elf64_Half)(n + 1);
	CHECK_INT(attach_msg(b, phoff + (n + 1) * sizeof(*ph),
			     "notes too large"),
		  ==, -EBADMSG);
	/* 32 of them (64 MiB less 640 bytes) are taken */
	EH(&c)->e_phnum = (Elf64_Half)n;
	ph[n - 1] = ph[n];
	CHECK_OK(attach_msg(b, phoff + (n + 1) * sizeof(*ph), NULL));
	free(c.buf);
	free(notes);
	free(pad);
}

/* A PT_LOAD wholly inside an earlier one adds nothing (dump-index.c). */
static void elf_load_inside_load(void)
{
	static const struct tload l[] = {
		{ 0x0, 0x3000, 0x3000, 1 },
		{ 0x1000, 0x1000, 0x1000, 2 },
	};
	struct qvmi_ctx *ctx = new_ctx();
	uint8_t got[0x3000], want[0x3000];
	struct tcore c;

	make_core(&c, l, 2, NULL, 0);
	CHECK_OK(attach_buf(ctx, c.buf, c.len, NULL));
	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = pat(1, i);
	CHECK_OK(qvmi_read_pa(ctx, 0, got, sizeof(got)));
	CHECK(!memcmp(got, want, sizeof(got)));
	CHECK_INT(qvmi_read_pa(ctx, 0x3000, got, 1), <, 0);
	qvmi_ctx_destroy(ctx);
	free(c.buf);
}

/* ---- kdump --------------------------------------------------------------- */

static void put32(uint8_t *b, size_t off, uint32_t v)
{
	memcpy(b + off, &v, 4);
}

static void put64(uint8_t *b, size_t off, uint64_t v)
{
	memcpy(b + off, &v, 8);
}

/* A version 6 kdump of npfn stored pages (page pfn filled with pfn + 1)
 * in blocks of bs bytes: header, one sub-header block, two bitmap blocks,
 * descriptors, pages. */
static uint8_t *make_kd(uint32_t bs, uint32_t npfn, size_t *len)
{
	size_t desc = 4 * (size_t)bs, data = desc + 24 * (size_t)npfn;
	uint8_t *b = calloc(1, data + (size_t)npfn * bs);

	CHECK(b && npfn <= 8 * (size_t)bs);
	memcpy(b, "KDUMP   ", 8);
	put32(b, 8, 6);
	memcpy(b + 12 + 4 * 65, "x86_64", 6); /* utsname.machine */
	put32(b, 428, bs);
	put32(b, 432, 1); /* sub-header blocks */
	put32(b, 436, 2); /* bitmap blocks */
	put32(b, 440, npfn);
	put64(b, bs + 96, npfn);
	for (uint32_t pfn = 0; pfn < npfn; pfn++) {
		b[2 * (size_t)bs + pfn / 8] |= (uint8_t)(1u << (pfn % 8));
		b[3 * (size_t)bs + pfn / 8] |= (uint8_t)(1u << (pfn % 8));
		put64(b, desc + 24 * pfn, data + (size_t)pfn * bs);
		put32(b, desc + 24 * pfn + 8, bs);
		memset(b + data + (size_t)pfn * bs, (int)pfn + 1, bs);
	}
	*len = data + (size_t)npfn * bs;
	return b;
}

static void kdump_block_size(void)
{
	static const uint32_t bad[] = { 2048, 6144, 1u << 17 };
	struct qvmi_ctx *ctx = new_ctx();
	uint8_t *b, page[4];
	size_t len;

	b = make_kd(4096, 4, &len);
	CHECK_OK(attach_buf(ctx, b, len, NULL));
	CHECK_OK(qvmi_read_pa(ctx, 3 * 4096, page, sizeof(page)));
	CHECK_INT(page[0], ==, 4);
	qvmi_ctx_destroy(ctx);
	free(b);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = make_kd(bad[i], 4, &len);
		CHECK_INT(attach_msg(b, len, "bad block_size"), ==, -EBADMSG);
		free(b);
	}
}

static void kdump_sub_header(void)
{
	size_t len;
	uint8_t *b = make_kd(4096, 4, &len);

	put32(b, 432, 1025); /* 4 MiB of sub-header: above 1024 blocks */
	CHECK_INT(attach_msg(b, len, "bad sub-header size or version"), ==,
		  -EBADMSG);
	free(b);
}

/* utsname.machine of 20 bytes, no NUL: not kept (vm_arch holds 16). */
static void kdump_machine_long(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_vm_info vi;
	size_t len;
	uint8_t *b = make_kd(4096, 4, &len);

	memcpy(b + 12 + 4 * 65, "x86_64_and_then_some", 20);
	CHECK_OK(attach_buf(ctx, b, len, NULL));
	CHECK_OK(qvmi_vm_info(ctx, &vi));
	CHECK_STR(vi.arch, "");
	qvmi_ctx_destroy(ctx);
	free(b);
}

/* VMCOREINFO of 1 MiB + 1 bytes, all in the file */
static void kdump_vmcoreinfo_size(void)
{
	size_t len, n = QVMI_DUMP_MAX_VMCOREINFO + 1;
	uint8_t *k = make_kd(4096, 4, &len), *b = calloc(1, len + n);

	CHECK(b);
	memcpy(b, k, len);
	memset(b + len, 'A', n);
	put64(b, 4096 + 32, len);
	put64(b, 4096 + 40, n - 1);
	CHECK_OK(attach_msg(b, len + n, NULL));
	put64(b, 4096 + 40, n);
	CHECK_INT(attach_msg(b, len + n, "VMCOREINFO too large"), ==, -EBADMSG);
	free(b);
	free(k);
}

static void kdump_max_mapnr_zero(void)
{
	size_t len;
	uint8_t *b = make_kd(4096, 4, &len);

	put32(b, 440, 0);
	put64(b, 4096 + 96, 0);
	CHECK_INT(attach_msg(b, len, "bitmap does not cover max_mapnr"), ==,
		  -EBADMSG);
	free(b);
}

/* Bitmaps that do not fit: their blocks, or the file. */
static void kdump_bitmap_bounds(void)
{
	size_t len;
	uint8_t *b = make_kd(4096, 4, &len);

	/* 40000 pfns want 5000 bytes per bitmap; 2 blocks give 4096 */
	put32(b, 440, 40000);
	put64(b, 4096 + 96, 40000);
	CHECK_INT(attach_msg(b, len, "bitmap does not cover max_mapnr"), ==,
		  -EBADMSG);
	/* 8 M pfns in 2048 blocks: 1 MiB per bitmap, in a 32 KiB file */
	put32(b, 436, 2048);
	put32(b, 440, 8u << 20);
	put64(b, 4096 + 96, 8u << 20);
	CHECK_INT(attach_msg(b, len, "bitmap larger than the file"), ==,
		  -EBADMSG);
	free(b);
}

static void kdump_desc_size_zero(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	uint8_t *b, page[4];
	size_t len;

	b = make_kd(4096, 4, &len);
	put32(b, 4 * 4096 + 24 * 2 + 8, 0); /* pfn 2: 0 bytes stored */
	CHECK_OK(attach_buf(ctx, b, len, NULL));
	CHECK_OK(qvmi_read_pa(ctx, 1 * 4096, page, sizeof(page)));
	CHECK_INT(qvmi_read_pa(ctx, 2 * 4096, page, sizeof(page)), ==,
		  -EBADMSG);
	CHECK_MSG(strstr(qvmi_errmsg(ctx), "bad page descriptor size"), "%s",
		  qvmi_errmsg(ctx));
	qvmi_ctx_destroy(ctx);
	free(b);
}

/* ---- LiME ---------------------------------------------------------------- */

/* n ranges of len bytes, one page apart, from s */
static uint8_t *make_lime(size_t n, uint64_t s, uint64_t len, size_t *size)
{
	uint8_t *b = calloc(n, 32 + len), *p = b;

	CHECK(b);
	for (size_t i = 0; i < n; i++, p += 32 + len) {
		uint64_t a = s + i * 4096, e = a + len - 1;

		memcpy(p, "EMiL", 4);
		put32(p, 4, 1);
		memcpy(p + 8, &a, 8);
		memcpy(p + 16, &e, 8);
		memset(p + 32, (int)i + 1, len);
	}
	*size = n * (32 + len);
	return b;
}

static void lime_bounds(void)
{
	size_t len;
	uint8_t *b = make_lime(QVMI_DUMP_MAX_LOADS, 0, 8, &len), *l;

	CHECK_OK(attach_msg(b, len, NULL));
	free(b);
	b = make_lime(QVMI_DUMP_MAX_LOADS + 1, 0, 8, &len);
	CHECK_INT(attach_msg(b, len, "too many ranges"), ==, -EBADMSG);
	free(b);
	b = make_lime(2, 0x1000, 64, &len);
	l = realloc(b, len + 16); /* half a header at the end */
	CHECK(l);
	memset(l + len, 0, 16);
	memcpy(l + len, "EMiL", 4);
	CHECK_INT(attach_msg(l, len + 16, "truncated header"), ==, -EBADMSG);
	/* end one below start: an empty range (refused as such, not by the
	 * next header's magic) */
	put64(l, 16, 0xfff);
	CHECK_INT(attach_msg(l, len, "bad range at file offset 0x0"), ==,
		  -EBADMSG);
	free(l);
	/* a range that ends past 2^52, all of it in the file */
	b = make_lime(1, (1ull << 52) - 0x800, 0x1000, &len);
	CHECK_INT(attach_msg(b, len, "bad range at file offset 0x0"), ==,
		  -EBADMSG);
	free(b);
}

static const struct qvmi_test bounds_dump_tests[] = {
	{ "elf_short_headers", elf_short_headers },
	{ "elf_xnum_bounds", elf_xnum_bounds },
	{ "elf_qemu_note_short", elf_qemu_note_short },
	{ "elf_qemu_note_old", elf_qemu_note_old },
	{ "elf_prstatus_size", elf_prstatus_size },
	{ "elf_vmcoreinfo_size", elf_vmcoreinfo_size },
	{ "elf_note_outside", elf_note_outside },
	{ "elf_notes_total", elf_notes_total },
	{ "elf_load_inside_load", elf_load_inside_load },
	{ "kdump_block_size", kdump_block_size },
	{ "kdump_sub_header", kdump_sub_header },
	{ "kdump_machine_long", kdump_machine_long },
	{ "kdump_vmcoreinfo_size", kdump_vmcoreinfo_size },
	{ "kdump_max_mapnr_zero", kdump_max_mapnr_zero },
	{ "kdump_bitmap_bounds", kdump_bitmap_bounds },
	{ "kdump_desc_size_zero", kdump_desc_size_zero },
	{ "lime_bounds", lime_bounds },
};

QVMI_SUITE(bounds_dump, bounds_dump_tests);
