/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvmid's main loop: the QMP proxy (docs/QVMID.md) and every pmemaccess
 * server, in one thread over one poll().
 *
 * QEMU 7.2's -qmp socket serves one client at a time, and libqvmi (the
 * ctx's memory sources and control backend) already holds it, so the
 * proxy shares that connection: it sends its clients' commands through
 * qvmi__qmp_queue() with ids of its own and takes the replies and events
 * from the connection's tap, which also sees what arrives while libqvmi
 * waits for a reply of its own.
 */
#ifndef QVMID_QMP_PROXY_H
#define QVMID_QMP_PROXY_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "pmem-server.h"

struct qvmid_proxy;

struct qvmid_proxy_opts {
	/* QMP socket for management clients; NULL: none (pmemaccess
	 * only).  "fd:N" or "systemd[:NAME]": an inherited listening
	 * socket (qvmid_listen_spec), never unlinked. */
	const char *listen_path;
	unsigned int max_clients; /* 0: 64; more are accepted and closed */
	/* A client whose unsent output passes this (events it does not
	 * read) is disconnected.  0: 4 MiB. */
	size_t max_queue;
	size_t max_request; /* largest client message; 0: 1 MiB */
	/* Options of every pmemaccess server, also those started by the
	 * "pmemaccess" command. */
	struct qvmid_pmem_opts pmem;
	/* Lifecycle interception (docs/QVMID.md): while a session is
	 * hooked, stop/system_reset/migrate/quit/system_powerdown wait for
	 * the tool to unhook.  Meanwhile that client's other commands flow
	 * (async unhook) unless no_async_unhook; no_unhook_on_shutdown lets
	 * quit and system_powerdown through at once. */
	bool no_async_unhook;
	bool no_unhook_on_shutdown;
	qvmid_log_fn log; /* may be NULL */
	void *log_arg;
};

/*
 * What --listen-qmp names: 1 and *ret for an inherited listening socket
 * ("fd:N", or "systemd" / "systemd:NAME": LISTEN_FDS from fd first (3),
 * LISTEN_PID ours, LISTEN_FDNAMES to choose; without a name, the only fd
 * or the one named "qmp"), 0 for a path, or -errno with why filled.
 */
int qvmid_listen_spec(const char *spec, int first, int *ret, char *why,
		      size_t whylen);

/*
 * What --qmp names: "fd:M", a socket already connected to QEMU's monitor,
 * or a path, connected to now, retried for up to wait_ms (0: once) while
 * it is missing or refuses.  0 and *ret (the caller's), or -errno and why.
 */
int qvmid_qmp_connect(const char *spec, int wait_ms, int *ret, char *why,
		      size_t whylen);

/*
 * ctx must be attached over QMP (ctx->qmp); it is borrowed and used only
 * by the thread that calls qvmid_proxy_run().  Installs the QMP tap.
 */
int qvmid_proxy_create(struct qvmi_ctx *ctx, const struct qvmid_proxy_opts *o,
		       struct qvmid_proxy **ret);
/* Serve pmemaccess on path (also what the "pmemaccess" command does). */
int qvmid_proxy_add_pmem(struct qvmid_proxy *p, const char *path);
struct qvmid_session_opts;
/* qvmid exits on a signal: let a hooked session, then each hooked service
 * (KVMi's UNHOOK event), unhook first (up to its unhook timeout), then
 * remove what it set.  Before destroy. */
void qvmid_proxy_shutdown(struct qvmid_proxy *p);
/* Serve the session protocol on path (docs/PROTOCOL.md); at most one. */
int qvmid_proxy_add_session(struct qvmid_proxy *p, const char *path,
			    const struct qvmid_session_opts *o);
/*
 * A front-end served in the proxy's loop as a peer of the QMP clients,
 * pmemaccess and the session (issue 16 item 6: the loop is a small table
 * of services).  prepare fills up to nfds() pollfds and lowers *next_ms
 * to its next deadline; dispatch gets the same pollfds back; qmp_event
 * (may be NULL) sees each QMP event and must only queue, since it may run
 * inside another service's command.  The proxy destroys it.
 */
struct json_object;
struct qvmid_service_ops {
	const char *name;
	unsigned int (*nfds)(const void *svc);
	nfds_t (*prepare)(void *svc, struct pollfd *pfd, int64_t *next_ms);
	void (*dispatch)(void *svc, const struct pollfd *pfd);
	void (*qmp_event)(void *svc, struct json_object *msg);
	void (*destroy)(void *svc);
	/* Lifecycle interception (proxy-hold.c), all three or none: is a
	 * tool hooked; ask it to unhook (enum qvmi_unhook_reason) and get a
	 * ticket; is that round over (ack, EOF or timeout)? */
	bool (*hooked)(const void *svc);
	uint64_t (*unhook)(void *svc, uint32_t reason);
	bool (*unhook_done)(const void *svc, uint64_t ticket);
	/* A management client's stop (running false) or cont went to QEMU
	 * or waits to (may be NULL). */
	void (*mgmt_run)(void *svc, bool running);
};
/* At most QVMID_PROXY_SERVICES; -ENOSPC beyond. */
int qvmid_proxy_add_service(struct qvmid_proxy *p,
			    const struct qvmid_service_ops *ops, void *svc);
/* Serve until qvmid_proxy_stop() (0) or QEMU goes away (-EPIPE). */
int qvmid_proxy_run(struct qvmid_proxy *p);
/* Async-signal-safe and thread-safe: make run() return soon. */
void qvmid_proxy_stop(struct qvmid_proxy *p);
/* Close every client and server, remove the sockets, remove the tap. */
void qvmid_proxy_destroy(struct qvmid_proxy *p);

struct qvmid_proxy_stats {
	unsigned int clients, pmem_servers;
	uint64_t accepted, refused, forwarded, events, discarded, dropped_slow;
	uint64_t held, released; /* lifecycle commands held for an unhook */
	unsigned int holding; /* held now */
};
void qvmid_proxy_stats(const struct qvmid_proxy *p,
		       struct qvmid_proxy_stats *ret);

#endif
