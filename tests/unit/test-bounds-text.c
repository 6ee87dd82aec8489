// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Bounds checks of the text parsers (QMP's JSON stream, the HMP and
 * gdb remote protocol parsers, ISF, kallsyms text) that no other test
 * reached: scripts/mutate-bounds showed every suite green with each of
 * them deleted (tests/mutate/bounds.list).  Each input breaks one bound,
 * and the test asserts the specific answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fakeqmp.h"
#include "guardpage.h"
#include "ksyms-build.h"
#include "harness.h"
#include "qvmi.h"
#include "os/linux/linux.h"
#include "testdata.h"
#include "proto/hmp.h"
#include "proto/jsonobj.h"
#include "proto/qmp.h"

/* ---- QMP: the JSON stream ------------------------------------------------ */

/* "[1,1,1,...": an array that is still open after n bytes */
static void open_array(char *b, size_t n)
{
	b[0] = '[';
	for (size_t i = 1; i < n; i++)
		b[i] = i & 1 ? '1' : ',';
}

/* More than max_msg bytes pending, though each feed is smaller. */
static void qmp_stream_pending(void)
{
	struct qvmi_json_stream js;
	char b[60];

	open_array(b, sizeof(b));
	CHECK_OK(qvmi__json_stream_init(&js, 100));
	CHECK_OK(qvmi__json_stream_feed(&js, b, sizeof(b)));
	CHECK_INT(qvmi__json_stream_feed(&js, b + 1, sizeof(b) - 1), ==,
		  -EMSGSIZE);
	qvmi__json_stream_deinit(&js);
}

/* One value longer than max_msg, fed in pieces that each fit: refused
 * whether it ends in the second piece (149 bytes) or never does. */
static void qmp_stream_value_too_long(void)
{
	struct qvmi_json_stream js;
	struct json_object *o = NULL;
	char b[90], more[91];

	open_array(b, sizeof(b)); /* "[1,1,...,1" */
	for (size_t i = 0; i < sizeof(more); i++)
		more[i] = i & 1 ? '1' : ','; /* ",1,1,..." */
	for (int end = 0; end < 2; end++) {
		CHECK_OK(qvmi__json_stream_init(&js, 100));
		CHECK_OK(qvmi__json_stream_feed(&js, b, sizeof(b)));
		CHECK_INT(qvmi__json_stream_next(&js, &o), ==, 0);
		if (end) {
			more[58] = ']';
			CHECK_OK(qvmi__json_stream_feed(&js, more, 59));
		} else {
			CHECK_OK(qvmi__json_stream_feed(&js, more, 90));
		}
		CHECK_INT(qvmi__json_stream_next(&js, &o), ==, -EMSGSIZE);
		CHECK(!o);
		CHECK_INT(qvmi__json_stream_next(&js, &o), ==, -EMSGSIZE);
		json_object_put(o);
		o = NULL;
		qvmi__json_stream_deinit(&js);
	}
}

/* ---- the proxy's JSON member scanner (jsonobj.c) ------------------------- */

static void jsonobj_bounds(void)
{
	struct qvmi_jsonobj_member m;
	struct qvmi_guarded g;
	size_t n = 4200;
	char *big = malloc(n + 32);

	/* a key with an escape, longer than the decoder takes: not "id" */
	CHECK(big);
	n = (size_t)snprintf(big, 32, "{\"\\u0069d");
	memset(big + n, 'x', 4200 - n);
	n = 4200;
	n += (size_t)snprintf(big + n, 32, "\": 1}");
	CHECK_INT(qvmi__jsonobj_get(big, n, "id", &m), ==, 0);
	memcpy(big, "{\"\\u0069d\": 1}", 14);
	CHECK_INT(qvmi__jsonobj_get(big, 14, "id", &m), ==, 1);
	free(big);
	/* a member whose value would start past the end */
	CHECK(qvmi_guarded_new(&g, "{\"a\":", 5));
	CHECK_INT(qvmi__jsonobj_get((const char *)g.p, 5, "a", &m), ==,
		  -EBADMSG);
	qvmi_guarded_free(&g);
}

/* ---- System.map text ----------------------------------------------------- */

static int map_parse(const char *text, size_t len, size_t *n)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_ksyms s;
	int err;

	CHECK_OK(qvmi_ctx_create(&ctx));
	err = qvmi__ksyms_parse_map(ctx, text, len, &s);
	*n = err ? 0 : s.n;
	if (!err)
		qvmi__ksyms_free(&s);
	qvmi_ctx_destroy(ctx);
	return err;
}

static void map_text_bounds(void)
{
	static const char ok[] = "ffffffff81000000 T _text\n";
	struct qvmi_guarded g;
	size_t n, got, big = 2000001 * 6 + sizeof(ok);
	char *b = malloc(big);

	CHECK(b);
	/* 17 hex digits: would wrap into a 64-bit address */
	snprintf(b, big, "%s10000000000000000 T wrapped\n", ok);
	CHECK_INT(map_parse(b, strlen(b), &n), ==, -EBADMSG);
	/* a line that ends after the type letter, at the end of the text */
	CHECK(qvmi_guarded_new(&g, "ffffffff81000000 T _text\nffff T",
			       strlen(ok) + 6));
	CHECK_INT(map_parse((const char *)g.p, strlen(ok) + 6, &n), ==,
		  -EBADMSG);
	qvmi_guarded_free(&g);
	/* a name of 1024 bytes, then 1025 */
	for (int k = 1024; k <= 1025; k++) {
		int m = snprintf(b, big, "%sffffffff81000010 T ", ok);

		memset(b + m, 'n', (size_t)k);
		b[m + k] = '\n';
		CHECK_INT(map_parse(b, (size_t)(m + k + 1), &n), ==,
			  k == 1024 ? 0 : -EBADMSG);
	}
	/* a good line padded past 4096 bytes */
	n = (size_t)snprintf(b, big, "%s", ok);
	memset(b + n - 1, ' ', 5000);
	b[n - 1 + 5000] = '\n';
	CHECK_INT(map_parse(b, n + 5000, &n), ==, -EBADMSG);
	/* _text and 2,000,000 more: one more than a table holds */
	n = (size_t)snprintf(b, big, "%s", ok);
	for (int i = 0; i < 2000000; i++, n += 6)
		memcpy(b + n, "1 T a\n", 6);
	CHECK_INT(map_parse(b, n, &got), ==, -EBADMSG);
	CHECK_INT(map_parse(b, n - 6, &got), ==, 0);
	CHECK_INT(got, ==, 2000000);
	free(b);
}

/* ---- HMP text ------------------------------------------------------------ */

static void hmp_gpa2hva_bounds(void)
{
	struct qvmi_guarded g;
	uint64_t v = 0;

	CHECK_OK(qvmi__hmp_parse_gpa2hva("Host virtual address for 0x1000 "
					 "(pc.ram) is 0x7f0000001000\n",
					 &v));
	CHECK_U64(v, ==, 0x7f0000001000ull);
	/* 17 hex digits would wrap */
	CHECK_INT(qvmi__hmp_parse_gpa2hva("Host virtual address for 0x1000 "
					  "(pc.ram) is 0x10000000000000000\n",
					  &v),
		  ==, -EBADMSG);
	/* shorter than the literal it is compared with, at a page end */
	CHECK(qvmi_guarded_new(&g, "Host vir", 9)); /* with its NUL */
	CHECK_INT(qvmi__hmp_parse_gpa2hva((const char *)g.p, &v), ==, -EBADMSG);
	qvmi_guarded_free(&g);
}

/* One flat view of "memory" holding the given range lines. */
static int mtree_of(const char *ranges, struct qvmi_mtree_range **r, size_t *n)
{
	size_t cap = strlen(ranges) + 200;
	char *t = malloc(cap);
	int err;

	CHECK(t);
	snprintf(t, cap,
		 "FlatView #0\n AS \"memory\", root: system\n"
		 " Root memory region: system\n%s\n",
		 ranges);
	err = qvmi__hmp_parse_mtree(t, r, n);
	free(t);
	return err;
}

static void hmp_mtree_bounds(void)
{
	struct qvmi_mtree_range *r = NULL;
	size_t n = 0, cap = 65537 * 64;
	char *big = malloc(cap), line[200];
	size_t len = 0;

	CHECK(big);
	/* a region named like an accelerator suffix is not cut */
	CHECK_OK(mtree_of("  0000000000000000-0000000000000fff (prio 0, ram): "
			  "TCG",
			  &r, &n));
	CHECK_INT(n, ==, 1);
	CHECK_STR(r[0].name, "TCG");
	free(r);
	/* a name longer than the field: cut, nothing after it touched */
	memset(line, 'n', 100);
	line[100] = '\0';
	snprintf(big, cap,
		 "  0000000000000000-0000000000000fff (prio 7, ram): %s "
		 "@0000000000001000",
		 line);
	CHECK_OK(mtree_of(big, &r, &n));
	CHECK_INT(strlen(r[0].name), ==, sizeof(r[0].name) - 1);
	CHECK_U64(r[0].offset, ==, 0x1000);
	CHECK_INT(r[0].prio, ==, 7);
	free(r);
	/* a priority past 2^30 */
	CHECK_INT(mtree_of("  0000000000000000-0000000000000fff (prio "
			   "1073741825, ram): ram0",
			   &r, &n),
		  ==, -EBADMSG);
	/* 65536 ranges, then 65537 */
	for (size_t i = 0; i < 65537; i++)
		len += (size_t)snprintf(big + len, cap - len,
					"  %016zx-%016zx (prio 0, ram): r\n",
					i << 12, (i << 12) | 0xfff);
	big[len - 1] = '\0';
	CHECK_INT(mtree_of(big, &r, &n), ==, -EBADMSG);
	big[len - 1 -
	    strlen("  0000000010000000-0000000010000fff (prio 0, "
		   "ram): r\n")] = '\0';
	CHECK_OK(mtree_of(big, &r, &n));
	CHECK_INT(n, ==, 65536);
	free(r);
	free(big);
}

/* "info registers -a" of 2 vCPUs into room for 1: the second counted,
 * not written past the array. */
static void hmp_registers_bounds(void)
{
	char *t = qvmi_test_data("hmp/regs-a-pc-smp2.txt", NULL);
	struct qvmi_guarded g;
	size_t n = 0;

	CHECK(t);
	CHECK(qvmi_guarded_new(&g, NULL, sizeof(struct qvmi_regs_x86)));
	CHECK_OK(qvmi__hmp_parse_registers(
		t, (struct qvmi_regs_x86 *)(void *)g.p, 1, &n));
	CHECK_INT(n, ==, 2);
	qvmi_guarded_free(&g);
	free(t);
}

/* A greeting's version numbers: each 0..9999 (they make the version
 * string, and no QEMU has more digits). */
static void qmp_greeting_version(void)
{
	static const char *const bad[] = { "10000", "-1" };
	char text[256];

	for (size_t i = 0; i < 2; i++) {
		struct fq_step script[] = { { FQ_SEND, text },
					    { FQ_WAIT_EOF },
					    { FQ_END } };
		struct qvmi_ctx *ctx = NULL;
		struct qvmi_qmp *q = NULL;
		struct fakeqmp *f;
		char msg[256];
		int fd;

		snprintf(text, sizeof(text),
			 "{\"QMP\": {\"version\": {\"qemu\": {\"major\": %s, "
			 "\"minor\": 2, \"micro\": 0}, \"package\": \"\"}, "
			 "\"capabilities\": []}}\r\n",
			 bad[i]);
		CHECK_OK(qvmi_ctx_create(&ctx));
		f = fakeqmp_start(script, NULL, NULL, &fd);
		CHECK_INT(qvmi__qmp_open_fd(ctx, fd, 1000, &q), ==, -EPROTO);
		CHECK(strstr(qvmi_errmsg(ctx), "bad version"));
		CHECK_MSG(fakeqmp_finish(f, msg, sizeof(msg)) == 0, "peer: %s",
			  msg);
		qvmi_ctx_destroy(ctx);
	}
}

/* ---- kallsyms tables in memory -------------------------------------------- */

#define KS_KVA 0xffffffff81000000ull

static char ks_names[64][24];

/* Tables (6.4 layout, 4-byte markers) for 64 symbols at at; their layout. */
static size_t ks_build(uint8_t *buf, size_t cap, size_t at, struct kb_layout *l)
{
	struct kb_sym syms[70];
	struct kb_opts o = { KB_NEW, 4, 0, 1, 0 };
	size_t n = 0;

	syms[n++] = (struct kb_sym){ 0x2000, 'A', "cpu_tss_rw" };
	syms[n++] = (struct kb_sym){ KS_KVA, 'T', "_text" };
	syms[n++] = (struct kb_sym){ KS_KVA + 0x10, 'T', "sym_0123456789" };
	for (int i = 0; i < 60; i++) {
		snprintf(ks_names[i], sizeof(ks_names[i]), "function_%d_x", i);
		syms[n++] =
			(struct kb_sym){ KS_KVA + 0x1000 + 0x40 * (uint64_t)i,
					 'T', ks_names[i] };
	}
	syms[n++] = (struct kb_sym){ KS_KVA + 0x300000, 'B', "_end" };
	CHECK_OK(kb_build(buf, cap, at, syms, n, &o, l));
	return n;
}

static int ks_parse(const uint8_t *b, size_t len, size_t *nsyms)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_kallsyms_layout lay;
	struct qvmi_ksyms s;
	int err;

	CHECK_OK(qvmi_ctx_create(&ctx));
	err = qvmi__kallsyms_parse(ctx, b, len, &s, &lay);
	*nsyms = err ? 0 : s.n;
	if (!err)
		qvmi__ksyms_free(&s);
	qvmi_ctx_destroy(ctx);
	return err;
}

/* The tables cut short, each cut against a PROT_NONE page: a cut is
 * refused, or (past the last table the decoder needs) decodes whole;
 * none is read past. */
static void kallsyms_cut_everywhere(void)
{
	size_t cap = 64 << 10, at = 256, n, step, got;
	uint8_t *b = calloc(1, cap);
	struct kb_layout l;

	CHECK(b);
	n = ks_build(b, cap, at, &l);
	CHECK_OK(ks_parse(b, l.end + 64, &got));
	CHECK_INT(got, ==, n);
	step = (l.end - at) / 700 + 1;
	for (size_t cut = at; cut < l.end; cut += step) {
		struct qvmi_guarded g;

		CHECK(qvmi_guarded_new(&g, b, cut));
		if (!ks_parse(g.p, cut, &got))
			CHECK_MSG(got == n, "cut at %zu: %zu symbols", cut,
				  got);
		qvmi_guarded_free(&g);
	}
	free(b);
}

/* A symbol name of 1024 bytes decodes; one of 1100 is refused, not
 * expanded past the name buffer. */
static void kallsyms_long_name(void)
{
	static char longn[1101];
	size_t cap = 64 << 10, got;
	uint8_t *b = calloc(1, cap);
	struct kb_opts o = { KB_NEW, 4, 0, 1, 0 };
	struct kb_layout l;

	CHECK(b);
	for (int len = 1024; len <= 1100; len += 76) {
		struct kb_sym syms[4] = {
			{ KS_KVA, 'T', "_text" },
			{ KS_KVA + 0x10, 'T', "sym_0123456789" },
			{ KS_KVA + 0x20, 'T', longn },
			{ KS_KVA + 0x300000, 'B', "_end" },
		};

		memset(longn, 'q', sizeof(longn) - 1);
		longn[len - 1] = '\0'; /* the type letter makes it len */
		memset(b, 0, cap);
		CHECK_OK(kb_build(b, cap, 256, syms, 4, &o, &l));
		CHECK_INT(ks_parse(b, l.end + 64, &got), ==,
			  len == 1024 ? 0 : -EBADMSG);
	}
	free(b);
}

static const struct qvmi_test bounds_text_tests[] = {
	{ "qmp_stream_pending", qmp_stream_pending },
	{ "qmp_stream_value_too_long", qmp_stream_value_too_long },
	{ "qmp_greeting_version", qmp_greeting_version },
	{ "jsonobj_bounds", jsonobj_bounds },
	{ "map_text_bounds", map_text_bounds },
	{ "kallsyms_cut_everywhere", kallsyms_cut_everywhere },
	{ "kallsyms_long_name", kallsyms_long_name },
	{ "hmp_gpa2hva_bounds", hmp_gpa2hva_bounds },
	{ "hmp_mtree_bounds", hmp_mtree_bounds },
	{ "hmp_registers_bounds", hmp_registers_bounds },
};

QVMI_SUITE(bounds_text, bounds_text_tests);
