/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Build kallsyms tables the way scripts/kallsyms.c lays them out. */
#ifndef QVMI_TEST_KSYMS_BUILD_H
#define QVMI_TEST_KSYMS_BUILD_H

#include <stddef.h>
#include <stdint.h>

struct kb_sym {
	uint64_t addr;
	char type;
	const char *name;
};

enum kb_order {
	KB_OLD = 0, /* <= 6.1 */
	KB_OLD_SEQS = 1, /* 6.2-6.3: seqs_of_names before the tokens */
	KB_NEW = 2, /* 6.4+ */
};

struct kb_opts {
	enum kb_order order;
	unsigned int marker_width; /* 4 or 8 */
	int absolute; /* kallsyms_addresses instead of offsets */
	int abs_percpu; /* offsets: percpu symbols (addr < 2^31) absolute */
	unsigned int ptr_size; /* 8 (0 means 8) or 4: a 32-bit kernel */
	/* with tok_s: token tok_c is tok_s (at 0x80 and above, names use it
	 * where they hold it; below, as the single character tok_c) */
	unsigned int tok_c;
	const char *tok_s;
};

/* Where the builder put things, as offsets into the output buffer. */
struct kb_layout {
	size_t num_syms, names, markers, token_table, token_index, addrs;
	size_t end;
};

enum { KB_MAX_SYMS = 8192 * 256 };

/* Symbols must be sorted by address and use every digit somewhere; at
 * most KB_MAX_SYMS of them.  Writes at buf + at; returns 0, or -1 if cap
 * is too small. */
int kb_build(uint8_t *buf, size_t cap, size_t at, const struct kb_sym *syms,
	     size_t n, const struct kb_opts *o, struct kb_layout *ret);

#endif
