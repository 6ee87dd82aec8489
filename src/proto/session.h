/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Session client internals shared by session.c (qvmi_session_open) and
 * session-listen.c (qvmi_session_accept): the handshake and the attach
 * are the same whichever side connected.
 */
#ifndef QVMI_PROTO_SESSION_H
#define QVMI_PROTO_SESSION_H

#include "core/base.h"
#include "proto/session-auth.h"
#include "proto/session-tls.h"

/*
 * On a connected stream fd (ours from now on: closed on failure): HELLO,
 * AUTH (the tool is the protocol client whichever side connected), then
 * the memory source and control backend on ctx.  timeout_ms bounds the
 * handshake and each later request (<= 0: 5000).  mode: TLS first (TCP,
 * vsock; CLIENT if we connected) or none (unix).  what names the peer in
 * the log.
 */
QVMI_HIDDEN int qvmi__ses_client_attach(struct qvmi_ctx *ctx, int fd,
					const struct qvmi_ses_key *key,
					enum qvmi_ses_tls_mode mode,
					int timeout_ms, const char *what);
/* The same as TLS's server with per-VM keys from the directory keydir
 * (qvmi__ses_tls_new_keydir); the session handshake uses the VM's key. */
QVMI_HIDDEN int qvmi__ses_client_attach_keydir(struct qvmi_ctx *ctx, int fd,
					       int keydir, int timeout_ms,
					       const char *what);
/* The session socket of an attached ctx, -1 if none or lost. */
/* "vsock:CID:PORT" (session-listen.c): connect before deadline_ms. */
QVMI_HIDDEN int qvmi__ses_connect_vsock(struct qvmi_ctx *ctx, const char *spec,
					int64_t deadline_ms, int *fd);

#endif
