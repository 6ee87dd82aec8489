/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Session authentication (docs/PROTOCOL.md "Handshake and
 * authentication"): the shared key file, fresh nonces, and the two
 * role-bound HMAC-SHA256 values over the handshake transcript.  HMAC-SHA256
 * is src/core/sha256.c (checked against FIPS 180-2 and RFC 4231 vectors and
 * against MACs recorded from OpenSSL, in tests/unit/test-sha256.c); nonces
 * come from getrandom(2).
 */
#ifndef QVMI_PROTO_SESSION_AUTH_H
#define QVMI_PROTO_SESSION_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "proto/session-wire.h"

enum {
	QVMI_SES_KEY_MIN = 32,
	QVMI_SES_KEY_MAX = 4096,
	/* Two handshake frames: HELLO request and reply. */
	QVMI_SES_TRANSCRIPT =
		2 * QVMI_SES_HDR + QVMI_SES_HELLO_REQ + QVMI_SES_HELLO_REP,
};

enum qvmi_ses_role {
	QVMI_SES_ROLE_CLIENT = 0,
	QVMI_SES_ROLE_SERVER = 1,
};

struct qvmi_ses_key {
	uint8_t *bytes;
	size_t len;
};

/*
 * Load a key file: a regular file owned by the caller's effective uid,
 * mode 0600 or 0400 (-EPERM otherwise), 32..4096 bytes (-EINVAL).  *why
 * says what was wrong.  Free with qvmi__ses_key_clear().
 */
QVMI_HIDDEN int qvmi__ses_key_load(const char *path, struct qvmi_ses_key *ret,
				   const char **why);
/*
 * Per-VM keys (a tool's listener with key_dir, docs/PROTOCOL.md "Which
 * VM"): a directory owned by the effective uid, mode 0700 or 0500 (-EPERM
 * otherwise; -ELOOP for a symbolic link), holding one key file per VM
 * named by its uuid, 32 lowercase hex digits and ".key".  _open returns
 * the directory's fd (O_DIRECTORY, close-on-exec).  _load checks the
 * directory again, then loads the uuid's file as qvmi__ses_key_load does
 * (opened without following a symbolic link, then fstat()ed: no check of
 * a name that another file can replace); the all-zero uuid has no key
 * (-ENOENT).  *why says what was wrong.
 */
enum { QVMI_SES_KEYDIR_NAME = 32 + 4 };
QVMI_HIDDEN int qvmi__ses_keydir_open(const char *path, int *ret,
				      const char **why);
QVMI_HIDDEN int qvmi__ses_keydir_load(int dirfd, const uint8_t uuid[16],
				      struct qvmi_ses_key *ret,
				      const char **why);
/* A key from memory (tests, embedding); len 32..4096. */
QVMI_HIDDEN int qvmi__ses_key_set(struct qvmi_ses_key *k, const void *bytes,
				  size_t len);
/* Wipe and free. */
QVMI_HIDDEN void qvmi__ses_key_clear(struct qvmi_ses_key *k);

/* 32 bytes from getrandom(2), the kernel's CSPRNG; -errno if it fails. */
QVMI_HIDDEN int qvmi__ses_nonce(uint8_t out[QVMI_SES_NONCE]);

/*
 * mac = HMAC-SHA256(key, label(role) || 0 || transcript || extra), where
 * label is "qvmi-session/1 client" or "qvmi-session/1 server"; the server's
 * MAC passes the client's MAC as extra.  -EINVAL if the key is not set.
 */
QVMI_HIDDEN int qvmi__ses_mac(const struct qvmi_ses_key *key,
			      enum qvmi_ses_role role,
			      const uint8_t *transcript, size_t tlen,
			      const uint8_t *extra, size_t elen,
			      uint8_t out[QVMI_SES_MAC]);
/* Constant-time equality of two MACs. */
QVMI_HIDDEN bool qvmi__ses_mac_equal(const uint8_t a[QVMI_SES_MAC],
				     const uint8_t b[QVMI_SES_MAC]);

#endif
