/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by kvmi-conn.c (dialling, handshake, frames, events) and
 * kvmi-cmds.c (what the tool can ask) and kvmi-regs.c (vCPU state). */
#ifndef QVMID_KVMI_INT_H
#define QVMID_KVMI_INT_H

#include "kvmi-server.h"
#include "proto/kvmi-wire.h"
#include "proto/session-addr.h"

enum kvmi_stage {
	KV_IDLE = 0, /* no socket; dial at next_dial */
	KV_CONNECTING, /* non-blocking connect under way */
	KV_HS_SIZE, /* handshake sent; reading the answer's u32 size */
	KV_HS_BODY, /* reading (and skipping) the rest of the answer */
	KV_READY, /* framed messages */
};

enum {
	KV_MAX_VCPUS = 1024,
	KV_MAX_OUT = 4 << 20,
	KV_MAX_BPS = 256, /* planted int3 gpas at once */
	KV_MAX_ALIAS = 8, /* executable kernel VAs per gpa */
};

/* A gpa where the tool planted 0xCC, and its gdbstub breakpoints. */
struct kvbp {
	uint64_t gpa;
	uint8_t orig; /* the byte before the first 0xCC */
	bool armed; /* Z0 in at every va */
	unsigned int nva;
	uint64_t va[KV_MAX_ALIAS];
};

struct kv_xrange {
	uint64_t va, pa, size;
};

struct kvcpu {
	bool state_ok; /* arch is this vCPU's state in the current pause */
	struct qvmi_kvmi_arch arch;
	bool kgs_ok; /* arch.msrs.shadow_gs is real (gdbstub) */
	bool segs_ok; /* segs: the last HMP read's kvm_sregs */
	struct kvm_sregs segs;
	uint32_t events; /* CONTROL_EVENTS bits (only supported ones) */
	bool ev_pending; /* an event waits for its EVENT_REPLY */
	uint32_t ev_seq;
	uint8_t ev_id;
	unsigned int pauses; /* PAUSE_VCPU requests without an event yet */
	bool sstep; /* VCPU_CONTROL_SINGLESTEP */
};

struct qvmid_kvmi {
	struct qvmi_ctx *ctx;
	struct qvmid_kvmi_opts o;
	struct qvmi_ses_addr addr;
	char spec[128];
	uint8_t key_hash[QVMI_KVMI_COOKIE];
	bool have_key;
	enum kvmi_stage stage;
	int fd;
	int64_t deadline; /* connect/handshake, or output stalled */
	int64_t next_dial;
	bool dial_failing; /* log a failing dial once */
	/* input: the frame being read (or the handshake answer) */
	uint8_t in[QVMI_KVMI_HDR + QVMI_KVMI_MAX_PAYLOAD];
	size_t in_len;
	uint32_t hs_body, hs_left; /* handshake answer after its size */
	bool reset_pending; /* a QMP RESET came: close and redial */
	bool resume_seen; /* a QMP RESUME came: is the gdbstub's VM running? */
	/* unhook rounds: ticket gen_req is done once gen_done reaches it */
	uint64_t gen_req, gen_done;
	int64_t unhook_deadline;
	uint8_t cookie[QVMI_KVMI_COOKIE];
	/* output: out[out_off, out_len) unsent */
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	bool replies_off; /* CONTROL_CMD_RESPONSE */
	uint32_t ev_seq; /* the VM side's own event counter */
	struct kvcpu *cpu;
	unsigned int ncpu;
	bool we_paused; /* the VM is stopped because of this connection */
	/* management stopped it during our pause: the state cache stays
	 * valid until the events are answered, nothing resumes it */
	bool mgmt_paused;
	uint32_t vm_events; /* CONTROL_VM_EVENTS bits */
	bool warned[QVMID_KVMI_IDS]; /* accepted-unsupported: logged */
	bool warned_msr;
	struct qvmid_kvmi_stats st;
	int wake[2]; /* run()/stop() only */
	/* kvmi-bp.c: the gdbstub (ctx's control backend) or NULL */
	struct qvmi_gdb *gdb;
	struct kvbp bps[KV_MAX_BPS];
	unsigned int nbps;
	struct kv_xrange *xr; /* executable kernel ranges */
	size_t nxr;
	bool xr_built;
	bool bp_stopped; /* stopped at our breakpoint or step */
	bool stepping;
	unsigned int step_vcpu;
	int64_t step_deadline;
	uint64_t step_rip; /* RIP when the step started */
	bool step_rip_ok;
	bool step_retried; /* this step was started again once */
};

void qvmid_kvmi_log(struct qvmid_kvmi *k, enum qvmi_log_level lvl,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int64_t qvmid_kvmi_now(void);
/* Room for n bytes at the end of the output; NULL: out of memory or the
 * tool stopped reading (the connection is then closed). */
uint8_t *qvmid_kvmi_reserve(struct qvmid_kvmi *k, size_t n);
void qvmid_kvmi_commit(struct qvmid_kvmi *k, size_t n);
/* Answer request h: err, or 0 and data_len bytes (NULL data: already
 * written right after the reply header by the caller, see reply_buf). */
void qvmid_kvmi_reply(struct qvmid_kvmi *k, const struct qvmi_kvmi_hdr *h,
		      int err, const void *data, size_t data_len);
/* Close the connection with a log line; dial again later. */
void qvmid_kvmi_close(struct qvmid_kvmi *k, const char *why);

/* kvmi-key.c: constant-time cookie comparison. */
bool qvmid_kvmi_cookie_eq(const uint8_t *a, const uint8_t *b);

/* kvmi-cmds.c: one validated request. */
void qvmid_kvmi_command(struct qvmid_kvmi *k, const struct qvmi_kvmi_hdr *h,
			const uint8_t *p);
/* The connection ends: continue a VM we stopped, forget events. */
void qvmid_kvmi_release(struct qvmid_kvmi *k);
/* Is the command implemented (CHECK_COMMAND's truthful answer)? */
bool qvmid_kvmi_cmd_supported(const struct qvmid_kvmi *k, uint16_t id);
bool qvmid_kvmi_ev_supported(const struct qvmid_kvmi *k, uint16_t ev);

/* kvmi-regs.c: vCPU state (cached while this connection has the VM
 * stopped).  0 or a negative errno. */
int qvmid_kvmi_vcpu_state(struct qvmid_kvmi *k, unsigned int vcpu,
			  const struct qvmi_kvmi_arch **ret);
void qvmid_kvmi_state_flush(struct qvmid_kvmi *k);
/* The vCPU count (k->cpu allocated on first use). */
int qvmid_kvmi_ncpus(struct qvmid_kvmi *k);
/* GET_REGISTERS reply data into buf (QVMI_KVMI_REGS_FIXED + 16 * n
 * bytes): 0, or a negative errno to answer. */
int qvmid_kvmi_get_registers(struct qvmid_kvmi *k, unsigned int vcpu,
			     const uint8_t *idx, unsigned int n, uint8_t *buf);
bool qvmid_kvmi_send_vm_event(struct qvmid_kvmi *k, uint8_t ev);
int qvmid_kvmi_set_registers(struct qvmid_kvmi *k, unsigned int vcpu,
			     const uint8_t *p);
int qvmid_kvmi_tsc_speed(struct qvmid_kvmi *k, unsigned int vcpu,
			 uint64_t *ret);
/* Send event ev for vcpu with its state; false if not sent. */
bool qvmid_kvmi_send_event(struct qvmid_kvmi *k, unsigned int vcpu, uint8_t ev,
			   const void *spec, size_t spec_len);

/* kvmi-bp.c: breakpoints and single-step over the gdbstub. */
int qvmid_kvmi_bp_init(struct qvmid_kvmi *k);
int qvmid_kvmi_bp_fd(const struct qvmid_kvmi *k);
int qvmid_kvmi_bp_write(struct qvmid_kvmi *k, uint64_t gpa, uint8_t byte,
			int *err);
void qvmid_kvmi_bp_poll(struct qvmid_kvmi *k, int64_t *next_ms);
bool qvmid_kvmi_bp_reply(struct qvmid_kvmi *k, unsigned int vcpu, uint8_t ev,
			 uint8_t action);
void qvmid_kvmi_bp_release(struct qvmid_kvmi *k);
int qvmid_kvmi_singlestep(struct qvmid_kvmi *k, unsigned int vcpu, bool enable);
void qvmid_kvmi_bp_drop(struct qvmid_kvmi *k);
/* A QMP RESUME came: if QEMU runs while the gdbstub client believes the
 * VM stopped (someone else's "cont"), tell it. */
void qvmid_kvmi_bp_resumed(struct qvmid_kvmi *k);
/* The gdbstub may be asked now: the VM is stopped by this connection. */
bool qvmid_kvmi_gdb_usable(const struct qvmid_kvmi *k);

#endif
