/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Between the dump writer's common part (dumpwrite.c: what to write, the
 * sparse copy, the file) and its formats (dumpwrite-elf.c).
 */
#ifndef QVMI_CORE_DUMPWRITE_H
#define QVMI_CORE_DUMPWRITE_H

#include "core/internal.h"

/* One run of guest-physical memory in the output. */
struct qvmi__wrange {
	uint64_t gpa, size;
	uint64_t off; /* file offset of the data */
	uint64_t va; /* ELF p_vaddr */
};

struct qvmi__writer {
	struct qvmi_ctx *ctx;
	const char *path;
	int fd;
	uint8_t *buf; /* QVMI__DUMP_CHUNK */
	qvmi_progress_fn progress;
	void *progress_arg;
	uint64_t done, total;
	const struct qvmi_dump_kernel *kernel; /* may be NULL */
	int compress; /* enum qvmi_dump_compress */
	unsigned int dump_level; /* QVMI_DUMP_LEVEL_* */
	struct qvmi_linux *lx; /* for QVMI_DUMP_LEVEL_FREE */
};

enum { QVMI__DUMP_CHUNK = 1 << 20 };

/* pwrite all of buf at off. */
QVMI_HIDDEN int qvmi__dump_put(struct qvmi__writer *w, const void *buf,
			       size_t len, uint64_t off);
/* Bytes from gpa on (at most len) that the backing RAM file holds no data
 * for (SEEK_DATA): zeros, to be skipped unread.  0 if it cannot tell. */
QVMI_HIDDEN uint64_t qvmi__dump_hole(struct qvmi__writer *w, uint64_t gpa,
				     uint64_t len);
/* n more bytes done: progress. */
QVMI_HIDDEN void qvmi__dump_tick(struct qvmi__writer *w, uint64_t n);
/* Copy every range to its file offset, holes and zero pages left out,
 * then size the file to file_size. */
QVMI_HIDDEN int qvmi__dump_copy_all(struct qvmi__writer *w,
				    const struct qvmi__wrange *r, size_t n,
				    uint64_t file_size);
/* The ELF notes of a dump: per vCPU NT_PRSTATUS and QEMU notes, then
 * VMCOREINFO (its text at vmci_off in buf; 0 if none). */
struct qvmi__notes {
	uint8_t *buf;
	size_t len;
	uint16_t machine;
	size_t vmci_off, nvcpus;
};
QVMI_HIDDEN int qvmi__dump_notes(struct qvmi__writer *w,
				 struct qvmi__notes *ret);
/* kdump-compressed (dumpwrite-kdump.c). */
/* Where a kdump's pages end (bytes): end, cut to the end of the highest
 * RAM range (or the kernel's max_pfn, when known and lower: 0 unknown)
 * rounded up to a memory section of 2^section_bits bytes. */
QVMI_HIDDEN uint64_t qvmi__kdump_end(const struct qvmi_ram_range *ram,
				     size_t nram, uint64_t end,
				     unsigned int section_bits,
				     uint64_t max_pfn);
QVMI_HIDDEN int qvmi__dump_write_kdump(struct qvmi__writer *w,
				       const struct qvmi__wrange *r, size_t n);
/* The ELF core (dumpwrite-elf.c).  May replace *r (split at the kernel
 * image). */
QVMI_HIDDEN int qvmi__dump_write_elf(struct qvmi__writer *w,
				     struct qvmi__wrange **r, size_t *n);

#endif
