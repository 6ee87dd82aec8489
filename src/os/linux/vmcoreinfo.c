// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VMCOREINFO: the text a kernel with CONFIG_CRASH_CORE publishes about
 * itself for dump tools (kernel/crash_core.c, arch/x86/kernel/
 * machine_kexec_64.c), "KEY=VALUE\n" lines such as OSRELEASE=6.1.0-56-amd64,
 * SYMBOL(_stext)=ffffffff86e00000 (runtime, hex), NUMBER(phys_base)=
 * 136314880 (a long, in decimal: it may be negative) and KERNELOFFSET=
 * 5e00000 (hex).  QEMU's
 * dump-guest-memory copies it into the ELF core when the VM has
 * -device vmcoreinfo and the guest's fw_cfg driver handed it over.
 * The text comes from the dump file: every line is bounded by the text,
 * which the dump layer NUL-terminates (at most 1 MiB).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-int.h"

int qvmi__vmci_str(const char *text, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);

	if (!klen)
		return -EINVAL;
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len > klen && !memcmp(p, key, klen) && p[klen] == '=') {
			len -= klen + 1;
			if (len >= size)
				return -ENAMETOOLONG;
			memcpy(buf, p + klen + 1, len);
			buf[len] = '\0';
			return 0;
		}
		p = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

int qvmi__vmci_u64(const char *text, const char *key, int base, uint64_t *ret)
{
	char v[32], *end;
	unsigned long long x;
	int err = qvmi__vmci_str(text, key, v, sizeof(v));

	if (err)
		return err;
	/* strtoull takes a sign and white space: neither is VMCOREINFO's */
	if (!(base == 16 ? isxdigit((unsigned char)v[0]) :
			   isdigit((unsigned char)v[0])))
		return -EBADMSG;
	errno = 0;
	x = strtoull(v, &end, base);
	if (errno || *end)
		return -EBADMSG;
	*ret = x;
	return 0;
}

int qvmi__vmci_num(const char *text, const char *key, int64_t *ret)
{
	char v[32], *end;
	long long x;
	int err = qvmi__vmci_str(text, key, v, sizeof(v));

	if (err)
		return err;
	if (!isdigit((unsigned char)(v[0] == '-' ? v[1] : v[0])))
		return -EBADMSG;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || *end)
		return -EBADMSG;
	*ret = x;
	return 0;
}
