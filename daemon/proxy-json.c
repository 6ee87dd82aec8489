// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * QEMU 7.2's JSON reader, modelled for the QMP proxy (see proxy-json.h).
 *
 * Three stages, as in QEMU:
 * - the lexer (json-lexer.c): a state machine over bytes.  A byte no state
 *   accepts is a lexical error, reported as "stray '<token so far>'", and
 *   the lexer then skips to a structural character, a control character
 *   or 0xFE/0xFF before it starts again;
 * - the streamer (json-streamer.c): gathers tokens until braces and
 *   brackets balance (or go negative), then parses them as one message; a
 *   lexical error throws away what was gathered;
 * - the parser (json-parser.c): recursive descent; the first error wins.
 * json-c is not used to split or judge input: its incremental tokener
 * accepts text QEMU rejects (a number and a '-' split across reads), and
 * it differs from QEMU on duplicate keys, noncharacters and quotes.
 */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy-json-int.h"

enum {
	MAX_NESTING = 1 << 10, /* json-streamer.c */
	LA = 0x80, /* a terminal reached by lookahead: byte not consumed */
};

/* Lexer states, then the token types they end in (json-lexer.c). */
enum {
	S_ERROR = 0,
	S_RECOVERY,
	S_DQ_ESC,
	S_DQ,
	S_SQ_ESC,
	S_SQ,
	S_ZERO,
	S_EXP_DIGITS,
	S_EXP_SIGN,
	S_EXP_E,
	S_MANT,
	S_MANT_DIGITS,
	S_DIGITS,
	S_SIGN,
	S_KEYWORD,
	S_START,
	T_LCURLY,
	T_RCURLY,
	T_LSQUARE,
	T_RSQUARE,
	T_COLON,
	T_COMMA,
	T_INTEGER,
	T_FLOAT,
	T_KEYWORD,
	T_STRING,
};

/* ---- lexer ------------------------------------------------------------ */

static bool is_digit(unsigned int c)
{
	return c >= '0' && c <= '9';
}

static uint8_t lex_start(unsigned int c)
{
	switch (c) {
	case '"':
		return S_DQ;
	case '\'':
		return S_SQ;
	case '0':
		return S_ZERO;
	case '-':
		return S_SIGN;
	case '{':
		return T_LCURLY;
	case '}':
		return T_RCURLY;
	case '[':
		return T_LSQUARE;
	case ']':
		return T_RSQUARE;
	case ',':
		return T_COMMA;
	case ':':
		return T_COLON;
	case ' ':
	case '\t':
	case '\r':
	case '\n':
		return S_START;
	}
	if (c >= '1' && c <= '9')
		return S_DIGITS;
	if (c >= 'a' && c <= 'z')
		return S_KEYWORD;
	return S_ERROR; /* '%' too: QMP does not interpolate */
}

static uint8_t lex_string(uint8_t st, unsigned int c)
{
	bool dq = st == S_DQ || st == S_DQ_ESC;

	if (c < 0x20 || c > 0xFD)
		return S_ERROR;
	if (st == S_DQ_ESC || st == S_SQ_ESC)
		return dq ? S_DQ : S_SQ;
	if (c == '\\')
		return dq ? S_DQ_ESC : S_SQ_ESC;
	if (c == (dq ? '"' : '\''))
		return T_STRING;
	return st;
}

/* json-lexer.c's table: the next state, | LA for a lookahead terminal. */
static uint8_t lex_next(uint8_t st, unsigned int c)
{
	switch (st) {
	case S_RECOVERY:
		if ((c < 0x20 && c != '\t') || c >= 0xFE || c == '[' ||
		    c == ']' || c == '{' || c == '}' || c == ':' || c == ',')
			return S_START | LA;
		return S_RECOVERY;
	case S_DQ_ESC:
	case S_DQ:
	case S_SQ_ESC:
	case S_SQ:
		return lex_string(st, c);
	case S_ZERO:
		if (is_digit(c))
			return S_ERROR;
		return c == '.' ? S_MANT : T_INTEGER | LA;
	case S_EXP_DIGITS:
		return is_digit(c) ? S_EXP_DIGITS : T_FLOAT | LA;
	case S_EXP_SIGN:
		return is_digit(c) ? S_EXP_DIGITS : S_ERROR;
	case S_EXP_E:
		if (c == '-' || c == '+')
			return S_EXP_SIGN;
		return is_digit(c) ? S_EXP_DIGITS : S_ERROR;
	case S_MANT:
		return is_digit(c) ? S_MANT_DIGITS : S_ERROR;
	case S_MANT_DIGITS:
		if (c == 'e' || c == 'E')
			return S_EXP_E;
		return is_digit(c) ? S_MANT_DIGITS : T_FLOAT | LA;
	case S_DIGITS:
		if (c == 'e' || c == 'E')
			return S_EXP_E;
		if (c == '.')
			return S_MANT;
		return is_digit(c) ? S_DIGITS : T_INTEGER | LA;
	case S_SIGN:
		if (c == '0')
			return S_ZERO;
		return c >= '1' && c <= '9' ? S_DIGITS : S_ERROR;
	case S_KEYWORD:
		return c >= 'a' && c <= 'z' ? S_KEYWORD : T_KEYWORD | LA;
	default:
		return lex_start(c);
	}
}

int pj_init(struct proxy_json *pj, size_t max_msg)
{
	memset(pj, 0, sizeof(*pj));
	pj->state = S_START;
	pj->max_msg = max_msg ? max_msg : 1 << 20;
	return 0;
}

void pj_deinit(struct proxy_json *pj)
{
	free(pj->buf);
	free(pj->toks);
	memset(pj, 0, sizeof(*pj));
}

uint64_t pj_fed(const struct proxy_json *pj)
{
	return pj->dropped + pj->len;
}

bool pj_partial(const struct proxy_json *pj)
{
	return pj->ntok || pj->tok_start < pj->len;
}

/* Bytes before the message being gathered are never needed again. */
static void compact(struct proxy_json *pj)
{
	size_t keep = pj->ntok ? pj->toks[0].start : pj->tok_start;

	if (!keep)
		return;
	memmove(pj->buf, pj->buf + keep, pj->len - keep);
	pj->dropped += keep;
	pj->len -= keep;
	pj->pos -= keep;
	pj->tok_start -= keep;
	for (size_t i = 0; i < pj->ntok; i++) {
		pj->toks[i].start -= keep;
		pj->toks[i].end -= keep;
	}
}

int pj_feed(struct proxy_json *pj, const void *data, size_t len)
{
	if (pj->err)
		return pj->err;
	if (!len)
		return 0;
	compact(pj);
	if (len > pj->max_msg || pj->len > pj->max_msg - len)
		return pj->err = -EMSGSIZE;
	if (pj->len + len > pj->cap) {
		size_t cap = pj->cap * 2 > pj->len + len ? pj->cap * 2 :
							   pj->len + len + 4096;
		char *nb = realloc(pj->buf, cap);

		if (!nb)
			return pj->err = -ENOMEM;
		pj->buf = nb;
		pj->cap = cap;
	}
	memcpy(pj->buf + pj->len, data, len);
	pj->len += len;
	return 0;
}

void pj_msg_free(struct pj_msg *m)
{
	json_object_put(m->obj);
	free(m->error);
	free(m->tmpl);
	free(m->id);
	memset(m, 0, sizeof(*m));
}

/* ---- parser (json-parser.c) -------------------------------------------- */

struct parser {
	const struct proxy_json *pj;
	size_t i; /* next token */
	char *err; /* the first error wins, as in QEMU */
	bool oom;
	size_t id_tok,
		id_end; /* top-level "id" value: tokens [id_tok, id_end) */
};

static void perr(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void perr(struct parser *p, const char *fmt, ...)
{
	char msg[1024]; /* QEMU's size: a long keyword is cut the same */
	va_list ap;

	if (p->err)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (asprintf(&p->err, "JSON parse error, %s", msg) < 0) {
		p->err = NULL;
		p->oom = true;
	}
}

static const struct pj_token *peek(const struct parser *p)
{
	return p->i < p->pj->ntok ? &p->pj->toks[p->i] : NULL;
}

static const struct pj_token *pop(struct parser *p)
{
	return p->i < p->pj->ntok ? &p->pj->toks[p->i++] : NULL;
}

static const char *tok_text(const struct parser *p, const struct pj_token *t)
{
	return p->pj->buf + t->start;
}

static int hex4(const char *s, size_t n)
{
	int cp = 0;

	if (n < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = s[i];

		cp <<= 4;
		if (c >= '0' && c <= '9')
			cp |= c - '0';
		else if (c >= 'a' && c <= 'f')
			cp |= 10 + c - 'a';
		else if (c >= 'A' && c <= 'F')
			cp |= 10 + c - 'A';
		else
			return -1;
	}
	return cp;
}

static char simple_escape(char c)
{
	static const char from[] = "\"'\\/bfnrt", to[] = "\"'\\/\b\f\n\r\t";
	const char *f = c ? strchr(from, c) : NULL;

	return f ? to[f - from] : 0;
}

/* One \u escape at s[*i] (just past the 'u'); the code point or -1. */
static long unicode_escape(const char *s, size_t end, size_t *i)
{
	long cp = hex4(s + *i, end - *i);

	*i += 4;
	if (cp >= 0xD800 && cp <= 0xDBFF && *i + 1 < end && s[*i] == '\\' &&
	    s[*i + 1] == 'u') {
		long tr = hex4(s + *i + 2, end - *i - 2);

		cp = 0x10000 + ((cp & 0x3FF) << 10);
		if (tr >= 0xDC00 && tr <= 0xDFFF) {
			cp |= tr & 0x3FF;
			*i += 6;
		} else {
			cp = -1;
		}
	}
	return cp;
}

/* parse_string(): the token's text (quotes included) decoded. */
static struct json_object *parse_string(struct parser *p,
					const struct pj_token *t)
{
	const char *s = tok_text(p, t);
	size_t end = t->end - t->start - 1, i = 1, used;
	struct sbuf b = { 0 };
	struct json_object *o;
	char u8[4];

	pj__sb_add(&b, "", 0);
	while (i < end) {
		long cp;

		if (s[i] == '\\') {
			size_t beg = i++;
			char c = s[i++], e = simple_escape(c);

			if (e) {
				pj__sb_add(&b, &e, 1);
				continue;
			}
			if (c != 'u') {
				perr(p, "invalid escape sequence in string");
				goto fail;
			}
			cp = unicode_escape(s, end, &i);
			if (pj__mod_utf8_put(u8, cp) < 0) {
				int n = (int)((i < end + 1 ? i : end + 1) -
					      beg);

				perr(p, "%.*s is not a valid Unicode character",
				     n, s + beg);
				goto fail;
			}
			pj__sb_add(&b, u8, (size_t)pj__mod_utf8_put(u8, cp));
			continue;
		}
		cp = pj__mod_utf8_cp((const unsigned char *)s + i, end - i,
				     &used);
		if (cp < 0) {
			perr(p, "invalid UTF-8 sequence in string");
			goto fail;
		}
		i += used;
		pj__sb_add(&b, u8, (size_t)pj__mod_utf8_put(u8, cp));
	}
	if (b.oom)
		goto fail;
	o = json_object_new_string_len(b.s, (int)b.len);
	free(b.s);
	p->oom |= !o;
	return o;
fail:
	free(b.s);
	p->oom |= b.oom;
	return NULL;
}

/* JSON_INTEGER as int64, else uint64, else double; JSON_FLOAT as double.
 * A double keeps its text, to be written back if it is not finite. */
static struct json_object *parse_number(struct parser *p,
					const struct pj_token *t)
{
	char text[512];
	struct json_object *o = NULL;
	char *end;

	if (t->end - t->start >= sizeof(text)) {
		/* A number that long is a double (or not finite). */
		char *big = strndup(tok_text(p, t), t->end - t->start);

		if (big)
			o = json_object_new_double_s(strtod(big, NULL), big);
		free(big);
		p->oom |= !o;
		return o;
	}
	memcpy(text, tok_text(p, t), t->end - t->start);
	text[t->end - t->start] = '\0';
	if (t->type == T_INTEGER) {
		errno = 0;
		long long v = strtoll(text, &end, 10);

		if (!errno)
			o = json_object_new_int64(v);
		else if (text[0] != '-') {
			errno = 0;
			unsigned long long u = strtoull(text, &end, 10);

			if (!errno)
				o = json_object_new_uint64(u);
		}
		if (o)
			return o;
	}
	o = json_object_new_double_s(strtod(text, NULL), text);
	p->oom |= !o;
	return o;
}

static int parse_value(struct parser *p, int depth, struct json_object **ret);

static int parse_pair(struct parser *p, struct json_object *dict, int depth)
{
	struct json_object *key = NULL, *val = NULL;
	const struct pj_token *t;
	size_t vtok;

	if (!peek(p)) {
		perr(p, "premature EOI");
		return -1;
	}
	if (parse_value(p, depth + 1, &key) < 0 ||
	    !json_object_is_type(key, json_type_string)) {
		perr(p, "key is not a string in object");
		goto fail;
	}
	t = pop(p);
	if (!t) {
		perr(p, "premature EOI");
		goto fail;
	}
	if (t->type != T_COLON) {
		perr(p, "missing : in object pair");
		goto fail;
	}
	vtok = p->i;
	if (parse_value(p, depth + 1, &val) < 0) {
		perr(p, "Missing value in dict");
		goto fail;
	}
	if (json_object_object_get_ex(dict, json_object_get_string(key),
				      NULL)) {
		perr(p, "duplicate key");
		goto fail;
	}
	if (!depth && !strcmp(json_object_get_string(key), "id")) {
		p->id_tok = vtok;
		p->id_end = p->i;
	}
	if (json_object_object_add(dict, json_object_get_string(key), val)) {
		p->oom = true;
		goto fail;
	}
	json_object_put(key);
	return 0;
fail:
	json_object_put(key);
	json_object_put(val);
	return -1;
}

/* An object or array after its opening token; close is its end. */
static int parse_members(struct parser *p, struct json_object *c, int depth,
			 bool dict)
{
	const struct pj_token *t;
	uint8_t close = dict ? T_RCURLY : T_RSQUARE;

	t = peek(p);
	if (!t) {
		perr(p, "premature EOI");
		return -1;
	}
	if (t->type == close) {
		pop(p);
		return 0;
	}
	for (bool first = true;; first = false) {
		struct json_object *v = NULL;

		if (!first && t->type != T_COMMA) {
			perr(p, dict ? "expected separator in dict" :
				       "expected separator in list");
			return -1;
		}
		if (dict) {
			if (parse_pair(p, c, depth) < 0)
				return -1;
		} else if (parse_value(p, depth + 1, &v) < 0) {
			perr(p, "expecting value");
			return -1;
		} else if (json_object_array_add(c, v)) {
			json_object_put(v);
			p->oom = true;
			return -1;
		}
		t = pop(p);
		if (!t) {
			perr(p, "premature EOI");
			return -1;
		}
		if (t->type == close)
			return 0;
	}
}

static int parse_keyword(struct parser *p, const struct pj_token *t,
			 struct json_object **ret)
{
	int n = (int)(t->end - t->start);
	const char *s = tok_text(p, t);

	if (n == 4 && !memcmp(s, "true", 4))
		*ret = json_object_new_boolean(1);
	else if (n == 5 && !memcmp(s, "false", 5))
		*ret = json_object_new_boolean(0);
	else if (n == 4 && !memcmp(s, "null", 4))
		return 0; /* json-c's null is NULL */
	else {
		perr(p, "invalid keyword '%.*s'", n, s);
		return -1;
	}
	p->oom |= !*ret;
	return *ret ? 0 : -1;
}

static int parse_value(struct parser *p, int depth, struct json_object **ret)
{
	const struct pj_token *t = peek(p);
	struct json_object *c;
	bool dict;

	*ret = NULL;
	if (!t) {
		perr(p, "premature EOI");
		return -1;
	}
	switch (t->type) {
	case T_LCURLY:
	case T_LSQUARE:
		pop(p);
		dict = t->type == T_LCURLY;
		c = dict ? json_object_new_object() : json_object_new_array();
		if (!c || parse_members(p, c, depth, dict) < 0) {
			p->oom |= !c;
			json_object_put(c);
			return -1;
		}
		*ret = c;
		return 0;
	case T_STRING:
		*ret = parse_string(p, pop(p));
		return *ret ? 0 : -1;
	case T_INTEGER:
	case T_FLOAT:
		*ret = parse_number(p, pop(p));
		return *ret ? 0 : -1;
	case T_KEYWORD:
		return parse_keyword(p, pop(p), ret);
	default:
		perr(p, "expecting value");
		return -1;
	}
}

/* ---- streamer (json-streamer.c) ---------------------------------------- */

static void reset_message(struct proxy_json *pj)
{
	pj->ntok = 0;
	pj->braces = pj->brackets = 0;
}

static int error_msg(struct pj_msg *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int error_msg(struct pj_msg *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&m->error, fmt, ap);
	va_end(ap);
	if (n < 0) {
		m->error = NULL;
		return -ENOMEM;
	}
	m->kind = PJ_ERROR;
	return 1;
}

/* The request to send on: its text with the "id" member's value taken
 * out (a slot left for ours), or one added before the closing brace. */
static int make_template(const struct proxy_json *pj, const struct parser *p,
			 struct pj_msg *m)
{
	const struct pj_token *first = &pj->toks[0],
			      *last = &pj->toks[pj->ntok - 1];
	const char *raw = pj->buf + first->start;
	size_t len = last->end - first->start, cut, resume;
	const char *add = "";

	if (p->id_end) {
		cut = pj->toks[p->id_tok].start - first->start;
		resume = pj->toks[p->id_end - 1].end - first->start;
	} else {
		cut = resume = last->start - first->start;
		add = pj->ntok > 2 ? ", \"id\": " : "\"id\": ";
	}
	m->tmpl_len = cut + strlen(add) + (len - resume);
	m->tmpl = malloc(m->tmpl_len + 1);
	if (!m->tmpl)
		return -ENOMEM;
	memcpy(m->tmpl, raw, cut);
	memcpy(m->tmpl + cut, add, strlen(add));
	m->slot = cut + strlen(add);
	memcpy(m->tmpl + m->slot, raw + resume, len - resume);
	m->tmpl[m->tmpl_len] = '\0';
	return 0;
}

static int finish_value(struct proxy_json *pj, struct parser *p,
			struct pj_msg *m)
{
	struct json_object *id;
	struct sbuf b = { 0 };

	if (!json_object_is_type(m->obj, json_type_object))
		return 1;
	if (make_template(pj, p, m))
		return -ENOMEM;
	if (!json_object_object_get_ex(m->obj, "id", &id))
		return 1;
	pj__write_value(&b, id);
	m->id = pj__sb_take(&b);
	return m->id ? 1 : -ENOMEM;
}

/* The gathered tokens are one message: parse it. */
static int parse_message(struct proxy_json *pj, struct pj_msg *m)
{
	struct parser p = { .pj = pj };
	int r;

	if (parse_value(&p, 0, &m->obj) == 0) {
		m->kind = PJ_VALUE;
		r = p.oom ? -ENOMEM : finish_value(pj, &p, m);
	} else {
		m->kind = PJ_ERROR;
		m->error = p.err;
		p.err = NULL;
		r = p.oom || !m->error ? -ENOMEM : 1;
	}
	free(p.err);
	reset_message(pj);
	return r;
}

/* json_message_process_token(): 1 when a message (or error) is ready. */
static int add_token(struct proxy_json *pj, uint8_t type, size_t start,
		     size_t end, struct pj_msg *m)
{
	pj->braces += (type == T_LCURLY) - (type == T_RCURLY);
	pj->brackets += (type == T_LSQUARE) - (type == T_RSQUARE);
	if (pj->braces + pj->brackets > MAX_NESTING) {
		reset_message(pj);
		return error_msg(m, "JSON nesting depth limit exceeded");
	}
	if (pj->ntok == pj->tokcap) {
		size_t cap = pj->tokcap ? pj->tokcap * 2 : 64;
		struct pj_token *nt = realloc(pj->toks, cap * sizeof(*nt));

		if (!nt)
			return -ENOMEM;
		pj->toks = nt;
		pj->tokcap = cap;
	}
	pj->toks[pj->ntok++] = (struct pj_token){ type, start, end };
	if ((pj->braces > 0 || pj->brackets > 0) && pj->braces >= 0 &&
	    pj->brackets >= 0)
		return 0;
	return parse_message(pj, m);
}

/* One lexer transition on buf[pos]. */
static int lex_step(struct proxy_json *pj, struct pj_msg *m)
{
	unsigned char c = (unsigned char)pj->buf[pj->pos];
	uint8_t next = lex_next(pj->state, c);
	int r = 0;

	if (!(next & LA))
		pj->pos++;
	next &= (uint8_t)~LA;
	if (next >= T_LCURLY) {
		r = add_token(pj, next, pj->tok_start, pj->pos, m);
		next = S_START;
	} else if (next == S_ERROR) {
		/* The token's text as a C string: up to a NUL in it. */
		size_t n = strnlen(pj->buf + pj->tok_start,
				   pj->pos - pj->tok_start);

		reset_message(pj);
		r = error_msg(m, "JSON parse error, stray '%.*s'", (int)n,
			      pj->buf + pj->tok_start);
		next = S_RECOVERY;
	}
	if (next == S_START || next == S_RECOVERY)
		pj->tok_start = pj->pos;
	pj->state = next;
	return r;
}

int pj_next(struct proxy_json *pj, struct pj_msg *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (pj->err)
		return pj->err;
	while (pj->pos < pj->len) {
		int r = lex_step(pj, ret);

		if (r < 0) {
			pj_msg_free(ret);
			return pj->err = r;
		}
		if (r > 0) {
			ret->end = pj->dropped + pj->pos;
			return 1;
		}
	}
	return 0;
}
