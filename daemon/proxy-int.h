/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by qmp-proxy.c (loop, clients, forwarding) and proxy-cmds.c
 * (what the proxy answers itself). */
#ifndef QVMID_PROXY_INT_H
#define QVMID_PROXY_INT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "proxy-json.h"
#include "qmp-proxy.h"
#include "session-server.h"
#include "proto/qmp.h"
#include "unixsock.h"

enum {
	PROXY_PMEM_MAX = 16,
	PROXY_HELD_MAX = 64, /* lifecycle commands held at once */
	/* every pmemaccess server is one, and --kvmi-connect, ... */
	QVMID_PROXY_SERVICES = PROXY_PMEM_MAX + 4,
};

struct proxy_svc {
	const struct qvmid_service_ops *ops;
	void *svc;
};

struct pclient {
	int fd;
	struct proxy_json in; /* QEMU 7.2's reader, modelled */
	char *out; /* out[out_off, out_len) is unsent */
	size_t out_off, out_len, out_cap;
	bool negotiated, oob;
	bool dead; /* closed at the end of the loop turn */
	bool closing; /* close once the output is flushed */
	int64_t closing_deadline;
	bool runnable; /* buffered input may be ready to process */
	/* The one request forwarded to QEMU and not answered yet. */
	uint64_t wait_id; /* 0: none */
	char *wait_idtext; /* the client's own id as QEMU writes it; NULL:
			    * none */
	bool wait_qc; /* query-commands: add ours to QEMU's list */
	unsigned int nheld; /* its commands held for an unhook */
	/* fds that came (SCM_RIGHTS) with the read at stream offset
	 * fds_at: the message that read began goes with them. */
	int fds[QVMI_QMP_MAX_FDS];
	unsigned int nfds;
	uint64_t fds_at;
};

/* A lifecycle command waiting for the hooked session to unhook. */
struct held {
	struct pclient *c; /* NULL: its client left (still forwarded) */
	char *raw; /* the request, its id taken out: ours goes at slot */
	size_t len, slot;
	char *id; /* the client's id as QEMU writes it, or NULL */
	uint64_t ticket; /* qvmid_session_server_unhook_done() */
	bool ses_wait; /* the session was hooked: wait for ticket */
	/* each service's ticket; 0: it was not hooked */
	uint64_t svc_ticket[QVMID_PROXY_SERVICES];
};

struct qvmid_proxy {
	struct qvmi_ctx *ctx;
	struct qvmi_qmp *q;
	struct qvmid_proxy_opts o;
	struct qvmid_unix_listener l; /* fd -1: no QMP listener */
	int wake[2], spare_fd;
	struct pclient **cl;
	unsigned int ncl;
	/* The pmemaccess servers (for query-qvmi and retiring): services of
	 * the loop, in svc[] too, which owns them. */
	struct qvmid_pmem_server *pmem[PROXY_PMEM_MAX];
	bool pmem_once[PROXY_PMEM_MAX]; /* started by the command */
	unsigned int npmem;
	struct qvmid_session_server *session; /* NULL: none */
	struct proxy_svc svc[QVMID_PROXY_SERVICES]; /* --kvmi-connect, ... */
	unsigned int nsvc;
	struct pollfd *pfd;
	size_t pfd_cap;
	uint64_t next_id;
	/* Our requests at QEMU, oldest first, also those whose client
	 * left: QEMU answers a request it cannot parse with an error that
	 * has no id, and in order, so that error is the oldest's. */
	uint64_t *inflight;
	size_t ninflight, inflight_cap;
	bool greeting_oob; /* QEMU offers the oob capability */
	struct held held[PROXY_HELD_MAX]; /* in arrival order */
	unsigned int nheld;
	struct qvmid_proxy_stats st;
};

void qvmid_proxy_log(struct qvmid_proxy *p, enum qvmi_log_level lvl,
		     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Queue one message line (s has no line end) for c. */
void qvmid_pc_send(struct qvmid_proxy *p, struct pclient *c, const char *s,
		   size_t len);
/* {"return": ret, "id": id}; ret is JSON text, id raw JSON or NULL. */
void qvmid_pc_return(struct qvmid_proxy *p, struct pclient *c, const char *ret,
		     const char *id);
/* {"id": id, "error": {"class": cls, "desc": desc}} */
void qvmid_pc_error(struct qvmid_proxy *p, struct pclient *c, const char *id,
		    const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/*
 * Check a request's members as QEMU 7.2's qmp_dispatch_check_obj does;
 * on a problem, answer c with QEMU's error text and return false.
 */
bool qvmid_proxy_check_obj(struct qvmid_proxy *p, struct pclient *c,
			   struct json_object *req, const char *id);
/* qmp_capabilities before negotiation. */
void qvmid_proxy_capabilities(struct qvmid_proxy *p, struct pclient *c,
			      struct json_object *req, const char *id);
/* The commands qvmid adds: true if cmd is one (and it was answered). */
bool qvmid_proxy_local(struct qvmid_proxy *p, struct pclient *c,
		       const char *cmd, struct json_object *req,
		       const char *id);
/* Start a pmemaccess server; once: retire it after its first session. */
int qvmid_proxy_start_pmem(struct qvmid_proxy *p, const char *path, bool once);
/* Send a client's request to QEMU with our id put at tmpl[slot] (see
 * struct pj_msg); c NULL: nobody waits for the reply (its client left). */
void qvmid_proxy_forward(struct qvmid_proxy *p, struct pclient *c,
			 const char *cmd, const char *tmpl, size_t len,
			 size_t slot, const char *id);
/* Same with fds (taken in every case: sent with it, or closed). */
void qvmid_proxy_forward_fds(struct qvmid_proxy *p, struct pclient *c,
			     const char *cmd, const struct pj_msg *m, int *fds,
			     unsigned int nfds);

/* Listen where o.listen_path says: a path, or an inherited socket
 * (proxy-listen.c). */
int qvmid_proxy_listen(struct qvmid_proxy *p);
/* Remove servers the pmemaccess command started once their session is
 * over (proxy-cmds.c). */
void qvmid_proxy_retire_pmem(struct qvmid_proxy *p);
/* Take svc out of the loop and destroy it (qmp-proxy.c). */
void qvmid_proxy_remove_service(struct qvmid_proxy *p, void *svc);

/* ---- fds (proxy-fds.c) ---- */

void qvmid_proxy_close_fds(int *fds, unsigned int n);
/* Does QEMU 7.2 take fds with this command? */
bool qvmid_proxy_takes_fds(const char *cmd);
/* The fds that came with m's bytes, into fds (QVMI_QMP_MAX_FDS); now the
 * caller's. */
unsigned int qvmid_proxy_claim_fds(struct pclient *c, const struct pj_msg *m,
				   int *fds);
/* Keep the SCM_RIGHTS fds of a client's read (before its bytes are fed). */
void qvmid_proxy_client_fds(struct qvmid_proxy *p, struct pclient *c,
			    struct msghdr *mh);

/* ---- lifecycle interception (proxy-hold.c) ---- */

/* Hold cmd if it is a lifecycle command and the session is hooked:
 * true if held (or answered). */
bool qvmid_proxy_hold(struct qvmid_proxy *p, struct pclient *c, const char *cmd,
		      const struct pj_msg *m);
/* Must c's input wait for its held commands? */
bool qvmid_proxy_held_blocks(const struct qvmid_proxy *p,
			     const struct pclient *c);
/* Forward what the session's unhook has released. */
void qvmid_proxy_release(struct qvmid_proxy *p);
/* c is going away: its held commands stay, their replies are dropped. */
void qvmid_proxy_held_orphan(struct qvmid_proxy *p, struct pclient *c);
void qvmid_proxy_held_free(struct qvmid_proxy *p);
/* qvmid exits: each hooked service (KVMi) gets its UNHOOK round. */
void qvmid_proxy_svc_shutdown(struct qvmid_proxy *p);

/* Append qvmid's commands to a query-commands reply's text. */
int qvmid_proxy_add_commands(const char *raw, size_t len, char **ret,
			     size_t *ret_len);

#endif
