// SPDX-License-Identifier: LGPL-2.1-or-later
/* kallsyms tables built in C, in every layout, decoded; corrupt variants. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "harness.h"
#include "ksyms-build.h"
#include "qvmi.h"
#include "os/linux/linux.h"

enum { NFN = 700, NSYMS_MAX = NFN + 16, BUF = 1 << 20, AT = 0x3000 };

#define KVA 0xffffffff8a000000ull

static struct kb_sym syms[NSYMS_MAX];
static char fn_names[NFN][16];
static char long_name[200];

/* percpu: include the absolute-percpu symbols at small addresses */
static size_t make_syms(int percpu)
{
	size_t n = 0;

	if (percpu) {
		syms[n++] = (struct kb_sym){ 0, 'A', "fixed_percpu_data" };
		syms[n++] = (struct kb_sym){ 0x1000, 'A', "cpu_tss_rw" };
	}
	syms[n++] = (struct kb_sym){ KVA, 'T', "_text" };
	syms[n++] = (struct kb_sym){ KVA, 'T', "startup_64" };
	syms[n++] = (struct kb_sym){ KVA + 0x100, 'T', "sym_0123456789" };
	for (int i = 0; i < NFN; i++) {
		snprintf(fn_names[i], sizeof(fn_names[i]), "fn_%04d", i);
		syms[n++] = (struct kb_sym){ KVA + 0x1000 + 0x40 * (uint64_t)i,
					     i % 3 ? 't' : 'T', fn_names[i] };
	}
	memset(long_name, 'q', sizeof(long_name) - 1);
	memcpy(long_name, "long_", 5); /* > 127 compressed bytes */
	syms[n++] = (struct kb_sym){ KVA + 0x200000, 'T', long_name };
	syms[n++] = (struct kb_sym){ KVA + 0x300000, 'D', "linux_banner" };
	syms[n++] = (struct kb_sym){ KVA + 0x300100, 'D', "phys_base" };
	syms[n++] = (struct kb_sym){ KVA + 0x300108, 'D', "page_offset_base" };
	syms[n++] = (struct kb_sym){ KVA + 0x301000, 'R', "__start_BTF" };
	syms[n++] = (struct kb_sym){ KVA + 0x380000, 'B', "_end" };
	return n;
}

struct built {
	uint8_t *buf;
	size_t n;
	struct kb_layout l;
};

static struct built build(const struct kb_opts *o, int percpu)
{
	struct built b = { calloc(1, BUF), make_syms(percpu), { 0 } };

	CHECK(b.buf);
	/* Unrelated bytes before the tables, a UTF-16 digit run among them. */
	for (size_t i = 0; i < AT; i++)
		b.buf[i] = (uint8_t)(i * 13);
	for (int d = 0; d < 10; d++) {
		b.buf[0x800 + 2 * d] = (uint8_t)('0' + d);
		b.buf[0x801 + 2 * d] = 0;
	}
	CHECK_INT(kb_build(b.buf, BUF, AT, syms, b.n, o, &b.l), ==, 0);
	return b;
}

static void check_decoded(const struct qvmi_ksyms *s, size_t n)
{
	const struct qvmi_ksym *k;

	CHECK_INT(s->n, ==, n);
	for (size_t i = 0; i < n; i++) {
		CHECK_U64(s->syms[i].addr, ==, syms[i].addr);
		CHECK_INT(s->syms[i].type, ==, syms[i].type);
		CHECK_STR(qvmi__ksym_name(s, &s->syms[i]), syms[i].name);
	}
	k = qvmi__ksyms_find(s, "fn_0513");
	CHECK(k);
	CHECK_U64(k->addr, ==, KVA + 0x1000 + 0x40 * 513);
	k = qvmi__ksyms_lookup(s, KVA + 0x1000 + 0x40 * 513 + 7);
	CHECK(k);
	CHECK_STR(qvmi__ksym_name(s, k), "fn_0513");
	CHECK(!qvmi__ksyms_find(s, "fn_9999"));
	/* same address: the first in table order wins */
	k = qvmi__ksyms_lookup(s, KVA + 4);
	CHECK_STR(qvmi__ksym_name(s, k), "startup_64");
	CHECK_U64(qvmi__ksyms_find(s, "_text")->addr, ==, KVA);
}

static void decode_case(const struct kb_opts *o, int percpu, int seqs,
			int new_order)
{
	struct built b = build(o, percpu);
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_kallsyms_layout l;
	struct qvmi_ksyms s;

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi__kallsyms_parse(ctx, b.buf, BUF, &s, &l));
	check_decoded(&s, b.n);
	CHECK_U64(l.token_table, ==, b.l.token_table);
	CHECK_U64(l.names, ==, b.l.names);
	CHECK_U64(l.addrs, ==, b.l.addrs);
	CHECK_INT(l.marker_width, ==, o->marker_width);
	CHECK_INT(l.seqs_width, ==, seqs);
	CHECK_INT(l.new_order, ==, new_order);
	CHECK_INT(l.base_relative, ==, !o->absolute);
	CHECK_INT(l.abs_percpu, ==, o->abs_percpu && !o->absolute);
	qvmi__ksyms_free(&s);
	qvmi_ctx_destroy(ctx);
	free(b.buf);
}

/* A 32-bit kernel (Debian 686-pae 6.1): 4-byte relative_base, no padding
 * after num_syms, 4-byte alignment, text symbols only. */
static void test_i386(void)
{
	static const char *const nm[] = { "_text",   "startup_32", "fn_0123",
					  "fn_4567", "fn_89",	   "_etext" };
	struct kb_opts o = { KB_OLD_SEQS, 4, 0, 0, 4 };
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_kallsyms_layout l;
	struct kb_sym s32[6];
	struct kb_layout bl;
	struct qvmi_ksyms s;
	uint8_t *buf = calloc(1, BUF);

	CHECK(buf);
	for (int i = 0; i < 6; i++)
		s32[i] = (struct kb_sym){ 0xd7000000u + (i ? 0x1000u * i : 0),
					  'T', nm[i] };
	s32[1].addr = 0xd7000000u; /* startup_32 == _text */
	/* an odd 4-byte start, so nothing lands 8-aligned by chance */
	CHECK_INT(kb_build(buf, BUF, AT + 4, s32, 6, &o, &bl), ==, 0);
	CHECK(bl.token_table % 8 || bl.num_syms % 8 || bl.names % 8);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi__kallsyms_parse(ctx, buf, BUF, &s, &l));
	CHECK_INT(l.ptr_size, ==, 4);
	CHECK_U64(l.token_table, ==, bl.token_table);
	CHECK_U64(l.names, ==, bl.names);
	CHECK_U64(l.relative_base, ==, 0xd7000000u);
	CHECK_INT(l.seqs_width, ==, 3);
	CHECK_INT(s.n, ==, 6);
	CHECK_U64(qvmi__ksyms_find(&s, "fn_89")->addr, ==, 0xd7004000u);
	CHECK_STR(qvmi__ksym_name(&s, qvmi__ksyms_lookup(&s, 0xd7005001u)),
		  "_etext");
	qvmi__ksyms_free(&s);
	qvmi_ctx_destroy(ctx);
	free(buf);
}

static void test_old_order(void)
{
	struct kb_opts o = { KB_OLD, 4, 0, 1 };

	decode_case(&o, 1, 0, 0);
}

static void test_old_order_seqs(void)
{
	struct kb_opts o = { KB_OLD_SEQS, 4, 0, 1 };

	decode_case(&o, 1, 3, 0);
}

static void test_new_order(void)
{
	struct kb_opts o = { KB_NEW, 4, 0, 1 };

	decode_case(&o, 1, 0, 1);
}

static void test_new_order_unsigned_offsets(void)
{
	struct kb_opts o = { KB_NEW, 4, 0, 0 };

	decode_case(&o, 0, 0, 1);
}

static void test_old_absolute_wide_markers(void)
{
	struct kb_opts o = { KB_OLD, 8, 1, 0 };

	decode_case(&o, 1, 0, 0);
}

/* Each corruption must give -EBADMSG and a message, never a crash. */
static void expect_bad(uint8_t *buf, size_t len, const char *what)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_kallsyms_layout l;
	struct qvmi_ksyms s;
	int rc;

	CHECK_OK(qvmi_ctx_create(&ctx));
	rc = qvmi__kallsyms_parse(ctx, buf, len, &s, &l);
	CHECK_MSG(rc == -EBADMSG, "%s: got %d", what, rc);
	CHECK(qvmi_errmsg(ctx)[0]);
	CHECK_INT(s.n, ==, 0);
	qvmi_ctx_destroy(ctx);
}

static void test_corrupt(void)
{
	struct kb_opts o = { KB_OLD_SEQS, 4, 0, 1 };
	struct built b = build(&o, 1);
	uint8_t *c = malloc(BUF);
	uint32_t v;

	CHECK(c);
	/* token index not increasing */
	memcpy(c, b.buf, BUF);
	c[b.l.token_index + 2 * 0x41] = 0xff;
	expect_bad(c, BUF, "token index");
	/* a token not matching its index (NUL moved) */
	memcpy(c, b.buf, BUF);
	c[b.l.token_table + 1] = 'x';
	expect_bad(c, BUF, "token length");
	/* truncated inside the names */
	expect_bad(b.buf, b.l.names + 100, "truncated names");
	/* huge and zero num_syms */
	memcpy(c, b.buf, BUF);
	v = 0xffffffff;
	memcpy(c + b.l.num_syms, &v, 4);
	expect_bad(c, BUF, "huge num_syms");
	v = 0;
	memcpy(c + b.l.num_syms, &v, 4);
	expect_bad(c, BUF, "zero num_syms");
	/* markers inconsistent */
	memcpy(c, b.buf, BUF);
	memcpy(&v, c + b.l.markers + 4, 4);
	v++;
	memcpy(c + b.l.markers + 4, &v, 4);
	expect_bad(c, BUF, "markers");
	/* a name byte naming an empty token */
	memcpy(c, b.buf, BUF);
	c[b.l.names + 1] = 0x01;
	expect_bad(c, BUF, "empty token");
	/* addresses out of order */
	memcpy(c, b.buf, BUF);
	memcpy(&v, c + b.l.addrs + 4 * 10, 4);
	memcpy(c + b.l.addrs + 4 * 11, &v, 4);
	v -= 0x10000; /* entry 10 moves above entry 11 */
	memcpy(c + b.l.addrs + 4 * 10, &v, 4);
	expect_bad(c, BUF, "unsorted");
	/* nothing at all */
	memset(c, 0, BUF);
	expect_bad(c, BUF, "zeros");
	expect_bad(c, 0, "empty");
	free(c);
	free(b.buf);
}

static void test_system_map(void)
{
	static const char map[] = "0000000000000000 A fixed_percpu_data\n"
				  "ffffffff81000000 T _text\n"
				  "ffffffff81000000 T startup_64\n"
				  "ffffffff81000040 t secondary_startup_64\n"
				  "\n"
				  "ffffffffc0000000 t mod_fn\t[mymod]\n"
				  "ffffffff82000000 D linux_banner";
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_ksyms s;
	const struct qvmi_ksym *k;

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi__ksyms_parse_map(ctx, map, sizeof(map) - 1, &s));
	CHECK_INT(s.n, ==, 5); /* the module line is skipped */
	k = qvmi__ksyms_find(&s, "linux_banner");
	CHECK(k && k->addr == 0xffffffff82000000ull && k->type == 'D');
	k = qvmi__ksyms_lookup(&s, 0xffffffff81000050ull);
	CHECK_STR(qvmi__ksym_name(&s, k), "secondary_startup_64");
	CHECK(!qvmi__ksyms_find(&s, "mod_fn"));
	qvmi__ksyms_free(&s);
	CHECK_INT(qvmi__ksyms_parse_map(ctx, "zz T x\n", 7, &s), ==, -EBADMSG);
	CHECK_INT(qvmi__ksyms_parse_map(ctx, "0000000000000000 T a\n", 21, &s),
		  ==, -EBADMSG); /* kptr_restrict: all zero */
	CHECK(strstr(qvmi_errmsg(ctx), "kptr_restrict"));
	CHECK_INT(qvmi__ksyms_parse_map(ctx, "1234 T\n", 7, &s), ==, -EBADMSG);
	CHECK_INT(qvmi__ksyms_parse_map(ctx, "", 0, &s), ==, -EBADMSG);
	qvmi_ctx_destroy(ctx);
}

/* The name index: every name found, the lowest address of a duplicate
 * name, unsorted input sorted, absent names and an empty table. */
static void test_name_index(void)
{
	struct qvmi_ksyms s = { 0 };
	char name[32];

	/* added in falling address order: finish must sort */
	for (int i = 4999; i >= 0; i--) {
		snprintf(name, sizeof(name), "sym_%d", i);
		CHECK_OK(qvmi__ksyms_add(&s, 0x1000 + 16 * (uint64_t)i, 't',
					 name, strlen(name)));
	}
	CHECK_OK(qvmi__ksyms_add(&s, 0x900, 'd', "sym_77", 6)); /* lower */
	CHECK_OK(qvmi__ksyms_add(&s, 0x99999, 'd', "sym_78", 6)); /* higher */
	CHECK_OK(qvmi__ksyms_finish(&s));
	CHECK_INT(s.n, ==, 5002);
	CHECK_U64(s.syms[0].addr, ==, 0x900);
	for (int i = 0; i < 5000; i++) {
		const struct qvmi_ksym *k;

		snprintf(name, sizeof(name), "sym_%d", i);
		k = qvmi__ksyms_find(&s, name);
		CHECK_MSG(k, "%s not found", name);
		if (!k)
			break;
		CHECK_STR(qvmi__ksym_name(&s, k), name);
		if (i == 77)
			CHECK_U64(k->addr, ==, 0x900);
		else
			CHECK_U64(k->addr, ==, 0x1000 + 16 * (uint64_t)i);
	}
	CHECK(!qvmi__ksyms_find(&s, "sym_5000"));
	CHECK(!qvmi__ksyms_find(&s, ""));
	/* finish again (a table extended later) rebuilds the index */
	CHECK_OK(qvmi__ksyms_add(&s, 0x5, 'T', "late", 4));
	CHECK_OK(qvmi__ksyms_finish(&s));
	CHECK_U64(qvmi__ksyms_find(&s, "late")->addr, ==, 0x5);
	CHECK_U64(qvmi__ksyms_find(&s, "sym_4999")->addr, ==,
		  0x1000 + 16 * 4999);
	qvmi__ksyms_free(&s);

	CHECK_OK(qvmi__ksyms_finish(&s));
	CHECK(!qvmi__ksyms_find(&s, "sym_1"));
	qvmi__ksyms_free(&s);
}

/* The digit run a scan found (kernel.c's try_window) is tried first:
 * with two tables in the buffer the hinted one is decoded, and a hint
 * that is no token table (the UTF-16 run) or no digit run at all falls
 * back to the scan, which finds the first table. */
static void test_parse_at_hint(void)
{
	static const char *const nm[] = { "_text",   "startup_64", "fn_0123",
					  "fn_4567", "fn_89",	   "_etext" };
	struct kb_opts o = { KB_OLD_SEQS, 4, 0, 1 };
	struct built b = build(&o, 1);
	const uint64_t hints[] = { 0x800, 5, UINT64_MAX };
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_kallsyms_layout l;
	struct kb_sym six[6];
	struct kb_layout bl;
	struct qvmi_ksyms s;
	const uint8_t *a;

	for (int i = 0; i < 6; i++)
		six[i] = (struct kb_sym){ KVA + 0x1000u * (uint64_t)i, 'T',
					  nm[i] };
	CHECK_INT(kb_build(b.buf, BUF, BUF / 2, six, 6, &o, &bl), ==, 0);
	a = memmem(b.buf + bl.token_table, BUF - bl.token_table,
		   "0\0001\0002\0003\0004\0005\0006\0007\0008\0009", 20);
	CHECK(a);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi__kallsyms_parse_at(ctx, b.buf, BUF, (uint64_t)(a - b.buf),
					 &s, &l));
	CHECK_INT(s.n, ==, 6);
	CHECK_U64(l.token_table, ==, bl.token_table);
	CHECK_U64(qvmi__ksyms_find(&s, "fn_89")->addr, ==, KVA + 0x4000);
	qvmi__ksyms_free(&s);
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(hints); i++) {
		CHECK_OK(qvmi__kallsyms_parse_at(ctx, b.buf, BUF, hints[i], &s,
						 &l));
		check_decoded(&s, b.n);
		CHECK_U64(l.token_table, ==, b.l.token_table);
		qvmi__ksyms_free(&s);
	}
	qvmi_ctx_destroy(ctx);
	free(b.buf);
}

/* The decoder's large buffers: zeroed, writable end to end, on a 2 MiB
 * boundary where the kernel populates on request (MADV_POPULATE_WRITE,
 * Linux 5.14: what the huge-page path needs). */
static void test_big_alloc(void)
{
	static const size_t sizes[] = { 1,	   4096,    5000,
					300 << 10, 3 << 20, (4 << 20) + 5 };
	uint8_t *probe = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool populate;

	CHECK(probe != MAP_FAILED);
	populate = !madvise(probe, 4096, MADV_POPULATE_WRITE);
	munmap(probe, 4096);
	CHECK(!qvmi__lx_big_alloc(0));
	CHECK(!qvmi__lx_big_alloc(SIZE_MAX - 100));
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(sizes); i++) {
		size_t n = sizes[i];
		uint8_t *p = qvmi__lx_big_alloc(n);
		size_t nz = 0;

		CHECK_MSG(p, "%zu bytes", n);
		if (!p)
			continue;
		for (size_t j = 0; j < n; j += 512)
			nz += p[j] != 0;
		CHECK_INT(nz + (p[n - 1] != 0), ==, 0);
		memset(p, 0xa5, n);
		CHECK_INT(p[0] & p[n - 1], ==, 0xa5);
		if (n >= (300 << 10) && populate)
			CHECK_U64((uintptr_t)p & ((2 << 20) - 1), ==, 0);
		qvmi__lx_big_free(p, n);
	}
	qvmi__lx_big_free(NULL, 10);
}

static const struct qvmi_test kallsyms_tests[] = {
	{ "old_order", test_old_order },
	{ "i386", test_i386 },
	{ "old_order_seqs", test_old_order_seqs },
	{ "new_order", test_new_order },
	{ "new_order_unsigned_offsets", test_new_order_unsigned_offsets },
	{ "old_absolute_wide_markers", test_old_absolute_wide_markers },
	{ "corrupt", test_corrupt },
	{ "system_map", test_system_map },
	{ "name_index", test_name_index },
	{ "parse_at_hint", test_parse_at_hint },
	{ "big_alloc", test_big_alloc },
};
QVMI_SUITE(kallsyms, kallsyms_tests);
