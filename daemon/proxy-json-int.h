/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by proxy-json.c (the reader) and proxy-json-write.c (Unicode and
 * QEMU 7.2's way of writing JSON). */
#ifndef QVMID_PROXY_JSON_INT_H
#define QVMID_PROXY_JSON_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "proxy-json.h"

/* A growable string; oom is sticky, every add is then a no-op. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

void pj__sb_add(struct sbuf *b, const char *s, size_t n);
void pj__sb_str(struct sbuf *b, const char *s);
/* The string (caller frees), or NULL if memory ran out. */
char *pj__sb_take(struct sbuf *b);

/* util/unicode.c mod_utf8_codepoint(): the code point at s (at most n
 * bytes) or -1; *used its length as QEMU counts it. */
long pj__mod_utf8_cp(const unsigned char *s, size_t n, size_t *used);
/* mod_utf8_encode(): bytes written to out (4), -1 if cp is invalid. */
int pj__mod_utf8_put(char *out, long cp);
/* json-writer.c quoted_str() of s (up to len bytes or a NUL). */
void pj__quote_into(struct sbuf *b, const char *s, size_t len);
/* qobject_to_json() of a value the reader made. */
void pj__write_value(struct sbuf *b, struct json_object *o);

#endif
