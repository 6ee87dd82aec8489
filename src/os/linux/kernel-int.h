/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Between kernel.c (placing the image, the handle), discover.c (where
 * the symbols come from: kallsyms in memory or a System.map) and
 * vmcoreinfo.c.
 */
#ifndef QVMI_OS_LINUX_KERNEL_INT_H
#define QVMI_OS_LINUX_KERNEL_INT_H

#include "linux.h"

/* CONFIG_PHYSICAL_ALIGN's minimum on x86_64: _text's physical and
 * virtual addresses agree modulo this. */
#define QVMI_LX_ALIGN_2M (2 << 20)
/* i386: _text to the kallsyms token table, at most. */
#define QVMI_LX_IMAGE32_MAX (64 << 20)
/* linux_banner starts so (init/version.c). */
#define QVMI_LX_BANNER_PREFIX "Linux version "

/* A 32-bit kernel: kallsyms was found with 4-byte addresses. */
static inline bool qvmi__lx_is32(const struct qvmi_linux *lx)
{
	return lx->lay.ptr_size == 4;
}

/* One u64 of guest-physical memory, read with pread where it can. */
static inline int qvmi__lx_read_u64(struct qvmi_ctx *ctx, uint64_t pa,
				    uint64_t *ret)
{
	return qvmi__lx_read_once(ctx, pa, ret, sizeof(*ret));
}

/* Read [center - before, center + after) as far as memory is backed
 * without a gap on either side of center; free with
 * qvmi__lx_window_free. */
QVMI_HIDDEN int qvmi__lx_read_window(struct qvmi_ctx *ctx, uint64_t center,
				     uint64_t before, uint64_t after,
				     uint8_t **buf, uint64_t *lo,
				     uint64_t *len);
QVMI_HIDDEN void qvmi__lx_window_free(uint8_t *b);

/* A symbol's address, or def if there is none. */
QVMI_HIDDEN uint64_t qvmi__lx_sym_or(struct qvmi_linux *lx, const char *name,
				     uint64_t def);
/* _text and _end of the symbol table into text_va and end_va. */
QVMI_HIDDEN int qvmi__lx_image_bounds(struct qvmi_linux *lx);
/* Place the image (text_pa, phys_base) given a PA inside it. */
QVMI_HIDDEN int qvmi__lx_place_image(struct qvmi_linux *lx, uint64_t inside_pa);

/* The symbol table from kallsyms in guest memory, the image placed. */
QVMI_HIDDEN int qvmi__lx_discover_kallsyms(struct qvmi_linux *lx);
/* The symbol table from a System.map file, the image placed. */
QVMI_HIDDEN int qvmi__lx_discover_map(struct qvmi_linux *lx, const char *path);

/*
 * VMCOREINFO text (vmcoreinfo.c): the value of "key=" into buf, as a
 * string; as an unsigned number in base (SYMBOL(x), KERNELOFFSET: hex);
 * as a signed decimal (NUMBER(x) is printed with %ld).  -ENOENT if no
 * line has the key, -EBADMSG if the value is not such a number,
 * -ENAMETOOLONG if it does not fit, -EINVAL for an empty key.
 */
QVMI_HIDDEN int qvmi__vmci_str(const char *text, const char *key, char *buf,
			       size_t size);
QVMI_HIDDEN int qvmi__vmci_u64(const char *text, const char *key, int base,
			       uint64_t *ret);
QVMI_HIDDEN int qvmi__vmci_num(const char *text, const char *key, int64_t *ret);

#endif
