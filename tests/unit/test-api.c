// SPDX-License-Identifier: LGPL-2.1-or-later
/* The public API's small promises: the version, NULL handling. */
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

static const struct qvmi_test api_tests[] = {
	{ "version", test_version },
	{ "null_handles", test_null_handles },
};
QVMI_SUITE(api, api_tests);
