// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * KVMi frames (kvmi-wire.h).  Layouts from libkvmi master bc80de9
 * (include/linux/kvmi.h, include/linux/x86_64/asm/kvmi.h) and the
 * KVM-VMI QEMU's include/sysemu/vmi-handshake.h.
 */
#include <string.h>

#include "proto/kvmi-wire.h"

_Static_assert(sizeof(struct kvm_regs) == 144, "kvm_regs");
_Static_assert(sizeof(struct kvm_sregs) == 312, "kvm_sregs");
_Static_assert(sizeof(struct qvmi_kvmi_arch) == QVMI_KVMI_EV_ARCH, "arch");
_Static_assert(offsetof(struct qvmi_kvmi_arch, regs) == 8, "arch.regs");
_Static_assert(offsetof(struct qvmi_kvmi_arch, sregs) == 152, "arch.sregs");
_Static_assert(offsetof(struct qvmi_kvmi_arch, msrs) == 464, "arch.msrs");

size_t qvmi__kvmi_hs_encode(const struct qvmi_kvmi_vm_hs *hs, bool v12,
			    uint8_t *buf)
{
	size_t n = v12 ? QVMI_KVMI_HS_V12 : QVMI_KVMI_HS_V7;
	size_t nl = strnlen(hs->name, QVMI_KVMI_NAME - 1);

	memset(buf, 0, n);
	qvmi__kvmi_put32(buf, (uint32_t)n);
	memcpy(buf + 4, hs->uuid, 16);
	/* buf[20..24): padding */
	qvmi__kvmi_put64(buf + 24, (uint64_t)hs->start_time);
	memcpy(buf + 32, hs->name, nl); /* NUL-terminated by the memset */
	if (v12)
		qvmi__kvmi_put64(buf + 96, hs->max_gpa);
	return n;
}

int qvmi__kvmi_hs_reply_size(const uint8_t b[4], uint32_t *ret,
			     const char **why)
{
	uint32_t n = qvmi__kvmi_u32(b);

	/* The RFC's QEMU (vmi.c) needs at least the 24 bytes it reads. */
	if (n < QVMI_KVMI_HS_REPLY) {
		*why = "handshake answer shorter than 24 bytes";
		return -EBADMSG;
	}
	if (n > QVMI_KVMI_HS_REPLY_MAX) {
		*why = "handshake answer larger than 64 KiB";
		return -EBADMSG;
	}
	*ret = n;
	return 0;
}

void qvmi__kvmi_hdr_encode(const struct qvmi_kvmi_hdr *h,
			   uint8_t b[QVMI_KVMI_HDR])
{
	qvmi__kvmi_put16(b, h->id);
	qvmi__kvmi_put16(b + 2, h->size);
	qvmi__kvmi_put32(b + 4, h->seq);
}

int qvmi__kvmi_hdr_decode(const uint8_t b[QVMI_KVMI_HDR],
			  struct qvmi_kvmi_hdr *ret, const char **why)
{
	ret->id = qvmi__kvmi_u16(b);
	ret->size = qvmi__kvmi_u16(b + 2);
	ret->seq = qvmi__kvmi_u32(b + 4);
	if (ret->size > QVMI_KVMI_MAX_PAYLOAD) {
		*why = "message larger than 8184 bytes";
		return -EBADMSG;
	}
	return 0;
}

/* Payload shapes: fixed size, or a fixed part plus a counted array. */
enum shape { ANY, FIXED, REGS, WRITE, PAGE_ACCESS, EV_REPLY, BAD };

struct req_rule {
	uint8_t shape;
	bool vcpu; /* starts with kvmi_vcpu_hdr */
	uint16_t size; /* FIXED: exact; others: the fixed part */
};

/* Ids not listed (zero: ANY) are unknown or features stock QEMU lacks;
 * any size is accepted and they are answered -KVM_EOPNOTSUPP. */
static const struct req_rule rules[QVMI_KVMI_NUM_IDS] = {
	[QVMI_KVMI_EVENT_REPLY] = { EV_REPLY, true, QVMI_KVMI_EV_REPLY },
	[QVMI_KVMI_EVENT] = { BAD, false, 0 },
	[QVMI_KVMI_GET_VERSION] = { FIXED, false, 0 },
	[QVMI_KVMI_CHECK_COMMAND] = { FIXED, false, 8 },
	[QVMI_KVMI_CHECK_EVENT] = { FIXED, false, 8 },
	[QVMI_KVMI_GET_GUEST_INFO] = { FIXED, false, 0 },
	[QVMI_KVMI_GET_VCPU_INFO] = { FIXED, true, 8 },
	[QVMI_KVMI_PAUSE_VCPU] = { FIXED, true, 16 },
	[QVMI_KVMI_CONTROL_VM_EVENTS] = { FIXED, false, 8 },
	[QVMI_KVMI_CONTROL_EVENTS] = { FIXED, true, 16 },
	[QVMI_KVMI_CONTROL_CR] = { FIXED, true, 16 },
	[QVMI_KVMI_CONTROL_MSR] = { FIXED, true, 16 },
	[QVMI_KVMI_GET_REGISTERS] = { REGS, true, 16 },
	[QVMI_KVMI_SET_REGISTERS] = { FIXED, true, 8 + 144 },
	[QVMI_KVMI_GET_CPUID] = { FIXED, true, 16 },
	[QVMI_KVMI_READ_PHYSICAL] = { FIXED, false, 16 },
	[QVMI_KVMI_WRITE_PHYSICAL] = { WRITE, false, 16 },
	[QVMI_KVMI_INJECT_EXCEPTION] = { FIXED, true, 24 },
	[QVMI_KVMI_SET_PAGE_ACCESS] = { PAGE_ACCESS, false, 8 },
	[QVMI_KVMI_CONTROL_CMD_RESPONSE] = { FIXED, false, 8 },
	[QVMI_KVMI_GET_MAX_GFN] = { FIXED, false, 0 },
	[QVMI_KVMI_VCPU_TRANSLATE_GVA] = { FIXED, true, 16 },
	[QVMI_KVMI_VCPU_CONTROL_SINGLESTEP] = { FIXED, true, 16 },
};

bool qvmi__kvmi_is_vcpu_cmd(uint16_t id)
{
	return id < QVMI_KVMI_NUM_IDS && rules[id].vcpu;
}

uint16_t qvmi__kvmi_vcpu_of(const uint8_t *p)
{
	return qvmi__kvmi_u16(p);
}

/* The size a counted request must have, from its own count field. */
static size_t want_size(const struct req_rule *r, const uint8_t *p, size_t n)
{
	switch (r->shape) {
	case REGS: /* u16 nmsrs after the vcpu header, then u32 each */
		return r->size + 4 * (size_t)qvmi__kvmi_u16(p + 8);
	case WRITE: { /* u64 gpa, u64 size, data */
		uint64_t sz = qvmi__kvmi_u64(p + 8);

		/* With a 64-bit size_t no sz but n - 16 sums to n (a test
		 * cannot fail without this); it keeps a 32-bit size_t from
		 * cutting r->size + sz down to n. */
		return sz > QVMI_KVMI_MAX_PAYLOAD ? SIZE_MAX : r->size + sz;
	}
	case PAGE_ACCESS: /* u16 view, u16 count, u32 pad, 16 each */
		return r->size + 16 * (size_t)qvmi__kvmi_u16(p + 2);
	case EV_REPLY: /* event-specific bytes follow; at most 64 */
		return n <= r->size + 64u ? n : SIZE_MAX;
	default:
		return r->size;
	}
}

int qvmi__kvmi_req_check(const struct qvmi_kvmi_hdr *h, const uint8_t *p,
			 const char **why)
{
	const struct req_rule *r;
	size_t n = h->size;

	if (h->id >= QVMI_KVMI_NUM_IDS || rules[h->id].shape == ANY)
		return 0;
	r = &rules[h->id];
	if (r->shape == BAD) {
		*why = "the tool sent an EVENT";
		return -EBADMSG;
	}
	if (n < r->size || n != want_size(r, p, n)) {
		*why = "payload size does not match the command";
		return -EBADMSG;
	}
	/* kvmi_vcpu_hdr { u16 vcpu; u16 pad; u32 pad }: the kernel answers
	 * -KVM_EINVAL for non-zero padding (kvmi-v7 kvmi_msg.c). */
	if (r->vcpu && (qvmi__kvmi_u16(p + 2) || qvmi__kvmi_u32(p + 4))) {
		*why = "non-zero padding in the vCPU header";
		return -EINVAL;
	}
	return 0;
}

size_t qvmi__kvmi_reply_encode(uint8_t *b, uint16_t id, uint32_t seq,
			       int32_t err, size_t data_len)
{
	struct qvmi_kvmi_hdr h = {
		.id = id,
		.size = (uint16_t)(QVMI_KVMI_ERR + (err ? 0 : data_len)),
		.seq = seq,
	};

	qvmi__kvmi_hdr_encode(&h, b);
	qvmi__kvmi_put32(b + QVMI_KVMI_HDR, (uint32_t)err);
	qvmi__kvmi_put32(b + QVMI_KVMI_HDR + 4, 0);
	return QVMI_KVMI_HDR + QVMI_KVMI_ERR;
}

size_t qvmi__kvmi_event_encode(uint8_t *b, size_t cap, uint32_t seq,
			       uint16_t vcpu, uint8_t event,
			       const struct qvmi_kvmi_arch *arch,
			       const void *spec, size_t spec_len)
{
	size_t total = QVMI_KVMI_HDR + QVMI_KVMI_EV_SIZE + spec_len;
	struct qvmi_kvmi_hdr h = { QVMI_KVMI_EVENT, 0, seq };
	uint8_t *e = b + QVMI_KVMI_HDR;

	if (spec_len > 64 || total > cap)
		return 0;
	h.size = (uint16_t)(total - QVMI_KVMI_HDR);
	qvmi__kvmi_hdr_encode(&h, b);
	/* struct kvmi_event: u16 size (common + arch), u16 vcpu, u8 event */
	qvmi__kvmi_put16(e, QVMI_KVMI_EV_SIZE);
	qvmi__kvmi_put16(e + 2, vcpu);
	e[4] = event;
	e[5] = e[6] = e[7] = 0;
	memcpy(e + QVMI_KVMI_EV_COMMON, arch, QVMI_KVMI_EV_ARCH);
	if (spec_len)
		memcpy(e + QVMI_KVMI_EV_SIZE, spec, spec_len);
	return total;
}

void qvmi__kvmi_ev_reply_decode(const uint8_t *p, size_t n,
				struct qvmi_kvmi_ev_reply *ret)
{
	ret->vcpu = qvmi__kvmi_u16(p);
	ret->action = p[8];
	ret->event = p[9];
	ret->spec_len = n - QVMI_KVMI_EV_REPLY;
}
