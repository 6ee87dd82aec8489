/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Session protocol frames (docs/PROTOCOL.md): pure functions over byte
 * buffers, no I/O, so the parser can be fuzzed alone.  Shared by the
 * client (src/proto/session.c) and qvmid's server.
 */
#ifndef QVMI_PROTO_SESSION_WIRE_H
#define QVMI_PROTO_SESSION_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/base.h"

enum {
	QVMI_SES_MAGIC = 0x53564d51, /* "QMVS" little-endian */
	QVMI_SES_VERSION = 1,
	QVMI_SES_HDR = 24,
	QVMI_SES_MAX_DATA = 1 << 20,
	QVMI_SES_MAX_PAYLOAD = (1 << 20) + 64,
	QVMI_SES_NONCE = 32,
	QVMI_SES_MAC = 32,
	QVMI_SES_NAME_MAX = 255,
	QVMI_SES_RAM_MAX = 1024,
	QVMI_SES_NREGS = 44,
	QVMI_SES_ERRTEXT_MAX = 255,
	QVMI_SES_PAUSE_MAX = 65535,
	QVMI_SES_INFO_FIXED = 56,
	QVMI_SES_HELLO_REQ = 48,
	QVMI_SES_HELLO_REP = 40,
	QVMI_SES_EV_LIFE_SIZE = 16, /* paused .. migration */
	QVMI_SES_EV_UNHOOK_SIZE = 8,
	QVMI_SES_EV_BP_REMOVED_SIZE = 16, /* u64 addr, u32 kind, u32 len */
	QVMI_SES_EV_CPU_SIZE = 16 + QVMI_SES_NREGS * 8, /* bp, step, wp */
};

/* EV_PAUSED .. EV_MIGRATION flags. */
enum { QVMI_SES_EVF_GUEST = 1u << 0 };

enum qvmi_ses_flags {
	QVMI_SES_F_REPLY = 1u << 0,
	QVMI_SES_F_EVENT = 1u << 1,
};

enum qvmi_ses_msg {
	QVMI_SES_HELLO = 0x0001,
	QVMI_SES_AUTH = 0x0002,
	QVMI_SES_ERROR = 0x0003,
	QVMI_SES_VERSION_CMD = 0x0010,
	QVMI_SES_CHECK_COMMAND = 0x0011,
	QVMI_SES_CHECK_EVENT = 0x0012,
	QVMI_SES_VM_INFO = 0x0020,
	QVMI_SES_READ_PA = 0x0021,
	QVMI_SES_WRITE_PA = 0x0022,
	QVMI_SES_TRANSLATE = 0x0023,
	QVMI_SES_GET_REGS = 0x0024,
	QVMI_SES_SET_REGS = 0x0025,
	QVMI_SES_PAUSE = 0x0026,
	QVMI_SES_RESUME = 0x0027,
	QVMI_SES_BP_SET = 0x0030,
	QVMI_SES_BP_CLEAR = 0x0031,
	QVMI_SES_STEP = 0x0032,
	QVMI_SES_EVENT_REPLY = 0x0033,
	QVMI_SES_HOOK = 0x0034,
	QVMI_SES_UNHOOK_ACK = 0x0035,
	QVMI_SES_EV_BREAKPOINT = 0x0080,
	QVMI_SES_EV_STEP = 0x0081,
	QVMI_SES_EV_WATCHPOINT = 0x0082,
	QVMI_SES_EV_PAUSED = 0x0083,
	QVMI_SES_EV_RESUMED = 0x0084,
	QVMI_SES_EV_RESET = 0x0085,
	QVMI_SES_EV_SHUTDOWN = 0x0086,
	QVMI_SES_EV_MIGRATION = 0x0087,
	QVMI_SES_EV_UNHOOK = 0x0088,
	QVMI_SES_EV_BP_REMOVED = 0x0089,
};

enum qvmi_ses_feature {
	QVMI_SES_FEAT_READ = 1u << 0,
	QVMI_SES_FEAT_WRITE = 1u << 1,
	QVMI_SES_FEAT_TRANSLATE = 1u << 2,
	QVMI_SES_FEAT_REGS = 1u << 3,
	QVMI_SES_FEAT_SET_REGS = 1u << 4,
	QVMI_SES_FEAT_PAUSE = 1u << 5,
	QVMI_SES_FEAT_BREAKPOINT = 1u << 6,
	QVMI_SES_FEAT_EVENTS = 1u << 7,
};

enum { QVMI_SES_TR_USE_VCPU = 1u << 0 };

struct qvmi_ses_hdr {
	uint8_t flags;
	uint16_t msg;
	uint32_t size;
	uint32_t seq;
	uint32_t error; /* positive errno; replies only */
};

/* The VM info block; ram[] is bounded so the struct has a fixed size. */
struct qvmi_ses_info {
	uint16_t arch; /* 1: x86_64 */
	uint32_t vcpus;
	uint64_t features;
	uint64_t start_time_ns;
	uint8_t uuid[16];
	uint32_t state;
	uint32_t max_transfer;
	char name[QVMI_SES_NAME_MAX + 1];
	uint32_t nram;
	struct qvmi_ram_range ram[QVMI_SES_RAM_MAX];
};

static inline size_t qvmi__ses_pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static inline void qvmi__ses_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void qvmi__ses_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void qvmi__ses_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t qvmi__ses_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t qvmi__ses_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static inline uint64_t qvmi__ses_get64(const uint8_t *p)
{
	return (uint64_t)qvmi__ses_get32(p) | (uint64_t)qvmi__ses_get32(p + 4)
						      << 32;
}

/* Write a header for h (h->size is the payload size, already padded). */
QVMI_HIDDEN void qvmi__ses_hdr_encode(const struct qvmi_ses_hdr *h,
				      uint8_t out[QVMI_SES_HDR]);
/* Decode and check the generic header rules.  0, or -EPROTO with *why. */
QVMI_HIDDEN int qvmi__ses_hdr_decode(const uint8_t in[QVMI_SES_HDR],
				     struct qvmi_ses_hdr *ret,
				     const char **why);

/*
 * Build a frame in out (room for QVMI_SES_HDR + pad8(len)): header, len
 * payload bytes, zero padding.  Returns the frame length.
 */
QVMI_HIDDEN size_t qvmi__ses_frame(uint8_t *out, uint8_t flags, uint16_t msg,
				   uint32_t seq, uint32_t error,
				   const void *payload, size_t len);

/* Are buf[from, to) all zero? */
QVMI_HIDDEN bool qvmi__ses_zero(const uint8_t *buf, size_t from, size_t to);

/*
 * Check a client request against the server's state: flags, sequence
 * (expect_seq), "HELLO then AUTH before authentication", known message
 * id, exact payload size, zero padding, argument ranges that make the
 * frame malformed.  0, or -EPROTO with *why (a bad frame: close).
 */
QVMI_HIDDEN int qvmi__ses_check_request(const struct qvmi_ses_hdr *h,
					const uint8_t *payload, int auth_stage,
					uint32_t expect_seq, const char **why);

/* Names for logs and the policy (NULL if unknown / not a policy name). */
QVMI_HIDDEN const char *qvmi__ses_msg_name(uint16_t msg);
QVMI_HIDDEN const char *qvmi__ses_policy_name(uint16_t msg);
/* Message ids of a policy name, in out (at most 4); count or -ENOENT. */
QVMI_HIDDEN int qvmi__ses_policy_msgs(const char *name, bool event,
				      uint16_t out[4]);

/* VM info block. */
QVMI_HIDDEN size_t qvmi__ses_info_size(const struct qvmi_ses_info *in);
QVMI_HIDDEN size_t qvmi__ses_info_encode(const struct qvmi_ses_info *in,
					 uint8_t *out);
QVMI_HIDDEN int qvmi__ses_info_decode(const uint8_t *in, size_t len,
				      struct qvmi_ses_info *ret,
				      const char **why);

/* Registers as 44 little-endian u64 in struct order. */
QVMI_HIDDEN void qvmi__ses_regs_encode(const struct qvmi_regs_x86 *r,
				       uint8_t out[QVMI_SES_NREGS * 8]);
QVMI_HIDDEN void qvmi__ses_regs_decode(const uint8_t in[QVMI_SES_NREGS * 8],
				       struct qvmi_regs_x86 *ret);

/*
 * Check an event frame from qvmid: flags, sequence (expect_seq), known
 * event id, exact payload size, flag and reason ranges.  0, or -EPROTO
 * with *why.
 */
QVMI_HIDDEN int qvmi__ses_check_event(const struct qvmi_ses_hdr *h,
				      const uint8_t *payload,
				      uint32_t expect_seq, const char **why);

/* ERROR frame payload: u32 len, u32 pad, text.  Returns payload length. */
QVMI_HIDDEN size_t qvmi__ses_errtext_encode(const char *text, uint8_t *out);
QVMI_HIDDEN int qvmi__ses_errtext_decode(const uint8_t *in, size_t len,
					 char *buf, size_t size);

#endif
