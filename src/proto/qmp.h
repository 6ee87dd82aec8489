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

#include "core/internal.h"

struct json_object;
struct qvmi_qmp;

/* Connect to a QMP unix socket, read the greeting, send qmp_capabilities. */
QVMI_HIDDEN int qvmi_qmp_open(struct qvmi_ctx *ctx, const char *path,
			      int timeout_ms, struct qvmi_qmp **ret);
/* Same over a connected stream fd; takes ownership of fd (closed on error). */
QVMI_HIDDEN int qvmi_qmp_open_fd(struct qvmi_ctx *ctx, int fd, int timeout_ms,
				 struct qvmi_qmp **ret);
QVMI_HIDDEN void qvmi_qmp_close(struct qvmi_qmp *q);

/*
 * Run a command.  args is borrowed and may be NULL.  On success *ret (if
 * ret is non-NULL) receives the "return" member, owned by the caller
 * (json_object_put).  A QMP error reply gives -EREMOTEIO with its class and
 * desc in the ctx message; a closed socket -EPIPE; garbage -EPROTO; no reply
 * in time -ETIMEDOUT.
 */
QVMI_HIDDEN int qvmi_qmp_execute(struct qvmi_qmp *q, const char *cmd,
				 struct json_object *args,
				 struct json_object **ret);
/* human-monitor-command; *ret is malloc'd output text. */
QVMI_HIDDEN int qvmi_qmp_hmp(struct qvmi_qmp *q, const char *cmdline,
			     char **ret);

/* Read whatever events are pending, waiting at most timeout_ms (0: don't
 * block).  Returns the number of queued events, or a negative errno. */
QVMI_HIDDEN int qvmi_qmp_poll(struct qvmi_qmp *q, int timeout_ms);
/* Oldest queued event (caller owns it), or -ENOENT. */
QVMI_HIDDEN int qvmi_qmp_event_pop(struct qvmi_qmp *q,
				   struct json_object **ret);
typedef void (*qvmi_qmp_event_fn)(const char *event, struct json_object *ev,
				  void *arg);
/* Called for every event as it is read, before it is queued. */
QVMI_HIDDEN void qvmi_qmp_set_event_cb(struct qvmi_qmp *q, qvmi_qmp_event_fn fn,
				       void *arg);

QVMI_HIDDEN int qvmi_qmp_fd(const struct qvmi_qmp *q);
/* QEMU's pid from SO_PEERCRED on the socket, or 0. */
QVMI_HIDDEN pid_t qvmi_qmp_peer_pid(const struct qvmi_qmp *q);
/* "7.2.22" from the greeting. */
QVMI_HIDDEN const char *qvmi_qmp_version(const struct qvmi_qmp *q);

/* Control backend over QMP (stop/cont/query-status, info registers -a,
 * STOP/RESUME events).  q stays owned by ctx->qmp. */
QVMI_HIDDEN int qvmi__ctl_qmp_install(struct qvmi_ctx *ctx, struct qvmi_qmp *q);

#endif
