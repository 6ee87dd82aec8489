/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* State of a gdbstub connection, shared by gdb.c and gdb-run.c only. */
#ifndef QVMI_PROTO_GDB_PRIV_H
#define QVMI_PROTO_GDB_PRIV_H

#include "proto/gdb.h"

enum {
	MAX_VCPUS = 4096,
	MAX_BPS = 256,
	TID_MAX = 40,
	/* QEMU 7.2: an 'm' of more than MAX_PACKET_LENGTH / 2 = 2048 bytes
	 * gets E22. */
	MEM_CHUNK = 2048,
	/* Stop replies queued until qvmi__gdb_wait_stop collects them. */
	MAX_PENDING = 8,
	/* Replies skipped while looking for the qSupported answer. */
	MAX_EARLY_STOPS = 4,
	/* qvmi__gdb_poll_stop: the rest of a stop reply whose first byte
	 * arrived. */
	POLL_STOP_MS = 200,
};

struct vcpu {
	char id[TID_MAX]; /* as the stub wrote it: "p01.02" */
	struct qvmi_rsp_tid tid;
};

struct bp {
	enum qvmi_bp_kind kind;
	uint64_t addr;
	unsigned int len;
};

struct qvmi_gdb {
	struct qvmi_ctx *ctx;
	struct qvmi_rsp_conn conn;
	int refs;
	char *buf; /* reply buffer, QVMI_RSP_MAX_DECODED + 1 */
	/* features */
	size_t pktsize;
	bool multiprocess, xfer, vcont, vcont_s, phys_ok;
	struct qvmi__gdb_layout layout;
	int rip_regnum;
	struct vcpu *vcpus;
	unsigned int nvcpus;
	/* state */
	bool running, was_running, want_running, phys;
	int cur_g; /* vCPU selected with Hg, -1 if unknown */
	struct bp bps[MAX_BPS];
	size_t nbps;
	struct qvmi_stop pending[MAX_PENDING];
	size_t npending;
	bool have_last; /* last stop, for stepping over its breakpoint */
	struct qvmi_stop last;
	/* A vCont;s is out: its stop reply is the step's.  The breakpoints
	 * at the vCPU's RIP are out of QEMU meanwhile and go back in as soon
	 * as the stop reply is taken, whoever takes it. */
	bool stepping;
	unsigned int step_vcpu;
	struct bp step_saved[2];
	size_t step_nsaved;
};

/* Exchange a command; the reply is in g->buf. */
QVMI_HIDDEN int qvmi__gdb_cmd(struct qvmi_gdb *g, const char *c,
			      size_t *ret_len);
/* The reply in g->buf as an errno ("E14" -> -EFAULT at addr, ...). */
QVMI_HIDDEN int qvmi__gdb_reply_err(struct qvmi_gdb *g, const char *what,
				    uint64_t addr);
QVMI_HIDDEN int qvmi__gdb_expect_ok(struct qvmi_gdb *g, const char *c,
				    const char *what);

#endif
