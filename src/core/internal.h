/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal state of a context; never installed. */
#ifndef QVMI_CORE_INTERNAL_H
#define QVMI_CORE_INTERNAL_H

#include "core/base.h"

struct qvmi_source {
	const struct qvmi_source_ops *ops;
	void *priv;
	struct qvmi_ctx *ctx;
	unsigned int flags;
	/* >= 0: the source's addresses are offsets in this file (shared
	 * RAM), so a reader may move them with sendfile() (qvmi__pa_file).
	 * -1 by default; owned by the source. */
	int file_fd;
	/* With file_fd: true once the file is stale (its QEMU exited, while
	 * our fd keeps it alive).  May be NULL. */
	bool (*file_gone)(struct qvmi_source *s);
	/* With a host mapping: may a small read of [addr, addr + len) be
	 * memcpy'd from it?  false sends the read to the read op instead
	 * (shared RAM: a page the file does not have yet, which a touch
	 * through the mapping would allocate).  May be NULL: always yes. */
	bool (*host_ok)(struct qvmi_source *s, uint64_t addr, size_t len);
	/* Optional: where [addr, addr + len) may hold data.  *start is the
	 * first address at or after addr that may hold a non-zero byte
	 * (addr + len if none: the rest reads as zeros, e.g. a hole of a
	 * sparse RAM file or anonymous memory never touched), *end the end
	 * of that run of data (<= addr + len).  Advisory: 0, or negative
	 * errno to mean "read it all".  May be NULL. */
	int (*next_data)(struct qvmi_source *s, uint64_t addr, uint64_t len,
			 uint64_t *start, uint64_t *end);
	/* Made by qvmi__layout_build (layout.c): a refresh of QEMU's
	 * layout may replace it. */
	bool layout;
	struct qvmi_source *next; /* ctx's list of owned sources */
};

/* One range of the effective guest-physical map. */
struct qvmi_seg {
	uint64_t start;
	uint64_t last; /* inclusive, so a range may end at 2^64 */
	uint64_t src_addr;
	struct qvmi_source *src;
	/* Non-NULL: host mapping of the whole range; small reads are
	 * memcpy'd straight from it (shared RAM). */
	uint8_t *host;
};

/*
 * Control of a VM: registers, pause/resume, state.  Each backend (QMP, a
 * dump, later the gdbstub) provides one small ops table.  NULL ops mean
 * "cannot do that" and give -EOPNOTSUPP in one place (ctl.c).  (struct
 * qvmi__segs, the optional get_segs result, is in core/base.h.)
 */
struct qvmi_ctl;
struct qvmi_ctl_ops {
	const char *name;
	int (*vcpu_count)(struct qvmi_ctl *c);
	int (*get_regs)(struct qvmi_ctl *c, unsigned int vcpu,
			struct qvmi_regs_x86 *ret);
	int (*pause)(struct qvmi_ctl *c);
	int (*resume)(struct qvmi_ctl *c);
	int (*state)(struct qvmi_ctl *c, enum qvmi_vm_state *ret);
	/* Non-blocking: take in pending events so ctx->vm_state is current. */
	void (*poll)(struct qvmi_ctl *c);
	/* Optional execution control for backends other than the gdbstub
	 * (the session): qvmi_bp_insert/remove, qvmi_single_step,
	 * qvmi_wait_stop, qvmi_set_regs. */
	int (*bp)(struct qvmi_ctl *c, bool insert, enum qvmi_bp_kind kind,
		  uint64_t gva, unsigned int len);
	int (*step)(struct qvmi_ctl *c, unsigned int vcpu);
	int (*wait_stop)(struct qvmi_ctl *c, int timeout_ms,
			 struct qvmi_stop *ret);
	/* qvmi_set_regs */
	int (*set_regs)(struct qvmi_ctl *c, unsigned int vcpu,
			const struct qvmi_regs_x86 *regs);
	/* Optional: segment limits, flags, LDT and TR (the dump writer's
	 * QEMU notes). */
	int (*get_segs)(struct qvmi_ctl *c, unsigned int vcpu,
			struct qvmi__segs *ret);
	/* Optional: the VM's events and the management hook (a qvmid
	 * session, docs/PROTOCOL.md "Events"): qvmi_set_event_cb,
	 * qvmi_events_poll, qvmi_session_hook, qvmi_session_unhook_ack;
	 * event_fd is qvmi_session_fd's socket, or negative errno. */
	int (*set_event_cb)(struct qvmi_ctl *c, qvmi_event_fn fn, void *arg);
	int (*events_poll)(struct qvmi_ctl *c, int timeout_ms);
	int (*hook)(struct qvmi_ctl *c);
	int (*unhook_ack)(struct qvmi_ctl *c);
	int (*event_fd)(struct qvmi_ctl *c);
	void (*destroy)(struct qvmi_ctl *c);
};

struct qvmi_ctl {
	const struct qvmi_ctl_ops *ops;
	void *priv;
	struct qvmi_ctx *ctx;
};

struct qvmi_cache;
struct qvmi_arch;

struct qvmi_ctx {
	/* last error */
	int err;
	uint64_t fault_addr;
	char errmsg[QVMI_ERRMSG_MAX];

	/* logging */
	qvmi_log_fn log_fn;
	void *log_arg;
	enum qvmi_log_level log_level;

	/* memory */
	struct qvmi_source *sources;
	struct qvmi_seg *segs;
	size_t nsegs, segs_cap;
	size_t seg_hint; /* last segment hit */
	struct qvmi_ram_range *ram;
	size_t nram;

	/* page cache for slow sources */
	struct qvmi_cache *cache;
	enum qvmi_cache_mode cache_mode;

	/* VM control and identity */
	struct qvmi_qmp *qmp; /* live QMP connection, if any; owned */
	void (*qmp_close)(struct qvmi_qmp *q); /* set with qmp */
	/* An attach from the layout cache connects QMP on first use
	 * (qvmi__qmp_need): where, and the socket it checked.  Owned. */
	struct qvmi_qmp_lazy *qmp_lazy;
	/* Connects it (set by the attach that deferred it): core and ctl
	 * reach it through qvmi__qmp_need without knowing attach. */
	int (*qmp_connect)(struct qvmi_ctx *ctx);
	/* An ELF dump's VMCOREINFO text, owned by its ctl (NULL if none). */
	const char *vmcoreinfo;
	/* A QMP attach's layout and what keeps it current (src/attach/
	 * layout-live.c), owned, NULL for other attaches; the attach sets
	 * the hooks core calls (qvmi__layout_check, qvmi__detach). */
	struct qvmi_lay *lay;
	bool lay_stale; /* re-read the layout before the next access */
	unsigned int lay_tick; /* accesses, to look at QMP every 16th */
	void (*lay_poll)(struct qvmi_ctx *ctx);
	void (*lay_free)(struct qvmi_ctx *ctx);
	bool vm_prelaunch; /* QEMU said "prelaunch" (-S, never run) */
	struct qvmi_ctl *ctl;
	enum qvmi_vm_state vm_state; /* as last seen */
	char *vm_name, *vm_uuid, *qemu_version;
	/* QEMU's target ("x86_64", "i386": QMP query-target, the gdbstub's
	 * description, qvmid's info), an ELF dump's e_machine; "" unknown. */
	char vm_arch[16];
	/* qvmi_attach_opts.cache_dir (NULL: the default directory); kept
	 * across the detach a failed cached attach does, freed with ctx. */
	char *cache_dir;
	const char *backend;
	int qemu_pid;
	/* Which memory image this is (qvmi__mem_id_set): two attaches with
	 * the same non-empty id read the same guest memory, the same QEMU
	 * process or the same unchanged dump file in this host boot.  The
	 * profile cache skips re-hashing the kallsyms tables it learnt from
	 * this very image (profile.c).  "" when unknown. */
	char mem_id[160];

	/* ---- paging branch: guest-virtual memory (src/arch) ---- */
	/* Caches above the page cache (the TLB) compare these: flush_gen
	 * moves on every qvmi_cache_flush (resume, detach, map change, mode
	 * change), write_gen on every guest-physical write. */
	uint64_t flush_gen;
	uint64_t write_gen;
	struct qvmi_arch *arch; /* owned; created on first use */
	void (*arch_destroy)(struct qvmi_arch *arch); /* set with arch */
	/* ---- end paging branch ---- */
};

/* Like qvmi_map_add, with a host mapping for zero-copy small reads. */
QVMI_HIDDEN int qvmi__map_add_host(struct qvmi_ctx *ctx,
				   struct qvmi_source *src, uint64_t gpa,
				   uint64_t size, uint64_t src_addr,
				   uint8_t *host);
QVMI_HIDDEN const struct qvmi_seg *qvmi__seg_find(struct qvmi_ctx *ctx,
						  uint64_t gpa);
/* struct qvmi_pa_file (core/base.h): [gpa, gpa + len) or its leading
 * part: -EFAULT if nothing maps gpa,
 * -EINVAL if len is 0, -EOPNOTSUPP if its source is not a file: then
 * ret->len still says how many bytes that source serves from gpa on (copy
 * them with qvmi_read_pa) and ret->fd is -1.  Like qvmi_read_pa, a bulk
 * range (len >= QVMI_BULK_MIN) gives -EIO once the file is stale.  A
 * lookup: leaves the last error alone. */
QVMI_HIDDEN int qvmi__pa_file(struct qvmi_ctx *ctx, uint64_t gpa, size_t len,
			      struct qvmi_pa_file *ret);
/* Where [gpa, gpa + len) may hold data (source next_data, within one
 * segment): [*start, *end); [gpa, *start) reads as zeros.  Unmapped or
 * unknown: *start = gpa and *end = the end of what one segment covers. */
QVMI_HIDDEN void qvmi__pa_next_data(struct qvmi_ctx *ctx, uint64_t gpa,
				    uint64_t len, uint64_t *start,
				    uint64_t *end);
QVMI_HIDDEN int qvmi__ram_add(struct qvmi_ctx *ctx, uint64_t gpa,
			      uint64_t size);
/* The cache directory (src/core/cachedir.c): dir if set, else
 * $XDG_CACHE_HOME/qvmi or ~/.cache/qvmi; and mkdir -p of it (0700). */
QVMI_HIDDEN int qvmi__cache_dir(const char *dir, char *buf, size_t size);
QVMI_HIDDEN int qvmi__mkdirs(char *d);
/* A cache file we may trust to be ours: a regular file owned by this
 * user that nobody else can write (another user's, or a world-writable
 * one, could have been crafted).  Its contents are still checked. */
struct stat;
QVMI_HIDDEN bool qvmi__cache_file_ours(const struct stat *st);
/* Replace path whole with the n buffers (mode 0600): written to a
 * temporary file beside it and renamed over it, so a reader never sees
 * half a file.  iov is consumed.  0 or negative errno. */
struct iovec;
QVMI_HIDDEN int qvmi__cache_write(const char *path, struct iovec *iov, int n);

/* ctx->mem_id = "<host boot id> " + the formatted rest; "" if the host's
 * boot id cannot be read (an id that could outlive a host reboot, when
 * pids and inode numbers are reused, is worse than none). */
QVMI_HIDDEN void qvmi__mem_id_set(struct qvmi_ctx *ctx, const char *fmt, ...)
	QVMI_PRINTF(2, 3);
/* Read exactly len bytes at off (EINTR and short reads looped): 0,
 * -errno, or -ENODATA when the file ends first. */
QVMI_HIDDEN int qvmi__pread_full(int fd, void *buf, size_t len, uint64_t off);
/* The same, but a range that starts where a listed one ends extends it
 * (QEMU's memory tree splits one RAM block into adjacent ranges). */
QVMI_HIDDEN int qvmi__ram_add_merged(struct qvmi_ctx *ctx, uint64_t gpa,
				     uint64_t size);
/*
 * Before every memory access (memory.c): a load or two.  A stale layout
 * (an event already taken in by any QMP call) is re-read at once; QMP is
 * looked at for new events every 16th access (and then at most every
 * 20 ms: src/attach/layout-live.c): a clock read costs 30-45 ns in a
 * nested VM, more than a small read from shared RAM.
 */
static inline void qvmi__layout_check(struct qvmi_ctx *ctx)
{
	if (__builtin_expect(ctx->lay != NULL, 0) &&
	    (ctx->lay_stale || (ctx->qmp && !(++ctx->lay_tick & 15))) &&
	    ctx->lay_poll)
		ctx->lay_poll(ctx);
}
/* QEMU's memory map may have changed (qvmid: a new pmemaccess server):
 * a QMP attach re-reads it before the next access. */
QVMI_HIDDEN void qvmi__map_stale(struct qvmi_ctx *ctx);
/* Drop all sources, segments, RAM ranges and the control backend. */
QVMI_HIDDEN void qvmi__detach(struct qvmi_ctx *ctx);

/* Install a control backend; ctx takes ownership. */
QVMI_HIDDEN int qvmi__ctl_set(struct qvmi_ctx *ctx,
			      const struct qvmi_ctl_ops *ops, void *priv);
/* Record a VM state change seen by a backend (flushes the cache on resume). */
QVMI_HIDDEN void qvmi__vm_state_changed(struct qvmi_ctx *ctx,
					enum qvmi_vm_state state);

/* page cache (cache.c) */
QVMI_HIDDEN int qvmi__cache_read(struct qvmi_ctx *ctx,
				 const struct qvmi_seg *seg, uint64_t gpa,
				 void *buf, size_t len);
QVMI_HIDDEN bool qvmi__cache_usable(struct qvmi_ctx *ctx,
				    const struct qvmi_source *src);
QVMI_HIDDEN void qvmi__cache_invalidate(struct qvmi_ctx *ctx, uint64_t gpa,
					size_t len);
QVMI_HIDDEN void qvmi__cache_destroy(struct qvmi_cache *cache);

/* Check an options struct: NULL is fine; a larger struct than we know must
 * have zeros past our size (libbpf OPTS_VALID). */
QVMI_HIDDEN bool qvmi__opts_valid(const void *opts, size_t known_sz);
#define QVMI_OPTS_VALID(opts, type) qvmi__opts_valid((opts), sizeof(type))
#define QVMI_OPTS_GET(opts, field, def)                                  \
	(((opts) && (opts)->sz >= offsetof(__typeof__(*(opts)), field) + \
					  sizeof((opts)->field)) ?       \
		 (opts)->field :                                         \
		 (def))

QVMI_HIDDEN char *qvmi__strdup(const char *s);
/* VM name and UUID over QMP, asked for on first use (attach.c). */
QVMI_HIDDEN int qvmi__qmp_identity(struct qvmi_ctx *ctx);
/* ctx->qmp, connected now if the attach came from the layout cache:
 * 0 with ctx->qmp set, or negative errno (-ENOTCONN: no QMP attach). */
QVMI_HIDDEN int qvmi__qmp_need(struct qvmi_ctx *ctx);

#endif
