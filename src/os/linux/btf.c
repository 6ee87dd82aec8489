// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * BTF: the kernel's own type information (CONFIG_DEBUG_INFO_BTF), parsed
 * with libbpf, and member lookup by path through anonymous structs/unions
 * (mm_struct.pgd sits in an anonymous struct on 6.1).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "linux.h"

enum {
	BTF_MAGIC_LE = 0xeb9f,
	BTF_SIZE_MAX = 256 << 20,
	PATH_MAX_DEPTH = 32, /* components in a member path */
	ANON_MAX_DEPTH = 16, /* nested anonymous members */
	TYPE_CHAIN_MAX = 64, /* typedef/const/volatile hops */
};

/* struct btf_header of include/uapi/linux/btf.h, read field by field. */
struct btf_hdr {
	uint16_t magic;
	uint8_t version, flags;
	uint32_t hdr_len, type_off, type_len, str_off, str_len;
};

int qvmi__btf_check_header(struct qvmi_ctx *ctx, const void *data, size_t len,
			   size_t *ret)
{
	struct btf_hdr h;
	uint64_t body, te, se;

	if (len < sizeof(h))
		return qvmi__err(ctx, -EBADMSG, "btf: %zu bytes, no header",
				 len);
	memcpy(&h, data, sizeof(h));
	if (h.magic != BTF_MAGIC_LE)
		return qvmi__err(ctx, -EBADMSG, "btf: bad magic 0x%04x",
				 h.magic);
	if (h.version != 1 || h.hdr_len < sizeof(h) || h.hdr_len > 1024 ||
	    h.hdr_len > len)
		return qvmi__err(ctx, -EBADMSG,
				 "btf: version %u, header length %u", h.version,
				 h.hdr_len);
	te = (uint64_t)h.type_off + h.type_len;
	se = (uint64_t)h.str_off + h.str_len;
	body = QVMI_MAX(te, se);
	if ((h.type_off & 3) || !h.str_len || body + h.hdr_len > BTF_SIZE_MAX ||
	    body + h.hdr_len > len ||
	    (h.type_off < h.str_off ? te > h.str_off : se > h.type_off))
		return qvmi__err(ctx, -EBADMSG,
				 "btf: sections (types %u+%u, strings %u+%u) "
				 "do not fit %zu bytes",
				 h.type_off, h.type_len, h.str_off, h.str_len,
				 len);
	if (ret)
		*ret = (size_t)(h.hdr_len + body);
	return 0;
}

/* libbpf prints parse problems to stderr by default; the library never
 * prints, so route them to the context's log while we call into it. */
static __thread struct qvmi_ctx *btf_log_ctx;

static int btf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[256];

	if (btf_log_ctx) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		vsnprintf(buf, sizeof(buf), fmt, ap); /* libbpf's own format */
#pragma GCC diagnostic pop
		buf[strcspn(buf, "\n")] = '\0';
		qvmi__log(btf_log_ctx, QVMI_LOG_DEBUG, "libbpf: %s", buf);
	}
	return 0;
}

static struct btf *btf_call(struct qvmi_ctx *ctx, const void *data, size_t len,
			    const char *path)
{
	libbpf_print_fn_t old = libbpf_set_print(btf_print);
	struct btf *btf;

	btf_log_ctx = ctx;
	btf = data ? btf__new(data, (uint32_t)len) : btf__parse(path, NULL);
	btf_log_ctx = NULL;
	libbpf_set_print(old);
	return btf;
}

int qvmi__btf_load(struct qvmi_ctx *ctx, const void *data, size_t len,
		   struct btf **ret)
{
	struct btf *btf;
	size_t need;
	int err = qvmi__btf_check_header(ctx, data, len, &need);

	if (err)
		return err;
	btf = btf_call(ctx, data, need, NULL);
	if (!btf)
		return qvmi__err(ctx, -EBADMSG,
				 "btf: libbpf rejected the type data (%d)",
				 -errno);
	*ret = btf;
	return 0;
}

int qvmi__btf_load_file(struct qvmi_ctx *ctx, const char *path,
			struct btf **ret)
{
	struct btf *btf = btf_call(ctx, NULL, 0, path);

	if (!btf)
		return qvmi__err(ctx, errno == ENOENT ? -ENOENT : -EBADMSG,
				 "btf: cannot parse %s (%d)", path, -errno);
	*ret = btf;
	return 0;
}

/* ---- type resolution ------------------------------------------------------ */

/* Skip typedef, const, volatile, restrict and type tags. */
static int btf_skip_mods(const struct btf *btf, uint32_t id, uint32_t *ret)
{
	for (int i = 0; i < TYPE_CHAIN_MAX; i++) {
		const struct btf_type *t = btf__type_by_id(btf, id);

		if (!t)
			return -ENOENT;
		switch (btf_kind(t)) {
		case BTF_KIND_TYPEDEF:
		case BTF_KIND_CONST:
		case BTF_KIND_VOLATILE:
		case BTF_KIND_RESTRICT:
		case BTF_KIND_TYPE_TAG:
			id = t->type;
			break;
		default:
			*ret = id;
			return 0;
		}
	}
	return -ELOOP;
}

/* "task_struct", "struct task_struct", "union foo", a typedef, or a base
 * type such as "unsigned long". */
static int btf_find_type(const struct btf *btf, const char *name, uint32_t *ret)
{
	static const struct {
		const char *prefix;
		int kind;
	} pfx[] = { { "struct ", BTF_KIND_STRUCT },
		    { "union ", BTF_KIND_UNION },
		    { "enum ", BTF_KIND_ENUM } };
	int id;

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(pfx); i++) {
		size_t n = strlen(pfx[i].prefix);

		if (!strncmp(name, pfx[i].prefix, n)) {
			id = btf__find_by_name_kind(btf, name + n, pfx[i].kind);
			if (id < 0 && pfx[i].kind == BTF_KIND_ENUM)
				id = btf__find_by_name_kind(btf, name + n,
							    BTF_KIND_ENUM64);
			if (id <= 0)
				return -ENOENT;
			*ret = (uint32_t)id;
			return 0;
		}
	}
	id = btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT);
	if (id <= 0)
		id = btf__find_by_name_kind(btf, name, BTF_KIND_UNION);
	if (id <= 0)
		id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id <= 0)
		id = btf__find_by_name(btf, name);
	if (id <= 0)
		return -ENOENT;
	*ret = (uint32_t)id;
	return 0;
}

/* Find member name in struct/union id, descending into anonymous members.
 * Adds the member's bit offset to *bits. */
/*
 * Members examined by one lookup, anonymous members included: guest BTF is
 * hostile, and nesting anonymous members fans out (depth alone is not a
 * bound: 16 levels of 65,535 members each).
 */
enum { MEMBER_BUDGET = 100000 };

static int find_member(const struct btf *btf, uint32_t id, const char *name,
		       size_t nlen, int depth, uint64_t *bits, uint32_t *bitsz,
		       const struct btf_member **ret, unsigned int *budget)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_member *m;
	uint16_t vlen;

	if (!t || depth > ANON_MAX_DEPTH ||
	    (!btf_is_struct(t) && !btf_is_union(t)))
		return -ENOENT;
	m = btf_members(t);
	vlen = btf_vlen(t);
	for (uint16_t i = 0; i < vlen; i++, m++) {
		const char *mn = btf__name_by_offset(btf, m->name_off);
		uint64_t off = btf_member_bit_offset(t, i);
		uint32_t mt;
		int r;

		if (!*budget)
			return -ELOOP;
		(*budget)--;
		if (mn && *mn) {
			if (strlen(mn) == nlen && !memcmp(mn, name, nlen)) {
				*bits += off;
				*bitsz = btf_member_bitfield_size(t, i);
				*ret = m;
				return (int)i;
			}
			continue;
		}
		/* anonymous struct/union: look inside */
		if (btf_skip_mods(btf, m->type, &mt))
			continue;
		r = find_member(btf, mt, name, nlen, depth + 1, bits, bitsz,
				ret, budget);
		if (r >= 0) {
			*bits += off;
			return 0;
		}
		if (r == -ELOOP)
			return r;
	}
	return -ENOENT;
}

/* Parse "[N]" suffixes: step into arrays, adding index * element size. */
static int path_index(struct qvmi_ctx *ctx, const struct btf *btf,
		      const char **pp, uint32_t *id, uint64_t *bits)
{
	const char *p = *pp;

	while (*p == '[') {
		const struct btf_type *t;
		const struct btf_array *a;
		unsigned long long idx;
		char *end;
		long esz;

		if (btf_skip_mods(btf, *id, id) ||
		    !(t = btf__type_by_id(btf, *id)) || !btf_is_array(t))
			return qvmi__err(ctx, -EINVAL, "btf: [ on a non-array");
		a = btf_array(t);
		if (!isdigit((unsigned char)p[1]))
			return qvmi__err(ctx, -EINVAL, "btf: bad index");
		idx = strtoull(p + 1, &end, 10);
		if (*end != ']' || idx >= a->nelems)
			return qvmi__err(
				ctx, -ERANGE,
				"btf: index out of bounds (%u elements)",
				a->nelems);
		esz = btf__resolve_size(btf, a->type);
		if (esz < 0)
			return qvmi__err(ctx, -EBADMSG, "btf: element size");
		*bits += (uint64_t)idx * (uint64_t)esz * 8;
		*id = a->type;
		p = end + 1;
	}
	*pp = p;
	return 0;
}

int qvmi__btf_member(struct qvmi_ctx *ctx, const struct btf *btf,
		     const char *type, const char *path,
		     struct qvmi_linux_member *ret)
{
	const struct btf_member *m = NULL;
	const struct btf_type *t;
	uint64_t bits = 0;
	uint32_t id, bitsz = 0;
	const char *p = path;
	unsigned int budget = MEMBER_BUDGET;
	long sz;
	int depth = 0, err;

	if (!type || !path || !*path)
		return qvmi__err(ctx, -EINVAL, "btf: empty type or path");
	if (btf_find_type(btf, type, &id))
		return qvmi__err(ctx, -ENOENT, "btf: no type %s", type);
	while (*p) {
		size_t n = strcspn(p, ".[");
		int idx;

		if (!n || ++depth > PATH_MAX_DEPTH)
			return qvmi__err(ctx, -EINVAL, "btf: bad path %s",
					 path);
		if (btf_skip_mods(btf, id, &id))
			return qvmi__err(ctx, -EBADMSG, "btf: bad type chain");
		m = NULL;
		idx = find_member(btf, id, p, n, 0, &bits, &bitsz, &m, &budget);
		if (idx == -ELOOP)
			return qvmi__err(ctx, -ELOOP,
					 "btf: %s: over %d members searched "
					 "for %.*s",
					 type, MEMBER_BUDGET, (int)n, p);
		if (idx < 0 || !m)
			return qvmi__err(ctx, -ENOENT,
					 "btf: %s has no member %.*s", type,
					 (int)n, p);
		id = m->type;
		p += n;
		err = path_index(ctx, btf, &p, &id, &bits);
		if (err)
			return err;
		if (*p == '.')
			p++;
		else if (*p)
			return qvmi__err(ctx, -EINVAL, "btf: bad path %s",
					 path);
	}
	sz = btf__resolve_size(btf, id);
	t = btf__type_by_id(btf, id);
	memset(ret, 0, sizeof(*ret));
	ret->bit_offset = bits;
	ret->bit_size = bitsz;
	ret->size = sz < 0 ? 0 : (uint64_t)sz;
	ret->type_id = id;
	ret->type_name = t ? btf__name_by_offset(btf, t->name_off) : NULL;
	if (!ret->type_name)
		ret->type_name = "";
	return 0;
}

int qvmi__btf_type_size(struct qvmi_ctx *ctx, const struct btf *btf,
			const char *type, uint64_t *ret)
{
	uint32_t id;
	long sz;

	if (!type || btf_find_type(btf, type, &id))
		return qvmi__err(ctx, -ENOENT, "btf: no type %s",
				 type ? type : "(null)");
	sz = btf__resolve_size(btf, id);
	if (sz < 0)
		return qvmi__err(ctx, -EBADMSG, "btf: %s has no size", type);
	*ret = (uint64_t)sz;
	return 0;
}
