// SPDX-License-Identifier: LGPL-2.1-or-later
/* pmemaccess wire protocol: request encoding and the stream decoder. */
#include <string.h>

#include "pmemaccess.h"

void qvmi__pmem_decoder_init(struct qvmi_pmem_decoder *d, uint64_t max_transfer)
{
	memset(d, 0, sizeof(*d));
	d->max_transfer = max_transfer ? max_transfer :
					 QVMI_PMEM_MAX_TRANSFER_DEFAULT;
}

bool qvmi__pmem_range_wraps(uint64_t address, uint64_t length)
{
	return length && address + (length - 1) < address;
}

void qvmi__pmem_encode_req(uint8_t out[QVMI_PMEM_REQ_SIZE], uint64_t type,
			   uint64_t address, uint64_t length)
{
	memcpy(out, &type, 8);
	memcpy(out + 8, &address, 8);
	memcpy(out + 16, &length, 8);
}

void qvmi__pmem_decode_req(const uint8_t in[QVMI_PMEM_REQ_SIZE],
			   struct qvmi_pmem_req *ret)
{
	memcpy(&ret->raw_type, in, 8);
	memcpy(&ret->address, in + 8, 8);
	memcpy(&ret->length, in + 16, 8);
	/* Old clients declared type as uint8_t followed by 7 padding bytes of
	 * stack garbage: only the low byte means anything. */
	ret->type = (uint8_t)ret->raw_type;
}

/* A complete header is in d->hdr: classify it. */
static enum qvmi_pmem_ev header_done(struct qvmi_pmem_decoder *d)
{
	struct qvmi_pmem_req *r = &d->req;

	qvmi__pmem_decode_req(d->hdr, r);
	d->have = 0;
	switch (r->type) {
	case QVMI_PMEM_QUIT:
		d->dead = true;
		return QVMI_PMEM_EV_QUIT;
	case QVMI_PMEM_READ:
		if (r->length > d->max_transfer) {
			d->dead = true;
			return QVMI_PMEM_EV_TOO_BIG;
		}
		return QVMI_PMEM_EV_READ;
	case QVMI_PMEM_WRITE:
		if (r->length > d->max_transfer) {
			d->dead = true;
			return QVMI_PMEM_EV_TOO_BIG;
		}
		d->payload_left = r->length;
		d->in_payload = true;
		return QVMI_PMEM_EV_WRITE_BEGIN;
	default:
		return QVMI_PMEM_EV_UNKNOWN;
	}
}

size_t qvmi__pmem_decode(struct qvmi_pmem_decoder *d, const uint8_t *data,
			 size_t n, enum qvmi_pmem_ev *ev, const uint8_t **piece,
			 size_t *piece_len)
{
	size_t take;

	*ev = QVMI_PMEM_EV_NONE;
	*piece = NULL;
	*piece_len = 0;
	if (d->dead)
		return 0;
	if (d->in_payload) {
		if (!d->payload_left) {
			/* Reported on its own so a zero-length write still
			 * gets its BEGIN/END pair. */
			d->in_payload = false;
			*ev = QVMI_PMEM_EV_WRITE_END;
			return 0;
		}
		if (!n)
			return 0;
		take = (size_t)QVMI_MIN((uint64_t)n, d->payload_left);
		d->payload_left -= take;
		*ev = QVMI_PMEM_EV_PAYLOAD;
		*piece = data;
		*piece_len = take;
		return take;
	}
	take = QVMI_MIN(n, QVMI_PMEM_REQ_SIZE - d->have);
	memcpy(d->hdr + d->have, data, take);
	d->have += take;
	if (d->have == QVMI_PMEM_REQ_SIZE)
		*ev = header_done(d);
	return take;
}
