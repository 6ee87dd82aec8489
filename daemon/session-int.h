/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by session-server.c (sockets, handshake, loop) and session-cmds.c
 * (what an authenticated session can ask). */
#ifndef QVMID_SESSION_INT_H
#define QVMID_SESSION_INT_H

#include "proto/session-auth.h"
#include "proto/session-tls.h"
#include "proto/session-wire.h"
#include "proto/gdb.h"
#include "session-server.h"
#include "tcpsock.h"

struct sconn {
	int fd;
	/* TCP and vsock: TLS under the frames; NULL on unix sockets.  No
	 * frame moves before tls_up. */
	struct qvmi_ses_tls *tls;
	bool tls_up;
	short tls_events; /* what the handshake waits for */
	int stage; /* 0: want HELLO, 1: want AUTH, 2: authenticated */
	uint32_t next_seq;
	int64_t auth_deadline;
	int64_t out_deadline; /* while output is pending */
	bool closing; /* close once the output is flushed */
	uint8_t *in; /* header + payload of the frame being read */
	size_t in_len, in_cap;
	uint8_t *out; /* out[out_off, out_len) unsent */
	size_t out_off, out_len, out_cap;
	uint8_t transcript[QVMI_SES_TRANSCRIPT];
	size_t tlen;
	unsigned int pause_count;
	bool was_paused; /* the VM was paused by someone else at our first
			  * pause: the last resume leaves it paused */
	bool hooked; /* lifecycle commands wait for an unhook */
	bool hook_cmd; /* hooked by HOOK, not only by breakpoints */
	uint32_t ev_seq; /* last event sent */
	uint32_t unhook_seq; /* the EV_UNHOOK being waited for; 0: none */
	int64_t unhook_deadline;
	bool outbound; /* we dialled it (connect-out) */
};

enum { SES_EVQ = 64 }; /* events waiting to be framed */

struct ses_ev {
	uint16_t msg;
	uint16_t len;
	uint8_t p[QVMI_SES_EV_CPU_SIZE];
};

enum { SES_MAX_BPS = 256 };

struct ses_bp {
	uint32_t kind; /* enum qvmi_bp_kind */
	uint32_t len;
	uint64_t addr;
};

struct qvmid_session_server {
	struct qvmi_ctx *ctx;
	struct qvmid_unix_listener l; /* l.fd -1: TCP only */
	int tcp_fd; /* --session-tcp, or -1 */
	uint16_t tcp_port;
	int vsock_fd; /* --session-vsock, or -1 */
	uint32_t vsock_port;
	struct qvmid_ses_out *out; /* --session-connect, or NULL */
	struct qvmid_session_opts o;
	struct qvmi_ses_key key;
	struct sconn *c; /* the one session, or NULL */
	int wake[2]; /* run()/stop() only */
	struct qvmid_session_stats st;
	/* Events are queued, then framed at safe points: the QMP tap that
	 * produces them may run inside a command (a pause waits for QEMU)
	 * whose reply is half built in the output buffer. */
	struct ses_ev evq[SES_EVQ];
	unsigned int nev;
	/* Unhook rounds: ticket gen_req is done once gen_done reaches it. */
	uint64_t gen_req, gen_done;
	/* STOP/RESUME events our own pause/resume cause are not reported;
	 * QEMU 7.2 sends them before the command's reply. */
	unsigned int own_stop, own_resume;
	int64_t own_deadline;
	/* Breakpoints (session-bp.c): the gdbstub is ctx's control backend
	 * when --gdb was given, else NULL. */
	struct qvmi_gdb *gdb;
	struct ses_bp bps[SES_MAX_BPS];
	unsigned int nbps;
	bool stop_wait; /* the VM waits for EVENT_REPLY to stop_seq */
	uint32_t stop_seq;
	int64_t stop_deadline;
	struct qvmi_stop stop;
	/* A STEP (or EVENT_REPLY step) is out: EV_STEP follows when the
	 * stub's stop reply comes, or after step_deadline (then qvmid stops
	 * the vCPU itself and reports the step failed). */
	bool stepping;
	unsigned int step_vcpu;
	int64_t step_deadline;
	/* A guest reset came (QMP RESET): re-insert the breakpoints from
	 * the loop once no step is out (bp_reverify in session-bp.c). */
	bool reset_verify;
	bool ledger_paused; /* as last written */
	bool ledger_exists;
};

void qvmid_ses_log(struct qvmid_session_server *s, enum qvmi_log_level lvl,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Queue a frame on the session; false if out of memory. */
bool qvmid_ses_send(struct qvmid_session_server *s, uint8_t flags, uint16_t msg,
		    uint32_t seq, uint32_t error, const void *payload,
		    size_t len);
/* Room for a reply payload of len bytes at the end of the output queue,
 * header included: fill it and call qvmid_ses_commit(). */
uint8_t *qvmid_ses_reserve(struct qvmid_session_server *s, size_t len);
void qvmid_ses_commit(struct qvmid_session_server *s, uint16_t msg,
		      uint32_t seq, size_t len);

/* Answer one valid, authenticated request. */
void qvmid_ses_command(struct qvmid_session_server *s,
		       const struct qvmi_ses_hdr *h, const uint8_t *p);
/* Fill the VM info block from the ctx and the policy. */
void qvmid_ses_vm_info(struct qvmid_session_server *s,
		       struct qvmi_ses_info *ret);
/* The session ends: give back the pauses it still holds. */
void qvmid_ses_release_pauses(struct qvmid_session_server *s);

int64_t qvmid_ses_now_ms(void);
/* HOOK and UNHOOK_ACK requests (session-events.c). */
void qvmid_ses_hook_cmd(struct qvmid_session_server *s,
			const struct qvmi_ses_hdr *h, const uint8_t *p);
/* End the unhook round (ack, EOF, timeout): drop every hook. */
void qvmid_ses_unhook_done(struct qvmid_session_server *s, const char *why);
/* Frame the queued events (not inside a command). */
void qvmid_ses_flush_events(struct qvmid_session_server *s);
/* Our own pause/resume is about to reach the VM. */
void qvmid_ses_expect_own(struct qvmid_session_server *s, bool stop);

/* ---- connect-out (session-out.c) ---- */

/* Dial opts->connect_addr from the loop; -EINVAL for a bad address. */
int qvmid_ses_out_create(struct qvmid_session_server *s, const char *addr);
void qvmid_ses_out_destroy(struct qvmid_session_server *s);
/* Start a due attempt; the pending connect's pollfd and deadlines. */
void qvmid_ses_out_prepare(struct qvmid_session_server *s, struct pollfd *pfd,
			   int64_t *next_ms);
/* Finish a pending connect: the socket becomes the session. */
void qvmid_ses_out_dispatch(struct qvmid_session_server *s,
			    const struct pollfd *pfd);
/* The dialled session closed: dial again after the interval (after a
 * short settle time when a reset closed it). */
void qvmid_ses_out_closed(struct qvmid_session_server *s);
/* A guest reset (QMP RESET): re-establish a dialled session. */
void qvmid_ses_out_reset(struct qvmid_session_server *s);
/* Must the dialled session close for a reset?  Its output (EV_RESET) is
 * flushed as far as the socket takes it. */
bool qvmid_ses_out_check_reset(struct qvmid_session_server *s);
/* A connected socket becomes the session (server side of the protocol
 * whichever side connected), under TLS unless tls is NONE (identity: the
 * PSK identity a TLS client sends); false if refused (it is closed). */
bool qvmid_ses_conn_start(struct qvmid_session_server *s, int fd,
			  const char *peer, bool outbound,
			  enum qvmi_ses_tls_mode tls, const char *identity);
/* Like send() on the session's stream (through TLS if it has it): > 0,
 * -EAGAIN, or another negative errno (the session must close). */
ssize_t qvmid_ses_conn_send(struct sconn *c, const void *buf, size_t len);

/* ---- breakpoints (session-bp.c) ---- */

/* Attach the gdbstub (o.gdb_path), clean up after a qvmid that died
 * (o.ledger_path), leave the VM running unless it was paused. */
int qvmid_ses_bp_init(struct qvmid_session_server *s);
void qvmid_ses_bp_fini(struct qvmid_session_server *s);
/* BP_SET, BP_CLEAR, STEP, EVENT_REPLY. */
void qvmid_ses_bp_cmd(struct qvmid_session_server *s,
		      const struct qvmi_ses_hdr *h, const uint8_t *p);
/* Remove every breakpoint and watchpoint; continue a VM waiting for an
 * event reply. */
void qvmid_ses_bp_drop(struct qvmid_session_server *s, const char *why);
/* Take in stops, auto-continue after event_timeout; at safe points. */
void qvmid_ses_bp_poll(struct qvmid_session_server *s, int64_t *next_ms);
int qvmid_ses_bp_fd(const struct qvmid_session_server *s);
/* A step is out: commands that need the vCPUs stopped get EBUSY. */
bool qvmid_ses_busy_stepping(const struct qvmid_session_server *s,
			     const struct qvmi_ses_hdr *h, const uint8_t *p);
/* Rewrite (or remove) the ledger if what it says changed. */
void qvmid_ses_ledger_sync(struct qvmid_session_server *s);
void qvmid_ses_stats_refresh(struct qvmid_session_server *s);
/* Queue an event (dropped if the policy denies it); false if not queued. */
bool qvmid_ses_ev_push(struct qvmid_session_server *s, uint16_t msg,
		       const uint8_t *p, size_t len);

#endif
