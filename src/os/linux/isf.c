// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Volatility 3 ISF (Intermediate Symbol Format) JSON, as dwarf2json writes
 * it ("dwarf2json linux --elf vmlinux"): struct layouts and link-time symbol
 * addresses for kernels without BTF.  Plain JSON only (no .xz: decompress
 * it first).
 *
 * The whole file is checked once at load, so lookups can trust it: every
 * table and field has the members and types the format requires, every
 * type a field names exists, offsets lie inside their struct, and no struct
 * contains itself by value (which would make anonymous-member descent
 * loop).  Lookups then walk the json-c tree, which lives as long as the
 * handle (member type names point into it).
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "isf-syms.h"
#include "linux.h"

enum {
	ISF_FILE_MAX = 512 << 20,
	ISF_JSON_DEPTH = 64, /* tokener nesting limit */
	ISF_TABLE_MAX = 4 << 20, /* entries of each top-level table */
	ISF_FIELDS_MAX = 65535, /* per struct, as BTF's vlen */
	ISF_DESC_DEPTH = 16, /* pointer/array/bitfield nesting */
	ISF_NEST_MAX = 64, /* structs inside structs, by value */
	ISF_SIZE_MAX = 1 << 30, /* bytes of one type */
	ISF_PATH_DEPTH = 32, /* components in a member path */
	ISF_ANON_DEPTH = 16, /* nested anonymous members */
	ISF_VISIT_MAX = 100000, /* fields examined by one lookup */
};

struct qvmi_isf {
	struct json_object *root;
	struct json_object *base, *user, *enums, *syms; /* borrowed */
	/* "symbols" read by isf-syms.c (syms is then {}): fast_syms */
	struct qvmi_isf_symtab symtab;
	bool fast_syms;
	/* entries allowed in each top-level table: ISF_TABLE_MAX, lower
	 * only in a unit test (a table of 4 M entries is ~100 MB of JSON) */
	size_t table_max;
	uint64_t ptr_size;
	/* the producer lost bitfield positions (see lost_bits) */
	bool bits_lost;
	/* containment check: user type names sorted, and DFS colours */
	const char **unames;
	uint8_t *colour;
	size_t nuser;
};

/* ---- JSON accessors ------------------------------------------------------ */

static struct json_object *jget(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static bool jis(struct json_object *o, enum json_type t)
{
	return o && json_object_is_type(o, t);
}

/* A non-negative integer no larger than max. */
static bool juint(struct json_object *o, uint64_t max, uint64_t *ret)
{
	if (!jis(o, json_type_int) || json_object_get_int64(o) < 0)
		return false;
	*ret = json_object_get_uint64(o);
	return *ret <= max;
}

static const char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v = jget(o, k);

	return jis(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* ---- validation --------------------------------------------------------- */

static int bad(struct qvmi_ctx *ctx, const char *where, const char *name,
	       const char *what)
{
	return qvmi__err(ctx, -EBADMSG, "isf: %s \"%.200s\": %s", where, name,
			 what);
}

static int table(struct qvmi_ctx *ctx, const struct qvmi_isf *isf,
		 const char *name, struct json_object **ret)
{
	struct json_object *t = jget(isf->root, name);

	if (!jis(t, json_type_object))
		return qvmi__err(ctx, -EBADMSG,
				 "isf: no \"%s\" object at the top level",
				 name);
	if ((size_t)json_object_object_length(t) > isf->table_max)
		return qvmi__err(ctx, -EBADMSG, "isf: \"%s\" has %d entries",
				 name, json_object_object_length(t));
	*ret = t;
	return 0;
}

static const char *const user_kinds[] = { "struct", "union", "class" };

static bool is_user_kind(const char *k)
{
	for (size_t i = 0; k && i < QVMI_ARRAY_SIZE(user_kinds); i++)
		if (!strcmp(k, user_kinds[i]))
			return true;
	return false;
}

static int check_desc(struct qvmi_ctx *ctx, struct qvmi_isf *isf,
		      struct json_object *d, const char *where, int depth,
		      bool via_ptr);

/*
 * The type a descriptor refers to by name must exist, except behind a
 * pointer: dwarf2json names the target of a pointer to an opaque struct
 * (declared, never defined in vmlinux: "struct genradix_root *root" in
 * 6.1's __genradix, 133 fields and 32 symbols of Debian's 6.1 686-pae) but
 * emits no user type for it.  Nothing reads through such a name: a
 * pointer's size is the pointer base type's, and member paths stop at
 * pointers.
 */
static int check_named(struct qvmi_ctx *ctx, struct qvmi_isf *isf,
		       struct json_object *d, const char *kind,
		       const char *where, bool via_ptr)
{
	const char *n = jstr(d, "name");
	struct json_object *t;

	if (!n)
		return bad(ctx, "type in", where, "no \"name\"");
	if (!strcmp(kind, "base"))
		t = jget(isf->base, n);
	else if (!strcmp(kind, "enum"))
		t = jget(isf->enums, n);
	else
		t = jget(isf->user, n);
	if (!t && via_ptr && strcmp(kind, "base"))
		return 0;
	if (!t)
		return qvmi__err(ctx, -EBADMSG,
				 "isf: %s refers to %s \"%.200s\", not defined",
				 where, kind, n);
	if (is_user_kind(kind) && !is_user_kind(jstr(t, "kind")))
		return bad(ctx, "type in", where, "kind mismatch");
	return 0;
}

static int check_desc(struct qvmi_ctx *ctx, struct qvmi_isf *isf,
		      struct json_object *d, const char *where, int depth,
		      bool via_ptr)
{
	const char *k = jstr(d, "kind");
	struct json_object *sub;
	uint64_t v;

	if (!jis(d, json_type_object) || !k)
		return bad(ctx, "type of", where, "not a {kind: ...} object");
	if (depth > ISF_DESC_DEPTH)
		return bad(ctx, "type of", where, "nested too deeply");
	if (!strcmp(k, "base") || !strcmp(k, "enum") || is_user_kind(k))
		return check_named(ctx, isf, d, k, where, via_ptr);
	if (!strcmp(k, "function"))
		return 0;
	if (!strcmp(k, "pointer") || !strcmp(k, "array")) {
		if (!strcmp(k, "array") &&
		    !juint(jget(d, "count"), INT32_MAX, &v))
			return bad(ctx, "array in", where, "bad \"count\"");
		sub = jget(d, "subtype");
		if (!sub)
			return bad(ctx, "type of", where, "no \"subtype\"");
		return check_desc(ctx, isf, sub, where, depth + 1,
				  via_ptr || !strcmp(k, "pointer"));
	}
	if (!strcmp(k, "bitfield")) {
		uint64_t pos, len;

		if (!juint(jget(d, "bit_position"), 63, &pos) ||
		    !juint(jget(d, "bit_length"), 64, &len) || !len ||
		    pos + len > 64)
			return bad(ctx, "bitfield in", where,
				   "bad \"bit_position\"/\"bit_length\"");
		/* ISF puts a bitfield's type under "type". */
		sub = jget(d, "type");
		if (!sub)
			sub = jget(d, "subtype");
		if (!sub)
			return bad(ctx, "bitfield in", where, "no \"type\"");
		return check_desc(ctx, isf, sub, where, depth + 1, via_ptr);
	}
	return bad(ctx, "type of", where, "unknown kind");
}

static int desc_size(const struct qvmi_isf *isf, struct json_object *d,
		     int depth, uint64_t *ret);

static int check_base(struct qvmi_ctx *ctx, struct qvmi_isf *isf)
{
	json_object_object_foreach(isf->base, name, t)
	{
		const char *e = jstr(t, "endian");
		uint64_t sz;

		if (!jis(t, json_type_object) ||
		    !juint(jget(t, "size"), 64, &sz) || !jstr(t, "kind") ||
		    !jis(jget(t, "signed"), json_type_boolean) || !e ||
		    (strcmp(e, "little") && strcmp(e, "big")))
			return bad(ctx, "base type", name,
				   "needs size (0-64), kind, signed, endian");
	}
	return 0;
}

static int check_enums(struct qvmi_ctx *ctx, struct qvmi_isf *isf)
{
	json_object_object_foreach(isf->enums, name, t)
	{
		struct json_object *c = jget(t, "constants");
		uint64_t sz;

		if (!jis(t, json_type_object) ||
		    !juint(jget(t, "size"), 16, &sz) || !jstr(t, "base") ||
		    !jis(c, json_type_object))
			return bad(ctx, "enum", name,
				   "needs size (0-16), base, constants");
		json_object_object_foreach(
			c, cn,
			cv) if (!jis(cv,
				     json_type_int)) return bad(ctx,
								"enum constant",
								cn,
								"not an integer");
	}
	return 0;
}

static int check_field(struct qvmi_ctx *ctx, struct qvmi_isf *isf,
		       const char *tname, uint64_t tsize, const char *fname,
		       struct json_object *f)
{
	struct json_object *d = jget(f, "type");
	uint64_t off, fsz = 0;
	int err;

	if (!jis(f, json_type_object) ||
	    !juint(jget(f, "offset"), ISF_SIZE_MAX, &off))
		return qvmi__err(ctx, -EBADMSG,
				 "isf: field %.200s.%.200s: bad \"offset\"",
				 tname, fname);
	err = check_desc(ctx, isf, d, fname, 0, false);
	if (err)
		return err;
	err = desc_size(isf, d, 0, &fsz);
	if (err == -EBADMSG)
		return qvmi__err(ctx, -EBADMSG,
				 "isf: field %.200s.%.200s: size overflows",
				 tname, fname);
	if (!strcmp(jstr(d, "kind"), "bitfield")) {
		uint64_t pos = json_object_get_uint64(jget(d, "bit_position"));
		uint64_t len = json_object_get_uint64(jget(d, "bit_length"));

		if (pos + len > fsz * 8)
			return qvmi__err(ctx, -EBADMSG,
					 "isf: bitfield %.200s.%.200s is wider "
					 "than its %" PRIu64 "-byte type",
					 tname, fname, fsz);
		if (off * 8 + pos + len > tsize * 8)
			return qvmi__err(ctx, -EBADMSG,
					 "isf: bitfield %.200s.%.200s lies "
					 "outside its struct",
					 tname, fname);
		return 0;
	}
	/* Flexible arrays and zero-sized members may sit at the end. */
	if (off > tsize || fsz > tsize - off)
		return qvmi__err(ctx, -EBADMSG,
				 "isf: field %.200s.%.200s (offset %" PRIu64
				 ", %" PRIu64 " bytes) lies outside its "
				 "%" PRIu64 "-byte struct",
				 tname, fname, off, fsz, tsize);
	return 0;
}

/*
 * Two bitfields of one struct at the same bit cannot be: the producer lost
 * their positions.  dwarf2json 0.6.0 reads only DWARF 2/3's
 * DW_AT_bit_offset, and gcc 12's DWARF 5 (Debian 12's kernels) gives
 * DW_AT_data_bit_offset instead, so every bitfield comes out at offset 0,
 * bit_position 0 (printk_info.level, really byte 19 bit 5 on 6.1 686-pae:
 * read there, dmesg levels are seq's low bits).  Only the (0, 0) pair is
 * counted: it keeps the check linear.
 */
static bool lost_bits(struct json_object *t)
{
	int n = 0;

	if (strcmp(jstr(t, "kind"), "struct"))
		return false;
	json_object_object_foreach(jget(t, "fields"), fname, f)
	{
		struct json_object *d = jget(f, "type");

		(void)fname;
		if (!strcmp(jstr(d, "kind"), "bitfield") &&
		    !json_object_get_uint64(jget(f, "offset")) &&
		    !json_object_get_uint64(jget(d, "bit_position")) && ++n > 1)
			return true;
	}
	return false;
}

static int check_user(struct qvmi_ctx *ctx, struct qvmi_isf *isf)
{
	json_object_object_foreach(isf->user, name, t)
	{
		struct json_object *fields = jget(t, "fields");
		uint64_t sz;
		int err;

		if (!jis(t, json_type_object) || !is_user_kind(jstr(t, "kind")))
			return bad(ctx, "user type", name,
				   "\"kind\" must be struct, union or class");
		if (!juint(jget(t, "size"), ISF_SIZE_MAX, &sz))
			return bad(ctx, "user type", name, "bad \"size\"");
		if (!jis(fields, json_type_object))
			return bad(ctx, "user type", name, "no \"fields\"");
		if (json_object_object_length(fields) > ISF_FIELDS_MAX)
			return bad(ctx, "user type", name, "too many fields");
		json_object_object_foreach(fields, fname, f)
		{
			err = check_field(ctx, isf, name, sz, fname, f);
			if (err)
				return err;
		}
		if (!isf->bits_lost)
			isf->bits_lost = lost_bits(t);
	}
	return 0;
}

static int check_syms(struct qvmi_ctx *ctx, struct qvmi_isf *isf)
{
	json_object_object_foreach(isf->syms, name, s)
	{
		struct json_object *d = jget(s, "type");
		uint64_t a;
		int err;

		if (!jis(s, json_type_object) ||
		    !juint(jget(s, "address"), UINT64_MAX, &a))
			return bad(ctx, "symbol", name, "bad \"address\"");
		if (d) {
			err = check_desc(ctx, isf, d, name, 0, false);
			if (err)
				return err;
		}
	}
	return 0;
}

/* ---- containment cycles -------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static size_t user_index(const struct qvmi_isf *isf, const char *name)
{
	const char **p = bsearch(&name, isf->unames, isf->nuser,
				 sizeof(*isf->unames), cmp_str);

	return p ? (size_t)(p - isf->unames) : SIZE_MAX;
}

/* The user type a descriptor holds by value (through arrays and
 * bitfields, not pointers), or NULL. */
static const char *by_value(struct json_object *d)
{
	for (int i = 0; d && i <= ISF_DESC_DEPTH; i++) {
		const char *k = jstr(d, "kind");

		if (is_user_kind(k))
			return jstr(d, "name");
		if (!strcmp(k, "array"))
			d = jget(d, "subtype");
		else if (!strcmp(k, "bitfield"))
			d = jget(d, "type") ? jget(d, "type") :
					      jget(d, "subtype");
		else
			return NULL;
	}
	return NULL;
}

/* Depth-first over "contains by value"; colour 1 = on the path, 2 = done.
 * Real kernels nest a few levels; the bound keeps the stack small. */
static int dfs(struct qvmi_ctx *ctx, struct qvmi_isf *isf, size_t i, int depth)
{
	struct json_object *fields;

	if (isf->colour[i] == 2)
		return 0;
	if (isf->colour[i] == 1)
		return bad(ctx, "user type", isf->unames[i],
			   "contains itself (a cycle of struct types)");
	if (depth > ISF_NEST_MAX)
		return bad(ctx, "user type", isf->unames[i],
			   "structs nested too deeply");
	isf->colour[i] = 1;
	fields = jget(jget(isf->user, isf->unames[i]), "fields");
	json_object_object_foreach(fields, fname, f)
	{
		const char *n = by_value(jget(f, "type"));
		size_t j = n ? user_index(isf, n) : SIZE_MAX;
		int err;

		(void)fname;
		if (j == SIZE_MAX)
			continue;
		err = dfs(ctx, isf, j, depth + 1);
		if (err)
			return err;
	}
	isf->colour[i] = 2;
	return 0;
}

static int check_cycles(struct qvmi_ctx *ctx, struct qvmi_isf *isf)
{
	size_t n = 0;
	int err = 0;

	isf->nuser = (size_t)json_object_object_length(isf->user);
	isf->unames = calloc(isf->nuser + 1, sizeof(*isf->unames));
	isf->colour = calloc(isf->nuser + 1, 1);
	if (!isf->unames || !isf->colour)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	json_object_object_foreach(isf->user, name, t)
	{
		(void)t;
		if (n < isf->nuser)
			isf->unames[n++] = name;
	}
	qsort(isf->unames, n, sizeof(*isf->unames), cmp_str);
	for (size_t i = 0; !err && i < n; i++)
		err = dfs(ctx, isf, i, 0);
	free(isf->colour);
	isf->colour = NULL;
	return err;
}

/* ---- loading ------------------------------------------------------------- */

static int validate(struct qvmi_ctx *ctx, struct qvmi_isf *isf)
{
	struct json_object *meta, *ptr;
	uint64_t ps = 8;
	int err;

	if (!jis(isf->root, json_type_object))
		return qvmi__err(ctx, -EBADMSG, "isf: not a JSON object");
	err = table(ctx, isf, "metadata", &meta);
	if (!err)
		err = table(ctx, isf, "base_types", &isf->base);
	if (!err)
		err = table(ctx, isf, "user_types", &isf->user);
	if (!err)
		err = table(ctx, isf, "enums", &isf->enums);
	if (!err)
		err = table(ctx, isf, "symbols", &isf->syms);
	if (!err && jget(meta, "format") && !jstr(meta, "format"))
		err = bad(ctx, "metadata", "format", "not a string");
	if (!err)
		err = check_base(ctx, isf);
	ptr = jget(isf->base, "pointer");
	if (!err && ptr && (!juint(jget(ptr, "size"), 8, &ps) || !ps))
		err = bad(ctx, "base type", "pointer", "bad size");
	isf->ptr_size = ps;
	if (!err)
		err = check_enums(ctx, isf);
	if (!err)
		err = check_user(ctx, isf);
	if (!err)
		err = check_syms(ctx, isf);
	if (!err)
		err = check_cycles(ctx, isf);
	return err;
}

void qvmi__isf_free(struct qvmi_isf *isf)
{
	if (!isf)
		return;
	json_object_put(isf->root);
	qvmi__isf_symtab_free(&isf->symtab);
	free(isf->unames);
	free(isf->colour);
	free(isf);
}

/*
 * The symbols table through isf-syms.c, and the document json-c gets
 * with "symbols": {} in its place (*doc, to free after the parse).  Left
 * as it is when the scan gives up: json-c then reads, checks and reports
 * everything as before.
 */
static int without_symbols(struct qvmi_isf *isf, const char **data, size_t *len,
			   char **doc)
{
	size_t vs, ve, n;
	int r = qvmi__isf_symtab_scan(*data, *len, ISF_JSON_DEPTH,
				      isf->table_max, &isf->symtab, &vs, &ve);

	if (r)
		return r < 0 ? r : 0;
	n = *len - (ve - vs) + 2;
	*doc = malloc(n);
	if (!*doc)
		return -ENOMEM;
	memcpy(*doc, *data, vs);
	memcpy(*doc + vs, "{}", 2);
	memcpy(*doc + vs + 2, *data + ve, *len - ve);
	*data = *doc;
	*len = n;
	isf->fast_syms = true;
	return 0;
}

int qvmi__isf_load(struct qvmi_ctx *ctx, const char *data, size_t len,
		   struct qvmi_isf **ret)
{
	return qvmi__isf_load_ex(ctx, data, len, false, ret);
}

int qvmi__isf_load_ex(struct qvmi_ctx *ctx, const char *data, size_t len,
		      bool json_syms, struct qvmi_isf **ret)
{
	return qvmi__isf_load_limit(ctx, data, len, json_syms, ISF_TABLE_MAX,
				    ret);
}

int qvmi__isf_load_limit(struct qvmi_ctx *ctx, const char *data, size_t len,
			 bool json_syms, size_t table_max,
			 struct qvmi_isf **ret)
{
	struct json_tokener *tok;
	struct qvmi_isf *isf;
	enum json_tokener_error je;
	char *doc = NULL;
	size_t used;
	int err;

	if (len > ISF_FILE_MAX)
		return qvmi__err(ctx, -EFBIG, "isf: %zu bytes, limit %d", len,
				 ISF_FILE_MAX);
	tok = json_tokener_new_ex(ISF_JSON_DEPTH);
	isf = calloc(1, sizeof(*isf));
	if (!tok || !isf) {
		json_tokener_free(tok);
		free(isf);
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	}
	isf->table_max = QVMI_MIN(table_max, (size_t)ISF_TABLE_MAX);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	err = json_syms ? 0 : without_symbols(isf, &data, &len, &doc);
	if (err) {
		json_tokener_free(tok);
		qvmi__isf_free(isf);
		return qvmi__err(ctx, err, "out of memory");
	}
	isf->root = json_tokener_parse_ex(tok, data, (int)len);
	je = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (used < len && strchr(" \t\r\n", data[used]) && data[used])
		used++;
	if (!isf->root || je != json_tokener_success)
		err = qvmi__err(ctx, -EBADMSG, "isf: JSON %s at byte %zu",
				je == json_tokener_continue ?
					"truncated" :
					json_tokener_error_desc(je),
				used);
	else if (used < len)
		err = qvmi__err(ctx, -EBADMSG,
				"isf: trailing bytes after the JSON at %zu",
				used);
	else
		err = validate(ctx, isf);
	free(doc); /* data pointed into it until here */
	if (err) {
		qvmi__isf_free(isf);
		return err;
	}
	*ret = isf;
	return 0;
}

int qvmi__isf_load_file(struct qvmi_ctx *ctx, const char *path,
			struct qvmi_isf **ret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t n = 0;
	char *buf;
	int err;

	if (fd < 0)
		return qvmi__err(ctx, -errno, "isf: cannot open %s", path);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    st.st_size > ISF_FILE_MAX) {
		close(fd);
		return qvmi__err(ctx, -EFBIG,
				 "isf: %s is not a regular file of at most "
				 "%d bytes",
				 path, ISF_FILE_MAX);
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (!buf)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	if (n >= 2 && (uint8_t)buf[0] == 0xfd && buf[1] == '7') {
		free(buf);
		return qvmi__err(ctx, -EBADMSG,
				 "isf: %s is xz-compressed; give the plain "
				 "JSON (unxz it)",
				 path);
	}
	err = qvmi__isf_load(ctx, buf, n, ret);
	free(buf);
	return err;
}

/* ---- lookups -------------------------------------------------------------- */

static int desc_size(const struct qvmi_isf *isf, struct json_object *d,
		     int depth, uint64_t *ret)
{
	const char *k = jstr(d, "kind"), *n = jstr(d, "name");
	uint64_t c, s = 0;
	int err;

	if (!k || depth > ISF_DESC_DEPTH)
		return -EBADMSG;
	if (!strcmp(k, "base"))
		s = json_object_get_uint64(jget(jget(isf->base, n), "size"));
	else if (!strcmp(k, "enum"))
		s = json_object_get_uint64(jget(jget(isf->enums, n), "size"));
	else if (is_user_kind(k))
		s = json_object_get_uint64(jget(jget(isf->user, n), "size"));
	else if (!strcmp(k, "pointer"))
		s = isf->ptr_size;
	else if (!strcmp(k, "bitfield"))
		return desc_size(isf,
				 jget(d, "type") ? jget(d, "type") :
						   jget(d, "subtype"),
				 depth + 1, ret);
	else if (!strcmp(k, "array")) {
		c = json_object_get_uint64(jget(d, "count"));
		err = desc_size(isf, jget(d, "subtype"), depth + 1, &s);
		if (err)
			return err;
		if (s && c > ISF_SIZE_MAX / s)
			return -EBADMSG;
		s *= c;
	}
	*ret = s;
	return 0;
}

/* Anonymous members: dwarf2json names them "unnamed_field_<offset>". */
static bool anon_name(const char *n)
{
	return !*n || !strncmp(n, "unnamed_field", 13);
}

struct walk {
	uint64_t bits;
	uint32_t bitsz;
	struct json_object *desc; /* the member's type */
	int visits;
};

static int find_member(const struct qvmi_isf *isf, struct json_object *ut,
		       const char *name, size_t nlen, int depth, struct walk *w)
{
	struct json_object *fields = jget(ut, "fields");

	if (depth > ISF_ANON_DEPTH)
		return -ENOENT;
	json_object_object_foreach(fields, fn, f)
	{
		struct json_object *d = jget(f, "type");
		uint64_t off = json_object_get_uint64(jget(f, "offset"));
		const char *k = jstr(d, "kind");

		if (++w->visits > ISF_VISIT_MAX)
			return -ELOOP;
		if (strlen(fn) == nlen && !memcmp(fn, name, nlen)) {
			w->bits += off * 8;
			w->bitsz = 0;
			w->desc = d;
			if (!strcmp(k, "bitfield")) {
				w->bits += json_object_get_uint64(
					jget(d, "bit_position"));
				w->bitsz = (uint32_t)json_object_get_uint64(
					jget(d, "bit_length"));
				w->desc = jget(d, "type") ? jget(d, "type") :
							    jget(d, "subtype");
			}
			return 0;
		}
		if (anon_name(fn) && is_user_kind(k)) {
			int err = find_member(isf,
					      jget(isf->user, jstr(d, "name")),
					      name, nlen, depth + 1, w);

			if (err != -ENOENT) {
				if (!err)
					w->bits += off * 8;
				return err;
			}
		}
	}
	return -ENOENT;
}

/* "task_struct", "struct task_struct", "union foo". */
static struct json_object *find_user(const struct qvmi_isf *isf,
				     const char *type)
{
	struct json_object *t;
	const char *want = NULL;

	if (!strncmp(type, "struct ", 7))
		want = "struct";
	else if (!strncmp(type, "union ", 6))
		want = "union";
	if (want)
		type += strlen(want) + 1;
	t = jget(isf->user, type);
	if (t && want && strcmp(jstr(t, "kind"), want) &&
	    !(!strcmp(want, "struct") && !strcmp(jstr(t, "kind"), "class")))
		return NULL;
	return t;
}

/* "[N]" suffixes: step into arrays. */
static int path_index(struct qvmi_ctx *ctx, const struct qvmi_isf *isf,
		      const char **pp, struct walk *w)
{
	const char *p = *pp;

	while (*p == '[') {
		unsigned long long idx;
		uint64_t esz = 0, count;
		char *end;

		if (strcmp(jstr(w->desc, "kind"), "array"))
			return qvmi__err(ctx, -EINVAL, "isf: [ on a non-array");
		count = json_object_get_uint64(jget(w->desc, "count"));
		if (!isdigit((unsigned char)p[1]))
			return qvmi__err(ctx, -EINVAL, "isf: bad index");
		idx = strtoull(p + 1, &end, 10);
		if (*end != ']' || idx >= count)
			return qvmi__err(ctx, -ERANGE,
					 "isf: index out of bounds (%" PRIu64
					 " elements)",
					 count);
		w->desc = jget(w->desc, "subtype");
		if (desc_size(isf, w->desc, 0, &esz))
			return qvmi__err(ctx, -EBADMSG, "isf: element size");
		w->bits += (uint64_t)idx * esz * 8;
		p = end + 1;
	}
	*pp = p;
	return 0;
}

static const char *desc_name(struct json_object *d)
{
	const char *k = jstr(d, "kind");

	if (!strcmp(k, "base") || !strcmp(k, "enum") || is_user_kind(k))
		return jstr(d, "name");
	return "";
}

int qvmi__isf_member(struct qvmi_ctx *ctx, const struct qvmi_isf *isf,
		     const char *type, const char *path,
		     struct qvmi_linux_member *ret)
{
	struct json_object *ut;
	struct walk w = { 0 };
	const char *p = path;
	uint64_t sz = 0;
	int depth = 0, err;

	if (!type || !path || !*path)
		return qvmi__err(ctx, -EINVAL, "isf: empty type or path");
	ut = find_user(isf, type);
	if (!ut)
		return qvmi__err(ctx, -ENOENT, "isf: no struct/union %s", type);
	while (*p) {
		size_t n = strcspn(p, ".[");

		if (!n || ++depth > ISF_PATH_DEPTH)
			return qvmi__err(ctx, -EINVAL, "isf: bad path %s",
					 path);
		if (!ut)
			return qvmi__err(ctx, -EINVAL,
					 "isf: %s: %.*s is inside a non-struct",
					 path, (int)n, p);
		err = find_member(isf, ut, p, n, 0, &w);
		if (err == -ELOOP)
			return qvmi__err(ctx, -ELOOP,
					 "isf: %s: too many anonymous members",
					 type);
		if (err)
			return qvmi__err(ctx, -ENOENT,
					 "isf: %s has no member %.*s", type,
					 (int)n, p);
		/* -ENOENT: a BTF file, when given, answers instead. */
		if (w.bitsz && isf->bits_lost)
			return qvmi__err(ctx, -ENOENT,
					 "isf: %s.%.*s: the ISF lost its "
					 "bitfield positions (dwarf2json "
					 "without DWARF 5 data_bit_offset)",
					 type, (int)n, p);
		p += n;
		err = path_index(ctx, isf, &p, &w);
		if (err)
			return err;
		ut = is_user_kind(jstr(w.desc, "kind")) ?
			     jget(isf->user, jstr(w.desc, "name")) :
			     NULL;
		if (*p == '.')
			p++;
		else if (*p)
			return qvmi__err(ctx, -EINVAL, "isf: bad path %s",
					 path);
	}
	desc_size(isf, w.desc, 0, &sz);
	memset(ret, 0, sizeof(*ret));
	ret->bit_offset = w.bits;
	ret->bit_size = w.bitsz;
	ret->size = sz;
	ret->type_name = desc_name(w.desc);
	return 0;
}

int qvmi__isf_type_size(struct qvmi_ctx *ctx, const struct qvmi_isf *isf,
			const char *type, uint64_t *ret)
{
	struct json_object *t = NULL;

	if (!type)
		return qvmi__err(ctx, -EINVAL, "isf: no type");
	if (!strncmp(type, "enum ", 5))
		t = jget(isf->enums, type + 5);
	else
		t = find_user(isf, type);
	if (!t && !strchr(type, ' '))
		t = jget(isf->enums, type);
	if (!t)
		t = jget(isf->base, type);
	if (!t)
		return qvmi__err(ctx, -ENOENT, "isf: no type %s", type);
	*ret = json_object_get_uint64(jget(t, "size"));
	return 0;
}

/*
 * Address 0 means "no address": dwarf2json 0.6.0 writes 0 for every DWARF
 * variable without a DW_OP_addr location (function-local statics, extern
 * declarations, optimised-out variables) that neither the ELF symtab nor
 * the System.map placed, and for the symtab's STT_FILE entries
 * ("8250_core.c"): 36,175 of the 150,140 symbols of Debian's 6.1 686-pae.
 * No kernel variable qvmi asks for lives at 0 (x86_64's per-CPU
 * fixed_percpu_data does, but kallsyms answers it before the ISF is asked).
 */
int qvmi__isf_sym(const struct qvmi_isf *isf, const char *name, uint64_t *ret)
{
	struct json_object *s;
	uint64_t a;

	if (isf->fast_syms) {
		if (qvmi__isf_symtab_find(&isf->symtab, name, &a) || !a)
			return -ENOENT;
		*ret = a;
		return 0;
	}
	s = jget(isf->syms, name);
	if (!s)
		return -ENOENT;
	a = json_object_get_uint64(jget(s, "address"));
	if (!a)
		return -ENOENT;
	*ret = a;
	return 0;
}

size_t qvmi__isf_nsyms(const struct qvmi_isf *isf)
{
	if (isf->fast_syms)
		return isf->symtab.n;
	return (size_t)json_object_object_length(isf->syms);
}
