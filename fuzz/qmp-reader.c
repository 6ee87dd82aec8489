// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz what reads QMP bytes: the JSON stream splitter (fed in chunks of a
 * size taken from the first byte) and the whole client (greeting,
 * capabilities, a command, an HMP command, events) over a socketpair whose
 * peer "sends" the input and then shuts down its write side.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_stream(const uint8_t *data, size_t size, size_t chunk)
{
	struct qvmi_json_stream js;
	struct json_object *o;
	size_t off = 0;
	int err = 0;

	if (qvmi__json_stream_init(&js, 4096))
		return;
	while (off < size && err >= 0) {
		size_t n = size - off < chunk ? size - off : chunk;

		err = qvmi__json_stream_feed(&js, data + off, n);
		off += n;
		while (err >= 0 && (err = qvmi__json_stream_next(&js, &o)) == 1)
			json_object_put(o);
	}
	qvmi__json_stream_deinit(&js);
}

static void fuzz_client(const uint8_t *data, size_t size)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_qmp *q = NULL;
	struct json_object *r;
	size_t off = 0;
	char *out;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return;
	/* Everything the peer says is queued up front: never blocks. */
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	while (off < size) {
		ssize_t n = write(sv[0], data + off, size - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(sv[0], SHUT_WR);
	if (qvmi_ctx_create(&ctx)) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	if (qvmi__qmp_open_fd(ctx, sv[1], 50, &q) == 0) {
		if (qvmi__qmp_execute(q, "query-status", NULL, &r) == 0)
			json_object_put(r);
		if (qvmi__qmp_hmp(q, "info registers -a", &out) == 0)
			free(out);
		qvmi__qmp_poll(q, 0);
		while (qvmi__qmp_event_pop(q, &r) == 0)
			json_object_put(r);
		qvmi__qmp_close(q);
	}
	close(sv[0]);
	qvmi_ctx_destroy(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	fuzz_stream(data + 1, size - 1, (size_t)(data[0] & 0x3f) + 1);
	/* The client part: inputs of a sane size only (socket buffer). */
	if (size <= 65536)
		fuzz_client(data + 1, size - 1);
	return 0;
}
