/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An ISF's "symbols" table without json-c (isf-syms.c). */
#ifndef QVMI_OS_LINUX_ISF_SYMS_H
#define QVMI_OS_LINUX_ISF_SYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

struct qvmi_isf_symtab {
	struct {
		size_t name; /* offset into pool */
		uint64_t addr; /* as the file has it (0 included) */
	} * v; /* sorted by name, one per name */
	size_t n;
	char *pool;
	size_t pool_len, pool_cap;
};

/*
 * Read the top-level "symbols" of the ISF document data[len] into ret,
 * checking the whole document's JSON syntax on the way; [*vstart, *vend)
 * is the member's value.  At most max symbols, nesting to max_depth.
 * 0, or 1 if the caller should let json-c read everything (anything
 * unexpected), or -ENOMEM.
 */
QVMI_HIDDEN int qvmi__isf_symtab_scan(const char *data, size_t len,
				      int max_depth, size_t max,
				      struct qvmi_isf_symtab *ret,
				      size_t *vstart, size_t *vend);
QVMI_HIDDEN void qvmi__isf_symtab_free(struct qvmi_isf_symtab *t);
/* The address of name as the file has it; -ENOENT if not there. */
QVMI_HIDDEN int qvmi__isf_symtab_find(const struct qvmi_isf_symtab *t,
				      const char *name, uint64_t *ret);

#endif
