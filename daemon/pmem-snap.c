// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The memory map as the pmemaccess workers see it (pmem-worker.c): an
 * immutable copy of the ctx's segments, made by the control thread, the
 * only thread that touches the ctx.
 *
 * A libqvmi ctx is not thread-safe, and not even its lookups are pure
 * (qvmi__seg_find moves a hint, qvmi__pa_file may re-read the layout over
 * QMP, the shm source caches mincore results).  So the workers never see
 * the ctx: they serve reads that lie wholly in file-backed segments (shared
 * RAM) from this snapshot, by pread/sendfile on its own dup()s of the
 * files, and hand everything else (writes, other sources) to the control
 * thread.  When the map changes (a layout refresh after RESET, hot-plug: it
 * moves the ctx's flush generation) the control thread builds a new snapshot and
 * publishes it (RCU-like): a worker takes it between requests, a read in
 * progress finishes on the snapshot it started with, and the last
 * reference frees it, closing its fds.  So a request sees one whole map,
 * old or new, and a file the old map named stays open until no read uses
 * it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pmem-int.h"

/*
 * The snapshot's own read-only mapping of a RAM file, so a worker sends
 * pages the file holds straight from it (one sendmsg, one copy, as the
 * control thread does from QEMU's mapping) instead of pread + send.
 * Which pages the file holds is learnt as the shm source does it (mincore
 * once per 2 MiB window, then per page for one seen as a hole: a page
 * only goes from hole to data), in bitmaps the workers share with
 * atomic ORs.
 */
struct pmem_snap_file {
	const uint8_t *map;
	uint64_t size, pages;
	uint64_t *res, *win; /* atomic bits: page held, window learnt */
};

static void file_free(struct pmem_snap_file *f)
{
	if (!f)
		return;
	if (f->map)
		munmap((void *)f->map, f->size);
	free(f->res);
	free(f->win);
	free(f);
}

/* NULL (copy instead) when the file cannot be mapped or is empty. */
static struct pmem_snap_file *file_new(int fd)
{
	struct pmem_snap_file *f = calloc(1, sizeof(*f));
	struct stat st;
	void *p;

	if (!f || fstat(fd, &st) || st.st_size <= 0 ||
	    (uint64_t)st.st_size >= (1ull << 46)) {
		free(f);
		return NULL;
	}
	f->size = (uint64_t)st.st_size;
	f->pages = (f->size + 4095) >> 12;
	f->res = calloc(f->pages / 64 + 1, 8);
	f->win = calloc(f->pages / 512 / 64 + 1, 8);
	p = mmap(NULL, f->size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED || !f->res || !f->win) {
		if (p != MAP_FAILED)
			munmap(p, f->size);
		f->map = NULL;
		file_free(f);
		return NULL;
	}
	f->map = p;
	return f;
}

static bool bit(const uint64_t *b, uint64_t i)
{
	return __atomic_load_n(&b[i / 64], __ATOMIC_RELAXED) &
	       (1ull << (i % 64));
}

static void bit_or(uint64_t *b, uint64_t i)
{
	__atomic_fetch_or(&b[i / 64], 1ull << (i % 64), __ATOMIC_RELAXED);
}

/*
 * Learn which of pages [pg, pg + n) the file holds (n <= 512), and map
 * each run of them into our page tables at once: a first touch inside
 * sendmsg costs a fault per page or so (~18 us on this VM host, more than
 * a whole 4 KiB round trip); MADV_POPULATE_READ (Linux 5.14) maps pages
 * the file holds and allocates nothing, and holes are never in a run.
 */
static void file_learn(struct pmem_snap_file *f, uint64_t pg, uint64_t n)
{
	unsigned char vec[512];
	uint64_t run = 0;

	if (mincore((void *)(f->map + (pg << 12)), n << 12, vec))
		return;
	for (uint64_t i = 0; i <= n; i++) {
		if (i < n && (vec[i] & 1)) {
			bit_or(f->res, pg + i);
			run++;
			continue;
		}
		if (run > 1) /* a lone page: its own fault is as cheap */
			madvise((void *)(f->map + ((pg + i - run) << 12)),
				run << 12, MADV_POPULATE_READ);
		run = 0;
	}
}

static bool file_holds(struct pmem_snap_file *f, uint64_t off, size_t len)
{
	uint64_t pg = off >> 12, last = (off + len - 1) >> 12;

	if (off >= f->size || len > f->size - off)
		return false;
	for (; pg <= last; pg++) {
		uint64_t w = pg >> 9;

		if (bit(f->res, pg))
			continue;
		if (!bit(f->win, w)) {
			file_learn(f, w << 9,
				   QVMI_MIN(f->pages - (w << 9),
					    (uint64_t)512));
			bit_or(f->win, w);
		} else {
			file_learn(f, pg, 1);
		}
		if (!bit(f->res, pg))
			return false;
	}
	return true;
}

void qvmid_pmem_snap_put(struct pmem_snap *m)
{
	if (!m || __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL))
		return;
	for (size_t i = 0; i < m->n; i++)
		if (m->seg[i].fd >= 0 && m->seg[i].owner) {
			close(m->seg[i].fd);
			file_free(m->seg[i].file);
		}
	free(m->fp);
	free(m);
}

/* Another reference to m, which the caller holds one of. */
static struct pmem_snap *snap_ref(struct pmem_snap *m)
{
	__atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
	return m;
}

/* The fd (and mapping) of segment i's source in m: dup'd and mapped
 * once per source, however many segments. */
static void snap_fd(struct pmem_snap *m, const struct qvmi_seg_view *segs,
		    size_t i)
{
	const void *src = segs[i].src;
	struct pmem_snap_seg *s = &m->seg[i];

	s->owner = false;
	s->fd = -1;
	if (segs[i].file_fd < 0)
		return;
	for (size_t j = 0; j < i; j++)
		if (segs[j].src == src && m->seg[j].fd >= 0) {
			s->fd = m->seg[j].fd;
			s->file = m->seg[j].file;
			return;
		}
	s->owner = true;
	s->fd = fcntl(segs[i].file_fd, F_DUPFD_CLOEXEC, 0);
	s->file = s->fd >= 0 ? file_new(s->fd) : NULL;
}

static struct pmem_snap *snap_build(struct qvmi_ctx *ctx, uint64_t gen)
{
	size_t n = qvmi_map_count(ctx);
	struct pmem_snap *m = calloc(1, sizeof(*m) + n * sizeof(m->seg[0]));

	if (!m)
		return NULL;
	m->fp = n ? malloc(n * sizeof(*m->fp)) : NULL;
	if (n && !m->fp) {
		free(m);
		return NULL;
	}
	m->refs = 1;
	m->gen = gen;
	m->flush_gen = qvmi__ctx_flush_gen(ctx);
	m->nfp = n;
	for (size_t i = 0; i < n; i++)
		qvmi__ctx_seg(ctx, i, &m->fp[i]); /* i < n: cannot fail */
	for (size_t i = 0; i < n; i++) {
		const struct qvmi_seg_view *g = &m->fp[i];
		struct pmem_snap_seg *s = &m->seg[i];

		s->start = g->start;
		s->last = g->last;
		s->off = g->src_addr;
		/* A file we cannot dup (EMFILE) is served by the control
		 * thread, as a source that is no file. */
		snap_fd(m, m->fp, i);
		m->n = i + 1;
	}
	return m;
}

/* The same segment: the fields the map is made of (the file follows
 * from the source). */
static bool seg_same(const struct qvmi_seg_view *a,
		     const struct qvmi_seg_view *b)
{
	return a->start == b->start && a->last == b->last &&
	       a->src_addr == b->src_addr && a->src == b->src &&
	       a->host == b->host;
}

/* Has the ctx's map moved since m was made?  A turn of the control
 * thread: a copy per segment, no allocation. */
static bool snap_stale(const struct pmem_snap *m, const struct qvmi_ctx *ctx)
{
	struct qvmi_seg_view g;

	if (!m || m->flush_gen != qvmi__ctx_flush_gen(ctx) ||
	    m->nfp != qvmi_map_count(ctx))
		return true;
	for (size_t i = 0; i < m->nfp; i++)
		if (qvmi__ctx_seg(ctx, i, &g) || !seg_same(&g, &m->fp[i]))
			return true;
	return false;
}

/* Reads the workers began, all of them (their own counters). */
uint64_t qvmid_pmem_worker_reads(const struct qvmid_pmem_server *s)
{
	const struct shard *w = __atomic_load_n(&s->workers, __ATOMIC_ACQUIRE);
	uint64_t n = 0;

	for (unsigned int i = 0; w && i < s->o.workers; i++)
		n += __atomic_load_n(&w[i].st.reads, __ATOMIC_RELAXED);
	return n;
}

/*
 * Control thread, each turn.  A QMP attach re-reads QEMU's layout before
 * the next access after an event (src/attach/layout-live.c), and while
 * the firmware settles, every 100 ms of accesses: not at the event, when
 * the firmware has not shadowed the BIOS area yet.  The workers' reads do
 * not pass through qvmi__layout_check, so: while the layout is stale the
 * workers hand their reads to this thread, whose ctx re-reads it first;
 * when the workers have read since the last turn, the layout's poll runs
 * as their accesses would have run it (prepare() keeps this thread
 * turning every POLL_MS while they read).  Then the map is republished if
 * it moved, and the workers learn when the RAM file's QEMU has gone (its
 * mapping still shows the last bytes, which must not pass for live).
 */
void qvmid_pmem_snap_update(struct qvmid_pmem_server *s)
{
	struct qvmi_ctx *ctx = s->ctx;
	struct pmem_snap *m = s->snap, *old;
	uint64_t reads = qvmid_pmem_worker_reads(s);

	if (reads != s->reads_seen)
		qvmi__ctx_layout_poll(ctx);
	s->reads_seen = reads;
	if (snap_stale(m, ctx)) {
		m = snap_build(ctx, s->snap_gen + 1);
		if (!m) {
			qvmid_pmem_log(s, QVMI_LOG_WARN,
				       "pmem: no memory for the workers' map");
			return; /* the old one is kept: retried next turn */
		}
		pthread_mutex_lock(&s->snap_mu);
		old = s->snap;
		s->snap = m;
		__atomic_store_n(&s->snap_gen, m->gen, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&s->snap_mu);
		qvmid_pmem_snap_put(old);
	}
	__atomic_store_n(&s->map_stale, qvmi__ctx_layout_stale(ctx),
			 __ATOMIC_RELEASE);
	for (size_t i = 0, n = qvmi_map_count(ctx); i < n && !m->gone; i++)
		if (qvmi__ctx_seg_gone(ctx, i))
			__atomic_store_n(&m->gone, true, __ATOMIC_RELEASE);
}

/* Worker, between requests: the current map (*cur is held, replaced). */
void qvmid_pmem_snap_take(struct qvmid_pmem_server *s, struct pmem_snap **cur)
{
	struct pmem_snap *m;

	if (*cur &&
	    (*cur)->gen == __atomic_load_n(&s->snap_gen, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&s->snap_mu);
	m = s->snap ? snap_ref(s->snap) : NULL;
	pthread_mutex_unlock(&s->snap_mu);
	qvmid_pmem_snap_put(*cur);
	*cur = m;
}

struct pmem_snap *qvmid_pmem_snap_get(struct pmem_snap *m)
{
	return m ? snap_ref(m) : NULL;
}

static const struct pmem_snap_seg *snap_find(const struct pmem_snap *m,
					     uint64_t a)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pmem_snap_seg *g = &m->seg[mid];

		if (a < g->start)
			hi = mid;
		else if (a > g->last)
			lo = mid + 1;
		else
			return g;
	}
	return NULL;
}

/*
 * How a worker may serve [a, a + len) (len > 0, not wrapping): SNAP_FILE
 * if every byte lies in a file of m, SNAP_NONE if some byte is not mapped
 * at all (the read fails, as the control thread's in_map says), else
 * SNAP_CTL.  Each step consumes a segment: bounded by the map's size.
 */
enum pmem_snap_kind qvmid_pmem_snap_class(const struct pmem_snap *m, uint64_t a,
					  uint64_t len)
{
	enum pmem_snap_kind k = SNAP_FILE;

	for (size_t step = 0; m && step <= m->n; step++) {
		const struct pmem_snap_seg *g = snap_find(m, a);

		if (!g)
			return SNAP_NONE;
		if (g->fd < 0)
			k = SNAP_CTL;
		if (g->last - a >= len - 1)
			return k;
		len -= g->last - a + 1;
		a = g->last + 1;
	}
	return SNAP_CTL;
}

/* As qvmi__pa_file, from m: 0, -EFAULT (unmapped), -EOPNOTSUPP (not a
 * file), -EIO (QEMU gone). */
int qvmid_pmem_snap_file(const struct pmem_snap *m, uint64_t a, size_t len,
			 struct qvmi_pa_file *ret)
{
	const struct pmem_snap_seg *g = m ? snap_find(m, a) : NULL;
	uint64_t off;

	if (!g)
		return -EFAULT;
	if (g->fd < 0)
		return -EOPNOTSUPP;
	/* As qvmi__pa_file: bulk reads only (a page read of a gone QEMU's
	 * file answers from its last bytes there too). */
	if (len >= QVMI_BULK_MIN && __atomic_load_n(&m->gone, __ATOMIC_ACQUIRE))
		return -EIO;
	off = g->off + (a - g->start);
	if (off < g->off || off > INT64_MAX)
		return -EOPNOTSUPP;
	ret->fd = g->fd;
	ret->off = off;
	ret->len = g->last - a >= len - 1 ? len : (size_t)(g->last - a + 1);
	if (ret->len - 1 > INT64_MAX - off)
		ret->len = (size_t)(INT64_MAX - off) + 1;
	return 0;
}

const uint8_t *qvmid_pmem_snap_mapped(const struct pmem_snap *m, uint64_t a,
				      size_t len)
{
	const struct pmem_snap_seg *g = m ? snap_find(m, a) : NULL;
	uint64_t off;

	if (!g || !g->file || !len || g->last - a < len - 1 ||
	    __atomic_load_n(&m->gone, __ATOMIC_ACQUIRE))
		return NULL;
	off = g->off + (a - g->start);
	if (off < g->off || !file_holds(g->file, off, len))
		return NULL;
	return g->file->map + off;
}
