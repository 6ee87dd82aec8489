// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sharing a QMP connection (proto/qmp.h): qvmid's QMP proxy forwards its
 * clients' lines through the client's own socket.  Bytes (and the fds
 * that go with them, SCM_RIGHTS) are queued in stream order behind the
 * client's own commands and flushed without blocking; a tap sees every
 * message read.  The connection itself is qmp.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qmp-priv.h"

void qvmi__qmp_set_tap(struct qvmi_qmp *q, qvmi_qmp_tap_fn fn, void *arg)
{
	q->tap_fn = fn;
	q->tap_arg = arg;
}

int qvmi__qmp_queue(struct qvmi_qmp *q, const void *data, size_t len)
{
	if (q->broken)
		return qvmi__qmp_broken(q);
	if (len > q->ocap - q->olen && q->ooff) { /* compact first */
		memmove(q->obuf, q->obuf + q->ooff, q->olen - q->ooff);
		q->obase += q->ooff;
		q->olen -= q->ooff;
		q->ooff = 0;
	}
	if (len > q->ocap - q->olen) {
		size_t cap = QVMI_MAX(q->ocap * 2, q->olen + len);
		char *nb = realloc(q->obuf, QVMI_MAX(cap, (size_t)4096));

		if (!nb)
			return qvmi__err(q->ctx, -ENOMEM, "out of memory");
		q->obuf = nb;
		q->ocap = QVMI_MAX(cap, (size_t)4096);
	}
	memcpy(q->obuf + q->olen, data, len);
	q->olen += len;
	return 0;
}

int qvmi__qmp_queue_fds(struct qvmi_qmp *q, const void *data, size_t len,
			const int *fds, unsigned int nfds)
{
	struct fd_mark *m;
	int err;

	if (!nfds)
		return qvmi__qmp_queue(q, data, len);
	if (q->broken)
		return qvmi__qmp_broken(q);
	if (!len || nfds > QVMI_QMP_MAX_FDS || q->nmarks == MAX_FD_MARKS)
		return qvmi__err(q->ctx, -ENOBUFS, "QMP: too many fds queued");
	m = &q->marks[q->nmarks];
	m->pos = q->obase + q->olen;
	err = qvmi__qmp_queue(q, data, len);
	if (err)
		return err;
	m->pos = q->obase + q->olen - len; /* a compaction moved obase */
	memcpy(m->fds, fds, nfds * sizeof(int));
	m->n = nfds;
	q->nmarks++;
	return 0;
}

ssize_t qvmi__qmp_flush(struct qvmi_qmp *q)
{
	int err;

	if (q->broken)
		return qvmi__qmp_broken(q);
	err = qvmi__qmp_send_queued(q, 0);
	if (err < 0 && err != -ETIMEDOUT)
		return err;
	return (ssize_t)(q->olen - q->ooff);
}

size_t qvmi__qmp_queued(const struct qvmi_qmp *q)
{
	return q->olen - q->ooff;
}

const char *qvmi__qmp_greeting(const struct qvmi_qmp *q, size_t *len)
{
	*len = q->greeting_len;
	return q->greeting;
}
