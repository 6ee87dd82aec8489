// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Bounds checks of the in-memory kallsyms decoder (src/os/linux/kallsyms.c)
 * that no other test reached: scripts/mutate-bounds showed every suite green
 * with each of them deleted (tests/mutate/bounds.list).  The decoder's reads
 * stay inside the buffer it is given, so each input here either puts the
 * read a deleted check would make against a PROT_NONE page (after the
 * buffer, or before it for an offset that wraps), or makes the deleted
 * check change the answer (-ENOMEM instead of -EBADMSG).  The stack
 * overflows of the name expansion are judged under ASan (`| asan`).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guardpage.h"
#include "harness.h"
#include "ksyms-build.h"
#include "qvmi.h"
#include "os/linux/linux.h"

#define KVA 0xffffffff81000000ull

/* Decode b[0..len): the error and its message; *s is freed here. */
static int parse(const uint8_t *b, size_t len, char *msg, size_t msz,
		 struct qvmi_ksyms *keep)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_kallsyms_layout lay;
	struct qvmi_ksyms s;
	int err;

	CHECK_OK(qvmi_ctx_create(&ctx));
	err = qvmi__kallsyms_parse(ctx, b, len, &s, &lay);
	snprintf(msg, msz, "%s", err ? qvmi_errmsg(ctx) : "");
	if (!err && keep)
		*keep = s;
	else if (!err)
		qvmi__ksyms_free(&s);
	qvmi_ctx_destroy(ctx);
	return err;
}

/* ---- a token table running over its own index ------------------------------ */

/* The next value above v whose two bytes are both printable ASCII. */
static uint16_t next_printable(uint16_t v)
{
	do
		v++;
	while ((v & 0xff) < 0x20 || (v & 0xff) > 0x7e || (v >> 8) < 0x20 ||
	       (v >> 8) > 0x7e);
	return v;
}

enum { SP_INDEX = 0x2068 };

/*
 * A token table at 0 whose index, at SP_INDEX, is itself inside the table:
 * token 0x3a ends with the NUL that is the index's first byte, 0x3b is the
 * second (idx[0] is 0), and 0x3c runs over the other 510 bytes, all
 * printable (every idx[c] from 1 on has two printable bytes), to a NUL just
 * after the index; tokens 0x3d..0xfe follow it.  So every token is
 * well-formed and the last one ends at the length returned, past the index:
 * not a token table (the index follows the table).
 */
static size_t spill_table(uint8_t *b, size_t cap)
{
	uint16_t idx[256];
	size_t len;

	idx[0] = 0;
	for (int c = 1; c <= 0x30; c++)
		idx[c] = (uint16_t)(0x2020 + c - 1);
	for (int k = 1; k <= 10; k++) /* "0\0" ... "9\0" at 0x204f */
		idx[0x30 + k] = (uint16_t)(idx[0x30] + 2 * k);
	idx[0x3b] = SP_INDEX + 1;
	idx[0x3c] = SP_INDEX + 2;
	idx[0x3d] = SP_INDEX + 513;
	for (int c = 0x3e; c < 256; c++)
		idx[c] = next_printable(idx[c - 1]);
	len = idx[255];
	CHECK(len <= cap && idx[0x3a] < SP_INDEX);
	memset(b, 0, len);
	for (int c = 0; c < 255; c++)
		memset(b + idx[c], 'a', (size_t)(idx[c + 1] - idx[c] - 1));
	for (int k = 0; k < 10; k++)
		b[idx[0x30 + k]] = (uint8_t)('0' + k);
	memcpy(b + SP_INDEX, idx, sizeof(idx));
	return len;
}

/* Cut right after the index, token 0x3c's NUL is missing: refused without
 * reading on (kb_has of each token).  Whole, the last token ends where the
 * buffer does, past the index: refused without reading the byte after it
 * (end + n >= i). */
static void ksyms_tokens_over_index(void)
{
	uint8_t *b = calloc(1, 0x3000);
	size_t len, cut[2];

	CHECK(b);
	len = spill_table(b, 0x3000);
	cut[0] = SP_INDEX + 512;
	cut[1] = len;
	CHECK(qvmi__kallsyms_tokens_at(b, len + 1, 0x204f) == false);
	for (int i = 0; i < 2; i++) {
		struct qvmi_guarded g;
		char msg[256];

		CHECK(qvmi_guarded_new(&g, b, cut[i]));
		CHECK_INT(parse(g.p, cut[i], msg, sizeof(msg), NULL), ==,
			  -EBADMSG);
		CHECK_MSG(strstr(msg, "no token table"), "cut %zu: %s", cut[i],
			  msg);
		qvmi_guarded_free(&g);
	}
	free(b);
}

/* ---- a token table at the start of the buffer ------------------------------ */

/* len bytes of zeros right after a PROT_NONE page. */
struct front_guarded {
	uint8_t *map, *p;
	size_t maplen;
};

static uint8_t *front_new(struct front_guarded *f, size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	f->maplen = pg + (len + pg - 1) / pg * pg;
	f->map = mmap(NULL, f->maplen, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f->map == MAP_FAILED || mprotect(f->map, pg, PROT_NONE))
		return NULL;
	f->p = f->map + pg;
	return f->p;
}

/* A minimal token table at t (only the digits are not empty); the length
 * of the buffer up to the end of its index. */
static size_t tiny_tokens(uint8_t *b, size_t t)
{
	uint16_t idx[256];
	size_t i;

	for (int c = 0; c < 256; c++)
		idx[c] = (uint16_t)(c < 0x30 ? c :
				    c < 0x3a ? 0x30 + 2 * (c - 0x30) :
					       0x44 + (c - 0x3a));
	for (int k = 0; k < 10; k++)
		b[t + idx[0x30 + k]] = (uint8_t)('0' + k);
	i = (t + idx[255] + 1 + 7) & ~(size_t)7;
	memcpy(b + i, idx, sizeof(idx));
	return i + sizeof(idx);
}

/* Markers sought below a table at offset 0: (0 - 4) wraps, and must not
 * be walked back from (cand_from_markers: mend > len).  Markers [0, 0x100]
 * at 16, right before a table at 24: the last block would start 0x100
 * bytes into names that would begin below the buffer (last + 2 + w >
 * mstart), and num_syms would be read 0x100 bytes before it.  Both decode
 * nothing, and read nothing before the buffer. */
static void ksyms_markers_at_start(void)
{
	for (size_t t = 0; t <= 24; t += 24) {
		struct front_guarded f;
		uint32_t m[2] = { 0, 0x100 };
		size_t len;
		char msg[256];

		CHECK(front_new(&f, 4096));
		if (t)
			memcpy(f.p + 16, m, sizeof(m));
		len = tiny_tokens(f.p, t);
		CHECK(qvmi__kallsyms_tokens_at(f.p, len, t + 0x30));
		CHECK_INT(parse(f.p, len, msg, sizeof(msg), NULL), ==,
			  -EBADMSG);
		CHECK_MSG(strstr(msg, "token table(s), no consistent"),
			  "table at %zu: %s", t, msg);
		munmap(f.map, f.maplen);
	}
}

/* ---- limits that change the answer ------------------------------------------ */

/* num_syms one above QVMI_KSYMS_MAX, with names, markers and addresses
 * that agree: not a kallsyms table here (-EBADMSG), not an allocation
 * the symbol table refuses (-ENOMEM). */
static void ksyms_num_syms_max(void)
{
	size_t n = (size_t)QVMI_KSYMS_MAX + 1, cap = 24 << 20;
	struct kb_sym *sy = malloc(n * sizeof(*sy));
	uint8_t *b = calloc(1, cap);
	struct kb_opts o = { KB_NEW, 4, 0, 0, 0 };
	struct kb_layout l;
	uint32_t num;
	char msg[256];

	CHECK(sy && b);
	for (size_t i = 0; i < n; i++)
		sy[i] = (struct kb_sym){ KVA + 16 * (uint64_t)i, 't', "f" };
	CHECK_OK(kb_build(b, cap, 64, sy, n, &o, &l));
	memcpy(&num, b + l.num_syms, 4);
	CHECK_INT(num, ==, QVMI_KSYMS_MAX + 1);
	CHECK_INT(parse(b, l.end + 64, msg, sizeof(msg), NULL), ==, -EBADMSG);
	CHECK_MSG(strstr(msg, "token table(s), no consistent"), "%s", msg);
	free(sy);
	free(b);
}

/* Names whose tokens would expand to more than QVMI_KSYMS_POOL_MAX bytes
 * (5000 name bytes of a 60000-byte token: 300 MB): refused as a bad table
 * (-EBADMSG), not attempted as an allocation (-ENOMEM). */
static void ksyms_pool_max(void)
{
	static char ztok[60001], zname[1001];
	struct kb_sym sy[7];
	struct kb_opts o = { KB_NEW, 4, 0, 0, 0, 'z', ztok };
	size_t cap = 256 << 10, n = 0;
	uint8_t *b = calloc(1, cap);
	struct kb_layout l;
	char msg[256];

	CHECK(b);
	memset(ztok, 'z', sizeof(ztok) - 1);
	memset(zname, 'z', sizeof(zname) - 1);
	sy[n++] = (struct kb_sym){ KVA, 'T', "_text" };
	for (int i = 0; i < 5; i++)
		sy[n++] = (struct kb_sym){ KVA + 16 * (uint64_t)(i + 1), 't',
					   zname };
	sy[n++] = (struct kb_sym){ KVA + 0x300000, 'B', "_end" };
	CHECK_OK(kb_build(b, cap, 256, sy, n, &o, &l));
	CHECK_INT(parse(b, l.end + 64, msg, sizeof(msg), NULL), ==, -EBADMSG);
	CHECK_MSG(strstr(msg, "no consistent"), "%s", msg);
	free(b);
}

/* ---- name expansion (judged under ASan) ------------------------------------- */

/* A table of _text, name (type t) and _end; token 255 is tok255 if set. */
static int one_name(const char *name, const char *tok255,
		    struct qvmi_ksyms *keep)
{
	struct kb_sym sy[3] = { { KVA, 'T', "_text" },
				{ KVA + 0x40, 't', name },
				{ KVA + 0x300000, 'B', "_end" } };
	struct kb_opts o = { KB_NEW, 4, 0, 0, 0, 255, tok255 };
	size_t cap = 64 << 10;
	uint8_t *b = calloc(1, cap);
	struct kb_layout l;
	char msg[256];
	int err;

	CHECK(b);
	CHECK_OK(kb_build(b, cap, 256, sy, 3, &o, &l));
	err = parse(b, l.end + 64, msg, sizeof(msg), keep);
	free(b);
	return err;
}

/* A 40-byte token decodes whole (the fast-copy table keeps only 16 bytes
 * of each token, and must not be written past). */
static void ksyms_long_token(void)
{
	static char w40[41], name[43];
	struct qvmi_ksyms s;
	const struct qvmi_ksym *k;

	memset(w40, 'w', 40);
	snprintf(name, sizeof(name), "x_%s", w40);
	CHECK_OK(one_name(name, w40, &s));
	CHECK_INT(s.n, ==, 3);
	k = qvmi__ksyms_find(&s, name);
	CHECK(k);
	CHECK_U64(k->addr, ==, KVA + 0x40);
	CHECK_INT(k->type, ==, 't');
	qvmi__ksyms_free(&s);
}

/* 1023 one-character tokens (1024 with the type) decode; 1098 are refused
 * at the 1025th, before it is copied past the name buffer. */
static void ksyms_name_short_tokens(void)
{
	static char y[1099];
	struct qvmi_ksyms s;

	memset(y, 'y', 1023);
	CHECK_OK(one_name(y, NULL, &s));
	CHECK(qvmi__ksyms_find(&s, y));
	qvmi__ksyms_free(&s);
	memset(y, 'y', 1098);
	CHECK_INT(one_name(y, NULL, NULL), ==, -EBADMSG);
}

/* 20 characters then 26 tokens of 40: the 26th would end at 1061, past
 * the name buffer's slack: refused before it is copied. */
static void ksyms_name_long_tokens(void)
{
	static char w40[41], name[1061];

	memset(w40, 'w', 40);
	memset(name, 'k', 20);
	memset(name + 20, 'w', 1040);
	CHECK_INT(one_name(name, w40, NULL), ==, -EBADMSG);
	name[20 + 25 * 40] = '\0'; /* 1021 with the type: decodes */
	CHECK_OK(one_name(name, w40, NULL));
}

static const struct qvmi_test bounds_ksyms_tests[] = {
	{ "tokens_over_index", ksyms_tokens_over_index },
	{ "markers_at_start", ksyms_markers_at_start },
	{ "num_syms_max", ksyms_num_syms_max },
	{ "pool_max", ksyms_pool_max },
	{ "long_token", ksyms_long_token },
	{ "name_short_tokens", ksyms_name_short_tokens },
	{ "name_long_tokens", ksyms_name_long_tokens },
};

QVMI_SUITE(bounds_ksyms, bounds_ksyms_tests);
