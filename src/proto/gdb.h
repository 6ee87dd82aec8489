/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GDB remote protocol client for QEMU's gdbstub (checked on QEMU 7.2):
 * register layout from target.xml, threads = vCPUs, registers, memory
 * (virtual, or physical through Qqemu.PhyMemMode), breakpoints,
 * continue/step/interrupt, detach.  Plus the control backend and the
 * physical-memory source built on it.
 *
 * The connection has two states.  Stopped: commands get replies.  Running
 * (after a continue): the only thing the stub reads is a byte that stops
 * the VM (QEMU 7.2 gdb_read_byte drops it and sends T02), so every
 * operation that needs the VM stopped goes through qvmi__gdb_hold(), which
 * interrupts, and qvmi__gdb_release(), which continues again unless a real
 * stop (a breakpoint) arrived meanwhile.
 */
#ifndef QVMI_PROTO_GDB_H
#define QVMI_PROTO_GDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/base.h"
#include "proto/rsp.h"

/* ---- register layout (pure; fuzzed) ---------------------------------- */

enum {
	QVMI_GDB_MAX_REGS = 1024,
	QVMI_GDB_MAX_REGNUM = 65535,
	QVMI_GDB_MAX_REGBITS = 4096,
	QVMI_GDB_MAX_XML = 1 << 20, /* one feature document */
	QVMI_GDB_MAX_INCLUDE_DEPTH = 4,
	QVMI_GDB_MAX_INCLUDES = 32, /* files fetched for one description */
};

struct qvmi_gdb_reg {
	char name[32];
	unsigned int bitsize;
	unsigned int regnum;
	size_t offset; /* in the 'g' packet's binary form */
};

struct qvmi__gdb_layout {
	struct qvmi_gdb_reg *regs; /* sorted by regnum */
	size_t nregs;
	size_t gsize; /* bytes of a full 'g' reply */
};

/* Fetch an included feature document: *ret is malloc'd, NUL-terminated. */
typedef int (*qvmi_gdb_fetch_fn)(const char *href, char **ret, size_t *ret_len,
				 void *arg);

/*
 * Parse a target description.  Comments are skipped properly: QEMU 7.2's
 * i386-64bit.xml has cs_base/ss_base/ds_base/es_base inside a comment.
 * xi:include is followed through fetch (may be NULL: includes fail), at most
 * QVMI_GDB_MAX_INCLUDE_DEPTH deep.  -EBADMSG on malformed XML or
 * registers (duplicate regnum, bitsize not a multiple of 8, ...).
 */
QVMI_HIDDEN int qvmi__gdb_parse_layout(const char *xml, size_t len,
				       qvmi_gdb_fetch_fn fetch, void *arg,
				       struct qvmi__gdb_layout *ret);
QVMI_HIDDEN void qvmi__gdb_layout_deinit(struct qvmi__gdb_layout *l);
QVMI_HIDDEN const struct qvmi_gdb_reg *
qvmi__gdb_layout_find(const struct qvmi__gdb_layout *l, const char *name);
/* The program counter: "rip" (x86_64) or "eip" (qemu-system-i386). */
QVMI_HIDDEN const struct qvmi_gdb_reg *
qvmi__gdb_layout_pc(const struct qvmi__gdb_layout *l);

/* Map a 'g' image (binary, possibly shorter than gsize) to x86 registers,
 * setting the valid bits of the groups that are complete. */
QVMI_HIDDEN int qvmi__gdb_regs_from_g(const struct qvmi__gdb_layout *l,
				      const uint8_t *g, size_t glen,
				      struct qvmi_regs_x86 *ret);
/* Patch the groups marked valid in regs into a 'g' image. */
QVMI_HIDDEN int qvmi__gdb_regs_to_g(const struct qvmi__gdb_layout *l,
				    const struct qvmi_regs_x86 *regs,
				    uint8_t *g, size_t glen);

/* ---- client ------------------------------------------------------------ */

struct qvmi_gdb;

/* Connect a stream socket to a unix path; *ret is the fd. */
QVMI_HIDDEN int qvmi__gdb_connect(struct qvmi_ctx *ctx, const char *path,
				  int *ret);
/* Connect to a unix socket and set up (qSupported, target.xml, threads). */
QVMI_HIDDEN int qvmi__gdb_open(struct qvmi_ctx *ctx, const char *path,
			       int timeout_ms, struct qvmi_gdb **ret);
/* Same over a connected stream fd; takes ownership of fd. */
QVMI_HIDDEN int qvmi__gdb_open_fd(struct qvmi_ctx *ctx, int fd, int timeout_ms,
				  struct qvmi_gdb **ret);
/* Reference counting: the control backend and the memory source share one
 * connection.  The last unref closes it: tracked breakpoints are removed,
 * physical mode is turned off, and if the VM should be running (see
 * qvmi__gdb_want_running) the client detaches, which resumes the VM;
 * otherwise the socket is just closed and QEMU leaves the VM paused. */
QVMI_HIDDEN struct qvmi_gdb *qvmi__gdb_ref(struct qvmi_gdb *g);
QVMI_HIDDEN void qvmi__gdb_unref(struct qvmi_gdb *g);

QVMI_HIDDEN struct qvmi_rsp_conn *qvmi__gdb_conn(struct qvmi_gdb *g);
QVMI_HIDDEN const struct qvmi__gdb_layout *
qvmi__gdb_layout(const struct qvmi_gdb *g);
QVMI_HIDDEN unsigned int qvmi__gdb_nvcpus(const struct qvmi_gdb *g);
QVMI_HIDDEN bool qvmi__gdb_running(const struct qvmi_gdb *g);
/* True if the stub's stop reply on connect showed the VM was running. */
QVMI_HIDDEN bool qvmi__gdb_was_running(const struct qvmi_gdb *g);
QVMI_HIDDEN bool qvmi__gdb_has_phys(const struct qvmi_gdb *g);
/* What the VM should do when the connection closes. */
QVMI_HIDDEN void qvmi__gdb_want_running(struct qvmi_gdb *g, bool run);
/*
 * Someone else (QMP "cont") resumed the VM while this connection had it
 * stopped.  QEMU 7.2's gdbstub does not report a resume, and while the VM
 * runs it turns the next byte it receives into a stop (the packet is lost,
 * a T02 comes instead): mark the connection running, so the next command
 * interrupts first and consumes that stop reply.
 */
QVMI_HIDDEN void qvmi__gdb_resumed_elsewhere(struct qvmi_gdb *g);

/* Registers of one vCPU (index into the thread list). */
QVMI_HIDDEN int qvmi__gdb_read_g(struct qvmi_gdb *g, unsigned int vcpu,
				 uint8_t *buf, size_t cap, size_t *ret_len);
QVMI_HIDDEN int qvmi__gdb_write_g(struct qvmi_gdb *g, unsigned int vcpu,
				  const uint8_t *buf, size_t len);
QVMI_HIDDEN int qvmi__gdb_read_reg(struct qvmi_gdb *g, unsigned int vcpu,
				   unsigned int regnum, uint8_t *buf,
				   size_t cap, size_t *ret_len);
QVMI_HIDDEN int qvmi__gdb_write_reg(struct qvmi_gdb *g, unsigned int vcpu,
				    unsigned int regnum, const uint8_t *buf,
				    size_t len);
QVMI_HIDDEN int qvmi__gdb_get_regs(struct qvmi_gdb *g, unsigned int vcpu,
				   struct qvmi_regs_x86 *ret);
QVMI_HIDDEN int qvmi__gdb_set_regs(struct qvmi_gdb *g, unsigned int vcpu,
				   const struct qvmi_regs_x86 *regs);

/* Memory: virtual through vcpu's page tables, or physical (vcpu ignored).
 * Chunked to at most 2048 bytes per packet (QEMU 7.2: 2049 gives E22).
 * An unmapped address (E14) gives -EFAULT with the chunk's address. */
QVMI_HIDDEN int qvmi__gdb_read_mem(struct qvmi_gdb *g, unsigned int vcpu,
				   bool phys, uint64_t addr, void *buf,
				   size_t len);
QVMI_HIDDEN int qvmi__gdb_write_mem(struct qvmi_gdb *g, unsigned int vcpu,
				    bool phys, uint64_t addr, const void *buf,
				    size_t len);

QVMI_HIDDEN int qvmi__gdb_bp_insert(struct qvmi_gdb *g, enum qvmi_bp_kind kind,
				    uint64_t addr, unsigned int len);
QVMI_HIDDEN int qvmi__gdb_bp_remove(struct qvmi_gdb *g, enum qvmi_bp_kind kind,
				    uint64_t addr, unsigned int len);
QVMI_HIDDEN size_t qvmi__gdb_bp_count(const struct qvmi_gdb *g);

/* Continue all vCPUs, stepping the last stopped vCPU over a breakpoint it
 * sits on first.  Pending stops not yet collected are dropped. */
QVMI_HIDDEN int qvmi__gdb_continue(struct qvmi_gdb *g);
/* Step one vCPU (the others stay stopped: QEMU 7.2 gdb_continue_partial
 * resumes only the vCPUs a vCont action names) and wait for it. */
QVMI_HIDDEN int qvmi__gdb_step(struct qvmi_gdb *g, unsigned int vcpu,
			       struct qvmi_stop *ret);
/* Start a step of one vCPU and return at once (qvmid's loop must not wait:
 * under TCG a halted vCPU does not step until something wakes it).  The
 * stop reply is taken later by qvmi__gdb_poll_stop, _wait_stop or
 * _interrupt, classified as a step, and the breakpoints at the vCPU's RIP
 * that were taken out for the step go back in then. */
QVMI_HIDDEN int qvmi__gdb_step_start(struct qvmi_gdb *g, unsigned int vcpu);
/* A step started by qvmi__gdb_step_start has not stopped yet. */
QVMI_HIDDEN bool qvmi__gdb_stepping(const struct qvmi_gdb *g);
/* Stop a running VM (0x03) and wait for the stop reply. */
QVMI_HIDDEN int qvmi__gdb_interrupt(struct qvmi_gdb *g);
/* Next stop event: a pending one, or wait up to timeout_ms. */
QVMI_HIDDEN int qvmi__gdb_wait_stop(struct qvmi_gdb *g, int timeout_ms,
				    struct qvmi_stop *ret);
/* Take in a stop reply if one is already there (non-blocking). */
QVMI_HIDDEN void qvmi__gdb_poll(struct qvmi_gdb *g);
/* For another poll loop: the connection's fd (POLLIN while running) and
 * a non-blocking look for a stop: 1 with *ret filled (a pending stop or
 * one that arrived), 0 if none, < 0 on a broken connection. */
QVMI_HIDDEN int qvmi__gdb_fd(const struct qvmi_gdb *g);
QVMI_HIDDEN int qvmi__gdb_poll_stop(struct qvmi_gdb *g, struct qvmi_stop *ret);
/* Re-insert a tracked breakpoint (z, then Z) with the VM stopped: 0 if
 * the stub has it again, 1 if the stub refused the Z (it is no longer
 * tracked; the reason is ctx's message), < 0 on a broken connection. */
QVMI_HIDDEN int qvmi__gdb_bp_reinsert(struct qvmi_gdb *g,
				      enum qvmi_bp_kind kind, uint64_t addr,
				      unsigned int len);
/* Remove a breakpoint this connection may not know (one a previous
 * connection left in QEMU, see qvmid's ledger); the VM must be stopped.
 * QEMU 7.2 answers E22 for one that is not there. */
QVMI_HIDDEN int qvmi__gdb_bp_remove_untracked(struct qvmi_gdb *g,
					      enum qvmi_bp_kind kind,
					      uint64_t addr, unsigned int len);
/* Detach: QEMU removes all breakpoints and resumes the VM. */
QVMI_HIDDEN int qvmi__gdb_detach(struct qvmi_gdb *g);

/* Make sure the VM is stopped for a command; *held says whether we stopped
 * it.  qvmi__gdb_release(g, held) lets it run again. */
QVMI_HIDDEN int qvmi__gdb_hold(struct qvmi_gdb *g, bool *held);
QVMI_HIDDEN int qvmi__gdb_release(struct qvmi_gdb *g, bool held);

/* ---- control backend and memory source --------------------------------- */

/* The gdb connection behind ctx's control backend, or NULL. */
QVMI_HIDDEN struct qvmi_gdb *qvmi__ctl_gdb(struct qvmi_ctx *ctx);
/* Install the control backend (takes a reference). */
QVMI_HIDDEN int qvmi__ctl_gdb_install(struct qvmi_ctx *ctx, struct qvmi_gdb *g);
/* Physical memory through the stub (slow; takes a reference). */
QVMI_HIDDEN int qvmi__source_gdb_create(struct qvmi_ctx *ctx,
					struct qvmi_gdb *g,
					struct qvmi_source **ret);

#endif
