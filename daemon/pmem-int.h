/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pmemaccess server internals shared by pmem-server.c (sockets,
 * connections, the loop), pmem-request.c (requests), pmem-read.c (read
 * replies), pmem-worker.c and pmem-snap.c (worker threads, their map).
 */
#ifndef QVMID_PMEM_INT_H
#define QVMID_PMEM_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>

#include "pmem-server.h"
#include "attach/qvmid.h"
#include "proto/pmemaccess.h"

enum {
	IN_SIZE = 16 * 1024,
	CHUNK = 128 * 1024,
	STAGE_MAX = 4,
	WATCH_MAX = 4,
	BACKLOG = 4096, /* the kernel clamps it to net.core.somaxconn */
	ACCEPT_BURST = 64, /* accepts per loop turn, so clients get served */
	/* Work items per connection per loop turn: a small read takes a
	 * fill, a decode, a copy and a flush, and one more look to learn
	 * that nothing else is buffered; a piece of a big reply over
	 * SMALL_READ (at most 1 MiB) ends the turn.  So a client that
	 * pipelines requests or reads big ones delays the others on its
	 * thread by about one request's work per turn (issue 18). */
	STEP_BUDGET = 8,
	WORKERS_MAX = QVMID_PMEM_WORKERS_DEFAULT,
	/* Bytes one sendfile() may move: a work item of the same order as
	 * a CHUNK copy, so a big read cannot hog a turn. */
	SENDFILE_MAX = 1024 * 1024,
	/* Reads up to this long are copied whole, the status byte riding
	 * on the data (one send, one wake-up of the client). */
	SMALL_READ = 32 * 1024,
	READ_TAIL = 4 * 1024, /* copied end of a sendfile'd reply */
	SNDBUF_MAX = 1024 * 1024, /* SO_SNDBUF of a connection, at most */
	/* Guest-physical pages covered by the populate hint: 1 TiB, a
	 * 32 MiB bitmap at most, allocated lazily by the kernel (calloc). */
	MAPPED_PAGES_MAX = 1ull << 28,
	DEFAULT_MAX_CLIENTS = 1024,
	DEFAULT_IO_TIMEOUT_MS = 10000,
	/* On destroy: time to answer requests in flight as failures, and
	 * the quiet time after which no more are expected. */
	DRAIN_MS = 1000,
	DRAIN_IDLE_MS = 50,
};

struct conn {
	int fd;
	struct qvmi_pmem_decoder dec;
	uint8_t *in; /* IN_SIZE */
	size_t in_off, in_len;
	uint8_t *out; /* CHUNK + 1 */
	size_t out_off, out_len;
	/* read reply being streamed */
	uint64_t rd_addr, rd_left;
	bool rd_active, rd_failed;
	bool may_read; /* the socket may hold input we have not taken */
	/* write payload being staged */
	uint8_t *stage;
	int stage_idx; /* -1: stage is out */
	size_t staged;
	bool w_active, w_failed, parked;
	bool runnable; /* has buffered work; serve without waiting on poll */
	int64_t last_ms;
	/* With workers: the worker it goes back to once the control thread
	 * has served what it was handed (a write, a read of a source that is
	 * no file), the request handed (QVMI_PMEM_EV_READ or _WRITE_BEGIN,
	 * decoded by the worker), and the map a worker's read started on. */
	int home;
	int handed;
	struct pmem_snap *snap;
	/* A worker's epoll registration: the events, and the slot of the
	 * turn's pollfd it is in. */
	bool ep_on;
	short ep_ev;
	unsigned int idx;
	/* Its worker's only connection, waited for in a blocking recv()
	 * (pmem-worker.c): the socket is blocking (O_NONBLOCK cleared,
	 * SO_RCVTIMEO set) until it moves on or sendfile()s; never_block:
	 * that failed once, so epoll it is. */
	bool blocking, rcvtimeo_set, never_block;
};

/* The workers' map (pmem-snap.c): immutable once published. */
struct pmem_snap_file; /* pmem-snap.c: a file's mapping, its pages */
struct pmem_snap_seg {
	uint64_t start, last, off; /* off: file offset of start */
	int fd; /* -1: not a file (the control thread serves it) */
	bool owner; /* this entry's fd is the snapshot's dup */
	struct pmem_snap_file *file; /* NULL: no mapping (copy) */
};
struct pmem_snap {
	unsigned int refs; /* atomic */
	bool gone; /* atomic: the RAM file's QEMU exited */
	uint64_t gen, flush_gen;
	struct qvmi_seg_view *fp; /* the ctx's segments it was made from */
	size_t nfp, n;
	struct pmem_snap_seg seg[];
};
enum pmem_snap_kind { SNAP_FILE, SNAP_NONE, SNAP_CTL };

/* Connections served by one thread: the control thread (id 0, over the
 * ctx) or a worker (id >= 1, over a snapshot). */
struct shard {
	struct qvmid_pmem_server *s;
	int id;
	struct conn **conns;
	unsigned int nconns;
	struct pollfd *pfd; /* workers: the conns (epoll fills revents) */
	int epfd; /* workers: epoll over the wake pipe and the conns */
	bool zero_copy; /* may send shared RAM with sendfile() */
	struct pmem_snap *snap; /* workers: the map, held */
	/* Written by this shard's thread only (relaxed atomic stores), so
	 * qvmid_pmem_server_stats() may sum them from another thread. */
	struct qvmid_pmem_stats st;
	/* Connections handed to this shard, and its wake-up pipe. */
	pthread_mutex_t mu;
	struct conn **inbox;
	unsigned int ninbox;
	int wake[2];
	bool stop; /* atomic */
	/* atomic: waiting in recv() on its one connection; kicks: times a
	 * SIGURG from the control thread ended that wait (pmem-worker.c) */
	bool in_recv;
	uint64_t kicks;
	pthread_t thr;
	bool started;
	/* atomic: connections whose home this worker is (the control
	 * thread adds, whichever thread frees one subtracts) */
	unsigned int load;
};

#define PMEM_ST_ADD(sh, f, n)                                     \
	__atomic_store_n(&(sh)->st.f, (sh)->st.f + (uint64_t)(n), \
			 __ATOMIC_RELAXED)

struct watch {
	int fd;
	qvmid_watch_fn fn;
	void *arg;
};

struct qvmid_pmem_server {
	struct qvmi_ctx *ctx;
	struct qvmid_pmem_opts o;
	struct qvmid_unix_listener l;
	int wake[2], spare_fd;
	struct shard ctl; /* the control thread's connections */
	struct shard *workers; /* o.workers of them */
	bool workers_tried; /* workers_up() ran */
	bool workers_failed; /* a worker did not start: no more are */
	unsigned int nclients; /* atomic: open connections, all shards */
	struct pollfd *pfd; /* run(): wake, watches, then prepare()'s */
	/* The workers' map: published under snap_mu, its gen also in
	 * snap_gen (atomic) so a worker checks it with one load. */
	pthread_mutex_t snap_mu;
	struct pmem_snap *snap;
	uint64_t snap_gen;
	/* atomic: the ctx's layout is stale, workers hand reads over */
	bool map_stale;
	/* atomic: the control thread sleeps with no timer; the next worker
	 * read wakes it (the layout's poll: pmem-snap.c) */
	bool lay_armed;
	uint64_t reads_seen; /* qvmid_pmem_worker_reads() at the last turn */
	uint8_t *stage[STAGE_MAX];
	bool stage_busy[STAGE_MAX];
	bool kick; /* a staging buffer came free: poll without waiting */
	bool kick_seen; /* kick as of this turn's prepare */
	bool zero_copy; /* serve shared RAM with sendfile() */
	/* Pages (by guest-physical page number, below mapped_pages) already
	 * in our page tables: a hint only, see populate(). */
	uint64_t *mapped;
	uint64_t mapped_pages;
	bool no_populate; /* kernel < 5.14: no MADV_POPULATE_READ */
	bool mapped_tried; /* mapped_alloc() ran */
	bool dying; /* destroy: every request fails */
	struct watch watch[WATCH_MAX];
	unsigned int nwatch;
};

static inline int64_t pmem_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void qvmid_pmem_log(struct qvmid_pmem_server *s, enum qvmi_log_level lvl,
		    const char *fmt, ...) QVMI_PRINTF(3, 4);

/* Move a read reply on (pmem-read.c).  1: progress, 0: would block,
 * -1: close. */
int qvmid_pmem_read_step(struct shard *sh, struct conn *c);

/* pmem-snap.c */
void qvmid_pmem_snap_update(struct qvmid_pmem_server *s);
uint64_t qvmid_pmem_worker_reads(const struct qvmid_pmem_server *s);
void qvmid_pmem_snap_take(struct qvmid_pmem_server *s, struct pmem_snap **cur);
struct pmem_snap *qvmid_pmem_snap_get(struct pmem_snap *m);
void qvmid_pmem_snap_put(struct pmem_snap *m);
enum pmem_snap_kind qvmid_pmem_snap_class(const struct pmem_snap *m, uint64_t a,
					  uint64_t len);
int qvmid_pmem_snap_file(const struct pmem_snap *m, uint64_t a, size_t len,
			 struct qvmi_pa_file *ret);
/* [a, a + len) in m's own mapping of its file, if one segment holds it
 * and the file holds every page of it (never a hole: a touch through
 * the mapping would allocate it); else NULL. */
const uint8_t *qvmid_pmem_snap_mapped(const struct pmem_snap *m, uint64_t a,
				      size_t len);

/* pmem-request.c, for pmem-server.c: a write's staging buffer (false:
 * none free, the connection parks), the request a worker handed over,
 * and the next event in c->in (STEP_*). */
bool qvmid_pmem_stage_get(struct qvmid_pmem_server *s, struct conn *c);
void qvmid_pmem_stage_put(struct qvmid_pmem_server *s, struct conn *c);
void qvmid_pmem_take_handed(struct qvmid_pmem_server *s, struct conn *c);
int qvmid_pmem_handle_input(struct shard *sh, struct conn *c);

/* pmem-server.c, for pmem-worker.c */
enum { STEP_CLOSE = -1, STEP_KEEP = 0, STEP_MOVED = 1 };
int qvmid_pmem_conn_step(struct shard *sh, struct conn *c);
nfds_t qvmid_pmem_shard_prepare(struct shard *sh, struct pollfd *pfd,
				int64_t *next, bool *busy);
void qvmid_pmem_shard_serve(struct shard *sh, const struct pollfd *pfd,
			    nfds_t n);
void qvmid_pmem_conn_free(struct shard *sh, struct conn *c);

/* Take what c's socket holds (recv with flags, into c->in).  1: taken,
 * or EINTR (c->in_off == c->in_len then); 0: nothing yet; -1: EOF or an
 * error, close. */
int qvmid_pmem_conn_fill(struct conn *c, int flags);
/* pmem-worker.c: take c out of worker sh's epoll set (it moves on). */
void qvmid_pmem_unwatch(struct shard *sh, struct conn *c);
/* pmem-worker.c: c's socket non-blocking again; false: it stays
 * blocking (fcntl failed). */
bool qvmid_pmem_conn_nonblock(struct conn *c);
/* pmem-worker.c: hand c to shard to (the control thread or a worker). */
void qvmid_pmem_hand(struct shard *to, struct conn *c);
/* Take the connections handed to sh into it. */
void qvmid_pmem_adopt(struct shard *sh);
int qvmid_pmem_shard_init(struct shard *sh, struct qvmid_pmem_server *s,
			  int id);
void qvmid_pmem_shard_fini(struct shard *sh);
/* The workers' slots, none started yet. */
int qvmid_pmem_workers_start(struct qvmid_pmem_server *s);
/* The worker for a new connection, started if need be; NULL: none. */
struct shard *qvmid_pmem_worker_pick(struct qvmid_pmem_server *s);
/* Control thread, after handing w a connection or telling it to stop:
 * end its wait in recv() now, not at the timeout. */
void qvmid_pmem_worker_kick(struct shard *w);
/* Stop and join every worker; their connections go to the control
 * thread. */
void qvmid_pmem_workers_stop(struct qvmid_pmem_server *s);

#endif
