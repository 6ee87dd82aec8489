/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvmid's TCP and vsock listeners for sessions (--session-tcp ADDR:PORT,
 * --session-vsock PORT): only when asked, and the session server always
 * authenticates over them.
 */
#ifndef QVMID_TCPSOCK_H
#define QVMID_TCPSOCK_H

#include <stdint.h>

#include "unixsock.h"

/*
 * Listen on "A.B.C.D:PORT" or "[IPv6]:PORT" (numeric hosts only: a
 * listener should not depend on DNS; PORT 0 picks a free port).
 * SO_REUSEADDR and TCP_NODELAY.  Returns a non-blocking, close-on-exec fd
 * and the bound port in *port; -EINVAL for a malformed address.
 */
int qvmid_tcp_listen(const char *addr, int backlog, const char *what,
		     qvmid_log_fn log, void *log_arg, int *fd, uint16_t *port);
/*
 * Listen on vsock port (VMADDR_PORT_ANY picks one) of every CID, by the
 * same code as TCP (no TCP options).  *bound gets the port.
 */
int qvmid_vsock_listen(uint32_t port, int backlog, const char *what,
		       qvmid_log_fn log, void *log_arg, int *fd,
		       uint32_t *bound);
/* TCP_NODELAY on an accepted socket; its peer as text ("?" if unknown). */
void qvmid_tcp_accepted(int fd, char *peer, size_t size);

#endif
