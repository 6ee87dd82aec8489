/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Between the dump writer's common part (dumpwrite.c: what to write, the
 * sparse copy, the file) and its formats (dumpwrite-elf.c).
 */
#ifndef QVMI_CORE_DUMPWRITE_H
#define QVMI_CORE_DUMPWRITE_H

#include "internal.h"

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
};

enum { QVMI__DUMP_CHUNK = 1 << 20 };

/* pwrite all of buf at off. */
QVMI_HIDDEN int qvmi__dump_put(struct qvmi__writer *w, const void *buf,
			       size_t len, uint64_t off);
/* Copy every range to its file offset, holes and zero pages left out,
 * then size the file to file_size. */
QVMI_HIDDEN int qvmi__dump_copy_all(struct qvmi__writer *w,
				    const struct qvmi__wrange *r, size_t n,
				    uint64_t file_size);
/* The ELF core (dumpwrite-elf.c).  May replace *r (split at the kernel
 * image). */
QVMI_HIDDEN int qvmi__dump_write_elf(struct qvmi__writer *w,
				     struct qvmi__wrange **r, size_t *n);

#endif
