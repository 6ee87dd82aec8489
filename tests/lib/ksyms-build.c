// SPDX-License-Identifier: LGPL-2.1-or-later
/* A small kallsyms table builder for unit tests and fuzz seeds. */
#include <string.h>

#include "ksyms-build.h"

/* Multi-character tokens in otherwise unused byte values; one longer
 * than the decoder's 16-byte fast copy. */
static const char *const multi[] = { "fn_",   "sym_",
				     "init",  "task",
				     "_text", "base",
				     "BTF",   "qqqqqqqqqqqqqqqqqqqqqqqq" };

struct wr {
	uint8_t *buf;
	size_t cap, pos;
	int err;
	unsigned int ptr; /* PTR size and ALGN: 8, or 4 for 32-bit */
};

static void put(struct wr *w, const void *p, size_t n)
{
	if (w->pos > w->cap || n > w->cap - w->pos) {
		w->err = -1;
		return;
	}
	memcpy(w->buf + w->pos, p, n);
	w->pos += n;
}

static void put32(struct wr *w, uint32_t v)
{
	put(w, &v, 4);
}

static void put64(struct wr *w, uint64_t v)
{
	put(w, &v, 8);
}

static void align(struct wr *w)
{
	static const uint8_t z[8];

	put(w, z, (w->ptr - (w->pos & (w->ptr - 1))) & (w->ptr - 1));
}

static void putptr(struct wr *w, uint64_t v)
{
	if (w->ptr == 8)
		put64(w, v);
	else
		put32(w, (uint32_t)v);
}

static void tokens(const char *tok[256], const struct kb_opts *o)
{
	static char single[256][2];
	int m = 0;

	for (int c = 0; c < 256; c++) {
		single[c][0] = (char)c;
		single[c][1] = 0;
		tok[c] = "";
		if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || c == '_' || c == '.')
			tok[c] = single[c];
		else if (c >= 0x80 && m < (int)(sizeof(multi) / sizeof(*multi)))
			tok[c] = multi[m++];
	}
	if (o->tok_s && o->tok_c < 256)
		tok[o->tok_c] = o->tok_s;
}

/* Greedy compression of type + name with the token table. */
static size_t compress(const char *tok[256], char type, const char *name,
		       uint8_t *out)
{
	char full[1100];
	size_t n = 0, i = 0, len;

	full[0] = type;
	strncpy(full + 1, name, sizeof(full) - 2);
	full[sizeof(full) - 1] = 0;
	len = strlen(full);
	while (i < len) {
		int best = (uint8_t)full[i];
		size_t bl = 1;

		for (int c = 0x80; c < 256; c++) {
			size_t tl = strlen(tok[c]);

			if (tl > bl && !strncmp(full + i, tok[c], tl)) {
				best = c;
				bl = tl;
			}
		}
		out[n++] = (uint8_t)best;
		i += bl;
	}
	return n;
}

static void names(struct wr *w, const char *tok[256], const struct kb_sym *s,
		  size_t n, uint32_t *markers)
{
	size_t start = w->pos;
	uint8_t c[1100];

	for (size_t i = 0; i < n; i++) {
		size_t len = compress(tok, s[i].type, s[i].name, c);
		uint8_t h[2] = { (uint8_t)((len & 0x7f) | 0x80),
				 (uint8_t)(len >> 7) };

		if (i % 256 == 0)
			markers[i / 256] = (uint32_t)(w->pos - start);
		if (len <= 0x7f) {
			h[0] = (uint8_t)len;
			put(w, h, 1);
		} else {
			put(w, h, 2);
		}
		put(w, c, len);
	}
}

static void addrs(struct wr *w, const struct kb_sym *s, size_t n,
		  const struct kb_opts *o, struct kb_layout *l)
{
	uint64_t rb = 0;
	size_t i;

	align(w);
	l->addrs = w->pos;
	if (o->absolute) {
		for (i = 0; i < n; i++)
			putptr(w, s[i].addr);
		return;
	}
	for (i = 0; i < n && o->abs_percpu && s[i].addr < (1ull << 31); i++)
		;
	rb = i < n ? s[i].addr : 0;
	for (i = 0; i < n; i++) {
		if (o->abs_percpu && s[i].addr < (1ull << 31))
			put32(w, (uint32_t)s[i].addr);
		else if (o->abs_percpu)
			put32(w, (uint32_t)(int32_t)(rb - s[i].addr - 1));
		else
			put32(w, (uint32_t)(s[i].addr - rb));
	}
	align(w);
	putptr(w, rb);
}

static void seqs(struct wr *w, size_t n)
{
	align(w);
	for (size_t i = 0; i < n; i++) {
		uint8_t b[3] = { (uint8_t)(i >> 16), (uint8_t)(i >> 8),
				 (uint8_t)i };

		put(w, b, 3);
	}
}

static void head(struct wr *w, const char *tok[256], const struct kb_sym *s,
		 size_t n, const struct kb_opts *o, struct kb_layout *l)
{
	static uint32_t markers[KB_MAX_SYMS / 256];

	align(w);
	l->num_syms = w->pos;
	put32(w, (uint32_t)n);
	align(w);
	l->names = w->pos;
	names(w, tok, s, n, markers);
	align(w);
	l->markers = w->pos;
	for (size_t k = 0; k < (n + 255) / 256; k++) {
		if (o->marker_width == 8)
			put64(w, markers[k]);
		else
			put32(w, markers[k]);
	}
	if (o->order == KB_OLD_SEQS)
		seqs(w, n);
}

static void token_tables(struct wr *w, const char *tok[256],
			 struct kb_layout *l)
{
	uint16_t idx[256];
	size_t start;

	align(w);
	start = l->token_table = w->pos;
	for (int c = 0; c < 256; c++) {
		idx[c] = (uint16_t)(w->pos - start);
		put(w, tok[c], strlen(tok[c]) + 1);
	}
	align(w);
	l->token_index = w->pos;
	put(w, idx, sizeof(idx));
}

int kb_build(uint8_t *buf, size_t cap, size_t at, const struct kb_sym *syms,
	     size_t n, const struct kb_opts *o, struct kb_layout *ret)
{
	struct wr w = { buf, cap, at, 0, o->ptr_size ? o->ptr_size : 8 };
	const char *tok[256];

	if (n > KB_MAX_SYMS)
		return -1;
	tokens(tok, o);
	memset(ret, 0, sizeof(*ret));
	if (o->order != KB_NEW)
		addrs(&w, syms, n, o, ret);
	head(&w, tok, syms, n, o, ret);
	token_tables(&w, tok, ret);
	if (o->order == KB_NEW) {
		addrs(&w, syms, n, o, ret);
		seqs(&w, n);
	}
	ret->end = w.pos;
	return w.err;
}
