// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pmemaccess client source: guest-physical memory over LibVMI's pmemaccess
 * unix-socket protocol (docs/PMEMACCESS.md), served by qvmid or a patched
 * QEMU.  One blocking connection with socket timeouts on every wait; long
 * reads pipeline up to PIPE_MAX requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "proto/pmemaccess.h"

enum { PMEM_TIMEOUT_MS = 5000 };

struct pmem_src {
	int fd; /* -1: not connected; the next access connects */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uint64_t max_transfer;
	int timeout_ms;
};

static void pmem_disconnect(struct pmem_src *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/*
 * After connect the socket blocks, with SO_RCVTIMEO/SO_SNDTIMEO bounding
 * every wait: a read is then one sendmsg (the header) and one recvmsg
 * (MSG_WAITALL, straight into the caller's buffer and the status byte),
 * where a non-blocking socket took a recv that said EAGAIN, a poll and
 * one recv each for data and status (5 syscalls at ~2.5 us on a VM host,
 * against a ~10 us round trip).  SO_RCVBUF is not set: an AF_UNIX stream
 * queues at the receiver what the sender's SO_SNDBUF allows (the server
 * sets that to the transfer size).
 */
static int pmem_set_blocking(struct pmem_src *p)
{
	struct timeval tv = { p->timeout_ms / 1000,
			      (p->timeout_ms % 1000) * 1000 };
	int fl = fcntl(p->fd, F_GETFL);

	if (fl < 0 || fcntl(p->fd, F_SETFL, fl & ~O_NONBLOCK) ||
	    setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(p->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return -errno;
	return 0;
}

static int pmem_connect(struct qvmi_ctx *ctx, struct pmem_src *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = qvmi__mono_ms() + p->timeout_ms;
	int err;

	memcpy(sa.sun_path, p->path, sizeof(p->path));
	p->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (p->fd < 0)
		return qvmi__err(ctx, -errno, "pmem: socket: %s",
				 strerror(errno));
	/* A unix connect() fails with EAGAIN while the listener's backlog is
	 * full; retry until the deadline. */
	while (connect(p->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		if (err != -EAGAIN && err != -EINTR)
			goto fail;
		if (qvmi__mono_ms() >= deadline) {
			err = -ETIMEDOUT;
			goto fail;
		}
		nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
	}
	err = pmem_set_blocking(p);
	if (!err)
		return 0;
fail:
	pmem_disconnect(p);
	return qvmi__err(ctx, err, "pmem: connect %s: %s", p->path,
			 strerror(-err));
}

/* Drop [0, n) from the front of iov[0..*cnt). */
static void iov_advance(struct iovec **iov, size_t *cnt, size_t n)
{
	while (*cnt && n >= (*iov)->iov_len) {
		n -= (*iov)->iov_len;
		(*iov)++;
		(*cnt)--;
	}
	if (*cnt) {
		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + n;
		(*iov)->iov_len -= n;
	}
}

/*
 * Send or receive all of iov[0..cnt) (modified).  Each call waits at most
 * timeout_ms (the socket's timeouts); the transfer gives up at the first
 * wait that ends past the deadline.  A failure leaves the stream out of
 * step, so it drops the connection.
 */
static int pmem_xfer(struct qvmi_ctx *ctx, struct pmem_src *p,
		     struct iovec *iov, size_t cnt, bool out, int64_t deadline)
{
	int err = 0;

	iov_advance(&iov, &cnt, 0); /* empty entries (len 0 reads) */
	while (cnt && !err) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = cnt };
		ssize_t n = out ? sendmsg(p->fd, &mh, MSG_NOSIGNAL) :
				  recvmsg(p->fd, &mh, MSG_WAITALL);

		if (n > 0)
			iov_advance(&iov, &cnt, (size_t)n);
		else if (n == 0)
			err = -EPIPE;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			err = -ETIMEDOUT;
		else if (errno != EINTR)
			err = errno == ECONNRESET ? -EPIPE : -errno;
		if (!err && cnt && qvmi__mono_ms() >= deadline)
			err = -ETIMEDOUT;
	}
	if (!err)
		return 0;
	if (err == -EPIPE)
		qvmi__err(ctx, err,
			  "pmem: %s closed the connection (request refused "
			  "or server gone)",
			  p->path);
	else
		qvmi__err(ctx, err, "pmem: %s %s: %s",
			  out ? "send to" : "receive from", p->path,
			  strerror(-err));
	pmem_disconnect(p);
	return err;
}

/* Requests in flight at once: a long read is split into max_transfer
 * pieces and their headers go in one sendmsg, so the server finds the next
 * request buffered when it finishes a reply (no round trip, no poll per
 * piece).  Replies still come back in order into the caller's buffer. */
enum { PIPE_MAX = 16 };

/*
 * Reads of [addr, addr + len), at most PIPE_MAX pieces of max_transfer:
 * the headers in one send, then each reply straight into buf with its
 * status byte.  Every reply is read even after a failed one, so the stream
 * stays in step.  Returns bytes covered (> 0), or negative errno; *failed
 * is set if the server answered failure for any piece.
 */
static ssize_t pmem_read_batch(struct qvmi_ctx *ctx, struct pmem_src *p,
			       uint64_t addr, uint8_t *buf, size_t len,
			       bool *failed)
{
	uint8_t hdr[PIPE_MAX][QVMI_PMEM_REQ_SIZE], status[PIPE_MAX];
	struct iovec iov[PIPE_MAX];
	size_t k = 0, done = 0, sz[PIPE_MAX];
	int64_t deadline = qvmi__mono_ms() + p->timeout_ms;
	int err;

	for (; k < PIPE_MAX && done < len; k++) {
		sz[k] = (size_t)QVMI_MIN((uint64_t)(len - done),
					 p->max_transfer);
		qvmi__pmem_encode_req(hdr[k], QVMI_PMEM_READ, addr + done,
				      sz[k]);
		iov[k] = (struct iovec){ hdr[k], sizeof(hdr[k]) };
		done += sz[k];
	}
	err = pmem_xfer(ctx, p, iov, k, true, deadline);
	for (size_t i = 0, off = 0; !err && i < k; off += sz[i++]) {
		struct iovec r[2] = { { buf + off, sz[i] }, { &status[i], 1 } };

		err = pmem_xfer(ctx, p, r, 2, false, deadline);
		*failed |= !err && status[i] != QVMI_PMEM_STATUS_OK;
	}
	return err ? err : (ssize_t)done;
}

/* One write of at most max_transfer bytes: header and payload in one
 * sendmsg, then the status byte. */
static int pmem_write_one(struct qvmi_ctx *ctx, struct pmem_src *p,
			  uint64_t addr, const uint8_t *buf, size_t len)
{
	uint8_t hdr[QVMI_PMEM_REQ_SIZE], status = 0;
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)buf, len } };
	struct iovec st = { &status, 1 };
	int64_t deadline = qvmi__mono_ms() + p->timeout_ms;
	int err;

	qvmi__pmem_encode_req(hdr, QVMI_PMEM_WRITE, addr, len);
	err = pmem_xfer(ctx, p, iov, 2, true, deadline);
	if (!err)
		err = pmem_xfer(ctx, p, &st, 1, false, deadline);
	if (err)
		return err;
	return status == QVMI_PMEM_STATUS_OK ? 0 : -EFAULT;
}

static int pmem_rw(struct qvmi_source *s, bool write, uint64_t addr,
		   uint8_t *buf, size_t len)
{
	struct pmem_src *p = qvmi_source_priv(s);
	struct qvmi_ctx *ctx = qvmi_source_ctx(s);
	bool failed = false;
	int err;

	if (p->fd < 0) {
		err = pmem_connect(ctx, p);
		if (err)
			return err;
	}
	while (len && !failed) {
		ssize_t n;

		if (write) {
			n = (ssize_t)QVMI_MIN((uint64_t)len, p->max_transfer);
			err = pmem_write_one(ctx, p, addr, buf, (size_t)n);
			failed = err == -EFAULT;
			if (err && !failed)
				return err;
		} else {
			n = pmem_read_batch(ctx, p, addr, buf, len, &failed);
			if (n < 0)
				return (int)n;
		}
		addr += (uint64_t)n;
		buf += n;
		len -= (size_t)n;
	}
	return failed ? -EFAULT : 0;
}

static int pmem_read(struct qvmi_source *s, uint64_t addr, void *buf,
		     size_t len)
{
	return pmem_rw(s, false, addr, buf, len);
}

static int pmem_write(struct qvmi_source *s, uint64_t addr, const void *buf,
		      size_t len)
{
	/* pmem_rw only sends from buf for writes. */
	return pmem_rw(s, true, addr, (uint8_t *)buf, len);
}

static void pmem_destroy(struct qvmi_source *s)
{
	struct pmem_src *p = qvmi_source_priv(s);
	uint8_t hdr[QVMI_PMEM_REQ_SIZE];

	if (p->fd >= 0) {
		/* Polite goodbye; the server ends the connection on EOF too. */
		qvmi__pmem_encode_req(hdr, QVMI_PMEM_QUIT, 0, 0);
		ssize_t n = send(p->fd, hdr, sizeof(hdr),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		(void)n;
	}
	pmem_disconnect(p);
	free(p);
}

static const struct qvmi_source_ops pmem_ops = {
	.name = "pmemaccess",
	.read = pmem_read,
	.write = pmem_write,
	.destroy = pmem_destroy,
};

/* [0, 2^64): qvmi_map_add() takes a size, which cannot say 2^64, so add
 * both halves and join them into the one catch-all segment the core
 * recognises (a segment of size 0 in qvmi_map_get()). */
static int map_everything(struct qvmi_ctx *ctx, struct qvmi_source *src)
{
	const uint64_t half = 1ull << 63;
	int err = qvmi_map_add(ctx, src, 0, half, 0);

	if (!err)
		err = qvmi_map_add(ctx, src, half, half, half);
	if (err)
		return err;
	/* Both adds override everything, so exactly these two remain. */
	if (ctx->nsegs == 2 && ctx->segs[0].src == src &&
	    ctx->segs[1].src == src) {
		ctx->segs[0].last = UINT64_MAX;
		ctx->nsegs = 1;
		ctx->seg_hint = 0;
	}
	return 0;
}

static bool pmem_readable(struct qvmi_ctx *ctx, uint64_t gpa)
{
	uint8_t b;

	return qvmi_read_pa(ctx, gpa, &b, 1) == 0;
}

/* Largest end in (lo, hi] such that [lo, end) reads, if lo reads. */
static uint64_t pmem_top(struct qvmi_ctx *ctx, uint64_t lo, uint64_t hi)
{
	uint64_t good = lo, bad = hi;

	if (!pmem_readable(ctx, lo))
		return lo;
	if (pmem_readable(ctx, hi - 1))
		return hi;
	/* at most 64 steps; page granularity is enough */
	while (bad - good > QVMI_PAGE_SIZE) {
		uint64_t mid = good + (bad - good) / 2;

		if (pmem_readable(ctx, mid))
			good = mid;
		else
			bad = mid;
	}
	return (good & ~(uint64_t)(QVMI_PAGE_SIZE - 1)) + QVMI_PAGE_SIZE;
}

/*
 * The pmemaccess protocol cannot report the memory map, yet scans (and the
 * Linux layer) need a RAM list.  Probe the usual PC layout with 1-byte
 * reads: low RAM from 1 MiB up to at most 0xb0000000 (below the q35 ECAM
 * and every PCI hole), and RAM from 4 GiB up.  Probes stay out of MMIO on
 * pc and q35, so no device sees a read.  opts.ram_size skips this.
 */
static int pmem_probe_ram(struct qvmi_ctx *ctx)
{
	uint64_t top = pmem_top(ctx, 0x100000, 0xb0000000);
	int err = 0;

	if (top <= 0x100000)
		return 0; /* nothing like a PC: keep only the catch-all */
	err = qvmi__ram_add(ctx, 0, 0xa0000);
	if (!err)
		err = qvmi__ram_add(ctx, 0x100000, top - 0x100000);
	top = pmem_top(ctx, 0x100000000ull, 0x10000000000ull);
	if (!err && top > 0x100000000ull)
		err = qvmi__ram_add(ctx, 0x100000000ull, top - 0x100000000ull);
	qvmi__log(ctx, QVMI_LOG_INFO, "pmem: probed %zu RAM ranges", ctx->nram);
	return err;
}

/* src owns p now: on failure the source stays, unmapped, until ctx goes. */
static int pmem_map(struct qvmi_ctx *ctx, struct qvmi_source *src,
		    uint64_t ram_size)
{
	int err;

	if (ram_size) {
		err = qvmi_map_add(ctx, src, 0, ram_size, 0);
		if (!err)
			err = qvmi__ram_add(ctx, 0, ram_size);
	} else {
		err = map_everything(ctx, src);
		if (!err)
			err = pmem_probe_ram(ctx);
	}
	if (!err && !strcmp(ctx->backend, "none"))
		ctx->backend = "pmemaccess";
	return err;
}

QVMI_API int qvmi_attach_pmem(struct qvmi_ctx *ctx, const char *path,
			      const struct qvmi_pmem_opts *opts)
{
	struct qvmi_source *src;
	struct pmem_src *p;
	int err;

	if (!ctx)
		return -EINVAL;
	if (!path || !QVMI_OPTS_VALID(opts, struct qvmi_pmem_opts))
		return qvmi__err(ctx, -EINVAL, "pmem: bad arguments");
	if (!*path || strlen(path) >= sizeof(p->path))
		return qvmi__err(ctx, -ENAMETOOLONG,
				 "pmem: socket path empty or too long");
	p = calloc(1, sizeof(*p));
	if (!p)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	memcpy(p->path, path, strlen(path) + 1);
	p->fd = -1;
	p->max_transfer = QVMI_OPTS_GET(opts, max_transfer, 0);
	if (!p->max_transfer)
		p->max_transfer = QVMI_PMEM_MAX_TRANSFER_DEFAULT;
	p->timeout_ms = QVMI_OPTS_GET(opts, timeout_ms, 0);
	if (p->timeout_ms <= 0)
		p->timeout_ms = PMEM_TIMEOUT_MS;
	err = pmem_connect(ctx, p);
	if (!err)
		err = qvmi_source_create(ctx, &pmem_ops, p, QVMI_SOURCE_SLOW,
					 &src);
	if (err) {
		pmem_disconnect(p);
		free(p);
		return err;
	}
	return pmem_map(ctx, src, QVMI_OPTS_GET(opts, ram_size, 0));
}
