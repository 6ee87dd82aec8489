/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What qvmid tells tools about the VM's identity (session info, the KVMi
 * handshake): one parser of QEMU's uuid, one start time. */
#ifndef QVMID_VMIDENT_H
#define QVMID_VMIDENT_H

#include <stdint.h>

/* "01234567-89ab-..." (query-uuid) to 16 bytes; all zero if it does not
 * parse as 32 hex digits (dashes anywhere). */
void qvmid_uuid_bytes(const char *s, uint8_t out[16]);
/* When process pid started, ns since the epoch: /proc/PID/stat field 22
 * (clock ticks after boot) plus /proc/stat's btime; 0 if unknown. */
uint64_t qvmid_process_start_ns(int pid);

#endif
