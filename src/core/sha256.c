// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * SHA-256 after FIPS 180-4 section 6.2, HMAC after RFC 2104.  Words are
 * read and written big-endian byte by byte, so the host's byte order never
 * matters, and every shift is on a uint32_t/uint64_t by less than its width.
 */
#include <string.h>

#include "sha256.h"

static const uint32_t k256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* n is 2..25 at every call. */
static uint32_t ror(uint32_t x, unsigned int n)
{
	return (x >> n) | (x << (32 - n));
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One 64-byte block into h (FIPS 180-4 6.2.2). */
static void compress(uint32_t h[8], const uint8_t *block)
{
	uint32_t w[64], v[8];

	for (int i = 0; i < 16; i++)
		w[i] = get_be32(block + 4 * i);
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^
			      (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^
			      (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	memcpy(v, h, sizeof(v));
	for (int i = 0; i < 64; i++) {
		/* v[0..7] are a..h */
		uint32_t e = v[4], a = v[0];
		uint32_t t1 = v[7] + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) +
			      ((e & v[5]) ^ (~e & v[6])) + k256[i] + w[i];
		uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) +
			      ((a & v[1]) ^ (a & v[2]) ^ (v[1] & v[2]));

		memmove(v + 1, v, 7 * sizeof(v[0]));
		v[4] += t1; /* e = d + t1 */
		v[0] = t1 + t2;
	}
	for (int i = 0; i < 8; i++)
		h[i] += v[i];
	explicit_bzero(w, sizeof(w));
	explicit_bzero(v, sizeof(v));
}

void qvmi__sha256_init(struct qvmi_sha256 *s)
{
	static const uint32_t h0[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memset(s, 0, sizeof(*s));
	memcpy(s->h, h0, sizeof(h0));
}

void qvmi__sha256_update(struct qvmi_sha256 *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len) {
		size_t used = (size_t)(s->len % QVMI_SHA256_BLOCK);
		size_t n = QVMI_SHA256_BLOCK - used;

		if (n > len)
			n = len;
		memcpy(s->buf + used, p, n);
		s->len += n;
		p += n;
		len -= n;
		if (s->len % QVMI_SHA256_BLOCK == 0)
			compress(s->h, s->buf);
	}
}

/* Pad with 0x80, zeros up to 56 mod 64, then the length in bits (5.1.1). */
void qvmi__sha256_final(struct qvmi_sha256 *s, uint8_t ret[QVMI_SHA256_LEN])
{
	static const uint8_t pad[QVMI_SHA256_BLOCK] = { 0x80 };
	uint64_t bits = s->len * 8;
	uint8_t lenbe[8];

	put_be32(lenbe, (uint32_t)(bits >> 32));
	put_be32(lenbe + 4, (uint32_t)bits);
	qvmi__sha256_update(s, pad, 1);
	qvmi__sha256_update(s, pad + 1,
			    (120 - s->len % QVMI_SHA256_BLOCK) %
				    QVMI_SHA256_BLOCK);
	qvmi__sha256_update(s, lenbe, sizeof(lenbe));
	for (int i = 0; i < 8; i++)
		put_be32(ret + 4 * i, s->h[i]);
	explicit_bzero(s, sizeof(*s));
}

void qvmi__sha256(const void *data, size_t len, uint8_t ret[QVMI_SHA256_LEN])
{
	struct qvmi_sha256 s;

	qvmi__sha256_init(&s);
	qvmi__sha256_update(&s, data, len);
	qvmi__sha256_final(&s, ret);
}

void qvmi__sha256_hmac_init(struct qvmi_sha256_hmac *h, const void *key,
			    size_t klen)
{
	uint8_t k[QVMI_SHA256_BLOCK] = { 0 }, pad[QVMI_SHA256_BLOCK];

	if (klen > QVMI_SHA256_BLOCK)
		qvmi__sha256(key, klen, k);
	else if (klen)
		memcpy(k, key, klen);
	for (int i = 0; i < QVMI_SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	qvmi__sha256_init(&h->inner);
	qvmi__sha256_update(&h->inner, pad, sizeof(pad));
	for (int i = 0; i < QVMI_SHA256_BLOCK; i++)
		pad[i] = k[i] ^ 0x5c;
	qvmi__sha256_init(&h->outer);
	qvmi__sha256_update(&h->outer, pad, sizeof(pad));
	explicit_bzero(k, sizeof(k));
	explicit_bzero(pad, sizeof(pad));
}

void qvmi__sha256_hmac_update(struct qvmi_sha256_hmac *h, const void *data,
			      size_t len)
{
	qvmi__sha256_update(&h->inner, data, len);
}

void qvmi__sha256_hmac_final(struct qvmi_sha256_hmac *h,
			     uint8_t ret[QVMI_SHA256_LEN])
{
	uint8_t d[QVMI_SHA256_LEN];

	qvmi__sha256_final(&h->inner, d);
	qvmi__sha256_update(&h->outer, d, sizeof(d));
	qvmi__sha256_final(&h->outer, ret);
	explicit_bzero(d, sizeof(d));
}

void qvmi__sha256_hmac(const void *key, size_t klen, const void *data,
		       size_t len, uint8_t ret[QVMI_SHA256_LEN])
{
	struct qvmi_sha256_hmac h;

	qvmi__sha256_hmac_init(&h, key, klen);
	qvmi__sha256_hmac_update(&h, data, len);
	qvmi__sha256_hmac_final(&h, ret);
}
