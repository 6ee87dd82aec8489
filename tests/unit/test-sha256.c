// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The session handshake's MACs against golden values recorded from the
 * OpenSSL (EVP_MAC HMAC-SHA256) implementation qvmi used until it had its
 * own, and cross-checked with Python's hmac module: the wire stays the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "proto/session-auth.h"

static void unhex(const char *s, uint8_t *out, size_t n)
{
	CHECK_INT(strlen(s), ==, 2 * n);
	for (size_t i = 0; i < n; i++) {
		char b[3] = { s[2 * i], s[2 * i + 1], 0 };
		char *end;

		out[i] = (uint8_t)strtoul(b, &end, 16);
		CHECK(*end == 0);
	}
}

static void check_hex(const uint8_t *got, const char *want, size_t n)
{
	uint8_t *w = malloc(n);

	CHECK(w);
	unhex(want, w, n);
	if (memcmp(got, w, n)) {
		char g[2 * 64 + 1] = "";

		for (size_t i = 0; i < n && i < 64; i++)
			snprintf(g + 2 * i, 3, "%02x", got[i]);
		free(w);
		CHECK_MSG(0, "got %s, want %s", g, want);
	}
	free(w);
}

/*
 * Key bytes 0xa0, 0xa1, ... (32 bytes, and 100: longer than SHA-256's
 * 64-byte block, so HMAC hashes it first); transcript byte i = i * 37 + 5.
 */
static void t_ses_mac_golden(void)
{
	static const struct {
		size_t klen;
		const char *client, *server;
	} gold[] = {
		{ 32,
		  "b864aca39def0d6854ac0b9231ed446a903b3c521e578f420e34c1d400b2ebda",
		  "48988e141ee740ade02550ebba2265ce10b0d3be28b4896f546a69fa3afb1432" },
		{ 100,
		  "c306bbbadaef7d562320e5b6210461844b704cd6776856dc317a0fee845eb372",
		  "a3e4514ab4988dd27362be2b08ef8e8176bcf42e52e014cc99e200ff56941a2f" },
	};
	uint8_t kb[100], t[QVMI_SES_TRANSCRIPT], c[QVMI_SES_MAC],
		s[QVMI_SES_MAC];
	struct qvmi_ses_key k = { 0 };

	for (size_t i = 0; i < sizeof(kb); i++)
		kb[i] = (uint8_t)(0xa0 + i);
	for (size_t i = 0; i < sizeof(t); i++)
		t[i] = (uint8_t)(i * 37 + 5);
	for (size_t j = 0; j < sizeof(gold) / sizeof(gold[0]); j++) {
		CHECK_OK(qvmi_ses_key_set(&k, kb, gold[j].klen));
		CHECK_OK(qvmi_ses_mac(&k, QVMI_SES_ROLE_CLIENT, t, sizeof(t),
				      NULL, 0, c));
		check_hex(c, gold[j].client, QVMI_SES_MAC);
		/* The server's MAC covers the client's. */
		CHECK_OK(qvmi_ses_mac(&k, QVMI_SES_ROLE_SERVER, t, sizeof(t), c,
				      sizeof(c), s));
		check_hex(s, gold[j].server, QVMI_SES_MAC);
		qvmi_ses_key_clear(&k);
	}
}

static const struct qvmi_test sha256_tests[] = {
	{ "ses_mac_golden", t_ses_mac_golden },
};
QVMI_SUITE(sha256, sha256_tests);
