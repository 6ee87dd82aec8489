// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The pmemaccess stream decoder over arbitrary client bytes, fed in pieces
 * of varying size.  Checks the decoder's promises: never consumes more
 * than it is given, payload pieces lie inside the input, a write's pieces
 * add up to its length, nothing after QUIT or TOO_BIG.
 */
#include <stdint.h>
#include <stdlib.h>

#include "proto/pmemaccess.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qvmi_pmem_decoder d;
	uint64_t payload = 0, want = 0;
	size_t off = 1, step = 0;
	bool dead = false;

	if (!size)
		return 0;
	/* first byte: piece size pattern; max transfer 4 KiB */
	qvmi__pmem_decoder_init(&d, 4096);
	for (size_t turns = 0; turns < 4 * size + 8; turns++) {
		size_t piece = 1 + (data[0] * 7 + step++) % 61, used;
		enum qvmi_pmem_ev ev;
		const uint8_t *p;
		size_t plen;

		if (piece > size - off)
			piece = size - off;
		used = qvmi__pmem_decode(&d, data + off, piece, &ev, &p, &plen);
		must(used <= piece);
		must(!dead || (used == 0 && ev == QVMI_PMEM_EV_NONE));
		switch (ev) {
		case QVMI_PMEM_EV_READ:
			must(d.req.type == 1 && d.req.length <= 4096);
			break;
		case QVMI_PMEM_EV_WRITE_BEGIN:
			must(d.req.type == 2 && d.req.length <= 4096);
			want = d.req.length;
			payload = 0;
			break;
		case QVMI_PMEM_EV_PAYLOAD:
			must(p == data + off && plen == used && plen > 0);
			payload += plen;
			must(payload <= want);
			break;
		case QVMI_PMEM_EV_WRITE_END:
			must(payload == want);
			break;
		case QVMI_PMEM_EV_QUIT:
		case QVMI_PMEM_EV_TOO_BIG:
			dead = true;
			break;
		case QVMI_PMEM_EV_UNKNOWN:
			must(d.req.type > 2);
			break;
		case QVMI_PMEM_EV_NONE:
			break;
		}
		off += used;
		if (off == size && ev == QVMI_PMEM_EV_NONE)
			break;
	}
	return 0;
}
