// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pmemaccess server: non-blocking sockets, fixed buffers, connections
 * served by the control thread's poll() loop (the only one with the ctx)
 * or by worker threads (pmem-worker.c) over a snapshot of the map
 * (pmem-snap.c); a "shard" is one thread's connections, and the code
 * below serves either kind.
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
 *
 * This file: sockets, connections and the loop; what a decoded request
 * does is pmem-request.c, read replies pmem-read.c.
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
	int err;

	s->pfd = calloc(n + 3 + WATCH_MAX, sizeof(*s->pfd));
	if (!s->pfd)
		return -ENOMEM;
	if (pipe2(s->wake, O_NONBLOCK | O_CLOEXEC))
		return -errno;
	err = qvmid_pmem_shard_init(&s->ctl, s, 0);
	if (err)
		return err;
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
	s->ctl.wake[0] = s->ctl.wake[1] = -1;
	pthread_mutex_init(&s->snap_mu, NULL);
	if (!s->o.max_transfer)
		s->o.max_transfer = QVMI_PMEM_MAX_TRANSFER_DEFAULT;
	if (!s->o.max_clients)
		s->o.max_clients = DEFAULT_MAX_CLIENTS;
	if (s->o.io_timeout_ms <= 0)
		s->o.io_timeout_ms = DEFAULT_IO_TIMEOUT_MS;
	if (s->o.workers > WORKERS_MAX) {
		free(s);
		return -EINVAL;
	}
	raise_nofile();
	s->zero_copy = sigpipe_ignored();
	err = server_alloc(s);
	if (!err)
		err = qvmid_unix_listen(&s->l, path, BACKLOG, "pmem", s->o.log,
					s->o.log_arg);
	/* A client (LibVMI) asks for a server when it starts: serve it the
	 * map as QEMU has it now (issue 13), one QMP round trip later; the
	 * workers' map is made from it on the control thread's first turn. */
	if (!err)
		qvmi__map_stale(ctx);
	if (err) {
		qvmid_pmem_server_destroy(s);
		return err;
	}
	qvmid_pmem_log(s, QVMI_LOG_INFO,
		       "pmem: serving %s (max transfer %" PRIu64
		       ", workers: up to %u, %s)",
		       s->l.path, s->o.max_transfer, s->o.workers,
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

static void stats_add(struct qvmid_pmem_stats *r, const struct shard *sh)
{
	const struct qvmid_pmem_stats *t = &sh->st;

#define PMEM_ST_GET(f) (r->f += __atomic_load_n(&t->f, __ATOMIC_RELAXED))
	PMEM_ST_GET(accepted);
	PMEM_ST_GET(refused);
	PMEM_ST_GET(closed_timeout);
	PMEM_ST_GET(closed_too_big);
	PMEM_ST_GET(reads);
	PMEM_ST_GET(writes);
	PMEM_ST_GET(failed);
	PMEM_ST_GET(sendfile_bytes);
	PMEM_ST_GET(mapped_bytes);
#undef PMEM_ST_GET
}

/* Any thread: each shard's counters are moved by its own thread.  The
 * workers' slots appear on the control thread's first turn. */
void qvmid_pmem_server_stats(const struct qvmid_pmem_server *s,
			     struct qvmid_pmem_stats *ret)
{
	const struct shard *w = __atomic_load_n(&s->workers, __ATOMIC_ACQUIRE);

	memset(ret, 0, sizeof(*ret));
	stats_add(ret, &s->ctl);
	for (unsigned int i = 0; w && i < s->o.workers; i++)
		stats_add(ret, &w[i]);
	ret->clients = __atomic_load_n(&s->nclients, __ATOMIC_RELAXED);
}

/* ---- connections ------------------------------------------------------- */

void qvmid_pmem_conn_free(struct shard *sh, struct conn *c)
{
	if (!sh->id) /* staging buffers: the control thread's */
		qvmid_pmem_stage_put(sh->s, c);
	qvmid_pmem_snap_put(c->snap);
	if (c->home > 0) /* (home is 0 once the workers are gone) */
		__atomic_sub_fetch(&sh->s->workers[c->home - 1].load, 1,
				   __ATOMIC_RELAXED);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
	__atomic_sub_fetch(&sh->s->nclients, 1, __ATOMIC_RELAXED);
}

/* Take connection i out of sh (it was served this turn or is closing). */
static struct conn *conn_unlink(struct shard *sh, unsigned int i)
{
	struct conn *c = sh->conns[i];

	sh->conns[i] = sh->conns[--sh->nconns];
	sh->conns[sh->nconns] = NULL;
	return c;
}

static void conn_close(struct shard *sh, unsigned int i)
{
	qvmid_pmem_conn_free(sh, conn_unlink(sh, i));
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
	c->handed = QVMI_PMEM_EV_NONE;
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
	PMEM_ST_ADD(&s->ctl, refused, 1);
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

/* A new connection goes to a worker (qvmid_pmem_worker_pick), or stays
 * with the control thread when there is none. */
static void conn_place(struct qvmid_pmem_server *s, struct conn *c)
{
	struct shard *w = s->o.workers ? qvmid_pmem_worker_pick(s) : NULL;

	__atomic_add_fetch(&s->nclients, 1, __ATOMIC_RELAXED);
	if (!w) {
		s->ctl.conns[s->ctl.nconns++] = c;
		return;
	}
	c->home = w->id;
	__atomic_add_fetch(&w->load, 1, __ATOMIC_SEQ_CST);
	qvmid_pmem_hand(w, c);
	qvmid_pmem_worker_kick(w); /* if it waits on its other one */
}

static void accept_some(struct qvmid_pmem_server *s)
{
	for (int n = 0; n < ACCEPT_BURST; n++) {
		int fd = accept4(s->l.fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		unsigned int open_now =
			__atomic_load_n(&s->nclients, __ATOMIC_RELAXED);
		struct conn *c;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				qvmid_pmem_log(s, QVMI_LOG_WARN,
					       "pmem: out of file descriptors");
				shed_one(s);
			}
			return; /* EAGAIN, or retry on the next turn */
		}
		c = open_now < s->o.max_clients ? conn_new(s, fd) : NULL;
		if (!c) {
			/* Graceful refusal: the client sees EOF at once. */
			PMEM_ST_ADD(&s->ctl, refused, 1);
			if (s->ctl.st.refused == 1 ||
			    !(s->ctl.st.refused % 1000))
				qvmid_pmem_log(
					s, QVMI_LOG_WARN,
					"pmem: %u clients: refusing (%" PRIu64
					" so far)",
					open_now, s->ctl.st.refused);
			close(fd);
			continue;
		}
		set_sndbuf(s, fd);
		PMEM_ST_ADD(&s->ctl, accepted, 1);
		conn_place(s, c);
	}
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

int qvmid_pmem_conn_fill(struct conn *c, int flags)
{
	ssize_t n = recv(c->fd, c->in, IN_SIZE, flags);

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

/* Nothing of c's is in progress: it may change threads. */
static bool conn_idle(const struct conn *c)
{
	return !c->out_len && !c->rd_active && !c->w_active && !c->parked;
}

/* A reply has just gone out whole and the client has pipelined another
 * request: that one waits for the next turn, so the others on this
 * thread wait for one request of c's, not for a burst of them. */
static bool turn_over(const struct conn *c)
{
	return !c->out_len && !c->rd_active && c->in_off < c->in_len;
}

/*
 * Serve c as far as it goes without blocking, STEP_BUDGET work items at
 * most, and one reply when more requests are buffered: STEP_KEEP,
 * STEP_CLOSE, or STEP_MOVED (to the control thread, or back to its
 * worker once the control thread is done with it).
 */
int qvmid_pmem_conn_step(struct shard *sh, struct conn *c)
{
	c->runnable = false;
	for (int budget = STEP_BUDGET; budget > 0; budget--) {
		int r;

		if (!sh->id && c->home && conn_idle(c))
			return STEP_MOVED;
		if (c->out_len) {
			r = conn_flush(c);
			if (r <= 0)
				return r ? STEP_CLOSE : STEP_KEEP;
			if (turn_over(c))
				break;
			continue;
		}
		if (c->rd_active) {
			uint64_t left = c->rd_left;

			r = qvmid_pmem_read_step(sh, c);
			if (r <= 0)
				return r ? STEP_CLOSE : STEP_KEEP;
			if (!c->rd_active && c->snap) {
				qvmid_pmem_snap_put(c->snap);
				c->snap = NULL;
			}
			/* A big piece (up to SENDFILE_MAX) is a turn's work:
			 * the others on this thread go first. */
			if (left - c->rd_left > SMALL_READ || turn_over(c))
				break;
			continue;
		}
		if (c->parked) {
			if (!qvmid_pmem_stage_get(sh->s, c))
				return STEP_KEEP;
			c->parked = false;
		}
		/* A write whose payload is complete needs no more input. */
		if (c->in_off == c->in_len &&
		    !(c->dec.in_payload && !c->dec.payload_left)) {
			if (!c->may_read)
				return STEP_KEEP; /* wait for POLLIN */
			r = qvmid_pmem_conn_fill(c, MSG_DONTWAIT);
			if (r <= 0)
				return r ? STEP_CLOSE : STEP_KEEP;
		}
		r = qvmid_pmem_handle_input(sh, c);
		if (r != STEP_KEEP)
			return r;
	}
	c->runnable = true; /* used its share: others go first */
	return STEP_KEEP;
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

/* Listener, the control thread's wake-up pipe, its connections. */
unsigned int qvmid_pmem_server_nfds(const struct qvmid_pmem_server *s)
{
	return 2 + s->ctl.nconns;
}

nfds_t qvmid_pmem_shard_prepare(struct shard *sh, struct pollfd *pfd,
				int64_t *next, bool *busy)
{
	struct qvmid_pmem_server *s = sh->s;

	for (unsigned int i = 0; i < sh->nconns; i++) {
		struct conn *c = sh->conns[i];
		/* A read in progress waits only for room (sendfile). */
		short ev = c->out_len || c->rd_active ? POLLOUT :
			   c->parked		      ? 0 :
							POLLIN;

		if (c->runnable || (c->parked && s->kick_seen))
			*busy = true;
		*next = QVMI_MIN(*next, conn_deadline(s, c));
		pfd[i] = (struct pollfd){ c->fd, ev, 0 };
	}
	return sh->nconns;
}

/*
 * The workers' slots are made on the control thread's first turn, and a
 * worker starts when a connection needs it (qvmid_pmem_worker_pick), not
 * at create: qvmid forks (--daemonize) after creating its servers, and a
 * fork keeps only the thread that made it.  Without them the control
 * thread serves every connection, as with 0 workers.
 */
static void workers_up(struct qvmid_pmem_server *s)
{
	int err;

	s->workers_tried = true;
	err = qvmid_pmem_workers_start(s);
	if (!err)
		return;
	qvmid_pmem_log(s, QVMI_LOG_WARN,
		       "pmem: %u workers: %s: serving on the main loop",
		       s->o.workers, strerror(-err));
	qvmid_pmem_workers_stop(s);
	s->o.workers = 0;
}

/* While workers read a QMP attach's memory, turn every POLL_MS (20 ms,
 * layout-live.c) to poll its layout; idle, sleep until a read wakes us. */
static void lay_timer(struct qvmid_pmem_server *s, int64_t *next)
{
	if (!qvmi__ctx_layout_live(s->ctx))
		return;
	if (qvmid_pmem_worker_reads(s) != s->reads_seen)
		*next = QVMI_MIN(*next, pmem_now_ms() + 20);
	else
		__atomic_store_n(&s->lay_armed, true, __ATOMIC_RELEASE);
}

nfds_t qvmid_pmem_server_prepare(struct qvmid_pmem_server *s,
				 struct pollfd *pfd, int64_t *next, bool *busy)
{
	if (s->o.workers && !s->workers_tried)
		workers_up(s);
	if (s->o.workers)
		lay_timer(s, next);
	s->kick_seen = s->kick;
	s->kick = false;
	pfd[0] = (struct pollfd){ s->l.fd, POLLIN, 0 };
	pfd[1] = (struct pollfd){ s->ctl.wake[0], POLLIN, 0 };
	return 2 + qvmid_pmem_shard_prepare(&s->ctl, pfd + 2, next, busy);
}

/* c leaves sh: from a worker to the control thread, or back home. */
static void conn_move(struct shard *sh, struct conn *c)
{
	struct qvmid_pmem_server *s = sh->s;

	if (sh->id) {
		qvmid_pmem_unwatch(sh, c);
		qvmid_pmem_conn_nonblock(c); /* (sendfile checks again) */
		qvmid_pmem_hand(&s->ctl, c);
		return;
	}
	qvmid_pmem_hand(&s->workers[c->home - 1], c);
}

/* Serve the first n connections of sh, polled with pfd. */
void qvmid_pmem_shard_serve(struct shard *sh, const struct pollfd *pfd,
			    nfds_t n)
{
	struct qvmid_pmem_server *s = sh->s;
	int64_t now = pmem_now_ms();

	/* Downwards: closing i moves the last connection (already served
	 * this turn) into slot i. */
	for (unsigned int i = (unsigned int)QVMI_MIN(n, (nfds_t)sh->nconns);
	     i-- > 0;) {
		struct conn *c = sh->conns[i];
		short re = pfd[i].revents;
		int r = STEP_KEEP;

		if (re & (POLLERR | POLLNVAL))
			r = STEP_CLOSE;
		else if (c->parked && (re & POLLHUP))
			r = STEP_CLOSE; /* nobody left to answer */
		else if (re || c->runnable || c->parked) {
			if (re & (POLLIN | POLLHUP))
				c->may_read = true;
			r = qvmid_pmem_conn_step(sh, c);
		} else if (conn_deadline(s, c) <= now) {
			qvmid_pmem_log(s, QVMI_LOG_INFO,
				       "pmem: closing a stalled client");
			PMEM_ST_ADD(sh, closed_timeout, 1);
			r = STEP_CLOSE;
		}
		if (r == STEP_CLOSE)
			conn_close(sh, i);
		else if (r == STEP_MOVED)
			conn_move(sh, conn_unlink(sh, i));
	}
}

void qvmid_pmem_server_dispatch(struct qvmid_pmem_server *s,
				const struct pollfd *pfd)
{
	unsigned int had = s->ctl.nconns;

	if (s->o.workers)
		qvmid_pmem_snap_update(s);
	qvmid_pmem_shard_serve(&s->ctl, pfd + 2, had);
	if (pfd[0].revents & POLLIN)
		accept_some(s);
	if (pfd[1].revents & POLLIN) {
		char buf[64];

		while (read(s->ctl.wake[0], buf, sizeof(buf)) > 0)
			;
	}
	/* Taken last, so prepare() polls them next turn (they are
	 * runnable: it will not wait). */
	qvmid_pmem_adopt(&s->ctl);
	for (unsigned int i = 0; i < s->ctl.nconns; i++)
		if (s->ctl.conns[i]->handed)
			qvmid_pmem_take_handed(s, s->ctl.conns[i]);
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
			/* stopped: the workers too, so that the stats read
			 * after run() returns count every reply sent (a
			 * worker counted its last one after the client had
			 * it: pmem_shm::workers_hole_becomes_data, 19 of
			 * 20 pages once under load) */
			qvmid_pmem_workers_stop(s);
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
 * has sent anything for DRAIN_IDLE_MS, or at DRAIN_MS in all.  The workers
 * are stopped by then: every connection is the control thread's.
 */
static void drain(struct qvmid_pmem_server *s)
{
	struct shard *sh = &s->ctl;
	int64_t deadline = pmem_now_ms() + DRAIN_MS;
	unsigned int i;

	s->dying = true;
	for (i = 0; i < sh->nconns; i++) {
		if (sh->conns[i]->rd_active)
			sh->conns[i]->rd_failed = true;
		sh->conns[i]->may_read = true;
	}
	while (sh->nconns && pmem_now_ms() < deadline) {
		bool busy = false;

		for (i = 0; i < sh->nconns;) {
			if (qvmid_pmem_conn_step(sh, sh->conns[i]) !=
			    STEP_CLOSE)
				i++;
			else
				conn_close(sh, i);
		}
		for (i = 0; i < sh->nconns; i++) {
			struct conn *c = sh->conns[i];

			busy |= c->runnable;
			s->pfd[i] = (struct pollfd){
				c->fd,
				c->out_len || c->rd_active ? POLLOUT : POLLIN, 0
			};
		}
		/* a connection with buffered work goes on at once */
		if (poll(s->pfd, sh->nconns, busy ? 0 : DRAIN_IDLE_MS) <= 0 &&
		    !busy)
			break;
		for (i = 0; i < sh->nconns; i++)
			sh->conns[i]->may_read |= !!s->pfd[i].revents;
	}
}

void qvmid_pmem_server_destroy(struct qvmid_pmem_server *s)
{
	if (!s)
		return;
	qvmid_pmem_workers_stop(s);
	/* Requests handed over but not begun fail in the drain too. */
	s->dying = true;
	for (unsigned int i = 0; i < s->ctl.nconns; i++)
		if (s->ctl.conns[i]->handed)
			qvmid_pmem_take_handed(s, s->ctl.conns[i]);
	if (s->pfd && s->ctl.conns)
		drain(s);
	while (s->ctl.nconns)
		conn_close(&s->ctl, s->ctl.nconns - 1);
	qvmid_pmem_shard_fini(&s->ctl);
	qvmid_unix_close(&s->l); /* removes the socket if still ours */
	for (int i = 0; i < 2; i++)
		if (s->wake[i] >= 0)
			close(s->wake[i]);
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	for (int i = 0; i < STAGE_MAX; i++)
		free(s->stage[i]);
	qvmid_pmem_snap_put(s->snap);
	pthread_mutex_destroy(&s->snap_mu);
	free(s->mapped);
	free(s->pfd);
	free(s);
}
