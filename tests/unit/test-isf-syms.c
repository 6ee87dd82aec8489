// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An ISF's "symbols" read by isf-syms.c instead of json-c: every symbol of
 * the two real dwarf2json fixtures answers as json-c reads it
 * (qvmi__isf_load_ex with json_syms, the reference), and the scanner's
 * corner cases: escapes, duplicates, numbers, nesting, and the documents
 * it must leave to json-c (whose verdict then stands).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "harness.h"
#include "qvmi.h"
#include "testdata.h"
#include "os/linux/isf-syms.h"
#include "os/linux/linux.h"

static void same_symbols(const char *fixture)
{
	struct qvmi_isf *fast = NULL, *ref = NULL;
	struct json_object *root, *syms = NULL;
	struct qvmi_ctx *ctx = NULL;
	size_t len = 0, n = 0, found = 0;
	char *text = qvmi_test_data(fixture, &len);

	CHECK(text);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi__isf_load(ctx, text, len, &fast));
	CHECK_OK(qvmi__isf_load_ex(ctx, text, len, true, &ref));
	CHECK_U64(qvmi__isf_nsyms(fast), ==, qvmi__isf_nsyms(ref));
	root = json_tokener_parse(text);
	CHECK(json_object_object_get_ex(root, "symbols", &syms));
	json_object_object_foreach(syms, name, val)
	{
		uint64_t a = 1, b = 2;
		int ea = qvmi__isf_sym(fast, name, &a);
		int eb = qvmi__isf_sym(ref, name, &b);

		(void)val;
		CHECK_MSG(ea == eb && (ea || a == b),
			  "%s: %d 0x%llx vs %d 0x%llx", name, ea,
			  (unsigned long long)a, eb, (unsigned long long)b);
		found += !ea;
		n++;
	}
	CHECK(n > 10 && found > 10);
	json_object_put(root);
	qvmi__isf_free(fast);
	qvmi__isf_free(ref);
	qvmi_ctx_destroy(ctx);
	free(text);
}

static void test_real_fixtures(void)
{
	same_symbols("linux32-dwarf2json.json");
	same_symbols("linux64-dwarf2json.json");
}

#define DOC(syms)                                                           \
	"{\"metadata\":{\"format\":\"6.2.0\"},\"base_types\":{\"pointer\":" \
	"{\"size\":8,\"signed\":false,\"kind\":\"int\",\"endian\":"         \
	"\"little\"}},\"user_types\":{},\"enums\":{},\"symbols\":" syms "}"

static int scan(const char *doc, struct qvmi_isf_symtab *t)
{
	size_t vs = 0, ve = 0;
	int r = qvmi__isf_symtab_scan(doc, strlen(doc), 64, 1000, t, &vs, &ve);

	if (!r) {
		CHECK_INT(doc[vs], ==, '{');
		CHECK_INT(doc[ve - 1], ==, '}');
	}
	return r;
}

static uint64_t addr_of(const struct qvmi_isf_symtab *t, const char *name)
{
	uint64_t a = 0;

	CHECK_OK(qvmi__isf_symtab_find(t, name, &a));
	return a;
}

static void test_scanner(void)
{
	struct qvmi_isf_symtab t;
	uint64_t a;

	/* escapes in names, nested types, the last of a duplicate wins,
	 * the full unsigned range, an address before or after the type */
	CHECK_OK(scan(DOC("{\"a\\\"b\":{\"address\":1},"
			  "\"c\\\\d\\u0041\":{\"type\":{\"kind\":\"pointer\","
			  "\"subtype\":{\"kind\":\"base\",\"name\":\"x\"},"
			  "\"l\":[1,2.5e3,-0,true,false,null,\"s\"]},"
			  "\"address\":18446744073709551615},"
			  "\"dup\":{\"address\":5},\"dup\":{\"address\":6},"
			  "\"z\" : { \"address\" : 0 } }"),
		      &t));
	CHECK_U64(t.n, ==, 4);
	CHECK_U64(addr_of(&t, "a\"b"), ==, 1);
	CHECK_U64(addr_of(&t, "c\\dA"), ==, UINT64_MAX);
	CHECK_U64(addr_of(&t, "dup"), ==, 6);
	CHECK_U64(addr_of(&t, "z"), ==, 0);
	CHECK_INT(qvmi__isf_symtab_find(&t, "nosuch", &a), ==, -ENOENT);
	CHECK_INT(qvmi__isf_symtab_find(&t, "", &a), ==, -ENOENT);
	qvmi__isf_symtab_free(&t);
	CHECK_OK(scan(DOC("{}"), &t));
	CHECK_U64(t.n, ==, 0);
	qvmi__isf_symtab_free(&t);

	/* left to json-c: each of these */
	static const char *const give_up[] = {
		DOC("{\"a\":{\"address\":-1}}"),
		DOC("{\"a\":{\"address\":1.0}}"),
		DOC("{\"a\":{\"address\":18446744073709551616}}"),
		DOC("{\"a\":{\"address\":\"1\"}}"),
		DOC("{\"a\":{\"type\":{}}}"),
		DOC("{\"a\":{}}"),
		DOC("{\"a\":1}"),
		DOC("{\"a\":{\"address\":1},}"),
		DOC("{\"a\\x\":{\"address\":1}}"),
		DOC("{\"a\":{\"address\":1,\"t\":[1,]}}"),
		DOC("{\"a\":{\"address\":01}}"),
		DOC("{\"a\":{\"address\":1,\"t\":tru}}"),
		"{\"symbols\":{\"a\":{\"address\":1}}", /* unclosed */
		DOC("{\"a\":{\"address\":1}}") "x",
		"{\"symbols\":{},\"symbols\":{}}",
		"{\"base_types\":{}}",
		"[]",
		"",
	};
	for (size_t i = 0; i < sizeof(give_up) / sizeof(*give_up); i++)
		CHECK_MSG(scan(give_up[i], &t) == 1, "case %zu", i);
}

/* Nesting past the limit, and more symbols than allowed. */
static void test_limits(void)
{
	struct qvmi_isf_symtab t;
	char doc[4096], *p = doc;
	size_t vs, ve;

	p += sprintf(p, "{\"symbols\":{\"a\":{\"address\":1,\"t\":");
	for (int i = 0; i < 70; i++)
		*p++ = '[';
	for (int i = 0; i < 70; i++)
		*p++ = ']';
	strcpy(p, "}}}");
	CHECK_INT(qvmi__isf_symtab_scan(doc, strlen(doc), 64, 10, &t, &vs, &ve),
		  ==, 1);
	strcpy(doc, "{\"symbols\":{\"a\":{\"address\":1},\"b\":{\"address\":2},"
		    "\"c\":{\"address\":3}}}");
	CHECK_INT(qvmi__isf_symtab_scan(doc, strlen(doc), 64, 2, &t, &vs, &ve),
		  ==, 1);
	CHECK_OK(qvmi__isf_symtab_scan(doc, strlen(doc), 64, 3, &t, &vs, &ve));
	CHECK_U64(t.n, ==, 3);
	qvmi__isf_symtab_free(&t);
}

/* Through the loader: a bad address is still refused, now by json-c. */
static void test_loader(void)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_isf *isf = NULL;
	const char *bad = DOC("{\"a\":{\"address\":-1}}");
	const char *good = DOC("{\"init_task\":{\"address\":4096},"
			       "\"zero\":{\"address\":0}}");
	uint64_t v = 0;

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_INT(qvmi__isf_load(ctx, bad, strlen(bad), &isf), ==, -EBADMSG);
	CHECK(strstr(qvmi_errmsg(ctx), "address"));
	CHECK_OK(qvmi__isf_load(ctx, good, strlen(good), &isf));
	CHECK_OK(qvmi__isf_sym(isf, "init_task", &v));
	CHECK_U64(v, ==, 4096);
	CHECK_INT(qvmi__isf_sym(isf, "zero", &v), ==, -ENOENT);
	CHECK_U64(qvmi__isf_nsyms(isf), ==, 2);
	qvmi__isf_free(isf);
	qvmi_ctx_destroy(ctx);
}

static const struct qvmi_test isf_syms_tests[] = {
	{ "real_fixtures", test_real_fixtures },
	{ "scanner", test_scanner },
	{ "limits", test_limits },
	{ "loader", test_loader },
};
QVMI_SUITE(isf_syms, isf_syms_tests);
