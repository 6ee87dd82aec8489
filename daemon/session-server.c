// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Session server: sockets, framing, the handshake and authentication
 * (docs/PROTOCOL.md).  The client is hostile until it has proved the key:
 * before that only a 48-byte HELLO and a 32-byte AUTH are read, within
 * auth_timeout, and anything else closes the connection.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "session-int.h"
#include "proto/session-addr.h"

enum {
	SES_AUTH_TIMEOUT_MS = 5000,
	SES_IO_TIMEOUT_MS = 10000,
	/* Frames handled per dispatch, so one client cannot starve the
	 * rest of qvmid's loop. */
	SES_BATCH = 64,
	/* Stop reading requests while this much output is unsent. */
	SES_OUT_HIGH = 4 << 20,
	SES_UNHOOK_TIMEOUT_MS = 5000,
};

int64_t qvmid_ses_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void qvmid_ses_log(struct qvmid_session_server *s, enum qvmi_log_level lvl,
		   const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!s->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->o.log(lvl, msg, s->o.log_arg);
}

/* ---- output ---------------------------------------------------------------- */

static bool out_room(struct sconn *c, size_t len)
{
	size_t need;
	uint8_t *n;

	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	need = c->out_len + len;
	if (need <= c->out_cap)
		return true;
	n = realloc(c->out, QVMI_MAX(need, 2 * c->out_cap));
	if (!n)
		return false;
	c->out = n;
	c->out_cap = QVMI_MAX(need, 2 * c->out_cap);
	return true;
}

uint8_t *qvmid_ses_reserve(struct qvmid_session_server *s, size_t len)
{
	struct sconn *c = s->c;

	if (!out_room(c, QVMI_SES_HDR + qvmi__ses_pad8(len)))
		return NULL;
	return c->out + c->out_len + QVMI_SES_HDR;
}

void qvmid_ses_commit(struct qvmid_session_server *s, uint16_t msg,
		      uint32_t seq, size_t len)
{
	struct sconn *c = s->c;
	uint8_t *f = c->out + c->out_len;

	c->out_len += qvmi__ses_frame(f, QVMI_SES_F_REPLY, msg, seq, 0,
				      f + QVMI_SES_HDR, len);
}

bool qvmid_ses_send(struct qvmid_session_server *s, uint8_t flags, uint16_t msg,
		    uint32_t seq, uint32_t error, const void *payload,
		    size_t len)
{
	struct sconn *c = s->c;

	if (!out_room(c, QVMI_SES_HDR + qvmi__ses_pad8(len))) {
		c->closing = true;
		return false;
	}
	c->out_len += qvmi__ses_frame(c->out + c->out_len, flags, msg, seq,
				      error, payload, len);
	return true;
}

ssize_t qvmid_ses_conn_send(struct sconn *c, const void *buf, size_t len)
{
	short ev;

	if (c->tls)
		return qvmi__ses_tls_write(c->tls, buf, len, &ev);
	for (;;) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n >= 0 || errno != EINTR)
			return n > 0 ? n :
			       n == 0 || errno == EAGAIN ||
					       errno == EWOULDBLOCK ?
				       -EAGAIN :
				       -EPIPE;
	}
}

/* Like recv(): > 0, 0 on EOF, -EAGAIN, -EPROTO (a TLS record failed its
 * check), -EPIPE. */
static ssize_t conn_recv(struct sconn *c, void *buf, size_t len)
{
	short ev;

	if (c->tls)
		return qvmi__ses_tls_read(c->tls, buf, len, &ev);
	for (;;) {
		ssize_t n = recv(c->fd, buf, len, MSG_DONTWAIT);

		if (n >= 0 || errno != EINTR)
			return n >= 0 ? n :
			       errno == EAGAIN || errno == EWOULDBLOCK ?
					-EAGAIN :
					-EPIPE;
	}
}

/* Send what the socket takes.  < 0: the peer is gone. */
static int conn_flush(struct sconn *c)
{
	/* Before TLS is up nothing can be sent safely: an ERROR frame for a
	 * failed handshake is dropped, and the close says it. */
	if (c->tls && !c->tls_up)
		c->out_off = c->out_len;
	while (c->out_off < c->out_len) {
		ssize_t n = qvmid_ses_conn_send(c, c->out + c->out_off,
						c->out_len - c->out_off);

		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		return n == -EAGAIN ? 0 : -EPIPE;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

/* An ERROR frame, then close: bad frames, failed auth, timeouts. */
static void conn_fail(struct qvmid_session_server *s, uint32_t seq, int err,
		      const char *text)
{
	uint8_t p[8 + QVMI_SES_ERRTEXT_MAX + 8];
	size_t n = qvmi__ses_errtext_encode(text, p);

	qvmid_ses_send(s, QVMI_SES_F_REPLY, QVMI_SES_ERROR, seq, (uint32_t)err,
		       p, n);
	s->c->closing = true;
	qvmid_ses_log(s, QVMI_LOG_WARN, "session: closing: %s", text);
}

/* ---- connections ------------------------------------------------------------ */

static void conn_close(struct qvmid_session_server *s)
{
	struct sconn *c = s->c;

	if (!c)
		return;
	if (s->gen_req != s->gen_done)
		s->st.unhook_eofs++;
	/* Whatever the tool hooked is released with it, before its pauses:
	 * resuming first let the VM run into the dead tool's breakpoints
	 * (a stop nobody answers until the removal interrupts it). */
	qvmid_ses_unhook_done(s, "the tool closed the session");
	if (c->stage == 2)
		qvmid_ses_release_pauses(s);
	s->nev = 0;
	qvmi__ses_tls_free(c->tls);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
	s->c = NULL;
	if (s->out)
		qvmid_ses_out_closed(s);
	qvmid_ses_stats_refresh(s);
}

/* A second client: one ERROR frame into its empty socket buffer, then
 * close.  The frame is small, so a non-blocking send takes it whole.
 * Not on TLS transports: nothing goes out in clear there, and a second
 * handshake would hold the loop; that client sees the close. */
static void refuse_busy(struct qvmid_session_server *s, int fd,
			enum qvmi_ses_tls_mode tls)
{
	uint8_t p[8 + QVMI_SES_ERRTEXT_MAX + 8], f[QVMI_SES_HDR + sizeof(p)];
	size_t n = qvmi__ses_errtext_encode("another session is active", p);

	n = qvmi__ses_frame(f, QVMI_SES_F_REPLY, QVMI_SES_ERROR, 0, EBUSY, p,
			    n);
	if (tls == QVMI_SES_TLS_NONE &&
	    send(fd, f, n, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)n)
		qvmid_ses_log(s, QVMI_LOG_DEBUG, "session: refusal not sent");
	close(fd);
	s->st.refused_busy++;
	qvmid_ses_log(s, QVMI_LOG_INFO,
		      "session: refused a second client (busy)");
}

/* The handshake moved on: up, still waiting, or failed (closed). */
static void conn_tls_step(struct qvmid_session_server *s)
{
	struct sconn *c = s->c;
	int err = qvmi__ses_tls_handshake(c->tls, &c->tls_events);

	if (err == -EAGAIN)
		return;
	if (!err) {
		c->tls_up = true;
		s->st.tls_ok++;
		qvmid_ses_log(s, QVMI_LOG_DEBUG, "session: TLS 1.3 is up");
		return;
	}
	s->st.tls_failed++;
	if (err == -EACCES)
		s->st.auth_failed++;
	qvmid_ses_log(s, QVMI_LOG_WARN, "session: %s%s",
		      err == -EACCES ? "authentication failed: " : "",
		      qvmi__ses_tls_why(c->tls));
	conn_close(s);
}

static struct sconn *conn_new(int fd, enum qvmi_ses_tls_mode tls,
			      const struct qvmi_ses_key *key,
			      const char *identity, const char **why)
{
	struct sconn *c = calloc(1, sizeof(*c));

	*why = "out of memory";
	if (c)
		c->in = malloc(QVMI_SES_HDR + QVMI_SES_HELLO_REQ);
	/* qvmid's listeners take tools; a tool's listener takes VMs. */
	if (c && c->in &&
	    (tls == QVMI_SES_TLS_NONE ||
	     !qvmi__ses_tls_new(fd, tls, key, identity, false, &c->tls, why)))
		return c;
	if (c)
		free(c->in);
	free(c);
	return NULL;
}

bool qvmid_ses_conn_start(struct qvmid_session_server *s, int fd,
			  const char *peer, bool outbound,
			  enum qvmi_ses_tls_mode tls, const char *identity)
{
	const char *why = "?";
	struct sconn *c;

	if (s->c) {
		refuse_busy(s, fd, tls);
		return false;
	}
	c = conn_new(fd, tls, &s->key, identity, &why);
	if (!c) {
		qvmid_ses_log(s, QVMI_LOG_ERROR, "session: %s: %s", peer, why);
		close(fd);
		return false;
	}
	c->tls_events = POLLIN;
	c->fd = fd;
	c->outbound = outbound;
	c->in_cap = QVMI_SES_HDR + QVMI_SES_HELLO_REQ;
	c->next_seq = 1;
	/* Dialled or accepted, the tool has auth_timeout to prove itself. */
	c->auth_deadline = qvmid_ses_now_ms() + s->o.auth_timeout_ms;
	s->c = c;
	if (!outbound)
		s->st.accepted++;
	qvmid_ses_log(s, QVMI_LOG_INFO, "session: %s (%s%s)",
		      outbound ? "connected to the tool" : "client connected",
		      peer, c->tls ? ", TLS" : "");
	/* A TLS client speaks first (ClientHello). */
	if (tls == QVMI_SES_TLS_CLIENT)
		conn_tls_step(s);
	return s->c != NULL;
}

/* From any listener: the same single session, the same auth. */
static void accept_one(struct qvmid_session_server *s, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = accept4(lfd, (struct sockaddr *)&ss, &len,
			 SOCK_NONBLOCK | SOCK_CLOEXEC);
	char peer[96] = "unix socket";
	bool plain = lfd == s->l.fd || (lfd == s->tcp_fd && s->o.tcp_plain);

	if (fd < 0)
		return;
	if (lfd == s->tcp_fd)
		qvmid_tcp_accepted(fd, peer, sizeof(peer));
	else if (lfd == s->vsock_fd)
		qvmi__ses_addr_text((struct sockaddr *)&ss, len, peer,
				    sizeof(peer));
	qvmid_ses_conn_start(s, fd, peer, false,
			     plain ? QVMI_SES_TLS_NONE : QVMI_SES_TLS_SERVER,
			     NULL);
}

/* ---- handshake --------------------------------------------------------------- */

static void on_hello(struct qvmid_session_server *s, const uint8_t *frame,
		     const struct qvmi_ses_hdr *h)
{
	struct sconn *c = s->c;
	const uint8_t *p = frame + QVMI_SES_HDR;
	uint8_t rep[QVMI_SES_HELLO_REP] = { 0 };
	uint8_t *f;

	if (qvmi__ses_get16(p) > QVMI_SES_VERSION ||
	    qvmi__ses_get16(p + 2) < QVMI_SES_VERSION) {
		conn_fail(s, h->seq, EPROTO, "no common protocol version");
		return;
	}
	qvmi__ses_put16(rep, QVMI_SES_VERSION);
	if (qvmi__ses_nonce(rep + 8)) {
		conn_fail(s, h->seq, EIO, "no random bytes for a nonce");
		return;
	}
	/* The transcript is the two frames exactly as sent. */
	memcpy(c->transcript, frame, QVMI_SES_HDR + QVMI_SES_HELLO_REQ);
	if (!qvmid_ses_send(s, QVMI_SES_F_REPLY, QVMI_SES_HELLO, h->seq, 0, rep,
			    sizeof(rep)))
		return;
	f = c->out + c->out_len - (QVMI_SES_HDR + QVMI_SES_HELLO_REP);
	memcpy(c->transcript + QVMI_SES_HDR + QVMI_SES_HELLO_REQ, f,
	       QVMI_SES_HDR + QVMI_SES_HELLO_REP);
	c->tlen = QVMI_SES_TRANSCRIPT;
	c->stage = 1;
}

static void on_auth(struct qvmid_session_server *s,
		    const struct qvmi_ses_hdr *h, const uint8_t *p)
{
	struct sconn *c = s->c;
	struct qvmi_ses_info *info;
	uint8_t want[QVMI_SES_MAC], *out;
	size_t n;

	if (qvmi__ses_mac(&s->key, QVMI_SES_ROLE_CLIENT, c->transcript, c->tlen,
			  NULL, 0, want) ||
	    !qvmi__ses_mac_equal(want, p)) {
		s->st.auth_failed++;
		qvmid_ses_send(s, QVMI_SES_F_REPLY, QVMI_SES_AUTH, h->seq,
			       EACCES, NULL, 0);
		c->closing = true;
		qvmid_ses_log(s, QVMI_LOG_WARN,
			      "session: authentication failed");
		return;
	}
	info = malloc(sizeof(*info));
	if (!info) {
		conn_fail(s, h->seq, ENOMEM, "out of memory");
		return;
	}
	qvmid_ses_vm_info(s, info);
	n = QVMI_SES_MAC + qvmi__ses_info_size(info);
	out = qvmid_ses_reserve(s, n);
	if (!out || qvmi__ses_mac(&s->key, QVMI_SES_ROLE_SERVER, c->transcript,
				  c->tlen, p, QVMI_SES_MAC, out)) {
		free(info);
		conn_fail(s, h->seq, EIO, "cannot compute the server MAC");
		return;
	}
	qvmi__ses_info_encode(info, out + QVMI_SES_MAC);
	free(info);
	qvmid_ses_commit(s, QVMI_SES_AUTH, h->seq, n);
	c->stage = 2;
	s->st.auth_ok++;
	qvmid_ses_log(s, QVMI_LOG_INFO, "session: client authenticated");
}

/* ---- input -------------------------------------------------------------------- */

static void handle_frame(struct qvmid_session_server *s,
			 const struct qvmi_ses_hdr *h)
{
	struct sconn *c = s->c;
	const uint8_t *p = c->in + QVMI_SES_HDR;
	const char *why = NULL;

	if (qvmi__ses_check_request(h, p, c->stage, c->next_seq, &why)) {
		s->st.bad_frames++;
		conn_fail(s, h->seq, EPROTO, why);
		return;
	}
	c->next_seq++;
	if (c->stage == 0)
		on_hello(s, c->in, h);
	else if (c->stage == 1)
		on_auth(s, h, p);
	else
		qvmid_ses_command(s, h, p);
}

/*
 * Read towards the end of the current frame.  1: a whole frame is in
 * c->in (*h decoded); 0: need more bytes; < 0: close (EOF, error, or a
 * bad header, answered already).
 */
static int read_frame(struct qvmid_session_server *s, struct qvmi_ses_hdr *h)
{
	struct sconn *c = s->c;
	const char *why = NULL;
	size_t want = QVMI_SES_HDR;

	for (;;) {
		if (c->in_len >= QVMI_SES_HDR) {
			if (qvmi__ses_hdr_decode(c->in, h, &why)) {
				s->st.bad_frames++;
				conn_fail(s, 0, EPROTO, why);
				return -EPROTO;
			}
			/* Before authentication, a frame is at most a
			 * HELLO: do not buffer a megabyte for a stranger. */
			if (c->stage < 2 && h->size > QVMI_SES_HELLO_REQ) {
				s->st.bad_frames++;
				conn_fail(s, h->seq, EPROTO,
					  "frame too large before "
					  "authentication");
				return -EPROTO;
			}
			want = QVMI_SES_HDR + h->size;
		}
		if (c->in_len >= QVMI_SES_HDR && c->in_len == want)
			return 1;
		if (want > c->in_cap) {
			uint8_t *n = realloc(c->in, want);

			if (!n)
				return -ENOMEM;
			c->in = n;
			c->in_cap = want;
		}
		ssize_t r = conn_recv(c, c->in + c->in_len, want - c->in_len);
		if (r > 0) {
			c->in_len += (size_t)r;
			continue;
		}
		if (r == -EAGAIN)
			return 0;
		if (r == -EPROTO) {
			s->st.tls_bad_records++;
			qvmid_ses_log(s, QVMI_LOG_WARN, "session: closing: %s",
				      qvmi__ses_tls_why(c->tls));
		}
		return r ? (int)r : -EPIPE;
	}
}

static void conn_read(struct qvmid_session_server *s)
{
	for (int i = 0; i < SES_BATCH && s->c && !s->c->closing; i++) {
		struct qvmi_ses_hdr h;
		int r;

		if (s->c->out_len - s->c->out_off > SES_OUT_HIGH)
			return;
		r = read_frame(s, &h);
		if (r == 0)
			return;
		if (r < 0) {
			if (!s->c->closing)
				conn_close(s);
			return;
		}
		handle_frame(s, &h);
		if (s->c)
			s->c->in_len = 0;
	}
}

/* ---- the loop ------------------------------------------------------------------ */

enum { SES_NFDS = 6 };

unsigned int qvmid_session_server_nfds(const struct qvmid_session_server *s)
{
	return SES_NFDS;
}

nfds_t qvmid_session_server_prepare(struct qvmid_session_server *s,
				    struct pollfd *pfd, int64_t *next_ms)
{
	struct sconn *c = s->c;
	short ev = 0;

	pfd[0] = (struct pollfd){ s->l.fd, POLLIN, 0 };
	/* Stops the last commands left pending, the event deadline. */
	qvmid_ses_bp_poll(s, next_ms);
	c = s->c;
	if (c && s->nev)
		qvmid_ses_flush_events(s);
	/* After the flush, so the tool has EV_RESET before the EOF. */
	if (s->out && qvmid_ses_out_check_reset(s)) {
		conn_close(s);
		c = NULL;
	}
	/* Dial before pfd[1] is filled: a unix connect is done at once. */
	pfd[5] = (struct pollfd){ -1, 0, 0 };
	if (s->out) {
		qvmid_ses_out_prepare(s, &pfd[5], next_ms);
		c = s->c;
	}
	if (c && c->tls && !c->tls_up) {
		ev = c->tls_events;
		*next_ms = QVMI_MIN(*next_ms, c->auth_deadline);
	} else if (c) {
		bool pending = c->out_off < c->out_len;

		if (!c->closing && (c->out_len - c->out_off) <= SES_OUT_HIGH) {
			ev |= POLLIN;
			/* Decrypted bytes wait in TLS, not in the socket. */
			if (qvmi__ses_tls_pending(c->tls))
				*next_ms = 0;
		}
		if (pending) {
			ev |= POLLOUT;
			if (!c->out_deadline)
				c->out_deadline =
					qvmid_ses_now_ms() + s->o.io_timeout_ms;
			*next_ms = QVMI_MIN(*next_ms, c->out_deadline);
		} else {
			c->out_deadline = 0;
		}
		if (c->stage < 2)
			*next_ms = QVMI_MIN(*next_ms, c->auth_deadline);
		if (c->unhook_deadline)
			*next_ms = QVMI_MIN(*next_ms, c->unhook_deadline);
	}
	pfd[1] = (struct pollfd){ c ? c->fd : -1, ev, 0 };
	/* While the VM runs, a stop reply may come at any time. */
	pfd[2] = (struct pollfd){ qvmid_ses_bp_fd(s), POLLIN, 0 };
	pfd[3] = (struct pollfd){ s->tcp_fd, POLLIN, 0 };
	pfd[4] = (struct pollfd){ s->vsock_fd, POLLIN, 0 };
	return SES_NFDS;
}

static void check_deadlines(struct qvmid_session_server *s)
{
	struct sconn *c = s->c;
	int64_t now = qvmid_ses_now_ms();

	if (!c)
		return;
	if (c->stage < 2 && !c->closing && now >= c->auth_deadline) {
		s->st.timeouts++;
		conn_fail(s, 0, ETIMEDOUT, "authentication timed out");
		conn_flush(c);
		conn_close(s);
	} else if (c->out_deadline && now >= c->out_deadline &&
		   c->out_off < c->out_len) {
		s->st.timeouts++;
		qvmid_ses_log(s, QVMI_LOG_WARN,
			      "session: client does not read its replies");
		conn_close(s);
	} else if (c->unhook_deadline && now >= c->unhook_deadline) {
		s->st.unhook_timeouts++;
		qvmid_ses_log(s, QVMI_LOG_WARN,
			      "session: the tool did not unhook in %d ms: "
			      "removing its hooks",
			      s->o.unhook_timeout_ms);
		qvmid_ses_unhook_done(s, "timeout");
	}
}

void qvmid_session_server_dispatch(struct qvmid_session_server *s,
				   const struct pollfd *pfd)
{
	short re = pfd[1].revents;

	if (s->c && pfd[1].fd == s->c->fd && s->c->tls && !s->c->tls_up) {
		if (re)
			conn_tls_step(s);
	} else if (s->c && pfd[1].fd == s->c->fd) {
		if ((re & POLLIN) || qvmi__ses_tls_pending(s->c->tls))
			conn_read(s);
		if (s->c && s->nev)
			qvmid_ses_flush_events(s);
		else if (re & (POLLHUP | POLLERR | POLLNVAL))
			conn_close(s);
		if (s->c && s->c->out_off < s->c->out_len &&
		    conn_flush(s->c) < 0)
			conn_close(s);
		if (s->c && s->c->closing && s->c->out_off == s->c->out_len)
			conn_close(s);
	}
	check_deadlines(s);
	if (pfd[2].fd >= 0 || s->stop_wait)
		qvmid_ses_bp_poll(s, NULL);
	if (s->c && s->nev)
		qvmid_ses_flush_events(s);
	if (pfd[0].fd >= 0 && (pfd[0].revents & POLLIN))
		accept_one(s, s->l.fd);
	if (pfd[3].fd >= 0 && (pfd[3].revents & POLLIN))
		accept_one(s, s->tcp_fd);
	if (pfd[4].fd >= 0 && (pfd[4].revents & POLLIN))
		accept_one(s, s->vsock_fd);
	if (s->out)
		qvmid_ses_out_dispatch(s, &pfd[5]);
	qvmid_ses_stats_refresh(s);
}

int qvmid_session_server_run(struct qvmid_session_server *s)
{
	for (;;) {
		struct pollfd pfd[1 + SES_NFDS];
		int64_t next = INT64_MAX;
		int wait = 60000;

		pfd[0] = (struct pollfd){ s->wake[0], POLLIN, 0 };
		qvmid_session_server_prepare(s, pfd + 1, &next);
		if (next != INT64_MAX)
			wait = (int)QVMI_MAX(QVMI_MIN(next - qvmid_ses_now_ms(),
						      (int64_t)60000),
					     0);
		if (poll(pfd, 1 + SES_NFDS, wait) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pfd[0].revents)
			return 0;
		qvmid_session_server_dispatch(s, pfd + 1);
	}
}

void qvmid_session_server_stop(struct qvmid_session_server *s)
{
	ssize_t n = write(s->wake[1], "x", 1);

	(void)n; /* a full pipe already wakes the loop */
}

/*
 * The fields of the stats that describe the open session, refreshed by
 * the loop's thread whenever they may have changed (a turn of the loop, a
 * close, a breakpoint change, an unhook): qvmid_session_server_stats()
 * then never follows s->c, which the loop frees, so another thread (the
 * unit tests poll it) may call it while the server runs.
 */
void qvmid_ses_stats_refresh(struct qvmid_session_server *s)
{
	s->st.active = s->c != NULL;
	s->st.hooked = qvmid_session_server_hooked(s);
	s->st.pause_count = s->c ? s->c->pause_count : 0;
	s->st.breakpoints = s->nbps;
	s->st.outbound = s->c && s->c->outbound;
}

void qvmid_session_server_stats(const struct qvmid_session_server *s,
				struct qvmid_session_stats *ret)
{
	*ret = s->st;
}

static int load_key(struct qvmid_session_server *s,
		    const struct qvmid_session_opts *o)
{
	const char *why = "bad key";
	int err;

	if (o->key_path) {
		err = qvmi__ses_key_load(o->key_path, &s->key, &why);
		if (err)
			qvmid_ses_log(s, QVMI_LOG_ERROR, "session key %s: %s",
				      o->key_path, why);
		return err;
	}
	err = o->key ? qvmi__ses_key_set(&s->key, o->key, o->key_len) : -EINVAL;
	if (err)
		qvmid_ses_log(s, QVMI_LOG_ERROR,
			      "session key: 32 to 4096 bytes needed");
	return err;
}

int qvmid_session_server_create(struct qvmi_ctx *ctx, const char *path,
				const struct qvmid_session_opts *opts,
				struct qvmid_session_server **ret)
{
	struct qvmid_session_server *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	s->ctx = ctx;
	s->o = *opts;
	s->l.fd = s->tcp_fd = s->vsock_fd = s->wake[0] = s->wake[1] = -1;
	s->o.tcp_addr = NULL; /* the caller's strings: used here only */
	s->o.connect_addr = NULL;
	if (!s->o.policy_set)
		qvmid_session_policy_init(&s->o.policy);
	if (s->o.auth_timeout_ms <= 0)
		s->o.auth_timeout_ms = SES_AUTH_TIMEOUT_MS;
	if (s->o.io_timeout_ms <= 0)
		s->o.io_timeout_ms = SES_IO_TIMEOUT_MS;
	if (s->o.unhook_timeout_ms <= 0)
		s->o.unhook_timeout_ms = SES_UNHOOK_TIMEOUT_MS;
	if (!s->o.max_transfer || s->o.max_transfer > QVMI_SES_MAX_DATA)
		s->o.max_transfer = QVMI_SES_MAX_DATA;
	err = load_key(s, opts);
	if (!err && pipe2(s->wake, O_NONBLOCK | O_CLOEXEC))
		err = -errno;
	if (!err && !path && !opts->tcp_addr && !opts->vsock &&
	    !opts->connect_addr)
		err = -EINVAL;
	if (!err && path)
		err = qvmid_unix_listen(&s->l, path, 8, "session", s->o.log,
					s->o.log_arg);
	if (!err && opts->tcp_addr)
		err = qvmid_tcp_listen(opts->tcp_addr, 8, "session", s->o.log,
				       s->o.log_arg, &s->tcp_fd, &s->tcp_port);
	if (!err && opts->vsock)
		err = qvmid_vsock_listen(opts->vsock_port, 8, "session",
					 s->o.log, s->o.log_arg, &s->vsock_fd,
					 &s->vsock_port);
	if (!err && opts->connect_addr)
		err = qvmid_ses_out_create(s, opts->connect_addr);
	if (!err)
		err = qvmid_ses_bp_init(s);
	if (err) {
		qvmid_session_server_destroy(s);
		return err;
	}
	*ret = s;
	return 0;
}

void qvmid_session_server_destroy(struct qvmid_session_server *s)
{
	if (!s)
		return;
	conn_close(s);
	qvmid_ses_bp_fini(s);
	if (s->l.fd >= 0)
		qvmid_unix_close(&s->l);
	if (s->tcp_fd >= 0)
		close(s->tcp_fd);
	if (s->vsock_fd >= 0)
		close(s->vsock_fd);
	qvmid_ses_out_destroy(s);
	for (int i = 0; i < 2; i++)
		if (s->wake[i] >= 0)
			close(s->wake[i]);
	qvmi__ses_key_clear(&s->key);
	free(s);
}

uint16_t qvmid_session_server_tcp_port(const struct qvmid_session_server *s)
{
	return s->tcp_fd >= 0 ? s->tcp_port : 0;
}

uint32_t qvmid_session_server_vsock_port(const struct qvmid_session_server *s)
{
	return s->vsock_fd >= 0 ? s->vsock_port : 0;
}
