// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * QEMU process memory: process_vm_readv/process_vm_writev on QEMU's pid,
 * with src_addr = the host virtual address of guest RAM (HMP gpa2hva).
 * Works with any RAM backend, including anonymous (no share=on), but each
 * call is a syscall that pins the remote pages: ~2.7 us per small read on
 * QEMU 7.2/Linux 6.1, so shared RAM wins where it exists.  Needs
 * PTRACE_MODE_ATTACH rights on QEMU (root, or same uid and Yama allows).
 * On a shared RAM file (memory-backend-file/memfd, share=on) a read of a
 * page the guest never touched allocates it in the file (a read fault on
 * a shared tmpfs mapping), which the shm source avoids: attach prefers
 * shm there, and procmem serves only what shm cannot (ROM, anonymous RAM,
 * where a read maps the zero page and allocates nothing).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/uio.h>
#include <unistd.h>

#include "source/sources.h"

enum {
	/* Remote iovecs per call and bytes per iovec: the kernel pins at
	 * most a few pages' worth of page pointers per step anyway, so this
	 * only bounds how much one syscall does (and keeps the total far
	 * below SSIZE_MAX). */
	PROCMEM_IOV = 16,
	PROCMEM_IOV_LEN = 1 << 20,
	/* Calls that move zero bytes without an error before giving up. */
	PROCMEM_MAX_STALLS = 4,
	PROCMEM_PM_BATCH = 512, /* pagemap entries per read: 2 MiB */
};

/* QEMU's pagemap; -2 if it cannot be read (no ptrace rights). */
static int pm_open(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -2 : fd;
}

enum { PROCMEM_ANON_MAX = 16 };

struct procmem {
	pid_t pid;
	int pagemap; /* /proc/PID/pagemap, -1 until opened; -2: unusable */
	/* private anonymous ranges of QEMU's (qvmi__procmem_set_anon) */
	size_t nanon;
	struct {
		uint64_t start, end;
	} anon[PROCMEM_ANON_MAX];
};

typedef ssize_t (*pvm_fn)(pid_t, const struct iovec *, unsigned long,
			  const struct iovec *, unsigned long, unsigned long);

static int procmem_errno(struct qvmi_source *s, int e, uint64_t addr)
{
	struct procmem *p = qvmi_source_priv(s);
	struct qvmi_ctx *ctx = qvmi_source_ctx(s);

	switch (e) {
	case EFAULT:
		return -EFAULT; /* not mapped in QEMU: core sets the address */
	case ESRCH:
		return qvmi__err(ctx, -EIO, "procmem: QEMU process %d is gone",
				 (int)p->pid);
	case EPERM:
		return qvmi__err(ctx, -EPERM,
				 "procmem: no permission to access process %d "
				 "memory (needs ptrace rights)",
				 (int)p->pid);
	case ENOMEM:
		return qvmi__err(ctx, -ENOMEM, "procmem: out of memory");
	default:
		return qvmi__err(ctx, -EIO,
				 "procmem: pid %d at hva 0x%" PRIx64 ": %s",
				 (int)p->pid, addr, strerror(e));
	}
}

/* Move len bytes between local buf and remote addr; loops over partial
 * transfers (a call stops at the first remote page it cannot pin). */
static int procmem_xfer(struct qvmi_source *s, pvm_fn fn, uint64_t addr,
			uint8_t *buf, size_t len)
{
	struct procmem *p = qvmi_source_priv(s);
	struct iovec local, remote[PROCMEM_IOV];
	unsigned int stalls = 0;

	while (len) {
		size_t total = 0;
		unsigned long n = 0;
		ssize_t got;

		while (n < PROCMEM_IOV && total < len) {
			size_t c =
				QVMI_MIN(len - total, (size_t)PROCMEM_IOV_LEN);

			remote[n].iov_base = (void *)(uintptr_t)(addr + total);
			remote[n].iov_len = c;
			total += c;
			n++;
		}
		local.iov_base = buf;
		local.iov_len = total;
		got = fn(p->pid, &local, 1, remote, n, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return procmem_errno(s, errno, addr);
		if (got == 0) {
			/* Nothing moved and no error: the next page is not
			 * accessible.  Retry a little, then call it unmapped. */
			if (++stalls > PROCMEM_MAX_STALLS)
				return -EFAULT;
			continue;
		}
		if ((size_t)got > total)
			return procmem_errno(s, EIO, addr);
		addr += (uint64_t)got;
		buf += got;
		len -= (size_t)got;
	}
	return 0;
}

static int procmem_read(struct qvmi_source *s, uint64_t addr, void *buf,
			size_t len)
{
	if (addr + len < addr)
		return -EFAULT;
	return procmem_xfer(s, process_vm_readv, addr, buf, len);
}

static int procmem_write(struct qvmi_source *s, uint64_t addr, const void *buf,
			 size_t len)
{
	if (addr + len < addr)
		return -EFAULT;
	/* process_vm_writev only reads the local iovec. */
	return procmem_xfer(s, process_vm_writev, addr,
			    (uint8_t *)(uintptr_t)buf, len);
}

static void procmem_destroy(struct qvmi_source *s)
{
	struct procmem *p = qvmi_source_priv(s);

	if (p->pagemap >= 0)
		close(p->pagemap);
	free(p);
}

/* Is [addr, addr + 1) in one of QEMU's private anonymous ranges?  Its
 * end, or 0. */
static uint64_t anon_end(const struct procmem *p, uint64_t addr)
{
	for (size_t i = 0; i < p->nanon; i++)
		if (addr >= p->anon[i].start && addr < p->anon[i].end)
			return p->anon[i].end;
	return 0;
}

/* pagemap (Documentation/admin-guide/mm/pagemap.rst): bit 63 present,
 * bit 62 swapped.  Neither, in private anonymous memory, is a page QEMU
 * never touched (or that was discarded): it reads as zeros. */
static bool pm_used(uint64_t e)
{
	return e & (3ull << 62);
}

/*
 * Where pages are in use from addr on, within [addr, addr + len) and one
 * anonymous range, from /proc/PID/pagemap (8 bytes a page, read 512 at a
 * time: an untouched 16 GiB is 32 MiB of it).  Other memory (ROM, file
 * mappings) is all data.
 */
static int procmem_next_data(struct qvmi_source *s, uint64_t addr, uint64_t len,
			     uint64_t *start, uint64_t *end)
{
	struct procmem *p = qvmi_source_priv(s);
	uint64_t lim = anon_end(p, addr), pos = addr & ~4095ull;
	uint64_t e[PROCMEM_PM_BATCH];
	bool in_data = false;

	if (!lim || p->pagemap == -2)
		return -EOPNOTSUPP;
	lim = QVMI_MIN(lim, addr + len);
	if (p->pagemap == -1 && (p->pagemap = pm_open(p->pid)) < 0)
		return -EOPNOTSUPP;
	*start = *end = lim;
	while (pos < lim) {
		uint64_t np = QVMI_MIN((lim - pos + 4095) / 4096,
				       (uint64_t)PROCMEM_PM_BATCH);
		ssize_t n =
			pread(p->pagemap, e, np * 8, (off_t)(pos / 4096 * 8));

		if (n < 8) {
			if (!in_data)
				return -EIO;
			*end = QVMI_MIN(pos, lim);
			return 0;
		}
		for (size_t i = 0; i < (size_t)n / 8; i++, pos += 4096) {
			uint64_t a = QVMI_MAX(pos, addr);

			if (!in_data && pm_used(e[i])) {
				*start = a;
				in_data = true;
			} else if (in_data && !pm_used(e[i])) {
				*end = a;
				return 0;
			}
		}
		/* a run of data may go on: one batch of it is enough */
		if (in_data && pos - *start >= PROCMEM_PM_BATCH * 4096ull) {
			*end = QVMI_MIN(pos, lim);
			return 0;
		}
	}
	if (in_data)
		*end = lim;
	return 0;
}

static const struct qvmi_source_ops procmem_ops;

void qvmi__procmem_set_anon(struct qvmi_source *src, uint64_t hva,
			    uint64_t size)
{
	struct procmem *p = qvmi_source_priv(src);

	if (src->ops != &procmem_ops || p->nanon == PROCMEM_ANON_MAX ||
	    hva + size < hva)
		return;
	p->anon[p->nanon].start = hva;
	p->anon[p->nanon].end = hva + size;
	p->nanon++;
}

static const struct qvmi_source_ops procmem_ops = {
	.name = "procmem",
	.read = procmem_read,
	.write = procmem_write,
	.destroy = procmem_destroy,
};

int qvmi__source_procmem_create(struct qvmi_ctx *ctx, pid_t pid,
				struct qvmi_source **ret)
{
	struct procmem *p;
	int err;

	if (pid <= 0 || !ret)
		return qvmi__err(ctx, -EINVAL, "procmem: bad pid %d", (int)pid);
	p = calloc(1, sizeof(*p));
	if (!p)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	p->pid = pid;
	p->pagemap = -1;
	/* SLOW: while the VM is paused the page cache turns repeated small
	 * reads (page-table walks) from a syscall each into a memcpy. */
	err = qvmi_source_create(ctx, &procmem_ops, p, QVMI_SOURCE_SLOW, ret);
	if (err)
		free(p);
	else
		(*ret)->next_data = procmem_next_data;
	return err;
}
