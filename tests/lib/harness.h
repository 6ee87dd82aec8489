/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small test harness: explicit tables of tests per suite, "-s suite" or
 * "-s suite::test" selection, explicit SKIP, and a last line of the form
 * "N passed, N failed, N skipped".
 *
 * A test file ends with
 *	static const struct qvmi_test foo_tests[] = { { "name", fn }, ... };
 *	QVMI_SUITE(foo, foo_tests);
 * and the Makefile collects the suites into the runner.
 */
#ifndef QVMI_TEST_HARNESS_H
#define QVMI_TEST_HARNESS_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct qvmi_test {
	const char *name;
	void (*fn)(void);
};

struct qvmi_suite {
	const char *name;
	const struct qvmi_test *tests;
	size_t ntests;
	/* Optional: run once before the suite's first selected test; a
	 * non-zero return skips the whole suite with that reason. */
	const char *(*setup)(void);
};

#define QVMI_SUITE(NAME, TESTS)                                        \
	const struct qvmi_suite qvmi_suite_##NAME = {                  \
		#NAME, TESTS, sizeof(TESTS) / sizeof((TESTS)[0]), NULL \
	}
#define QVMI_SUITE_SETUP(NAME, TESTS, SETUP)                            \
	const struct qvmi_suite qvmi_suite_##NAME = {                   \
		#NAME, TESTS, sizeof(TESTS) / sizeof((TESTS)[0]), SETUP \
	}

void qvmi_test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
void qvmi_test_skip(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
/*
 * Run fn(arg) when the current test ends, passed or failed, last
 * registered first.  A failed CHECK leaves the test at once, so servers,
 * threads and peers a test started must be stopped from here, or they run
 * on into the next tests (and into the test's dead stack frame).  At most
 * 32 per test; a CHECK that fails inside fn fails the test.
 */
void qvmi_test_defer(void (*fn)(void *arg), void *arg);
/* Non-fatal note printed under the test's result line. */
void qvmi_test_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define CHECK(cond)                                                     \
	do {                                                            \
		if (!(cond))                                            \
			qvmi_test_fail(__FILE__, __LINE__, "CHECK(%s)", \
				       #cond);                          \
	} while (0)

#define CHECK_MSG(cond, ...)                                             \
	do {                                                             \
		if (!(cond))                                             \
			qvmi_test_fail(__FILE__, __LINE__, __VA_ARGS__); \
	} while (0)

#define CHECK_INT(a, op, b)                                                   \
	do {                                                                  \
		long long _a = (long long)(a), _b = (long long)(b);           \
		if (!(_a op _b))                                              \
			qvmi_test_fail(__FILE__, __LINE__,                    \
				       "%s %s %s: %lld vs %lld", #a, #op, #b, \
				       _a, _b);                               \
	} while (0)

#define CHECK_U64(a, op, b)                                      \
	do {                                                     \
		uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b); \
		if (!(_a op _b))                                 \
			qvmi_test_fail(__FILE__, __LINE__,       \
				       "%s %s %s: 0x%" PRIx64    \
				       " vs 0x%" PRIx64,         \
				       #a, #op, #b, _a, _b);     \
	} while (0)

#define CHECK_OK(expr)                                                        \
	do {                                                                  \
		long long _r = (long long)(expr);                             \
		if (_r < 0)                                                   \
			qvmi_test_fail(__FILE__, __LINE__, "%s failed: %lld", \
				       #expr, _r);                            \
	} while (0)

#define CHECK_STR(a, b)                                                      \
	do {                                                                 \
		const char *_a = (a), *_b = (b);                             \
		if (!_a || !_b || strcmp(_a, _b))                            \
			qvmi_test_fail(__FILE__, __LINE__,                   \
				       "%s == %s: \"%s\" vs \"%s\"", #a, #b, \
				       _a ? _a : "(null)",                   \
				       _b ? _b : "(null)");                  \
	} while (0)

#define SKIP(...) qvmi_test_skip(__VA_ARGS__)

#endif
