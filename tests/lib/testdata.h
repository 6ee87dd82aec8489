/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test data files under tests/unit/data/. */
#ifndef QVMI_TEST_TESTDATA_H
#define QVMI_TEST_TESTDATA_H

#include <stddef.h>

/*
 * Read tests/unit/data/<rel> into a NUL-terminated malloc'd buffer: relative
 * to the cwd (make runs from the top), else to the binary (build/...).
 * NULL if not found; *len (if non-NULL) gets the size.
 */
char *qvmi_test_data(const char *rel, size_t *len);

#endif
