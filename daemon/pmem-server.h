/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pmemaccess server (docs/PMEMACCESS.md): a unix socket serving LibVMI's
 * pmemaccess protocol from a libqvmi ctx.
 *
 * The thread that calls run() (or embeds prepare/dispatch in its loop:
 * qvmid's proxy) is the control thread, the only one that touches the
 * ctx, which is not thread-safe.  With opts.workers > 0, connections are
 * served by up to that many worker threads, one per connection while
 * there are enough (then they share, each an epoll loop over its share),
 * reading shared RAM from a snapshot of the map the control
 * thread publishes (pmem-snap.c); a request they cannot serve that way (a
 * write, a source that is no file) is handed to the control thread and
 * the connection comes back after it.  With 0 the control thread serves
 * every connection.  A client that stalls mid-request only costs its own
 * buffers; one that pipelines or reads big delays the others on its
 * thread by about one request's work per turn.
 */
#ifndef QVMID_PMEM_SERVER_H
#define QVMID_PMEM_SERVER_H

#include <poll.h>
#include <stdint.h>

#include "qvmi.h"
#include "unixsock.h"

struct qvmid_pmem_server;

/* qvmid's --pmem-workers when not given, and the most there may be */
#define QVMID_PMEM_WORKERS_DEFAULT 64u

struct qvmid_pmem_opts {
	/* Largest read/write; bigger requests close the connection.
	 * 0: 1 MiB. */
	uint64_t max_transfer;
	/* Connections beyond this are accepted and closed at once. 0: 1024 */
	unsigned int max_clients;
	/* Worker threads serving connections, started as connections come:
	 * each has its own until there are this many, then they share; 0:
	 * none, the control thread serves them (docs/PMEMACCESS.md).  At
	 * most 64. */
	unsigned int workers;
	/* Close a connection idle between requests this long; 0: never
	 * (LibVMI keeps one connection open for a whole session). */
	int idle_timeout_ms;
	/* Close a connection stalled mid-request (partial header or payload,
	 * or not reading its reply) this long.  0: 10000. */
	int io_timeout_ms;
	qvmid_log_fn log; /* may be NULL */
	void *log_arg;
};

/* Called when a watched fd is readable or hung up; < 0 stops the loop and
 * becomes qvmid_pmem_server_run()'s return value. */
typedef int (*qvmid_watch_fn)(int fd, short revents, void *arg);

/*
 * Create the socket at path (mode 0600).  An existing path is replaced only
 * if it is a stale socket (nobody accepts on it); anything else gives
 * -EADDRINUSE or -EEXIST.  ctx is borrowed and used only by the thread that
 * calls qvmid_pmem_server_run().  Raises RLIMIT_NOFILE's soft limit to the
 * hard limit.
 *
 * Big reads of shared RAM with holes are sent with sendfile(), which
 * raises SIGPIPE when a client leaves mid-reply, so the server uses it
 * only if SIGPIPE is ignored when it is created (qvmid ignores it, and it
 * must stay ignored); otherwise it copies them.  Pages the RAM file holds
 * go from its mapping by sendmsg(MSG_NOSIGNAL) either way.
 */
int qvmid_pmem_server_create(struct qvmi_ctx *ctx, const char *path,
			     const struct qvmid_pmem_opts *opts,
			     struct qvmid_pmem_server **ret);
/* Also poll fd (e.g. the QMP socket); at most 4 watches. */
int qvmid_pmem_server_watch(struct qvmid_pmem_server *s, int fd,
			    qvmid_watch_fn fn, void *arg);
/* Serve until qvmid_pmem_server_stop() (returns 0) or a watch fails.
 * Watches run on this thread, which may then use the ctx. */
int qvmid_pmem_server_run(struct qvmid_pmem_server *s);
/* Async-signal-safe and thread-safe: make run() return soon. */
void qvmid_pmem_server_stop(struct qvmid_pmem_server *s);
/* Close every connection and remove the socket file (if still ours). */
void qvmid_pmem_server_destroy(struct qvmid_pmem_server *s);

/*
 * Embedding in another poll() loop (qvmid's proxy loop runs several
 * servers and the QMP proxy in one thread).  Each turn: _prepare fills at
 * most _nfds() entries of pfd (returns the count), lowers *next_ms
 * (CLOCK_MONOTONIC ms) to the next deadline and sets *busy when some work
 * must not wait; then, after poll(), _dispatch with the same entries.
 */
unsigned int qvmid_pmem_server_nfds(const struct qvmid_pmem_server *s);
nfds_t qvmid_pmem_server_prepare(struct qvmid_pmem_server *s,
				 struct pollfd *pfd, int64_t *next_ms,
				 bool *busy);
void qvmid_pmem_server_dispatch(struct qvmid_pmem_server *s,
				const struct pollfd *pfd);
/* The ops for qvmid_proxy_add_service() (qmp-proxy.h): qvmid's loop runs
 * each server as a service, a peer of the QMP clients, the session and
 * KVMi; the proxy destroys it. */
struct qvmid_service_ops;
extern const struct qvmid_service_ops qvmid_pmem_service;
/* The socket path (as given). */
const char *qvmid_pmem_server_path(const struct qvmid_pmem_server *s);

struct qvmid_pmem_stats {
	uint64_t accepted, refused, closed_timeout, closed_too_big;
	uint64_t reads, writes, failed;
	uint64_t sendfile_bytes; /* read data sent straight from the RAM file */
	uint64_t mapped_bytes; /* read data sent from the RAM mapping */
	unsigned int clients; /* open now */
};
void qvmid_pmem_server_stats(const struct qvmid_pmem_server *s,
			     struct qvmid_pmem_stats *ret);

#endif
