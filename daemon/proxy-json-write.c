// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unicode as QEMU 7.2 checks it (util/unicode.c), and JSON as it writes
 * it (qobject/json-writer.c, qjson.c, qdict.c's order): for the QMP
 * proxy's reader (proxy-json.c) and its replies.
 */
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy-json-int.h"

enum { DICT_BUCKETS = 512 }; /* qdict.h QDICT_BUCKET_MAX */

/* ---- a growable string ------------------------------------------------ */

void pj__sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (n + 1 > b->cap - b->len) {
		size_t cap = b->cap * 2 > b->len + n + 1 ? b->cap * 2 :
							   b->len + n + 64;
		char *ns = realloc(b->s, cap);

		if (!ns) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void pj__sb_str(struct sbuf *b, const char *s)
{
	pj__sb_add(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		b->oom = true; /* only short numbers are printed here */
	else
		pj__sb_add(b, tmp, (size_t)n);
}

/* The string, or NULL (and nothing leaks) if memory ran out. */
char *pj__sb_take(struct sbuf *b)
{
	if (b->oom || !b->s) {
		free(b->s);
		return b->oom ? NULL : strdup("");
	}
	return b->s;
}

/* ---- Unicode (util/unicode.c) ----------------------------------------- */

static bool valid_codepoint(long cp)
{
	if (cp < 0 || cp > 0x10FFFF)
		return false;
	if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE)
		return false; /* noncharacter */
	return !(cp >= 0xD800 && cp <= 0xDFFF); /* surrogate */
}

/*
 * mod_utf8_codepoint(): the code point of the sequence at s (at most n
 * bytes), -1 if invalid; *used gets its length as QEMU counts it.
 * Modified UTF-8: U+0000 is "\xC0\x80".
 */
long pj__mod_utf8_cp(const unsigned char *s, size_t n, size_t *used)
{
	static const long min_cp[5] = { 0x80, 0x800, 0x10000, 0x200000,
					0x4000000 };
	unsigned int b, mask, len, i;
	long cp;

	*used = 0;
	if (!n || !s[0])
		return -1;
	b = s[0];
	*used = 1;
	if (b < 0x80)
		return b;
	if (b >= 0xFE || !(b & 0x40))
		return -1; /* impossible byte, or a stray continuation */
	for (len = 0, mask = 0x80; b & mask; mask >>= 1)
		len++;
	cp = b & (mask - 1);
	for (i = 1; i < len; i++) {
		unsigned int c = i < n ? s[i] : 0;

		if ((c & 0xC0) != 0x80)
			return -1;
		*used = i + 1;
		cp = (cp << 6) | (c & 0x3F);
	}
	if (!valid_codepoint(cp))
		return -1;
	if (cp < min_cp[len - 2] && !(cp == 0 && len == 2))
		return -1; /* overlong, other than "\xC0\x80" */
	return cp;
}

/* mod_utf8_encode(): -1 if cp is not a valid code point. */
int pj__mod_utf8_put(char *out, long cp)
{
	if (!valid_codepoint(cp))
		return -1;
	if (cp > 0 && cp <= 0x7F) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp <= 0x7FF) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp <= 0xFFFF) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

bool pj_utf8_ok(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t off = 0, used;

	while (off < len) {
		long cp = pj__mod_utf8_cp(u + off, len - off, &used);

		/* "\xC0\x80" is modified UTF-8, not UTF-8 */
		if (cp <= 0)
			return false;
		off += used;
	}
	return true;
}

/* json-writer.c quoted_str(), up to len bytes or a NUL. */
void pj__quote_into(struct sbuf *b, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t off = 0, used;

	pj__sb_add(b, "\"", 1);
	while (off < len && u[off]) {
		long cp = pj__mod_utf8_cp(u + off, len - off, &used);

		off += used ? used : 1;
		switch (cp) {
		case '"':
			pj__sb_str(b, "\\\"");
			break;
		case '\\':
			pj__sb_str(b, "\\\\");
			break;
		case '\b':
			pj__sb_str(b, "\\b");
			break;
		case '\f':
			pj__sb_str(b, "\\f");
			break;
		case '\n':
			pj__sb_str(b, "\\n");
			break;
		case '\r':
			pj__sb_str(b, "\\r");
			break;
		case '\t':
			pj__sb_str(b, "\\t");
			break;
		default:
			if (cp < 0)
				cp = 0xFFFD;
			if (cp > 0xFFFF)
				sb_printf(b, "\\u%04lX\\u%04lX",
					  0xD800 + ((cp - 0x10000) >> 10),
					  0xDC00 + ((cp - 0x10000) & 0x3FF));
			else if (cp < 0x20 || cp >= 0x7F)
				sb_printf(b, "\\u%04lX", cp);
			else
				pj__sb_add(b, (const char *)&u[off - 1], 1);
		}
	}
	pj__sb_add(b, "\"", 1);
}

char *pj_quote(const char *s, size_t len)
{
	struct sbuf b = { 0 };

	pj__quote_into(&b, s, len);
	return pj__sb_take(&b);
}

/* ---- writing the id back (qobject_to_json) ----------------------------- */

/* qdict.c tdb_hash(): QDict iterates its 512 buckets in order, each
 * newest first, so a dict comes back in this order. */
static unsigned int qdict_bucket(const char *key)
{
	unsigned int v = 0x238F13AFu * (unsigned int)strlen(key), i;

	for (i = 0; key[i]; i++)
		v += (unsigned int)(unsigned char)key[i] << (i * 5 % 24);
	return (1103515243u * v + 12345u) % DICT_BUCKETS;
}

struct kv {
	const char *key;
	struct json_object *val;
	unsigned int bucket;
	size_t seq;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;

	if (x->bucket != y->bucket)
		return x->bucket < y->bucket ? -1 : 1;
	return x->seq > y->seq ? -1 : x->seq < y->seq; /* newest first */
}

static void write_dict(struct sbuf *b, struct json_object *o)
{
	size_t n = (size_t)json_object_object_length(o), i = 0;
	struct kv *kv = calloc(n ? n : 1, sizeof(*kv));

	if (!kv) {
		b->oom = true;
		return;
	}
	json_object_object_foreach(o, key, val)
	{
		kv[i] = (struct kv){ key, val, qdict_bucket(key), i };
		i++;
	}
	qsort(kv, n, sizeof(*kv), kv_cmp);
	pj__sb_add(b, "{", 1);
	for (i = 0; i < n; i++) {
		if (i)
			pj__sb_add(b, ", ", 2);
		pj__quote_into(b, kv[i].key, strlen(kv[i].key));
		pj__sb_add(b, ": ", 2);
		pj__write_value(b, kv[i].val);
	}
	pj__sb_add(b, "}", 1);
	free(kv);
}

void pj__write_value(struct sbuf *b, struct json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null:
		pj__sb_str(b, "null");
		break;
	case json_type_boolean:
		pj__sb_str(b, json_object_get_boolean(o) ? "true" : "false");
		break;
	case json_type_int: {
		int64_t i = json_object_get_int64(o);
		uint64_t u = json_object_get_uint64(o);

		if (i == INT64_MAX && u > (uint64_t)INT64_MAX)
			sb_printf(b, "%llu", (unsigned long long)u);
		else
			sb_printf(b, "%lld", (long long)i);
		break;
	}
	case json_type_double: {
		double d = json_object_get_double(o);

		/* QEMU 7.2 writes "inf": not JSON.  Its own text is. */
		if (isfinite(d))
			sb_printf(b, "%.17g", d);
		else
			pj__sb_str(b, json_object_to_json_string(o));
		break;
	}
	case json_type_string:
		pj__quote_into(b, json_object_get_string(o),
			       (size_t)json_object_get_string_len(o));
		break;
	case json_type_array:
		pj__sb_add(b, "[", 1);
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			if (i)
				pj__sb_add(b, ", ", 2);
			pj__write_value(b, json_object_array_get_idx(o, i));
		}
		pj__sb_add(b, "]", 1);
		break;
	case json_type_object:
		write_dict(b, o);
		break;
	}
}
