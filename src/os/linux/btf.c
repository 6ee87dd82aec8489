// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * BTF: the kernel's own type information (CONFIG_DEBUG_INFO_BTF), and
 * member lookup by path through anonymous structs/unions (mm_struct.pgd
 * sits in an anonymous struct on 6.1).  BTF files are parsed with libbpf;
 * the BTF in guest memory is read in place by a small bounded reader (the
 * "view", below), which answers the same lookups without libbpf's copy.
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

/*
 * libbpf prints parse problems to stderr by default; the library never
 * prints.  libbpf's print callback is process-wide.  Swapping it around
 * each parse raced with other threads and hid the application's own
 * libbpf messages meanwhile, so ours stays in place and chains: messages
 * from our parses, known by a thread-local context, go to that context's
 * log, everything else to the callback that was there before ours (kept
 * when an application set its own since: ours goes back on top at our
 * next parse, theirs below it).
 */
static __thread struct qvmi_ctx *btf_log_ctx;
static libbpf_print_fn_t btf_prev_print; /* __atomic: any thread */

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
		return 0;
	}
	libbpf_print_fn_t prev =
		__atomic_load_n(&btf_prev_print, __ATOMIC_ACQUIRE);

	return prev ? prev(level, fmt, ap) : 0;
}

static void btf_route_print(void)
{
	libbpf_print_fn_t cur = libbpf_set_print(btf_print);

	if (cur != btf_print)
		__atomic_store_n(&btf_prev_print, cur, __ATOMIC_RELEASE);
}

static struct btf *btf_call(struct qvmi_ctx *ctx, const void *data, size_t len,
			    const char *path)
{
	struct btf *btf;

	btf_route_print();
	btf_log_ctx = ctx;
	btf = data ? btf__new(data, (uint32_t)len) : btf__parse(path, NULL);
	btf_log_ctx = NULL;
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

/* ---- type access: libbpf's struct btf, or the in-place view -------------- */

/*
 * The in-memory kernel BTF is read in place (qvmi__btf_view_open) instead
 * of through btf__new: libbpf copies the 4.3 MB into fresh memory, a page
 * fault per 4 KiB, which was a third of a cold `qvmi ps` (24 ms of CPU).
 * The view keeps one copy (populated in one call) and an offset per type.
 * Every access is checked at use: ids against the type count, name
 * offsets against the string section, records against the type section.
 */
struct qvmi_btf_view {
	uint8_t *buf; /* the blob, a private mapping */
	size_t buf_len;
	const uint8_t *types;
	const char *strs;
	uint32_t types_len, str_len;
	uint32_t *offs; /* offs[id]: record offset in types, id >= 1 */
	size_t offs_len; /* bytes mapped */
	uint32_t n; /* number of ids, void (0) included */
	int ptr_sz; /* 0 until needed */
	/* Type names resolved so far: a lookup by name walks every type,
	 * and a view asks for the same few structs again and again. */
	struct {
		char name[64];
		int id; /* or -ENOENT */
	} seen[32];
	unsigned int nseen;
};

/* What the lookups need from a BTF: exactly one of the two is set. */
struct tsrc {
	const struct btf *lib;
	const struct qvmi_btf_view *v;
};

static const struct btf_type *ty(const struct tsrc *s, uint32_t id)
{
	if (s->lib)
		return btf__type_by_id(s->lib, id);
	if (!id || id >= s->v->n)
		return NULL; /* void has no record */
	return (const struct btf_type *)(s->v->types + s->v->offs[id]);
}

static const char *nm(const struct tsrc *s, uint32_t off)
{
	if (s->lib)
		return btf__name_by_offset(s->lib, off);
	return off < s->v->str_len ? s->v->strs + off : NULL;
}

/* First id of that kind and name (kind < 0: any), or -ENOENT; as libbpf's
 * btf__find_by_name_kind: a linear walk. */
static int find_kind(const struct tsrc *s, const char *name, int kind)
{
	if (s->lib)
		return kind < 0 ? btf__find_by_name(s->lib, name) :
				  btf__find_by_name_kind(s->lib, name, kind);
	if (!strcmp(name, "void"))
		return 0;
	for (uint32_t id = 1; id < s->v->n; id++) {
		const struct btf_type *t = ty(s, id);
		const char *n;

		if (kind >= 0 && btf_kind(t) != kind)
			continue;
		n = nm(s, t->name_off);
		if (n && !strcmp(n, name))
			return (int)id;
	}
	return -ENOENT;
}

static int view_ptr_size(const struct qvmi_btf_view *v);

/* btf__resolve_size for the view (same rules, same bounds). */
static long rsize(const struct tsrc *s, uint32_t id)
{
	uint64_t nelems = 1, size = 0;

	if (s->lib)
		return btf__resolve_size(s->lib, id);
	for (int depth = 0; depth < TYPE_CHAIN_MAX; depth++) {
		const struct btf_type *t = ty(s, id);

		if (!t)
			return -EINVAL;
		switch (btf_kind(t)) {
		case BTF_KIND_INT:
		case BTF_KIND_STRUCT:
		case BTF_KIND_UNION:
		case BTF_KIND_ENUM:
		case BTF_KIND_ENUM64:
		case BTF_KIND_DATASEC:
		case BTF_KIND_FLOAT:
			size = t->size;
			goto done;
		case BTF_KIND_PTR:
			size = (uint64_t)view_ptr_size(s->v);
			goto done;
		case BTF_KIND_TYPEDEF:
		case BTF_KIND_VOLATILE:
		case BTF_KIND_CONST:
		case BTF_KIND_RESTRICT:
		case BTF_KIND_VAR:
		case BTF_KIND_DECL_TAG:
		case BTF_KIND_TYPE_TAG:
			id = t->type;
			break;
		case BTF_KIND_ARRAY:
			if (nelems &&
			    btf_array(t)->nelems > UINT32_MAX / nelems)
				return -E2BIG;
			nelems *= btf_array(t)->nelems;
			id = btf_array(t)->type;
			break;
		default:
			return -EINVAL;
		}
	}
	return -EINVAL;
done:
	if (nelems && size > UINT32_MAX / nelems)
		return -E2BIG;
	return (long)(nelems * size);
}

/* ---- type resolution ------------------------------------------------------ */

/* Skip typedef, const, volatile, restrict and type tags. */
static int btf_skip_mods(const struct tsrc *btf, uint32_t id, uint32_t *ret)
{
	for (int i = 0; i < TYPE_CHAIN_MAX; i++) {
		const struct btf_type *t = ty(btf, id);

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
static int find_type(const struct tsrc *btf, const char *name, uint32_t *ret);

static int btf_find_type(const struct tsrc *btf, const char *name,
			 uint32_t *ret)
{
	struct qvmi_btf_view *v = (struct qvmi_btf_view *)btf->v;
	unsigned int i, slot;
	int err;

	if (!v || strlen(name) >= sizeof(v->seen[0].name))
		return find_type(btf, name, ret);
	for (i = 0; i < v->nseen && i < QVMI_ARRAY_SIZE(v->seen); i++) {
		if (strcmp(v->seen[i].name, name))
			continue;
		if (v->seen[i].id < 0)
			return v->seen[i].id;
		*ret = (uint32_t)v->seen[i].id;
		return 0;
	}
	err = find_type(btf, name, ret);
	slot = v->nseen++ % QVMI_ARRAY_SIZE(v->seen);
	snprintf(v->seen[slot].name, sizeof(v->seen[slot].name), "%s", name);
	v->seen[slot].id = err ? err : (int)*ret;
	return err;
}

static int find_type(const struct tsrc *btf, const char *name, uint32_t *ret)
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
			id = find_kind(btf, name + n, pfx[i].kind);
			if (id < 0 && pfx[i].kind == BTF_KIND_ENUM)
				id = find_kind(btf, name + n, BTF_KIND_ENUM64);
			if (id <= 0)
				return -ENOENT;
			*ret = (uint32_t)id;
			return 0;
		}
	}
	id = find_kind(btf, name, BTF_KIND_STRUCT);
	if (id <= 0)
		id = find_kind(btf, name, BTF_KIND_UNION);
	if (id <= 0)
		id = find_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id <= 0)
		id = find_kind(btf, name, -1);
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

static int find_member(const struct tsrc *btf, uint32_t id, const char *name,
		       size_t nlen, int depth, uint64_t *bits, uint32_t *bitsz,
		       const struct btf_member **ret, unsigned int *budget)
{
	const struct btf_type *t = ty(btf, id);
	const struct btf_member *m;
	uint16_t vlen;

	if (!t || depth > ANON_MAX_DEPTH ||
	    (!btf_is_struct(t) && !btf_is_union(t)))
		return -ENOENT;
	m = btf_members(t);
	vlen = btf_vlen(t);
	for (uint16_t i = 0; i < vlen; i++, m++) {
		const char *mn = nm(btf, m->name_off);
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
static int path_index(struct qvmi_ctx *ctx, const struct tsrc *btf,
		      const char **pp, uint32_t *id, uint64_t *bits)
{
	const char *p = *pp;

	while (*p == '[') {
		const struct btf_type *t;
		const struct btf_array *a;
		unsigned long long idx;
		char *end;
		long esz;

		if (btf_skip_mods(btf, *id, id) || !(t = ty(btf, *id)) ||
		    !btf_is_array(t))
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
		esz = rsize(btf, a->type);
		if (esz < 0)
			return qvmi__err(ctx, -EBADMSG, "btf: element size");
		*bits += (uint64_t)idx * (uint64_t)esz * 8;
		*id = a->type;
		p = end + 1;
	}
	*pp = p;
	return 0;
}

static int member(struct qvmi_ctx *ctx, const struct tsrc *btf,
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
	sz = rsize(btf, id);
	t = ty(btf, id);
	memset(ret, 0, sizeof(*ret));
	ret->bit_offset = bits;
	ret->bit_size = bitsz;
	ret->size = sz < 0 ? 0 : (uint64_t)sz;
	ret->type_id = id;
	ret->type_name = t ? nm(btf, t->name_off) : NULL;
	if (!ret->type_name)
		ret->type_name = "";
	return 0;
}

static int type_size(struct qvmi_ctx *ctx, const struct tsrc *btf,
		     const char *type, uint64_t *ret)
{
	uint32_t id;
	long sz;

	if (!type || btf_find_type(btf, type, &id))
		return qvmi__err(ctx, -ENOENT, "btf: no type %s",
				 type ? type : "(null)");
	sz = rsize(btf, id);
	if (sz < 0)
		return qvmi__err(ctx, -EBADMSG, "btf: %s has no size", type);
	*ret = (uint64_t)sz;
	return 0;
}

int qvmi__btf_member(struct qvmi_ctx *ctx, const struct btf *btf,
		     const char *type, const char *path,
		     struct qvmi_linux_member *ret)
{
	const struct tsrc s = { .lib = btf };

	return member(ctx, &s, type, path, ret);
}

int qvmi__btf_type_size(struct qvmi_ctx *ctx, const struct btf *btf,
			const char *type, uint64_t *ret)
{
	const struct tsrc s = { .lib = btf };

	return type_size(ctx, &s, type, ret);
}

int qvmi__btf_view_member(struct qvmi_ctx *ctx, const struct qvmi_btf_view *v,
			  const char *type, const char *path,
			  struct qvmi_linux_member *ret)
{
	const struct tsrc s = { .v = v };

	return member(ctx, &s, type, path, ret);
}

int qvmi__btf_view_type_size(struct qvmi_ctx *ctx,
			     const struct qvmi_btf_view *v, const char *type,
			     uint64_t *ret)
{
	const struct tsrc s = { .v = v };

	return type_size(ctx, &s, type, ret);
}

/* ---- the in-place view ------------------------------------------------------ */

/* Bytes of a type record, or 0 for a kind this reader does not know
 * (libbpf 1.1 knows the same 20 kinds). */
static uint64_t record_size(const struct btf_type *t)
{
	uint64_t v = btf_vlen(t);

	switch (btf_kind(t)) {
	case BTF_KIND_INT:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		return sizeof(*t) + 4;
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		return sizeof(*t);
	case BTF_KIND_ARRAY:
		return sizeof(*t) + sizeof(struct btf_array);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return sizeof(*t) + v * sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return sizeof(*t) + v * sizeof(struct btf_enum);
	case BTF_KIND_FUNC_PROTO:
		return sizeof(*t) + v * sizeof(struct btf_param);
	case BTF_KIND_DATASEC:
		return sizeof(*t) + v * sizeof(struct btf_var_secinfo);
	case BTF_KIND_ENUM64:
		return sizeof(*t) + v * sizeof(struct btf_enum64);
	default:
		return 0;
	}
}

/* One walk over the type section: every record inside it, of a known
 * kind; offs[] gets each one's place. */
static int view_index(struct qvmi_ctx *ctx, struct qvmi_btf_view *v)
{
	uint64_t off = 0,
		 max = (uint64_t)v->types_len / sizeof(struct btf_type) + 1;
	uint32_t n = 1;

	v->offs_len = (size_t)max * sizeof(*v->offs);
	v->offs = qvmi__lx_big_alloc(v->offs_len);
	if (!v->offs)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	while (off < v->types_len) {
		const struct btf_type *t;
		uint64_t rs;

		if (v->types_len - off < sizeof(*t) || n >= max)
			return qvmi__err(ctx, -EBADMSG,
					 "btf: type %u runs off the section",
					 n);
		t = (const struct btf_type *)(v->types + off);
		rs = record_size(t);
		if (!rs)
			return qvmi__err(ctx, -EBADMSG,
					 "btf: type %u has unknown kind %u", n,
					 btf_kind(t));
		if (rs > v->types_len - off)
			return qvmi__err(ctx, -EBADMSG,
					 "btf: type %u runs off the section",
					 n);
		v->offs[n++] = (uint32_t)off;
		off += rs;
	}
	v->n = n;
	return 0;
}

int qvmi__btf_view_read(struct qvmi_ctx *ctx, size_t len, qvmi_btf_fill_fn fill,
			void *arg, struct qvmi_btf_view **ret)
{
	struct qvmi_btf_view *v;
	struct btf_hdr h;
	int err;

	if (len < sizeof(h) || len > BTF_SIZE_MAX)
		return qvmi__err(ctx, -EBADMSG, "btf: %zu bytes", len);
	v = calloc(1, sizeof(*v));
	if (!v)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	v->buf_len = len;
	v->buf = qvmi__lx_big_alloc(len);
	if (!v->buf) {
		free(v);
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	}
	/* One copy, ours: the guest may change its memory under us, and
	 * only what was copied is read. */
	err = fill(arg, v->buf, len);
	if (!err)
		err = qvmi__btf_check_header(ctx, v->buf, len, NULL);
	if (err)
		goto fail;
	memcpy(&h, v->buf, sizeof(h));
	/* records are read in place: keep them 4-byte aligned */
	if (h.hdr_len & 3) {
		err = qvmi__err(ctx, -EBADMSG, "btf: header length %u",
				h.hdr_len);
		goto fail;
	}
	v->types = v->buf + h.hdr_len + h.type_off;
	v->types_len = h.type_len;
	v->strs = (const char *)v->buf + h.hdr_len + h.str_off;
	v->str_len = h.str_len;
	/* as libbpf: the section starts with "" and ends with a NUL */
	if (v->strs[0] || v->strs[v->str_len - 1]) {
		err = qvmi__err(ctx, -EBADMSG, "btf: bad string section");
		goto fail;
	}
	err = view_index(ctx, v);
	if (err)
		goto fail;
	*ret = v;
	return 0;
fail:
	qvmi__btf_view_free(v);
	return err;
}

struct mem_fill {
	const void *data;
};

static int fill_copy(void *arg, uint8_t *buf, size_t len)
{
	memcpy(buf, ((struct mem_fill *)arg)->data, len);
	return 0;
}

int qvmi__btf_view_open(struct qvmi_ctx *ctx, const void *data, size_t len,
			struct qvmi_btf_view **ret)
{
	struct mem_fill f = { data };
	size_t need;
	int err = qvmi__btf_check_header(ctx, data, len, &need);

	if (err)
		return err;
	return qvmi__btf_view_read(ctx, need, fill_copy, &f, ret);
}

void qvmi__btf_view_free(struct qvmi_btf_view *v)
{
	if (!v)
		return;
	if (v->offs)
		qvmi__lx_big_free(v->offs, v->offs_len);
	qvmi__lx_big_free(v->buf, v->buf_len);
	free(v);
}

size_t qvmi__btf_view_size(const struct qvmi_btf_view *v)
{
	return v->buf_len;
}

/* Pointer size as libbpf guesses it: from the size of "long". */
static int view_ptr_size(const struct qvmi_btf_view *cv)
{
	static const char *const longs[] = {
		"long int",	     "long",
		"long unsigned int", "unsigned long",
		"unsigned long int",
	};
	struct qvmi_btf_view *v = (struct qvmi_btf_view *)cv;
	const struct tsrc s = { .v = cv };

	if (v->ptr_sz)
		return v->ptr_sz;
	v->ptr_sz = (int)sizeof(void *);
	for (uint32_t id = 1; id < v->n; id++) {
		const struct btf_type *t = ty(&s, id);
		const char *n = nm(&s, t->name_off);

		if (btf_kind(t) != BTF_KIND_INT || !n)
			continue;
		for (size_t i = 0; i < QVMI_ARRAY_SIZE(longs); i++) {
			if (strcmp(n, longs[i]))
				continue;
			if (t->size == 4 || t->size == 8)
				v->ptr_sz = (int)t->size;
			return v->ptr_sz;
		}
	}
	return v->ptr_sz;
}
