// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The "symbols" table of an ISF, read without json-c.  In dwarf2json's
 * output it is most of the file (Debian 6.1 amd64: 31 of 38 MB, 160,837
 * symbols, each an object with a "type" descriptor and an "address"), and
 * json-c's tree of it cost 1.9 s and ~380 MB of a 2.5 s, 540 MB load;
 * qvmi needs only names and addresses.  This scanner finds the top-level
 * "symbols" member, checks the JSON syntax of everything it passes over
 * (strings, escapes, numbers, literals, nesting up to ISF's depth limit),
 * and keeps the name/address pairs sorted by name.  isf.c hands json-c the
 * rest of the document with "symbols": {} in its place.
 *
 * Anything unexpected (a syntax error, a symbol without a non-negative
 * integer "address", a second "symbols", too many entries) makes the
 * scan give up: the caller then parses the whole document with json-c,
 * whose error messages and checks stay the reference.  Duplicate names
 * keep the last, as json-c does.  A \u escape outside ASCII becomes '?'
 * (kernel symbol names are ASCII).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "isf-syms.h"

enum {
	KEY_MAX = 1024, /* bytes of a decoded symbol name */
};

struct scan {
	const char *p, *end;
	int max_depth;
};

struct isf_sym_raw {
	size_t name; /* offset into the pool */
	size_t idx; /* order in the file: the last duplicate wins */
	uint64_t addr;
};

static void ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
				 *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static bool take(struct scan *s, char c)
{
	ws(s);
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return true;
	}
	return false;
}

/* One escape after the backslash; the byte it stands for into *c. */
static int escape(struct scan *s, unsigned char *c)
{
	unsigned int v = 0;

	if (s->p >= s->end)
		return -1;
	switch (*s->p++) {
	case '"':
		*c = '"';
		return 0;
	case '\\':
		*c = '\\';
		return 0;
	case '/':
		*c = '/';
		return 0;
	case 'b':
		*c = '\b';
		return 0;
	case 'f':
		*c = '\f';
		return 0;
	case 'n':
		*c = '\n';
		return 0;
	case 'r':
		*c = '\r';
		return 0;
	case 't':
		*c = '\t';
		return 0;
	case 'u':
		for (int i = 0; i < 4; i++, s->p++) {
			if (s->p >= s->end || !isxdigit((unsigned char)*s->p))
				return -1;
			v = v * 16 + (unsigned int)qvmi__hexval(*s->p);
		}
		*c = v && v < 0x80 ? (unsigned char)v : '?';
		return 0;
	default:
		return -1;
	}
}

/* A string; decoded into out[cap] (NUL-terminated) when out is set. */
static int string(struct scan *s, char *out, size_t cap, size_t *len)
{
	size_t n = 0;

	if (!take(s, '"'))
		return -1;
	while (s->p < s->end) {
		unsigned char c = (unsigned char)*s->p++;

		if (c == '"') {
			if (out)
				out[n] = '\0';
			if (len)
				*len = n;
			return 0;
		}
		if (c < 0x20 || (c == '\\' && escape(s, &c)))
			return -1;
		if (out && n + 1 >= cap)
			return -1;
		if (out)
			out[n] = (char)c;
		n++;
	}
	return -1;
}

/* A number; *addr set when it is an integer in [0, UINT64_MAX]. */
static int number(struct scan *s, bool *is_uint, uint64_t *addr)
{
	bool neg = false, frac = false, ovf = false;
	uint64_t v = 0;

	if (s->p < s->end && *s->p == '-') {
		neg = true;
		s->p++;
	}
	if (s->p >= s->end || !isdigit((unsigned char)*s->p))
		return -1;
	if (*s->p == '0') {
		s->p++;
	} else {
		for (; s->p < s->end && isdigit((unsigned char)*s->p); s->p++) {
			unsigned int d = (unsigned int)(*s->p - '0');

			ovf |= v > (UINT64_MAX - d) / 10;
			v = v * 10 + d;
		}
	}
	if (s->p < s->end && *s->p == '.') {
		frac = true;
		if (++s->p >= s->end || !isdigit((unsigned char)*s->p))
			return -1;
		while (s->p < s->end && isdigit((unsigned char)*s->p))
			s->p++;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		frac = true;
		if (++s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (s->p >= s->end || !isdigit((unsigned char)*s->p))
			return -1;
		while (s->p < s->end && isdigit((unsigned char)*s->p))
			s->p++;
	}
	*is_uint = !frac && !ovf && (!neg || !v);
	*addr = neg ? 0 : v;
	return 0;
}

static int value(struct scan *s, int depth);

/* An object or an array, checked and passed over. */
static int container(struct scan *s, int depth)
{
	bool obj = *s->p == '{';
	char close = obj ? '}' : ']';

	if (depth > s->max_depth)
		return -1;
	s->p++;
	if (take(s, close))
		return 0;
	do {
		if (obj && (string(s, NULL, 0, NULL) || !take(s, ':')))
			return -1;
		if (value(s, depth + 1))
			return -1;
	} while (take(s, ','));
	return take(s, close) ? 0 : -1;
}

static int literal(struct scan *s, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n))
		return -1;
	s->p += n;
	return 0;
}

static int value(struct scan *s, int depth)
{
	bool u;
	uint64_t a;

	ws(s);
	if (s->p >= s->end)
		return -1;
	switch (*s->p) {
	case '{':
	case '[':
		return container(s, depth);
	case '"':
		return string(s, NULL, 0, NULL);
	case 't':
		return literal(s, "true");
	case 'f':
		return literal(s, "false");
	case 'n':
		return literal(s, "null");
	default:
		return number(s, &u, &a);
	}
}

/* One symbol's object: its "address" (the last one, as json-c). */
static int sym_object(struct scan *s, int depth, uint64_t *addr)
{
	char key[16];
	bool have = false, u;

	if (!take(s, '{') || depth > s->max_depth)
		return -1;
	if (take(s, '}'))
		return -1; /* no address */
	do {
		size_t n;

		ws(s);
		if ((size_t)(s->end - s->p) >= 9 &&
		    !memcmp(s->p, "\"address\"", 9)) {
			if (string(s, key, sizeof(key), &n) || !take(s, ':'))
				return -1;
			ws(s);
			if (number(s, &u, addr) || !u)
				return -1;
			have = true;
		} else if (string(s, NULL, 0, NULL) || !take(s, ':') ||
			   value(s, depth + 1)) {
			return -1;
		}
	} while (take(s, ','));
	return take(s, '}') && have ? 0 : -1;
}

static int pool_add(struct qvmi_isf_symtab *t, const char *name, size_t len,
		    size_t *off)
{
	if (t->pool_len + len + 1 > t->pool_cap) {
		size_t cap = t->pool_cap ? t->pool_cap * 2 : 1 << 20;
		char *p;

		while (cap < t->pool_len + len + 1)
			cap *= 2;
		p = realloc(t->pool, cap);
		if (!p)
			return -ENOMEM;
		t->pool = p;
		t->pool_cap = cap;
	}
	memcpy(t->pool + t->pool_len, name, len + 1);
	*off = t->pool_len;
	t->pool_len += len + 1;
	return 0;
}

static int raw_push(struct isf_sym_raw **v, size_t *n, size_t *cap,
		    const struct isf_sym_raw *r)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 4096;
		struct isf_sym_raw *nv = realloc(*v, c * sizeof(**v));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = *r;
	return 0;
}

/* The symbols object at s->p, into raw pairs (names in t's pool). */
static int sym_table(struct scan *s, struct qvmi_isf_symtab *t, size_t max,
		     struct isf_sym_raw **raw, size_t *n)
{
	char name[KEY_MAX];
	size_t cap = 0, len;
	struct isf_sym_raw r;

	if (!take(s, '{'))
		return -1;
	if (take(s, '}'))
		return 0;
	do {
		if (*n >= max || string(s, name, sizeof(name), &len) ||
		    !take(s, ':') || sym_object(s, 2, &r.addr))
			return -1;
		r.idx = *n;
		if (pool_add(t, name, len, &r.name) ||
		    raw_push(raw, n, &cap, &r))
			return -ENOMEM;
	} while (take(s, ','));
	return take(s, '}') ? 0 : -1;
}

static int cmp_raw(const void *a, const void *b, void *pool)
{
	const struct isf_sym_raw *x = a, *y = b;
	int c = strcmp((const char *)pool + x->name,
		       (const char *)pool + y->name);

	return c ? c : x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sorted by name, duplicates reduced to their last occurrence. */
static int finish(struct qvmi_isf_symtab *t, struct isf_sym_raw *raw, size_t n)
{
	size_t k = 0;

	if (n)
		qsort_r(raw, n, sizeof(*raw), cmp_raw, t->pool);
	t->v = malloc((n ? n : 1) * sizeof(*t->v));
	if (!t->v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n &&
		    !strcmp(t->pool + raw[i].name, t->pool + raw[i + 1].name))
			continue;
		t->v[k].name = raw[i].name;
		t->v[k].addr = raw[i].addr;
		k++;
	}
	t->n = k;
	return 0;
}

/* The document's top-level object, the "symbols" member read on the way. */
static int top(struct scan *s, const char *data, struct qvmi_isf_symtab *t,
	       size_t max, struct isf_sym_raw **raw, size_t *n, size_t *vstart,
	       size_t *vend)
{
	bool found = false;
	int err;

	if (!take(s, '{') || take(s, '}'))
		return 1;
	do {
		ws(s);
		if ((size_t)(s->end - s->p) > 10 &&
		    !memcmp(s->p, "\"symbols\"", 9)) {
			if (found)
				return 1; /* json-c keeps the last: let it */
			s->p += 9;
			if (!take(s, ':'))
				return 1;
			ws(s);
			*vstart = (size_t)(s->p - data);
			err = sym_table(s, t, max, raw, n);
			if (err)
				return err == -ENOMEM ? err : 1;
			*vend = (size_t)(s->p - data);
			found = true;
		} else if (string(s, NULL, 0, NULL) || !take(s, ':') ||
			   value(s, 2)) {
			return 1;
		}
	} while (take(s, ','));
	if (!take(s, '}'))
		return 1;
	ws(s);
	return found && s->p == s->end ? 0 : 1;
}

int qvmi__isf_symtab_scan(const char *data, size_t len, int max_depth,
			  size_t max, struct qvmi_isf_symtab *ret,
			  size_t *vstart, size_t *vend)
{
	struct scan s = { data, data + len, max_depth };
	struct isf_sym_raw *raw = NULL;
	size_t n = 0;
	int err;

	memset(ret, 0, sizeof(*ret));
	err = top(&s, data, ret, max, &raw, &n, vstart, vend);
	if (!err)
		err = finish(ret, raw, n);
	free(raw);
	if (err)
		qvmi__isf_symtab_free(ret);
	return err;
}

void qvmi__isf_symtab_free(struct qvmi_isf_symtab *t)
{
	free(t->v);
	free(t->pool);
	memset(t, 0, sizeof(*t));
}

int qvmi__isf_symtab_find(const struct qvmi_isf_symtab *t, const char *name,
			  uint64_t *ret)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, t->pool + t->v[mid].name);

		if (!c) {
			*ret = t->v[mid].addr;
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -ENOENT;
}
