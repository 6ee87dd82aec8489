/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * LibVMI's pmemaccess wire protocol (docs/PMEMACCESS.md).
 *
 * A request is 24 bytes in host byte order: u64 type, u64 address,
 * u64 length.  Only the first byte of "type" counts: the original clients
 * declared it uint8_t and sent 7 bytes of struct padding after it.  On a
 * little-endian host that byte is the low byte of the u64.
 *
 *	read  (1): reply = length data bytes, then 1 status byte
 *	write (2): request is followed by length data bytes; reply = status
 *	quit  (0): no reply; the connection ends
 *	other    : reply = one 0 status byte
 *
 * The decoder below is a pure state machine over the client's byte stream
 * (headers and write payloads), shared by the server and the fuzzer.
 */
#ifndef QVMI_PROTO_PMEMACCESS_H
#define QVMI_PROTO_PMEMACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base.h"

enum {
	QVMI_PMEM_REQ_SIZE = 24,
	QVMI_PMEM_QUIT = 0,
	QVMI_PMEM_READ = 1,
	QVMI_PMEM_WRITE = 2,
	QVMI_PMEM_STATUS_FAIL = 0,
	QVMI_PMEM_STATUS_OK = 1,
	/* Largest read or write served by default. */
	QVMI_PMEM_MAX_TRANSFER_DEFAULT = 1 << 20,
};

struct qvmi_pmem_req {
	uint8_t type; /* the byte that counts */
	uint64_t raw_type; /* the whole u64 as sent, for logs */
	uint64_t address;
	uint64_t length;
};

/* What the decoder saw when it stopped. */
enum qvmi_pmem_ev {
	QVMI_PMEM_EV_NONE = 0, /* input used up, need more bytes */
	QVMI_PMEM_EV_QUIT, /* type 0: end the connection */
	QVMI_PMEM_EV_READ, /* a read request; reply length + 1 bytes */
	QVMI_PMEM_EV_WRITE_BEGIN, /* a write header; payload follows */
	QVMI_PMEM_EV_PAYLOAD, /* piece, piece_len: the next part of it */
	QVMI_PMEM_EV_WRITE_END, /* the whole payload has arrived */
	QVMI_PMEM_EV_UNKNOWN, /* unknown type; reply one 0 byte */
	QVMI_PMEM_EV_TOO_BIG, /* length > max transfer: close (no resync) */
};

struct qvmi_pmem_decoder {
	uint64_t max_transfer;
	uint8_t hdr[QVMI_PMEM_REQ_SIZE];
	size_t have; /* header bytes collected */
	uint64_t payload_left; /* write payload bytes still to come */
	bool in_payload;
	bool dead; /* after QUIT or TOO_BIG: consumes nothing more */
	struct qvmi_pmem_req req; /* the current request */
};

QVMI_HIDDEN void qvmi__pmem_decoder_init(struct qvmi_pmem_decoder *d,
					 uint64_t max_transfer);

/*
 * Consume bytes from data[0..n) up to the next event.  Returns the number
 * of bytes consumed (the caller keeps the rest for the next call) and sets
 * *ev.  For QVMI_PMEM_EV_PAYLOAD, *piece and *piece_len point into data.  The
 * current request is d->req.  Never allocates; never reads past n.
 */
QVMI_HIDDEN size_t qvmi__pmem_decode(struct qvmi_pmem_decoder *d,
				     const uint8_t *data, size_t n,
				     enum qvmi_pmem_ev *ev,
				     const uint8_t **piece, size_t *piece_len);

/* True if [address, address + length) wraps past 2^64 (length > 0). */
QVMI_HIDDEN bool qvmi__pmem_range_wraps(uint64_t address, uint64_t length);

/* Encode a request header (clients and tests). */
QVMI_HIDDEN void qvmi__pmem_encode_req(uint8_t out[QVMI_PMEM_REQ_SIZE],
				       uint64_t type, uint64_t address,
				       uint64_t length);
/* Decode a complete 24-byte header. */
QVMI_HIDDEN void qvmi__pmem_decode_req(const uint8_t in[QVMI_PMEM_REQ_SIZE],
				       struct qvmi_pmem_req *ret);

#endif
