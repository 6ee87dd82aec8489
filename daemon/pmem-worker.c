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
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
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

static void *worker_main(void *arg)
{
	struct shard *sh = arg;

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
		wait_turn(sh, n, (int)wait);
		qvmid_pmem_shard_serve(sh, sh->pfd, n);
	}
}

int qvmid_pmem_workers_start(struct qvmid_pmem_server *s)
{
	unsigned int n = s->o.workers;
	int err;

	struct shard *w;

	if (!n)
		return 0;
	w = calloc(n, sizeof(*w));
	if (!w)
		return -ENOMEM;
	/* Published before the threads start (release: stats() may read
	 * it from another thread); on failure the caller stops them. */
	__atomic_store_n(&s->workers, w, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < n; i++) {
		err = qvmid_pmem_shard_init(&w[i], s, (int)i + 1);
		if (err)
			return err;
		err = -pthread_create(&w[i].thr, NULL, worker_main, &w[i]);
		if (err)
			return err;
		{
			/* ps -L, top -H and perf tell the workers apart */
			char name[16];

			snprintf(name, sizeof(name), "qvmid-pmem%u",
				 (unsigned char)(i + 1)); /* <= 16 */
			pthread_setname_np(w[i].thr, name);
		}
		w[i].started = true;
	}
	return 0;
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

	for (unsigned int i = 0; s->workers && i < s->o.workers; i++) {
		struct shard *w = &s->workers[i];
		char one = 1;

		if (!w->started)
			continue;
		/* (w->s is set: it started) */
		__atomic_store_n(&w->stop, true, __ATOMIC_RELEASE);
		if (write(w->wake[1], &one, 1) < 0 && errno != EAGAIN)
			qvmid_pmem_log(s, QVMI_LOG_WARN, "pmem: stop: %s",
				       strerror(errno));
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
