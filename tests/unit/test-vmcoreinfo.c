// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VMCOREINFO (src/os/linux/vmcoreinfo.c): reading its lines, and an ELF
 * dump's VMCOREINFO in qvmi_linux_open, where it points the kallsyms scan
 * at the token table and is checked against what memory says.  The cores
 * are built like QEMU's dump-guest-memory writes them (dumpcore.h) around
 * a synthetic kernel image (ksyms-build.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dumpcore.h"
#include "harness.h"
#include "ksyms-build.h"
#include "qvmi.h"
#include "os/linux/kernel-int.h"

static void test_parse(void)
{
	static const char t[] = "OSRELEASE=6.1.0-56-amd64\n"
				"SYMBOL(_stext)=ffffffff86e00000\n"
				"SYMBOL(_stext2)=1\n"
				"NUMBER(phys_base)=136314880\n"
				"NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)=-257\n"
				"BAD\n"
				"=novalue\n"
				"EMPTY=\n"
				"SPACE= 12\n"
				"BIG=1ffffffffffffffff\n"
				"LAST=tail";
	char b[32];
	uint64_t v = 7;
	int64_t sv = 7;

	CHECK_OK(qvmi__vmci_str(t, "OSRELEASE", b, sizeof(b)));
	CHECK_STR(b, "6.1.0-56-amd64");
	CHECK_OK(qvmi__vmci_u64(t, "SYMBOL(_stext)", 16, &v));
	CHECK_U64(v, ==, 0xffffffff86e00000ull);
	CHECK_OK(qvmi__vmci_u64(t, "SYMBOL(_stext2)", 16, &v));
	CHECK_U64(v, ==, 1);
	CHECK_OK(qvmi__vmci_u64(t, "NUMBER(phys_base)", 10, &v));
	CHECK_U64(v, ==, 136314880);
	CHECK_OK(qvmi__vmci_num(t, "NUMBER(phys_base)", &sv));
	CHECK_INT(sv, ==, 136314880);
	CHECK_OK(qvmi__vmci_num(t, "NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)", &sv));
	CHECK_INT(sv, ==, -257);
	CHECK_OK(qvmi__vmci_str(t, "LAST", b, sizeof(b))); /* no newline */
	CHECK_STR(b, "tail");
	/* a key is the whole name before '=', not a prefix */
	CHECK_INT(qvmi__vmci_str(t, "SYMBOL(_stext", b, sizeof(b)), ==,
		  -ENOENT);
	CHECK_INT(qvmi__vmci_str(t, "OSRELEASE=6", b, sizeof(b)), ==, -ENOENT);
	CHECK_INT(qvmi__vmci_str(t, "BAD", b, sizeof(b)), ==, -ENOENT);
	CHECK_INT(qvmi__vmci_str(t, "", b, sizeof(b)), ==, -EINVAL);
	CHECK_INT(qvmi__vmci_str(t, "OSRELEASE", b, 14), ==, -ENAMETOOLONG);
	CHECK_INT(qvmi__vmci_str("", "X", b, sizeof(b)), ==, -ENOENT);
	/* not numbers, and v untouched */
	v = 7;
	CHECK_INT(qvmi__vmci_u64(t, "NUMBER(PAGE_OFFLINE_MAPCOUNT_VALUE)", 10,
				 &v),
		  ==, -EBADMSG);
	CHECK_INT(qvmi__vmci_u64(t, "OSRELEASE", 10, &v), ==, -EBADMSG);
	CHECK_INT(qvmi__vmci_u64(t, "EMPTY", 10, &v), ==, -EBADMSG);
	CHECK_INT(qvmi__vmci_u64(t, "SPACE", 10, &v), ==, -EBADMSG);
	CHECK_INT(qvmi__vmci_u64(t, "BIG", 16, &v), ==, -EBADMSG);
	CHECK_INT(qvmi__vmci_u64(t, "NOSUCH", 16, &v), ==, -ENOENT);
	CHECK_U64(v, ==, 7);
	sv = 7;
	CHECK_INT(qvmi__vmci_num(t, "OSRELEASE", &sv), ==, -EBADMSG);
	CHECK_INT(qvmi__vmci_num(t, "SPACE", &sv), ==, -EBADMSG);
	CHECK_INT(qvmi__vmci_num(t, "BIG", &sv), ==, -EBADMSG);
	CHECK_INT(qvmi__vmci_num(t, "SYMBOL(_stext)", &sv), ==, -EBADMSG);
	CHECK_INT(sv, ==, 7);
	/* the text dumpcore.h's QEMU-like cores carry */
	CHECK_OK(qvmi__vmci_str(vmci_text, "OSRELEASE", b, sizeof(b)));
	CHECK_STR(b, "6.1.0-56-amd64");
}

/* ---- qvmi_linux_open on an ELF dump ------------------------------------- */

#define KVA UINT64_C(0xffffffff8a000000)
enum {
	MEM = 8 << 20,
	TEXT_PA = 4 << 20,
	KALLSYMS_OFF = 0x200000,
};

static char fnames[64][12];

/* A kernel image at TEXT_PA (kallsyms, banner, phys_base); the token
 * table's offset from _text into *tt. */
static void make_kernel(uint8_t *mem, uint64_t *tt)
{
	static const char banner[] = "Linux version 6.9.0-test (x@y) #1 SMP\n";
	struct kb_sym syms[80];
	struct kb_opts o = { KB_NEW, 4, 0, 1, 0 };
	struct kb_layout kl;
	uint8_t *img = mem + TEXT_PA;
	uint64_t v;
	size_t n = 0;

	syms[n++] = (struct kb_sym){ KVA, 'T', "_text" };
	syms[n++] = (struct kb_sym){ KVA + 0x10, 'T', "_stext" };
	syms[n++] = (struct kb_sym){ KVA + 0x20, 'T', "sym_0123456789" };
	for (int i = 0; i < 64; i++) {
		snprintf(fnames[i], sizeof(fnames[i]), "fn_%d", i);
		syms[n++] = (struct kb_sym){ KVA + 0x1000 + 0x20 * (uint64_t)i,
					     'T', fnames[i] };
	}
	syms[n++] = (struct kb_sym){ KVA + 0x300000, 'D', "linux_banner" };
	syms[n++] = (struct kb_sym){ KVA + 0x300100, 'D', "phys_base" };
	syms[n++] = (struct kb_sym){ KVA + 0x380000, 'B', "_end" };
	CHECK_OK(kb_build(img, 0x100000 + KALLSYMS_OFF, KALLSYMS_OFF, syms, n,
			  &o, &kl));
	memcpy(img + 0x300000, banner, sizeof(banner));
	v = TEXT_PA - KVA + QVMI_LINUX_START_KERNEL_MAP;
	memcpy(img + 0x300100, &v, 8);
	*tt = kl.token_table;
}

struct logs {
	char text[4096];
	size_t len;
};

static void keep_log(enum qvmi_log_level level, const char *msg, void *arg)
{
	struct logs *l = arg;
	int n = snprintf(l->text + l->len, sizeof(l->text) - l->len, "%d %s\n",
			 (int)level, msg);

	if (n > 0 && (size_t)n < sizeof(l->text) - l->len)
		l->len += (size_t)n;
}

/* Open the kernel in mem from an ELF core whose VMCOREINFO is vmci (none
 * if NULL); the library's log lines into *l. */
static void open_core(const uint8_t *mem, const char *vmci, struct logs *l)
{
	const struct tload load = { 0, MEM, MEM, 0 };
	struct qvmi_linux_info in;
	struct qvmi_linux *lx = NULL;
	struct qvmi_ctx *ctx = new_ctx();
	struct tcore c;
	uint8_t *notes = NULL;
	size_t nl = 0;
	int err;

	if (vmci)
		note_add(&notes, &nl, "VMCOREINFO", 0, vmci, strlen(vmci));
	make_core(&c, &load, 1, notes, nl);
	memcpy(c.buf + c.data_off[0], mem, MEM);
	free(notes);
	CHECK_OK(attach_buf(ctx, c.buf, c.len, NULL));
	free(c.buf);
	if (vmci)
		CHECK_STR(qvmi_vmcoreinfo(ctx), vmci);
	else
		CHECK(qvmi_vmcoreinfo(ctx) == NULL);
	memset(l, 0, sizeof(*l));
	qvmi_set_log(ctx, keep_log, l, QVMI_LOG_DEBUG);
	QVMI_OPTS(qvmi_linux_opts, lo, .flags = QVMI_LINUX_NO_CACHE);
	err = qvmi_linux_open(ctx, &lo, &lx);
	CHECK_MSG(!err, "open: %s", qvmi_errmsg(ctx));
	CHECK_OK(qvmi_linux_info(lx, &in));
	CHECK_U64(in.text_va, ==, KVA);
	CHECK_U64(in.text_pa, ==, TEXT_PA);
	CHECK_STR(in.release, "6.9.0-test");
	qvmi_linux_destroy(lx);
	qvmi_ctx_destroy(ctx);
}

static void test_dump_open(void)
{
	uint8_t *mem = calloc(1, MEM);
	uint64_t tt = 0;
	char vmci[512], want[160];
	struct logs l;

	CHECK(mem);
	make_kernel(mem, &tt);
	/* What a 6.1 kernel publishes; the hint is the token table's page. */
	snprintf(vmci, sizeof(vmci),
		 "OSRELEASE=6.9.0-test\nPAGESIZE=4096\n"
		 "SYMBOL(_stext)=%" PRIx64 "\n"
		 "SYMBOL(kallsyms_token_table)=%" PRIx64 "\n"
		 "NUMBER(phys_base)=%" PRId64 "\nKERNELOFFSET=%" PRIx64 "\n",
		 KVA + 0x10, KVA + tt,
		 (int64_t)(TEXT_PA - KVA + QVMI_LINUX_START_KERNEL_MAP),
		 (uint64_t)(KVA - 0xffffffff81000000ull));
	open_core(mem, vmci, &l);
	snprintf(want, sizeof(want),
		 "linux: kallsyms from VMCOREINFO, PA 0x%" PRIx64 ": found",
		 (TEXT_PA + tt) & ~(uint64_t)0xfff);
	CHECK_MSG(strstr(l.text, want), "log:\n%s", l.text);
	CHECK_MSG(strstr(l.text, "VMCOREINFO agrees (3 of"), "log:\n%s",
		  l.text);

	/* Before 6.0 there is no kallsyms_token_table: from _stext. */
	snprintf(vmci, sizeof(vmci),
		 "OSRELEASE=6.9.0-test\nSYMBOL(_stext)=%" PRIx64
		 "\nNUMBER(phys_base)=%" PRId64 "\n",
		 KVA + 0x10,
		 (int64_t)(TEXT_PA - KVA + QVMI_LINUX_START_KERNEL_MAP));
	open_core(mem, vmci, &l);
	snprintf(want, sizeof(want),
		 "linux: kallsyms from VMCOREINFO, PA 0x%x: found", TEXT_PA);
	CHECK_MSG(strstr(l.text, want), "log:\n%s", l.text);

	/* A VMCOREINFO that lies (phys_base 2 MiB off, another release):
	 * the hint finds nothing, the scan finds the kernel, memory wins
	 * and the disagreement is a warning. */
	snprintf(vmci, sizeof(vmci),
		 "OSRELEASE=5.10.0-other\nSYMBOL(_stext)=%" PRIx64
		 "\nSYMBOL(kallsyms_token_table)=%" PRIx64
		 "\nNUMBER(phys_base)=%" PRId64 "\n",
		 KVA + 0x10, KVA + tt,
		 (int64_t)(TEXT_PA + (2 << 20) - KVA +
			   QVMI_LINUX_START_KERNEL_MAP));
	open_core(mem, vmci, &l);
	CHECK_MSG(strstr(l.text, ": not there"), "log:\n%s", l.text);
	snprintf(want, sizeof(want),
		 "%d linux: the dump's VMCOREINFO disagrees with memory (2 of",
		 (int)QVMI_LOG_WARN);
	CHECK_MSG(strstr(l.text, want), "log:\n%s", l.text);

	/* Hostile values: a PA past 52 bits, a number too big for a long,
	 * a symbol outside the kernel image's mapping; all ignored. */
	open_core(mem,
		  "SYMBOL(kallsyms_token_table)=ffffffff8a200000\n"
		  "NUMBER(phys_base)=4503599627370496\n",
		  &l);
	CHECK_MSG(!strstr(l.text, "from VMCOREINFO"), "log:\n%s", l.text);
	open_core(mem,
		  "SYMBOL(kallsyms_token_table)=ffffffff8a200000\n"
		  "NUMBER(phys_base)=18446744073709551615\n",
		  &l);
	CHECK_MSG(!strstr(l.text, "from VMCOREINFO"), "log:\n%s", l.text);
	open_core(mem,
		  "SYMBOL(kallsyms_token_table)=ffff888000000000\n"
		  "NUMBER(phys_base)=0\n",
		  &l);
	CHECK_MSG(!strstr(l.text, "from VMCOREINFO"), "log:\n%s", l.text);

	/* No VMCOREINFO: nothing said about it. */
	open_core(mem, NULL, &l);
	CHECK_MSG(!strstr(l.text, "VMCOREINFO"), "log:\n%s", l.text);
	free(mem);
}

static const struct qvmi_test vmcoreinfo_tests[] = {
	{ "parse", test_parse },
	{ "dump_open", test_dump_open },
};
QVMI_SUITE(vmcoreinfo, vmcoreinfo_tests);
