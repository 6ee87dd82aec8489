// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the GDB remote protocol decoders with one input, three ways: as a
 * byte stream from a stub (scan, checksum, RLE/escape decode), as a stop
 * reply, and as a target description (whose includes resolve to the input
 * itself, so include depth is exercised too), mapped to x86 registers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/gdb.h"
#include "proto/rsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct doc {
	const uint8_t *data;
	size_t size;
};

static int fetch_same(const char *href, char **ret, size_t *ret_len, void *arg)
{
	const struct doc *d = arg;
	char *p = malloc(d->size + 1);

	(void)href;
	if (!p)
		return -12;
	memcpy(p, d->data, d->size);
	p[d->size] = '\0';
	*ret = p;
	*ret_len = d->size;
	return 0;
}

static void stream(const uint8_t *data, size_t size, uint8_t *out)
{
	size_t off = 0, n;

	for (unsigned int i = 0; off < size && i < 100000; i++) {
		struct qvmi_rsp_item it;

		if (qvmi__rsp_scan(data + off, size - off, 4096, &it) ||
		    it.kind == QVMI_RSP_NEED_MORE)
			return;
		if (it.kind == QVMI_RSP_PACKET || it.kind == QVMI_RSP_NOTIFY) {
			const char *p =
				(const char *)data + off + it.payload_off;
			struct qvmi_rsp_stop s;

			qvmi__rsp_decode(data + off + it.payload_off,
					 it.payload_len, true, out, 65536, &n);
			if (!qvmi__rsp_decode((const uint8_t *)p,
					      it.payload_len, false, out, 65536,
					      &n))
				qvmi__rsp_parse_stop((const char *)out, n, &s);
		}
		off += it.consumed;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[65536];
	struct doc d = { data, size };
	struct qvmi__gdb_layout l;
	struct qvmi_rsp_stop s;
	struct qvmi_rsp_tid t;

	stream(data, size, out);
	qvmi__rsp_parse_stop((const char *)data, size, &s);
	qvmi__rsp_parse_tid((const char *)data, size, &t);
	if (!qvmi__gdb_parse_layout((const char *)data, size, fetch_same, &d,
				    &l)) {
		struct qvmi_regs_x86 r = { 0 };
		uint8_t *g = calloc(1, l.gsize + 1);

		if (g) {
			qvmi__gdb_regs_from_g(&l, g, l.gsize, &r);
			r.valid = ~0ull;
			qvmi__gdb_regs_to_g(&l, &r, g, l.gsize);
			free(g);
		}
		qvmi__gdb_layout_deinit(&l);
	}
	return 0;
}
