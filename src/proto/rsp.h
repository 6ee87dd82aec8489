/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GDB remote serial protocol: framing, checksums, acks, escapes, run-length
 * decoding and stop replies.  The decoders (qvmi__rsp_scan, _decode,
 * _parse_stop, ...) are pure functions over caller buffers, fuzzed in
 * fuzz/rsp-decode.c.  The connection (struct qvmi_rsp_conn) adds a bounded
 * receive buffer, acks with retransmit, and a deadline on every wait.
 */
#ifndef QVMI_PROTO_RSP_H
#define QVMI_PROTO_RSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base.h"

enum {
	/* Largest packet payload we accept, before run-length expansion.
	 * QEMU 7.2 announces PacketSize=1000 (hex: 4096 bytes). */
	QVMI_RSP_MAX_PACKET = 16384,
	/* Largest payload after run-length expansion. */
	QVMI_RSP_MAX_DECODED = 65536,
	/* Stray bytes tolerated between packets before -EPROTO. */
	QVMI_RSP_MAX_GARBAGE = 256,
	/* Retransmissions of one packet on '-' before -EPROTO. */
	QVMI_RSP_MAX_RETRIES = 3,
	/* Packets received while waiting for an ack, kept for later. */
	QVMI_RSP_QUEUE = 4,
};

/* ---- pure decoders ------------------------------------------------------ */

enum qvmi_rsp_item_kind {
	QVMI_RSP_NEED_MORE = 0, /* incomplete: read more bytes */
	QVMI_RSP_ACK, /* '+' */
	QVMI_RSP_NACK, /* '-' */
	QVMI_RSP_INTR, /* 0x03 */
	QVMI_RSP_PACKET, /* $payload#cs */
	QVMI_RSP_NOTIFY, /* %payload#cs (non-stop notification) */
	QVMI_RSP_GARBAGE, /* one stray byte */
};

struct qvmi_rsp_item {
	enum qvmi_rsp_item_kind kind;
	size_t consumed; /* bytes of the input this item used */
	size_t payload_off; /* PACKET/NOTIFY: payload within the input */
	size_t payload_len;
	bool csum_ok; /* PACKET/NOTIFY: checksum matched */
};

/* Modulo-256 sum of the bytes. */
QVMI_HIDDEN uint8_t qvmi__rsp_checksum(const void *data, size_t len);

/*
 * Find the next item at the start of buf.  Returns 0 and fills *ret
 * (kind NEED_MORE if buf holds only part of a packet), or -EPROTO for a
 * packet longer than max_payload or a malformed checksum field.
 */
QVMI_HIDDEN int qvmi__rsp_scan(const uint8_t *buf, size_t len,
			       size_t max_payload, struct qvmi_rsp_item *ret);

/*
 * Expand run-length encoding ("X*n": n - 29 more copies of X) and, if
 * binary, escapes ("}c" -> c ^ 0x20).  Writes at most cap bytes.
 * -EBADMSG on a dangling escape, a '*' with nothing to repeat, or a bad
 * count; -EPROTO if the output would exceed cap.
 */
QVMI_HIDDEN int qvmi__rsp_decode(const uint8_t *in, size_t len, bool binary,
				 uint8_t *out, size_t cap, size_t *ret_len);

/* Frame payload as "$payload#cs" into out, escaping '#', '$', '}' and '*'.
 * Returns the framed length or -ENOSPC. */
QVMI_HIDDEN int qvmi__rsp_frame(const uint8_t *payload, size_t len,
				uint8_t *out, size_t cap);

/* Hex helpers.  _hex2bin needs an even number of hex digits. */
QVMI_HIDDEN int qvmi__rsp_hex2bin(const char *hex, size_t hexlen, uint8_t *out,
				  size_t cap, size_t *ret_len);
QVMI_HIDDEN void qvmi__rsp_bin2hex(const uint8_t *in, size_t len, char *out);
/* Parse 1..16 hex digits of s[0..len) as a number; -EBADMSG otherwise. */
QVMI_HIDDEN int qvmi__rsp_parse_hex(const char *s, size_t len, uint64_t *ret);

/* A thread id as in "p01.02", "02", "-1" or "0". */
struct qvmi_rsp_tid {
	int64_t pid; /* -1: all, 0: any, -2: absent (no "p") */
	int64_t tid; /* -1: all, 0: any */
};
QVMI_HIDDEN int qvmi__rsp_parse_tid(const char *s, size_t len,
				    struct qvmi_rsp_tid *ret);

enum qvmi_rsp_stop_kind {
	QVMI_RSP_STOP_SIGNAL = 1, /* S or T */
	QVMI_RSP_STOP_EXITED, /* W */
	QVMI_RSP_STOP_KILLED, /* X */
};

enum qvmi_rsp_watch {
	QVMI_RSP_WATCH_NONE = 0,
	QVMI_RSP_WATCH_WRITE, /* watch: */
	QVMI_RSP_WATCH_READ, /* rwatch: */
	QVMI_RSP_WATCH_ACCESS, /* awatch: */
};

struct qvmi_rsp_stop {
	enum qvmi_rsp_stop_kind kind;
	int signal; /* S/T: signal; W: exit status; X: signal */
	bool has_thread;
	struct qvmi_rsp_tid thread;
	enum qvmi_rsp_watch watch;
	uint64_t watch_addr;
	bool swbreak, hwbreak;
	bool has_core;
	uint64_t core;
};

/* Parse a stop reply (S, T, W or X packet).  -EBADMSG if it is not one or
 * is malformed.  Unknown "n:r" pairs and register values are skipped. */
QVMI_HIDDEN int qvmi__rsp_parse_stop(const char *p, size_t len,
				     struct qvmi_rsp_stop *ret);
/* "E14" -> 14; -1 if p is not an error reply. */
QVMI_HIDDEN int qvmi__rsp_error_code(const char *p, size_t len);

/* ---- connection ---------------------------------------------------------- */

struct qvmi_rsp_pkt {
	size_t len;
	uint8_t *data; /* QVMI_RSP_MAX_DECODED + 1 bytes, NUL-terminated */
};

struct qvmi_rsp_conn {
	struct qvmi_ctx *ctx; /* errors go here */
	int fd;
	int timeout_ms; /* each wait */
	bool noack; /* QStartNoAckMode accepted */
	/* receive buffer: raw bytes not yet consumed */
	uint8_t *rx;
	size_t rx_len;
	/* packets that arrived while we waited for an ack */
	struct qvmi_rsp_pkt queue[QVMI_RSP_QUEUE];
	size_t qhead, qcount;
	/* replies of commands that timed out, still to come: skipped
	 * before the next packet goes out (RSP has no ids) */
	unsigned int owed;
	/* counters, for tests and logs */
	unsigned long retransmits, bad_checksums, late_replies;
};

/* Takes ownership of fd (closed by _deinit, also on failure). */
QVMI_HIDDEN int qvmi__rsp_init(struct qvmi_rsp_conn *c, struct qvmi_ctx *ctx,
			       int fd, int timeout_ms);
QVMI_HIDDEN void qvmi__rsp_deinit(struct qvmi_rsp_conn *c);

/* Send one packet and wait for its ack (retransmitting on '-'). */
QVMI_HIDDEN int qvmi__rsp_send(struct qvmi_rsp_conn *c, const void *payload,
			       size_t len);
/*
 * Receive the next packet, decoded (run-length expanded; escapes removed
 * if binary) into buf, NUL-terminated; cap must be at least
 * QVMI_RSP_MAX_DECODED + 1.  Bad checksums are nacked and waited out.
 * timeout_ms < 0 uses the connection's timeout.  -ETIMEDOUT, -EPIPE on a
 * closed socket, -EPROTO/-EBADMSG on garbage.  Notifications ('%') are
 * acknowledged by nothing and skipped.
 */
QVMI_HIDDEN int qvmi__rsp_recv(struct qvmi_rsp_conn *c, bool binary,
			       int timeout_ms, char *buf, size_t cap,
			       size_t *ret_len);
/* send + recv. */
QVMI_HIDDEN int qvmi__rsp_command(struct qvmi_rsp_conn *c, const char *cmd,
				  bool binary, char *buf, size_t cap,
				  size_t *ret_len);
/* Send the 0x03 interrupt byte. */
QVMI_HIDDEN int qvmi__rsp_interrupt(struct qvmi_rsp_conn *c);
/* Non-zero if a packet is already buffered or the socket is readable. */
QVMI_HIDDEN int qvmi__rsp_pending(struct qvmi_rsp_conn *c);

#endif
