/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Building a struct or union into a libbpf BTF from a table of members, for
 * the synthetic kernels (fake-kernel.c 64-bit, fake-kernel32.c 32-bit):
 *	COMP(btf, is_union, "name", size, { "member", type_id, offset },
 *	     { "flags", u32, 8, 3, 2 }, ...)
 * gives the new type's id, or a negative value if libbpf refused.
 */
#ifndef QVMI_TEST_BTF_COMP_H
#define QVMI_TEST_BTF_COMP_H

#include <stddef.h>
#include <stdint.h>

#include <bpf/btf.h>

struct btf_comp_member {
	const char *name;
	int type;
	uint32_t off; /* bytes */
	uint32_t bits; /* bitfield size, 0 if none */
	uint32_t bit; /* bit offset within the byte at off */
};

static inline int btf_comp(struct btf *b, int is_union, const char *name,
			   uint32_t size, const struct btf_comp_member *f,
			   size_t n)
{
	int id = is_union ? btf__add_union(b, name, size) :
			    btf__add_struct(b, name, size);

	for (size_t i = 0; id > 0 && i < n; i++)
		if (btf__add_field(b, f[i].name, f[i].type,
				   f[i].off * 8 + f[i].bit, f[i].bits))
			return -1;
	return id;
}

#define COMP(b, u, name, size, ...)                                         \
	({                                                                  \
		const struct btf_comp_member _f[] = { __VA_ARGS__ };        \
		btf_comp(b, u, name, size, _f, sizeof(_f) / sizeof(_f[0])); \
	})

#endif
