/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kvm_sregs segments and tables from HMP "info registers" (kvmi-sregs.c). */
#ifndef QVMI_PROTO_KVMI_SREGS_H
#define QVMI_PROTO_KVMI_SREGS_H

#include <linux/kvm.h>

#include "core/base.h"

/*
 * Fill ret's eight segments, gdt and idt from vCPU cpu's block of "info
 * registers" or "info registers -a" text; everything else in ret is
 * zeroed (control registers, EFER and the rest come from the caller).
 * -ENOENT: no such vCPU block; -EBADMSG: a line is malformed or one of
 * the ten is missing.
 */
QVMI_HIDDEN int qvmi__kvmi_parse_sregs(const char *text, unsigned int cpu,
				       struct kvm_sregs *ret);

#endif
