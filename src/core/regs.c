// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Registers by name: the one table of struct qvmi_regs_x86's fields in the
 * order and with the names `qvmi regs` prints them, for the CLI, the Python
 * binding and anyone else who shows registers.
 */
#include <stddef.h>
#include <string.h>

#include "internal.h"

#define R(n, v)                                          \
	{                                                \
#n, offsetof(struct qvmi_regs_x86, n), v \
	}
static const struct {
	const char *name;
	size_t off;
	uint64_t valid;
} regs[] = {
	R(rax, QVMI_REGS_GPR),
	R(rbx, QVMI_REGS_GPR),
	R(rcx, QVMI_REGS_GPR),
	R(rdx, QVMI_REGS_GPR),
	R(rsi, QVMI_REGS_GPR),
	R(rdi, QVMI_REGS_GPR),
	R(rbp, QVMI_REGS_GPR),
	R(rsp, QVMI_REGS_GPR),
	R(r8, QVMI_REGS_GPR),
	R(r9, QVMI_REGS_GPR),
	R(r10, QVMI_REGS_GPR),
	R(r11, QVMI_REGS_GPR),
	R(r12, QVMI_REGS_GPR),
	R(r13, QVMI_REGS_GPR),
	R(r14, QVMI_REGS_GPR),
	R(r15, QVMI_REGS_GPR),
	R(rip, QVMI_REGS_GPR),
	R(rflags, QVMI_REGS_GPR),
	R(cs, QVMI_REGS_SEG),
	R(ss, QVMI_REGS_SEG),
	R(ds, QVMI_REGS_SEG),
	R(es, QVMI_REGS_SEG),
	R(fs, QVMI_REGS_SEG),
	R(gs, QVMI_REGS_SEG),
	R(fs_base, QVMI_REGS_BASES),
	R(gs_base, QVMI_REGS_BASES),
	R(kernel_gs_base, QVMI_REGS_KGS),
	R(cr0, QVMI_REGS_CR),
	R(cr2, QVMI_REGS_CR),
	R(cr3, QVMI_REGS_CR),
	R(cr4, QVMI_REGS_CR),
	R(cr8, QVMI_REGS_CR8),
	R(efer, QVMI_REGS_CR),
	R(gdt_base, QVMI_REGS_TABLES),
	R(gdt_limit, QVMI_REGS_TABLES),
	R(idt_base, QVMI_REGS_TABLES),
	R(idt_limit, QVMI_REGS_TABLES),
	R(dr0, QVMI_REGS_DR),
	R(dr1, QVMI_REGS_DR),
	R(dr2, QVMI_REGS_DR),
	R(dr3, QVMI_REGS_DR),
	R(dr6, QVMI_REGS_DR),
	R(dr7, QVMI_REGS_DR),
};
#undef R

/* A 32-bit vCPU's names for the first 18 (rax..r15, rip, rflags): r8..r15
 * do not exist there. */
static const char *const r32[] = {
	"eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp", NULL,
	NULL,  NULL,  NULL,  NULL,  NULL,  NULL,  NULL,	 "eip", "eflags",
};

QVMI_API int qvmi_regs_x86_get(const struct qvmi_regs_x86 *r, unsigned int i,
			       const char **name, uint64_t *value)
{
	const char *n;

	if (!r || !name || !value)
		return -EINVAL;
	if (i >= QVMI_ARRAY_SIZE(regs))
		return -ERANGE;
	if (!(r->valid & regs[i].valid))
		return -ENODATA;
	n = regs[i].name;
	if ((r->valid & QVMI_REGS_GPR32) && i < QVMI_ARRAY_SIZE(r32))
		n = r32[i];
	if (!n)
		return -ENODATA;
	*name = n;
	memcpy(value, (const char *)r + regs[i].off, sizeof(*value));
	return 0;
}
