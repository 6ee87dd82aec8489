// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Bounds checks of the guest-OS parsers (BTF read in place, ISF) that no
 * other test reached: scripts/mutate-bounds showed every suite green with
 * each of them deleted (tests/mutate/bounds.list).  The blobs are built
 * with libbpf and then broken in one field each.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <bpf/btf.h>

#include "guardpage.h"
#include "harness.h"
#include "qvmi.h"
#include "os/linux/isf-syms.h"
#include "os/linux/kernel-int.h"
#include "os/linux/linux.h"

/* ---- BTF header ------------------------------------------------------------ */

static int hdr_check(const struct btf_header *h, size_t len)
{
	struct qvmi_ctx *ctx = NULL;
	int err;

	CHECK_OK(qvmi_ctx_create(&ctx));
	err = qvmi__btf_check_header(ctx, h, len, NULL);
	qvmi_ctx_destroy(ctx);
	return err;
}

static void btf_header_bounds(void)
{
	struct btf_header h = {
		.magic = BTF_MAGIC,
		.version = BTF_VERSION,
		.hdr_len = sizeof(h),
		.type_off = 0,
		.type_len = 12,
		.str_off = 12,
		.str_len = 4,
	};
	struct btf_header b;
	struct qvmi_guarded g;
	size_t len = sizeof(h) + 16;

	CHECK_OK(hdr_check(&h, len));
	/* fewer bytes than a header: not even read */
	CHECK(qvmi_guarded_new(&g, &h, 8));
	CHECK_INT(hdr_check((const struct btf_header *)(void *)g.p, 8), ==,
		  -EBADMSG);
	qvmi_guarded_free(&g);
	/* header lengths below the struct and above 1 KiB (the sections
	 * still fit) */
	b = h, b.hdr_len = 20;
	CHECK_INT(hdr_check(&b, len), ==, -EBADMSG);
	b = h, b.hdr_len = 1028;
	CHECK_INT(hdr_check(&b, 1028 + 16), ==, -EBADMSG);
	/* an unaligned type section, no strings, overlapping sections */
	b = h, b.type_off = 2, b.str_off = 14;
	CHECK_INT(hdr_check(&b, len + 2), ==, -EBADMSG);
	b = h, b.str_len = 0;
	CHECK_INT(hdr_check(&b, len), ==, -EBADMSG);
	b = h, b.str_off = 8;
	CHECK_INT(hdr_check(&b, len), ==, -EBADMSG);
	b = h, b.type_off = 16, b.str_off = 0, b.str_len = 20;
	CHECK_INT(hdr_check(&b, len + 16), ==, -EBADMSG);
	/* 257 MiB described (only the header is read) */
	b = h, b.str_len = 257 << 20;
	CHECK_INT(hdr_check(&b, sizeof(h) + (257u << 20) + 12), ==, -EBADMSG);
}

/* ---- BTF read in place ---------------------------------------------------- */

/* The raw blob of b, in a malloc'd copy (size in *n). */
static uint8_t *raw_of(struct btf *b, uint32_t *n)
{
	const void *r = btf__raw_data(b, n);
	uint8_t *c = malloc(*n + 64);

	CHECK(r && c);
	memcpy(c, r, *n);
	return c;
}

static int view_open(const uint8_t *raw, size_t n, struct qvmi_btf_view **v)
{
	struct qvmi_ctx *ctx = NULL;
	int err;

	CHECK_OK(qvmi_ctx_create(&ctx));
	*v = NULL;
	err = qvmi__btf_view_open(ctx, raw, n, v);
	qvmi_ctx_destroy(ctx);
	return err;
}

static void btf_view_blob_bounds(void)
{
	struct btf *b = btf__new_empty();
	struct qvmi_btf_view *v;
	struct btf_header h;
	uint32_t n;
	uint8_t *raw;

	CHECK(b);
	CHECK(btf__add_int(b, "int", 4, BTF_INT_SIGNED) == 1);
	CHECK(btf__add_struct(b, "task", 8) == 2);
	CHECK_OK(btf__add_field(b, "pid", 1, 0, 0));
	CHECK_OK(btf__add_field(b, "tgid", 1, 32, 0));
	raw = raw_of(b, &n);
	memcpy(&h, raw, sizeof(h));
	CHECK_OK(view_open(raw, n, &v));
	qvmi__btf_view_free(v);
	/* a header of 26 bytes: the records would be unaligned */
	{
		uint8_t *u = calloc(1, n + 2);

		CHECK(u);
		memcpy(u, raw, sizeof(h));
		memcpy(u + 26, raw + h.hdr_len, n - h.hdr_len);
		((struct btf_header *)(void *)u)->hdr_len = 26;
		CHECK_INT(view_open(u, n + 2, &v), ==, -EBADMSG);
		free(u);
	}
	/* the string section's last byte not a NUL */
	raw[h.hdr_len + h.str_off + h.str_len - 1] = 'x';
	CHECK_INT(view_open(raw, n, &v), ==, -EBADMSG);
	raw[h.hdr_len + h.str_off + h.str_len - 1] = '\0';
	/* task's two members claimed as three: the record runs off (the
	 * int before it is 16 bytes) */
	{
		struct btf_type *t =
			(struct btf_type *)(void *)(raw + h.hdr_len +
						    h.type_off + 16);

		CHECK_INT(BTF_INFO_VLEN(t->info), ==, 2);
		t->info++;
		CHECK_INT(view_open(raw, n, &v), ==, -EBADMSG);
		t->info--;
	}
	free(raw);
	btf__free(b);
}

/* A member whose type id is past the last type: not looked up. */
static void btf_view_type_id(void)
{
	struct btf *b = btf__new_empty();
	struct qvmi_btf_view *v;
	struct qvmi_linux_member m;
	struct qvmi_ctx *ctx = NULL;
	uint64_t sz = 0;
	uint32_t n;
	uint8_t *raw;

	CHECK(b);
	CHECK(btf__add_int(b, "int", 4, BTF_INT_SIGNED) == 1);
	CHECK(btf__add_struct(b, "task", 4) == 2);
	CHECK_OK(btf__add_field(b, "pid", 1, 0, 0));
	CHECK(btf__add_typedef(b, "pid_t", 1) == 3);
	raw = raw_of(b, &n);
	for (uint32_t i = 0; i + 12 <= n; i += 4) { /* pid_t -> type 4000 */
		struct btf_header *h = (struct btf_header *)(void *)raw;
		uint32_t *w = (uint32_t *)(void *)(raw + h->hdr_len +
						   h->type_off + i);

		if (i + 12 <= h->type_len &&
		    BTF_INFO_KIND(w[1]) == BTF_KIND_TYPEDEF && w[2] == 1)
			w[2] = 4000;
	}
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi__btf_view_open(ctx, raw, n, &v));
	CHECK_OK(qvmi__btf_view_member(ctx, v, "task", "pid", &m));
	CHECK(qvmi__btf_view_type_size(ctx, v, "pid_t", &sz) < 0);
	qvmi__btf_view_free(v);
	qvmi_ctx_destroy(ctx);
	free(raw);
	btf__free(b);
}

/* typedefs that name each other: a bounded walk, not a hang */
static void btf_view_type_cycle(void)
{
	struct btf *b = btf__new_empty();
	struct qvmi_btf_view *v;
	struct qvmi_linux_member m;
	struct qvmi_ctx *ctx = NULL;
	uint64_t sz = 0;
	uint32_t n;
	uint8_t *raw;

	CHECK(b);
	CHECK(btf__add_typedef(b, "a_t", 2) == 1);
	CHECK(btf__add_typedef(b, "b_t", 1) == 2);
	CHECK(btf__add_struct(b, "task", 4) == 3);
	CHECK_OK(btf__add_field(b, "x", 1, 0, 0));
	raw = raw_of(b, &n);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi__btf_view_open(ctx, raw, n, &v));
	CHECK(qvmi__btf_view_type_size(ctx, v, "a_t", &sz) < 0);
	CHECK(qvmi__btf_view_member(ctx, v, "task", "x.y", &m) < 0);
	qvmi__btf_view_free(v);
	qvmi_ctx_destroy(ctx);
	free(raw);
	btf__free(b);
}

/* An array of 2^20 structs of 8 KiB: 8 GiB, more than a u32 holds
 * (2^18 of them, 2 GiB, do). */
static void btf_view_size_overflow(void)
{
	struct btf *b = btf__new_empty();
	struct qvmi_btf_view *v;
	struct qvmi_ctx *ctx = NULL;
	uint64_t sz = 0;
	uint32_t n;
	uint8_t *raw;

	CHECK(b);
	CHECK(btf__add_int(b, "int", 4, BTF_INT_SIGNED) == 1);
	CHECK(btf__add_struct(b, "page", 8192) == 2);
	CHECK_OK(btf__add_field(b, "x", 1, 0, 0));
	CHECK(btf__add_array(b, 1, 2, 1u << 20) == 3);
	CHECK(btf__add_typedef(b, "pages_t", 3) == 4);
	CHECK(btf__add_array(b, 1, 2, 1u << 18) == 5);
	CHECK(btf__add_typedef(b, "half_t", 5) == 6);
	raw = raw_of(b, &n);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi__btf_view_open(ctx, raw, n, &v));
	CHECK_OK(qvmi__btf_view_type_size(ctx, v, "half_t", &sz));
	CHECK_U64(sz, ==, (1ull << 18) * 8192);
	CHECK(qvmi__btf_view_type_size(ctx, v, "pages_t", &sz) < 0);
	qvmi__btf_view_free(v);
	qvmi_ctx_destroy(ctx);
	free(raw);
	btf__free(b);
}

/* A 70-byte struct name, then a struct named by its first 63 bytes: the
 * name cache keeps 63, so the longer name is not cached (else the short
 * one would be answered with the long one's type). */
static void btf_view_long_names(void)
{
	struct btf *b = btf__new_empty();
	struct qvmi_btf_view *v;
	struct qvmi_ctx *ctx = NULL;
	char n1[80], n2[80];
	uint64_t sz = 0;
	uint32_t n;
	uint8_t *raw;

	CHECK(b);
	memset(n1, 's', 70);
	n1[70] = '\0';
	memcpy(n2, n1, 63);
	n2[63] = '\0';
	CHECK(btf__add_int(b, "int", 4, BTF_INT_SIGNED) == 1);
	CHECK(btf__add_struct(b, n1, 4) == 2);
	CHECK_OK(btf__add_field(b, "x", 1, 0, 0));
	CHECK(btf__add_struct(b, n2, 8) == 3);
	CHECK_OK(btf__add_field(b, "x", 1, 0, 0));
	raw = raw_of(b, &n);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi__btf_view_open(ctx, raw, n, &v));
	CHECK_OK(qvmi__btf_view_type_size(ctx, v, n1, &sz));
	CHECK_U64(sz, ==, 4);
	CHECK_OK(qvmi__btf_view_type_size(ctx, v, n2, &sz));
	CHECK_U64(sz, ==, 8);
	qvmi__btf_view_free(v);
	qvmi_ctx_destroy(ctx);
	free(raw);
	btf__free(b);
}

/* struct s0 { struct s1 x; } ... s39 { int x; }: a path of 32 members
 * resolves, one of 33 does not. */
static void btf_view_path_depth(void)
{
	struct btf *b = btf__new_empty();
	struct qvmi_btf_view *v;
	struct qvmi_linux_member m;
	struct qvmi_ctx *ctx = NULL;
	char name[8], path[200] = "x";
	uint32_t n;
	uint8_t *raw;

	CHECK(b);
	CHECK(btf__add_int(b, "int", 4, BTF_INT_SIGNED) == 1);
	for (int i = 39; i >= 0; i--) { /* s39 is id 2, s0 id 41 */
		snprintf(name, sizeof(name), "s%d", i);
		CHECK(btf__add_struct(b, name, 4) == 41 - i);
		CHECK_OK(btf__add_field(b, "x", i == 39 ? 1 : 40 - i, 0, 0));
	}
	raw = raw_of(b, &n);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi__btf_view_open(ctx, raw, n, &v));
	for (int i = 1; i < 32; i++)
		strcat(path, ".x");
	CHECK_OK(qvmi__btf_view_member(ctx, v, "s0", path, &m));
	strcat(path, ".x");
	CHECK(qvmi__btf_view_member(ctx, v, "s0", path, &m) < 0);
	qvmi__btf_view_free(v);
	qvmi_ctx_destroy(ctx);
	free(raw);
	btf__free(b);
}

static int fill_hdr(void *arg, uint8_t *buf, size_t len)
{
	memcpy(buf, arg, sizeof(struct btf_header));
	return len < sizeof(struct btf_header) ? -EIO : 0;
}

/* A blob said to be 257 MiB: refused before it is read. */
static void btf_view_read_size(void)
{
	struct btf_header h = {
		.magic = BTF_MAGIC,
		.version = BTF_VERSION,
		.hdr_len = sizeof(h),
		.type_off = 4, /* no types, after the strings */
		.str_len = 4,
	};
	struct qvmi_btf_view *v = NULL;
	struct qvmi_ctx *ctx = NULL;

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi__btf_view_read(ctx, sizeof(h) + 4, fill_hdr, &h, &v));
	qvmi__btf_view_free(v);
	v = NULL;
	CHECK_INT(qvmi__btf_view_read(ctx, 257u << 20, fill_hdr, &h, &v), ==,
		  -EBADMSG);
	qvmi__btf_view_free(v);
	qvmi_ctx_destroy(ctx);
}

/* ---- ISF ------------------------------------------------------------------ */

/* A growing text buffer. */
struct sb {
	char *b;
	size_t len, cap;
};

static void sb_add(struct sb *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sb_add(struct sb *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(s->b + s->len, s->cap - s->len, fmt, ap);
		va_end(ap);
		CHECK(n >= 0);
		if ((size_t)n < s->cap - s->len)
			break;
		s->cap = 2 * s->cap + (size_t)n + 4096;
		s->b = realloc(s->b, s->cap);
		CHECK(s->b);
	}
	s->len += (size_t)n;
}

#define ISF_HEAD                                                               \
	"{\"metadata\":{\"format\":\"6.2.0\",\"producer\":{\"name\":\"t\"}},"  \
	"\"base_types\":{"                                                     \
	"\"int\":{\"size\":4,\"signed\":true,\"kind\":\"int\","                \
	"\"endian\":\"little\"},"                                              \
	"\"long unsigned int\":{\"size\":8,\"signed\":false,\"kind\":\"int\"," \
	"\"endian\":\"little\"},"                                              \
	"\"pointer\":{\"size\":8,\"signed\":false,\"kind\":\"int\","           \
	"\"endian\":\"little\"}},\"user_types\":{"
#define ISF_TAIL                                              \
	"},\"enums\":{},\"symbols\":{\"_text\":{\"address\":" \
	"18446744071576748032}}}"

/* Load the ISF in s (and free s); the error. */
static int isf_try(struct sb *s, struct qvmi_isf **ret)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_isf *isf = NULL;
	int err;

	CHECK_OK(qvmi_ctx_create(&ctx));
	err = qvmi__isf_load(ctx, s->b, s->len, &isf);
	if (ret)
		*ret = isf;
	else
		qvmi__isf_free(isf);
	qvmi_ctx_destroy(ctx);
	free(s->b);
	memset(s, 0, sizeof(*s));
	return err;
}

/* struct s0 { struct s1 x; } ... s<n-1> { int x; }: nested by value */
static void isf_nested(struct sb *s, int n)
{
	sb_add(s, ISF_HEAD);
	for (int i = 0; i < n; i++) {
		sb_add(s,
		       "%s\"s%d\":{\"kind\":\"struct\",\"size\":4,"
		       "\"fields\":{\"x\":{\"offset\":0,\"type\":",
		       i ? "," : "", i);
		if (i + 1 < n)
			sb_add(s, "{\"kind\":\"struct\",\"name\":\"s%d\"}}}}",
			       i + 1);
		else
			sb_add(s, "{\"kind\":\"base\",\"name\":\"int\"}}}}");
	}
	sb_add(s, ISF_TAIL);
}

static int isf_member_of(struct qvmi_isf *isf, const char *type,
			 const char *path)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_linux_member m;
	int err;

	CHECK_OK(qvmi_ctx_create(&ctx));
	err = qvmi__isf_member(ctx, isf, type, path, &m);
	qvmi_ctx_destroy(ctx);
	return err;
}

static void isf_nesting_bounds(void)
{
	struct qvmi_isf *isf = NULL;
	struct sb s = { 0 };
	char path[200] = "x";

	/* 65 structs by value in one another: one more than allowed */
	isf_nested(&s, 64);
	CHECK_OK(isf_try(&s, NULL));
	isf_nested(&s, 66);
	CHECK_INT(isf_try(&s, NULL), ==, -EBADMSG);
	/* a path of 32 members, then 33 */
	isf_nested(&s, 40);
	CHECK_OK(isf_try(&s, &isf));
	for (int i = 1; i < 32; i++)
		strcat(path, ".x");
	CHECK_OK(isf_member_of(isf, "s0", path));
	strcat(path, ".x");
	CHECK(isf_member_of(isf, "s0", path) < 0);
	qvmi__isf_free(isf);
}

/* anonymous members nested 17 deep: the innermost field not found */
static void isf_anon_depth(void)
{
	struct qvmi_isf *isf = NULL;
	struct sb s = { 0 };

	for (int deep = 16; deep <= 17; deep++) {
		sb_add(&s, ISF_HEAD);
		for (int i = 0; i <= deep; i++) {
			sb_add(&s,
			       "%s\"a%d\":{\"kind\":\"struct\",\"size\":4,"
			       "\"fields\":{\"%s\":{\"offset\":0,\"type\":",
			       i ? "," : "", i,
			       i < deep ? "unnamed_field_0" : "leaf");
			if (i < deep)
				sb_add(&s,
				       "{\"kind\":\"struct\",\"name\":\"a%d\"}}}}",
				       i + 1);
			else
				sb_add(&s, "{\"kind\":\"base\",\"name\":"
					   "\"int\"}}}}");
		}
		sb_add(&s, ISF_TAIL);
		CHECK_OK(isf_try(&s, &isf));
		CHECK_INT(isf_member_of(isf, "a0", "leaf"), ==,
			  deep == 16 ? 0 : -ENOENT);
		qvmi__isf_free(isf);
	}
}

/* A struct of 65536 fields: more than BTF's vlen can say. */
static void isf_fields_max(void)
{
	struct sb s = { 0 };

	for (int n = 65535; n <= 65536; n++) {
		sb_add(&s, ISF_HEAD "\"big\":{\"kind\":\"struct\",\"size\":4,"
				    "\"fields\":{");
		for (int i = 0; i < n; i++)
			sb_add(&s,
			       "%s\"f%d\":{\"offset\":0,\"type\":{\"kind\":"
			       "\"base\",\"name\":\"int\"}}",
			       i ? "," : "", i);
		sb_add(&s, "}}" ISF_TAIL);
		CHECK_INT(isf_try(&s, NULL), ==, n == 65535 ? 0 : -EBADMSG);
	}
}

/* Sizes: 1 GiB + 1 for a struct; an array whose byte count wraps
 * 2^64 to 8 (2^61 + 1 longs). */
static void isf_size_bounds(void)
{
	struct sb s = { 0 };

	sb_add(&s, ISF_HEAD "\"big\":{\"kind\":\"struct\",\"size\":1073741825,"
			    "\"fields\":{\"x\":{\"offset\":0,\"type\":{"
			    "\"kind\":\"base\",\"name\":\"int\"}}}}" ISF_TAIL);
	CHECK_INT(isf_try(&s, NULL), ==, -EBADMSG);
	sb_add(&s, ISF_HEAD "\"w\":{\"kind\":\"struct\",\"size\":16,"
			    "\"fields\":{\"a\":{\"offset\":0,\"type\":{"
			    "\"kind\":\"array\",\"count\":2305843009213693953,"
			    "\"subtype\":{\"kind\":\"base\",\"name\":"
			    "\"long unsigned int\"}}}}}" ISF_TAIL);
	CHECK_INT(isf_try(&s, NULL), ==, -EBADMSG);
}

/* Members past the end of their struct: a bitfield just after it, and a
 * zero-sized array far after it. */
static void isf_member_outside(void)
{
	struct sb s = { 0 };

	sb_add(&s, ISF_HEAD "\"t\":{\"kind\":\"struct\",\"size\":8,\"fields\":{"
			    "\"b\":{\"offset\":4,\"type\":{\"kind\":"
			    "\"bitfield\",\"bit_position\":0,\"bit_length\":8,"
			    "\"type\":{\"kind\":\"base\",\"name\":\"int\"}}},"
			    "\"z\":{\"offset\":8,\"type\":{\"kind\":\"array\","
			    "\"count\":0,\"subtype\":{\"kind\":\"base\","
			    "\"name\":\"int\"}}}}}" ISF_TAIL);
	CHECK_OK(isf_try(&s, NULL));
	sb_add(&s, ISF_HEAD
	       "\"t\":{\"kind\":\"struct\",\"size\":4,\"fields\":{"
	       "\"b\":{\"offset\":4,\"type\":{\"kind\":"
	       "\"bitfield\",\"bit_position\":0,\"bit_length\":8,"
	       "\"type\":{\"kind\":\"base\",\"name\":\"int\"}}}}}" ISF_TAIL);
	CHECK_INT(isf_try(&s, NULL), ==, -EBADMSG);
	sb_add(&s,
	       ISF_HEAD "\"t\":{\"kind\":\"struct\",\"size\":4,\"fields\":{"
			"\"z\":{\"offset\":100,\"type\":{\"kind\":\"array\","
			"\"count\":0,\"subtype\":{\"kind\":\"base\","
			"\"name\":\"int\"}}}}}" ISF_TAIL);
	CHECK_INT(isf_try(&s, NULL), ==, -EBADMSG);
}

/* 50 x 50 x 50 anonymous members before "leaf": the search stops after
 * its budget (100000 fields) rather than walk 127550 of them; and an
 * index one past an array's end. */
static void isf_lookup_bounds(void)
{
	struct qvmi_isf *isf = NULL;
	struct sb s = { 0 };

	sb_add(&s, ISF_HEAD);
	for (int l = 0; l < 3; l++) {
		sb_add(&s,
		       "%s\"u%d\":{\"kind\":\"struct\",\"size\":4,"
		       "\"fields\":{",
		       l ? "," : "", l);
		for (int i = 0; i < 50; i++) {
			if (l < 2)
				sb_add(&s,
				       "%s\"unnamed_field_%d\":{\"offset\":0,"
				       "\"type\":{\"kind\":\"struct\","
				       "\"name\":\"u%d\"}}",
				       i ? "," : "", i, l + 1);
			else
				sb_add(&s,
				       "%s\"f%d\":{\"offset\":0,\"type\":{"
				       "\"kind\":\"base\",\"name\":\"int\"}}",
				       i ? "," : "", i);
		}
		if (!l)
			sb_add(&s, ",\"leaf\":{\"offset\":0,\"type\":{"
				   "\"kind\":\"base\",\"name\":\"int\"}}");
		sb_add(&s, "}}");
	}
	sb_add(&s, ",\"a\":{\"kind\":\"struct\",\"size\":16,\"fields\":{"
		   "\"v\":{\"offset\":0,\"type\":{\"kind\":\"array\","
		   "\"count\":4,\"subtype\":{\"kind\":\"base\","
		   "\"name\":\"int\"}}}}}" ISF_TAIL);
	CHECK_OK(isf_try(&s, &isf));
	CHECK(isf_member_of(isf, "u0", "leaf") < 0);
	CHECK_OK(isf_member_of(isf, "u1", "f49"));
	CHECK_OK(isf_member_of(isf, "a", "v[3]"));
	CHECK(isf_member_of(isf, "a", "v[4]") < 0);
	qvmi__isf_free(isf);
}

/* ---- ISF symbols without json-c (isf-syms.c) ------------------------------ */

static const char syms_doc[] =
	"{\"metadata\":{\"x\":[-1.5e+3,0,true,false,null,\"\\u0041\\\\\\\"\"]},"
	"\"symbols\":{\"_text\":{\"type\":{\"kind\":\"base\"},"
	"\"address\":18446744071576748032},"
	"\"a\\u0062\":{\"address\":4096,\"constant_data\":[1,[2,{}]]}},"
	"\"z\":-0.25E-2}";

static int syms_scan(const char *d, size_t len, int depth, size_t max)
{
	struct qvmi_isf_symtab t;
	size_t a, b;
	int err = qvmi__isf_symtab_scan(d, len, depth, max, &t, &a, &b);

	if (!err)
		qvmi__isf_symtab_free(&t);
	return err;
}

/* Every cut of the document ends on a PROT_NONE page: the scanner must
 * give up (not 0) at each without reading on. */
static void isf_syms_cut_everywhere(void)
{
	size_t len = strlen(syms_doc);
	struct qvmi_isf_symtab t;
	uint64_t v = 0;
	size_t a, b;

	CHECK_OK(qvmi__isf_symtab_scan(syms_doc, len, 8, 100, &t, &a, &b));
	CHECK_INT(t.n, ==, 2);
	CHECK_OK(qvmi__isf_symtab_find(&t, "ab", &v));
	CHECK_U64(v, ==, 4096);
	qvmi__isf_symtab_free(&t);
	for (size_t cut = 0; cut < len; cut++) {
		struct qvmi_guarded g;

		CHECK(qvmi_guarded_new(&g, syms_doc, cut));
		CHECK_MSG(syms_scan((const char *)g.p, cut, 8, 100) != 0,
			  "cut at %zu", cut);
		qvmi_guarded_free(&g);
	}
}

static void isf_syms_limits(void)
{
	size_t len = strlen(syms_doc);
	char *big = malloc(1200);

	CHECK(big);
	/* nesting: the document needs 4 levels inside a symbol, 3 are not
	 * enough; and 2 symbols are not 1 */
	CHECK_OK(syms_scan(syms_doc, len, 4, 100));
	CHECK(syms_scan(syms_doc, len, 3, 100) != 0);
	CHECK(syms_scan(syms_doc, len, 8, 1) != 0);
	/* a symbol name longer than the scanner keeps: not taken */
	snprintf(big, 1200, "{\"symbols\":{\"%01100d\":{\"address\":1}}}", 0);
	CHECK(syms_scan(big, strlen(big), 8, 100) != 0);
	free(big);
}

/* More than 512 MiB of document: refused before it is parsed. */
static void isf_file_max(void)
{
	size_t len = (512u << 20) + 1;
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_isf *isf = NULL;
	char *z =
		mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(z != MAP_FAILED);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_INT(qvmi__isf_load(ctx, z, len, &isf), ==, -EFBIG);
	qvmi_ctx_destroy(ctx);
	munmap(z, len);
}

/* A document with n user types and n symbols; loaded with at most max
 * entries per top-level table (as ISF_TABLE_MAX, 4 Mi, but small). */
static int isf_tables(int n, size_t max, bool json_syms, char *msg, size_t msz)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_isf *isf = NULL;
	struct sb s = { 0 };
	int err;

	sb_add(&s, ISF_HEAD);
	for (int i = 0; i < n; i++)
		sb_add(&s,
		       "%s\"t%d\":{\"kind\":\"struct\",\"size\":4,"
		       "\"fields\":{\"x\":{\"offset\":0,\"type\":"
		       "{\"kind\":\"base\",\"name\":\"int\"}}}}",
		       i ? "," : "", i);
	sb_add(&s, "},\"enums\":{},\"symbols\":{");
	for (int i = 0; i < n; i++)
		sb_add(&s, "%s\"s%d\":{\"address\":%d}", i ? "," : "", i,
		       4096 * (i + 1));
	sb_add(&s, "}}");
	CHECK_OK(qvmi_ctx_create(&ctx));
	err = qvmi__isf_load_limit(ctx, s.b, s.len, json_syms, max, &isf);
	snprintf(msg, msz, "%s", qvmi_errmsg(ctx));
	if (!err) {
		char last[16], past[16];

		snprintf(last, sizeof(last), "t%d", n - 1);
		snprintf(past, sizeof(past), "t%d", n);
		CHECK_OK(isf_member_of(isf, last, "x"));
		CHECK(isf_member_of(isf, past, "x") < 0);
	}
	qvmi__isf_free(isf);
	qvmi_ctx_destroy(ctx);
	free(s.b);
	return err;
}

/* Each top-level table is bounded (ISF_TABLE_MAX; a test of 4 Mi + 1
 * entries would be ~100 MB of JSON, so the same check with a limit of 8):
 * 8 user types and symbols load, 9 are refused, with json-c's symbols or
 * the scanner's. */
static void isf_table_max(void)
{
	char msg[256];

	for (int js = 0; js < 2; js++) {
		CHECK_OK(isf_tables(8, 8, js, msg, sizeof(msg)));
		CHECK_INT(isf_tables(9, 8, js, msg, sizeof(msg)), ==, -EBADMSG);
		CHECK_MSG(strstr(msg, "\"user_types\" has 9 entries"), "%s",
			  msg);
		CHECK_OK(isf_tables(9, 9, js, msg, sizeof(msg)));
	}
}

/* A symbol's object is at depth 2 (the top-level object's members are):
 * a scan limited to depth 1 refuses it, as it refuses any member object
 * there, and json-c then reads the document with its own limit. */
static void isf_syms_object_depth(void)
{
	static const char d[] = "{\"symbols\":{\"a\":{\"address\":7}}}";
	static const char m[] = "{\"m\":{},\"symbols\":{}}";
	struct qvmi_isf_symtab t;
	uint64_t v = 0;
	size_t a, b;

	CHECK_OK(qvmi__isf_symtab_scan(d, strlen(d), 2, 100, &t, &a, &b));
	CHECK_OK(qvmi__isf_symtab_find(&t, "a", &v));
	CHECK_U64(v, ==, 7);
	qvmi__isf_symtab_free(&t);
	CHECK_INT(syms_scan(d, strlen(d), 1, 100), ==, 1);
	CHECK_INT(syms_scan(m, strlen(m), 1, 100), ==, 1);
	CHECK_OK(syms_scan(m, strlen(m), 2, 100));
}

/* ---- VMCOREINFO text ------------------------------------------------------ */

static void vmci_bounds(void)
{
	char buf[32], *t = strdup("PAGESIZE=4096\nOSREL");
	struct qvmi_guarded o;

	/* a last line shorter than the key: the key is not compared past
	 * the text's end (only ASan sees that read: the mutation list
	 * judges this bound with the sanitized build) */
	CHECK(t);
	CHECK_INT(qvmi__vmci_str(t, "OSRELEASE", buf, sizeof(buf)), ==,
		  -ENOENT);
	free(t);
	/* a value of 4 bytes into 5, then into 4 (no room for the NUL) */
	CHECK(qvmi_guarded_new(&o, NULL, 5));
	CHECK_OK(qvmi__vmci_str("OSRELEASE=6.1x\n", "OSRELEASE", (char *)o.p,
				5));
	CHECK_STR((char *)o.p, "6.1x");
	CHECK_INT(qvmi__vmci_str("OSRELEASE=6.1x\n", "OSRELEASE",
				 (char *)o.p + 1, 4),
		  ==, -ENAMETOOLONG);
	qvmi_guarded_free(&o);
}

static const struct qvmi_test bounds_os_tests[] = {
	{ "vmci_bounds", vmci_bounds },
	{ "btf_header_bounds", btf_header_bounds },
	{ "btf_view_blob_bounds", btf_view_blob_bounds },
	{ "btf_view_type_id", btf_view_type_id },
	{ "btf_view_type_cycle", btf_view_type_cycle },
	{ "btf_view_size_overflow", btf_view_size_overflow },
	{ "btf_view_long_names", btf_view_long_names },
	{ "btf_view_read_size", btf_view_read_size },
	{ "btf_view_path_depth", btf_view_path_depth },
	{ "isf_nesting_bounds", isf_nesting_bounds },
	{ "isf_anon_depth", isf_anon_depth },
	{ "isf_fields_max", isf_fields_max },
	{ "isf_size_bounds", isf_size_bounds },
	{ "isf_member_outside", isf_member_outside },
	{ "isf_lookup_bounds", isf_lookup_bounds },
	{ "isf_syms_cut_everywhere", isf_syms_cut_everywhere },
	{ "isf_syms_limits", isf_syms_limits },
	{ "isf_file_max", isf_file_max },
	{ "isf_table_max", isf_table_max },
	{ "isf_syms_object_depth", isf_syms_object_depth },
};

QVMI_SUITE(bounds_os, bounds_os_tests);
