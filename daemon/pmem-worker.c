// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pmemaccess worker threads (issue 18 item 4).
 *
 * Measured before this: with 10 to 100 concurrent clients reading 4 KiB at
 * random, the single-threaded server stayed at ~120 k reads/s while a
 * thread-per-connection server on the same RAM file reached 258-344 k/s.
 * So connections are spread over o.workers threads, each a poll() loop
 * over its share (the same code as the control thread's: pmem-server.c),
 * serving reads of shared RAM from the published map (pmem-snap.c).  A
 * connection lives on one thread at a time and moves only through a
 * shard's inbox (a mutex and a wake-up pipe), which orders everything the
 * old owner wrote before everything the new one reads: a connection is
 * never touched by two threads at once.
 *
 * A worker waits in epoll, not poll: with 32 clients on 2 workers a poll()
 * of 16 sockets per turn, most of them idle, cost more than the read it
 * woke up for.  Registrations change only when a connection's interest
 * does (a reply waiting for room), which 4 KiB reads never need.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "pmem-int.h"

int qvmid_pmem_shard_init(struct shard *sh, struct qvmid_pmem_server *s, int id)
{
	unsigned int n = s->o.max_clients;

	sh->s = s;
	sh->id = id;
	sh->zero_copy = s->zero_copy;
	sh->wake[0] = sh->wake[1] = -1;
	sh->epfd = -1;
	pthread_mutex_init(&sh->mu, NULL);
	sh->conns = calloc(n, sizeof(*sh->conns));
	sh->inbox = calloc(n, sizeof(*sh->inbox));
	sh->pfd = id ? calloc(n, sizeof(*sh->pfd)) : NULL;
	if (!sh->conns || !sh->inbox || (id && !sh->pfd))
		return -ENOMEM;
	if (pipe2(sh->wake, O_NONBLOCK | O_CLOEXEC))
		return -errno;
	if (id) {
		struct epoll_event ev = { .events = EPOLLIN };

		sh->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (sh->epfd < 0 ||
		    epoll_ctl(sh->epfd, EPOLL_CTL_ADD, sh->wake[0], &ev))
			return -errno; /* ev.data.ptr NULL: the wake-up */
	}
	return 0;
}

/* Only after the thread has stopped: frees what is left in the inbox. */
void qvmid_pmem_shard_fini(struct shard *sh)
{
	if (!sh->s)
		return;
	for (unsigned int i = 0; i < sh->ninbox; i++)
		qvmid_pmem_conn_free(sh, sh->inbox[i]);
	sh->ninbox = 0;
	while (sh->nconns)
		qvmid_pmem_conn_free(sh, sh->conns[--sh->nconns]);
	for (int i = 0; i < 2; i++)
		if (sh->wake[i] >= 0)
			close(sh->wake[i]);
	if (sh->epfd >= 0)
		close(sh->epfd);
	pthread_mutex_destroy(&sh->mu);
	qvmid_pmem_snap_put(sh->snap);
	sh->snap = NULL;
	free(sh->conns);
	free(sh->inbox);
	free(sh->pfd);
	sh->s = NULL;
}

/* The inbox never overflows: every connection is in exactly one place
 * and there are at most max_clients of them. */
void qvmid_pmem_hand(struct shard *to, struct conn *c)
{
	char one = 1;
	bool first;

	c->runnable = true;
	c->may_read = true;
	pthread_mutex_lock(&to->mu);
	to->inbox[to->ninbox++] = c;
	first = to->ninbox == 1;
	pthread_mutex_unlock(&to->mu);
	/* A full pipe already means "look at the inbox". */
	if (first && write(to->wake[1], &one, 1) < 0 && errno != EAGAIN)
		qvmid_pmem_log(to->s, QVMI_LOG_WARN, "pmem: wake-up: %s",
			       strerror(errno));
}

void qvmid_pmem_adopt(struct shard *sh)
{
	pthread_mutex_lock(&sh->mu);
	for (unsigned int i = 0; i < sh->ninbox; i++)
		sh->conns[sh->nconns++] = sh->inbox[i];
	sh->ninbox = 0;
	pthread_mutex_unlock(&sh->mu);
}

static void drain_pipe(int fd)
{
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

void qvmid_pmem_unwatch(struct shard *sh, struct conn *c)
{
	if (c->ep_on)
		epoll_ctl(sh->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	c->ep_on = false;
}

/* Bring the epoll set in line with what prepare() wants polled. */
static void rewatch(struct shard *sh, nfds_t n)
{
	for (nfds_t i = 0; i < n; i++) {
		struct conn *c = sh->conns[i];
		short want = sh->pfd[i].events;
		struct epoll_event ev = {
			.events = (want & POLLIN ? EPOLLIN : 0) |
				  (want & POLLOUT ? EPOLLOUT : 0),
			.data.ptr = c,
		};

		c->idx = (unsigned int)i;
		if (c->ep_on && c->ep_ev == want)
			continue;
		/* ENOMEM/ENOSPC: not watched, so served when runnable or
		 * timed out; logged */
		if (epoll_ctl(sh->epfd,
			      c->ep_on ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd,
			      &ev)) {
			qvmid_pmem_log(sh->s, QVMI_LOG_WARN,
				       "pmem: worker epoll: %s",
				       strerror(errno));
			continue;
		}
		c->ep_on = true;
		c->ep_ev = want;
	}
}

/* Wait for the connections (or the wake-up) and note what they have. */
static void wait_turn(struct shard *sh, nfds_t n, int wait)
{
	struct epoll_event ev[64];
	int k = epoll_wait(sh->epfd, ev, 64, wait);

	for (nfds_t i = 0; i < n; i++)
		sh->pfd[i].revents = 0;
	if (k < 0 && errno != EINTR)
		qvmid_pmem_log(sh->s, QVMI_LOG_WARN, "pmem: worker epoll: %s",
			       strerror(errno));
	for (int i = 0; i < k; i++) {
		struct conn *c = ev[i].data.ptr;
		uint32_t e = ev[i].events;

		if (!c) {
			drain_pipe(sh->wake[0]);
			continue;
		}
		sh->pfd[c->idx].revents = (short)((e & EPOLLIN ? POLLIN : 0) |
						  (e & EPOLLOUT ? POLLOUT : 0) |
						  (e & EPOLLHUP ? POLLHUP : 0) |
						  (e & EPOLLERR ? POLLERR : 0));
	}
}

/*
 * A worker with one connection, waiting for its next request, waits in
 * recv() itself: one syscall per request less than epoll_wait + recv,
 * and the wake-up goes straight to this thread.  Measured (bench
 * "pmem-load", 32 clients, a worker each): server CPU per read 12.0 ->
 * 10.6 us, where a thread-per-connection server doing pread + send takes
 * 10.2.  Two things must end such a wait: a stop, and a new connection
 * placed here (only once every worker has one).  The control thread
 * sends the worker SIGURG (a handler that does nothing, no SA_RESTART:
 * recv() fails with EINTR).  SIGURG is what Go's runtime uses the same
 * way: the kernel sends it only for TCP urgent data to a socket's owner
 * (F_SETOWN), which nothing here sets.  If the process already handles
 * SIGURG, or a kick lands just before the recv(), SO_RCVTIMEO ends the
 * wait within BLOCK_MS instead; the timeouts are checked then too.
 */
enum { BLOCK_MS = 100 };

static bool kick_ok; /* our SIGURG handler is installed */
static pthread_once_t kick_once = PTHREAD_ONCE_INIT;

static void kick_handler(int sig)
{
	(void)sig;
}

static void kick_init(void)
{
	struct sigaction old, sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	if (!sigaction(SIGURG, NULL, &old) && old.sa_handler == SIG_DFL &&
	    !(old.sa_flags & SA_SIGINFO))
		kick_ok = !sigaction(SIGURG, &sa, NULL);
}

void qvmid_pmem_worker_kick(struct shard *w)
{
	/* seq_cst, paired with wait_blocking(): it sees our change (the
	 * load, the stop) or we see it waiting */
	if (kick_ok && __atomic_load_n(&w->in_recv, __ATOMIC_SEQ_CST))
		pthread_kill(w->thr, SIGURG);
}

static bool may_block(const struct shard *sh, nfds_t n, bool busy)
{
	const struct conn *c = n == 1 ? sh->conns[0] : NULL;

	/* load 1: no other connection can come back here from the control
	 * thread while we wait (one that does would wait out BLOCK_MS per
	 * request); only a new one, once every worker has a connection,
	 * and that one kicks us */
	return c && !busy && !c->never_block && sh->pfd[0].events == POLLIN &&
	       __atomic_load_n(&sh->load, __ATOMIC_RELAXED) == 1;
}

static bool set_blocking(struct conn *c)
{
	struct timeval tv = { 0, BLOCK_MS * 1000 };
	int fl;

	if (c->blocking)
		return true;
	if (!c->rcvtimeo_set &&
	    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return false;
	c->rcvtimeo_set = true;
	fl = fcntl(c->fd, F_GETFL);
	if (fl < 0 || fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK))
		return false;
	c->blocking = true;
	return true;
}

/* Any thread holding c: its socket non-blocking again (before anything
 * that could block on it: sendfile, another thread's loop). */
bool qvmid_pmem_conn_nonblock(struct conn *c)
{
	int fl;

	if (!c->blocking)
		return true;
	fl = fcntl(c->fd, F_GETFL);
	if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK))
		return false;
	c->blocking = false;
	return true;
}

/* Wait for sh's one connection in recv(); its revents as poll's. */
static void wait_blocking(struct shard *sh)
{
	struct conn *c = sh->conns[0];
	int r;

	sh->pfd[0].revents = 0;
	if (!set_blocking(c)) {
		c->never_block = true;
		qvmid_pmem_conn_nonblock(c);
		sh->pfd[0].revents = POLLIN; /* epoll from now on */
		return;
	}
	__atomic_store_n(&sh->in_recv, true, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&sh->stop, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&sh->load, __ATOMIC_SEQ_CST) != 1) {
		__atomic_store_n(&sh->in_recv, false, __ATOMIC_RELAXED);
		return; /* told before the wait: the next turn sees it */
	}
	r = qvmid_pmem_conn_fill(c, 0);
	__atomic_store_n(&sh->in_recv, false, __ATOMIC_RELAXED);
	if (r < 0)
		sh->pfd[0].revents = POLLERR; /* EOF or an error: closed */
	else if (r && c->in_off < c->in_len)
		c->runnable = true; /* a request: served this turn */
	else if (r) /* EINTR: kicked */
		__atomic_store_n(&sh->kicks, sh->kicks + 1, __ATOMIC_RELAXED);
}

static void *worker_main(void *arg)
{
	struct shard *sh = arg;
	sigset_t urg;

	/* the control thread's mask may block SIGURG: a kick must get in */
	sigemptyset(&urg);
	sigaddset(&urg, SIGURG);
	if (kick_ok)
		pthread_sigmask(SIG_UNBLOCK, &urg, NULL);

	for (;;) {
		int64_t next = INT64_MAX, wait = -1;
		bool busy = false;
		nfds_t n;

		if (__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE))
			return NULL;
		qvmid_pmem_adopt(sh);
		n = qvmid_pmem_shard_prepare(sh, sh->pfd, &next, &busy);
		rewatch(sh, n);
		if (busy)
			wait = 0;
		else if (next != INT64_MAX)
			wait = QVMI_MAX(QVMI_MIN(next - pmem_now_ms(), 60000),
					0);
		if (may_block(sh, n, busy))
			wait_blocking(sh);
		else
			wait_turn(sh, n, (int)wait);
		qvmid_pmem_shard_serve(sh, sh->pfd, n);
	}
}

/* Whatever a worker's stack holds (an epoll batch, a mincore vector)
 * fits many times over; 64 threads of glibc's 8 MiB default would
 * reserve half a GiB of address space. */
enum { WORKER_STACK = 1024 * 1024 };

static int worker_start(struct qvmid_pmem_server *s, struct shard *w,
			unsigned int i)
{
	pthread_attr_t a;
	char name[16];
	int err = qvmid_pmem_shard_init(w, s, (int)i + 1);

	if (err)
		return err;
	err = -pthread_attr_init(&a);
	if (err)
		return err;
	err = -pthread_attr_setstacksize(&a, WORKER_STACK);
	if (!err)
		err = -pthread_create(&w->thr, &a, worker_main, w);
	pthread_attr_destroy(&a);
	if (err)
		return err;
	/* ps -L, top -H and perf tell the workers apart */
	snprintf(name, sizeof(name), "qvmid-pmem%u",
		 (unsigned char)(i + 1)); /* <= 16 */
	pthread_setname_np(w->thr, name);
	w->started = true;
	return 0;
}

/* The slots only: a worker starts when a connection needs it
 * (qvmid_pmem_worker_pick). */
int qvmid_pmem_workers_start(struct qvmid_pmem_server *s)
{
	struct shard *w;

	if (!s->o.workers)
		return 0;
	pthread_once(&kick_once, kick_init);
	w = calloc(s->o.workers, sizeof(*w));
	if (!w)
		return -ENOMEM;
	/* Published before any thread starts (release: stats() may read
	 * it from another thread). */
	__atomic_store_n(&s->workers, w, __ATOMIC_RELEASE);
	return 0;
}

/*
 * Control thread: the worker a new connection goes to.  A running one
 * with no connection, else a new one while fewer than o.workers run, else
 * the one with the fewest; NULL (the control thread serves it) if none
 * could start.  So each connection has a thread of its own until there
 * are o.workers of them.  Why not one worker per CPU: measured here (2
 * CPUs, 32 clients x 4 KiB reads, bench "pmem-load"), 2 workers of 16
 * connections each ran at 0.65-0.97x a thread-per-connection server, 32
 * workers at 0.84-0.95x.  The kernel co-locates a thread with the one it
 * wakes when they only wake each other (wake_affine); a worker waking 16
 * clients is "wide", so its replies were copied out on the other CPU:
 * 10x the reschedule IPIs, and the clients' own CPU per read went from
 * ~7.5 to ~10 us.
 */
struct shard *qvmid_pmem_worker_pick(struct qvmid_pmem_server *s)
{
	struct shard *best = NULL;
	unsigned int i, best_load = UINT_MAX;

	for (i = 0; i < s->o.workers && s->workers[i].started; i++) {
		struct shard *w = &s->workers[i];
		unsigned int load = __atomic_load_n(&w->load, __ATOMIC_RELAXED);

		if (!load)
			return w;
		if (load < best_load) {
			best = w;
			best_load = load;
		}
	}
	/* the started workers are a prefix: a failure starts no more */
	if (i < s->o.workers && !s->workers_failed) {
		int err = worker_start(s, &s->workers[i], i);

		if (!err)
			return &s->workers[i];
		s->workers_failed = true;
		qvmid_pmem_log(s, QVMI_LOG_WARN,
			       "pmem: worker %u: %s: no more workers", i + 1,
			       strerror(-err));
	}
	return best;
}

/*
 * Every connection comes home to the control thread, whatever it was
 * doing (the drain that follows answers requests in flight as failures);
 * a worker's read keeps its map reference until the connection closes.
 */
static void stats_fold(struct shard *to, const struct shard *from)
{
	const struct qvmid_pmem_stats *f = &from->st;

	PMEM_ST_ADD(to, accepted, f->accepted);
	PMEM_ST_ADD(to, refused, f->refused);
	PMEM_ST_ADD(to, closed_timeout, f->closed_timeout);
	PMEM_ST_ADD(to, closed_too_big, f->closed_too_big);
	PMEM_ST_ADD(to, reads, f->reads);
	PMEM_ST_ADD(to, writes, f->writes);
	PMEM_ST_ADD(to, failed, f->failed);
	PMEM_ST_ADD(to, sendfile_bytes, f->sendfile_bytes);
	PMEM_ST_ADD(to, mapped_bytes, f->mapped_bytes);
}

void qvmid_pmem_workers_stop(struct qvmid_pmem_server *s)
{
	struct shard *ctl = &s->ctl;

	/* All told first, then joined: a worker waiting in recv() whose
	 * kick is lost sees its stop within BLOCK_MS, and 32 of them in
	 * turn took 32 times that. */
	for (unsigned int i = 0; s->workers && i < s->o.workers; i++) {
		struct shard *w = &s->workers[i];
		char one = 1;

		if (!w->started)
			continue;
		/* (w->s is set: it started) */
		__atomic_store_n(&w->stop, true, __ATOMIC_SEQ_CST);
		if (write(w->wake[1], &one, 1) < 0 && errno != EAGAIN)
			qvmid_pmem_log(s, QVMI_LOG_WARN, "pmem: stop: %s",
				       strerror(errno));
		qvmid_pmem_worker_kick(w);
	}
	for (unsigned int i = 0; s->workers && i < s->o.workers; i++) {
		struct shard *w = &s->workers[i];

		if (!w->started)
			continue;
		pthread_join(w->thr, NULL);
		w->started = false;
	}
	if (!ctl->conns)
		return;
	qvmid_pmem_adopt(ctl);
	for (unsigned int i = 0; s->workers && i < s->o.workers; i++) {
		struct shard *w = &s->workers[i];

		if (!w->s)
			continue; /* a start that failed before it */
		qvmid_pmem_adopt(w);
		while (w->nconns) {
			struct conn *c = w->conns[--w->nconns];

			qvmid_pmem_unwatch(w, c);
			qvmid_pmem_conn_nonblock(c);
			ctl->conns[ctl->nconns++] = c;
		}
		qvmid_pmem_shard_fini(w);
	}
	for (unsigned int i = 0; i < ctl->nconns; i++)
		ctl->conns[i]->home = 0;
	{
		struct shard *w = s->workers;

		__atomic_store_n(&s->workers, NULL, __ATOMIC_RELEASE);
		/* their counts stay in the server's totals (the control
		 * thread's shard; a concurrent stats() may miss them for
		 * this moment, never count them twice) */
		for (unsigned int i = 0; w && i < s->o.workers; i++)
			stats_fold(ctl, &w[i]);
		free(w);
	}
}
