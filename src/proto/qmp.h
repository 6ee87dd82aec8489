/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * QMP client (json-c).  One connection; commands carry ids; asynchronous
 * events that arrive while waiting for a reply are queued; every wait has
 * a timeout.  Errors are reported on the owning ctx.
 */
#ifndef QVMI_PROTO_QMP_H
#define QVMI_PROTO_QMP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/base.h"

struct json_object;
struct json_tokener;
struct qvmi_qmp;

enum {
	/* Largest QMP message accepted.  HMP "info mtree" is ~100 KB and
	 * an xp chunk ~120 KB; anything near this limit is hostile. */
	QVMI_QMP_MAX_MSG = 16 << 20,
	/* Events kept for qvmi__qmp_event_pop; older ones are dropped. */
	QVMI_QMP_MAX_EVENTS = 1024,
	/* fds with one line: QEMU 7.2's chardev keeps 16 (TCP_MAX_FDS). */
	QVMI_QMP_MAX_FDS = 16,
};

/*
 * Splits a byte stream into JSON values (QMP puts one per line, but a
 * read may hold several or half of one).  Embedded state: _init/_deinit.
 * Shared by the QMP client and the daemon's QMP proxy.
 */
struct qvmi_json_stream {
	struct json_tokener *tok;
	char *buf;
	size_t off, len, cap; /* unparsed bytes are buf[off, len) */
	size_t msg_bytes; /* bytes fed to tok for the value being parsed */
	size_t start; /* where the value being parsed (or the last) began */
	size_t raw_len; /* length of the last complete value's text, or 0 */
	size_t max_msg;
	int err; /* sticky: once desynchronised, the stream stays broken */
};

QVMI_HIDDEN int qvmi__json_stream_init(struct qvmi_json_stream *js,
				       size_t max_msg);
QVMI_HIDDEN void qvmi__json_stream_deinit(struct qvmi_json_stream *js);
/* Append bytes.  -EMSGSIZE if more than max_msg bytes would be pending. */
QVMI_HIDDEN int qvmi__json_stream_feed(struct qvmi_json_stream *js,
				       const void *data, size_t len);
/*
 * Next complete value: 1 and *ret (caller owns it), 0 when more bytes are
 * needed, -EBADMSG on malformed JSON, -EMSGSIZE when one value exceeds
 * max_msg.  Errors are sticky.
 */
QVMI_HIDDEN int qvmi__json_stream_next(struct qvmi_json_stream *js,
				       struct json_object **ret);
/*
 * The text of the value the last successful _next returned (trailing
 * whitespace trimmed), valid until the next _feed; NULL if none.  Lets a
 * proxy pass a message on byte for byte.
 */
QVMI_HIDDEN const char *qvmi__json_stream_raw(const struct qvmi_json_stream *js,
					      size_t *len);
/* True if part of a value has been received but not completed. */
QVMI_HIDDEN bool qvmi__json_stream_partial(const struct qvmi_json_stream *js);

/* Connect to a QMP unix socket, read the greeting, send qmp_capabilities. */
QVMI_HIDDEN int qvmi__qmp_open(struct qvmi_ctx *ctx, const char *path,
			       int timeout_ms, struct qvmi_qmp **ret);
/* Same over a connected stream fd; takes ownership of fd (closed on error). */
QVMI_HIDDEN int qvmi__qmp_open_fd(struct qvmi_ctx *ctx, int fd, int timeout_ms,
				  struct qvmi_qmp **ret);
QVMI_HIDDEN void qvmi__qmp_close(struct qvmi_qmp *q);

/*
 * A transport that is not a socket: libvirt's virDomainQemuMonitorCommand
 * (proto/libvirt.c), where libvirt holds QEMU's only QMP connection (QEMU
 * 7.2 serves one client at a time).  exec runs one command, cmd a JSON
 * object without "id", and gives QEMU's reply (a JSON object, malloc'd)
 * in *ret, or a negative errno with the message set on ctx.  No events
 * come through it, and commands run one after another (no pipelining).
 */
struct qvmi_qmp_xport_ops {
	const char *name;
	int (*exec)(void *priv, struct qvmi_ctx *ctx, const char *cmd,
		    char **ret);
	void (*destroy)(void *priv); /* may be NULL */
};
/* A connection over ops: asks query-version for what a socket's greeting
 * says.  priv is taken (destroyed on error too). */
QVMI_HIDDEN int qvmi__qmp_open_xport(struct qvmi_ctx *ctx,
				     const struct qvmi_qmp_xport_ops *ops,
				     void *priv, int timeout_ms,
				     struct qvmi_qmp **ret);
/* The transport's name ("libvirt"), or NULL for a socket. */
QVMI_HIDDEN const char *qvmi__qmp_xport_name(const struct qvmi_qmp *q);
/* Timeout of each later exchange, ms (> 0). */
QVMI_HIDDEN void qvmi__qmp_set_timeout(struct qvmi_qmp *q, int timeout_ms);

/*
 * Run a command.  args is borrowed and may be NULL.  On success *ret (if
 * ret is non-NULL) receives the "return" member, owned by the caller
 * (json_object_put).  A QMP error reply gives -EREMOTEIO with its class and
 * desc in the ctx message; a closed socket -EPIPE; garbage -EPROTO; a
 * message over QVMI_QMP_MAX_MSG -EMSGSIZE; no reply in time -ETIMEDOUT.
 * -EPIPE, -EPROTO and -EMSGSIZE break the connection for good; after
 * -ETIMEDOUT it stays usable (the late reply is recognised by its id and
 * dropped).
 */
QVMI_HIDDEN int qvmi__qmp_execute(struct qvmi_qmp *q, const char *cmd,
				  struct json_object *args,
				  struct json_object **ret);
/*
 * Pipelining: queue a command without waiting for its reply; queued lines
 * go out in one write at the next qvmi__qmp_execute or _sync (or _flush).
 * QEMU answers in order, so several commands cost one round trip.  The
 * reply is handed
 * to fn (may be NULL: dropped, errors logged) by whichever later call
 * reads it: qvmi__qmp_execute, _poll or _sync.  ret is borrowed for the
 * call; err is 0 or as for qvmi__qmp_execute.  fn must not call into q.
 * After a failed wait (timeout, broken connection) the callbacks still
 * due are forgotten, so their arg may go away.
 */
typedef void (*qvmi_qmp_reply_fn)(int err, struct json_object *ret, void *arg);
QVMI_HIDDEN int qvmi__qmp_send(struct qvmi_qmp *q, const char *cmd,
			       struct json_object *args, qvmi_qmp_reply_fn fn,
			       void *arg);
/* Wait until every command from qvmi__qmp_send is answered. */
QVMI_HIDDEN int qvmi__qmp_sync(struct qvmi_qmp *q);
/* human-monitor-command; *ret is malloc'd output text. */
QVMI_HIDDEN int qvmi__qmp_hmp(struct qvmi_qmp *q, const char *cmdline,
			      char **ret);

/* Read whatever events are pending, waiting at most timeout_ms (0: don't
 * block).  Returns the number of queued events, or a negative errno. */
QVMI_HIDDEN int qvmi__qmp_poll(struct qvmi_qmp *q, int timeout_ms);
/* Oldest queued event (caller owns it), or -ENOENT. */
QVMI_HIDDEN int qvmi__qmp_event_pop(struct qvmi_qmp *q,
				    struct json_object **ret);
typedef void (*qvmi_qmp_event_fn)(const char *event, struct json_object *ev,
				  void *arg);
/* Called for every event as it is read, before it is queued; ev is
 * borrowed.  It runs inside execute/poll: it must not call into q. */
QVMI_HIDDEN void qvmi__qmp_set_event_cb(struct qvmi_qmp *q,
					qvmi_qmp_event_fn fn, void *arg);
/* The callback currently set (to chain to it). */
QVMI_HIDDEN void qvmi__qmp_get_event_cb(const struct qvmi_qmp *q,
					qvmi_qmp_event_fn *fn, void **arg);

/*
 * Sharing the connection (qvmid's QMP proxy).  The tap sees, in arrival
 * order, every event (after the event callback) and every reply that
 * libqvmi did not wait for, with its raw text (valid during the call).  It
 * must not call back into q.
 */
typedef void (*qvmi_qmp_tap_fn)(struct json_object *msg, const char *raw,
				size_t len, void *arg);
QVMI_HIDDEN void qvmi__qmp_set_tap(struct qvmi_qmp *q, qvmi_qmp_tap_fn fn,
				   void *arg);
/*
 * Queue bytes (whole lines only) to send to the peer.  They go out before
 * any later qvmi__qmp_execute's command, so lines never interleave.
 */
QVMI_HIDDEN int qvmi__qmp_queue(struct qvmi_qmp *q, const void *data,
				size_t len);
/*
 * Same, with fds that go with the line's first byte (SCM_RIGHTS), as a
 * QMP client passes them to getfd or add-fd.  On success the fds are
 * taken (closed once sent, or with q); on error they stay the caller's.
 */
QVMI_HIDDEN int qvmi__qmp_queue_fds(struct qvmi_qmp *q, const void *data,
				    size_t len, const int *fds,
				    unsigned int nfds);
/* Send queued bytes without blocking: bytes still queued, or -errno. */
QVMI_HIDDEN ssize_t qvmi__qmp_flush(struct qvmi_qmp *q);
QVMI_HIDDEN size_t qvmi__qmp_queued(const struct qvmi_qmp *q);
/* The greeting as the peer sent it (no line end); valid while q lives. */
QVMI_HIDDEN const char *qvmi__qmp_greeting(const struct qvmi_qmp *q,
					   size_t *len);

QVMI_HIDDEN int qvmi__qmp_fd(const struct qvmi_qmp *q);
/* QEMU's pid from SO_PEERCRED on the socket, or 0. */
QVMI_HIDDEN pid_t qvmi__qmp_peer_pid(const struct qvmi_qmp *q);
/* "7.2.22" from the greeting. */
QVMI_HIDDEN const char *qvmi__qmp_version(const struct qvmi_qmp *q);
/* The ctx errors are reported on. */
QVMI_HIDDEN struct qvmi_ctx *qvmi__qmp_ctx(const struct qvmi_qmp *q);

/* Control backend over QMP (stop/cont/query-status, info registers -a,
 * STOP/RESUME events).  q stays owned by ctx->qmp.  q NULL: a lazy
 * backend (an attach from the layout cache), which connects through
 * qvmi__qmp_need() on its first operation. */
QVMI_HIDDEN int qvmi__ctl_qmp_install(struct qvmi_ctx *ctx, struct qvmi_qmp *q);
/* ctx->qmp has just been connected: a lazy QMP backend starts using it
 * (events, the VM's state).  No-op for other backends. */
QVMI_HIDDEN int qvmi__ctl_qmp_bind(struct qvmi_ctx *ctx);

#endif
