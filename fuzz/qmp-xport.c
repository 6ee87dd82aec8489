// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the QMP client over a transport that is not a socket
 * (src/proto/qmp-xport.c: libvirt's virDomainQemuMonitorCommand): the
 * input, split at NUL bytes, is the transport's replies in turn, the
 * first to query-version (the greeting), then to a command, an HMP
 * command and two pipelined commands.  A missing reply fails the
 * transport, as a domain that went away does.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct script {
	const uint8_t *data;
	size_t size, off;
};

static int script_exec(void *priv, struct qvmi_ctx *ctx, const char *cmd,
		       char **ret)
{
	struct script *s = priv;
	const uint8_t *p = s->data + s->off, *nul;
	size_t left = s->size - s->off, len;

	(void)cmd;
	*ret = NULL;
	if (s->off >= s->size)
		return qvmi__err(ctx, -EPIPE, "script ended");
	nul = memchr(p, 0, left);
	len = nul ? (size_t)(nul - p) : left;
	s->off += nul ? len + 1 : len;
	*ret = malloc(len + 1);
	if (!*ret)
		return -ENOMEM;
	memcpy(*ret, p, len);
	(*ret)[len] = '\0';
	return 0;
}

static const struct qvmi_qmp_xport_ops script_ops = {
	.name = "fuzz",
	.exec = script_exec,
};

static void reply(int err, struct json_object *ret, void *arg)
{
	(void)err;
	(void)ret;
	(void)arg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script s = { data, size, 0 };
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_qmp *q = NULL;
	struct json_object *r;
	char *out;

	if (qvmi_ctx_create(&ctx))
		return 0;
	if (qvmi__qmp_open_xport(ctx, &script_ops, &s, 50, &q) == 0) {
		if (qvmi__qmp_execute(q, "query-status", NULL, &r) == 0)
			json_object_put(r);
		if (qvmi__qmp_hmp(q, "info mtree -f", &out) == 0)
			free(out);
		if (!qvmi__qmp_send(q, "a", NULL, reply, NULL) &&
		    !qvmi__qmp_send(q, "b", NULL, NULL, NULL))
			qvmi__qmp_sync(q);
		qvmi__qmp_poll(q, 0);
		qvmi__qmp_close(q);
	}
	qvmi_ctx_destroy(ctx);
	return 0;
}
