/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvmi: virtual machine introspection for QEMU/KVM guests.
 *
 * Conventions (see DEVELOPERS.md):
 *  - Every function that can fail returns int: >= 0 on success, a negative
 *    errno on failure.  Details are kept per handle: qvmi_errmsg() and, for
 *    -EFAULT, qvmi_fault_addr().
 *  - Handles are opaque.  Anything returned through **ret belongs to the
 *    caller and is released with the matching _destroy(); _destroy(NULL) is a
 *    no-op.  Strings returned as "const char *" are owned by the library and
 *    live as long as the handle they came from.
 *  - A context is not thread-safe; use one per thread.
 *  - The library never prints.  Logs go to a callback, silent by default.
 */
#ifndef QVMI_H
#define QVMI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define QVMI_API __attribute__((visibility("default")))
#else
#define QVMI_API
#endif

#define QVMI_VERSION_MAJOR 0
#define QVMI_VERSION_MINOR 1

/*
 * Options structs start with "size_t sz".  Fill them with QVMI_OPTS so that a
 * newer header can add fields without breaking old callers: the library
 * accepts a larger struct only if the bytes it does not know are zero.
 */
#define QVMI_OPTS(TYPE, NAME, ...)                                          \
	struct TYPE NAME = ({                                               \
		struct TYPE __qvmi_##NAME;                                  \
		__builtin_memset(&__qvmi_##NAME, 0, sizeof(__qvmi_##NAME)); \
		__qvmi_##NAME = (struct TYPE){ __VA_ARGS__ };               \
		__qvmi_##NAME.sz = sizeof(struct TYPE);                     \
		__qvmi_##NAME;                                              \
	})

struct qvmi_ctx;
struct qvmi_source;

/* ---- context, errors, logging ---------------------------------------- */

enum qvmi_log_level {
	QVMI_LOG_ERROR = 0,
	QVMI_LOG_WARN = 1,
	QVMI_LOG_INFO = 2,
	QVMI_LOG_DEBUG = 3,
};

typedef void (*qvmi_log_fn)(enum qvmi_log_level level, const char *msg,
			    void *arg);

QVMI_API int qvmi_ctx_create(struct qvmi_ctx **ret);
QVMI_API void qvmi_ctx_destroy(struct qvmi_ctx *ctx);

/* Message of the last failure on this handle ("" if none). */
QVMI_API const char *qvmi_errmsg(const struct qvmi_ctx *ctx);
/* Negative errno of the last failure (0 if none). */
QVMI_API int qvmi_errcode(const struct qvmi_ctx *ctx);
/* Guest address of the last -EFAULT, or UINT64_MAX. */
QVMI_API uint64_t qvmi_fault_addr(const struct qvmi_ctx *ctx);

/* Route log messages up to and including max_level to fn (NULL: silence). */
QVMI_API void qvmi_set_log(struct qvmi_ctx *ctx, qvmi_log_fn fn, void *arg,
			   enum qvmi_log_level max_level);

/* ---- memory sources and the guest-physical map ------------------------ */

/*
 * A memory source answers reads (and optionally writes) for the ranges it
 * registers with qvmi_map_add().  "addr" is the source's own address:
 * src_addr + (gpa - range start).  A later registration overrides earlier
 * ones where they overlap, so a slow catch-all can sit under fast ranges.
 */
struct qvmi_source_ops {
	const char *name;
	int (*read)(struct qvmi_source *s, uint64_t addr, void *buf,
		    size_t len);
	/* May be NULL: the source is read-only (-EOPNOTSUPP). */
	int (*write)(struct qvmi_source *s, uint64_t addr, const void *buf,
		     size_t len);
	/* May be NULL. Releases priv. */
	void (*destroy)(struct qvmi_source *s);
};

enum qvmi_source_flags {
	/* Each access is expensive: the page cache may hold its pages. */
	QVMI_SOURCE_SLOW = 1u << 0,
	/* Contents never change (a dump file): cached pages never go stale. */
	QVMI_SOURCE_FROZEN = 1u << 1,
};

/* Create a source owned by ctx; it is destroyed with ctx. */
QVMI_API int qvmi_source_create(struct qvmi_ctx *ctx,
				const struct qvmi_source_ops *ops, void *priv,
				unsigned int flags, struct qvmi_source **ret);
QVMI_API void *qvmi_source_priv(const struct qvmi_source *s);
QVMI_API struct qvmi_ctx *qvmi_source_ctx(const struct qvmi_source *s);
QVMI_API const char *qvmi_source_name(const struct qvmi_source *s);

/* Register [gpa, gpa + size) as served by src at src_addr. */
QVMI_API int qvmi_map_add(struct qvmi_ctx *ctx, struct qvmi_source *src,
			  uint64_t gpa, uint64_t size, uint64_t src_addr);

struct qvmi_map_entry {
	uint64_t gpa;
	uint64_t size;
	uint64_t src_addr;
	const char *source; /* source name, owned by the library */
};

/* Number of ranges in the effective (flattened) guest-physical map. */
QVMI_API size_t qvmi_map_count(const struct qvmi_ctx *ctx);
QVMI_API int qvmi_map_get(const struct qvmi_ctx *ctx, size_t idx,
			  struct qvmi_map_entry *ret);

/*
 * Guest RAM ranges as the VM describes them (not the sources' view): what
 * QEMU's memory tree, or a dump's program headers, say is RAM.
 */
struct qvmi_ram_range {
	uint64_t gpa;
	uint64_t size;
};
QVMI_API size_t qvmi_ram_count(const struct qvmi_ctx *ctx);
QVMI_API int qvmi_ram_get(const struct qvmi_ctx *ctx, size_t idx,
			  struct qvmi_ram_range *ret);

/* Read/write guest-physical memory; ranges may span several sources.
 * A gap fails with -EFAULT and qvmi_fault_addr() set to its first byte. */
QVMI_API int qvmi_read_pa(struct qvmi_ctx *ctx, uint64_t pa, void *buf,
			  size_t len);
QVMI_API int qvmi_write_pa(struct qvmi_ctx *ctx, uint64_t pa, const void *buf,
			   size_t len);

/* A source over a caller buffer (tests, synthetic memory).  The buffer must
 * outlive ctx.  writable=0 makes writes fail with -EOPNOTSUPP. */
QVMI_API int qvmi_source_testmem_create(struct qvmi_ctx *ctx, void *buf,
					size_t size, int writable,
					struct qvmi_source **ret);

/* ---- page cache for slow sources ------------------------------------- */

enum qvmi_cache_mode {
	/* Cache slow-source pages only while the VM is known to be paused
	 * (or the source is frozen); flushed on resume.  The default. */
	QVMI_CACHE_AUTO = 0,
	/* Never cache. */
	QVMI_CACHE_OFF = 1,
	/* The caller vouches that memory does not change: always cache. */
	QVMI_CACHE_TRUST = 2,
};
QVMI_API void qvmi_cache_set_mode(struct qvmi_ctx *ctx,
				  enum qvmi_cache_mode mode);
QVMI_API void qvmi_cache_flush(struct qvmi_ctx *ctx);

struct qvmi_cache_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t flushes;
};
QVMI_API void qvmi_cache_stats(const struct qvmi_ctx *ctx,
			       struct qvmi_cache_stats *ret);

/* ---- attaching to a VM ------------------------------------------------ */

enum qvmi_source_kind {
	QVMI_SRC_SHM = 1u << 0, /* shared RAM backend, mmap (fastest) */
	QVMI_SRC_PROCMEM = 1u << 1, /* QEMU process memory, process_vm_readv */
	QVMI_SRC_XP = 1u << 2, /* QMP "xp" (slow catch-all) */
	QVMI_SRC_ALL = 0x7,
};

struct qvmi_attach_opts {
	size_t sz;
	/* Bitmask of enum qvmi_source_kind; 0 means QVMI_SRC_ALL. */
	unsigned int sources;
	/* Timeout for each QMP exchange, ms; 0 means 5000. */
	int timeout_ms;
};

/*
 * Attach to a live VM through its QMP unix socket.  Sources are set up
 * fastest first: shared RAM, then process memory, then xp underneath.
 * Registers and pause/resume go through QMP.
 */
QVMI_API int qvmi_attach_qmp(struct qvmi_ctx *ctx, const char *qmp_path,
			     const struct qvmi_attach_opts *opts);

struct qvmi_dump_opts {
	size_t sz;
	/* For raw dumps: "GPA:SIZE[@FILEOFF],..." ("0x" hex or decimal);
	 * FILEOFF defaults to the end of the previous range in the file, so
	 * "0:0xc0000000,0x100000000:0x40000000" is a packed 4 GiB pc guest.
	 * NULL means file offset == GPA over the whole file. */
	const char *raw_map;
	/* Force the format: "elf" or "raw"; NULL detects it. */
	const char *format;
};

/*
 * Attach to a memory dump: an ELF core from dump-guest-memory (detected by
 * its magic), or a raw image.  The context must not be attached yet
 * (-EBUSY).  Memory reads as frozen, registers come from the core's notes
 * (QEMU's, else NT_PRSTATUS), qvmi_vm_state() says QVMI_VM_FROZEN.
 * Malformed files fail with -EBADMSG, a raw map that does not fit the file
 * with -EINVAL, non-x86 cores with -EOPNOTSUPP.  ELFCLASS32 cores are read
 * too.
 *
 * QEMU's notes carry no EFER: for a vCPU with CR0.PG and CR4.PAE, efer is
 * reconstructed as NXE, plus LME|LMA in an x86_64 core (QEMU writes
 * EM_X86_64 only when vCPU 0 is in long mode); SCE is unknown.  Neither
 * notes carry CR8 or debug registers.
 */
QVMI_API int qvmi_attach_dump(struct qvmi_ctx *ctx, const char *path,
			      const struct qvmi_dump_opts *opts);

/*
 * The guest kernel's VMCOREINFO text from the attached ELF core
 * ("OSRELEASE=...\nPAGESIZE=...\n..."), NUL-terminated and owned by the
 * library until detach; NULL if the dump has none.  QEMU writes it only
 * when started with -device vmcoreinfo and the guest published it.
 */
QVMI_API const char *qvmi_vmcoreinfo(const struct qvmi_ctx *ctx);

/* ---- VM information and control --------------------------------------- */

struct qvmi_vm_info {
	const char *name; /* "" if unnamed */
	const char *uuid; /* "" if unknown */
	const char *qemu_version; /* "" if not a live QEMU */
	const char *arch; /* "x86_64" */
	const char *backend; /* "qmp", "elf", "raw" */
	int pid; /* QEMU pid, 0 if unknown */
	unsigned int vcpus;
};
QVMI_API int qvmi_vm_info(struct qvmi_ctx *ctx, struct qvmi_vm_info *ret);

enum qvmi_vm_state {
	QVMI_VM_UNKNOWN = 0,
	QVMI_VM_RUNNING,
	QVMI_VM_PAUSED, /* stopped by someone (QMP stop, debugger, ...) */
	QVMI_VM_SHUTDOWN, /* shut down, or QEMU gone */
	QVMI_VM_FROZEN, /* a dump: never changes */
};
QVMI_API int qvmi_vm_state(struct qvmi_ctx *ctx, enum qvmi_vm_state *ret);
QVMI_API const char *qvmi_vm_state_name(enum qvmi_vm_state state);
QVMI_API int qvmi_vm_pause(struct qvmi_ctx *ctx);
QVMI_API int qvmi_vm_resume(struct qvmi_ctx *ctx);

/* x86 vCPU registers.  Fields a source cannot provide read as 0 and have
 * their bit clear in "valid". */
struct qvmi_regs_x86 {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	uint64_t cs, ss, ds, es, fs, gs;
	uint64_t fs_base, gs_base, kernel_gs_base;
	uint64_t cr0, cr2, cr3, cr4, cr8, efer;
	uint64_t gdt_base, gdt_limit, idt_base, idt_limit;
	uint64_t dr0, dr1, dr2, dr3, dr6, dr7;
	uint64_t valid; /* bitmask of enum qvmi_reg_valid */
};

enum qvmi_reg_valid {
	QVMI_REGS_GPR = 1u << 0, /* rax..r15, rip, rflags */
	QVMI_REGS_SEG = 1u << 1, /* selectors */
	QVMI_REGS_BASES = 1u << 2, /* fs_base, gs_base */
	QVMI_REGS_KGS = 1u << 3, /* kernel_gs_base */
	QVMI_REGS_CR = 1u << 4, /* cr0, cr2, cr3, cr4, efer */
	QVMI_REGS_CR8 = 1u << 5,
	QVMI_REGS_TABLES = 1u << 6, /* gdt/idt */
	QVMI_REGS_DR = 1u << 7,
};

QVMI_API int qvmi_vcpu_count(struct qvmi_ctx *ctx);
QVMI_API int qvmi_get_regs(struct qvmi_ctx *ctx, unsigned int vcpu,
			   struct qvmi_regs_x86 *ret);

/* ---- scanning ---------------------------------------------------------- */

/* Called for each match; return non-zero to stop the scan (that value is
 * returned by qvmi_find_pa). */
typedef int (*qvmi_find_fn)(uint64_t gpa, void *arg);

/*
 * Search all guest RAM for a byte pattern (1..4096 bytes).  Reads in large
 * chunks; on shared RAM it skips holes of a sparse backing file instead of
 * touching them, so a scan does not grow the host's memory use.
 */
QVMI_API int qvmi_find_pa(struct qvmi_ctx *ctx, const void *pattern, size_t len,
			  qvmi_find_fn fn, void *arg);

/* ---- writing dumps (src/core/dumpwrite.c) ------------------------------ */

enum qvmi_dump_format {
	QVMI_DUMP_ELF = 0, /* ELF core like QMP dump-guest-memory */
	QVMI_DUMP_RAW = 1, /* file offset == GPA, holes left sparse */
};

typedef void (*qvmi_progress_fn)(uint64_t done, uint64_t total, void *arg);

struct qvmi_dump_write_opts {
	size_t sz;
	enum qvmi_dump_format format;
	qvmi_progress_fn progress; /* may be NULL */
	void *progress_arg;
};

/*
 * Write all guest RAM (and, for ELF, the vCPU registers) to path, mode
 * 0600.  RAM is what qvmi_ram_count() lists, else every mapped range but a
 * catch-all over all of 2^64.  ELF is QEMU's layout (PT_NOTE: a "CORE"
 * NT_PRSTATUS per vCPU, then a "QEMU" note per vCPU, then VMCOREINFO if
 * the source had one; a PT_LOAD per range) except that the memory starts
 * page-aligned.  All-zero pages are left as holes in both formats.  A
 * vCPU whose registers cannot be read is left out.  The file is written
 * as "PATH.XXXXXX" and renamed over path when complete, so a failure leaves
 * path as it was (a read gap fails with -EFAULT and qvmi_fault_addr() set),
 * and path may be the very dump the context reads.  path must be a regular
 * file or not exist.
 */
QVMI_API int qvmi_dump_write(struct qvmi_ctx *ctx, const char *path,
			     const struct qvmi_dump_write_opts *opts);

/* ---- guest-virtual memory (src/arch) ----------------------------------- */

/* ---- pmemaccess client source (src/source/pmem.c) ---------------------- */

#ifdef __cplusplus
}
#endif

#endif /* QVMI_H */
