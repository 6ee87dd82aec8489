// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * From a layout to memory sources (layout.h): where each range lives in
 * QEMU (resolve, one read of /proc/PID/maps), and the one function that
 * makes the xp, procmem and shm sources (build).  Checked on QEMU 7.2
 * (Debian 1:7.2+dfsg-7+deb12u18), Linux 6.1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "layout.h"
#include "source/sources.h"

enum {
	MAPS_LINES_MAX = 1 << 20,
	/* Anonymous mappings at least this large count in the witness of
	 * a RAM change: a hot-plugged memory-backend-ram is one.  glibc's
	 * malloc arenas (64 MiB) and thread stacks (8 MiB) stay below it,
	 * so QEMU's threads coming and going do not invalidate the cache.
	 * Hot-plugged anonymous RAM smaller than this is not witnessed. */
	BIG_ANON = 128 << 20,
	SHM_MAX_FILES = 16, /* QEMU has one per memory backend */
};

void qvmi__layout_clear(struct qvmi_layout *l)
{
	memset(l, 0, offsetof(struct qvmi_layout, r));
}

struct qvmi_layout *qvmi__layout_new(void)
{
	struct qvmi_layout *l = malloc(sizeof(*l));

	if (l)
		qvmi__layout_clear(l);
	return l;
}

void qvmi__layout_copy(struct qvmi_layout *dst, const struct qvmi_layout *src)
{
	size_t n = QVMI_MIN(src->n, (size_t)QVMI_LAYOUT_MAX_RANGES);

	memcpy(dst, src, offsetof(struct qvmi_layout, r));
	memcpy(dst->r, src->r, n * sizeof(src->r[0]));
}

int qvmi__layout_start_time(int pid, uint64_t *ret)
{
	char path[64], buf[1024], *p;
	unsigned long long v;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields resume after the
	 * last ')'.  Field 3 (state) follows it; starttime is field 22. */
	p = strrchr(buf, ')');
	if (!p)
		return -EPROTO;
	p++;
	for (int f = 3; f < 22; f++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EPROTO;
	}
	if (sscanf(p, " %llu", &v) != 1)
		return -EPROTO;
	*ret = v;
	return 0;
}

/* ---- resolve ---------------------------------------------------------- */

/* One mapping of QEMU's that goes into the witness. */
struct wit {
	uint64_t k[4];
};

struct resolve {
	struct qvmi_layout *l;
	bool found[QVMI_LAYOUT_MAX_RANGES];
	char perms[QVMI_LAYOUT_MAX_RANGES][5];
	bool shared[QVMI_LAYOUT_MAX_RANGES];
	struct wit *w;
	size_t nw, capw;
	bool nomem;
};

static void add_wit(struct resolve *rs, uint64_t a, uint64_t b, uint64_t c,
		    uint64_t d)
{
	if (rs->nw == rs->capw) {
		size_t cap = rs->capw ? rs->capw * 2 : 64;
		struct wit *w = realloc(rs->w, cap * sizeof(*w));

		if (!w) {
			rs->nomem = true;
			return;
		}
		rs->w = w;
		rs->capw = cap;
	}
	rs->w[rs->nw++] = (struct wit){ { a, b, c, d } };
}

/* Does [start, end) hold the hva of a range not placed yet? */
static bool holds(const struct resolve *rs, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < rs->l->n; i++) {
		const struct qvmi_layout_range *r = &rs->l->r[i];

		if (r->has_hva && !rs->found[i] && r->hva >= start &&
		    r->hva < end)
			return true;
	}
	return false;
}

/* Place the ranges whose hva lies in [start, end). */
static void place(struct resolve *rs, uint64_t start, uint64_t end,
		  const char *perms, uint64_t off, uint64_t dev, uint64_t ino)
{
	struct qvmi_layout *l = rs->l;

	for (size_t i = 0; i < l->n; i++) {
		struct qvmi_layout_range *r = &l->r[i];

		if (!r->has_hva || rs->found[i] || r->hva < start ||
		    r->hva >= end)
			continue;
		rs->found[i] = true;
		memcpy(rs->perms[i], perms, 4);
		rs->perms[i][4] = '\0';
		rs->shared[i] = perms[3] == 's';
		r->writable = perms[1] == 'w';
		r->vma_start = start;
		r->vma_end = end;
		r->dev = dev;
		r->ino = ino;
		r->off = off + (r->hva - start);
	}
}

/* A number of base 16 or 10 at *s, at most 16 digits, then one of the
 * bytes in ends (a NUL in ends: the end of the string too); moves *s past
 * that byte.  false if there is none.  The kernel writes these lines
 * (show_map_vma), but a cached attach reads QEMU's ~350 of them: sscanf
 * and strtoull were most of its instructions. */
static bool num(const char **s, unsigned int base, const char *ends,
		uint64_t *ret)
{
	const char *p = *s;
	uint64_t v = 0;
	int n = 0;

	for (;; p++, n++) {
		/* -1 (not a digit) is UINT_MAX here; a-f end a decimal */
		unsigned int d = (unsigned int)qvmi__hexval(*p);

		if (d >= base)
			break;
		v = v * base + d;
	}
	if (!n || n > 16 || (*p && !strchr(ends, *p)))
		return false;
	*s = *p ? p + 1 : p;
	*ret = v;
	return true;
}

/* One line of /proc/PID/maps: "start-end perms offset maj:min inode". */
static void maps_line(struct resolve *rs, const char *line)
{
	uint64_t start, end, off, maj, min, ino;
	const char *perms, *p = line;

	if (!num(&p, 16, "-", &start) || !num(&p, 16, " ", &end) ||
	    strnlen(p, 5) < 5 || p[4] != ' ' || end <= start)
		return;
	perms = p;
	p += 5;
	/* Most of QEMU's mappings (libraries, stacks, its heap) are private,
	 * small and hold no range: neither placed nor a witness, so the rest
	 * of their line is not parsed (a third of a cached attach's
	 * instructions went to these numbers). */
	if (perms[3] != 's' && end - start < BIG_ANON && !holds(rs, start, end))
		return;
	/* the inode: then spaces and a path, or the line's end */
	if (!num(&p, 16, " ", &off) || !num(&p, 16, ":", &maj) ||
	    !num(&p, 16, " ", &min) || !num(&p, 10, " \n", &ino) ||
	    maj > 0xfff || min > 0xfffff)
		return;
	place(rs, start, end, perms, off, makedev(maj, min), ino);
	/* The file and the part of it, not where it is mapped: a reader in
	 * QEMU's own process (the unit tests) maps the same part too. */
	if (perms[3] == 's' && ino)
		add_wit(rs, makedev(maj, min), ino, off, end - start);
	else if (!ino && perms[0] == 'r' && end - start >= BIG_ANON)
		add_wit(rs, 0, 0, start, end);
}

static int cmp_wit(const void *x, const void *y)
{
	const struct wit *a = x, *b = y;

	for (int i = 0; i < 4; i++)
		if (a->k[i] != b->k[i])
			return a->k[i] < b->k[i] ? -1 : 1;
	return 0;
}

/* The witness: a hash of the set of mappings (sorted, duplicates once). */
static uint64_t hash_wit(struct resolve *rs)
{
	uint64_t h = QVMI_FNV_INIT;

	qsort(rs->w, rs->nw, sizeof(*rs->w), cmp_wit);
	for (size_t i = 0; i < rs->nw; i++)
		if (!i || cmp_wit(&rs->w[i - 1], &rs->w[i]))
			h = qvmi__fnv1a(h, rs->w[i].k, sizeof(rs->w[i].k));
	return h;
}

static int scan_maps(struct resolve *rs, char *why, size_t why_size)
{
	char path[64], *line = NULL, *vbuf;
	size_t cap = 0, lines = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", rs->l->pid);
	f = fopen(path, "re");
	if (!f) {
		snprintf(why, why_size, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? -ESRCH : -errno;
	}
	/* procfs says st_blksize 1 KiB: QEMU's ~30 KiB of maps would take
	 * thirty read(2)s, each re-walking its mappings. */
	vbuf = malloc(64 << 10);
	if (vbuf)
		setvbuf(f, vbuf, _IOFBF, 64 << 10);
	while (lines++ < MAPS_LINES_MAX && getline(&line, &cap, f) > 0)
		maps_line(rs, line);
	free(line);
	fclose(f);
	free(vbuf);
	if (lines > MAPS_LINES_MAX || rs->nomem) {
		snprintf(why, why_size, "%s: too large", path);
		return rs->nomem ? -ENOMEM : -E2BIG;
	}
	return 0;
}

/* Decide one range's backing from the mapping place() found for it. */
static void decide(struct resolve *rs, size_t i)
{
	struct qvmi_layout_range *r = &rs->l->r[i];
	bool fits = r->size - 1 <= r->vma_end - 1 - r->hva;

	r->back = QVMI_BACK_NONE;
	r->anon = false;
	if (!r->has_hva || !rs->found[i] || rs->perms[i][0] != 'r')
		return;
	r->back = QVMI_BACK_PROC;
	if (!r->ino) {
		r->anon = !rs->shared[i];
		r->dev = r->off = 0;
		return;
	}
	/* A read-only view of a RAM region (PAM) has its hva from the
	 * region's other ranges: the file must agree on the offset. */
	if (rs->shared[i] && fits && (r->ram || r->off == r->mtree_off))
		r->back = QVMI_BACK_SHM;
	if (r->back != QVMI_BACK_SHM)
		r->dev = r->ino = r->off = 0;
}

int qvmi__layout_resolve(struct qvmi_layout *l, char *why, size_t why_size)
{
	struct resolve *rs = calloc(1, sizeof(*rs));
	int err;

	if (!rs)
		return -ENOMEM;
	rs->l = l;
	for (size_t i = 0; i < l->n; i++)
		l->r[i].back = QVMI_BACK_NONE;
	err = l->pid > 0 ? scan_maps(rs, why, why_size) : 0;
	for (size_t i = 0; !err && i < l->n; i++) {
		decide(rs, i);
		/* Anonymous RAM has no file to witness it: its mapping does.
		 * (ROM is QEMU's own: it does not move while QEMU lives.) */
		if (l->r[i].back == QVMI_BACK_PROC && l->r[i].ram)
			add_wit(rs, 1, 0, l->r[i].vma_start, l->r[i].vma_end);
	}
	if (!err)
		l->maps_hash = rs->nomem ? 0 : hash_wit(rs);
	if (!err && rs->nomem)
		err = -ENOMEM;
	free(rs->w);
	free(rs);
	return err;
}

int qvmi__layout_witness(int pid, uint64_t *ret)
{
	struct qvmi_layout *l = qvmi__layout_new();
	char why[8];
	int err;

	if (!l)
		return -ENOMEM;
	l->pid = pid;
	err = pid > 0 ? qvmi__layout_resolve(l, why, sizeof(why)) : -ESRCH;
	*ret = l->maps_hash;
	free(l);
	return err;
}

/* ---- build ------------------------------------------------------------ */

struct shm_file {
	uint64_t dev, ino;
	struct qvmi_source *src;
};

struct build {
	struct qvmi_ctx *ctx;
	struct qvmi_layout *l;
	struct qvmi_source *pm;
	bool pm_bad; /* no ptrace rights on QEMU */
	struct shm_file files[SHM_MAX_FILES];
	size_t nfiles;
};

static int add_xp(struct build *b, struct qvmi_qmp *q)
{
	struct qvmi_source *xp;
	struct qvmi_layout *l = b->l;
	int err = qvmi__source_xp_create(b->ctx, q, &xp);

	if (!err)
		xp->layout = true;
	for (size_t i = 0; !err && i < l->n; i++) {
		err = qvmi_map_add(b->ctx, xp, l->r[i].gpa, l->r[i].size,
				   l->r[i].gpa);
		l->r[i].used = 'x';
	}
	if (!err)
		qvmi__log(b->ctx, QVMI_LOG_INFO,
			  "attach: xp serves %zu RAM/ROM ranges", l->n);
	return err;
}

/* Range i on procmem.  The first use probes: without ptrace rights on
 * QEMU every read would fail, so the ranges stay with the other sources. */
static int add_proc(struct build *b, size_t i)
{
	struct qvmi_layout_range *r = &b->l->r[i];
	uint8_t probe;
	int err;

	if (b->pm_bad)
		return 0;
	if (!b->pm) {
		err = qvmi__source_procmem_create(b->ctx, b->l->pid, &b->pm);
		if (err)
			return err;
		b->pm->layout = true;
		if (b->pm->ops->read(b->pm, r->hva, &probe, 1) < 0) {
			qvmi__log(b->ctx, QVMI_LOG_WARN,
				  "attach: procmem unusable: %s",
				  qvmi_errmsg(b->ctx));
			b->pm_bad = true;
			return 0;
		}
	}
	if (r->anon)
		qvmi__procmem_set_anon(b->pm, r->hva, r->size);
	err = qvmi_map_add(b->ctx, b->pm, r->gpa, r->size, r->hva);
	if (!err)
		r->used = 'p';
	return err;
}

/* The shm source of range i's file: one per file, opened once. */
static int shm_source(struct build *b, const struct qvmi_layout_range *r,
		      struct qvmi_source **ret)
{
	struct qvmi_shm_backing bk = { 0 };
	size_t i;
	int fd, err;

	for (i = 0; i < b->nfiles; i++) {
		if (b->files[i].dev == r->dev && b->files[i].ino == r->ino) {
			*ret = b->files[i].src;
			return 0;
		}
	}
	if (b->nfiles == SHM_MAX_FILES)
		return qvmi__err(b->ctx, -ENOSPC,
				 "shm: more than %d backing files",
				 SHM_MAX_FILES);
	bk.vma_start = r->vma_start;
	bk.vma_end = r->vma_end;
	bk.file_off = r->off - (r->hva - r->vma_start);
	bk.dev = (dev_t)r->dev;
	bk.ino = (ino_t)r->ino;
	bk.shared = true;
	bk.writable = r->writable;
	err = qvmi__shm_open_backing(b->ctx, b->l->pid, &bk, 0, &fd);
	if (!err)
		err = qvmi__source_shm_create(b->ctx, fd, r->writable, ret);
	if (err)
		return err;
	(*ret)->layout = true;
	if (qvmi__shm_set_owner(*ret, b->l->pid))
		qvmi__log(b->ctx, QVMI_LOG_WARN,
			  "shm: no pidfd for QEMU %d: reads after it exits "
			  "return its last RAM contents",
			  b->l->pid);
	b->files[b->nfiles++] = (struct shm_file){ r->dev, r->ino, *ret };
	qvmi__log(b->ctx, QVMI_LOG_INFO,
		  "attach: shm maps %s range (%" PRIu64 " MiB file)", r->name,
		  qvmi__shm_size(*ret) >> 20);
	return 0;
}

/* Range i on shared RAM: 1 if registered, 0 if not usable (logged). */
static int add_shm(struct build *b, size_t i)
{
	struct qvmi_layout_range *r = &b->l->r[i];
	struct qvmi_source *src;
	int err = shm_source(b, r, &src);

	if (err) {
		qvmi__log(b->ctx, QVMI_LOG_WARN, "attach: %s",
			  qvmi_errmsg(b->ctx));
		return 0;
	}
	if (r->off > qvmi__shm_size(src) ||
	    r->size > qvmi__shm_size(src) - r->off)
		return 0;
	err = qvmi__map_add_host(b->ctx, src, r->gpa, r->size, r->off,
				 qvmi__shm_host(src, r->off));
	if (!err)
		r->used = 's';
	return err ? err : 1;
}

/* procmem where resolve put a range, or shm is not allowed; shm on top,
 * and procmem again where shm could not open its file. */
static int add_fast(struct build *b, unsigned int allow)
{
	struct qvmi_layout *l = b->l;
	bool pm = allow & QVMI_SRC_PROCMEM, shm = allow & QVMI_SRC_SHM;
	size_t i, nshm = 0;
	int err = 0, rc;

	for (i = 0; !err && pm && i < l->n; i++)
		if (l->r[i].back == QVMI_BACK_PROC ||
		    (l->r[i].back == QVMI_BACK_SHM && !shm))
			err = add_proc(b, i);
	for (i = 0; !err && shm && i < l->n; i++) {
		if (l->r[i].back != QVMI_BACK_SHM)
			continue;
		rc = add_shm(b, i);
		if (rc < 0)
			err = rc;
		else if (rc)
			nshm++;
		else if (pm)
			err = add_proc(b, i);
	}
	if (!err && b->pm && !b->pm_bad)
		qvmi__log(b->ctx, QVMI_LOG_INFO,
			  "attach: procmem serves ranges of pid %d", l->pid);
	if (!err && shm)
		qvmi__log(b->ctx, QVMI_LOG_INFO,
			  "attach: shm serves %zu ranges", nshm);
	return err;
}

/* Every RAM range must be readable by some allowed source. */
static int check_coverage(struct qvmi_ctx *ctx, const struct qvmi_layout *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->r[i].ram && !l->r[i].used)
			return qvmi__err(
				ctx, -EOPNOTSUPP,
				"attach: no allowed source can read RAM at "
				"0x%" PRIx64 " (%s)",
				l->r[i].gpa, l->r[i].name);
	for (size_t i = 0; i < ctx->nsegs; i++) {
		const struct qvmi_seg *s = &ctx->segs[i];

		qvmi__log(ctx, QVMI_LOG_INFO,
			  "attach: [0x%" PRIx64 "-0x%" PRIx64 "] %s", s->start,
			  s->last, qvmi_source_name(s->src));
	}
	return 0;
}

/* The image is QEMU's guest RAM: this process, this start (a pid can be
 * reused, its start time with it only across a host reboot). */
static void set_mem_id(struct qvmi_ctx *ctx, struct qvmi_layout *l)
{
	uint64_t st = l->start_time;

	ctx->mem_id[0] = '\0';
	if (l->pid > 0 && (st || !qvmi__layout_start_time(l->pid, &st)))
		qvmi__mem_id_set(ctx, "qemu %d %" PRIu64, l->pid, st);
}

int qvmi__layout_build(struct qvmi_ctx *ctx, struct qvmi_layout *l,
		       struct qvmi_qmp *q, unsigned int allow)
{
	struct build *b = calloc(1, sizeof(*b));
	int err = 0;

	if (!b)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	b->ctx = ctx;
	b->l = l;
	/* The guest's RAM list: kind "ram" ranges, adjacent ones merged. */
	for (size_t i = 0; !err && i < l->n; i++) {
		l->r[i].used = 0;
		if (l->r[i].ram)
			err = qvmi__ram_add_merged(ctx, l->r[i].gpa,
						   l->r[i].size);
	}
	if (!err && q && (allow & QVMI_SRC_XP))
		err = add_xp(b, q);
	if (!err && l->pid > 0)
		err = add_fast(b, allow);
	if (!err)
		err = check_coverage(ctx, l);
	free(b);
	if (!err)
		set_mem_id(ctx, l);
	return err;
}

bool qvmi__layout_cacheable(const struct qvmi_layout *l, char *why,
			    size_t why_size)
{
	if (l->pid <= 0 || !l->n || l->n > QVMI_LAYOUT_MAX_RANGES) {
		snprintf(why, why_size, "no QEMU pid");
		return false;
	}
	for (size_t i = 0; i < l->n; i++) {
		if (l->r[i].used != 's' && l->r[i].used != 'p') {
			snprintf(why, why_size, "0x%" PRIx64 " on %s",
				 l->r[i].gpa,
				 l->r[i].used == 'x' ? "xp" : "no source");
			return false;
		}
	}
	return true;
}

bool qvmi__layout_same_view(const struct qvmi_layout *a,
			    const struct qvmi_layout *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct qvmi_layout_range *x = &a->r[i], *y = &b->r[i];

		if (x->gpa != y->gpa || x->size != y->size ||
		    x->ram != y->ram || x->mtree_off != y->mtree_off ||
		    strcmp(x->name, y->name))
			return false;
	}
	return true;
}

int qvmi__layout_unbuild(struct qvmi_ctx *ctx)
{
	struct qvmi_source *s, *next;

	for (s = ctx->sources; s; s = s->next)
		if (!s->layout)
			return -EBUSY;
	for (s = ctx->sources; s; s = next) {
		next = s->next;
		if (s->ops->destroy)
			s->ops->destroy(s);
		free(s);
	}
	ctx->sources = NULL;
	free(ctx->segs);
	ctx->segs = NULL;
	ctx->nsegs = ctx->segs_cap = ctx->seg_hint = 0;
	free(ctx->ram);
	ctx->ram = NULL;
	ctx->nram = 0;
	qvmi_cache_flush(ctx);
	return 0;
}
