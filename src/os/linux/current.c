// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The task running on a vCPU, from its registers and the per-CPU area.
 *
 * x86_64 keeps the running task in a per-CPU variable: "current_task" up to
 * 6.1, a member of "pcpu_hot" from 6.2 (commit 64701838bf05 "x86/percpu:
 * Move current_task to percpu hot section").  A per-CPU variable of CPU n
 * lives at its symbol's value plus __per_cpu_offset[n], and the kernel
 * loads GS_BASE with that offset (cpu_kernelmode_gs_base()).  With the
 * zero-based per-CPU section of x86_64 SMP kernels up to 6.14, the symbols
 * are small offsets (kallsyms type 'A': 6.1 shows "000000000001fb80 A
 * current_task") and the offset is the area's address; kernels that link
 * the section normally (6.15, "x86/percpu: Remove zero-based percpu") give
 * image addresses and a GS base that is a difference.  The sum is the
 * variable's address either way.
 *
 * In user mode the kernel's GS base waits in KERNEL_GS_BASE (SWAPGS on
 * entry and exit), and so it does for the first instructions of
 * entry_SYSCALL_64, which run in ring 0 before the SWAPGS.
 */
#include <string.h>

#include "views.h"

/* Kernel half of the canonical address space (4- and 5-level paging). */
#define KERNEL_HALF 0xff00000000000000ull

static bool kernel_addr(uint64_t va)
{
	return va >= KERNEL_HALF;
}

int qvmi__linux_percpu_base(const struct qvmi_regs_x86 *regs, uint64_t *ret,
			    bool *user)
{
	bool have_kgs = regs->valid & QVMI_REGS_KGS;

	if (!(regs->valid & QVMI_REGS_SEG) || !(regs->valid & QVMI_REGS_BASES))
		return -EOPNOTSUPP;
	*user = (regs->cs & 3) == 3;
	if (!*user && kernel_addr(regs->gs_base)) {
		*ret = regs->gs_base;
		return 0;
	}
	if (!have_kgs)
		return -EOPNOTSUPP;
	if (!kernel_addr(regs->kernel_gs_base))
		return -EBADMSG;
	*ret = regs->kernel_gs_base;
	return 0;
}

/* Kernel memory: the direct map or the image without a walk, else the
 * page tables at dtb. */
static int kread(struct qvmi_linux *lx, uint64_t dtb, uint64_t va, void *buf,
		 size_t len)
{
	uint64_t pa, pa_last;

	if (!qvmi_linux_va_to_pa(lx, va, &pa) &&
	    !qvmi_linux_va_to_pa(lx, va + len - 1, &pa_last) &&
	    pa_last - pa == len - 1)
		return qvmi_read_pa(lx->ctx, pa, buf, len);
	if (!dtb)
		return qvmi__fault(lx->ctx, va,
				   "current: not a direct-map address");
	return qvmi_read_va(lx->ctx, dtb, va, buf, len);
}

int qvmi__linux_current_at(struct qvmi_linux *lx,
			   const struct qvmi_linux_cur_layout *lay,
			   uint64_t percpu_base, uint64_t dtb,
			   struct qvmi_linux_current *ret)
{
	uint64_t task = 0, slot = percpu_base + lay->percpu_off;
	bool k32 = qvmi__lx_psize(lx) == 4;
	size_t clen = QVMI_MIN(lay->comm_len, (uint64_t)QVMI_LINUX_COMM_LEN);
	int32_t ids[2];
	int err;

	memset(ret, 0, sizeof(*ret));
	ret->percpu_base = percpu_base;
	/* i386: the sum wraps modulo 2^32 (the offset is a difference). */
	if (k32)
		slot &= UINT32_MAX;
	else if (slot < percpu_base) /* wrapped */
		return qvmi__fault(lx->ctx, slot, "current: bad per-CPU base");
	err = kread(lx, dtb, slot, &task, qvmi__lx_psize(lx));
	if (err)
		return err;
	/* task_struct is at least cache-line aligned (slab, init_task) */
	if (!(k32 ? qvmi__lx_kptr(lx, task) : kernel_addr(task)) || (task & 7))
		return qvmi__err(lx->ctx, -EBADMSG,
				 "current: task pointer 0x%" PRIx64
				 " at 0x%" PRIx64 " is not a kernel address",
				 task, slot);
	ret->task = task;
	err = kread(lx, dtb, task + lay->pid, &ids[0], sizeof(ids[0]));
	if (!err)
		err = kread(lx, dtb, task + lay->tgid, &ids[1], sizeof(ids[1]));
	if (!err && clen)
		err = kread(lx, dtb, task + lay->comm, ret->comm, clen);
	if (err)
		return err;
	ret->pid = ids[0];
	ret->tgid = ids[1];
	ret->comm[QVMI_LINUX_COMM_LEN - 1] = '\0';
	return 0;
}

/* Per-CPU offset of the task pointer: pcpu_hot.current_task (6.2+) or
 * current_task (<= 6.1). */
static int percpu_current_off(struct qvmi_linux *lx, uint64_t *ret)
{
	uint64_t sym, off;

	if (!qvmi_linux_sym_addr(lx, "pcpu_hot", &sym) &&
	    !qvmi_linux_offset(lx, "pcpu_hot", "current_task", &off)) {
		*ret = sym + off;
		qvmi__clear_err(lx->ctx);
		return 0;
	}
	if (!qvmi_linux_sym_addr(lx, "current_task", &sym)) {
		qvmi__clear_err(lx->ctx);
		*ret = sym;
		return 0;
	}
	return qvmi__err(lx->ctx, -ENOENT,
			 "current: no pcpu_hot.current_task or current_task");
}

static int cur_layout(struct qvmi_linux *lx)
{
	struct qvmi_linux_cur_layout l;
	struct qvmi_linux_member m;
	int err;

	if (lx->cur_ok)
		return 0;
	err = percpu_current_off(lx, &l.percpu_off);
	if (!err)
		err = qvmi_linux_offset(lx, "task_struct", "pid", &l.pid);
	if (!err)
		err = qvmi_linux_offset(lx, "task_struct", "tgid", &l.tgid);
	if (!err)
		err = qvmi_linux_offset(lx, "task_struct", "comm", &l.comm);
	if (!err)
		err = qvmi_linux_member(lx, "task_struct", "comm", &m);
	if (err)
		return err;
	l.comm_len = m.size;
	lx->cur = l;
	lx->cur_ok = true;
	return 0;
}

/* Fallback when KERNEL_GS_BASE is unknown (QMP gives no MSRs):
 * __per_cpu_offset[vcpu], assuming vCPU i is CPU i (QEMU numbers APIC ids
 * in vCPU order, and Linux numbers CPUs in MADT order). */
static int percpu_offset_array(struct qvmi_linux *lx, unsigned int vcpu,
			       uint64_t *ret)
{
	uint64_t arr;
	uint32_t ps = qvmi__lx_psize(lx);
	int err = qvmi_linux_sym_addr(lx, "__per_cpu_offset", &arr);

	if (err)
		return err;
	if (vcpu > 8192)
		return qvmi__err(lx->ctx, -EINVAL, "current: no vCPU %u", vcpu);
	*ret = 0;
	err = kread(lx, 0, arr + (uint64_t)ps * vcpu, ret, ps);
	/* i386 links the per-CPU section at image addresses: the offset
	 * is a difference, any value but 0 for a possible CPU. */
	if (!err && (ps == 4 ? !*ret : !kernel_addr(*ret)))
		err = qvmi__err(lx->ctx, -EBADMSG,
				"current: __per_cpu_offset[%u] = 0x%" PRIx64,
				vcpu, *ret);
	return err;
}

/* Kernel page tables: they map all of the kernel half, whatever the vCPU
 * runs (with PTI, a user CR3 maps almost none of it). */
static uint64_t kernel_dtb(struct qvmi_linux *lx,
			   const struct qvmi_regs_x86 *regs)
{
	uint64_t va, pa;

	if (!qvmi_linux_sym_addr(lx, "init_top_pgt", &va) &&
	    !qvmi_linux_va_to_pa(lx, va, &pa))
		return pa;
	if (qvmi__lx_psize(lx) == 4 && !qvmi__lx_kdtb(lx, &pa))
		return pa;
	qvmi__clear_err(lx->ctx);
	return (regs->valid & QVMI_REGS_CR) ? regs->cr3 : 0;
}

QVMI_API int qvmi_linux_current_task(struct qvmi_linux *lx, unsigned int vcpu,
				     struct qvmi_linux_current *ret)
{
	struct qvmi_regs_x86 regs;
	uint64_t base;
	bool user = false;
	int err;

	if (!lx || !ret)
		return lx ? qvmi__err(lx->ctx, -EINVAL, "current: NULL") :
			    -EINVAL;
	err = cur_layout(lx);
	if (!err)
		err = qvmi_get_regs(lx->ctx, vcpu, &regs);
	if (err)
		return err;
	/* i386 keeps the per-CPU offset in the %fs segment base; QMP and
	 * the gdbstub give no segment bases there, so use the array. */
	err = qvmi__lx_psize(lx) == 4 ?
		      -EOPNOTSUPP :
		      qvmi__linux_percpu_base(&regs, &base, &user);
	if (err == -EOPNOTSUPP && qvmi__lx_psize(lx) == 4 &&
	    (regs.valid & QVMI_REGS_SEG))
		user = (regs.cs & 3) == 3;
	if (err == -EOPNOTSUPP)
		err = percpu_offset_array(lx, vcpu, &base);
	else if (err)
		err = qvmi__err(lx->ctx, err,
				"current: no kernel GS base on vCPU %u", vcpu);
	if (err)
		return err;
	err = qvmi__linux_current_at(lx, &lx->cur, base, kernel_dtb(lx, &regs),
				     ret);
	ret->user = user;
	return err;
}
