// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * QMP over a transport that is not a socket (qmp.h, struct
 * qvmi_qmp_xport_ops): libvirt's virDomainQemuMonitorCommand, where
 * libvirt holds QEMU's one QMP connection.  The client in qmp.c stays as
 * it is: its command lines are queued as for a socket and run here one by
 * one, and each reply goes back into its JSON stream with the command's
 * id, so replies are matched, and pipelined callers answered, as over
 * QEMU's own socket.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qmp-priv.h"

enum { XPORT_JSON_DEPTH = 64 };

/* A JSON object from len bytes of text, or NULL. */
static struct json_object *parse_object(const char *text, size_t len)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t end;

	if (len > QVMI_QMP_MAX_MSG)
		return NULL;
	tok = json_tokener_new_ex(XPORT_JSON_DEPTH);
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, text, (int)len);
	end = json_tokener_get_parse_end(tok);
	while (end < len && strchr(" \t\r\n", text[end]))
		end++;
	/* One object and nothing after it but blanks. */
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object) || end != len) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* Run one command; its reply, a JSON object, in *ret. */
static int xport_exec(struct qvmi_qmp *q, const char *cmd,
		      struct json_object **ret)
{
	char *out = NULL;
	int err = q->xops->exec(q->xpriv, q->ctx, cmd, &out);

	*ret = NULL;
	if (err < 0)
		return err;
	*ret = out ? parse_object(out, strlen(out)) : NULL;
	free(out);
	if (!*ret)
		return qvmi__qmp_break(q, -EPROTO,
				       "transport: reply is not a JSON object");
	return 0;
}

/* One queued line: the command without its id to the transport, the
 * reply with that id back into the stream. */
static int xport_line(struct qvmi_qmp *q, const char *line, size_t len)
{
	struct json_object *req = parse_object(line, len), *id = NULL;
	struct json_object *rep = NULL;
	const char *s;
	int err;

	if (!req)
		return qvmi__qmp_break(q, -EPROTO,
				       "transport: queued line is not a "
				       "JSON object");
	if (json_object_object_get_ex(req, "id", &id)) {
		json_object_get(id);
		json_object_object_del(req, "id");
	}
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	err = s ? xport_exec(q, s, &rep) :
		  qvmi__err(q->ctx, -ENOMEM, "out of memory");
	json_object_put(req);
	if (err < 0) {
		json_object_put(id);
		return err;
	}
	json_object_object_del(rep, "id"); /* libvirt's own */
	if (id)
		json_object_object_add(rep, "id", id);
	s = json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PLAIN);
	err = s ? qvmi__json_stream_feed(&q->js, s, strlen(s)) : -ENOMEM;
	if (!err)
		err = qvmi__json_stream_feed(&q->js, "\n", 1);
	json_object_put(rep);
	if (err == -EMSGSIZE)
		return qvmi__qmp_break(q, err, "message larger than the limit");
	return err ? qvmi__err(q->ctx, err, "out of memory") : 0;
}

int qvmi__qmp_xport_run(struct qvmi_qmp *q)
{
	int err = 0;

	while (!err && q->ooff < q->olen) {
		const char *p = q->obuf + q->ooff;
		size_t left = q->olen - q->ooff;
		const char *nl = memchr(p, '\n', left);
		size_t len = nl ? (size_t)(nl - p) : left;

		q->ooff += nl ? len + 1 : len;
		if (len)
			err = xport_line(q, p, len);
	}
	if (err < 0 && !q->broken)
		q->broken = -EPIPE; /* the transport failed: like a socket */
	q->obase += q->olen;
	q->ooff = q->olen = 0;
	return err;
}

/* What a socket's greeting says, from query-version. */
static int xport_greet(struct qvmi_qmp *q)
{
	struct json_object *rep = NULL, *ver, *g, *qmp;
	const char *s;
	int err = xport_exec(q, "{\"execute\":\"query-version\"}", &rep);

	if (err < 0)
		return err;
	if (!json_object_object_get_ex(rep, "return", &ver)) {
		json_object_put(rep);
		return qvmi__qmp_break(q, -EPROTO,
				       "transport: query-version failed");
	}
	g = json_object_new_object();
	qmp = json_object_new_object();
	if (!g || !qmp) {
		json_object_put(g);
		json_object_put(qmp);
		json_object_put(rep);
		return qvmi__err(q->ctx, -ENOMEM, "out of memory");
	}
	json_object_object_add(qmp, "version", json_object_get(ver));
	json_object_object_add(qmp, "capabilities", json_object_new_array());
	json_object_object_add(g, "QMP", qmp);
	json_object_put(rep);
	err = qvmi__qmp_parse_greeting(q, g);
	s = err ? NULL : json_object_to_json_string_ext(g, 0);
	if (!err && !(q->greeting = s ? strdup(s) : NULL))
		err = qvmi__err(q->ctx, -ENOMEM, "out of memory");
	if (!err)
		q->greeting_len = strlen(q->greeting);
	json_object_put(g);
	return err;
}

int qvmi__qmp_open_xport(struct qvmi_ctx *ctx,
			 const struct qvmi_qmp_xport_ops *ops, void *priv,
			 int timeout_ms, struct qvmi_qmp **ret)
{
	struct qvmi_qmp *q = calloc(1, sizeof(*q));
	int err;

	*ret = NULL;
	if (!q) {
		if (ops->destroy)
			ops->destroy(priv);
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	}
	q->ctx = ctx;
	q->fd = -1;
	q->xops = ops;
	q->xpriv = priv;
	q->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	err = qvmi__json_stream_init(&q->js, QVMI_QMP_MAX_MSG);
	if (err < 0)
		err = qvmi__err(ctx, err, "out of memory");
	else
		err = xport_greet(q);
	if (err < 0) {
		qvmi__qmp_close(q);
		return err;
	}
	*ret = q;
	return 0;
}

const char *qvmi__qmp_xport_name(const struct qvmi_qmp *q)
{
	return q->xops ? q->xops->name : NULL;
}
