// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * SCM_RIGHTS fds through the QMP proxy (docs/QVMID.md, "File
 * descriptors"): what a client passes, and which of its commands takes it.
 */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy-int.h"

void qvmid_proxy_close_fds(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		close(fds[i]);
}

/* QEMU 7.2 takes SCM_RIGHTS fds from its chardev in getfd and add-fd only
 * (qemu_chr_fe_get_msgfd); the rest stay in the chardev until a later one
 * takes them.  The proxy's chardev is shared by every client, so fds go
 * to QEMU only with a command that takes them: elsewhere another client's
 * getfd would get them. */
bool qvmid_proxy_takes_fds(const char *cmd)
{
	return cmd && (!strcmp(cmd, "getfd") || !strcmp(cmd, "add-fd"));
}

/* The fds that came with m's bytes (the read that began it or one in
 * it), now c's no more. */
unsigned int qvmid_proxy_claim_fds(struct pclient *c, const struct pj_msg *m,
				   int *fds)
{
	unsigned int n = c->nfds;

	if (!n || m->end <= c->fds_at)
		return 0;
	memcpy(fds, c->fds, n * sizeof(int));
	c->nfds = 0;
	return n;
}

/* SCM_RIGHTS fds that came with a read.  As QEMU 7.2's chardev does
 * (tcp_chr_recv), new fds replace any the client sent before and no
 * command took. */
void qvmid_proxy_client_fds(struct qvmid_proxy *p, struct pclient *c,
			    struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm;
	     cm = CMSG_NXTHDR(mh, cm)) {
		size_t n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		qvmid_proxy_close_fds(c->fds, c->nfds);
		c->nfds = 0;
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			       sizeof(fd));
			if (c->nfds < QVMI_QMP_MAX_FDS)
				c->fds[c->nfds++] = fd;
			else
				close(fd);
		}
		c->fds_at = pj_fed(&c->in);
	}
	if (mh->msg_flags & MSG_CTRUNC)
		qvmid_proxy_log(p, QVMI_LOG_WARN,
				"qmp-proxy: a client passed more than %d fds: "
				"the rest were dropped",
				QVMI_QMP_MAX_FDS);
}
