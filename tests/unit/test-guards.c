// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Bounds checks that no other test reached: deleting either one left every
 * test and the fuzz replay green (issue: "test gaps").  Each input here is
 * built so that, without its check, the parser returns a wrong answer
 * rather than only reading out of bounds (which ASan alone would see).
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "harness.h"
#include "qvmi.h"
#include "os/linux/linux.h"

/* ---- an ELF note whose descriptor runs past its PT_NOTE ----------------- */

static int write_core(const char *path, uint32_t descsz)
{
	struct {
		Elf64_Ehdr eh;
		Elf64_Phdr ph[2];
		Elf64_Nhdr nh;
		char name[12]; /* "VMCOREINFO" + padding to 4 */
		char desc[16]; /* what the segment really holds */
	} __attribute__((packed)) f = { 0 };
	static uint8_t ram[4096];
	FILE *fp;
	int ok;

	memcpy(f.eh.e_ident, ELFMAG, SELFMAG);
	f.eh.e_ident[EI_CLASS] = ELFCLASS64;
	f.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	f.eh.e_ident[EI_VERSION] = EV_CURRENT;
	f.eh.e_type = ET_CORE;
	f.eh.e_machine = EM_X86_64;
	f.eh.e_version = EV_CURRENT;
	f.eh.e_phoff = sizeof(f.eh);
	f.eh.e_ehsize = sizeof(f.eh);
	f.eh.e_phentsize = sizeof(Elf64_Phdr);
	f.eh.e_phnum = 2;
	f.ph[0].p_type = PT_NOTE;
	f.ph[0].p_offset = offsetof(__typeof__(f), nh);
	f.ph[0].p_filesz = sizeof(f.nh) + sizeof(f.name) + sizeof(f.desc);
	f.ph[1].p_type = PT_LOAD;
	f.ph[1].p_offset = 4096;
	f.ph[1].p_paddr = 0;
	f.ph[1].p_filesz = f.ph[1].p_memsz = sizeof(ram);
	f.nh.n_namesz = 11;
	f.nh.n_descsz = descsz;
	f.nh.n_type = 0;
	memcpy(f.name, "VMCOREINFO", 11);
	memcpy(f.desc, "OSRELEASE=6.1\n", 14);
	fp = fopen(path, "wb");
	if (!fp)
		return -errno;
	ok = fwrite(&f, sizeof(f), 1, fp) == 1 && !fseek(fp, 4096, SEEK_SET) &&
	     fwrite(ram, sizeof(ram), 1, fp) == 1;
	return fclose(fp) || !ok ? -EIO : 0;
}

static void test_note_descsz(void)
{
	char path[] = "/tmp/qvmi-guard-XXXXXX";
	struct qvmi_ctx *ctx = NULL;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	/* The descriptor fits: the note is read. */
	CHECK_OK(write_core(path, 16));
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_MSG(!qvmi_attach_dump(ctx, path, NULL), "%s", qvmi_errmsg(ctx));
	CHECK(qvmi_vmcoreinfo(ctx) &&
	      !strcmp(qvmi_vmcoreinfo(ctx), "OSRELEASE=6.1\n"));
	qvmi_ctx_destroy(ctx);
	/* 17 bytes claimed, 16 there: refused, not read past the end. */
	CHECK_OK(write_core(path, 17));
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_INT(qvmi_attach_dump(ctx, path, NULL), ==, -EBADMSG);
	CHECK_MSG(strstr(qvmi_errmsg(ctx), "descriptor runs past"), "%s",
		  qvmi_errmsg(ctx));
	qvmi_ctx_destroy(ctx);
	unlink(path);
}

/* ---- a BTF name offset just past the string section ---------------------- */

/*
 * struct task { int pid; } laid out strings first, then "zzz" in the gap
 * before the types (the header allows any order and gaps), and pid's
 * name_off moved onto it: inside the blob, outside the string section.
 */
static void *btf_name_past_strings(uint32_t *size)
{
	struct btf *b = btf__new_empty();
	struct btf_header h;
	uint32_t n, pid_off = 0, *w, gap;
	uint8_t *raw;
	const uint8_t *src;

	CHECK(b);
	CHECK(btf__add_int(b, "int", 4, BTF_INT_SIGNED) == 1);
	CHECK(btf__add_struct(b, "task", 4) == 2);
	CHECK_OK(btf__add_field(b, "pid", 1, 0, 0));
	src = btf__raw_data(b, &n);
	CHECK(src);
	memcpy(&h, src, sizeof(h));
	gap = (h.str_len + 4 + 3) & ~3u; /* strings + "zzz\0", aligned */
	raw = calloc(1, h.hdr_len + gap + h.type_len);
	CHECK(raw);
	memcpy(raw + h.hdr_len, src + h.hdr_len + h.str_off, h.str_len);
	memcpy(raw + h.hdr_len + h.str_len, "zzz", 4);
	memcpy(raw + h.hdr_len + gap, src + h.hdr_len + h.type_off, h.type_len);
	for (uint32_t o = 0; o + 4 <= h.str_len; o++)
		if (!memcmp(raw + h.hdr_len + o, "pid", 4))
			pid_off = o;
	CHECK(pid_off);
	w = (uint32_t *)(raw + h.hdr_len + gap);
	for (uint32_t i = 0; i + 3 <= h.type_len / 4; i++)
		if (w[i] == pid_off && w[i + 1] == 1 && w[i + 2] == 0)
			w[i] = h.str_len; /* -> "zzz" */
	h.str_off = 0;
	h.type_off = gap;
	memcpy(raw, &h, sizeof(h));
	*size = h.hdr_len + gap + h.type_len;
	btf__free(b);
	return raw;
}

static void test_btf_name_off(void)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_btf_view *v = NULL;
	struct qvmi_linux_member m;
	uint32_t size;
	void *raw = btf_name_past_strings(&size);

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi__btf_view_open(ctx, raw, size, &v));
	if (v) {
		uint64_t sz = 0;

		/* the blob is good but for that one name */
		CHECK_OK(qvmi__btf_view_type_size(ctx, v, "task", &sz));
		CHECK_U64(sz, ==, 4);
		CHECK_INT(qvmi__btf_view_member(ctx, v, "task", "zzz", &m), ==,
			  -ENOENT);
		CHECK_INT(qvmi__btf_view_member(ctx, v, "task", "pid", &m), ==,
			  -ENOENT);
		qvmi__btf_view_free(v);
	}
	qvmi_ctx_destroy(ctx);
	free(raw);
}

static const struct qvmi_test guards_tests[] = {
	{ "note_descsz", test_note_descsz },
	{ "btf_name_off", test_btf_name_off },
};
QVMI_SUITE(guards, guards_tests);
