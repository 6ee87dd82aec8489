// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Session protocol frames (docs/PROTOCOL.md).  Everything here is a pure
 * function of its inputs: the peer's bytes are hostile, so every size is
 * checked against the message's layout before a field is read.
 */
#include <assert.h>

#include "proto/session-wire.h"

static_assert(sizeof(struct qvmi_regs_x86) == QVMI_SES_NREGS * 8,
	      "qvmi_regs_x86 must be 44 u64 for the wire layout");

void qvmi__ses_hdr_encode(const struct qvmi_ses_hdr *h,
			  uint8_t out[QVMI_SES_HDR])
{
	qvmi__ses_put32(out, QVMI_SES_MAGIC);
	out[4] = QVMI_SES_VERSION;
	out[5] = h->flags;
	qvmi__ses_put16(out + 6, h->msg);
	qvmi__ses_put32(out + 8, h->size);
	qvmi__ses_put32(out + 12, h->seq);
	qvmi__ses_put32(out + 16, h->error);
	qvmi__ses_put32(out + 20, 0);
}

int qvmi__ses_hdr_decode(const uint8_t in[QVMI_SES_HDR],
			 struct qvmi_ses_hdr *ret, const char **why)
{
	const char *w = NULL;

	ret->flags = in[5];
	ret->msg = qvmi__ses_get16(in + 6);
	ret->size = qvmi__ses_get32(in + 8);
	ret->seq = qvmi__ses_get32(in + 12);
	ret->error = qvmi__ses_get32(in + 16);
	if (qvmi__ses_get32(in) != QVMI_SES_MAGIC)
		w = "bad magic";
	else if (in[4] != QVMI_SES_VERSION)
		w = "unsupported frame version";
	else if (ret->flags & ~(QVMI_SES_F_REPLY | QVMI_SES_F_EVENT))
		w = "unknown flag bits";
	else if (ret->flags == (QVMI_SES_F_REPLY | QVMI_SES_F_EVENT))
		w = "reply and event flags together";
	else if (ret->size > QVMI_SES_MAX_PAYLOAD)
		w = "payload too large";
	else if (ret->size % 8)
		w = "payload size not a multiple of 8";
	else if (ret->error && !(ret->flags & QVMI_SES_F_REPLY))
		w = "error code outside a reply";
	else if (qvmi__ses_get32(in + 20))
		w = "reserved header field not zero";
	if (!w)
		return 0;
	if (why)
		*why = w;
	return -EPROTO;
}

size_t qvmi__ses_frame(uint8_t *out, uint8_t flags, uint16_t msg, uint32_t seq,
		       uint32_t error, const void *payload, size_t len)
{
	struct qvmi_ses_hdr h = {
		.flags = flags,
		.msg = msg,
		.size = (uint32_t)qvmi__ses_pad8(len),
		.seq = seq,
		.error = error,
	};

	qvmi__ses_hdr_encode(&h, out);
	if (len && payload != out + QVMI_SES_HDR)
		memmove(out + QVMI_SES_HDR, payload, len);
	memset(out + QVMI_SES_HDR + len, 0, h.size - len);
	return QVMI_SES_HDR + h.size;
}

bool qvmi__ses_zero(const uint8_t *buf, size_t from, size_t to)
{
	uint8_t acc = 0;

	for (size_t i = from; i < to; i++)
		acc |= buf[i];
	return !acc;
}

/* ---- names and policy ---------------------------------------------------- */

static const struct {
	uint16_t msg;
	const char *name; /* for logs */
	const char *policy; /* NULL: not subject to the policy */
} msg_table[] = {
	{ QVMI_SES_HELLO, "hello", NULL },
	{ QVMI_SES_AUTH, "auth", NULL },
	{ QVMI_SES_ERROR, "error", NULL },
	{ QVMI_SES_VERSION_CMD, "version", NULL },
	{ QVMI_SES_CHECK_COMMAND, "check-command", NULL },
	{ QVMI_SES_CHECK_EVENT, "check-event", NULL },
	{ QVMI_SES_VM_INFO, "vm-info", "vm-info" },
	{ QVMI_SES_READ_PA, "read-pa", "read-pa" },
	{ QVMI_SES_WRITE_PA, "write-pa", "write-pa" },
	{ QVMI_SES_TRANSLATE, "translate", "translate" },
	{ QVMI_SES_GET_REGS, "get-regs", "get-regs" },
	{ QVMI_SES_SET_REGS, "set-regs", "set-regs" },
	{ QVMI_SES_PAUSE, "pause", "pause" },
	{ QVMI_SES_RESUME, "resume", "resume" },
	{ QVMI_SES_BP_SET, "bp-set", "breakpoint" },
	{ QVMI_SES_BP_CLEAR, "bp-clear", "breakpoint" },
	{ QVMI_SES_STEP, "step", "step" },
	{ QVMI_SES_EVENT_REPLY, "event-reply", "event-reply" },
	{ QVMI_SES_HOOK, "hook", "hook" },
	/* Never denied: a tool must always be able to let go. */
	{ QVMI_SES_UNHOOK_ACK, "unhook-ack", NULL },
	{ QVMI_SES_EV_BREAKPOINT, "ev-breakpoint", "breakpoint" },
	{ QVMI_SES_EV_STEP, "ev-step", "step" },
	{ QVMI_SES_EV_WATCHPOINT, "ev-watchpoint", "watchpoint" },
	{ QVMI_SES_EV_PAUSED, "ev-paused", "paused" },
	{ QVMI_SES_EV_RESUMED, "ev-resumed", "resumed" },
	{ QVMI_SES_EV_RESET, "ev-reset", "reset" },
	{ QVMI_SES_EV_SHUTDOWN, "ev-shutdown", "shutdown" },
	{ QVMI_SES_EV_MIGRATION, "ev-migration", "migration" },
	{ QVMI_SES_EV_UNHOOK, "ev-unhook", "unhook" },
	{ QVMI_SES_EV_BP_REMOVED, "ev-bp-removed", "breakpoint" },
};

const char *qvmi__ses_msg_name(uint16_t msg)
{
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(msg_table); i++)
		if (msg_table[i].msg == msg)
			return msg_table[i].name;
	return NULL;
}

const char *qvmi__ses_policy_name(uint16_t msg)
{
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(msg_table); i++)
		if (msg_table[i].msg == msg)
			return msg_table[i].policy;
	return NULL;
}

int qvmi__ses_policy_msgs(const char *name, bool event, uint16_t out[4])
{
	int n = 0;

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(msg_table) && n < 4; i++) {
		bool is_event = msg_table[i].msg >= 0x80;

		if (msg_table[i].policy && is_event == event &&
		    !strcmp(msg_table[i].policy, name))
			out[n++] = msg_table[i].msg;
	}
	return n ? n : -ENOENT;
}

/* ---- requests ------------------------------------------------------------ */

/* Fixed payload size of a request, or -1 if variable (WRITE_PA) or not a
 * request at all (-2). */
static long req_size(uint16_t msg)
{
	switch (msg) {
	case QVMI_SES_HELLO:
		return QVMI_SES_HELLO_REQ;
	case QVMI_SES_AUTH:
		return QVMI_SES_MAC;
	case QVMI_SES_VERSION_CMD:
	case QVMI_SES_VM_INFO:
	case QVMI_SES_PAUSE:
	case QVMI_SES_RESUME:
	case QVMI_SES_HOOK:
		return 0;
	case QVMI_SES_CHECK_COMMAND:
	case QVMI_SES_CHECK_EVENT:
	case QVMI_SES_GET_REGS:
	case QVMI_SES_STEP:
	case QVMI_SES_EVENT_REPLY:
	case QVMI_SES_UNHOOK_ACK:
		return 8;
	case QVMI_SES_READ_PA:
	case QVMI_SES_BP_SET:
	case QVMI_SES_BP_CLEAR:
		return 16;
	case QVMI_SES_TRANSLATE:
		return 24;
	case QVMI_SES_SET_REGS:
		return 8 + QVMI_SES_NREGS * 8;
	case QVMI_SES_WRITE_PA:
		return -1;
	default:
		return -2;
	}
}

/* Per-message field checks once the size is right. */
static const char *req_fields(const struct qvmi_ses_hdr *h, const uint8_t *p)
{
	uint32_t len;

	switch (h->msg) {
	case QVMI_SES_HELLO:
		if (qvmi__ses_get16(p) > qvmi__ses_get16(p + 2))
			return "hello: min_version above max_version";
		if (qvmi__ses_get32(p + 4) || !qvmi__ses_zero(p, 40, 48))
			return "hello: flags or reserved not zero";
		return NULL;
	case QVMI_SES_CHECK_COMMAND:
	case QVMI_SES_CHECK_EVENT:
		return qvmi__ses_zero(p, 2, 8) ? NULL : "padding not zero";
	case QVMI_SES_GET_REGS:
	case QVMI_SES_STEP:
	case QVMI_SES_SET_REGS:
	case QVMI_SES_UNHOOK_ACK:
		return qvmi__ses_zero(p, 4, 8) ? NULL : "padding not zero";
	case QVMI_SES_EVENT_REPLY:
		return qvmi__ses_get32(p + 4) > 1 ? "event-reply: bad action" :
						    NULL;
	case QVMI_SES_TRANSLATE:
		return qvmi__ses_get32(p + 20) &
				       ~(uint32_t)QVMI_SES_TR_USE_VCPU ?
			       "translate: unknown flags" :
			       NULL;
	case QVMI_SES_BP_SET:
	case QVMI_SES_BP_CLEAR:
		return qvmi__ses_get32(p + 8) > QVMI_WP_ACCESS ?
			       "breakpoint: bad kind" :
			       NULL;
	case QVMI_SES_READ_PA:
	case QVMI_SES_WRITE_PA:
		len = qvmi__ses_get32(p + 8);
		if (!len || len > QVMI_SES_MAX_DATA)
			return "length 0 or above the transfer limit";
		if (qvmi__ses_get32(p + 12))
			return "padding not zero";
		if (h->msg == QVMI_SES_READ_PA)
			return NULL;
		if (h->size != 16 + qvmi__ses_pad8(len))
			return "write: payload size does not match length";
		return qvmi__ses_zero(p, 16 + len, h->size) ?
			       NULL :
			       "write: padding not zero";
	default:
		return NULL;
	}
}

int qvmi__ses_check_request(const struct qvmi_ses_hdr *h,
			    const uint8_t *payload, int auth_stage,
			    uint32_t expect_seq, const char **why)
{
	long want = req_size(h->msg);
	const char *w = NULL;

	if (h->flags)
		w = "reply or event flag on a request";
	else if (h->seq != expect_seq)
		w = "out-of-sequence request";
	else if (auth_stage == 0 && h->msg != QVMI_SES_HELLO)
		w = "expected HELLO";
	else if (auth_stage == 1 && h->msg != QVMI_SES_AUTH)
		w = "expected AUTH";
	else if (auth_stage >= 2 &&
		 (h->msg == QVMI_SES_HELLO || h->msg == QVMI_SES_AUTH))
		w = "handshake already done";
	else if (want == -2)
		w = "unknown request";
	else if (want == -1 ? h->size < 16 : h->size != (uint32_t)want)
		w = "wrong payload size";
	else
		w = req_fields(h, payload);
	if (!w)
		return 0;
	if (why)
		*why = w;
	return -EPROTO;
}

/* ---- events ---------------------------------------------------------------- */

static long event_size(uint16_t msg)
{
	switch (msg) {
	case QVMI_SES_EV_BREAKPOINT:
	case QVMI_SES_EV_STEP:
	case QVMI_SES_EV_WATCHPOINT:
		return QVMI_SES_EV_CPU_SIZE;
	case QVMI_SES_EV_PAUSED:
	case QVMI_SES_EV_RESUMED:
	case QVMI_SES_EV_RESET:
	case QVMI_SES_EV_SHUTDOWN:
	case QVMI_SES_EV_MIGRATION:
		return QVMI_SES_EV_LIFE_SIZE;
	case QVMI_SES_EV_UNHOOK:
		return QVMI_SES_EV_UNHOOK_SIZE;
	case QVMI_SES_EV_BP_REMOVED:
		return QVMI_SES_EV_BP_REMOVED_SIZE;
	default:
		return -1;
	}
}

int qvmi__ses_check_event(const struct qvmi_ses_hdr *h, const uint8_t *payload,
			  uint32_t expect_seq, const char **why)
{
	long want = event_size(h->msg);
	const char *w = NULL;

	if (h->flags != QVMI_SES_F_EVENT)
		w = "not an event";
	else if (h->seq != expect_seq)
		w = "out-of-sequence event";
	else if (want < 0)
		w = "unknown event";
	else if (h->size != (uint32_t)want)
		w = "wrong event payload size";
	else if (h->msg == QVMI_SES_EV_BP_REMOVED &&
		 qvmi__ses_get32(payload + 8) > QVMI_WP_ACCESS)
		w = "bp-removed: bad kind";
	else if (h->msg == QVMI_SES_EV_BP_REMOVED)
		return 0; /* 16 bytes too, but not a lifecycle event */
	else if (want == QVMI_SES_EV_LIFE_SIZE &&
		 qvmi__ses_get32(payload + 12) & ~(uint32_t)QVMI_SES_EVF_GUEST)
		w = "unknown event flags";
	else if (want == QVMI_SES_EV_LIFE_SIZE &&
		 qvmi__ses_get32(payload + 8) > 0xffff)
		w = "event detail out of range";
	else if (h->msg == QVMI_SES_EV_UNHOOK &&
		 (!qvmi__ses_get32(payload) ||
		  qvmi__ses_get32(payload) > QVMI_UNHOOK_QVMID_EXIT))
		w = "unhook: bad reason";
	if (!w)
		return 0;
	if (why)
		*why = w;
	return -EPROTO;
}

/* ---- VM info --------------------------------------------------------------- */

size_t qvmi__ses_info_size(const struct qvmi_ses_info *in)
{
	return QVMI_SES_INFO_FIXED + qvmi__ses_pad8(strlen(in->name)) +
	       (size_t)in->nram * 16;
}

size_t qvmi__ses_info_encode(const struct qvmi_ses_info *in, uint8_t *out)
{
	size_t nlen = strnlen(in->name, QVMI_SES_NAME_MAX), off;
	uint32_t nram = QVMI_MIN(in->nram, (uint32_t)QVMI_SES_RAM_MAX);

	memset(out, 0, QVMI_SES_INFO_FIXED);
	qvmi__ses_put16(out, QVMI_SES_VERSION);
	qvmi__ses_put16(out + 2, in->arch);
	qvmi__ses_put32(out + 4, in->vcpus);
	qvmi__ses_put64(out + 8, in->features);
	qvmi__ses_put64(out + 16, in->start_time_ns);
	memcpy(out + 24, in->uuid, 16);
	qvmi__ses_put32(out + 40, in->state);
	qvmi__ses_put32(out + 44, nram);
	qvmi__ses_put32(out + 48, (uint32_t)nlen);
	qvmi__ses_put32(out + 52, in->max_transfer);
	off = QVMI_SES_INFO_FIXED;
	memcpy(out + off, in->name, nlen);
	memset(out + off + nlen, 0, qvmi__ses_pad8(nlen) - nlen);
	off += qvmi__ses_pad8(nlen);
	for (uint32_t i = 0; i < nram; i++, off += 16) {
		qvmi__ses_put64(out + off, in->ram[i].gpa);
		qvmi__ses_put64(out + off + 8, in->ram[i].size);
	}
	return off;
}

static const char *info_ram(const uint8_t *p, struct qvmi_ses_info *ret)
{
	uint64_t prev_end = 0;

	for (uint32_t i = 0; i < ret->nram; i++, p += 16) {
		uint64_t gpa = qvmi__ses_get64(p),
			 size = qvmi__ses_get64(p + 8);

		if (!size || gpa + size - 1 < gpa)
			return "vm info: empty or wrapping RAM range";
		if (i && gpa < prev_end)
			return "vm info: RAM ranges unsorted or overlapping";
		prev_end = gpa + size; /* 0 if it ends at 2^64: the last */
		if (!prev_end && i + 1 < ret->nram)
			return "vm info: RAM ranges unsorted or overlapping";
		ret->ram[i] = (struct qvmi_ram_range){ gpa, size };
	}
	return NULL;
}

int qvmi__ses_info_decode(const uint8_t *in, size_t len,
			  struct qvmi_ses_info *ret, const char **why)
{
	const char *w = NULL;
	uint32_t nlen;

	if (len < QVMI_SES_INFO_FIXED) {
		w = "vm info: too short";
		goto bad;
	}
	ret->arch = qvmi__ses_get16(in + 2);
	ret->vcpus = qvmi__ses_get32(in + 4);
	ret->features = qvmi__ses_get64(in + 8);
	ret->start_time_ns = qvmi__ses_get64(in + 16);
	memcpy(ret->uuid, in + 24, 16);
	ret->state = qvmi__ses_get32(in + 40);
	ret->nram = qvmi__ses_get32(in + 44);
	nlen = qvmi__ses_get32(in + 48);
	ret->max_transfer = qvmi__ses_get32(in + 52);
	if (qvmi__ses_get16(in) != QVMI_SES_VERSION)
		w = "vm info: protocol version mismatch";
	else if (nlen > QVMI_SES_NAME_MAX || ret->nram > QVMI_SES_RAM_MAX)
		w = "vm info: name or RAM map above the limits";
	else if (len != QVMI_SES_INFO_FIXED + qvmi__ses_pad8(nlen) +
				(size_t)ret->nram * 16)
		w = "vm info: size does not match its counts";
	else if (memchr(in + QVMI_SES_INFO_FIXED, 0, nlen))
		w = "vm info: NUL inside the name";
	else if (!qvmi__ses_zero(in, QVMI_SES_INFO_FIXED + nlen,
				 QVMI_SES_INFO_FIXED + qvmi__ses_pad8(nlen)))
		w = "vm info: name padding not zero";
	else if (!ret->max_transfer || ret->max_transfer > QVMI_SES_MAX_DATA)
		w = "vm info: bad max_transfer";
	if (w)
		goto bad;
	memcpy(ret->name, in + QVMI_SES_INFO_FIXED, nlen);
	ret->name[nlen] = 0;
	w = info_ram(in + QVMI_SES_INFO_FIXED + qvmi__ses_pad8(nlen), ret);
	if (!w)
		return 0;
bad:
	if (why)
		*why = w;
	return -EPROTO;
}

/* ---- registers, error text ---------------------------------------------- */

void qvmi__ses_regs_encode(const struct qvmi_regs_x86 *r,
			   uint8_t out[QVMI_SES_NREGS * 8])
{
	uint64_t v[QVMI_SES_NREGS];

	memcpy(v, r, sizeof(v));
	for (int i = 0; i < QVMI_SES_NREGS; i++)
		qvmi__ses_put64(out + 8 * i, v[i]);
}

void qvmi__ses_regs_decode(const uint8_t in[QVMI_SES_NREGS * 8],
			   struct qvmi_regs_x86 *ret)
{
	uint64_t v[QVMI_SES_NREGS];

	for (int i = 0; i < QVMI_SES_NREGS; i++)
		v[i] = qvmi__ses_get64(in + 8 * i);
	memcpy(ret, v, sizeof(v));
}

size_t qvmi__ses_errtext_encode(const char *text, uint8_t *out)
{
	size_t n = strnlen(text, QVMI_SES_ERRTEXT_MAX);

	qvmi__ses_put32(out, (uint32_t)n);
	qvmi__ses_put32(out + 4, 0);
	memcpy(out + 8, text, n);
	return 8 + n;
}

int qvmi__ses_errtext_decode(const uint8_t *in, size_t len, char *buf,
			     size_t size)
{
	uint32_t n;

	if (len < 8 || !size)
		return -EPROTO;
	n = qvmi__ses_get32(in);
	if (n > QVMI_SES_ERRTEXT_MAX || len != 8 + qvmi__ses_pad8(n) ||
	    qvmi__ses_get32(in + 4) || !qvmi__ses_zero(in, 8 + n, len))
		return -EPROTO;
	n = (uint32_t)QVMI_MIN((size_t)n, size - 1);
	memcpy(buf, in + 8, n);
	buf[n] = 0;
	for (uint32_t i = 0; i < n; i++) /* a log line, not a terminal */
		if (buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	return 0;
}
