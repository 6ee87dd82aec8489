/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Parsers for HMP text output.  The formats differ between QEMU versions
 * (checked on 7.2), so every parser is defensive: malformed text gives
 * -EBADMSG, never a crash.  Pure functions, fuzzed in fuzz/.
 */
#ifndef QVMI_PROTO_HMP_H
#define QVMI_PROTO_HMP_H

#include <stddef.h>
#include <stdint.h>

#include "core/base.h"

struct qvmi_mtree_range {
	uint64_t start;
	uint64_t last; /* inclusive */
	char kind[16]; /* "ram", "rom", "romd", "i/o", ... */
	char name[64]; /* memory region name, e.g. "pc.ram", "ram0" */
	uint64_t offset; /* "@offset" into the region; 0 when absent */
	int prio;
};

/* The flat view of address space "memory" from "info mtree -f".
 * *ret is malloc'd. */
QVMI_HIDDEN int qvmi__hmp_parse_mtree(const char *text,
				      struct qvmi_mtree_range **ret,
				      size_t *nret);
/* "info registers -a": one struct per "CPU#N" block, indexed by N, up to
 * max.  *nret = number of vCPUs seen. */
QVMI_HIDDEN int qvmi__hmp_parse_registers(const char *text,
					  struct qvmi_regs_x86 *ret, size_t max,
					  size_t *nret);
/* The block of vCPU cpu in "info registers -a" or "info registers N"
 * output (text without a "CPU#" header counts as vCPU 0).  -ENOENT if
 * that vCPU is not in the text. */
QVMI_HIDDEN int qvmi__hmp_parse_registers_cpu(const char *text,
					      unsigned int cpu,
					      struct qvmi_regs_x86 *ret);
/* The segment lines ("CS =0010 0000000000000000 ffffffff 00af9b00",
 * "LDT=", "TR =": selector, base, limit, flags) of vCPU cpu's block, as
 * for qvmi__hmp_parse_registers_cpu.  -EBADMSG unless all eight are there. */
QVMI_HIDDEN int qvmi__hmp_parse_segs_cpu(const char *text, unsigned int cpu,
					 struct qvmi__segs *ret);
/* "gpa2hva ADDR": "Host virtual address for 0x... (pc.ram) is 0x...";
 * -EFAULT for "Memory at address 0x... is not RAM". */
QVMI_HIDDEN int qvmi__hmp_parse_gpa2hva(const char *text, uint64_t *ret);
/* "xp /Nxb ADDR" output: fills exactly len bytes starting at addr. */
QVMI_HIDDEN int qvmi__hmp_parse_xp(const char *text, uint64_t addr,
				   uint8_t *buf, size_t len);
/* Same; *done = bytes filled before an error.  "Cannot access memory"
 * gives -EFAULT at addr + *done. */
QVMI_HIDDEN int qvmi__hmp_parse_xp_partial(const char *text, uint64_t addr,
					   uint8_t *buf, size_t len,
					   size_t *done);

#endif
