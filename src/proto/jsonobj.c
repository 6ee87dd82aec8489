// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Scanner for the top-level members of a JSON object's text.  No
 * recursion: nested values are skipped by counting brackets outside
 * strings, so any depth costs nothing and every step moves forward.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "jsonobj.h"

enum { KEY_DECODE_MAX = 4096 };

static bool ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t skip_ws(const char *s, size_t len, size_t p)
{
	while (p < len && ws(s[p]))
		p++;
	return p;
}

/* s[p] is '"': the offset just past the closing quote, or 0. */
static size_t skip_string(const char *s, size_t len, size_t p)
{
	for (p++; p < len; p++) {
		if (s[p] == '\\')
			p++; /* the escaped char; \uXXXX's digits are plain */
		else if (s[p] == '"')
			return p + 1;
	}
	return 0;
}

/* The end of the value at s[p], or 0 if it is cut or malformed. */
static size_t skip_value(const char *s, size_t len, size_t p)
{
	size_t depth = 0;

	if (p >= len)
		return 0;
	if (s[p] == '"')
		return skip_string(s, len, p);
	if (s[p] != '{' && s[p] != '[') { /* number, true, false, null */
		size_t b = p;

		while (p < len && !ws(s[p]) && s[p] != ',' && s[p] != '}' &&
		       s[p] != ']' && s[p] != '"' && s[p] != '{' &&
		       s[p] != '[' && s[p] != ':')
			p++;
		return p > b ? p : 0;
	}
	while (p < len) {
		char c = s[p];

		if (c == '"') {
			p = skip_string(s, len, p);
			if (!p)
				return 0;
			continue;
		}
		if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']')
			if (--depth == 0)
				return p + 1;
		p++;
	}
	return 0;
}

void qvmi__jsonobj_iter_init(struct qvmi_jsonobj_iter *it, const char *s,
			     size_t len)
{
	it->s = s;
	it->len = len;
	it->pos = 0;
	it->state = 0;
}

int qvmi__jsonobj_next(struct qvmi_jsonobj_iter *it,
		       struct qvmi_jsonobj_member *ret)
{
	const char *s = it->s;
	size_t len = it->len, p = skip_ws(s, len, it->pos), e;

	if (it->state == 2)
		return 0;
	if (it->state == 0) {
		if (p >= len || s[p] != '{')
			return -EBADMSG;
		p = skip_ws(s, len, p + 1);
		if (p < len && s[p] == '}') {
			it->state = 2;
			return 0;
		}
		it->state = 1;
	} else {
		if (p < len && s[p] == '}') {
			it->state = 2;
			return 0;
		}
		if (p >= len || s[p] != ',')
			return -EBADMSG;
		p = skip_ws(s, len, p + 1);
	}
	if (p >= len || s[p] != '"')
		return -EBADMSG;
	ret->start = p;
	e = skip_string(s, len, p);
	if (!e)
		return -EBADMSG;
	p = skip_ws(s, len, e);
	if (p >= len || s[p] != ':')
		return -EBADMSG;
	ret->vstart = skip_ws(s, len, p + 1);
	ret->end = skip_value(s, len, ret->vstart);
	if (!ret->end)
		return -EBADMSG;
	it->pos = ret->end;
	return 1;
}

bool qvmi__jsonobj_key_is(const char *s, const struct qvmi_jsonobj_member *m,
			  const char *key)
{
	size_t klen = strlen(key), e = skip_string(s, m->end, m->start);
	char buf[KEY_DECODE_MAX + 1];
	struct json_object *o;
	bool eq;

	if (!e)
		return false;
	/* The common case: no escapes, compare the bytes. */
	if (!memchr(s + m->start, '\\', e - m->start))
		return e - m->start == klen + 2 &&
		       !memcmp(s + m->start + 1, key, klen);
	/* "\u0069d" is "id" too: let json-c decode it. */
	if (e - m->start > KEY_DECODE_MAX)
		return false;
	memcpy(buf, s + m->start, e - m->start);
	buf[e - m->start] = '\0';
	o = json_tokener_parse(buf);
	eq = o && json_object_is_type(o, json_type_string) &&
	     (size_t)json_object_get_string_len(o) == klen &&
	     !memcmp(json_object_get_string(o), key, klen);
	json_object_put(o);
	return eq;
}

int qvmi__jsonobj_get(const char *s, size_t len, const char *key,
		      struct qvmi_jsonobj_member *ret)
{
	struct qvmi_jsonobj_iter it;
	struct qvmi_jsonobj_member m;
	int r, found = 0;

	qvmi__jsonobj_iter_init(&it, s, len);
	while ((r = qvmi__jsonobj_next(&it, &m)) == 1) {
		if (qvmi__jsonobj_key_is(s, &m, key)) {
			*ret = m;
			found = 1;
		}
	}
	return r < 0 ? r : found;
}

struct out {
	char *b;
	size_t len, cap;
	bool first;
};

static int out_add(struct out *o, const char *p, size_t n)
{
	if (n > o->cap - o->len) {
		size_t cap = QVMI_MAX(o->cap * 2, o->len + n + 1);
		char *nb = realloc(o->b, cap);

		if (!nb)
			return -ENOMEM;
		o->b = nb;
		o->cap = cap;
	}
	memcpy(o->b + o->len, p, n);
	o->len += n;
	return 0;
}

static int out_member(struct out *o, const char *p, size_t n)
{
	int err = o->first ? 0 : out_add(o, ", ", 2);

	o->first = false;
	return err ?: out_add(o, p, n);
}

static int out_kv(struct out *o, const char *key, const char *val, size_t vlen)
{
	return out_member(o, "\"", 1)		    ?:
		       out_add(o, key, strlen(key)) ?:
		       out_add(o, "\": ", 3)	    ?:
						      out_add(o, val, vlen);
}

int qvmi__jsonobj_set(const char *s, size_t len, const char *key,
		      const char *val, size_t vlen, char **ret, size_t *ret_len)
{
	struct out o = { .first = true };
	struct qvmi_jsonobj_member last, m;
	struct qvmi_jsonobj_iter it;
	int r, have = qvmi__jsonobj_get(s, len, key, &last);

	*ret = NULL;
	if (have < 0)
		return have;
	r = out_add(&o, "{", 1);
	qvmi__jsonobj_iter_init(&it, s, len);
	while (!r && (r = qvmi__jsonobj_next(&it, &m)) == 1) {
		r = 0;
		if (!qvmi__jsonobj_key_is(s, &m, key))
			r = out_member(&o, s + m.start, m.end - m.start);
		else if (val && m.start == last.start)
			r = out_kv(&o, key, val, vlen);
	}
	if (!r && val && !have)
		r = out_kv(&o, key, val, vlen);
	if (!r)
		r = out_add(&o, "}", 2); /* with the NUL */
	if (r < 0) {
		free(o.b);
		return r;
	}
	*ret = o.b;
	*ret_len = o.len - 1;
	return 0;
}
