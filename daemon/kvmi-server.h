/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvmid's KVMi front-end (docs/KVMI.md): the VM side of the protocol that
 * libkvmi and LibVMI's KVM driver speak, on stock QEMU.  As in the QEMU
 * RFC, qvmid dials the tool's listening socket (unix or vsock), sends the
 * handshake, and then answers the kernel's introspection messages from a
 * libqvmi ctx.  It runs in qvmid's poll loop as a service of the QMP
 * proxy (qvmid_proxy_add_service), or alone (run/stop, for tests).
 */
#ifndef QVMID_KVMI_SERVER_H
#define QVMID_KVMI_SERVER_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "qvmi.h"
#include "unixsock.h"

struct qvmid_kvmi;
struct json_object;

enum { QVMID_KVMI_IDS = 64, QVMID_KVMI_EVENTS = 16 };

struct qvmid_kvmi_opts {
	/* The tool's listener: "PATH", "unix:PATH" or "vsock:CID:PORT". */
	const char *connect_addr;
	int reconnect_ms; /* between attempts and after a close; 0: 1000 */
	bool v12; /* the 104-byte handshake with max_gpa */
	/* Compare the tool's cookie with SHA-1 of this file's bytes (0600 or
	 * 0400); NULL: no check, as the RFC without a key. */
	const char *key_path;
	/* The tool must answer the handshake within this; 0: 10000. */
	int handshake_timeout_ms;
	/* A tool that does not read its replies for this long is dropped;
	 * 0: 10000. */
	int io_timeout_ms;
	/* Allow-lists by id (the RFC's command=ID / event=ID): when set, a
	 * command or event not listed answers -KVM_EPERM.  GET_VERSION,
	 * CHECK_COMMAND, CHECK_EVENT and EVENT_REPLY are always allowed, as
	 * in the kernel. */
	bool cmd_list_set, ev_list_set;
	bool cmd_allowed[QVMID_KVMI_IDS], ev_allowed[QVMID_KVMI_EVENTS];
	/* Accept controls of events stock QEMU cannot produce (CR, MSR, PF,
	 * ...): logged once per command, never fired.  false: -EOPNOTSUPP. */
	bool accept_unsupported;
	/* GET_REGISTERS asking for an MSR stock QEMU does not show (STAR,
	 * LSTAR, CSTAR, SYSENTER_*, PAT): false answers -KVM_EINVAL as the
	 * kernel does for an MSR it cannot read; true answers 0 for it,
	 * logged once (docs/KVMI.md). */
	bool unknown_msr_zero;
	/* QEMU's gdbstub socket: BREAKPOINT and SINGLESTEP events (NULL:
	 * those answer -EOPNOTSUPP).  Not together with the session's. */
	const char *gdb_path;
	/* After the UNHOOK event (a held stop, reset, migrate, quit or
	 * powerdown, with CONTROL_VM_EVENTS(UNHOOK) on), wait this long for
	 * the tool to close before closing it ourselves; 0: 60000 (the
	 * RFC's unhook_timeout). */
	int unhook_timeout_ms;
	qvmid_log_fn log; /* may be NULL */
	void *log_arg;
};

/* Parse "ID,ID,..." (decimal ids below max) into allowed[]. */
int qvmid_kvmi_parse_ids(const char *list, bool *allowed, unsigned int max);

/* Load the key file (refused when group/other may read or write it) and
 * hash it: SHA-1 through OpenSSL's libcrypto. */
int qvmid_kvmi_key_hash(const char *path, uint8_t hash[20], qvmid_log_fn log,
			void *log_arg);
/* SHA-1 of len bytes (the tests use it to build cookies). */
void qvmid_kvmi_sha1(const void *buf, size_t len, uint8_t hash[20]);

/* ctx is borrowed; only the thread that runs the server uses it. */
int qvmid_kvmi_create(struct qvmi_ctx *ctx, const struct qvmid_kvmi_opts *o,
		      struct qvmid_kvmi **ret);
void qvmid_kvmi_destroy(struct qvmid_kvmi *k);

/* Embedding in another poll() loop. */
unsigned int qvmid_kvmi_nfds(const struct qvmid_kvmi *k);
nfds_t qvmid_kvmi_prepare(struct qvmid_kvmi *k, struct pollfd *pfd,
			  int64_t *next_ms);
void qvmid_kvmi_dispatch(struct qvmid_kvmi *k, const struct pollfd *pfd);
/* A QMP event from the proxy's tap: RESET closes the connection and
 * redials (the RFC's QEMU reconnects after a guest reset). */
void qvmid_kvmi_qmp_event(struct qvmid_kvmi *k, struct json_object *msg);

/* Lifecycle interception (the QMP proxy's hold, proxy-hold.c). */
bool qvmid_kvmi_hooked(const struct qvmid_kvmi *k);
uint64_t qvmid_kvmi_unhook(struct qvmid_kvmi *k, uint32_t reason);
bool qvmid_kvmi_unhook_done(const struct qvmid_kvmi *k, uint64_t ticket);

/* Alone: serve until qvmid_kvmi_stop() (async-signal-safe). */
int qvmid_kvmi_run(struct qvmid_kvmi *k);
void qvmid_kvmi_stop(struct qvmid_kvmi *k);

struct qvmid_kvmi_stats {
	uint64_t attempts, connected, handshakes, bad_cookie, bad_frames;
	uint64_t timeouts, requests, denied, unsupported, events, replies;
	uint64_t resets, unhooks, unhook_timeouts;
	bool ready; /* handshake done, serving */
	bool paused; /* the VM is stopped for this connection */
};
void qvmid_kvmi_stats(const struct qvmid_kvmi *k, struct qvmid_kvmi_stats *ret);

/* ---- qvmid's command line (kvmi-opts.c) ---- */

enum { QVMID_KVMI_OPT_BASE = 0x4b00 };

/* Entries for qvmid's getopt_long table; their codes start at
 * QVMID_KVMI_OPT_BASE. */
/* clang-format off */
#define QVMID_KVMI_LONGOPTS \
	{ "kvmi-connect", required_argument, NULL, QVMID_KVMI_OPT_BASE + 0 }, \
	{ "kvmi-reconnect", required_argument, NULL, QVMID_KVMI_OPT_BASE + 1 }, \
	{ "kvmi-handshake", required_argument, NULL, QVMID_KVMI_OPT_BASE + 2 }, \
	{ "kvmi-key", required_argument, NULL, QVMID_KVMI_OPT_BASE + 3 }, \
	{ "kvmi-handshake-timeout", required_argument, NULL, QVMID_KVMI_OPT_BASE + 4 }, \
	{ "kvmi-unsupported", required_argument, NULL, QVMID_KVMI_OPT_BASE + 5 }, \
	{ "kvmi-unknown-msr", required_argument, NULL, QVMID_KVMI_OPT_BASE + 6 }, \
	{ "kvmi-commands", required_argument, NULL, QVMID_KVMI_OPT_BASE + 7 }, \
	{ "kvmi-events", required_argument, NULL, QVMID_KVMI_OPT_BASE + 8 }, \
	{ "kvmi-unhook-timeout", required_argument, NULL, QVMID_KVMI_OPT_BASE + 9 }
/* clang-format on */

struct qvmid_kvmi_args {
	struct qvmid_kvmi_opts o;
	char *connect, *key; /* absolute unix paths: qvmid may chdir("/") */
};

/* One of the options above: 0, or -EINVAL after a message on stderr. */
int qvmid_kvmi_option(struct qvmid_kvmi_args *a, int code, const char *arg);
void qvmid_kvmi_args_free(struct qvmid_kvmi_args *a);
extern const char qvmid_kvmi_usage[];

/* The ops for qvmid_proxy_add_service(). */
struct qvmid_service_ops;
extern const struct qvmid_service_ops qvmid_kvmi_service;

#endif
