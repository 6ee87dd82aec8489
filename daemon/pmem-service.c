// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A pmemaccess server as a service of qvmid's loop (struct
 * qvmid_service_ops, qmp-proxy.h), a peer of the session and KVMi: the
 * proxy polls its listener, its wake-up pipe and the connections its
 * workers handed back, and destroys it.
 */
#include "pmem-int.h"
#include "qmp-proxy.h"

static unsigned int svc_nfds(const void *svc)
{
	return qvmid_pmem_server_nfds(svc);
}

/* The service table has no "busy": buffered work is a deadline of now. */
static nfds_t svc_prepare(void *svc, struct pollfd *pfd, int64_t *next_ms)
{
	bool busy = false;
	nfds_t n = qvmid_pmem_server_prepare(svc, pfd, next_ms, &busy);

	if (busy)
		*next_ms = QVMI_MIN(*next_ms, pmem_now_ms());
	return n;
}

static void svc_dispatch(void *svc, const struct pollfd *pfd)
{
	qvmid_pmem_server_dispatch(svc, pfd);
}

static void svc_destroy(void *svc)
{
	qvmid_pmem_server_destroy(svc);
}

const struct qvmid_service_ops qvmid_pmem_service = {
	.name = "pmemaccess",
	.nfds = svc_nfds,
	.prepare = svc_prepare,
	.dispatch = svc_dispatch,
	.destroy = svc_destroy,
};
