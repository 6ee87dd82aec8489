/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The KVMi wire protocol as libkvmi master (bitdefender/libkvmi bc80de9,
 * the "kvmi-v7" numbering) and LibVMI's KVM driver speak it
 * (docs/KVMI.md): the QEMU-side handshake, then the kernel's framing.
 * Pure functions over byte buffers, no I/O, so the decoder can be fuzzed
 * alone (fuzz/kvmi-frame.c).  Only qvmid's KVMi front-end uses it; the
 * integration test's client builds its frames from the same layouts.
 *
 * Both ends of a KVMi socket are on the same host and the protocol is in
 * host byte order; qvmi is x86_64 only, so that is little-endian.
 */
#ifndef QVMI_PROTO_KVMI_WIRE_H
#define QVMI_PROTO_KVMI_WIRE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base.h"

enum {
	QVMI_KVMI_HDR = 8, /* struct kvmi_msg_hdr */
	/* KVMI_MSG_SIZE in libkvmi include/linux/kvmi.h: the largest
	 * payload either side sends or accepts. */
	QVMI_KVMI_MAX_PAYLOAD = 4096 * 2 - 8,
	QVMI_KVMI_HS_V7 = 96, /* qemu_vmi_to_introspector, kvmi-v7 QEMU */
	QVMI_KVMI_HS_V12 = 104, /* + u64 max_gpa, the v12 QEMU */
	QVMI_KVMI_HS_REPLY = 24, /* qemu_vmi_from_introspector */
	/* libkvmi refuses a VM handshake above this; we bound the tool's
	 * the same way (the rest past our 24 bytes is skipped). */
	QVMI_KVMI_HS_REPLY_MAX = 64 * 1024,
	QVMI_KVMI_COOKIE = 20, /* SHA-1 */
	QVMI_KVMI_NAME = 64,
	QVMI_KVMI_ERR = 8, /* struct kvmi_error_code */
	QVMI_KVMI_VCPU_HDR = 8,
	QVMI_KVMI_EV_COMMON = 8, /* size, vcpu, event, pad */
	QVMI_KVMI_EV_ARCH = 536, /* struct kvmi_event_arch (x86_64) */
	QVMI_KVMI_EV_SIZE = QVMI_KVMI_EV_COMMON + QVMI_KVMI_EV_ARCH, /* 544 */
	QVMI_KVMI_EV_REPLY = 16, /* vcpu_hdr + {action, event, pad} */
	QVMI_KVMI_REGS_FIXED = 472, /* GET_REGISTERS reply without MSRs */
	QVMI_KVMI_MSR_ENTRY = 16,
	/* GET_REGISTERS: the most MSRs whose reply fits one message. */
	QVMI_KVMI_MAX_MSRS =
		(QVMI_KVMI_MAX_PAYLOAD - QVMI_KVMI_ERR - QVMI_KVMI_REGS_FIXED) /
		QVMI_KVMI_MSR_ENTRY,
	QVMI_KVMI_PAGE = 4096,
	QVMI_KVMI_NUM_IDS = 64, /* KVM_NUM_MESSAGES */
	QVMI_KVMI_NUM_EVENTS = 14, /* KVMI_NUM_EVENTS */
	QVMI_KVMI_VERSION = 1,
};

/* libkvmi include/linux/kvmi.h, kvmi-v7 numbering. */
enum qvmi_kvmi_msg {
	QVMI_KVMI_EVENT_REPLY = 0,
	QVMI_KVMI_EVENT = 1,
	QVMI_KVMI_GET_VERSION = 2,
	QVMI_KVMI_CHECK_COMMAND = 3,
	QVMI_KVMI_CHECK_EVENT = 4,
	QVMI_KVMI_GET_GUEST_INFO = 5,
	QVMI_KVMI_GET_VCPU_INFO = 6,
	QVMI_KVMI_PAUSE_VCPU = 7,
	QVMI_KVMI_CONTROL_VM_EVENTS = 8,
	QVMI_KVMI_CONTROL_EVENTS = 9,
	QVMI_KVMI_CONTROL_CR = 10,
	QVMI_KVMI_CONTROL_MSR = 11,
	QVMI_KVMI_CONTROL_VE = 12,
	QVMI_KVMI_GET_REGISTERS = 13,
	QVMI_KVMI_SET_REGISTERS = 14,
	QVMI_KVMI_GET_CPUID = 15,
	QVMI_KVMI_GET_XSAVE = 16,
	QVMI_KVMI_READ_PHYSICAL = 17,
	QVMI_KVMI_WRITE_PHYSICAL = 18,
	QVMI_KVMI_INJECT_EXCEPTION = 19,
	QVMI_KVMI_GET_PAGE_ACCESS = 20,
	QVMI_KVMI_SET_PAGE_ACCESS = 21,
	QVMI_KVMI_CONTROL_CMD_RESPONSE = 27,
	QVMI_KVMI_GET_MAX_GFN = 29,
	QVMI_KVMI_VCPU_TRANSLATE_GVA = 35,
	QVMI_KVMI_VCPU_CONTROL_SINGLESTEP = 63,
};

enum qvmi_kvmi_event_id {
	QVMI_KVMI_EV_UNHOOK = 0,
	QVMI_KVMI_EV_CR = 1,
	QVMI_KVMI_EV_MSR = 2,
	QVMI_KVMI_EV_XSETBV = 3,
	QVMI_KVMI_EV_BREAKPOINT = 4,
	QVMI_KVMI_EV_HYPERCALL = 5,
	QVMI_KVMI_EV_PF = 6,
	QVMI_KVMI_EV_TRAP = 7,
	QVMI_KVMI_EV_DESCRIPTOR = 8,
	QVMI_KVMI_EV_CREATE_VCPU = 9,
	QVMI_KVMI_EV_PAUSE_VCPU = 10,
	QVMI_KVMI_EV_SINGLESTEP = 11,
	QVMI_KVMI_EV_CPUID = 13,
};

enum qvmi_kvmi_action {
	QVMI_KVMI_CONTINUE = 0,
	QVMI_KVMI_RETRY = 1,
	QVMI_KVMI_CRASH = 2,
};

/* linux/kvm_para.h; KVMi adds EAGAIN/ENOMEM/EBUSY/ENOENT as plain errno. */
enum {
	QVMI_KVM_ENOSYS = 1000,
	QVMI_KVM_EOPNOTSUPP = 95,
};

struct qvmi_kvmi_hdr {
	uint16_t id;
	uint16_t size; /* payload bytes after the header */
	uint32_t seq;
};

/* What the VM side says first. */
struct qvmi_kvmi_vm_hs {
	uint8_t uuid[16];
	int64_t start_time; /* Unix seconds */
	char name[QVMI_KVMI_NAME]; /* cut to 63 bytes, NUL-terminated */
	uint64_t max_gpa; /* v12 only */
};

/* struct kvmi_event_arch (libkvmi include/linux/x86_64/asm/kvmi.h). */
struct qvmi_kvmi_arch {
	uint8_t mode; /* 2, 4 or 8 */
	uint8_t pad1;
	uint16_t view;
	uint8_t pad2[4];
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct {
		uint64_t sysenter_cs, sysenter_esp, sysenter_eip, efer, star,
			lstar, cstar, pat, shadow_gs;
	} msrs;
};

struct qvmi_kvmi_ev_reply {
	uint16_t vcpu;
	uint8_t action;
	uint8_t event;
	size_t spec_len; /* event-specific bytes after the 16 */
};

/* The handshake qvmid sends: 96 bytes, or 104 with v12.  Returns the
 * size written to buf (which holds QVMI_KVMI_HS_V12). */
QVMI_HIDDEN size_t qvmi__kvmi_hs_encode(const struct qvmi_kvmi_vm_hs *hs,
					bool v12, uint8_t *buf);
/* The tool's answer starts with u32 struct_size: 24..64 KiB, else
 * -EBADMSG (*why says which). */
QVMI_HIDDEN int qvmi__kvmi_hs_reply_size(const uint8_t b[4], uint32_t *ret,
					 const char **why);

QVMI_HIDDEN void qvmi__kvmi_hdr_encode(const struct qvmi_kvmi_hdr *h,
				       uint8_t b[QVMI_KVMI_HDR]);
/* -EBADMSG when size passes QVMI_KVMI_MAX_PAYLOAD. */
QVMI_HIDDEN int qvmi__kvmi_hdr_decode(const uint8_t b[QVMI_KVMI_HDR],
				      struct qvmi_kvmi_hdr *ret,
				      const char **why);

/*
 * Validate a request from the tool whose header and payload were read
 * whole.  0: well-formed (it may still be an unknown or unsupported id,
 * which the caller answers -EOPNOTSUPP).  -EBADMSG: malformed, the
 * connection must close (a size that does not match the command, an
 * EVENT from the tool, ...).  -EINVAL: well-formed but answered
 * -KVM_EINVAL (non-zero padding in the vcpu header or the request).
 */
QVMI_HIDDEN int qvmi__kvmi_req_check(const struct qvmi_kvmi_hdr *h,
				     const uint8_t *p, const char **why);
/* Does the id start its payload with a kvmi_vcpu_hdr? */
QVMI_HIDDEN bool qvmi__kvmi_is_vcpu_cmd(uint16_t id);
/* The vcpu field of a vCPU command (checked by req_check). */
QVMI_HIDDEN uint16_t qvmi__kvmi_vcpu_of(const uint8_t *p);

/* Header + error code of a reply with data_len data bytes after them
 * (0 when err != 0); returns QVMI_KVMI_HDR + QVMI_KVMI_ERR. */
QVMI_HIDDEN size_t qvmi__kvmi_reply_encode(uint8_t *b, uint16_t id,
					   uint32_t seq, int32_t err,
					   size_t data_len);
/* An EVENT message: header, common part, arch, spec_len specific bytes.
 * Returns the total size, or 0 if spec_len does not fit. */
QVMI_HIDDEN size_t qvmi__kvmi_event_encode(uint8_t *b, size_t cap, uint32_t seq,
					   uint16_t vcpu, uint8_t event,
					   const struct qvmi_kvmi_arch *arch,
					   const void *spec, size_t spec_len);
/* An EVENT_REPLY payload (req_check passed it). */
QVMI_HIDDEN void qvmi__kvmi_ev_reply_decode(const uint8_t *p, size_t n,
					    struct qvmi_kvmi_ev_reply *ret);

/* Little-endian loads and stores (x86_64 only, but unaligned-safe). */
static inline uint16_t qvmi__kvmi_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t qvmi__kvmi_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t qvmi__kvmi_u64(const uint8_t *p)
{
	return qvmi__kvmi_u32(p) | (uint64_t)qvmi__kvmi_u32(p + 4) << 32;
}

static inline void qvmi__kvmi_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void qvmi__kvmi_put32(uint8_t *p, uint32_t v)
{
	qvmi__kvmi_put16(p, (uint16_t)v);
	qvmi__kvmi_put16(p + 2, (uint16_t)(v >> 16));
}

static inline void qvmi__kvmi_put64(uint8_t *p, uint64_t v)
{
	qvmi__kvmi_put32(p, (uint32_t)v);
	qvmi__kvmi_put32(p + 4, (uint32_t)(v >> 32));
}

#endif
