/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by qmp-proxy.c (loop, clients, forwarding) and proxy-cmds.c
 * (what the proxy answers itself). */
#ifndef QVMID_PROXY_INT_H
#define QVMID_PROXY_INT_H

#include <json-c/json.h>
#include <stdbool.h>

#include "qmp-proxy.h"
#include "session-server.h"
#include "proto/qmp.h"
#include "unixsock.h"

enum {
	PROXY_PMEM_MAX = 16,
	PROXY_HELD_MAX = 64, /* lifecycle commands held at once */
	QVMID_PROXY_SERVICES = 4,
};

struct proxy_svc {
	const struct qvmid_service_ops *ops;
	void *svc;
};

struct pclient {
	int fd;
	struct qvmi_json_stream in;
	char *out; /* out[out_off, out_len) is unsent */
	size_t out_off, out_len, out_cap;
	bool negotiated, oob;
	bool dead; /* closed at the end of the loop turn */
	bool closing; /* close once the output is flushed */
	int64_t closing_deadline;
	bool runnable; /* buffered input may be ready to process */
	/* The one request forwarded to QEMU and not answered yet. */
	uint64_t wait_id; /* 0: none */
	char *wait_idtext; /* the client's own id, raw JSON; NULL: none */
	bool wait_qc; /* query-commands: add ours to QEMU's list */
	unsigned int nheld; /* its commands held for an unhook */
};

/* A lifecycle command waiting for the hooked session to unhook. */
struct held {
	struct pclient *c; /* NULL: its client left (still forwarded) */
	char *raw; /* the request as received */
	size_t len;
	char *id; /* the client's id, raw JSON, or NULL */
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
	struct qvmid_pmem_server *pmem[PROXY_PMEM_MAX];
	bool pmem_once[PROXY_PMEM_MAX]; /* started by the command */
	unsigned int npmem;
	struct qvmid_session_server *session; /* NULL: none */
	struct proxy_svc svc[QVMID_PROXY_SERVICES]; /* --kvmi-connect, ... */
	unsigned int nsvc;
	struct pollfd *pfd;
	size_t pfd_cap;
	uint64_t next_id;
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
/* Send a client's request to QEMU with our id; c NULL: nobody waits for
 * the reply (its client left). */
void qvmid_proxy_forward(struct qvmid_proxy *p, struct pclient *c,
			 const char *cmd, const char *raw, size_t len,
			 const char *id);

/* ---- lifecycle interception (proxy-hold.c) ---- */

/* Hold cmd if it is a lifecycle command and the session is hooked:
 * true if held (or answered). */
bool qvmid_proxy_hold(struct qvmid_proxy *p, struct pclient *c, const char *cmd,
		      const char *raw, size_t len, const char *id);
/* Must c's input wait for its held commands? */
bool qvmid_proxy_held_blocks(const struct qvmid_proxy *p,
			     const struct pclient *c);
/* Forward what the session's unhook has released. */
void qvmid_proxy_release(struct qvmid_proxy *p);
/* c is going away: its held commands stay, their replies are dropped. */
void qvmid_proxy_held_orphan(struct qvmid_proxy *p, struct pclient *c);
void qvmid_proxy_held_free(struct qvmid_proxy *p);

/* Append qvmid's commands to a query-commands reply's text. */
int qvmid_proxy_add_commands(const char *raw, size_t len, char **ret,
			     size_t *ret_len);

#endif
