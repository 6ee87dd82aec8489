/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Constructors of the built-in memory sources. */
#ifndef QVMI_SOURCE_SOURCES_H
#define QVMI_SOURCE_SOURCES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/internal.h"

struct qvmi_qmp;

/* Shared RAM: mmap of a memory-backend-file/memfd.  src_addr = offset in
 * the file.  Takes ownership of fd.  Register ranges with
 * qvmi__map_add_host(ctx, src, gpa, size, off, qvmi__shm_host(src, off)). */
QVMI_HIDDEN int qvmi__source_shm_create(struct qvmi_ctx *ctx, int fd,
					bool writable,
					struct qvmi_source **ret);
QVMI_HIDDEN uint8_t *qvmi__shm_host(struct qvmi_source *src, uint64_t off);
/* Size of the mapped file; 0 if src is not a shm source. */
QVMI_HIDDEN uint64_t qvmi__shm_size(struct qvmi_source *src);

/* QEMU process memory via process_vm_readv/writev.  src_addr = HVA. */
QVMI_HIDDEN int qvmi__source_procmem_create(struct qvmi_ctx *ctx, pid_t pid,
					    struct qvmi_source **ret);

/* QMP "xp": slow, read-only.  src_addr = GPA.  q is borrowed. */
QVMI_HIDDEN int qvmi__source_xp_create(struct qvmi_ctx *ctx, struct qvmi_qmp *q,
				       struct qvmi_source **ret);

#endif
