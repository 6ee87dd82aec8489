// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pmemaccess requests (pmem-server.c has the sockets and the loop): decode
 * the next request in a connection's input, check its range against the
 * memory map (reads: RAM or ROM; writes: RAM only), and start its reply:
 * a read streams through pmem-read.c, a write is staged whole and then
 * applied.  A worker (pmem-worker.c) serves reads its snapshot holds and
 * hands everything else to the control thread, the only one with the ctx.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmem-int.h"
#include "proto/pmemaccess.h"

/* ---- requests ---------------------------------------------------------- */

/* Is every byte of [a, a + len) backed by the memory map?  libqvmi maps
 * only what QEMU's memory tree calls RAM or ROM, never MMIO.  Each step
 * moves past one segment, so the walk is bounded by the map's size. */
static bool in_map(struct qvmi_ctx *ctx, uint64_t a, uint64_t len)
{
	size_t nsegs = qvmi_map_count(ctx);
	struct qvmi_seg_view seg;

	for (size_t step = 0; step <= nsegs; step++) {
		if (qvmi__ctx_seg_at(ctx, a, &seg))
			return false;
		if (seg.last - a >= len - 1)
			return true;
		len -= seg.last - a + 1;
		a = seg.last + 1;
	}
	return false;
}

/*
 * Is [a, a + len) all guest RAM?  Ranges are sorted (qvmi__ram_add) and may
 * touch, so walk the coverage; each step consumes a range.
 */
static bool in_ram(struct qvmi_ctx *ctx, uint64_t a, uint64_t len)
{
	size_t nram = qvmi_ram_count(ctx);
	struct qvmi_ram_range r;

	for (size_t i = 0; i < nram; i++) {
		uint64_t avail;

		if (qvmi_ram_get(ctx, i, &r) || a < r.gpa ||
		    a - r.gpa >= r.size)
			continue;
		avail = r.size - (a - r.gpa);
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
	return !write || !qvmi_ram_count(ctx) || in_ram(ctx, a, len);
}

void qvmid_pmem_stage_put(struct qvmid_pmem_server *s, struct conn *c)
{
	if (c->stage_idx >= 0)
		s->stage_busy[c->stage_idx] = false;
	c->stage = NULL;
	c->stage_idx = -1;
}

bool qvmid_pmem_stage_get(struct qvmid_pmem_server *s, struct conn *c)
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

/* A read begins: *ok says whether its range may be read at all. */
static void read_begin(struct shard *sh, struct conn *c, bool ok)
{
	const struct qvmi_pmem_req *r = &c->dec.req;

	c->rd_addr = r->address;
	c->rd_left = r->length;
	c->rd_active = true;
	c->rd_failed = sh->s->dying || !ok;
	if (c->rd_failed)
		qvmid_pmem_log(sh->s, QVMI_LOG_DEBUG,
			       "pmem: read 0x%" PRIx64 "+0x%" PRIx64
			       ": not guest memory",
			       r->address, r->length);
	PMEM_ST_ADD(sh, reads, 1);
}

/* Control thread: the ctx decides. */
static void start_read(struct shard *sh, struct conn *c)
{
	const struct qvmi_pmem_req *r = &c->dec.req;

	/* As before any access through the ctx (memory.c): a stale map is
	 * re-read now.  The mapped path below looks segments up directly,
	 * and without this a map marked stale at create stayed stale, so
	 * every worker handed every read to this thread (all 96,000 reads
	 * of a bench run on a ctx attached from the layout cache). */
	qvmi__ctx_layout_check(sh->s->ctx);
	read_begin(sh, c, range_ok(sh->s->ctx, r->address, r->length, false));
}

/*
 * Worker: serve the read from the map's snapshot if every byte lies in a
 * file (or fail it if some byte is not mapped at all); false: it needs the
 * ctx, hand it to the control thread.  The read keeps the snapshot it
 * started on to its end, whatever is published meanwhile.
 */
static bool worker_read(struct shard *sh, struct conn *c)
{
	const struct qvmi_pmem_req *r = &c->dec.req;
	enum pmem_snap_kind k = SNAP_FILE;

	qvmid_pmem_snap_take(sh->s, &sh->snap);
	/* no map yet, or a stale one: the control thread's ctx re-reads
	 * the layout before its next access */
	if (!sh->snap || __atomic_load_n(&sh->s->map_stale, __ATOMIC_ACQUIRE))
		return false;
	if (r->length && qvmi__pmem_range_wraps(r->address, r->length))
		k = SNAP_NONE;
	else if (r->length)
		k = qvmid_pmem_snap_class(sh->snap, r->address, r->length);
	if (k == SNAP_CTL)
		return false;
	c->snap = qvmid_pmem_snap_get(sh->snap);
	read_begin(sh, c, k == SNAP_FILE);
	/* an access: the control thread polls the layout (pmem-snap.c) */
	if (__atomic_load_n(&sh->s->lay_armed, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&sh->s->lay_armed, false, __ATOMIC_ACQ_REL) &&
	    write(sh->s->ctl.wake[1], "", 1) < 0 && errno != EAGAIN)
		qvmid_pmem_log(sh->s, QVMI_LOG_WARN, "pmem: wake-up: %s",
			       strerror(errno));
	return true;
}

static void start_write(struct qvmid_pmem_server *s, struct conn *c)
{
	const struct qvmi_pmem_req *r = &c->dec.req;

	c->w_active = true;
	c->staged = 0;
	c->stage = NULL;
	c->w_failed = s->dying ||
		      !range_ok(s->ctx, r->address, r->length, true);
	PMEM_ST_ADD(&s->ctl, writes, 1);
	if (c->w_failed) /* the payload is read and dropped */
		return;
	if (r->length <= CHUNK)
		c->stage = c->out; /* idle until the status byte */
	else if (!qvmid_pmem_stage_get(s, c))
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
		qvmid_pmem_stage_put(s, c);
		s->kick = true; /* a parked connection may go on */
	}
	c->stage = NULL;
	c->w_active = false;
	PMEM_ST_ADD(&s->ctl, failed, !ok);
	c->out[0] = ok ? QVMI_PMEM_STATUS_OK : QVMI_PMEM_STATUS_FAIL;
	c->out_off = 0;
	c->out_len = 1;
}

/* Control thread: begin the request a worker handed over with c. */
void qvmid_pmem_take_handed(struct qvmid_pmem_server *s, struct conn *c)
{
	if (c->handed == QVMI_PMEM_EV_READ)
		start_read(&s->ctl, c);
	else if (c->handed == QVMI_PMEM_EV_WRITE_BEGIN)
		start_write(s, c);
	c->handed = QVMI_PMEM_EV_NONE;
}

/* Worker: a request it does not serve itself goes to the control thread
 * (STEP_MOVED), else KEEP. */
static int worker_event(struct shard *sh, struct conn *c, enum qvmi_pmem_ev ev)
{
	if (ev == QVMI_PMEM_EV_READ && worker_read(sh, c))
		return STEP_KEEP;
	c->handed = (int)ev;
	c->home = sh->id;
	return STEP_MOVED;
}

/* Decode and act on the next event in c->in. */
int qvmid_pmem_handle_input(struct shard *sh, struct conn *c)
{
	struct qvmid_pmem_server *s = sh->s;
	enum qvmi_pmem_ev ev;
	const uint8_t *p;
	size_t plen, used;

	used = qvmi__pmem_decode(&c->dec, c->in + c->in_off,
				 c->in_len - c->in_off, &ev, &p, &plen);
	c->in_off += used;
	if (sh->id &&
	    (ev == QVMI_PMEM_EV_READ || ev == QVMI_PMEM_EV_WRITE_BEGIN))
		return worker_event(sh, c, ev);
	switch (ev) {
	case QVMI_PMEM_EV_NONE:
		return STEP_KEEP;
	case QVMI_PMEM_EV_QUIT:
		return STEP_CLOSE;
	case QVMI_PMEM_EV_TOO_BIG:
		qvmid_pmem_log(s, QVMI_LOG_WARN,
			       "pmem: request of 0x%" PRIx64
			       " bytes exceeds the "
			       "maximum transfer 0x%" PRIx64
			       ": closing the connection",
			       c->dec.req.length, s->o.max_transfer);
		PMEM_ST_ADD(sh, closed_too_big, 1);
		return STEP_CLOSE;
	case QVMI_PMEM_EV_UNKNOWN:
		qvmid_pmem_log(s, QVMI_LOG_DEBUG,
			       "pmem: unknown request type 0x%" PRIx64,
			       c->dec.req.raw_type);
		PMEM_ST_ADD(sh, failed, 1);
		c->out[0] = QVMI_PMEM_STATUS_FAIL;
		c->out_off = 0;
		c->out_len = 1;
		return STEP_KEEP;
	case QVMI_PMEM_EV_READ:
		start_read(sh, c);
		return STEP_KEEP;
	case QVMI_PMEM_EV_WRITE_BEGIN:
		start_write(s, c);
		return STEP_KEEP;
	case QVMI_PMEM_EV_PAYLOAD:
		if (c->stage)
			memcpy(c->stage + c->staged, p, plen);
		c->staged += plen;
		return STEP_KEEP;
	case QVMI_PMEM_EV_WRITE_END:
		finish_write(s, c);
		return STEP_KEEP;
	}
	return STEP_CLOSE;
}
