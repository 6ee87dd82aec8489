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
/* Tie the source to QEMU's pid: once it exits, bulk reads fail with -EIO
 * (small reads are memcpy'd by the core and keep the last contents). */
QVMI_HIDDEN int qvmi__shm_set_owner(struct qvmi_source *src, pid_t pid);
/* Size of the mapped file; 0 if src is not a shm source. */
QVMI_HIDDEN uint64_t qvmi__shm_size(struct qvmi_source *src);

/* A file mapping of a process, from /proc/PID/maps. */
struct qvmi_shm_backing {
	uint64_t vma_start, vma_end; /* host virtual addresses */
	uint64_t file_off; /* file offset of vma_start */
	dev_t dev;
	ino_t ino;
	bool shared; /* MAP_SHARED ("s"): sees the guest's writes */
	bool writable;
	char path[256]; /* as maps shows it, e.g. "/memfd:... (deleted)" */
};

/* The shared file mapping of pid that contains hva.  -ENOENT (with a
 * message) if hva is anonymous, privately mapped or not mapped. */
QVMI_HIDDEN int qvmi__shm_find_backing(struct qvmi_ctx *ctx, pid_t pid,
				       uint64_t hva,
				       struct qvmi_shm_backing *ret);

enum { QVMI_SHM_NO_MAP_FILES = 1u << 0 }; /* tests: force the fd scan */

/* Open the file behind b (read-write if permitted, else read-only):
 * /proc/PID/map_files, else QEMU's fd with the same dev/ino (memfds),
 * else the path.  The file's dev/ino are checked in every case. */
QVMI_HIDDEN int qvmi__shm_open_backing(struct qvmi_ctx *ctx, pid_t pid,
				       const struct qvmi_shm_backing *b,
				       unsigned int flags, int *ret);

/* QEMU process memory via process_vm_readv/writev.  src_addr = HVA. */
QVMI_HIDDEN int qvmi__source_procmem_create(struct qvmi_ctx *ctx, pid_t pid,
					    struct qvmi_source **ret);

/* [hva, hva + size) of the procmem source src is private anonymous
 * memory: a page the kernel never populated reads as zeros, so a scan may
 * skip it (/proc/PID/pagemap).  Up to 16 ranges; more are ignored (then
 * read). */
QVMI_HIDDEN void qvmi__procmem_set_anon(struct qvmi_source *src, uint64_t hva,
					uint64_t size);

/* QMP "xp": slow, read-only.  src_addr = GPA.  q is borrowed. */
QVMI_HIDDEN int qvmi__source_xp_create(struct qvmi_ctx *ctx, struct qvmi_qmp *q,
				       struct qvmi_source **ret);

#endif
