// SPDX-License-Identifier: LGPL-2.1-or-later
/* Test runner: see harness.h.  Suites come from a generated table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

extern const struct qvmi_suite *const qvmi_all_suites[];

enum { RES_PASS, RES_FAIL, RES_SKIP };

static jmp_buf test_jmp;
static char test_msg[1024];

void qvmi_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(test_msg, sizeof(test_msg), "%s:%d: ", file, line);

	va_start(ap, fmt);
	vsnprintf(test_msg + n, sizeof(test_msg) - (size_t)n, fmt, ap);
	va_end(ap);
	longjmp(test_jmp, RES_FAIL);
}

void qvmi_test_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(test_msg, sizeof(test_msg), fmt, ap);
	va_end(ap);
	longjmp(test_jmp, RES_SKIP);
}

enum { MAX_DEFER = 32 };

static struct {
	void (*fn)(void *arg);
	void *arg;
} defers[MAX_DEFER];
static int ndefers;

void qvmi_test_defer(void (*fn)(void *arg), void *arg)
{
	if (ndefers == MAX_DEFER) { /* run it now rather than never */
		fn(arg);
		qvmi_test_fail(__FILE__, __LINE__, "more than %d deferred",
			       MAX_DEFER);
	}
	defers[ndefers].fn = fn;
	defers[ndefers++].arg = arg;
}

/* The deferred cleanups, newest first; each may fail on its own.  The
 * test's own failure message is the one kept. */
static int run_defers(int test_res)
{
	static char msg[sizeof(test_msg)];
	volatile int res = test_res;

	memcpy(msg, test_msg, sizeof(msg));
	while (ndefers > 0) {
		int r;

		ndefers--;
		r = setjmp(test_jmp);
		if (r == 0)
			defers[ndefers].fn(defers[ndefers].arg);
		else if (res == RES_PASS)
			res = r, memcpy(msg, test_msg, sizeof(msg));
	}
	memcpy(test_msg, msg, sizeof(msg));
	return res;
}

void qvmi_test_note(const char *fmt, ...)
{
	va_list ap;

	fputs("    # ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

/* "-s a" selects suite a; "-s a::b" selects one test. */
static int selected(char **sel, int nsel, const char *suite, const char *test)
{
	size_t sl = strlen(suite);
	int i;

	if (!nsel)
		return 1;
	for (i = 0; i < nsel; i++) {
		if (!strcmp(sel[i], suite))
			return 1;
		if (!strncmp(sel[i], suite, sl) &&
		    !strncmp(sel[i] + sl, "::", 2) &&
		    (!test || !strcmp(sel[i] + sl + 2, test)))
			return 1;
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_one(const struct qvmi_test *t, const char *suite)
{
	volatile int res;
	double t0 = now_s();

	test_msg[0] = '\0';
	fflush(stdout);
	res = setjmp(test_jmp);
	if (res == 0) {
		t->fn();
		res = RES_PASS;
	}
	res = run_defers(res);
	printf("%s %s::%s (%.2fs)%s%s\n",
	       res == RES_PASS ? "PASS" :
	       res == RES_FAIL ? "FAIL" :
				 "SKIP",
	       suite, t->name, now_s() - t0, test_msg[0] ? ": " : "", test_msg);
	fflush(stdout);
	return res;
}

int main(int argc, char **argv)
{
	char *sel[64];
	int nsel = 0, counts[3] = { 0, 0, 0 }, list = 0;
	size_t i, j;

	for (int a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "-s") && a + 1 < argc && nsel < 64)
			sel[nsel++] = argv[++a];
		else if (!strcmp(argv[a], "-l"))
			list = 1;
		else {
			fprintf(stderr,
				"usage: %s [-l] [-s suite[::test]]...\n",
				argv[0]);
			return 2;
		}
	}
	for (i = 0; qvmi_all_suites[i]; i++) {
		const struct qvmi_suite *s = qvmi_all_suites[i];
		const char *skip = NULL;
		int setup_done = 0;

		for (j = 0; j < s->ntests; j++) {
			const struct qvmi_test *t = &s->tests[j];

			if (!selected(sel, nsel, s->name, t->name))
				continue;
			if (list) {
				printf("%s::%s\n", s->name, t->name);
				continue;
			}
			if (!setup_done && s->setup)
				skip = s->setup();
			setup_done = 1;
			if (skip) {
				printf("SKIP %s::%s: %s\n", s->name, t->name,
				       skip);
				counts[RES_SKIP]++;
				continue;
			}
			counts[run_one(t, s->name)]++;
		}
	}
	if (list)
		return 0;
	printf("%d passed, %d failed, %d skipped\n", counts[RES_PASS],
	       counts[RES_FAIL], counts[RES_SKIP]);
	return counts[RES_FAIL] ? 1 : 0;
}
