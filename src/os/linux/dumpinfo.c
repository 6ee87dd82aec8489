// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What an ELF dump of a Linux guest needs so that crash, drgn,
 * makedumpfile and gdb read it as a kernel dump: the VMCOREINFO note and
 * the kernel's virtual layout (the image and the direct map).
 *
 * The note comes from guest memory.  Since Linux 4.13 (commit 1229384f5b85
 * "kdump: use vmcoreinfo_note pointer") the kernel keeps a complete ELF
 * note, name "VMCOREINFO", type 0, in a page of its own that
 * vmcoreinfo_note points to, and rewrites it after each append
 * (update_vmcoreinfo_note): that note is what -device vmcoreinfo hands to
 * QEMU, so no QEMU device or guest module is needed.
 */
#include <stdlib.h>
#include <string.h>

#include "kernel-int.h"

/* kernel/crash_core.c: VMCOREINFO_BYTES is PAGE_SIZE. */
enum { VMCI_MAX = 4096, VMCI_NAMESZ = 11 /* "VMCOREINFO" + NUL */ };

static int note_bad(struct qvmi_linux *lx, const char *what)
{
	return qvmi__err(lx->ctx, -EBADMSG, "vmcoreinfo_note: %s", what);
}

/* The note's descriptor: every byte printable text or a newline. */
static bool vmci_text_ok(const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (t[i] != '\n' && (t[i] < 0x20 || t[i] > 0x7e))
			return false;
	return n > 10 && !memcmp(t, "OSRELEASE=", 10);
}

/* Read the note at pa: header, name, descriptor (each read once). */
static int read_note(struct qvmi_linux *lx, uint64_t pa, char **ret,
		     size_t *lenret)
{
	struct {
		uint32_t namesz, descsz, type;
		char name[12];
	} h;
	uint32_t descsz;
	char *text;
	int err;

	err = qvmi_read_pa(lx->ctx, pa, &h, sizeof(h));
	if (err)
		return err;
	descsz = h.descsz;
	if (h.namesz != VMCI_NAMESZ || h.type != 0 ||
	    memcmp(h.name, "VMCOREINFO", VMCI_NAMESZ))
		return note_bad(lx, "not a VMCOREINFO note");
	if (!descsz || descsz > VMCI_MAX)
		return note_bad(lx, "descriptor size out of range");
	text = malloc((size_t)descsz + 1);
	if (!text)
		return qvmi__err(lx->ctx, -ENOMEM, "out of memory");
	err = qvmi_read_pa(lx->ctx, pa + sizeof(h), text, descsz);
	if (!err && !vmci_text_ok(text, descsz))
		err = note_bad(lx, "descriptor is not VMCOREINFO text");
	if (err) {
		free(text);
		return err;
	}
	text[descsz] = '\0';
	*ret = text;
	*lenret = descsz;
	return 0;
}

static int vmci_from_guest(struct qvmi_linux *lx, char **ret, size_t *lenret)
{
	uint64_t va, pa, note_va;
	char rel[128];
	int err;

	err = qvmi_linux_sym_addr(lx, "vmcoreinfo_note", &va);
	if (err)
		return qvmi__err(lx->ctx, err,
				 "no vmcoreinfo_note symbol (CONFIG_CRASH_CORE "
				 "off, or no KALLSYMS_ALL)");
	err = qvmi__linux_kimage_pa(lx, va, &pa);
	note_va = 0; /* i386: a 4-byte pointer fills the low half */
	if (!err)
		err = qvmi__lx_read_once(lx->ctx, pa, &note_va,
					 qvmi__lx_is32(lx) ? 4 : 8);
	if (!err && !note_va)
		err = note_bad(lx, "NULL (crash_save_vmcoreinfo_init failed)");
	if (!err)
		err = qvmi_linux_va_to_pa(lx, note_va, &pa);
	if (!err)
		err = read_note(lx, pa, ret, lenret);
	if (err)
		return err;
	/* The note of another kernel would mislead every consumer; so
	 * would one whose OSRELEASE is too long to compare (found by the
	 * fuzz campaign: "6.1.0-57-amd6sss..." passed unchecked). */
	if (qvmi__vmci_str(*ret, "OSRELEASE", rel, sizeof(rel)) ||
	    strcmp(rel, lx->release)) {
		free(*ret);
		*ret = NULL;
		return note_bad(lx, "OSRELEASE missing, too long or differs "
				    "from linux_banner");
	}
	return 0;
}

/* Kernel VA of sym rounded to a page (up or down); 0 if unknown. */
static uint64_t sym_page(struct qvmi_linux *lx, const char *name, bool up)
{
	uint64_t va = qvmi__lx_sym_or(lx, name, 0);

	if (!va || va < lx->text_va || va > lx->end_va)
		return 0;
	if (up)
		va += QVMI_PAGE_SIZE - 1;
	return va & ~(uint64_t)(QVMI_PAGE_SIZE - 1);
}

/* The end of the brk area in use: the rest up to __brk_limit was never
 * reserved and is free memory (arch/x86/kernel/setup.c reserve_brk). */
static uint64_t brk_end(struct qvmi_linux *lx, uint64_t base)
{
	uint64_t va = qvmi__lx_sym_or(lx, "_brk_end", 0), pa, v;

	if (!va || qvmi__linux_kimage_pa(lx, va, &pa) ||
	    qvmi__lx_read_u64(lx->ctx, pa, &v) || v < base || v > lx->end_va)
		return base;
	return (v + QVMI_PAGE_SIZE - 1) & ~(uint64_t)(QVMI_PAGE_SIZE - 1);
}

/*
 * The parts of [_text, _end) the kernel keeps using at their image
 * addresses.  The rest it frees after boot and hands out again through
 * the direct map, where task_structs and slabs then live: on 6.1, initmem
 * (free_initmem), the text/rodata and rodata/data gaps (x86_64
 * mark_rodata_ro), and brk beyond _brk_end.  Those must be reachable at
 * page_offset + pa, so they are not image.  Without the section symbols,
 * the whole image is.
 */
static int image_parts(struct qvmi_linux *lx, struct qvmi_dump_kernel *k)
{
	uint64_t w[4][2] = {
		{ lx->text_va, sym_page(lx, "_etext", true) },
		{ sym_page(lx, "__start_rodata", false),
		  sym_page(lx, "__end_rodata", true) },
		{ sym_page(lx, "_sdata", false),
		  sym_page(lx, "__init_begin", false) },
		{ sym_page(lx, "__init_end", true),
		  sym_page(lx, "__brk_base", false) },
	};
	size_t i, n = 0;
	bool ok = true;

	for (i = 0; i < 4; i++)
		ok = ok && w[i][0] && w[i][0] < w[i][1] &&
		     (!i || w[i][0] >= w[i - 1][1]);
	if (ok) {
		w[3][1] = brk_end(lx, w[3][1]);
	} else {
		w[0][0] = lx->text_va;
		w[0][1] = (lx->end_va + QVMI_PAGE_SIZE - 1) &
			  ~(uint64_t)(QVMI_PAGE_SIZE - 1);
	}
	k->image = calloc(4, sizeof(*k->image));
	if (!k->image)
		return qvmi__err(lx->ctx, -ENOMEM, "out of memory");
	for (i = 0; i < (ok ? 4u : 1u); i++)
		k->image[n++] = (struct qvmi_dump_vrange){
			w[i][0], lx->text_pa + (w[i][0] - lx->text_va),
			w[i][1] - w[i][0]
		};
	k->nimage = n;
	return 0;
}

/*
 * i386 (3G/1G split): the image lies in the linear map, which covers
 * lowmem, [0, high_memory - PAGE_OFFSET), at PAGE_OFFSET + pa; that is
 * the one "image" part.  Highmem has no permanent kernel address, nor has
 * the BIOS at 0xfffc0000: the writer puts them at page_offset + pa, so
 * page_offset is 4 GiB, outside every 32-bit address (ELF64 p_vaddr): no
 * i386 address reads them by mistake.
 */
static int image32(struct qvmi_linux *lx, struct qvmi_dump_kernel *k)
{
	uint64_t va, pa = 0, hm = 0, po = lx->page_offset_base;

	if (!po || lx->text_va - lx->text_pa != po)
		return qvmi__err(lx->ctx, -ENOENT,
				 "dump layout: the i386 image is not at "
				 "PAGE_OFFSET + its address");
	if (qvmi_linux_sym_addr(lx, "high_memory", &va) ||
	    qvmi__linux_kimage_pa(lx, va, &pa) ||
	    qvmi__lx_read_once(lx->ctx, pa, &hm, 4) || hm <= po ||
	    hm - po > (1ull << 30))
		return qvmi__err(lx->ctx, -ENOENT,
				 "dump layout: no high_memory (the end of "
				 "lowmem; it needs a System.map)");
	k->image = calloc(1, sizeof(*k->image));
	if (!k->image)
		return qvmi__err(lx->ctx, -ENOMEM, "out of memory");
	k->image[0] = (struct qvmi_dump_vrange){
		po, 0, (hm - po) & ~(uint64_t)(QVMI_PAGE_SIZE - 1)
	};
	k->nimage = 1;
	k->page_offset = 1ull << 32;
	return 0;
}

QVMI_API int qvmi_linux_dump_kernel(struct qvmi_linux *lx,
				    struct qvmi_dump_kernel *ret)
{
	struct qvmi_dump_kernel k = { 0 };
	int err;

	if (!lx || !ret)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (qvmi__lx_is32(lx)) {
		err = image32(lx, &k);
		goto note;
	}
	if (!lx->end_va || lx->end_va <= lx->text_va ||
	    lx->end_va - lx->text_va > (1ull << 30) ||
	    lx->text_va % QVMI_PAGE_SIZE || lx->text_pa % QVMI_PAGE_SIZE)
		return qvmi__err(lx->ctx, -ENOENT,
				 "dump layout: no _end above _text");
	if (!lx->page_offset_base)
		return qvmi__err(lx->ctx, -ENOENT,
				 "dump layout: direct map base unknown");
	k.page_offset = lx->page_offset_base;
	err = image_parts(lx, &k);
note:
	if (!err)
		err = vmci_from_guest(lx, &k.vmcoreinfo, &k.vmcoreinfo_len);
	if (err) {
		/* not qvmi_dump_kernel_deinit(): that lives in a layer above */
		free(k.image);
		free(k.vmcoreinfo);
		return err;
	}
	*ret = k;
	return 0;
}
