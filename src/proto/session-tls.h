/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TLS 1.3 under the session protocol on TCP and vsock (docs/PROTOCOL.md
 * "Channel protection"): OpenSSL with an external PSK derived from the
 * session key file and bound to a PSK identity, (EC)DHE-PSK key exchange
 * (fresh keys per connection), TLS_AES_128_GCM_SHA256 only, no tickets.
 * The side that connected is the TLS client.
 *
 * libssl is dlopen()ed at the first TLS session, not linked: the static
 * qvmi CLI and every libqvmi user that never opens a TCP or vsock session
 * pay nothing for it (BENCHMARKS.md, "TLS").
 *
 * Unix sockets stay plain (0600, same uid): these functions are not used
 * there.
 */
#ifndef QVMI_PROTO_SESSION_TLS_H
#define QVMI_PROTO_SESSION_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/base.h"
#include "proto/session-auth.h"

enum qvmi_ses_tls_mode {
	QVMI_SES_TLS_NONE = 0, /* plain: unix sockets */
	QVMI_SES_TLS_CLIENT, /* we connected */
	QVMI_SES_TLS_SERVER, /* we accepted */
};

enum {
	/* "qvmi-vm/1 " + 32 hex + " " + a 255-byte name */
	QVMI_SES_TLS_ID_MAX = 10 + 32 + 1 + 255,
};

/* The PSK identity of a tool (it dials qvmid). */
#define QVMI_SES_TLS_ID_TOOL "qvmi-tool/1"
/* The PSK identity of a VM (qvmid dials a tool): prefix, uuid, name. */
#define QVMI_SES_TLS_ID_VM "qvmi-vm/1 "

struct qvmi_ses_tls_id {
	bool vm; /* a VM's identity; false: the tool's */
	uint8_t uuid[16]; /* all zero: unknown */
	char name[QVMI_SES_TLS_ID_MAX + 1]; /* NUL-terminated */
};

/*
 * Parse a PSK identity (bytes from the network): exactly
 * QVMI_SES_TLS_ID_TOOL, or QVMI_SES_TLS_ID_VM, 32 lowercase hex digits,
 * one space, then a name of 0..255 bytes with no control character
 * (< 0x20, 0x7f).  -EINVAL and *why otherwise.  Pure: fuzzed
 * (fuzz/session-tls-id.c).
 */
QVMI_HIDDEN int qvmi__ses_tls_id_parse(const uint8_t *id, size_t len,
				       struct qvmi_ses_tls_id *ret,
				       const char **why);
/* A VM's identity text into buf (QVMI_SES_TLS_ID_MAX + 1 bytes); -EINVAL
 * if the name is longer than 255 bytes or has a control character. */
QVMI_HIDDEN int qvmi__ses_tls_id_vm(char *buf, const uint8_t uuid[16],
				    const char *name);

struct qvmi_ses_tls;

/*
 * Wrap a connected non-blocking stream fd (still the caller's: never
 * closed here).  CLIENT sends identity (QVMI_SES_TLS_ID_MAX bytes at most);
 * SERVER accepts only a tool identity (want_vm false) or a VM identity
 * (want_vm true).  The PSK is HMAC-SHA256(key, "qvmi-session/1 tls psk"
 * || 0 || identity).  -ENOPKG if libssl.so.3 cannot be loaded; *why says
 * what failed.
 */
QVMI_HIDDEN int qvmi__ses_tls_new(int fd, enum qvmi_ses_tls_mode mode,
				  const struct qvmi_ses_key *key,
				  const char *identity, bool want_vm,
				  struct qvmi_ses_tls **ret, const char **why);
/*
 * A SERVER for VM identities with per-VM keys: the key is the one
 * qvmi__ses_keydir_load() finds in the directory keydir (still the
 * caller's) for the uuid of the client's identity, loaded during the
 * handshake (each connection reads the directory anew).  A uuid without a
 * usable key fails the client's binder like a wrong key; the handshake
 * then gives -EACCES, and qvmi__ses_tls_why() names the uuid.
 */
QVMI_HIDDEN int qvmi__ses_tls_new_keydir(int fd, int keydir,
					 struct qvmi_ses_tls **ret,
					 const char **why);
/* A copy of the key the handshake used (the caller's, or the VM's from
 * the key directory), for the session handshake inside TLS; -EACCES if
 * there is none.  Free with qvmi__ses_key_clear(). */
QVMI_HIDDEN int qvmi__ses_tls_key(const struct qvmi_ses_tls *t,
				  struct qvmi_ses_key *ret);
QVMI_HIDDEN void qvmi__ses_tls_free(struct qvmi_ses_tls *t);

/*
 * One step of the handshake.  0: done; -EAGAIN: wait for *events
 * (POLLIN/POLLOUT) and call again; -EACCES: the key or the identity does
 * not match (ours or the peer's verdict); -ECONNRESET: the peer closed
 * before the handshake ended; -EPROTO: not TLS 1.3 with our PSK (a
 * plaintext client, ...).  qvmi__ses_tls_why() says more.
 */
QVMI_HIDDEN int qvmi__ses_tls_handshake(struct qvmi_ses_tls *t, short *events);
/*
 * Like recv/send on a non-blocking socket: > 0 bytes moved; read 0: EOF;
 * -EAGAIN: wait for *events; -EPROTO: a record failed its integrity check
 * or broke the protocol (altered, replayed, reordered, spliced, or not
 * TLS); -EPIPE: the connection failed.  The session must end after any
 * error but -EAGAIN.
 */
QVMI_HIDDEN ssize_t qvmi__ses_tls_read(struct qvmi_ses_tls *t, void *buf,
				       size_t len, short *events);
QVMI_HIDDEN ssize_t qvmi__ses_tls_write(struct qvmi_ses_tls *t, const void *buf,
					size_t len, short *events);
/* Decrypted bytes (or a whole record) are buffered: do not wait for the
 * socket before reading them. */
QVMI_HIDDEN bool qvmi__ses_tls_pending(struct qvmi_ses_tls *t);
/* The identity the peer presented (a server, after the handshake). */
QVMI_HIDDEN const struct qvmi_ses_tls_id *
qvmi__ses_tls_peer(const struct qvmi_ses_tls *t);
/* The last failure's text (OpenSSL's reason), or "". */
QVMI_HIDDEN const char *qvmi__ses_tls_why(const struct qvmi_ses_tls *t);

#endif
