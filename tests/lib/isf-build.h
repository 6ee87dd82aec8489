/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A Volatility ISF JSON made from BTF, the way dwarf2json would describe
 * the same types (anonymous types "unnamed_<id>", function pointers as
 * "function", forward declarations as empty structs, enums without
 * constants), for tests of the ISF path: the fake kernels' BTF, and the
 * i386 guest's detached BTF with its System.map.  Not a dwarf2json
 * replacement: no enum constants, no per-CPU or absolute symbols.
 */
#ifndef QVMI_TEST_ISF_BUILD_H
#define QVMI_TEST_ISF_BUILD_H

#include <stddef.h>
#include <stdint.h>

struct btf;

struct isf_sym {
	const char *name;
	uint64_t addr; /* link-time */
};

/* The ISF text (malloc'd) of every type in b and the given symbols;
 * NULL on failure. */
char *isf_from_btf(const struct btf *b, const struct isf_sym *syms,
		   size_t nsyms);
/* The same with the symbols of a System.map (types T t D d B b R r);
 * NULL on failure. */
char *isf_from_btf_map(const struct btf *b, const char *map_path);

#endif
