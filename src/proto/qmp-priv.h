/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The QMP client's state, shared by qmp.c (sockets), qmp-share.c (the
 * proxy's byte queue) and qmp-xport.c (transports that are not sockets:
 * libvirt's monitor API).  Never included outside src/proto/.
 */
#ifndef QVMI_PROTO_QMP_PRIV_H
#define QVMI_PROTO_QMP_PRIV_H

#include "qmp.h"

enum {
	/* Commands in flight from qvmi__qmp_send; QEMU 7.2 queues up to 8
	 * per monitor (QMP_REQ_QUEUE_LEN_MAX) and stops reading past that. */
	MAX_PENDING = 8,
	/* Queued lines with fds at once (qvmi__qmp_queue_fds). */
	MAX_FD_MARKS = 64,
};

/* fds to go with the queued byte at stream offset pos (SCM_RIGHTS). */
struct fd_mark {
	uint64_t pos;
	int fds[QVMI_QMP_MAX_FDS];
	unsigned int n;
};

/* A command sent without waiting; its reply goes to fn. */
struct pending {
	char id[24];
	char cmd[48];
	qvmi_qmp_reply_fn fn;
	void *arg;
};

struct qvmi_qmp {
	struct qvmi_ctx *ctx;
	int fd;
	int timeout_ms;
	int broken; /* sticky fatal error (-EPIPE, -EPROTO, -EMSGSIZE) */
	uint64_t next_id;
	pid_t peer_pid;
	char version[32];
	struct qvmi_json_stream js;
	struct json_object *events[QVMI_QMP_MAX_EVENTS];
	size_t ev_head, ev_count;
	uint64_t ev_dropped;
	qvmi_qmp_event_fn ev_fn;
	void *ev_arg;
	qvmi_qmp_tap_fn tap_fn;
	void *tap_arg;
	char *obuf; /* qvmi__qmp_queue'd bytes: obuf[ooff, olen) */
	size_t ooff, olen, ocap;
	uint64_t obase; /* stream offset of obuf[0] */
	struct fd_mark marks[MAX_FD_MARKS]; /* in stream order */
	unsigned int nmarks;
	char *greeting;
	size_t greeting_len;
	struct pending pend[MAX_PENDING]; /* in send order */
	size_t npend;
	/* Not a socket (fd -1): commands go through xops (qmp-xport.c). */
	const struct qvmi_qmp_xport_ops *xops;
	void *xpriv;
};

QVMI_HIDDEN int qvmi__qmp_break(struct qvmi_qmp *q, int err, const char *what);
/* q is broken: the error, with a message (qmp-share.c). */
QVMI_HIDDEN int qvmi__qmp_broken(struct qvmi_qmp *q);
/* Send the queued bytes before deadline (0: without waiting: -ETIMEDOUT
 * when the socket is full), or through the transport (qmp-share.c). */
QVMI_HIDDEN int qvmi__qmp_send_queued(struct qvmi_qmp *q, int64_t deadline);
QVMI_HIDDEN int qvmi__qmp_parse_greeting(struct qvmi_qmp *q,
					 struct json_object *msg);
/* Run the queued command lines through q->xops, in order, each reply fed
 * to the stream as if read from a socket: 0 or a negative errno (the
 * connection is then broken). */
QVMI_HIDDEN int qvmi__qmp_xport_run(struct qvmi_qmp *q);

#endif
