// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The JSON stream splitter (proto/qmp.h): cuts a byte stream into whole
 * JSON values with json-c's incremental tokener, each at most max_msg
 * bytes, keeping each value's own text.  The QMP client (qmp.c,
 * qmp-xport.c) and qvmid's QMP proxy read QEMU's monitor through it.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "qmp.h"

enum { JSON_DEPTH = 64 };

int qvmi__json_stream_init(struct qvmi_json_stream *js, size_t max_msg)
{
	memset(js, 0, sizeof(*js));
	js->tok = json_tokener_new_ex(JSON_DEPTH);
	if (!js->tok)
		return -ENOMEM;
	/* Strict: QEMU emits plain JSON; trailing chars are the next value. */
	json_tokener_set_flags(js->tok,
			       JSON_TOKENER_STRICT |
				       JSON_TOKENER_ALLOW_TRAILING_CHARS);
	js->max_msg = max_msg ? max_msg : QVMI_QMP_MAX_MSG;
	return 0;
}

void qvmi__json_stream_deinit(struct qvmi_json_stream *js)
{
	if (js->tok)
		json_tokener_free(js->tok);
	free(js->buf);
	memset(js, 0, sizeof(*js));
}

bool qvmi__json_stream_partial(const struct qvmi_json_stream *js)
{
	return js->msg_bytes > 0 || js->len > js->off;
}

int qvmi__json_stream_feed(struct qvmi_json_stream *js, const void *data,
			   size_t len)
{
	size_t pending = js->len - js->off;

	if (js->err)
		return js->err;
	if (!len)
		return 0;
	if (len > js->max_msg || pending > js->max_msg - len)
		return js->err = -EMSGSIZE;
	/* Compact: bytes before the value being parsed are never needed
	 * again (its own are kept for qvmi__json_stream_raw). */
	js->raw_len = 0;
	if (!js->msg_bytes)
		js->start = js->off;
	if (js->start) {
		memmove(js->buf, js->buf + js->start, js->len - js->start);
		js->len -= js->start;
		js->off -= js->start;
		js->start = 0;
	}
	if (js->len + len > js->cap) {
		size_t cap = QVMI_MAX(js->cap * 2, js->len + len);
		char *nb;

		cap = QVMI_MAX(cap, (size_t)4096);
		nb = realloc(js->buf, cap);
		if (!nb)
			return -ENOMEM;
		js->buf = nb;
		js->cap = cap;
	}
	memcpy(js->buf + js->len, data, len);
	js->len += len;
	return 0;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skip inter-value whitespace so it never counts as a partial value. */
static void stream_skip_ws(struct qvmi_json_stream *js)
{
	if (js->msg_bytes)
		return;
	while (js->off < js->len && is_ws(js->buf[js->off]))
		js->off++;
}

int qvmi__json_stream_next(struct qvmi_json_stream *js,
			   struct json_object **ret)
{
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t avail, used;

	*ret = NULL;
	if (js->err)
		return js->err;
	stream_skip_ws(js);
	js->raw_len = 0;
	if (!js->msg_bytes)
		js->start = js->off;
	avail = js->len - js->off;
	if (!avail)
		return 0;
	/* Feed at most what keeps the value within max_msg (+1 to notice). */
	avail = QVMI_MIN(avail, js->max_msg - js->msg_bytes + 1);
	if (avail > INT32_MAX)
		avail = INT32_MAX;
	obj = json_tokener_parse_ex(js->tok, js->buf + js->off, (int)avail);
	jerr = json_tokener_get_error(js->tok);
	used = json_tokener_get_parse_end(js->tok);
	if (used > avail) /* never trust a library offset blindly */
		used = avail;
	js->off += used;
	js->msg_bytes += used;
	if (jerr == json_tokener_continue) {
		if (js->msg_bytes > js->max_msg)
			return js->err = -EMSGSIZE;
		return 0;
	}
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		return js->err = -EBADMSG;
	}
	/* A top-level "null" parses to a NULL object: not a QMP message. */
	if (!obj)
		return js->err = -EBADMSG;
	js->msg_bytes = 0;
	json_tokener_reset(js->tok);
	js->raw_len = js->off - js->start;
	while (js->raw_len && is_ws(js->buf[js->start + js->raw_len - 1]))
		js->raw_len--;
	*ret = obj;
	return 1;
}

const char *qvmi__json_stream_raw(const struct qvmi_json_stream *js,
				  size_t *len)
{
	*len = js->raw_len;
	return js->raw_len ? js->buf + js->start : NULL;
}
