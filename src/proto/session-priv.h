/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The session client's state, shared by session.c (frames, the memory
 * source, the control backend, events) and session-open.c (connect, the
 * handshake, TLS, the attach).  Never included outside src/proto/.
 */
#ifndef QVMI_PROTO_SESSION_PRIV_H
#define QVMI_PROTO_SESSION_PRIV_H

#include "core/base.h"
#include "proto/session-tls.h"

enum {
	SES_TIMEOUT_MS = 5000,
	SES_EVQ = 256, /* events kept between two qvmi_events_poll() */
	SES_POLL_BATCH = 256, /* frames read per qvmi_events_poll() */
	SES_POLL_MAX = 16 * 256, /* ... while TLS has more buffered */
};

struct ses_client {
	int fd; /* -1 once broken */
	struct qvmi_ses_tls *tls; /* TCP and vsock; NULL on unix sockets */
	int keydir; /* >= 0: per-VM keys in this directory (a listener's) */
	/* Events read while waiting for a reply, or by events_poll. */
	struct qvmi_event evq[SES_EVQ];
	unsigned int ev_head, ev_len;
	uint64_t ev_dropped;
	uint32_t ev_seq; /* last event seen */
	uint32_t last_unhook; /* seq of the latest EV_UNHOOK, 0: none */
	/* The breakpoint/step/watchpoint event the VM is stopped for (qvmid
	 * waits for EVENT_REPLY to it), 0: none; its vCPU's registers. */
	uint32_t stop_seq;
	unsigned int stop_vcpu;
	struct qvmi_regs_x86 stop_regs;
	bool stop_regs_stale; /* written (SET_REGS) since the event */
	qvmi_event_fn cb;
	void *cb_arg;
	int refs; /* the source and the control backend */
	uint32_t seq;
	int timeout_ms;
	uint32_t max_transfer;
	unsigned int vcpus;
	uint8_t *buf; /* one frame: QVMI_SES_HDR + QVMI_SES_MAX_PAYLOAD */
};

/* Close the connection (and its TLS); the client stays for its holders. */
QVMI_HIDDEN void qvmi__ses_client_break(struct ses_client *c);
/* Drop a reference: the last frees the client. */
QVMI_HIDDEN void qvmi__ses_client_unref(struct ses_client *c);
/* A malformed frame: break the session, -EPROTO with why. */
QVMI_HIDDEN int qvmi__ses_client_bad(struct qvmi_ctx *ctx, struct ses_client *c,
				     const char *why);
/* Send c->buf[HDR, HDR + len) as request msg, read its reply into c->buf:
 * the reply's payload size, or negative errno. */
QVMI_HIDDEN int qvmi__ses_client_call(struct qvmi_ctx *ctx,
				      struct ses_client *c, uint16_t msg,
				      size_t len);
/* A call whose reply must be exactly want bytes: 0 or negative errno. */
QVMI_HIDDEN int qvmi__ses_client_call_exact(struct qvmi_ctx *ctx,
					    struct ses_client *c, uint16_t msg,
					    size_t len, size_t want);
/* The memory source and the control backend over a client (session.c);
 * their priv is the client, holding a reference. */
QVMI_HIDDEN extern const struct qvmi_source_ops qvmi__ses_client_src_ops;
struct qvmi_ctl_ops;
QVMI_HIDDEN extern const struct qvmi_ctl_ops qvmi__ses_client_ctl_ops;

#endif
