/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Memory dump files: the ELF core of QMP dump-guest-memory and raw images.
 * The note layouts are shared by the reader (dump-elf.c) and the writer
 * (core/dumpwrite.c).
 */
#ifndef QVMI_SOURCE_DUMP_H
#define QVMI_SOURCE_DUMP_H

#include <stdint.h>

#include "core/internal.h"

/*
 * QEMU's per-vCPU "QEMU" note (target/i386/arch_dump.c, QEMUCPUState,
 * QEMUCPUSTATE_VERSION 1).  All fields little-endian.  QEMU 7.1 appended
 * kernel_gs_base without bumping the version: readers must look at "size".
 */
struct qvmi_qemu_seg {
	uint32_t selector;
	uint32_t limit;
	uint32_t flags;
	uint32_t pad;
	uint64_t base;
};

struct qvmi_qemu_cpustate {
	uint32_t version;
	uint32_t size;
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	struct qvmi_qemu_seg cs, ds, es, fs, gs, ss;
	struct qvmi_qemu_seg ldt, tr, gdt, idt;
	uint64_t cr[5];
	uint64_t kernel_gs_base;
};

enum {
	QVMI_QEMU_CPUSTATE_VERSION = 1,
	/* size without kernel_gs_base (QEMU <= 7.0) */
	QVMI_QEMU_CPUSTATE_MIN = 432,
	QVMI_QEMU_CPUSTATE_KGS = 440,
};
_Static_assert(sizeof(struct qvmi_qemu_cpustate) == QVMI_QEMU_CPUSTATE_KGS,
	       "QEMUCPUState layout");

/* The x86_64 NT_PRSTATUS descriptor QEMU writes (x86_64_elf_prstatus). */
struct qvmi_prstatus64 {
	uint8_t pad1[32];
	uint32_t pid; /* QEMU writes cpu_index + 1 */
	uint8_t pad2[76];
	/* struct user_regs_struct order */
	uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10;
	uint64_t r9, r8, rax, rcx, rdx, rsi, rdi, orig_rax;
	uint64_t rip, cs, eflags, rsp, ss;
	uint64_t fs_base, gs_base, ds, es, fs, gs;
	uint8_t pad3[8];
} __attribute__((packed));
_Static_assert(sizeof(struct qvmi_prstatus64) == 336, "x86_64 prstatus");

/* The i386 NT_PRSTATUS descriptor (x86_elf_prstatus), written when the
 * first vCPU is not in long mode but RAM reaches above 4 GiB. */
struct qvmi_prstatus32 {
	uint8_t pad1[24];
	uint32_t pid;
	uint8_t pad2[44];
	uint32_t ebx, ecx, edx, esi, edi, ebp, eax;
	uint16_t ds, ds_hi, es, es_hi, fs, fs_hi, gs, gs_hi;
	uint32_t orig_eax, eip;
	uint16_t cs, cs_hi;
	uint32_t eflags, esp;
	uint16_t ss, ss_hi;
	uint8_t pad3[4];
} __attribute__((packed));
_Static_assert(sizeof(struct qvmi_prstatus32) == 144, "i386 prstatus");

enum {
	/* Bounds on hostile dumps. */
	QVMI_DUMP_MAX_PHDRS = 1 << 20,
	QVMI_DUMP_MAX_NOTES_BYTES = 64 << 20,
	QVMI_DUMP_MAX_NOTES = 1 << 16,
	QVMI_DUMP_MAX_VCPUS = 8192,
	QVMI_DUMP_MAX_VMCOREINFO = 1 << 20,
	QVMI_DUMP_MAX_RAW_MAP = 4096,
	/* Each PT_LOAD is a segment-map insertion, O(segments): QEMU writes
	 * a handful (one per RAM block) without paging. */
	QVMI_DUMP_MAX_LOADS = 4096,
};
/* p_memsz beyond p_filesz reads as zeros; bound the total so that a scan
 * of "all RAM" stays finite in practice.  QEMU never writes such tails. */
#define QVMI_DUMP_MAX_ZERO_FILL (64ull << 30)
#define QVMI_DUMP_MAX_PADDR (1ull << 52)

/* A run of a dump's guest-physical memory: size bytes at pa, in the file
 * at off, or zeros.  idx: the order of the file's own records (earlier
 * wins where two overlap). */
struct qvmi__dpiece {
	uint64_t pa, size, off;
	uint32_t idx;
	bool zero;
};
/* Sort by pa, drop the parts an earlier piece covers, join neighbours;
 * returns the new count.  Every pa + size must be below 2^63. */
QVMI_HIDDEN size_t qvmi__dump_index(struct qvmi__dpiece *p, size_t n);

/* Parse an ELF core from fd and attach ctx to it.  Takes ownership of fd
 * (closed on failure too).  ctx must be detached. */
QVMI_HIDDEN int qvmi__attach_elf_fd(struct qvmi_ctx *ctx, int fd);
/* Attach to a raw image; raw_map as in struct qvmi_dump_opts.  Takes
 * ownership of fd. */
QVMI_HIDDEN int qvmi__attach_raw_fd(struct qvmi_ctx *ctx, int fd,
				    const char *raw_map);

/* A dump file read in place, plain or flattened (makedumpfile -F, QEMU
 * 7.2's kdump): reads at offsets of the real file.  Takes ownership of fd
 * (closed on failure too). */
struct qvmi__dfile;
QVMI_HIDDEN int qvmi__dfile_create(struct qvmi_ctx *ctx, int fd, bool flat,
				   struct qvmi__dfile **ret);
/* Exactly len bytes at off; -EBADMSG past the end. */
QVMI_HIDDEN int qvmi__dfile_read(struct qvmi__dfile *f, uint64_t off, void *buf,
				 size_t len);
/* Size of the real file (a flattened one: once rebuilt). */
QVMI_HIDDEN uint64_t qvmi__dfile_size(const struct qvmi__dfile *f);
/* Bytes the file holds on disk: what any table in it is bounded by. */
QVMI_HIDDEN uint64_t qvmi__dfile_stored(const struct qvmi__dfile *f);
QVMI_HIDDEN void qvmi__dfile_destroy(struct qvmi__dfile *f);
/* The control backend of a dump without registers: state FROZEN. */
QVMI_HIDDEN extern const struct qvmi_ctl_ops qvmi__frozen_ctl_ops;

/* kdump-compressed (flat: its flattened form) and LiME.  Take ownership
 * of fd.  ctx must be detached. */
QVMI_HIDDEN int qvmi__attach_kdump_fd(struct qvmi_ctx *ctx, int fd, bool flat);
QVMI_HIDDEN int qvmi__attach_lime_fd(struct qvmi_ctx *ctx, int fd);
/* A read-only source over a file: src_addr = file offset, reads past
 * file_size fail with -EFAULT.  Takes ownership of fd on success. */
QVMI_HIDDEN int qvmi__source_file_create(struct qvmi_ctx *ctx, const char *name,
					 int fd, uint64_t file_size,
					 struct qvmi_source **ret);

/* The vCPU registers and VMCOREINFO of a dump's ELF notes
 * (dump-notes.c). */
struct qvmi__dnotes {
	struct qvmi_regs_x86 *qemu; /* from "QEMU" notes, in note order */
	size_t nqemu;
	struct qvmi_regs_x86 *prs; /* from NT_PRSTATUS, in note order */
	size_t nprs;
	char *vmcoreinfo;
};
/* Add the notes of buf[0, len) (4-byte aligned names and descriptors);
 * *count: notes so far, bounded by QVMI_DUMP_MAX_NOTES. */
QVMI_HIDDEN int qvmi__dnotes_parse(struct qvmi_ctx *ctx,
				   struct qvmi__dnotes *core,
				   const uint8_t *buf, size_t len,
				   size_t *count);
/* After the last note: EFER derived for e_machine machine. */
QVMI_HIDDEN void qvmi__dnotes_finish(struct qvmi_ctx *ctx,
				     struct qvmi__dnotes *core,
				     uint16_t machine);
QVMI_HIDDEN void qvmi__dnotes_free(struct qvmi__dnotes *core);
/* The control backend of a dump with notes (priv: struct qvmi__dnotes,
 * freed on destroy): registers, state FROZEN. */
QVMI_HIDDEN extern const struct qvmi_ctl_ops qvmi__dnotes_ctl_ops;

/* Fill a QEMU note / prstatus from registers (what the writer emits). */
QVMI_HIDDEN void qvmi__regs_to_cpustate(const struct qvmi_regs_x86 *r,
					struct qvmi_qemu_cpustate *ret);
QVMI_HIDDEN void qvmi__regs_to_prstatus(const struct qvmi_regs_x86 *r,
					uint32_t pid,
					struct qvmi_prstatus64 *ret);
QVMI_HIDDEN void qvmi__regs_to_prstatus32(const struct qvmi_regs_x86 *r,
					  uint32_t pid,
					  struct qvmi_prstatus32 *ret);

#endif
