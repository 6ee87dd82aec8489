// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pmemaccess server: one poll() loop, non-blocking sockets, fixed buffers.
 *
 * Each connection owns a 16 KiB input buffer and a CHUNK + 1 output buffer,
 * allocated at accept; nothing is ever sized by a client.  Reads are
 * streamed CHUNK bytes at a time, the status byte riding on the last piece.
 * A write is applied only once its whole payload has arrived, so it needs
 * the whole payload staged: payloads up to CHUNK use the output buffer
 * (idle while a payload arrives), larger ones borrow one of STAGE_MAX
 * server-wide buffers of max_transfer bytes; a connection that finds none
 * free is parked (not polled for input) until one is returned.
 *
 * Reads of shared RAM skip the output buffer.  Pages the RAM file holds
 * go from QEMU's RAM mapping in one sendmsg() with the status byte
 * (read_mapped); a range with holes goes by sendfile() from the file
 * (qvmi__pa_file), which never allocates a hole of a sparse file, as a
 * touch through the mapping would.  Other sources, holes in small replies,
 * and a kernel or file that cannot splice take the copy path (pread).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "pmem-int.h"
#include "core/internal.h"
#include "proto/pmemaccess.h"

void qvmid_pmem_log(struct qvmid_pmem_server *s, enum qvmi_log_level lvl,
		    const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int saved = errno;

	if (!s->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->o.log(lvl, buf, s->o.log_arg);
	errno = saved;
}

/* ---- socket setup ------------------------------------------------------ */

static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* sendfile() has no MSG_NOSIGNAL: a client gone mid-reply raises SIGPIPE
 * (Linux 6.1 and 6.18 splice to a socket without it).  Only when the
 * process ignores it (qvmid does) may the server use sendfile. */
static bool sigpipe_ignored(void)
{
	struct sigaction sa;

	return !sigaction(SIGPIPE, NULL, &sa) && sa.sa_handler == SIG_IGN;
}

static int server_alloc(struct qvmid_pmem_server *s)
{
	unsigned int n = s->o.max_clients;

	s->conns = calloc(n, sizeof(*s->conns));
	s->pfd = calloc(n + 2 + WATCH_MAX, sizeof(*s->pfd));
	if (!s->conns || !s->pfd)
		return -ENOMEM;
	if (pipe2(s->wake, O_NONBLOCK | O_CLOEXEC))
		return -errno;
	/* Held in reserve: when accept() hits EMFILE we close it, accept and
	 * drop the connection, and reopen it; otherwise the listener would
	 * stay readable and spin the loop. */
	s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return 0;
}

int qvmid_pmem_server_create(struct qvmi_ctx *ctx, const char *path,
			     const struct qvmid_pmem_opts *opts,
			     struct qvmid_pmem_server **ret)
{
	struct qvmid_pmem_server *s;
	int err;

	if (!ctx || !path || !ret)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (opts)
		s->o = *opts;
	s->ctx = ctx;
	s->l.fd = s->wake[0] = s->wake[1] = s->spare_fd = -1;
	if (!s->o.max_transfer)
		s->o.max_transfer = QVMI_PMEM_MAX_TRANSFER_DEFAULT;
	if (!s->o.max_clients)
		s->o.max_clients = DEFAULT_MAX_CLIENTS;
	if (s->o.io_timeout_ms <= 0)
		s->o.io_timeout_ms = DEFAULT_IO_TIMEOUT_MS;
	raise_nofile();
	s->zero_copy = sigpipe_ignored();
	err = server_alloc(s);
	if (!err)
		err = qvmid_unix_listen(&s->l, path, BACKLOG, "pmem", s->o.log,
					s->o.log_arg);
	if (err) {
		qvmid_pmem_server_destroy(s);
		return err;
	}
	/* A client (LibVMI) asks for a server when it starts: serve it the
	 * map as QEMU has it now (issue 13), one QMP round trip later. */
	qvmi__map_stale(ctx);
	qvmid_pmem_log(s, QVMI_LOG_INFO,
		       "pmem: serving %s (max transfer %" PRIu64 ", %s)",
		       s->l.path, s->o.max_transfer,
		       s->zero_copy ? "shared RAM by sendfile" :
				      "SIGPIPE not ignored: "
				      "copying");
	*ret = s;
	return 0;
}

int qvmid_pmem_server_watch(struct qvmid_pmem_server *s, int fd,
			    qvmid_watch_fn fn, void *arg)
{
	if (s->nwatch >= WATCH_MAX || fd < 0 || !fn)
		return -EINVAL;
	s->watch[s->nwatch++] = (struct watch){ fd, fn, arg };
	return 0;
}

void qvmid_pmem_server_stop(struct qvmid_pmem_server *s)
{
	char c = 0;
	ssize_t n = write(s->wake[1], &c, 1);

	(void)n; /* a full pipe already means "stop" */
}

const char *qvmid_pmem_server_path(const struct qvmid_pmem_server *s)
{
	return s->l.path;
}

void qvmid_pmem_server_stats(const struct qvmid_pmem_server *s,
			     struct qvmid_pmem_stats *ret)
{
	*ret = s->st;
	ret->clients = s->nconns;
}

/* ---- connections ------------------------------------------------------- */

static void stage_put(struct qvmid_pmem_server *s, struct conn *c)
{
	if (c->stage_idx >= 0)
		s->stage_busy[c->stage_idx] = false;
	c->stage = NULL;
	c->stage_idx = -1;
}

static void conn_close(struct qvmid_pmem_server *s, unsigned int i)
{
	struct conn *c = s->conns[i];

	stage_put(s, c);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
	s->conns[i] = s->conns[--s->nconns];
	s->conns[s->nconns] = NULL;
}

static struct conn *conn_new(struct qvmid_pmem_server *s, int fd)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c) {
		c->in = malloc(IN_SIZE);
		c->out = malloc(CHUNK + 1);
	}
	if (!c || !c->in || !c->out) {
		if (c) {
			free(c->in);
			free(c->out);
		}
		free(c);
		return NULL;
	}
	c->fd = fd;
	c->stage_idx = -1;
	c->last_ms = pmem_now_ms();
	qvmi__pmem_decoder_init(&c->dec, s->o.max_transfer);
	return c;
}

/* accept() failed with EMFILE/ENFILE: drop one pending connection. */
static void shed_one(struct qvmid_pmem_server *s)
{
	int fd;

	if (s->spare_fd < 0)
		return;
	close(s->spare_fd);
	fd = accept(s->l.fd, NULL, NULL);
	if (fd >= 0)
		close(fd);
	s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	s->st.refused++;
}

/*
 * Let a whole reply of up to SNDBUF_MAX sit in the socket: with the
 * default 208 KiB a 1 MiB read stops on EAGAIN four times, a poll() turn
 * each (1 MiB reads: 0.30 -> 0.38 of memcpy here).  The kernel clamps it
 * to net.core.wmem_max; memory is used only while a client leaves replies
 * unread, and sendfile'd pages are the RAM file's own.
 */
static void set_sndbuf(struct qvmid_pmem_server *s, int fd)
{
	int v = (int)QVMI_MIN(s->o.max_transfer + 1, (uint64_t)SNDBUF_MAX);

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)))
		qvmid_pmem_log(s, QVMI_LOG_DEBUG, "pmem: SO_SNDBUF: %s",
			       strerror(errno));
}

static void accept_some(struct qvmid_pmem_server *s)
{
	for (int n = 0; n < ACCEPT_BURST; n++) {
		int fd = accept4(s->l.fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				qvmid_pmem_log(s, QVMI_LOG_WARN,
					       "pmem: out of file descriptors");
				shed_one(s);
			}
			return; /* EAGAIN, or retry on the next turn */
		}
		c = s->nconns < s->o.max_clients ? conn_new(s, fd) : NULL;
		if (!c) {
			/* Graceful refusal: the client sees EOF at once. */
			if (!s->st.refused++ || !(s->st.refused % 1000))
				qvmid_pmem_log(
					s, QVMI_LOG_WARN,
					"pmem: %u clients: refusing (%" PRIu64
					" so far)",
					s->nconns, s->st.refused);
			close(fd);
			continue;
		}
		set_sndbuf(s, fd);
		s->conns[s->nconns++] = c;
		s->st.accepted++;
	}
}

/* ---- requests ---------------------------------------------------------- */

/* Is every byte of [a, a + len) backed by the memory map?  libqvmi maps
 * only what QEMU's memory tree calls RAM or ROM, never MMIO.  Each step
 * moves past one segment, so the walk is bounded by the map's size. */
static bool in_map(struct qvmi_ctx *ctx, uint64_t a, uint64_t len)
{
	for (size_t step = 0; step <= ctx->nsegs; step++) {
		const struct qvmi_seg *seg = qvmi__seg_find(ctx, a);

		if (!seg)
			return false;
		if (seg->last - a >= len - 1)
			return true;
		len -= seg->last - a + 1;
		a = seg->last + 1;
	}
	return false;
}

/*
 * Is [a, a + len) all guest RAM?  Ranges are sorted (qvmi__ram_add) and may
 * touch, so walk the coverage; each step consumes a range.
 */
static bool in_ram(struct qvmi_ctx *ctx, uint64_t a, uint64_t len)
{
	for (size_t i = 0; i < ctx->nram; i++) {
		const struct qvmi_ram_range *r = &ctx->ram[i];
		uint64_t avail;

		if (a < r->gpa || a - r->gpa >= r->size)
			continue;
		avail = r->size - (a - r->gpa);
		if (avail >= len)
			return true;
		a += avail;
		len -= avail;
	}
	return false;
}

/*
 * May this request touch [a, a + len)?  Reads: anything the map backs (RAM
 * and ROM, as the original server's cpu_physical_memory_map() allowed).
 * Writes: only guest RAM when the ctx knows it, so the host never patches
 * ROM behind the guest's back.
 */
static bool range_ok(struct qvmi_ctx *ctx, uint64_t a, uint64_t len, bool write)
{
	if (!len)
		return true;
	if (qvmi__pmem_range_wraps(a, len) || !in_map(ctx, a, len))
		return false;
	return !write || !ctx->nram || in_ram(ctx, a, len);
}

static bool stage_get(struct qvmid_pmem_server *s, struct conn *c)
{
	for (int i = 0; i < STAGE_MAX; i++) {
		if (s->stage_busy[i])
			continue;
		if (!s->stage[i])
			s->stage[i] = malloc(s->o.max_transfer);
		if (!s->stage[i])
			return false;
		s->stage_busy[i] = true;
		c->stage = s->stage[i];
		c->stage_idx = i;
		return true;
	}
	return false;
}

static void start_read(struct qvmid_pmem_server *s, struct conn *c)
{
	const struct qvmi_pmem_req *r = &c->dec.req;

	c->rd_addr = r->address;
	c->rd_left = r->length;
	c->rd_active = true;
	c->rd_failed = s->dying ||
		       !range_ok(s->ctx, r->address, r->length, false);
	if (c->rd_failed)
		qvmid_pmem_log(s, QVMI_LOG_DEBUG,
			       "pmem: read 0x%" PRIx64 "+0x%" PRIx64
			       ": not guest memory",
			       r->address, r->length);
	s->st.reads++;
}

static void start_write(struct qvmid_pmem_server *s, struct conn *c)
{
	const struct qvmi_pmem_req *r = &c->dec.req;

	c->w_active = true;
	c->staged = 0;
	c->stage = NULL;
	c->w_failed = s->dying ||
		      !range_ok(s->ctx, r->address, r->length, true);
	s->st.writes++;
	if (c->w_failed) /* the payload is read and dropped */
		return;
	if (r->length <= CHUNK)
		c->stage = c->out; /* idle until the status byte */
	else if (!stage_get(s, c))
		c->parked = true;
}

static void finish_write(struct qvmid_pmem_server *s, struct conn *c)
{
	const struct qvmi_pmem_req *r = &c->dec.req;
	bool ok = !c->w_failed;

	if (ok && r->length &&
	    qvmi_write_pa(s->ctx, r->address, c->stage, r->length)) {
		qvmid_pmem_log(s, QVMI_LOG_DEBUG, "pmem: write: %s",
			       qvmi_errmsg(s->ctx));
		ok = false;
	}
	if (c->stage_idx >= 0) {
		stage_put(s, c);
		s->kick = true; /* a parked connection may go on */
	}
	c->stage = NULL;
	c->w_active = false;
	s->st.failed += !ok;
	c->out[0] = ok ? QVMI_PMEM_STATUS_OK : QVMI_PMEM_STATUS_FAIL;
	c->out_off = 0;
	c->out_len = 1;
}

/* Decode and act on the next event in c->in.  false: close. */
static bool handle_input(struct qvmid_pmem_server *s, struct conn *c)
{
	enum qvmi_pmem_ev ev;
	const uint8_t *p;
	size_t plen, used;

	used = qvmi__pmem_decode(&c->dec, c->in + c->in_off,
				 c->in_len - c->in_off, &ev, &p, &plen);
	c->in_off += used;
	switch (ev) {
	case QVMI_PMEM_EV_NONE:
		return true;
	case QVMI_PMEM_EV_QUIT:
		return false;
	case QVMI_PMEM_EV_TOO_BIG:
		qvmid_pmem_log(s, QVMI_LOG_WARN,
			       "pmem: request of 0x%" PRIx64
			       " bytes exceeds the "
			       "maximum transfer 0x%" PRIx64
			       ": closing the connection",
			       c->dec.req.length, s->o.max_transfer);
		s->st.closed_too_big++;
		return false;
	case QVMI_PMEM_EV_UNKNOWN:
		qvmid_pmem_log(s, QVMI_LOG_DEBUG,
			       "pmem: unknown request type 0x%" PRIx64,
			       c->dec.req.raw_type);
		s->st.failed++;
		c->out[0] = QVMI_PMEM_STATUS_FAIL;
		c->out_off = 0;
		c->out_len = 1;
		return true;
	case QVMI_PMEM_EV_READ:
		start_read(s, c);
		return true;
	case QVMI_PMEM_EV_WRITE_BEGIN:
		start_write(s, c);
		return true;
	case QVMI_PMEM_EV_PAYLOAD:
		if (c->stage)
			memcpy(c->stage + c->staged, p, plen);
		c->staged += plen;
		return true;
	case QVMI_PMEM_EV_WRITE_END:
		finish_write(s, c);
		return true;
	}
	return false;
}

/* ---- socket I/O and the loop -------------------------------------------- */

/* 1: progress, 0: would block, -1: close. */
static int conn_flush(struct conn *c)
{
	ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 :
		       errno == EINTR			       ? 1 :
								 -1;
	c->out_off += (size_t)n;
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	c->last_ms = pmem_now_ms();
	return 1;
}

static int conn_fill(struct conn *c)
{
	ssize_t n = recv(c->fd, c->in, IN_SIZE, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		c->may_read = false;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 :
		       errno == EINTR			       ? 1 :
								 -1;
	/* A short read drained the socket; poll() says when more comes.
	 * That saves a recv() per request that would only say EAGAIN. */
	c->may_read = n == IN_SIZE;
	if (!n)
		return -1; /* EOF: a partial request is dropped, never applied */
	c->in_off = 0;
	c->in_len = (size_t)n;
	c->last_ms = pmem_now_ms();
	return 1;
}

/* Serve c as far as it goes without blocking.  false: close it. */
static bool conn_step(struct qvmid_pmem_server *s, struct conn *c)
{
	c->runnable = false;
	for (int budget = STEP_BUDGET; budget > 0; budget--) {
		int r;

		if (c->out_len) {
			r = conn_flush(c);
			if (r <= 0)
				return r == 0;
			continue;
		}
		if (c->rd_active) {
			r = qvmid_pmem_read_step(s, c);
			if (r <= 0)
				return r == 0;
			continue;
		}
		if (c->parked) {
			if (!stage_get(s, c))
				return true;
			c->parked = false;
		}
		/* A write whose payload is complete needs no more input. */
		if (c->in_off == c->in_len &&
		    !(c->dec.in_payload && !c->dec.payload_left)) {
			if (!c->may_read)
				return true; /* wait for POLLIN */
			r = conn_fill(c);
			if (r <= 0)
				return r == 0;
		}
		if (!handle_input(s, c))
			return false;
	}
	c->runnable = true; /* used its share: others go first */
	return true;
}

static int64_t conn_deadline(const struct qvmid_pmem_server *s,
			     const struct conn *c)
{
	bool mid = c->out_len || c->rd_active || c->dec.have ||
		   c->dec.in_payload;

	if (c->parked)
		return INT64_MAX; /* waiting on us, not on the client */
	if (mid)
		return c->last_ms + s->o.io_timeout_ms;
	if (s->o.idle_timeout_ms > 0)
		return c->last_ms + s->o.idle_timeout_ms;
	return INT64_MAX;
}

unsigned int qvmid_pmem_server_nfds(const struct qvmid_pmem_server *s)
{
	return 1 + s->nconns;
}

nfds_t qvmid_pmem_server_prepare(struct qvmid_pmem_server *s,
				 struct pollfd *pfd, int64_t *next, bool *busy)
{
	nfds_t n = 0;

	s->kick_seen = s->kick;
	s->kick = false;
	pfd[n++] = (struct pollfd){ s->l.fd, POLLIN, 0 };
	for (unsigned int i = 0; i < s->nconns; i++) {
		struct conn *c = s->conns[i];
		/* A read in progress waits only for room (sendfile). */
		short ev = c->out_len || c->rd_active ? POLLOUT :
			   c->parked		      ? 0 :
							POLLIN;

		if (c->runnable || (c->parked && s->kick_seen))
			*busy = true;
		*next = QVMI_MIN(*next, conn_deadline(s, c));
		pfd[n++] = (struct pollfd){ c->fd, ev, 0 };
	}
	return n;
}

static void serve_conns(struct qvmid_pmem_server *s, const struct pollfd *pfd)
{
	int64_t now = pmem_now_ms();

	/* Downwards: closing i moves the last connection (already served
	 * this turn) into slot i. */
	for (unsigned int i = s->nconns; i-- > 0;) {
		struct conn *c = s->conns[i];
		short re = pfd[i].revents;
		bool keep = true;

		if (re & (POLLERR | POLLNVAL))
			keep = false;
		else if (c->parked && (re & POLLHUP))
			keep = false; /* nobody left to answer */
		else if (re || c->runnable || c->parked) {
			if (re & (POLLIN | POLLHUP))
				c->may_read = true;
			keep = conn_step(s, c);
		} else if (conn_deadline(s, c) <= now) {
			qvmid_pmem_log(s, QVMI_LOG_INFO,
				       "pmem: closing a stalled client");
			s->st.closed_timeout++;
			keep = false;
		}
		if (!keep)
			conn_close(s, i);
	}
}

void qvmid_pmem_server_dispatch(struct qvmid_pmem_server *s,
				const struct pollfd *pfd)
{
	serve_conns(s, pfd + 1);
	if (pfd[0].revents & POLLIN)
		accept_some(s);
}

static int run_watches(struct qvmid_pmem_server *s)
{
	for (unsigned int i = 0; i < s->nwatch; i++) {
		short re = s->pfd[1 + i].revents;
		int err;

		if (!re)
			continue;
		err = s->watch[i].fn(s->watch[i].fd, re, s->watch[i].arg);
		if (err < 0)
			return err;
	}
	return 0;
}

int qvmid_pmem_server_run(struct qvmid_pmem_server *s)
{
	for (;;) {
		int64_t next = INT64_MAX, wait;
		bool busy = false;
		nfds_t n = 1 + s->nwatch;
		int err;

		s->pfd[0] = (struct pollfd){ s->wake[0], POLLIN, 0 };
		for (unsigned int i = 0; i < s->nwatch; i++)
			s->pfd[1 + i] =
				(struct pollfd){ s->watch[i].fd, POLLIN, 0 };
		n += qvmid_pmem_server_prepare(s, s->pfd + n, &next, &busy);
		wait = busy ? 0 : next == INT64_MAX ? -1 : next - pmem_now_ms();
		wait = QVMI_MAX(QVMI_MIN(wait, 60000), -1);
		if (!busy && next != INT64_MAX && wait < 0)
			wait = 0;
		if (poll(s->pfd, n, (int)wait) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (s->pfd[0].revents) {
			char buf[64];

			while (read(s->wake[0], buf, sizeof(buf)) > 0)
				;
			return 0;
		}
		err = run_watches(s);
		if (err < 0)
			return err;
		qvmid_pmem_server_dispatch(s, s->pfd + 1 + s->nwatch);
	}
}

/*
 * The server goes (QEMU died, SIGTERM): every request already in flight or
 * already sent gets the protocol's failure reply (a read: zeros, then
 * status 0; a write: status 0, nothing applied), so clients learn their
 * reads failed instead of seeing a reset mid-reply.  Ends when no client
 * has sent anything for DRAIN_IDLE_MS, or at DRAIN_MS in all.
 */
static void drain(struct qvmid_pmem_server *s)
{
	int64_t deadline = pmem_now_ms() + DRAIN_MS;
	unsigned int i;

	s->dying = true;
	for (i = 0; i < s->nconns; i++) {
		if (s->conns[i]->rd_active)
			s->conns[i]->rd_failed = true;
		s->conns[i]->may_read = true;
	}
	while (s->nconns && pmem_now_ms() < deadline) {
		for (i = 0; i < s->nconns;) {
			if (conn_step(s, s->conns[i]))
				i++;
			else
				conn_close(s, i);
		}
		for (i = 0; i < s->nconns; i++) {
			struct conn *c = s->conns[i];

			s->pfd[i] = (struct pollfd){
				c->fd,
				c->out_len || c->rd_active ? POLLOUT : POLLIN, 0
			};
		}
		if (poll(s->pfd, s->nconns, DRAIN_IDLE_MS) <= 0)
			break;
		for (i = 0; i < s->nconns; i++)
			s->conns[i]->may_read |= !!s->pfd[i].revents;
	}
}

void qvmid_pmem_server_destroy(struct qvmid_pmem_server *s)
{
	if (!s)
		return;
	if (s->pfd)
		drain(s);
	while (s->nconns)
		conn_close(s, s->nconns - 1);
	qvmid_unix_close(&s->l); /* removes the socket if still ours */
	for (int i = 0; i < 2; i++)
		if (s->wake[i] >= 0)
			close(s->wake[i]);
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	for (int i = 0; i < STAGE_MAX; i++)
		free(s->stage[i]);
	free(s->mapped);
	free(s->conns);
	free(s->pfd);
	free(s);
}
