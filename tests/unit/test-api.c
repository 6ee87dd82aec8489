// SPDX-License-Identifier: LGPL-2.1-or-later
/* The public API's small promises: the version, NULL handling, register
 * names. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "qvmi.h"

static void test_version(void)
{
	char want[32];

	snprintf(want, sizeof(want), "%d.%d.%d", QVMI_VERSION_MAJOR,
		 QVMI_VERSION_MINOR, QVMI_VERSION_PATCH);
	CHECK_STR(qvmi_version(), want);
}

static void test_null_handles(void)
{
	/* _destroy(NULL) is a no-op; a NULL context has a message */
	qvmi_ctx_destroy(NULL);
	qvmi_linux_destroy(NULL);
	CHECK(qvmi_errmsg(NULL) && qvmi_errmsg(NULL)[0]);
	CHECK(!qvmi_vmcoreinfo(NULL));
}

/* Register names as `qvmi regs` and Python's vm.regs() show them. */
static void test_regs_names(void)
{
	struct qvmi_regs_x86 r = { .rax = 1, .r8 = 8, .rip = 0x10, .cr3 = 3 };
	const char *n, *names[64];
	uint64_t v, vals[64];
	unsigned int i, k = 0;
	int err;

	r.valid = QVMI_REGS_GPR | QVMI_REGS_CR;
	for (i = 0; (err = qvmi_regs_x86_get(&r, i, &n, &v)) != -ERANGE; i++) {
		CHECK(i < 64 && (!err || err == -ENODATA));
		if (!err && k < 64) {
			names[k] = n;
			vals[k++] = v;
		}
	}
	CHECK_INT(i, ==, 43); /* every field of struct qvmi_regs_x86 */
	CHECK_INT(k, ==, 18 + 5); /* GPRs, cr0/2/3/4 and efer; no cr8 */
	CHECK_STR(names[0], "rax");
	CHECK_U64(vals[0], ==, 1);
	CHECK_STR(names[8], "r8");
	CHECK_U64(vals[8], ==, 8);
	CHECK_STR(names[16], "rip");
	CHECK_STR(names[20], "cr3");
	CHECK_U64(vals[20], ==, 3);
	/* a 32-bit vCPU: eax..eip, no r8..r15 */
	r.valid |= QVMI_REGS_GPR32;
	CHECK_OK(qvmi_regs_x86_get(&r, 0, &n, &v));
	CHECK_STR(n, "eax");
	CHECK_INT(qvmi_regs_x86_get(&r, 8, &n, &v), ==, -ENODATA);
	CHECK_OK(qvmi_regs_x86_get(&r, 16, &n, &v));
	CHECK_STR(n, "eip");
	CHECK_U64(v, ==, 0x10);
	CHECK_OK(qvmi_regs_x86_get(&r, 29, &n, &v));
	CHECK_STR(n, "cr3"); /* the rest keep their names */
	CHECK_INT(qvmi_regs_x86_get(NULL, 0, &n, &v), ==, -EINVAL);
	CHECK_INT(qvmi_regs_x86_get(&r, 0, NULL, &v), ==, -EINVAL);
	CHECK_INT(qvmi_regs_x86_get(&r, 1u << 31, &n, &v), ==, -ERANGE);
}

static const struct qvmi_test api_tests[] = {
	{ "version", test_version },
	{ "null_handles", test_null_handles },
	{ "regs_names", test_regs_names },
};
QVMI_SUITE(api, api_tests);
