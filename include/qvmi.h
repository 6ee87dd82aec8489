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
 *  - Results come in two shapes, always through the last parameter(s):
 *    into the caller's memory (a struct or a buffer with its size), or a
 *    struct the library fills with memory it allocated (a task, module or
 *    VMA list, a process's argument block, a dump layout), released with
 *    that struct's one _deinit(); _deinit on a zeroed or failed result is a
 *    no-op.  Walks that can be long take a callback instead (tasks, dmesg,
 *    find, pages).
 *  - A context, and every handle made from it (struct qvmi_linux, a
 *    session), is used by one thread at a time; different contexts are
 *    independent and may be used on different threads at once.
 *  - Callbacks run on the thread that made the call, before it returns.
 *    Unless its typedef says otherwise, a callback may call any function on
 *    the same handles (read memory, start another walk, look a task up),
 *    except destroying or detaching the handle the call runs on; the
 *    outer call then goes on unaffected (tests/unit/test-reentry.c).
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

/* Log lines of one context.  May run inside any call on it, with the
 * context in the middle of work: call nothing on that context from here
 * (msg lives until the callback returns). */
typedef void (*qvmi_log_fn)(enum qvmi_log_level level, const char *msg,
			    void *arg);

/* The version this header belongs to (for #if); qvmi_version() is the
 * library's own at run time, "MAJOR.MINOR.PATCH". */
#define QVMI_VERSION_MAJOR 0
#define QVMI_VERSION_MINOR 1
#define QVMI_VERSION_PATCH 0
QVMI_API const char *qvmi_version(void);

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
	/* Where the layout cache lives; NULL: $XDG_CACHE_HOME/qvmi, else
	 * ~/.cache/qvmi. */
	const char *cache_dir;
	/* Non-zero: neither use nor write the layout cache (the
	 * environment's QVMI_NO_LAYOUT_CACHE=1 does the same by default). */
	int no_layout_cache;
};

/*
 * Attach to a live VM through its QMP unix socket.  Sources are set up
 * fastest first: shared RAM, then process memory, then xp underneath.
 * Registers and pause/resume go through QMP.
 */
QVMI_API int qvmi_attach_qmp(struct qvmi_ctx *ctx, const char *qmp_path,
			     const struct qvmi_attach_opts *opts);

/*
 * Attach to a running libvirt domain by name; connect_uri is libvirt's
 * (NULL: libvirt's default, $LIBVIRT_DEFAULT_URI or qemu:///system for
 * root).  QMP goes through libvirt's own monitor connection
 * (virDomainQemuMonitorCommand): libvirt holds QEMU's one QMP client.
 * Memory as qvmi_attach_qmp finds it, in the domain's QEMU process (its
 * pid named by qvmid under the qvmi-qemu shim, else a vCPU thread's);
 * a QEMU that is not a process on this host gives memory through QMP
 * only.  libvirt.so.0 is loaded (dlopen) when first needed; a fully
 * static program cannot load it (-ELIBACC), but attaches again to a QEMU
 * the layout cache knows, until a QMP command is needed.  A later attach
 * to the same QEMU (pid and start time) loads libvirt only for the first
 * QMP command.  QEMU's events do not come through
 * libvirt, and libvirt, not opts->timeout_ms, bounds each command.
 * Errors: -ENOPKG libvirt is not installed, -ECONNREFUSED no connection
 * to libvirt, -ENOENT no such domain, -EHOSTDOWN the domain is not
 * running.
 */
QVMI_API int qvmi_attach_domain(struct qvmi_ctx *ctx, const char *name,
				const char *connect_uri,
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
	/* QEMU's target: "x86_64" or "i386" (qemu-system-i386); for an ELF
	 * dump, its e_machine (QEMU writes EM_386 when vCPU 0 is not in long
	 * mode); "" when the backend cannot tell (raw dumps, pmemaccess). */
	const char *arch;
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
	/* With QVMI_REGS_GPR: 32-bit registers (qemu-system-i386, or
	 * QEMU's register dump of a vCPU outside long mode): r8..r15 are
	 * not there and read as 0; rax..rip hold eax..eip. */
	QVMI_REGS_GPR32 = 1u << 8,
};

QVMI_API int qvmi_vcpu_count(struct qvmi_ctx *ctx);
QVMI_API int qvmi_get_regs(struct qvmi_ctx *ctx, unsigned int vcpu,
			   struct qvmi_regs_x86 *ret);
/*
 * The registers in r one by one, named as `qvmi regs` prints them ("rax",
 * ..., "cr3", ...; "eax", ..., "eip", "eflags" on a 32-bit vCPU), for i
 * from 0 up: 0 with *name (static) and *value; -ENODATA if register i is
 * not in r (its group is not valid, or r8..r15 on a 32-bit vCPU): go on
 * with i + 1; -ERANGE past the last.
 */
QVMI_API int qvmi_regs_x86_get(const struct qvmi_regs_x86 *r, unsigned int i,
			       const char **name, uint64_t *value);

/* ---- scanning ---------------------------------------------------------- */

/* Called for each match; return non-zero to stop the scan (that value is
 * returned by qvmi_find_pa).  May read memory and scan again (see the
 * callback rule at the top). */
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
	QVMI_DUMP_LIME = 2, /* LiME: a 32-byte header before each range */
	/* kdump-compressed (makedumpfile's format, crash and drgn read it):
	 * VMCOREINFO and the vCPU notes in the sub-header, all-zero pages
	 * left out (makedumpfile -d 1), each page compressed */
	QVMI_DUMP_KDUMP = 3,
};

enum qvmi_dump_compress {
	QVMI_DUMP_ZLIB = 0,
	QVMI_DUMP_LZO = 1,
	QVMI_DUMP_SNAPPY = 2,
	QVMI_DUMP_ZSTD = 3,
};

/* Bytes done of total; runs on the writing thread between writes, and
 * should only report (not call into the context). */
typedef void (*qvmi_progress_fn)(uint64_t done, uint64_t total, void *arg);

struct qvmi_linux;

/* size bytes of guest-physical memory at pa, seen at virtual address va. */
struct qvmi_dump_vrange {
	uint64_t va, pa, size;
};

/*
 * A Linux guest's layout for an ELF dump that crash, drgn, makedumpfile
 * and gdb open (qvmi_linux_dump_kernel() fills it): the VMCOREINFO note
 * text, the parts of the kernel image the kernel still uses at their
 * image addresses (image[], sorted by pa, page-aligned, disjoint), and the
 * direct map: all other memory at page_offset + guest-physical address.
 */
struct qvmi_dump_kernel {
	struct qvmi_dump_vrange *image;
	size_t nimage;
	uint64_t page_offset;
	char *vmcoreinfo; /* vmcoreinfo_len bytes (no NUL counted), or NULL */
	size_t vmcoreinfo_len;
};
/* Free what qvmi_linux_dump_kernel() allocated; NULL is a no-op. */
QVMI_API void qvmi_dump_kernel_deinit(struct qvmi_dump_kernel *k);

struct qvmi_dump_write_opts {
	size_t sz;
	enum qvmi_dump_format format;
	qvmi_progress_fn progress; /* may be NULL */
	void *progress_arg;
	/* ELF only.  NULL: PT_LOADs carry physical addresses only, as QEMU
	 * writes without paging.  Given: a VMCOREINFO note (its text), a
	 * PT_LOAD for each part of image[] at its va, every other range at
	 * page_offset + its address (no physical page in two PT_LOADs). */
	const struct qvmi_dump_kernel *kernel;
	/* Pause the VM while writing (a consistent image) and resume it
	 * after, unless it was paused already. */
	int pause;
	/* QVMI_DUMP_KDUMP: how pages are compressed. */
	enum qvmi_dump_compress compress;
	/* QVMI_DUMP_KDUMP: what to leave out, makedumpfile's -d bits (the
	 * header's dump_level).  Zero pages (1) are always left out: the
	 * guest's unwritten RAM is out of the file, written zero pages share
	 * one stored page.  QVMI_DUMP_LEVEL_FREE (16): the pages the guest's
	 * buddy allocator holds free, found in the struct pages of lx (the
	 * layout from kernel's VMCOREINFO), after the VM is paused; it needs
	 * lx and kernel, and pause (or a VM that is not running).  Page
	 * cache and user pages (2, 4, 8) are not told apart:
	 * -EOPNOTSUPP. */
	unsigned int dump_level;
	struct qvmi_linux *lx;
};

/* makedumpfile -d bits that qvmi_dump_write() honours. */
enum {
	QVMI_DUMP_LEVEL_ZERO = 1,
	QVMI_DUMP_LEVEL_FREE = 16,
};

/*
 * Write all guest RAM (and, for ELF, the vCPU registers) to path, mode
 * 0600.  RAM is what qvmi_ram_count() lists, plus the mapped ranges wholly
 * below 4 GiB that are not RAM (ROM, the BIOS shadow at 0xc0000-0xfffff,
 * the BIOS at 0xfffc0000), as QEMU's dump-guest-memory writes them; else
 * every mapped range but a catch-all over all of 2^64.  Holes of a sparse
 * RAM file are skipped without being read (SEEK_DATA).  ELF is QEMU's layout (PT_NOTE: a "CORE"
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

struct qvmi_find_opts {
	size_t sz;
	/* Called as the scan moves on (holes count as scanned): done and
	 * total bytes of RAM.  May be NULL. */
	qvmi_progress_fn progress;
	void *progress_arg;
};

/* qvmi_find_pa with options (NULL: as qvmi_find_pa).  The scan costs what
 * the guest holds, not its RAM size: what the backing has no data for (a
 * hole of a sparse RAM file, anonymous memory QEMU never touched) reads
 * as zeros and is not read, yet a pattern reaching into it, or one of
 * zero bytes only, is still found there. */
QVMI_API int qvmi_find_pa_opts(struct qvmi_ctx *ctx, const void *pattern,
			       size_t len, qvmi_find_fn fn, void *arg,
			       const struct qvmi_find_opts *opts);

/* ---- guest-virtual memory (src/arch) ----------------------------------- */

/*
 * x86 paging.  A "dtb" is the value of CR3 (the directory table base) of
 * the address space to use; PCID and flag bits in it are ignored.
 */
enum qvmi_paging_mode {
	QVMI_PAGING_AUTO = 0, /* derive from vCPU 0's registers */
	QVMI_PAGING_NONE, /* paging off: virtual == physical */
	QVMI_PAGING_32, /* 32-bit: 4 KiB, 4 MiB pages (CR4.PSE, PSE-36) */
	QVMI_PAGING_PAE, /* PAE: 4 KiB, 2 MiB pages */
	QVMI_PAGING_4LEVEL, /* IA-32e, 48-bit: 4 KiB, 2 MiB, 1 GiB pages */
	QVMI_PAGING_5LEVEL, /* IA-32e with CR4.LA57, 57-bit */
};

/* Effective permissions of a translation: W and U are the AND of the
 * R/W and U/S bits over all levels, NX the OR of the XD bits (when
 * EFER.NXE is on). */
enum qvmi_pte_flags {
	QVMI_PTE_W = 1u << 0,
	QVMI_PTE_U = 1u << 1,
	QVMI_PTE_NX = 1u << 2,
};

struct qvmi_translation {
	uint64_t va;
	uint64_t pa;
	uint64_t page_size; /* 4 KiB, 2 MiB, 4 MiB or 1 GiB */
	uint64_t leaf; /* raw leaf entry (A, D, G, PAT, ...); 0 if none */
	uint32_t flags; /* enum qvmi_pte_flags */
	int levels; /* entries read by the walk (0: paging off) */
};

/* Mode from CR0.PG, CR4.PAE, CR4.LA57 and EFER.LMA (regs->valid must
 * have QVMI_REGS_CR). */
QVMI_API int qvmi_paging_mode_from_regs(const struct qvmi_regs_x86 *regs,
					enum qvmi_paging_mode *ret);
QVMI_API const char *qvmi_paging_mode_name(enum qvmi_paging_mode mode);

/*
 * Fix the paging mode.  A mode given here assumes CR4.PSE = 1 and
 * EFER.NXE = 1 (every current OS); qvmi_set_paging_regs takes them from
 * the registers instead.  AUTO (the default) reads vCPU 0's registers on
 * first use and again after each cache flush (for example a resume).
 * Changing the mode flushes the translation cache.
 */
QVMI_API int qvmi_set_paging_mode(struct qvmi_ctx *ctx,
				  enum qvmi_paging_mode mode);
QVMI_API int qvmi_set_paging_regs(struct qvmi_ctx *ctx,
				  const struct qvmi_regs_x86 *regs);
/* The effective mode (never AUTO); derives it if needed. */
QVMI_API int qvmi_get_paging_mode(struct qvmi_ctx *ctx,
				  enum qvmi_paging_mode *ret);
/* Physical address width, 32..52 (default 52): entry bits at or above it
 * are reserved, and a walk that meets one set fails like the CPU would. */
QVMI_API int qvmi_set_maxphyaddr(struct qvmi_ctx *ctx, unsigned int bits);

/*
 * Translate va in the address space dtb.  A missing mapping fails with
 * -EFAULT, qvmi_fault_addr() = va and a message naming the level ("PDE not
 * present", "reserved bit set in PDPTE", "non-canonical address").
 */
QVMI_API int qvmi_translate(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			    uint64_t *ret);
QVMI_API int qvmi_translate_ex(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			       struct qvmi_translation *ret);

/*
 * Read/write guest-virtual memory; ranges may cross pages of any size.
 * Page protections are not enforced (a debugger's view).  On -EFAULT,
 * qvmi_fault_addr() is the first virtual address that could not be
 * accessed, so fault_addr - va bytes were done.
 */
QVMI_API int qvmi_read_va(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			  void *buf, size_t len);
QVMI_API int qvmi_write_va(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			   const void *buf, size_t len);

/* The usual bound of a guest string, and a good buffer size for one. */
enum { QVMI_STR_MAX = 4096 };

/*
 * Read a NUL-terminated string of at most size - 1 bytes into buf, which
 * is always terminated.  Returns its length; -E2BIG if no NUL came within
 * size - 1 bytes (buf holds that truncated prefix); -EFAULT if memory ran
 * out first (buf holds what was read before the fault).
 */
QVMI_API int qvmi_read_str_va(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			      char *buf, size_t size);
QVMI_API int qvmi_read_u8_va(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			     uint8_t *ret);
QVMI_API int qvmi_read_u16_va(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			      uint16_t *ret);
QVMI_API int qvmi_read_u32_va(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			      uint32_t *ret);
QVMI_API int qvmi_read_u64_va(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			      uint64_t *ret);
/* A pointer: 8 bytes in 4/5-level paging, else 4 (zero-extended). */
QVMI_API int qvmi_read_addr_va(struct qvmi_ctx *ctx, uint64_t dtb, uint64_t va,
			       uint64_t *ret);

/*
 * One range of an address space: [va, va + size) maps to [pa, pa + size)
 * with pages of page_size bytes, all with the same flags.  Neighbouring
 * pages are merged into one range only when their virtual and physical
 * addresses are both contiguous and their page size and flags are equal,
 * so a range splits exactly into size / page_size pages.
 */
struct qvmi_page_range {
	uint64_t va;
	uint64_t pa;
	uint64_t size;
	uint64_t page_size;
	uint32_t flags; /* enum qvmi_pte_flags */
};

/* Return non-zero to stop; qvmi_pages then returns that value.  range is
 * valid during the call; translating and reading from here is allowed. */
typedef int (*qvmi_pages_fn)(const struct qvmi_page_range *range, void *arg);

/*
 * Enumerate the mapped ranges of an address space in ascending virtual
 * order (canonical addresses).  Entries that are not present or have
 * reserved bits set are skipped, as the CPU would fault on them.  The walk
 * visits at most 2^20 tables; past that it stops with -ELOOP (a cycle or a
 * hostile table), after reporting what it found.  With paging off, the
 * ranges are those of the guest-physical map, identity-mapped, each one
 * page.
 */
QVMI_API int qvmi_pages(struct qvmi_ctx *ctx, uint64_t dtb, qvmi_pages_fn fn,
			void *arg);

/*
 * Translation cache.  It follows the page cache's rule (qvmi_cache_set_mode):
 * used only while the VM is known to be paused, the sources are frozen, or
 * the caller chose QVMI_CACHE_TRUST; flushed by qvmi_cache_flush, on resume,
 * by any guest-physical write, and by qvmi_tlb_flush.  A hit reads no guest
 * memory.  Page-table pages of sources without a host mapping are cached
 * under the same rule.  In QVMI_CACHE_AUTO, page tables in shared RAM are
 * always walked: a walk there is cheaper than asking QEMU whether the VM
 * is still paused.
 */
QVMI_API void qvmi_tlb_flush(struct qvmi_ctx *ctx);

struct qvmi_tlb_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t flushes;
	uint64_t walks; /* page-table walks done */
	uint64_t pt_hits; /* page-table page cache */
	uint64_t pt_misses;
};
QVMI_API void qvmi_tlb_stats(const struct qvmi_ctx *ctx,
			     struct qvmi_tlb_stats *ret);

/* ---- gdbstub: registers, control, breakpoints (src/proto/gdb.c) ---- */

/*
 * QEMU's gdbstub (-gdb unix:PATH,server=on,wait=off) gives registers of
 * every vCPU, pause/resume, breakpoints, watchpoints and single-step, and
 * physical memory when nothing faster is attached.
 *
 * QEMU 7.2 behaviour this API is built around:
 *  - Connecting PAUSES the VM.  qvmi_attach_gdb leaves it paused unless
 *    opts->resume is set.
 *  - QEMU serves one gdb client at a time: a second qvmi_attach_gdb on the
 *    same context fails with -EBUSY.
 *  - Closing the socket is ignored by QEMU: its breakpoints stay and the VM
 *    stays paused.  So qvmi_ctx_destroy() (or a later attach) removes the
 *    breakpoints and watchpoints inserted through this API, then:
 *      - if the VM should run, detaches, and QEMU resumes it;
 *      - if it should stay paused, closes without detaching.
 *    "Should run" starts as "was running when we connected" and follows
 *    qvmi_vm_pause()/qvmi_vm_resume() from then on.
 *  - A breakpoint hit stops every vCPU; qvmi_vm_resume() continues them all,
 *    first stepping the vCPU that hit over its breakpoint.
 *  - Reading registers or gdbstub memory while the VM runs briefly stops it
 *    (interrupt, read, continue): about a millisecond under TCG.
 *
 * Called after qvmi_attach_qmp(), qvmi_attach_gdb replaces the control
 * backend (registers, pause/resume, state now go through the gdbstub) and
 * keeps the memory sources that are already mapped; the gdbstub memory
 * source is added only when no memory is mapped yet (opts->memory).  The QMP
 * connection stays open for whatever else uses it.
 */
enum qvmi_gdb_memory {
	QVMI_GDB_MEM_AUTO = 0, /* add the source only if nothing is mapped */
	QVMI_GDB_MEM_ON = 1, /* always (overrides what is mapped) */
	QVMI_GDB_MEM_OFF = 2, /* never */
};

struct qvmi_gdb_opts {
	size_t sz;
	/* Timeout for each gdbstub exchange, ms; 0 means 5000. */
	int timeout_ms;
	/* Non-zero: continue the VM right after attaching. */
	int resume;
	/* enum qvmi_gdb_memory */
	int memory;
};

/* Attach to QEMU's gdbstub unix socket (see above: this pauses the VM). */
QVMI_API int qvmi_attach_gdb(struct qvmi_ctx *ctx, const char *path,
			     const struct qvmi_gdb_opts *opts);

/* Write the register groups marked in regs->valid (QVMI_REGS_GPR, _SEG,
 * _BASES, _KGS, _CR, _CR8) of a stopped vCPU.  Needs the gdbstub, or a
 * qvmid session whose qvmid has it (there -EPERM unless the operator
 * allowed set-regs, -EINVAL for other groups, -EBUSY while the VM runs). */
QVMI_API int qvmi_set_regs(struct qvmi_ctx *ctx, unsigned int vcpu,
			   const struct qvmi_regs_x86 *regs);

enum qvmi_bp_kind {
	QVMI_BP_SW = 0, /* software breakpoint (Z0) */
	QVMI_BP_HW = 1, /* hardware breakpoint (Z1) */
	QVMI_WP_WRITE = 2, /* write watchpoint (Z2) */
	QVMI_WP_READ = 3, /* read watchpoint (Z3) */
	QVMI_WP_ACCESS = 4, /* access watchpoint (Z4) */
};

/* Insert/remove a breakpoint or watchpoint at a guest-virtual address.
 * len: 1 for breakpoints, 1/2/4/8 for watchpoints.  At most 256. */
QVMI_API int qvmi_bp_insert(struct qvmi_ctx *ctx, enum qvmi_bp_kind kind,
			    uint64_t gva, unsigned int len);
QVMI_API int qvmi_bp_remove(struct qvmi_ctx *ctx, enum qvmi_bp_kind kind,
			    uint64_t gva, unsigned int len);

enum qvmi_stop_reason {
	QVMI_STOP_NONE = 0,
	QVMI_STOP_BREAKPOINT, /* at a breakpoint inserted through this API */
	QVMI_STOP_STEP, /* a single-step completed */
	QVMI_STOP_WATCH_WRITE,
	QVMI_STOP_WATCH_READ,
	QVMI_STOP_WATCH_ACCESS,
	QVMI_STOP_INTERRUPT, /* stopped on request (SIGINT) */
	QVMI_STOP_TRAP, /* other SIGTRAP (a breakpoint set by someone else) */
	QVMI_STOP_SIGNAL, /* another signal, see .signal */
	QVMI_STOP_EXITED, /* the target is gone */
};

struct qvmi_stop {
	unsigned int vcpu; /* the vCPU that stopped */
	enum qvmi_stop_reason reason;
	int signal; /* gdb signal number (5 = TRAP, 2 = INT) */
	uint64_t rip; /* that vCPU's RIP */
	/* Watchpoints: the data address; otherwise the same as rip. */
	uint64_t addr;
};

/* Single-step one vCPU; the others stay stopped.  Returns when the step
 * is done; the VM is then stopped.  Through a qvmid session, -ETIMEDOUT
 * if the vCPU did not complete the step within qvmid's step timeout (a
 * vCPU halted in hlt, under TCG): qvmid stopped it, and the VM is stopped
 * as after a step. */
QVMI_API int qvmi_single_step(struct qvmi_ctx *ctx, unsigned int vcpu);

/* Wait up to timeout_ms for the running VM to stop (breakpoint,
 * watchpoint, ...).  -ETIMEDOUT if it did not; -EINVAL if the VM is not
 * running and no stop is pending.  The VM stays stopped afterwards:
 * continue it with qvmi_vm_resume(). */
QVMI_API int qvmi_wait_stop(struct qvmi_ctx *ctx, int timeout_ms,
			    struct qvmi_stop *ret);

/* ---- Linux guests (src/os/linux) -------------------------------------- */

/*
 * Zero-configuration discovery of a Linux x86_64 kernel in guest memory: the
 * kallsyms tables are located by their structure and decoded, the physical
 * and virtual placement of the kernel image (KASLR) is derived from them, and
 * the kernel's own BTF (between __start_BTF and __stop_BTF) gives struct
 * layouts.  Everything is read from guest-physical memory; no page tables,
 * System.map or debug info are needed.
 */
struct qvmi_linux;

enum qvmi_linux_flags {
	QVMI_LINUX_NO_BTF = 1u << 0, /* do not load BTF */
	QVMI_LINUX_NO_CACHE = 1u << 1, /* neither read nor write the cache */
};

struct qvmi_linux_opts {
	size_t sz;
	/* A System.map or a copy of /proc/kallsyms of the guest's kernel,
	 * used instead of the in-memory kallsyms.  NULL: decode memory.
	 * pae32: for a 32-bit kernel the in-memory kallsyms still places
	 * the image and the map, slid by this boot's KASLR offset, gives
	 * the data symbols (i386 without KALLSYMS_ALL); a map of another
	 * build fails the open with -ESTALE. */
	const char *system_map;
	/* Raw BTF (a copy of /sys/kernel/btf/vmlinux) or an ELF file with a
	 * .BTF section, used instead of the in-memory BTF. */
	const char *btf_path;
	/* Profile cache directory; NULL: $XDG_CACHE_HOME/qvmi or
	 * ~/.cache/qvmi. */
	const char *cache_dir;
	unsigned int flags; /* enum qvmi_linux_flags */
	/* A Volatility 3 ISF JSON of the guest's kernel (plain JSON, as
	 * 'dwarf2json linux --elf vmlinux' writes it), for kernels without
	 * BTF: it answers member and size queries before any BTF (types it
	 * lacks go to BTF when there is some), and gives the symbols
	 * kallsyms lacks (e.g. init_task on i386 without KALLSYMS_ALL),
	 * moved by the KASLR slide.  A malformed file fails the open with
	 * -EBADMSG, one for another build with -ESTALE. */
	const char *isf_path;
};

/* Find the kernel in ctx's guest memory.  ctx must outlive the handle. */
QVMI_API int qvmi_linux_open(struct qvmi_ctx *ctx,
			     const struct qvmi_linux_opts *opts,
			     struct qvmi_linux **ret);
QVMI_API void qvmi_linux_destroy(struct qvmi_linux *lx);

/* Strings live as long as the handle. */
struct qvmi_linux_info {
	const char *banner; /* "Linux version ...", no trailing newline */
	const char *release; /* "6.1.0-56-amd64" */
	uint64_t text_va; /* _text */
	uint64_t text_pa; /* guest-physical address of _text */
	int64_t kaslr_slide; /* text_va - 0xffffffff81000000 */
	uint64_t phys_base; /* the kernel's phys_base variable */
	uint64_t page_offset_base, vmalloc_base, vmemmap_base;
	size_t nsyms;
	size_t btf_size; /* 0 when no BTF is loaded */
	const char *sym_source; /* "kallsyms", "system.map", "cache" */
	const char *btf_source; /* "memory", "file", "isf", "none" */
	const char *layout; /* kallsyms table layout, e.g. "6.1" */
};
QVMI_API int qvmi_linux_info(struct qvmi_linux *lx,
			     struct qvmi_linux_info *ret);

struct qvmi_linux_sym {
	const char *name; /* owned by the handle */
	uint64_t addr;
	char type; /* as in /proc/kallsyms: 'T', 't', 'D', ... */
};

/* Address of the lowest symbol called name; -ENOENT if none. */
QVMI_API int qvmi_linux_sym_addr(struct qvmi_linux *lx, const char *name,
				 uint64_t *ret);
/* The symbol at or below addr: its name into buf (truncated to size, always
 * terminated) and addr minus its address into *ret. */
QVMI_API int qvmi_linux_sym_name(struct qvmi_linux *lx, uint64_t addr,
				 char *buf, size_t size, uint64_t *ret);
/* Symbols in address order. */
QVMI_API size_t qvmi_linux_sym_count(const struct qvmi_linux *lx);
QVMI_API int qvmi_linux_sym_get(struct qvmi_linux *lx, size_t idx,
				struct qvmi_linux_sym *ret);

/* Guest-physical address of a kernel-image or direct-map virtual address,
 * computed from the discovered layout (no page-table walk). */
QVMI_API int qvmi_linux_va_to_pa(struct qvmi_linux *lx, uint64_t va,
				 uint64_t *ret);

/*
 * The kernel's own page table (init_mm.pgd: swapper_pg_dir, init_top_pgt
 * on x86_64) as a dtb for qvmi_read_va()/qvmi_translate(): it maps the
 * kernel image, the direct map, vmalloc and modules whatever task a vCPU
 * runs (a user CR3 under PTI maps almost no kernel).  -ENOENT without
 * init_mm (and BTF) or init_top_pgt/swapper_pg_dir.
 */
QVMI_API int qvmi_linux_kernel_dtb(struct qvmi_linux *lx, uint64_t *ret);

/*
 * The layout an ELF dump needs for crash, drgn, makedumpfile and gdb
 * (struct qvmi_dump_kernel): the image from _text to _end less what the
 * kernel freed after boot and reuses through the direct map (init memory,
 * the text/rodata and rodata/data gaps, unused brk), page_offset_base,
 * and the VMCOREINFO text from the note the kernel keeps at
 * *vmcoreinfo_note (kernel/crash_core.c, CONFIG_CRASH_CORE), which is
 * what QEMU's -device vmcoreinfo would hand over.  i386 (3G/1G split):
 * one image part, lowmem [0, high_memory - PAGE_OFFSET) at PAGE_OFFSET,
 * and page_offset 4 GiB, outside every 32-bit address, for highmem and
 * ROM; it needs high_memory (a System.map).  -ENOENT without
 * vmcoreinfo_note, _end or high_memory, -EBADMSG for a malformed note.
 * Free with qvmi_dump_kernel_deinit().
 */
QVMI_API int qvmi_linux_dump_kernel(struct qvmi_linux *lx,
				    struct qvmi_dump_kernel *ret);

struct qvmi_linux_member {
	uint64_t bit_offset; /* from the start of the outer type */
	uint32_t bit_size; /* non-zero only for bitfields */
	uint64_t size; /* bytes of the member's type */
	uint32_t type_id; /* BTF type id */
	const char *type_name; /* "" for anonymous types; owned by handle */
};

/*
 * Member lookup by path in a struct or union, through anonymous members:
 * ("task_struct", "comm"), ("mm_struct", "pgd"), ("task_struct",
 * "se.vruntime"), ("task_struct", "tasks.next"), ("x", "arr[2].y").
 * qvmi_linux_offset gives the byte offset; -EINVAL for bitfields.
 */
QVMI_API int qvmi_linux_offset(struct qvmi_linux *lx, const char *type,
			       const char *path, uint64_t *ret);
QVMI_API int qvmi_linux_member(struct qvmi_linux *lx, const char *type,
			       const char *path, struct qvmi_linux_member *ret);
/* sizeof(type): a struct, union, typedef or base type name. */
QVMI_API int qvmi_linux_type_size(struct qvmi_linux *lx, const char *type,
				  uint64_t *ret);

/* ---- Linux views: tasks, modules, maps, dmesg (src/os/linux) ---- */

/*
 * What a running Linux kernel holds, read from its own data structures
 * with layouts from its BTF (so a kernel without BTF gives -ENOENT).
 * Covered: x86_64 kernels 4.14 to 6.x with BTF; tested on Debian 6.1 and
 * on synthetic kernels in both layouts of each structure.  Walks over
 * guest data are bounded (65,536 list nodes); a cycle stops the walk with
 * -ELOOP, and what was found before it is returned, marked partial.  A
 * running guest may change a list while it is walked: pause it for a
 * consistent picture.
 */

enum { QVMI_LINUX_COMM_LEN = 16 }; /* TASK_COMM_LEN */

enum qvmi_linux_task_flags {
	QVMI_LINUX_TASK_KTHREAD = 1u << 0, /* PF_KTHREAD, or no mm */
	QVMI_LINUX_TASK_LEADER = 1u << 1, /* pid == tgid */
};

struct qvmi_linux_task {
	uint64_t addr; /* the task_struct's kernel virtual address */
	int32_t pid, tgid, ppid; /* ppid: real_parent's tgid */
	uint32_t uid; /* cred->uid */
	char comm[QVMI_LINUX_COMM_LEN]; /* always terminated */
	char state; /* as ps shows it: R S D T t X Z P I */
	uint32_t flags; /* enum qvmi_linux_task_flags */
	uint64_t raw_state; /* __state (>= 5.14) or state */
	/* Nanoseconds since boot, suspend included (start_boottime, as
	 * /proc/PID/stat), or start_time (monotonic) on kernels before 5.5. */
	uint64_t start_time;
	uint64_t mm; /* 0 for kernel threads */
	uint64_t dtb; /* guest-physical address of mm->pgd (a CR3); 0 */
};

struct qvmi_linux_task_list {
	struct qvmi_linux_task *tasks;
	size_t n;
	/* The walk stopped early (the call's error says why); tasks[] holds
	 * what was read before that. */
	int partial; /* 0 or 1 */
};

enum qvmi_linux_tasks_flags {
	QVMI_LINUX_THREADS = 1u << 0, /* every thread, not only leaders */
};

/*
 * The task list from init_task (pid 0, the idle task, comes first), in
 * list order.  ret is always initialised; free it with
 * qvmi_linux_task_list_deinit() whatever the result.  Returns 0, or a
 * negative errno with ret->partial set when some tasks were read.
 */
QVMI_API int qvmi_linux_tasks(struct qvmi_linux *lx, unsigned int flags,
			      struct qvmi_linux_task_list *ret);
QVMI_API void qvmi_linux_task_list_deinit(struct qvmi_linux_task_list *list);

/* Called for each task; a non-zero return stops the walk and is returned.
 * The task is only valid during the call.  Allocates nothing. */
typedef int (*qvmi_linux_task_fn)(const struct qvmi_linux_task *task,
				  void *arg);
QVMI_API int qvmi_linux_task_foreach(struct qvmi_linux *lx, unsigned int flags,
				     qvmi_linux_task_fn fn, void *arg);
/* One task by pid (a thread id with QVMI_LINUX_THREADS); -ENOENT. */
QVMI_API int qvmi_linux_task_find(struct qvmi_linux *lx, int32_t pid,
				  unsigned int flags,
				  struct qvmi_linux_task *ret);

/* Loaded modules (the "modules" list), as lsmod shows them. */
enum qvmi_linux_module_state {
	QVMI_LINUX_MODULE_LIVE = 0,
	QVMI_LINUX_MODULE_COMING = 1,
	QVMI_LINUX_MODULE_GOING = 2,
	QVMI_LINUX_MODULE_UNFORMED = 3,
};

struct qvmi_linux_module {
	uint64_t addr; /* the struct module */
	char name[64];
	uint64_t base; /* core text: mem[MOD_TEXT] (>= 6.4), core_layout */
	uint64_t size; /* all parts, as /proc/modules adds them up */
	uint64_t text_size; /* core text part */
	int state; /* enum qvmi_linux_module_state */
};

struct qvmi_linux_module_list {
	struct qvmi_linux_module *mods;
	size_t n;
	int partial; /* 0 or 1 */
};

/* Same contract as qvmi_linux_tasks. */
QVMI_API int qvmi_linux_modules(struct qvmi_linux *lx,
				struct qvmi_linux_module_list *ret);
QVMI_API void
qvmi_linux_module_list_deinit(struct qvmi_linux_module_list *list);

/*
 * Memory maps of a process (its VMAs in address order), like
 * /proc/PID/maps.  Kernels >= 6.1 keep them in a maple tree
 * (mm->mm_mt), older ones in a list (mm->mmap, vm_next); BTF tells which.
 */
enum qvmi_linux_vma_flags {
	QVMI_LINUX_VM_READ = 1u << 0, /* the kernel's VM_* bits */
	QVMI_LINUX_VM_WRITE = 1u << 1,
	QVMI_LINUX_VM_EXEC = 1u << 2,
	QVMI_LINUX_VM_SHARED = 1u << 3,
};

struct qvmi_linux_vma {
	uint64_t addr; /* the vm_area_struct */
	uint64_t start, end;
	uint64_t flags; /* vm_flags; the low four bits are enum above */
	uint64_t pgoff; /* in pages */
	uint64_t file; /* the struct file; 0 for anonymous memory */
	char perms[5]; /* "rwxp" / "r--s", as /proc/PID/maps */
	/* File path (dentries up to the root, across mounts), "[heap]",
	 * "[stack]", a special mapping's name ("[vdso]"), or "". */
	char *name;
};

struct qvmi_linux_vma_list {
	struct qvmi_linux_vma *vmas;
	size_t n;
	int partial; /* 0 or 1 */
	uint64_t mm, dtb; /* the process's mm_struct and page table */
};

/* Same contract as qvmi_linux_tasks; -ENOENT for an unknown pid, -ESRCH
 * for a task without mm (a kernel thread). */
QVMI_API int qvmi_linux_vmas(struct qvmi_linux *lx, int32_t pid,
			     struct qvmi_linux_vma_list *ret);
QVMI_API void qvmi_linux_vma_list_deinit(struct qvmi_linux_vma_list *list);

/*
 * A process's argument or environment block (mm->arg_start..arg_end,
 * env_start..env_end), read through its page table: NUL-separated strings.
 * On success ret->data holds ret->len bytes and a NUL past them; release it
 * with qvmi_linux_args_deinit.
 * -EFAULT if the pages are not present (swapped out, or not yet touched),
 * also when only a later page is missing; -E2BIG when the block is longer
 * than QVMI_LINUX_ARGS_MAX bytes.  A block read in part is never returned
 * as if whole: on any error ret->data is NULL and ret->len 0.
 */
enum { QVMI_LINUX_ARGS_MAX = 4096 * 32 };
enum qvmi_linux_args {
	QVMI_LINUX_CMDLINE = 0,
	QVMI_LINUX_ENVIRON = 1,
};
struct qvmi_linux_args_block {
	char *data;
	size_t len;
};
QVMI_API int qvmi_linux_proc_args(struct qvmi_linux *lx, int32_t pid,
				  enum qvmi_linux_args which,
				  struct qvmi_linux_args_block *ret);
QVMI_API void qvmi_linux_args_deinit(struct qvmi_linux_args_block *block);

/*
 * The kernel log (dmesg): the lockless printk ring buffer of 5.10+ (prb),
 * or the log_buf of struct printk_log records before it; BTF tells which.
 * Records come oldest first; text is not terminated (use text_len) and is
 * valid only during the call.  At most 2^22 records, 64 MiB of text.
 */
struct qvmi_linux_log_rec {
	uint64_t seq;
	uint64_t ts_nsec; /* local_clock() at logging */
	int level; /* 0..7; -1 unknown */
	int facility;
	uint32_t caller_id; /* 0 when the kernel has none */
	const char *text;
	size_t text_len;
};
typedef int (*qvmi_linux_log_fn)(const struct qvmi_linux_log_rec *rec,
				 void *arg);
/* 0 once every record went to fn; a non-zero return of fn stops the walk
 * and is returned as it is; a negative errno on failure (records given
 * before it were a partial log).  Count the records in fn. */
QVMI_API int qvmi_linux_dmesg(struct qvmi_linux *lx, qvmi_linux_log_fn fn,
			      void *arg);

/* ---- current task of a vCPU (src/os/linux/current.c) ---- */

struct qvmi_linux_current {
	uint64_t task; /* address of the task_struct */
	uint64_t percpu_base; /* the vCPU's per-CPU offset (GS base) */
	int32_t pid; /* task_struct.pid: the thread id (0: idle task) */
	int32_t tgid; /* task_struct.tgid: the process id */
	char comm[QVMI_LINUX_COMM_LEN]; /* always NUL-terminated */
	int user; /* non-zero: the vCPU was running user code */
};

/*
 * The task running on a vCPU: the per-CPU "current_task" pointer (6.1:
 * its own per-CPU variable; 6.2+: pcpu_hot.current_task) read at the
 * vCPU's GS base, taken from KERNEL_GS_BASE when the vCPU is in user mode
 * (that needs a gdbstub; without one, __per_cpu_offset[vcpu] is used).
 * Needs BTF (task_struct offsets).  Reads registers (stops a running VM
 * briefly through the gdbstub); the answer is only stable while the VM is
 * stopped.  -ENOENT without the symbols or BTF members, -EBADMSG if the
 * pointer read is not a kernel address.
 */
QVMI_API int qvmi_linux_current_task(struct qvmi_linux *lx, unsigned int vcpu,
				     struct qvmi_linux_current *ret);

/* ---- introspection sessions (src/proto/session.c) ---------------------- */

struct qvmi_session_opts {
	size_t sz;
	/* The shared secret file (required): 32..4096 bytes, owned by us,
	 * mode 0600 or 0400.  The same file as qvmid --session-key. */
	const char *key_path;
	/* Timeout for connecting, the handshake and each request, ms;
	 * 0: 5000. */
	int timeout_ms;
};

/*
 * Open an introspection session with qvmid (--session PATH) over its unix
 * socket, or, when path is "tcp:HOST:PORT", over TCP to qvmid
 * --session-tcp (HOST a name or a numeric address, an IPv6 literal in
 * brackets: "tcp:[::1]:7777"; every address it resolves to is tried within
 * timeout_ms, though a name lookup itself may take the resolver's time;
 * -EINVAL for a malformed address, -EHOSTUNREACH for a name that does not
 * resolve).  Either way (docs/PROTOCOL.md): the handshake and mutual
 * HMAC-SHA256 authentication, then a memory source (slow: one round trip
 * per request, cached while the VM is paused) over the VM's RAM ranges and
 * a control backend (vCPU count, registers, counted pause/resume).  The
 * context must not be attached yet (-EBUSY).  A wrong key gives -EACCES; a second session
 * on a VM that has one -EBUSY with qvmid's message; a peer that breaks the
 * protocol -EPROTO.  What the operator's policy denies fails with -EPERM.
 * Once the connection is lost every access fails with -EPIPE.
 */
QVMI_API int qvmi_session_open(struct qvmi_ctx *ctx, const char *path,
			       const struct qvmi_session_opts *opts);

/* sessxport */
/*
 * Accepting VMs (the qvmi_session_listen; docs/PROTOCOL.md
 * "Transport", connect-out): the tool listens, each qvmid started with
 * --session-connect ADDR connects to it, and every VM accepted becomes one
 * attached context, usable with every call that works after
 * qvmi_session_open().  One tool can so supervise many VMs.  The roles in
 * the protocol do not change: the tool sends HELLO and proves the key
 * first, qvmid proves it and sends the VM info.
 *
 * qvmi_session_open() also takes "vsock:CID:PORT" (qvmid --session-vsock),
 * connected within its timeout_ms.
 */
struct qvmi_session_listener;

struct qvmi_session_listen_opts {
	size_t sz;
	/* The shared secret file (required), as in qvmi_session_opts.  Every
	 * VM that connects must prove it; one key per listener. */
	const char *key_path;
	/* Handshake of an accepted VM, and each later request on its
	 * context, ms; 0: 5000. */
	int timeout_ms;
	/* Where a failure of qvmi_session_listener_create() is described
	 * (qvmi_errmsg), since there is no listener yet; may be NULL. */
	struct qvmi_ctx *err_ctx;
	/* Per-VM keys, instead of key_path (exactly one of the two, else
	 * -EINVAL): a directory owned by the caller's uid, mode 0700 or 0500,
	 * holding one key file per VM named by its uuid as 32 lowercase hex
	 * digits and ".key" (e.g. 0123456789abcdef0123456789abcdef.key),
	 * each checked as key_path is.  A VM that dials in must prove the key
	 * of the uuid it claims; the file is read at each accept, so a VM's
	 * key can be added without a new listener.  TCP and vsock only
	 * (-EINVAL on a unix socket). */
	const char *key_dir;
};

/*
 * Listen on addr: "PATH" or "unix:PATH" (a unix socket created 0600; a
 * stale socket there is replaced, a live one gives -EADDRINUSE, any other
 * file -EEXIST), "tcp:ADDR:PORT" (numeric ADDR, "[v6]" for IPv6; PORT 0
 * picks a free port) or "vsock:CID:PORT" (CID "any" for every CID).  The
 * key file is checked now (-EPERM/-EINVAL as for qvmi_session_open), or
 * the key directory (-EPERM: not ours or open to others; -ENOENT,
 * -ENOTDIR, -ELOOP for a symbolic link).  -EINVAL for a malformed
 * address.
 */
QVMI_API int
qvmi_session_listener_create(const char *addr,
			     const struct qvmi_session_listen_opts *opts,
			     struct qvmi_session_listener **ret);
/* Close the listener (and unlink its unix socket if still ours).
 * Contexts it accepted stay attached. */
QVMI_API void qvmi_session_listener_destroy(struct qvmi_session_listener *l);
/* The listening socket, for poll(): readable when a VM connects. */
QVMI_API int qvmi_session_listener_fd(const struct qvmi_session_listener *l);
/* The bound TCP or vsock port (useful after PORT 0); 0 for unix. */
QVMI_API uint32_t
qvmi_session_listener_port(const struct qvmi_session_listener *l);
/*
 * Wait up to timeout_ms (0: only take a VM already waiting; < 0: no
 * limit) for one VM to connect, run the handshake and authentication with
 * it (bounded by the listener's timeout_ms), and attach ctx to it, which
 * must not be attached yet (-EBUSY).  -ETIMEDOUT when no VM came in time.
 * A peer that fails the handshake gives its error (-EACCES: wrong key,
 * or with key_dir no key for the uuid it claims, named in the message;
 * -EPROTO; -ETIMEDOUT; -EBUSY: that VM has a session already) with a
 * message on ctx, which stays unattached: call again.  After a guest
 * reset qvmid closes the session (the context's calls then fail with
 * -EPIPE) and connects again: accept it as a new VM (same uuid).
 */
QVMI_API int qvmi_session_accept(struct qvmi_session_listener *l,
				 struct qvmi_ctx *ctx, int timeout_ms);
/*
 * The socket of a session context, for poll() over many sessions: when it
 * is readable, qvmi_events_poll(ctx, 0) delivers what arrived (or reports
 * -EPIPE).  -EOPNOTSUPP if ctx is not a session, -EPIPE once it is lost.
 */
QVMI_API int qvmi_session_fd(struct qvmi_ctx *ctx);
/* end sessxport */

/* Session events (docs/PROTOCOL.md "Events"). */
enum qvmi_event_type {
	QVMI_EVENT_BREAKPOINT = 1,
	QVMI_EVENT_STEP,
	QVMI_EVENT_WATCHPOINT,
	QVMI_EVENT_PAUSED, /* by someone else than this session */
	QVMI_EVENT_RESUMED, /* by someone else than this session */
	QVMI_EVENT_RESET,
	QVMI_EVENT_SHUTDOWN,
	QVMI_EVENT_MIGRATION,
	QVMI_EVENT_UNHOOK, /* remove what you set, then qvmi_session_unhook_ack */
	/* qvmid could not re-insert a breakpoint or watchpoint after a guest
	 * reset and dropped it (addr, kind, len say which). */
	QVMI_EVENT_BP_REMOVED,
};

/* Why qvmid asks the tool to unhook (QVMI_EVENT_UNHOOK's reason). */
enum qvmi_unhook_reason {
	QVMI_UNHOOK_STOP = 1, /* a management client's "stop" waits */
	QVMI_UNHOOK_SYSTEM_RESET,
	QVMI_UNHOOK_MIGRATE,
	QVMI_UNHOOK_QUIT,
	QVMI_UNHOOK_SYSTEM_POWERDOWN,
	QVMI_UNHOOK_QVMID_EXIT, /* qvmid is closing the session */
};

/* RESET/SHUTDOWN reason: QEMU 7.2's ShutdownCause (qapi/run-state.json),
 * in its order, plus one. */
enum qvmi_event_cause {
	QVMI_CAUSE_UNKNOWN = 0,
	QVMI_CAUSE_NONE,
	QVMI_CAUSE_HOST_ERROR,
	QVMI_CAUSE_HOST_QMP_QUIT,
	QVMI_CAUSE_HOST_QMP_SYSTEM_RESET,
	QVMI_CAUSE_HOST_SIGNAL,
	QVMI_CAUSE_HOST_UI,
	QVMI_CAUSE_GUEST_SHUTDOWN,
	QVMI_CAUSE_GUEST_RESET,
	QVMI_CAUSE_GUEST_PANIC,
	QVMI_CAUSE_SUBSYSTEM_RESET,
	QVMI_CAUSE_SNAPSHOT_LOAD,
};

/* MIGRATION reason: QEMU 7.2's MigrationStatus, in its order, plus one. */
enum qvmi_migration_status {
	QVMI_MIGRATION_UNKNOWN = 0,
	QVMI_MIGRATION_NONE,
	QVMI_MIGRATION_SETUP,
	QVMI_MIGRATION_CANCELLING,
	QVMI_MIGRATION_CANCELLED,
	QVMI_MIGRATION_ACTIVE,
	QVMI_MIGRATION_POSTCOPY_ACTIVE,
	QVMI_MIGRATION_POSTCOPY_PAUSED,
	QVMI_MIGRATION_POSTCOPY_RECOVER,
	QVMI_MIGRATION_COMPLETED,
	QVMI_MIGRATION_FAILED,
	QVMI_MIGRATION_COLO,
	QVMI_MIGRATION_PRE_SWITCHOVER,
	QVMI_MIGRATION_DEVICE,
	QVMI_MIGRATION_WAIT_UNPLUG,
};

enum { QVMI_EVENT_F_GUEST = 1u << 0 }; /* RESET/SHUTDOWN by the guest */

struct qvmi_event {
	enum qvmi_event_type type;
	uint32_t seq; /* qvmid's event number, 1, 2, ... */
	uint32_t vcpu; /* breakpoint, step, watchpoint */
	/* RESET/SHUTDOWN: enum qvmi_event_cause; MIGRATION: enum
	 * qvmi_migration_status; UNHOOK: enum qvmi_unhook_reason. */
	uint32_t reason;
	uint32_t flags; /* QVMI_EVENT_F_* */
	/* UNHOOK: how long qvmid waits for the ack before it removes the
	 * tool's breakpoints itself and lets the command through. */
	uint32_t timeout_ms;
	/* QEMU's timestamp of the event (host wall clock, Unix ns); 0 if
	 * unknown. */
	uint64_t timestamp_ns;
	uint64_t addr; /* breakpoint, watchpoint, bp-removed */
	/* BP_REMOVED: the enum qvmi_bp_kind and length it was set with. */
	uint32_t kind;
	uint32_t len;
};

/* Runs inside qvmi_events_poll (or a call that waits, such as
 * qvmi_wait_stop) on that thread; ev lives until it returns.  It may call
 * the session's functions (pause, resume, read, unhook ack), not destroy
 * ctx. */
typedef void (*qvmi_event_fn)(struct qvmi_ctx *ctx, const struct qvmi_event *ev,
			      void *arg);

/*
 * Where qvmi_events_poll() delivers events (fn NULL: events are read and
 * dropped).  -EOPNOTSUPP if ctx is not a session.
 */
QVMI_API int qvmi_set_event_cb(struct qvmi_ctx *ctx, qvmi_event_fn fn,
			       void *arg);
/*
 * Deliver the events that arrived (also those read while waiting for a
 * reply), waiting up to timeout_ms (0: do not wait, -1: 5 s) for the first.
 * Runs the callback on this thread; it may call the session's functions.
 * Returns how many were delivered (0: none in time), -EPIPE once qvmid
 * closed the session, -EPROTO for a malformed event (the session is then
 * closed).  At most 256 events wait between two calls; older ones beyond
 * that are dropped (a log line says how many).
 */
QVMI_API int qvmi_events_poll(struct qvmi_ctx *ctx, int timeout_ms);
/*
 * Hook the session: from now on a management client's stop, system_reset,
 * migrate, quit and system_powerdown (QMP, through qvmid's proxy) wait
 * until this tool has unhooked (QVMI_EVENT_UNHOOK, then
 * qvmi_session_unhook_ack) or qvmid's unhook timeout has passed.  Setting
 * a breakpoint or watchpoint hooks too.  -EBUSY while an unhook is under
 * way; -EPERM if the policy denies "hook".
 */
QVMI_API int qvmi_session_hook(struct qvmi_ctx *ctx);
/*
 * Unhook: acknowledge the latest QVMI_EVENT_UNHOOK (after removing what the
 * tool set), or, with none received, drop the hook now.
 */
QVMI_API int qvmi_session_unhook_ack(struct qvmi_ctx *ctx);

/* ---- pmemaccess client source (src/source/pmem.c) ---------------------- */

struct qvmi_pmem_opts {
	size_t sz;
	/* Register guest RAM as [0, ram_size).  0: the server's memory map is
	 * unknown, so one catch-all range [0, 2^64) is registered (reads
	 * outside RAM then fail at the server with -EFAULT, and
	 * qvmi_find_pa() has no RAM to scan). */
	uint64_t ram_size;
	/* Largest single request; longer reads and writes are split.  Must
	 * not exceed the server's limit.  0: 1 MiB (qvmid's default). */
	uint64_t max_transfer;
	/* Timeout for each wait on the socket, ms; 0: 5000. */
	int timeout_ms;
};

/*
 * Add a memory source that talks LibVMI's pmemaccess protocol to the unix
 * socket at path: qvmid --pmemaccess, or a QEMU carrying the pmemaccess
 * patch.  The source is slow (one round trip per request), so the page
 * cache applies while the VM is paused.  A failure status from the server
 * gives -EFAULT; a closed connection -EPIPE (the next access reconnects);
 * no answer in time -ETIMEDOUT.  Like qvmi_map_add(), it overrides earlier
 * sources where its ranges overlap them.
 */
QVMI_API int qvmi_attach_pmem(struct qvmi_ctx *ctx, const char *path,
			      const struct qvmi_pmem_opts *opts);

#ifdef __cplusplus
}
#endif

#endif /* QVMI_H */
