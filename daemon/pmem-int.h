/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pmemaccess server internals shared by pmem-server.c (sockets,
 * connections, requests, the loop) and pmem-read.c (read replies).
 */
#ifndef QVMID_PMEM_INT_H
#define QVMID_PMEM_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <poll.h>
#include <time.h>

#include "pmem-server.h"
#include "core/internal.h"
#include "proto/pmemaccess.h"

enum {
	IN_SIZE = 16 * 1024,
	CHUNK = 128 * 1024,
	STAGE_MAX = 4,
	WATCH_MAX = 4,
	BACKLOG = 4096, /* the kernel clamps it to net.core.somaxconn */
	ACCEPT_BURST = 64, /* accepts per loop turn, so clients get served */
	STEP_BUDGET = 64, /* work items per connection per loop turn */
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
};

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
	struct conn **conns;
	unsigned int nconns;
	struct pollfd *pfd;
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
	struct qvmid_pmem_stats st;
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
int qvmid_pmem_read_step(struct qvmid_pmem_server *s, struct conn *c);

#endif
