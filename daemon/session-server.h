/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvmid's session server (docs/PROTOCOL.md): one authenticated session at
 * a time on a unix socket, answering introspection commands from a libqvmi
 * ctx.  Like the pmemaccess server it runs in qvmid's one poll() loop
 * (prepare/dispatch) or alone (run/stop, for tests).
 */
#ifndef QVMID_SESSION_SERVER_H
#define QVMID_SESSION_SERVER_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "qvmi.h"
#include "unixsock.h"

struct qvmid_session_server;

/* Which commands and events a session may use, by message id. */
struct qvmid_session_policy {
	bool deny[256];
};

/* The documented defaults: every command but write-pa and set-regs,
 * every event. */
void qvmid_session_policy_init(struct qvmid_session_policy *p);
/*
 * Apply "--allow-command LIST" (allow, !event), "--deny-event LIST", ...:
 * LIST is comma-separated policy names or "all".  -ENOENT for an unknown
 * name (*bad points at it).
 */
int qvmid_session_policy_apply(struct qvmid_session_policy *p, const char *list,
			       bool allow, bool event, const char **bad);

struct qvmid_session_opts {
	/* Also (or only, with a NULL path) listen on TCP: "A.B.C.D:PORT" or
	 * "[IPv6]:PORT", numeric, PORT 0 for any free port.  NULL: no TCP. */
	const char *tcp_addr;
	/* Benchmarks and tests only, never from qvmid's command line: the
	 * TCP listener without TLS, to measure what TLS costs. */
	bool tcp_plain;
	/* Also listen on vsock port vsock_port (any CID; VMADDR_PORT_ANY
	 * picks one) when vsock is set.  Authenticated like TCP. */
	bool vsock;
	uint32_t vsock_port;
	/* Connect-out (docs/PROTOCOL.md "Transport"): dial a listening tool
	 * at "PATH", "unix:PATH", "tcp:A.B.C.D:PORT", "tcp:[v6]:PORT" or
	 * "vsock:CID:PORT" (numeric: a resolver call would block the loop),
	 * and dial again reconnect_interval_ms after each failed attempt or
	 * closed session (0: 1000), and soon after a guest reset.  NULL:
	 * none. */
	const char *connect_addr;
	int reconnect_interval_ms;
	/* The shared secret: key_path (checked: 0600/0400, >= 32 bytes), or
	 * key/key_len when key_path is NULL. */
	const char *key_path;
	const void *key;
	size_t key_len;
	struct qvmid_session_policy policy; /* zeroed: everything allowed */
	bool policy_set; /* false: use the defaults */
	/* Handshake + authentication must finish in this.  0: 5000. */
	int auth_timeout_ms;
	/* A reply the client does not read for this long closes it.
	 * 0: 10000. */
	int io_timeout_ms;
	/* Largest READ_PA/WRITE_PA; 0 or above 1 MiB: 1 MiB. */
	uint32_t max_transfer;
	/* How long an EV_UNHOOK waits for the tool's ack before qvmid
	 * removes the tool's hooks itself.  0: 5000. */
	int unhook_timeout_ms;
	/* QEMU's gdbstub socket: breakpoints, watchpoints, single-step
	 * (NULL: those commands answer EOPNOTSUPP). */
	const char *gdb_path;
	int gdb_fd; /* tests: a connected stub instead (with gdb_fd_set) */
	bool gdb_fd_set;
	/* How long a breakpoint/step/watchpoint event keeps the VM stopped
	 * waiting for EVENT_REPLY.  0: 2000. */
	int event_timeout_ms;
	/* How long a single-step may take before qvmid stops the vCPU and
	 * reports the step failed (EV_STEP, reason interrupt).  0: 1000. */
	int step_timeout_ms;
	/* Inserted breakpoints, for a restarted qvmid (NULL: none kept). */
	const char *ledger_path;
	qvmid_log_fn log; /* may be NULL */
	void *log_arg;
};

/* Listen on path (0600; stale sockets only are replaced) and/or on
 * opts->tcp_addr and vsock, and/or connect out to opts->connect_addr; at
 * least one (-EINVAL).  ctx is borrowed; only the thread that runs the
 * server uses it. */
int qvmid_session_server_create(struct qvmi_ctx *ctx, const char *path,
				const struct qvmid_session_opts *opts,
				struct qvmid_session_server **ret);
void qvmid_session_server_destroy(struct qvmid_session_server *s);
/* The bound TCP port (tcp_addr with port 0 picks one); 0: no TCP. */
uint16_t qvmid_session_server_tcp_port(const struct qvmid_session_server *s);
/* The bound vsock port; 0: no vsock listener. */
uint32_t qvmid_session_server_vsock_port(const struct qvmid_session_server *s);

/* Embedding in another poll() loop; same contract as the pmem server's. */
unsigned int qvmid_session_server_nfds(const struct qvmid_session_server *s);
nfds_t qvmid_session_server_prepare(struct qvmid_session_server *s,
				    struct pollfd *pfd, int64_t *next_ms);
void qvmid_session_server_dispatch(struct qvmid_session_server *s,
				   const struct pollfd *pfd);

/* Alone: serve until qvmid_session_server_stop() (async-signal-safe). */
int qvmid_session_server_run(struct qvmid_session_server *s);
void qvmid_session_server_stop(struct qvmid_session_server *s);

struct qvmid_session_stats {
	uint64_t accepted, refused_busy, auth_ok, auth_failed, bad_frames;
	uint64_t timeouts, requests, denied;
	uint64_t events_sent, events_denied, events_dropped;
	uint64_t unhooks, unhook_acks, unhook_timeouts, unhook_eofs;
	uint64_t event_timeouts; /* stops continued without a reply */
	uint64_t step_timeouts; /* steps qvmid had to stop */
	unsigned int breakpoints; /* inserted for the session */
	bool active; /* a session (authenticated or not) is open */
	bool hooked;
	unsigned int pause_count;
	/* connect-out: attempts started, connected, failed (refused, timed
	 * out, ...), sessions closed because of a guest reset */
	uint64_t out_attempts, out_connected, out_failed, out_resets;
	bool outbound; /* the open session is the one we dialled */
	/* TLS (TCP, vsock): handshakes done, handshakes failed (wrong key
	 * or identity, not TLS, timeout), records rejected afterwards
	 * (altered, replayed, reordered, spliced: the session closed). */
	uint64_t tls_ok, tls_failed, tls_bad_records;
};

/* ---- lifecycle (session-events.c) ---- */

/* Does the session hold hooks (lifecycle commands must wait)? */
bool qvmid_session_server_hooked(const struct qvmid_session_server *s);
/* A management client's stop (running false) or cont went to QEMU, or
 * waits to (the proxy calls this for both). */
void qvmid_session_server_mgmt_run(struct qvmid_session_server *s,
				   bool running);
/*
 * Ask the hooked tool to unhook (EV_UNHOOK with reason, enum
 * qvmi_unhook_reason), or join the round under way.  Returns a ticket for
 * qvmid_session_server_unhook_done(); the round ends on the tool's ack,
 * its EOF, or unhook_timeout.
 */
uint64_t qvmid_session_server_unhook(struct qvmid_session_server *s,
				     uint32_t reason);
bool qvmid_session_server_unhook_done(const struct qvmid_session_server *s,
				      uint64_t ticket);
/*
 * qvmid is exiting (SIGTERM/SIGINT): if the session is hooked, send the
 * tool EV_UNHOOK (reason QVMI_UNHOOK_QVMID_EXIT) and serve the session
 * alone until it acknowledges, closes or unhook_timeout passes; the
 * round's end removes every breakpoint and watchpoint.  The session stays
 * open: qvmid_session_server_destroy() then gives back its pauses (the VM
 * runs again if the session had paused it) and removes the ledger.
 */
int qvmid_session_server_shutdown(struct qvmid_session_server *s);
struct json_object;
/* A QMP event (from the proxy's tap; may run inside a session command,
 * so it only queues). */
void qvmid_session_server_qmp_event(struct qvmid_session_server *s,
				    struct json_object *msg);
void qvmid_session_server_stats(const struct qvmid_session_server *s,
				struct qvmid_session_stats *ret);

#endif
