/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), in-tree like libgit2's
 * builtin SHA: the session handshake MACs a few hundred bytes, and linking
 * libcrypto for that cost every short-lived qvmi process its constructor
 * (CPUID probing) and page faults.  Small and plain, not fast.
 *
 * A *_final() wipes the state it finishes; the one-shot helpers leave
 * nothing of the key or the data on the stack.
 */
#ifndef QVMI_CORE_SHA256_H
#define QVMI_CORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

enum {
	QVMI_SHA256_BLOCK = 64,
	QVMI_SHA256_LEN = 32,
};

struct qvmi_sha256 {
	uint32_t h[8];
	uint64_t len; /* bytes hashed so far; len % 64 of them are in buf */
	uint8_t buf[QVMI_SHA256_BLOCK];
};

struct qvmi_sha256_hmac {
	struct qvmi_sha256 inner, outer;
};

QVMI_HIDDEN void qvmi__sha256_init(struct qvmi_sha256 *s);
QVMI_HIDDEN void qvmi__sha256_update(struct qvmi_sha256 *s, const void *data,
				     size_t len);
QVMI_HIDDEN void qvmi__sha256_final(struct qvmi_sha256 *s,
				    uint8_t ret[QVMI_SHA256_LEN]);
QVMI_HIDDEN void qvmi__sha256(const void *data, size_t len,
			      uint8_t ret[QVMI_SHA256_LEN]);

/* Any key length: keys longer than a block are hashed first (RFC 2104). */
QVMI_HIDDEN void qvmi__sha256_hmac_init(struct qvmi_sha256_hmac *h,
					const void *key, size_t klen);
QVMI_HIDDEN void qvmi__sha256_hmac_update(struct qvmi_sha256_hmac *h,
					  const void *data, size_t len);
QVMI_HIDDEN void qvmi__sha256_hmac_final(struct qvmi_sha256_hmac *h,
					 uint8_t ret[QVMI_SHA256_LEN]);
QVMI_HIDDEN void qvmi__sha256_hmac(const void *key, size_t klen,
				   const void *data, size_t len,
				   uint8_t ret[QVMI_SHA256_LEN]);

#endif
