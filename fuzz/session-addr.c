// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Session transport addresses (qvmid --session-connect, the libqvmi
 * listener, qvmi_session_open "vsock:..."): arbitrary text, the first
 * byte picks the flags.  Oracles: an accepted address has a family that
 * matches its kind, a NUL-terminated unix path that fits sun_path, a
 * vsock CID "any" only when listening, and a numeric TCP host whenever
 * the flags ask for one.  No name is ever resolved (AI_NUMERICHOST).
 */
#include <linux/vm_sockets.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "proto/session-addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
	if (!cond)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char spec[512];
	struct qvmi_ses_addr a;
	const char *why = NULL;
	unsigned int flags;
	int err;

	if (!size || size > sizeof(spec))
		return 0;
	flags = data[0] & (QVMI_SES_ADDR_LISTEN | QVMI_SES_ADDR_NUMERIC);
	memcpy(spec, data + 1, size - 1);
	spec[size - 1] = '\0';
	err = qvmi__ses_addr_parse(spec, flags, &a, &why);
	if (err) {
		must(err == -EINVAL || err == -ENAMETOOLONG);
		must(why != NULL);
		return 0;
	}
	if (a.kind == QVMI_SES_UNIX) {
		const struct sockaddr_un *sun = (const void *)&a.ss;

		must(a.ss.ss_family == AF_UNIX && a.resolved);
		must(memchr(sun->sun_path, 0, sizeof(sun->sun_path)) != NULL);
		must(sun->sun_path[0] != '\0');
	} else if (a.kind == QVMI_SES_VSOCK) {
		const struct sockaddr_vm *svm = (const void *)&a.ss;

		must(a.ss.ss_family == AF_VSOCK && a.resolved);
		must(svm->svm_port != VMADDR_PORT_ANY);
		must(svm->svm_cid != VMADDR_CID_ANY ||
		     (flags & QVMI_SES_ADDR_LISTEN));
	} else {
		must(a.kind == QVMI_SES_TCP);
		must(memchr(a.host, 0, sizeof(a.host)) && a.host[0]);
		must(atoi(a.port) <= 65535);
		must(a.resolved || !flags);
		must(!a.resolved || a.ss.ss_family == AF_INET ||
		     a.ss.ss_family == AF_INET6);
	}
	return 0;
}
