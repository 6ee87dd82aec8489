// SPDX-License-Identifier: LGPL-2.1-or-later
/* qvmid's VM identity helpers (daemon/vmident.c), shared by the session
 * info and the KVMi handshake. */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "../../daemon/vmident.h"

static void test_uuid(void)
{
	static const uint8_t want[16] = { 0x5e, 0x1f, 0x2a, 0x3b, 0, 0,
					  0x40, 0,    0x80, 0,	  0, 0,
					  0,	0,    0,    0x01 };
	uint8_t u[16];

	qvmid_uuid_bytes("5e1f2a3b-0000-4000-8000-000000000001", u);
	CHECK(!memcmp(u, want, 16));
	qvmid_uuid_bytes("5E1F2A3B-0000-4000-8000-000000000001", u);
	CHECK(!memcmp(u, want, 16));
	/* short, bad digit, NULL: all zero, never half a uuid */
	qvmid_uuid_bytes("5e1f2a3b-0000", u);
	CHECK(!memcmp(u, (uint8_t[16]){ 0 }, 16));
	qvmid_uuid_bytes("5e1f2a3b-0000-4000-8000-00000000000g", u);
	CHECK(!memcmp(u, (uint8_t[16]){ 0 }, 16));
	qvmid_uuid_bytes(NULL, u);
	CHECK(!memcmp(u, (uint8_t[16]){ 0 }, 16));
}

static void test_start_time(void)
{
	uint64_t s = qvmid_process_start_ns(getpid());
	uint64_t now = (uint64_t)time(NULL) * 1000000000ull;

	/* this process started before now, and not before 2020 */
	CHECK(s > 1577836800ull * 1000000000ull);
	CHECK(s <= now + 2000000000ull);
	CHECK_U64(qvmid_process_start_ns(0), ==, 0);
	CHECK_U64(qvmid_process_start_ns(-1), ==, 0);
}

static const struct qvmi_test vmident_tests[] = {
	{ "uuid", test_uuid },
	{ "start_time", test_start_time },
};
QVMI_SUITE(vmident, vmident_tests);
