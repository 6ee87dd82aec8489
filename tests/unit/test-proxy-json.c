// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The QMP proxy on hostile input (issue 17 §3): the proxy must split,
 * accept and refuse a client's bytes exactly as QEMU 7.2 does, never
 * forward what QEMU cannot parse, never send invalid JSON back, and never
 * leave a client without an answer.  Ground truth: QEMU 7.2's own answers
 * to 97 requests, recorded live (tests/unit/data/qemu72-json.txt).
 */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "proxyrig.h"
#include "sockcli.h"
#include "testdata.h"
#include "core/internal.h"
#include "../../daemon/proxy-json.h"

/* ---- the recorded transcript ------------------------------------------- */

struct tcase {
	char *in; /* request bytes */
	size_t in_len;
	char **out; /* QEMU's lines */
	size_t nout;
};

struct transcript {
	struct tcase *c;
	size_t n;
	char *text;
};

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' :
	       c >= 'a' && c <= 'f' ? c - 'a' + 10 :
				      -1;
}

static void tr_free(void *arg)
{
	struct transcript *t = arg;

	for (size_t i = 0; i < t->n; i++) {
		free(t->c[i].in);
		free(t->c[i].out);
	}
	free(t->c);
	free(t->text);
	free(t);
}

/* Freed when the test ends (the defers run after it returns). */
static struct transcript *tr_load(void)
{
	struct transcript *t = calloc(1, sizeof(*t));
	char *line, *save = NULL;

	CHECK(t);
	t->text = qvmi_test_data("qemu72-json.txt", NULL);
	CHECK(t->text);
	qvmi_test_defer(tr_free, t);
	for (line = strtok_r(t->text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct tcase *c;

		if (!strncmp(line, "> ", 2)) {
			size_t n = strlen(line + 2) / 2;

			t->c = realloc(t->c, (t->n + 1) * sizeof(*t->c));
			CHECK(t->c);
			c = &t->c[t->n++];
			memset(c, 0, sizeof(*c));
			c->in = malloc(n + 1);
			CHECK(c->in);
			for (size_t i = 0; i < n; i++)
				c->in[i] = (char)(hexval(line[2 + 2 * i]) << 4 |
						  hexval(line[3 + 2 * i]));
			c->in[n] = '\n';
			c->in_len = n + 1;
		} else if (!strncmp(line, "< ", 2) && t->n) {
			c = &t->c[t->n - 1];
			c->out =
				realloc(c->out, (c->nout + 1) * sizeof(char *));
			CHECK(c->out);
			c->out[c->nout++] = line + 2;
		}
	}
	CHECK_INT(t->n, ==, 97);
	return t;
}

/* Is line one JSON value in valid UTF-8 (what any client can read)? */
static bool json_text_ok(const char *line)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	bool ok;

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, line, (int)strlen(line));
	ok = o && json_tokener_get_error(tok) == json_tokener_success &&
	     json_tokener_get_parse_end(tok) == strlen(line) &&
	     pj_utf8_ok(line, strlen(line));
	json_object_put(o);
	json_tokener_free(tok);
	return ok;
}

/*
 * Every recorded request, on a fresh client, gets QEMU 7.2's answer line
 * for line (the fake QEMU answers query-status as QEMU does), and every
 * line is valid JSON.  One knowing difference: QEMU writes the id 1e400
 * back as "inf", which is not JSON; the proxy writes "1e400".
 */
static void test_transcript(void)
{
	struct transcript *t = tr_load();
	struct prig r;

	prig_start(&r, 0);
	for (size_t i = 0; i < t->n; i++) {
		struct tcase *c = &t->c[i];
		int fd = pcli_ready(r.path);

		CHECK(tcli_send_raw(fd, c->in, c->in_len));
		for (size_t j = 0; j < c->nout; j++) {
			char *got = pcli_line(fd), *inf;
			char want[70000];

			snprintf(want, sizeof(want), "%s", c->out[j]);
			inf = strstr(want, "\"id\": inf}");
			if (inf)
				strcpy(inf, "\"id\": 1e400}");
			CHECK_MSG(!strcmp(got, want),
				  "case %zu line %zu: %s vs %s", i, j, got,
				  want);
			CHECK_MSG(json_text_ok(got), "case %zu: %s", i, got);
		}
		pcli_nothing(fd, 20);
		tcli_close(fd);
	}
	prig_stop(&r, 0, NULL);
}

/* ---- the reader alone ------------------------------------------------- */

/* What the reader makes of in, fed in pieces of step bytes. */
static char *outcome(const char *in, size_t len, size_t step)
{
	struct proxy_json pj;
	struct pj_msg m;
	char *s = strdup("");
	int r;

	pj_init(&pj, 1 << 20);
	for (size_t off = 0; off < len; off += step) {
		CHECK_OK(pj_feed(&pj, in + off, QVMI_MIN(step, len - off)));
		while ((r = pj_next(&pj, &m)) == 1) {
			char *n;

			CHECK(asprintf(&n, "%s|%s:%s:%zu:%s", s,
				       m.kind == PJ_ERROR ? "E" : "V",
				       m.kind == PJ_ERROR ? m.error :
				       m.tmpl		  ? m.tmpl :
							    "-",
				       m.slot, m.id ? m.id : "-") > 0);
			free(s);
			s = n;
			pj_msg_free(&m);
		}
		CHECK_INT(r, ==, 0);
	}
	pj_deinit(&pj);
	return s;
}

/* json-c's incremental tokener took "0000000-" when it came in two reads
 * (issue 17: fuzz/qmp-proxy aborted); the reader must not care how the
 * bytes are cut. */
static void test_split_reads(void)
{
	static const size_t steps[] = { 1, 2, 3, 5, 7, 13, 64 };
	struct transcript *t = tr_load();

	for (size_t i = 0; i < t->n; i++) {
		const struct tcase *c = &t->c[i];
		char *whole = outcome(c->in, c->in_len, c->in_len);

		for (size_t k = 0; k < QVMI_ARRAY_SIZE(steps); k++) {
			char *cut = outcome(c->in, c->in_len, steps[k]);

			CHECK_MSG(!strcmp(whole, cut), "case %zu step %zu", i,
				  steps[k]);
			free(cut);
		}
		free(whole);
	}
}

static void test_template(void)
{
	static const struct {
		const char *in, *tmpl, *id;
	} cases[] = {
		{ "{\"execute\": \"x\", \"id\": [1, 2]}",
		  "{\"execute\": \"x\", \"id\": }", "[1, 2]" },
		{ "{\"execute\": \"x\"}", "{\"execute\": \"x\", \"id\": }",
		  NULL },
		{ "{}", "{\"id\": }", NULL },
		{ "{'id':'a','execute':'x'}", "{'id':,'execute':'x'}",
		  "\"a\"" },
		{ "{\"a\": {\"id\": 1}, \"id\": 2}",
		  "{\"a\": {\"id\": 1}, \"id\": }", "2" },
	};

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(cases); i++) {
		struct proxy_json pj;
		struct pj_msg m;
		char *t;

		pj_init(&pj, 0);
		CHECK_OK(pj_feed(&pj, cases[i].in, strlen(cases[i].in)));
		CHECK_INT(pj_next(&pj, &m), ==, 1);
		CHECK_INT(m.kind, ==, PJ_VALUE);
		CHECK(asprintf(&t, "%.*s%s", (int)m.slot, m.tmpl,
			       m.tmpl + m.slot) > 0);
		CHECK_STR(t, cases[i].tmpl);
		free(t);
		CHECK(!cases[i].id == !m.id);
		if (m.id)
			CHECK_STR(m.id, cases[i].id);
		pj_msg_free(&m);
		pj_deinit(&pj);
	}
}

static void test_limits(void)
{
	struct proxy_json pj;
	struct pj_msg m;
	char big[200];

	/* more than max_msg pending for one message: sticky */
	pj_init(&pj, 100);
	memset(big, ' ', sizeof(big));
	big[0] = '"';
	CHECK_INT(pj_feed(&pj, big, 60), ==, 0);
	CHECK_INT(pj_next(&pj, &m), ==, 0);
	CHECK_INT(pj_feed(&pj, big, 60), ==, -EMSGSIZE);
	CHECK_INT(pj_next(&pj, &m), ==, -EMSGSIZE);
	pj_deinit(&pj);
	/* finished messages do not count */
	pj_init(&pj, 100);
	for (int i = 0; i < 50; i++) {
		CHECK_OK(pj_feed(&pj, "{\"a\": 1}\n", 9));
		CHECK_INT(pj_next(&pj, &m), ==, 1);
		pj_msg_free(&m);
	}
	CHECK_INT(pj_next(&pj, &m), ==, 0);
	CHECK(!pj_partial(&pj));
	pj_deinit(&pj);
	/* QEMU's quoting of a cut UTF-8 sequence and a NUL */
	{
		char *q = pj_quote("a\xc3", 2);

		CHECK_STR(q, "\"a\\uFFFD\"");
		free(q);
		q = pj_quote("x\0y", 3);
		CHECK_STR(q, "\"x\"");
		free(q);
	}
	CHECK(pj_utf8_ok("/tmp/\xc3\xa9", 7));
	CHECK(!pj_utf8_ok("/tmp/\xc0\x80", 7)); /* "\u0000" as QEMU keeps it */
	CHECK(!pj_utf8_ok("/tmp/\xff", 6));
	CHECK(!pj_utf8_ok("/tmp/\xed\xa0\x80", 8));
}

/* ---- through the proxy --------------------------------------------------- */

/* Issue 17 §3: a number and a '-' in two reads went to QEMU, and the id
 * "12-" came back as it was: invalid JSON. */
static void test_split_number(void)
{
	struct prig r;
	int fd;

	prig_start(&r, 0);
	fd = pcli_ready(r.path);
	tcli_send_str(fd, "{\"execute\": \"echo\", \"id\": 12");
	poll(NULL, 0, 50); /* two reads */
	pcli_expect(fd, "-}\n",
		    "{\"error\": {\"class\": \"GenericError\", \"desc\": "
		    "\"JSON parse error, stray '-}'\"}}");
	pcli_nothing(fd, 50);
	/* the connection goes on */
	pcli_expect(
		fd, "{\"execute\": \"echo\", \"id\": 13}",
		"{\"return\": {\"cmd\": \"echo\", \"args\": {}}, \"id\": 13}");
	/* an id of invalid UTF-8 never comes back */
	pcli_expect(fd, "{\"execute\": \"echo\", \"id\": \"\xc3(\"}",
		    "{\"error\": {\"class\": \"GenericError\", \"desc\": "
		    "\"JSON parse error, invalid UTF-8 sequence in string\"}}");
	tcli_close(fd);
	prig_stop(&r, 0, NULL);
}

/* QEMU answers what it cannot parse with an error without an id: that
 * goes to the client whose request was in flight, which then goes on. */
static void test_idless_error_routed(void)
{
	struct qvmid_proxy_stats st;
	struct prig r;
	int a, b;

	prig_start(&r, 0);
	a = pcli_ready(r.path);
	b = pcli_ready(r.path);
	tcli_send_str(a, "{\"execute\": \"noid\", \"id\": 1}\n"
			 "{\"execute\": \"echo\", \"id\": 2}\n");
	CHECK_STR(pcli_line(a), "{\"error\": {\"class\": \"GenericError\", "
				"\"desc\": \"JSON parse error, stray '-'\"}}");
	CHECK_STR(pcli_line(a), "{\"return\": {\"cmd\": \"echo\", \"args\": "
				"{}}, \"id\": 2}");
	pcli_nothing(b, 50);
	pcli_expect(
		b, "{\"execute\": \"echo\", \"id\": 3}",
		"{\"return\": {\"cmd\": \"echo\", \"args\": {}}, \"id\": 3}");
	tcli_close(a);
	tcli_close(b);
	prig_stop(&r, 0, &st);
	CHECK_U64(st.discarded, ==, 0);
}

/* Issue 17 §3: a pmemaccess path that is not UTF-8 made every later
 * query-qvmi reply invalid UTF-8.  Raw bytes are a JSON error already;
 * "\u0000" is JSON QEMU accepts, and decodes to modified UTF-8. */
static void test_pmem_path_utf8(void)
{
	char path[108], req[256], *line;
	struct prig r;
	int fd;

	prig_start(&r, 0);
	prig_tmp_path(path, sizeof(path), "pm");
	fd = pcli_ready(r.path);
	snprintf(req, sizeof(req),
		 "{\"execute\": \"pmemaccess\", \"arguments\": {\"path\": "
		 "\"%s\\u0000x\"}, \"id\": 1}",
		 path);
	tcli_send_str(fd, req);
	line = pcli_line(fd);
	CHECK_MSG(strstr(line, "the path is not valid UTF-8"), "%s", line);
	CHECK(json_text_ok(line));
	snprintf(req, sizeof(req),
		 "{\"execute\": \"pmemaccess\", \"arguments\": {\"path\": "
		 "\"%s\xff\"}, \"id\": 2}",
		 path);
	tcli_send_str(fd, req);
	line = pcli_line(fd);
	CHECK_MSG(strstr(line, "stray"), "%s", line);
	tcli_close(fd); /* the rest of that line brings more errors */
	fd = pcli_ready(r.path);
	tcli_send_str(fd, "{\"execute\": \"query-qvmi\", \"id\": 3}");
	line = pcli_line(fd);
	CHECK_MSG(json_text_ok(line), "%s", line);
	CHECK_MSG(strstr(line, "\"pmemaccess\": [ ]") ||
			  strstr(line, "\"pmemaccess\": []"),
		  "%s", line);
	tcli_close(fd);
	prig_stop(&r, 0, NULL);
}

static const struct qvmi_test proxy_json_tests[] = {
	{ "transcript", test_transcript },
	{ "split_reads", test_split_reads },
	{ "template", test_template },
	{ "limits", test_limits },
	{ "split_number", test_split_number },
	{ "idless_error_routed", test_idless_error_routed },
	{ "pmem_path_utf8", test_pmem_path_utf8 },
};
QVMI_SUITE(proxy_json, proxy_json_tests);
