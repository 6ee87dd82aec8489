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
#include <sys/uio.h>

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
};

enum { PROCMEM_ANON_MAX = 16 };

struct procmem {
	pid_t pid;
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
	free(qvmi_source_priv(s));
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
	/* SLOW: while the VM is paused the page cache turns repeated small
	 * reads (page-table walks) from a syscall each into a memcpy. */
	err = qvmi_source_create(ctx, &procmem_ops, p, QVMI_SOURCE_SLOW, ret);
	if (err)
		free(p);
	return err;
}
