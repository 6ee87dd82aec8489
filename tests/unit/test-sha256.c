// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The in-tree SHA-256 and HMAC-SHA256 (src/core/sha256.c) against published
 * known answers (FIPS 180-2 appendix B / NIST examples, RFC 4231), padding
 * and key-length boundaries and odd-sized streaming (expected values from
 * Python's hashlib/hmac), and the session handshake's MACs against golden
 * values recorded from the OpenSSL (EVP_MAC HMAC-SHA256) implementation
 * qvmi used before: the wire stays the same.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "harness.h"
#include "core/sha256.h"
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

/* One-shot, and streamed one byte at a time. */
static void check_sha(const void *data, size_t len, const char *want)
{
	const uint8_t *p = data;
	struct qvmi_sha256 s;
	uint8_t d[QVMI_SHA256_LEN];

	qvmi__sha256(data, len, d);
	check_hex(d, want, sizeof(d));
	qvmi__sha256_init(&s);
	for (size_t i = 0; i < len; i++)
		qvmi__sha256_update(&s, p + i, 1);
	qvmi__sha256_final(&s, d);
	check_hex(d, want, sizeof(d));
}

/* FIPS 180-2 appendix B.1-B.3, and the NIST 896-bit example. */
static void t_fips_vectors(void)
{
	static const char m448[] =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const char m896[] =
		"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
		"hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

	check_sha(
		"", 0,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_sha(
		NULL, 0,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_sha(
		"abc", 3,
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK_INT(strlen(m448), ==, 56);
	check_sha(
		m448, strlen(m448),
		"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	CHECK_INT(strlen(m896), ==, 112);
	check_sha(
		m896, strlen(m896),
		"cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

/* FIPS 180-2 B.3: a million 'a', in 997-byte pieces (not a block multiple)
 * and in one piece. */
static void t_million_a(void)
{
	static const char want[] =
		"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	uint8_t *a = malloc(1000000), d[QVMI_SHA256_LEN], d1[QVMI_SHA256_LEN];
	struct qvmi_sha256 s;
	size_t off = 0;

	CHECK(a);
	memset(a, 'a', 1000000);
	qvmi__sha256_init(&s);
	while (off < 1000000) {
		size_t n = 1000000 - off < 997 ? 1000000 - off : 997;

		qvmi__sha256_update(&s, a + off, n);
		off += n;
	}
	qvmi__sha256_final(&s, d);
	qvmi__sha256(a, 1000000, d1);
	free(a);
	check_hex(d, want, sizeof(d));
	check_hex(d1, want, sizeof(d1));
}

/* Byte i of the test message: not periodic in 64. */
static void test_bytes(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 131 + 7);
}

/*
 * Every length 0..200 crosses each padding case (55, 56, 63, 64, 119, 120,
 * 128 bytes...): the SHA-256 of the concatenated 201 digests.
 */
static void t_length_boundaries(void)
{
	uint8_t m[200], d[QVMI_SHA256_LEN];
	struct qvmi_sha256 all;

	test_bytes(m, sizeof(m));
	qvmi__sha256_init(&all);
	for (size_t n = 0; n <= sizeof(m); n++) {
		qvmi__sha256(m, n, d);
		qvmi__sha256_update(&all, d, sizeof(d));
	}
	qvmi__sha256_final(&all, d);
	check_hex(
		d,
		"f9be27f65ce096e9153691cee0f5949b0e477b1afb72e8fa01644e3860e834c5",
		sizeof(d));
}

/* Pieces of 1, 63, 64, 65, 0, ... bytes give the one-shot digest and MAC. */
static void t_streaming_pieces(void)
{
	static const size_t piece[] = { 1,  63, 64, 65,	 0,   2, 55,
					56, 57, 1,  127, 128, 9 };
	static const char want[] =
		"7dffcf8eae88f697fe539c1147783f14b2ef435c6e3b2fa374cf0e4f50bdb247";
	uint8_t m[700], d[QVMI_SHA256_LEN], d1[QVMI_SHA256_LEN];
	struct qvmi_sha256 s;
	struct qvmi_sha256_hmac h;
	size_t off = 0, sum = 0;

	for (size_t i = 0; i < sizeof(piece) / sizeof(piece[0]); i++)
		sum += piece[i];
	CHECK_INT(sum, <=, sizeof(m));
	test_bytes(m, sizeof(m));
	qvmi__sha256(m, sizeof(m), d1);
	check_hex(d1, want, sizeof(d1));
	qvmi__sha256_init(&s);
	qvmi__sha256_hmac_init(&h, "key", 3);
	for (size_t i = 0; i < sizeof(piece) / sizeof(piece[0]); i++) {
		qvmi__sha256_update(&s, m + off, piece[i]);
		qvmi__sha256_hmac_update(&h, m + off, piece[i]);
		off += piece[i];
	}
	qvmi__sha256_update(&s, m + off, sizeof(m) - off);
	qvmi__sha256_hmac_update(&h, m + off, sizeof(m) - off);
	qvmi__sha256_final(&s, d);
	CHECK(!memcmp(d, d1, sizeof(d)));
	qvmi__sha256_hmac_final(&h, d);
	qvmi__sha256_hmac("key", 3, m, sizeof(m), d1);
	CHECK(!memcmp(d, d1, sizeof(d)));
	/* The final wiped the state it finished. */
	for (size_t i = 0; i < sizeof(h); i++)
		CHECK(((const uint8_t *)&h)[i] == 0);
}

/* RFC 4231 section 4, test cases 1-7. */
static void t_rfc4231(void)
{
	static const char tc6[] =
		"Test Using Larger Than Block-Size Key - Hash Key First";
	static const char tc7[] =
		"This is a test using a larger than block-size key and a larger "
		"than block-size data. The key needs to be hashed before being "
		"used by the HMAC algorithm.";
	uint8_t k0b[20], kaa20[20], k4[25], k0c[20], kaa131[131], dd[50],
		cd[50];
	const struct {
		const void *key, *data;
		size_t klen, dlen;
		const char *mac; /* truncated to its length */
	} tc[] = {
		{ k0b, "Hi There", 20, 8,
		  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
		{ "Jefe", "what do ya want for nothing?", 4, 28,
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
		{ kaa20, dd, 20, 50,
		  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
		{ k4, cd, 25, 50,
		  "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
		{ k0c, "Test With Truncation", 20, 20,
		  "a3b6167473100ee06e0c796c2955552b" },
		{ kaa131, tc6, 131, sizeof(tc6) - 1,
		  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
		{ kaa131, tc7, 131, sizeof(tc7) - 1,
		  "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
	};
	uint8_t mac[QVMI_SHA256_LEN];

	memset(k0b, 0x0b, sizeof(k0b));
	memset(kaa20, 0xaa, sizeof(kaa20));
	memset(k0c, 0x0c, sizeof(k0c));
	memset(kaa131, 0xaa, sizeof(kaa131));
	memset(dd, 0xdd, sizeof(dd));
	memset(cd, 0xcd, sizeof(cd));
	for (size_t i = 0; i < sizeof(k4); i++)
		k4[i] = (uint8_t)(i + 1);
	CHECK_INT(sizeof(tc7) - 1, ==, 152);
	for (size_t i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		struct qvmi_sha256_hmac h;

		qvmi__sha256_hmac(tc[i].key, tc[i].klen, tc[i].data, tc[i].dlen,
				  mac);
		check_hex(mac, tc[i].mac, strlen(tc[i].mac) / 2);
		qvmi__sha256_hmac_init(&h, tc[i].key, tc[i].klen);
		for (size_t j = 0; j < tc[i].dlen; j++)
			qvmi__sha256_hmac_update(
				&h, (const uint8_t *)tc[i].data + j, 1);
		qvmi__sha256_hmac_final(&h, mac);
		check_hex(mac, tc[i].mac, strlen(tc[i].mac) / 2);
	}
}

/* Keys of 0..149 bytes: 64 is used as is, 65 and longer are hashed first. */
static void t_hmac_key_lengths(void)
{
	uint8_t m[300], d[QVMI_SHA256_LEN];
	struct qvmi_sha256 all;

	test_bytes(m, sizeof(m));
	qvmi__sha256_init(&all);
	for (size_t k = 0; k < 150; k++) {
		qvmi__sha256_hmac(m, k, m + 100, 200, d);
		qvmi__sha256_update(&all, d, sizeof(d));
	}
	qvmi__sha256_final(&all, d);
	check_hex(
		d,
		"027f97b9475917b315dd906215c72ee72b82935bb5c98618bf0d3e5affa1d9e6",
		sizeof(d));
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
		CHECK_OK(qvmi__ses_key_set(&k, kb, gold[j].klen));
		CHECK_OK(qvmi__ses_mac(&k, QVMI_SES_ROLE_CLIENT, t, sizeof(t),
				       NULL, 0, c));
		check_hex(c, gold[j].client, QVMI_SES_MAC);
		/* The server's MAC covers the client's. */
		CHECK_OK(qvmi__ses_mac(&k, QVMI_SES_ROLE_SERVER, t, sizeof(t),
				       c, sizeof(c), s));
		check_hex(s, gold[j].server, QVMI_SES_MAC);
		qvmi__ses_key_clear(&k);
	}
}

/* Nonces are fresh; the MAC compare sees a difference at any byte; a MAC
 * without a key is refused. */
static void t_ses_nonce_compare(void)
{
	uint8_t n1[QVMI_SES_NONCE], n2[QVMI_SES_NONCE], zero[QVMI_SES_NONCE];
	uint8_t a[QVMI_SES_MAC], b[QVMI_SES_MAC];
	struct qvmi_ses_key none = { 0 };

	memset(zero, 0, sizeof(zero));
	CHECK_OK(qvmi__ses_nonce(n1));
	CHECK_OK(qvmi__ses_nonce(n2));
	CHECK(memcmp(n1, n2, sizeof(n1)));
	CHECK(memcmp(n1, zero, sizeof(n1)));
	test_bytes(a, sizeof(a));
	memcpy(b, a, sizeof(b));
	CHECK(qvmi__ses_mac_equal(a, b));
	for (size_t i = 0; i < sizeof(a); i++) {
		b[i] ^= 0x80;
		CHECK(!qvmi__ses_mac_equal(a, b));
		b[i] ^= 0x81;
		CHECK(!qvmi__ses_mac_equal(a, b));
		b[i] ^= 0x01;
	}
	CHECK(qvmi__ses_mac_equal(a, b));
	CHECK_INT(qvmi__ses_mac(&none, QVMI_SES_ROLE_CLIENT, a, sizeof(a), NULL,
				0, b),
		  ==, -EINVAL);
}

/* xorshift64: reproducible "random" inputs (the seed is in the message). */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * libcrypto as the oracle: 2000 random messages of 0..2100 bytes (every
 * padding case, several blocks), hashed whole and in random pieces, and
 * HMAC'd under random keys of 0..300 bytes (shorter and longer than the
 * 64-byte block, which HMAC hashes first).
 */
static void t_openssl_oracle(void)
{
	uint8_t *msg = malloc(2100), key[300], a[32], b[32];
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	CHECK(msg);
	for (int i = 0; i < 2000; i++) {
		size_t len = rnd(&seed) % 2101, klen = rnd(&seed) % 301;
		struct qvmi_sha256 st;
		unsigned int n = 0;

		for (size_t j = 0; j < len; j++)
			msg[j] = (uint8_t)rnd(&seed);
		for (size_t j = 0; j < klen; j++)
			key[j] = (uint8_t)rnd(&seed);
		qvmi__sha256(msg, len, a);
		CHECK(EVP_Digest(msg, len, b, &n, EVP_sha256(), NULL));
		if (memcmp(a, b, 32))
			CHECK_INT(i, ==, -1); /* names the case */
		qvmi__sha256_init(&st);
		for (size_t off = 0, k; off < len; off += k) {
			k = rnd(&seed) % 200; /* not in QVMI_MIN: twice */
			k = QVMI_MIN(len - off, k);
			qvmi__sha256_update(&st, msg + off, k);
		}
		qvmi__sha256_final(&st, a);
		CHECK(!memcmp(a, b, 32));
		qvmi__sha256_hmac(key, klen, msg, len, a);
		CHECK(HMAC(EVP_sha256(), key, (int)klen, msg, len, b, &n));
		if (memcmp(a, b, 32))
			CHECK_INT(i, ==, -2);
	}
	free(msg);
}

static const struct qvmi_test sha256_tests[] = {
	{ "fips_vectors", t_fips_vectors },
	{ "million_a", t_million_a },
	{ "length_boundaries", t_length_boundaries },
	{ "streaming_pieces", t_streaming_pieces },
	{ "rfc4231", t_rfc4231 },
	{ "hmac_key_lengths", t_hmac_key_lengths },
	{ "ses_mac_golden", t_ses_mac_golden },
	{ "ses_nonce_compare", t_ses_nonce_compare },
	{ "openssl_oracle", t_openssl_oracle },
};
QVMI_SUITE(sha256, sha256_tests);
