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

#include "guardpage.h"
#include "harness.h"
#include "qvmi.h"
#include "os/linux/linux.h"
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

static const struct qvmi_test bounds_text_tests[] = {
	{ "qmp_stream_pending", qmp_stream_pending },
	{ "qmp_stream_value_too_long", qmp_stream_value_too_long },
	{ "jsonobj_bounds", jsonobj_bounds },
	{ "map_text_bounds", map_text_bounds },
};

QVMI_SUITE(bounds_text, bounds_text_tests);
