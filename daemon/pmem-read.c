// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pmemaccess read replies: pages the RAM file holds go from QEMU's RAM
 * mapping in one sendmsg() with the status byte (read_mapped); a range
 * with holes goes by sendfile() from the file, which never allocates a
 * hole of a sparse file; other sources and small replies with holes are
 * copied (pread / qvmi_read_pa).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pmem-int.h"

/* The populate hint covers guest-physical pages up to the end of the
 * last host-mapped segment (capped), as the map is at the first read from
 * a mapping.  Without it (no memory), every read from the mapping
 * populates first: slower, never wrong. */
static void mapped_alloc(struct qvmid_pmem_server *s)
{
	struct qvmi_seg_view g;
	uint64_t end = 0;

	s->mapped_tried = true;
	for (size_t i = 0; !qvmi__ctx_seg(s->ctx, i, &g); i++)
		if (g.host)
			end = QVMI_MAX(end, (g.last >> 12) + 1);
	s->mapped_pages = QVMI_MIN(end, (uint64_t)MAPPED_PAGES_MAX);
	if (s->mapped_pages)
		s->mapped = calloc(s->mapped_pages / 64 + 1, 8);
	if (!s->mapped)
		s->mapped_pages = 0;
}

/* pread exactly len bytes (a short count means EOF: the file shrank). */
static bool pread_all(int fd, uint8_t *out, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, out, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		out += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return true;
}

/* Where [a, a + len) starts in a file: a worker's read looks in the map
 * it started on, the control thread asks the ctx. */
static int pa_file(struct shard *sh, const struct conn *c, uint64_t a,
		   size_t len, struct qvmi_pa_file *f)
{
	if (sh->id) {
		f->len = len;
		return qvmid_pmem_snap_file(c->snap, a, len, f);
	}
	return qvmi__pa_file(sh->s->ctx, a, len, f);
}

/*
 * Copy [a, a + n) into out.  Shared RAM is pread from its file: a hole
 * reads as zeros and stays a hole, where a memcpy from the mapping (what
 * qvmi_read_pa does below QVMI_BULK_MIN) would allocate it, and our page
 * tables never fault.  Other sources go through qvmi_read_pa, one
 * segment at a time (never on a worker: it serves files only); each turn
 * moves at least one byte.
 */
static bool copy_range(struct shard *sh, const struct conn *c, uint64_t a,
		       uint8_t *out, size_t n)
{
	struct qvmid_pmem_server *s = sh->s;

	for (size_t done = 0; done < n;) {
		struct qvmi_pa_file f;
		int err = pa_file(sh, c, a + done, n - done, &f);

		if (err == -EOPNOTSUPP && !sh->id) {
			if (qvmi_read_pa(s->ctx, a + done, out + done, f.len)) {
				qvmid_pmem_log(s, QVMI_LOG_DEBUG,
					       "pmem: read: %s",
					       qvmi_errmsg(s->ctx));
				return false;
			}
		} else if (err || !pread_all(f.fd, out + done, f.len, f.off)) {
			qvmid_pmem_log(s, QVMI_LOG_DEBUG,
				       "pmem: read 0x%" PRIx64 ": %s", a + done,
				       err ? strerror(-err) :
					     "RAM file unreadable");
			return false;
		}
		done += f.len;
	}
	return true;
}

/* Produce the next piece of a read reply into c->out. */
static void read_chunk(struct shard *sh, struct conn *c)
{
	size_t n = (size_t)QVMI_MIN((uint64_t)CHUNK, c->rd_left);

	if (!c->rd_failed && n && !copy_range(sh, c, c->rd_addr, c->out, n))
		c->rd_failed = true;
	/* Failed or not, the reply is length + 1 bytes: the client reads
	 * exactly that many and must stay in step. */
	if (c->rd_failed)
		memset(c->out, 0, n);
	c->rd_addr += n;
	c->rd_left -= n;
	c->out_off = 0;
	c->out_len = n;
	if (!c->rd_left) {
		/* the status byte rides on the last piece */
		c->out[c->out_len++] = c->rd_failed ? QVMI_PMEM_STATUS_FAIL :
						      QVMI_PMEM_STATUS_OK;
		PMEM_ST_ADD(sh, failed, c->rd_failed);
		c->rd_active = false;
	}
}

/* sendfile() failed with err (not EAGAIN/EINTR).  -1: the client is gone;
 * else the read goes on (copying, or as a failure). */
static int sendfile_failed(struct shard *sh, struct conn *c, int err)
{
	struct qvmid_pmem_server *s = sh->s;

	if (err == EPIPE || err == ECONNRESET || err == ENOTCONN)
		return -1;
	if (err == EINVAL || err == ENOSYS || err == EOPNOTSUPP) {
		/* this kernel or file cannot splice: copy from now on */
		qvmid_pmem_log(s, QVMI_LOG_INFO,
			       "pmem: sendfile: %s: copying instead",
			       strerror(err));
		sh->zero_copy = false;
		return 1;
	}
	/* I/O error or EOF (the file shrank: QEMU went away). */
	qvmid_pmem_log(s, QVMI_LOG_DEBUG,
		       "pmem: read 0x%" PRIx64 ": sendfile: %s", c->rd_addr,
		       err ? strerror(err) : "end of file");
	c->rd_failed = true;
	return 1;
}

/*
 * Send the next piece of a read reply straight from the RAM file, all but
 * its last READ_TAIL bytes: those are copied, so the status byte rides on
 * them and the client wakes once for the end of the reply, not twice.
 * 1: progress, 0: would block, -1: close, 2: not a file here (copy).
 */
static int read_sendfile(struct shard *sh, struct conn *c)
{
	size_t want = (size_t)QVMI_MIN(c->rd_left - READ_TAIL,
				       (uint64_t)SENDFILE_MAX);
	struct qvmi_pa_file f;
	int err = pa_file(sh, c, c->rd_addr, want, &f);
	ssize_t n;
	off_t off;

	if (err == -EIO) { /* the RAM file is stale: QEMU exited */
		c->rd_failed = true;
		return 1;
	}
	/* a blocking socket (a worker's one connection) would hold the
	 * thread until the client reads: copy if it cannot be made
	 * non-blocking */
	if (err || !qvmid_pmem_conn_nonblock(c))
		return 2;
	off = (off_t)f.off;
	n = sendfile(c->fd, f.fd, &off, f.len);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n < 0 && errno == EINTR)
		return 1;
	if (n <= 0)
		return sendfile_failed(sh, c, n ? errno : 0);
	c->rd_addr += (uint64_t)n;
	c->rd_left -= (uint64_t)n; /* still >= READ_TAIL */
	PMEM_ST_ADD(sh, sendfile_bytes, n);
	c->last_ms = pmem_now_ms();
	return 1;
}

/*
 * Map [p, p + n) (guest-physical a on) into our page tables before the
 * socket copies from it.  A first touch inside sendmsg() costs a page
 * fault per 16 pages (~18 us each on this VM host, more than a whole warm
 * 4 KiB round trip); MADV_POPULATE_READ (Linux 5.14) maps the
 * range in one call and allocates nothing, because qvmi__ctx_pa_host()
 * (attach/qvmid.h) has just seen every page in the file.  The bitmap only saves that call later:
 * a stale bit (the map changed) costs a fault, never a wrong byte.
 */
static void populate(struct qvmid_pmem_server *s, const uint8_t *p, uint64_t a,
		     size_t n)
{
	uint64_t pg = a >> 12, last = (a + n - 1) >> 12, i;
	uintptr_t lo = (uintptr_t)p & ~(uintptr_t)4095;

	if (s->no_populate)
		return;
	if (!s->mapped_tried)
		mapped_alloc(s);
	for (i = pg; i <= last && i < s->mapped_pages; i++)
		if (!(s->mapped[i / 64] & (1ull << (i % 64))))
			break;
	if (i > last)
		return;
	if (madvise((void *)lo, (uintptr_t)p + n - lo, MADV_POPULATE_READ)) {
		s->no_populate = errno == EINVAL;
		return; /* the copy faults the pages in, or fails (EFAULT) */
	}
	for (i = pg; i <= last && i < s->mapped_pages; i++)
		s->mapped[i / 64] |= 1ull << (i % 64);
}

/*
 * Send the next piece of a read reply straight from the RAM mapping, the
 * status byte in the same sendmsg() when the piece ends the reply: one
 * syscall and one copy (into the socket) per reply, where pread + send
 * took two of each.  1: progress, 0: would block, -1: close, 2: not
 * mapped here (copy).
 */
static int read_mapped(struct shard *sh, struct conn *c)
{
	struct qvmid_pmem_server *s = sh->s;
	size_t n = (size_t)QVMI_MIN(c->rd_left, (uint64_t)SENDFILE_MAX);
	uint8_t status = QVMI_PMEM_STATUS_OK;
	struct iovec iov[2];
	struct msghdr mh = { .msg_iov = iov };
	const uint8_t *p;
	bool gone;
	ssize_t w;

	if (!n)
		return 2;
	if (sh->id) { /* a worker: the map's own mapping (pmem-snap.c) */
		p = qvmid_pmem_snap_mapped(c->snap, c->rd_addr, n);
		if (!p)
			return 2;
	} else {
		p = qvmi__ctx_pa_host(s->ctx, c->rd_addr, n, &gone);
		if (gone) {
			c->rd_failed = true;
			return 1;
		}
		if (!p)
			return 2;
		populate(s, p, c->rd_addr, n);
	}
	iov[0] = (struct iovec){ (void *)p, n };
	iov[1] = (struct iovec){ &status, 1 };
	mh.msg_iovlen = n == c->rd_left ? 2 : 1;
	w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (w < 0 && errno == EINTR)
		return 1;
	/* EFAULT: the file shrank under the mapping (QEMU went away); the
	 * copy path finds out and answers failure. */
	if (w < 0 && errno == EFAULT)
		return 2;
	if (w <= 0)
		return -1;
	c->last_ms = pmem_now_ms();
	if ((size_t)w > n) { /* data and status: the reply is done */
		PMEM_ST_ADD(sh, mapped_bytes, n);
		c->rd_left = 0;
		c->rd_active = false;
		return 1;
	}
	/* Part of it: the rest (or the status byte alone, by read_chunk)
	 * goes when the socket has room. */
	PMEM_ST_ADD(sh, mapped_bytes, w);
	c->rd_addr += (uint64_t)w;
	c->rd_left -= (uint64_t)w;
	return 1;
}

/*
 * Move a read reply on.  1: progress, 0: would block, -1: close.  Pages
 * the RAM file holds go from the mapping, the status byte riding on the
 * last piece (one wake-up of the client): on Linux 6.18 that beats
 * sendfile's page references, which the receiver copies out 4 KiB at a
 * time (1 MiB of touched RAM: ~8 GiB/s one way against 5-7).  A range
 * with holes goes by sendfile, which sends them as zeros without
 * allocating them, its last READ_TAIL bytes copied with the status byte.
 * Other sources are copied.  A worker sends from its map's own mapping
 * of the file (pmem-snap.c), never from the ctx's.
 */
int qvmid_pmem_read_step(struct shard *sh, struct conn *c)
{
	int r;

	if (c->rd_failed) {
		read_chunk(sh, c);
		return 1;
	}
	r = read_mapped(sh, c);
	if (r != 2)
		return r;
	if (sh->zero_copy && c->rd_left > SMALL_READ) {
		r = read_sendfile(sh, c);
		if (r != 2)
			return r;
	}
	read_chunk(sh, c);
	return 1;
}
