// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Shared RAM: an mmap of QEMU's memory-backend-file or memory-backend-memfd
 * (share=on).  Small reads never get here: the core memcpy's them straight
 * from the host pointer (qvmi__shm_host).  Bulk reads (>= QVMI_BULK_MIN)
 * come to shm_read, which must not fault in the holes of a sparse tmpfs
 * file: touching a hole through a mapping allocates it, so one scan of a
 * 4 GiB guest would make the host back all 4 GiB (checked on Linux 6.1
 * tmpfs).  It skips holes with SEEK_DATA, zero-fills them and preads
 * the data, which never allocates.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "source/sources.h"

struct shm {
	int fd;
	uint8_t *map;
	uint64_t size;
	/* Set once SEEK_DATA proved unsupported: then pread everything. */
	bool no_seek_data;
	/* Set once mincore failed on the mapping: use SEEK_DATA + pread. */
	bool no_mincore;
	/* pidfd of the QEMU that owns the file, or -1: our mapping outlives
	 * QEMU, so bulk reads check it is still there (one poll, no wait). */
	int owner;
	uint64_t owner_checked; /* CLOCK_MONOTONIC ns of the last check */
	bool gone; /* the owner exited: sticky */
	/* Bitmap of 2 MiB windows whose resident pages we mapped already. */
	uint64_t *populated;
	/* Pages known to exist in the file (bit per 4 KiB page), learnt by
	 * mincore once per 2 MiB window (res_win): small reads of them are
	 * memcpy'd from the mapping; others take the read op, which never
	 * allocates a hole.  A page only goes from hole to data (guest
	 * writes), so a set bit stays true; a balloon that punches a page
	 * out again is the one case where a read would reallocate it. */
	uint64_t *res, *res_win;
	bool no_populate;
};

/* Bytes pread per SEEK_DATA: holes smaller than this inside data are
 * read (as zeros) rather than skipped.  Each step advances, so a read of
 * len bytes makes at most len / SHM_STEP + 1 steps. */
enum { SHM_STEP = 256 * 1024 };

static int shm_check(const struct shm *m, uint64_t off, size_t len)
{
	if (off > m->size || len > m->size - off)
		return -EFAULT;
	return 0;
}

/* pread exactly len bytes at off (pread may return short counts). */
static int shm_pread(struct qvmi_source *s, struct shm *m, uint8_t *out,
		     uint64_t off, size_t len)
{
	while (len) {
		ssize_t n = pread(m->fd, out, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return qvmi__err(qvmi_source_ctx(s), -EIO,
					 "shm: pread at offset 0x%" PRIx64
					 ": %s",
					 off, strerror(errno));
		if (n == 0) /* file shrank under us */
			return qvmi__err(
				qvmi_source_ctx(s), -EIO,
				"shm: backing file truncated at 0x%" PRIx64,
				off);
		out += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Bulk read: SEEK_DATA skips holes (zero-filled here), then at most
 * SHM_STEP bytes are pread from the data found, and the walk goes on.
 * SEEK_HOLE is not used: on tmpfs it walks the page cache from the offset
 * to the next hole, i.e. to the end of a fully allocated file, which made
 * a 1 MiB-chunked scan of a fully allocated 512 MiB file quadratic
 * (0.05 GiB/s, Linux 6.1).  SEEK_DATA stops at the first page present, and
 * pread of the small holes left inside a step reads zeros without
 * allocating them, so correctness never depends on the hole map.
 */
static inline bool bit_test(const uint64_t *b, uint64_t i)
{
	return b[i / 64] & (1ull << (i % 64));
}

static inline void bit_set(uint64_t *b, uint64_t i)
{
	b[i / 64] |= 1ull << (i % 64);
}

/* Are all of pages [pg, pg + n) known to be data? (whole words first) */
static bool shm_known_data(const struct shm *m, uint64_t pg, uint64_t n)
{
	uint64_t end = pg + n;

	if (!m->res)
		return false;
	while (pg < end && (pg % 64))
		if (!bit_test(m->res, pg++))
			return false;
	for (; pg + 64 <= end; pg += 64)
		if (m->res[pg / 64] != ~0ull)
			return false;
	for (; pg < end; pg++)
		if (!bit_test(m->res, pg))
			return false;
	return true;
}

/* Learn which pages of [pg, pg + n) the file has; n <= 512. */
static void shm_learn(struct shm *m, uint64_t pg, uint64_t n)
{
	unsigned char vec[512];
	uint64_t i;

	if (mincore(m->map + pg * 4096, n * 4096, vec))
		return;
	for (i = 0; i < n; i++)
		if (vec[i] & 1)
			bit_set(m->res, pg + i);
}

static bool shm_host_ok(struct qvmi_source *s, uint64_t addr, size_t len)
{
	struct shm *m = qvmi_source_priv(s);
	uint64_t pg = addr >> 12, last = (addr + len - 1) >> 12;

	for (; pg <= last; pg++) {
		uint64_t w = pg >> 9;

		if (bit_test(m->res, pg))
			continue;
		if (!bit_test(m->res_win, w)) {
			uint64_t first = w << 9, end = m->size >> 12;

			shm_learn(m, first, QVMI_MIN(end - first, 512));
			bit_set(m->res_win, w);
		} else {
			/* a hole when we last looked: maybe data now */
			shm_learn(m, pg, 1);
		}
		if (!bit_test(m->res, pg))
			return false;
	}
	return true;
}

/*
 * A pidfd polls readable once its process has exited.  The poll is a
 * syscall (~2.5 us on a VM host, 10% of a 1 MiB copy), so it runs at most
 * once per millisecond (clock_gettime is vDSO): a read in the first
 * millisecond after QEMU's exit may still return the last contents.
 */
static bool shm_owner_gone(struct shm *m)
{
	struct pollfd p = { .fd = m->owner, .events = POLLIN };
	uint64_t now;

	if (m->owner < 0)
		return false;
	if (m->gone)
		return true;
	now = qvmi__mono_ns();
	if (m->owner_checked && now - m->owner_checked < 1000000)
		return false;
	m->owner_checked = now;
	m->gone = poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
	return m->gone;
}

static bool shm_file_gone(struct qvmi_source *s)
{
	return shm_owner_gone(qvmi_source_priv(s));
}

int qvmi__shm_set_owner(struct qvmi_source *src, pid_t pid)
{
	struct shm *m = qvmi_source_priv(src);
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0) /* kernel < 5.3: no liveness check, stale reads possible */
		return -errno;
	if (m->owner >= 0)
		close(m->owner);
	m->owner = fd;
	return 0;
}

/*
 * Bulk read guided by mincore(2): pages the file already has (resident in
 * its page cache) are copied straight from our mapping — touching them
 * allocates nothing — and the rest (holes, or swapped out) go through
 * pread, which returns zeros for holes without allocating them.  One
 * syscall per MINCORE_WIN instead of a pread copy: memcpy speed on the
 * data a guest really uses.  Returns 1 if mincore cannot be used here.
 */
enum { MINCORE_WIN = 1 << 20 };

/*
 * First touch of resident pages through our mapping costs a page fault per
 * 16 pages (fault-around), which made a cold 512 MiB read run at 0.45
 * GiB/s.  MADV_POPULATE_READ (Linux 5.14) maps a whole resident run in one
 * call; it allocates nothing because mincore said the pages exist.  Each
 * 2 MiB window is populated once.
 */
static void shm_populate(struct shm *m, uint64_t pos, uint64_t len)
{
	uint64_t w = pos >> 21, last = (pos + len - 1) >> 21, i;
	uint64_t start = pos & ~(uint64_t)4095;

	if (!m->populated || m->no_populate)
		return;
	for (i = w; i <= last; i++)
		if (!(m->populated[i / 64] & (1ull << (i % 64))))
			break;
	if (i > last)
		return;
	if (madvise(m->map + start, (size_t)(pos + len - start),
		    MADV_POPULATE_READ)) {
		m->no_populate = errno == EINVAL; /* kernel < 5.14 */
		return;
	}
	for (i = w; i <= last; i++)
		m->populated[i / 64] |= 1ull << (i % 64);
}

/* Is [pos, pos + len) all hole?  Non-resident pages are holes unless they
 * were swapped out; SEEK_DATA tells, scanning no further than the run. */
static bool shm_is_hole(struct shm *m, uint64_t pos, uint64_t len)
{
	off_t d;

	if (m->no_seek_data)
		return false;
	d = lseek(m->fd, (off_t)pos, SEEK_DATA);
	if (d < 0)
		return errno == ENXIO;
	return (uint64_t)d >= pos + len;
}

static int shm_read_mincore(struct qvmi_source *s, struct shm *m, uint8_t *out,
			    uint64_t addr, size_t len)
{
	unsigned char vec[MINCORE_WIN / 4096];
	uint64_t pos = addr, end = addr + len;

	while (pos < end) {
		uint64_t wbase = pos & ~(uint64_t)4095;
		uint64_t wend = QVMI_MIN(end, wbase + MINCORE_WIN);
		size_t np = (size_t)((wend - wbase + 4095) / 4096), i = 0;

		/* Pages already known to be data need no mincore call. */
		if (shm_known_data(m, wbase >> 12, np)) {
			shm_populate(m, pos, wend - pos);
			memcpy(out + (pos - addr), m->map + pos, wend - pos);
			pos = wend;
			continue;
		}
		if (mincore(m->map + wbase, np * 4096, vec))
			return pos == addr ? 1 : -EIO;
		for (i = 0; m->res && i < np; i++)
			if (vec[i] & 1)
				bit_set(m->res, (wbase >> 12) + i);
		i = 0;
		while (pos < wend) {
			bool res = vec[i] & 1;
			uint64_t run = wbase + (uint64_t)i * 4096;
			int err;

			while (i < np && (bool)(vec[i] & 1) == res)
				i++;
			run = QVMI_MIN(wend, wbase + (uint64_t)i * 4096) - pos;
			if (res) {
				shm_populate(m, pos, run);
				memcpy(out + (pos - addr), m->map + pos, run);
			} else if (shm_is_hole(m, pos, run)) {
				memset(out + (pos - addr), 0, run);
			} else {
				err = shm_pread(s, m, out + (pos - addr), pos,
						(size_t)run);
				if (err)
					return err;
			}
			pos += run;
		}
	}
	return 0;
}

static int shm_read(struct qvmi_source *s, uint64_t addr, void *buf, size_t len)
{
	struct shm *m = qvmi_source_priv(s);
	uint64_t pos = addr, end = addr + len;
	uint8_t *out = buf;
	int err;

	if (shm_check(m, addr, len))
		return -EFAULT;
	if (shm_owner_gone(m))
		return qvmi__err(qvmi_source_ctx(s), -EIO,
				 "shm: the QEMU process owning the RAM file "
				 "exited");
	if (!m->no_mincore) {
		err = shm_read_mincore(s, m, out, addr, len);
		if (err <= 0)
			return err;
		m->no_mincore = true;
	}
	if (m->no_seek_data)
		return shm_pread(s, m, out, addr, len);
	while (pos < end) {
		off_t d = lseek(m->fd, (off_t)pos, SEEK_DATA);
		uint64_t n;

		if (d < 0 && errno == ENXIO) /* no data from pos on */
			d = (off_t)end;
		else if (d < 0) {
			/* cannot tell holes on this file system */
			m->no_seek_data = errno == EINVAL;
			return shm_pread(s, m, out + (pos - addr), pos,
					 (size_t)(end - pos));
		}
		if ((uint64_t)d < pos) /* never by POSIX; be safe */
			d = (off_t)pos;
		if ((uint64_t)d >= end) {
			memset(out + (pos - addr), 0, (size_t)(end - pos));
			break;
		}
		memset(out + (pos - addr), 0, (size_t)((uint64_t)d - pos));
		n = QVMI_MIN(end - (uint64_t)d, (uint64_t)SHM_STEP);
		err = shm_pread(s, m, out + ((uint64_t)d - addr), (uint64_t)d,
				(size_t)n);
		if (err)
			return err;
		pos = (uint64_t)d + n;
	}
	return 0;
}

static int shm_write(struct qvmi_source *s, uint64_t addr, const void *buf,
		     size_t len)
{
	struct shm *m = qvmi_source_priv(s);

	if (shm_check(m, addr, len))
		return -EFAULT;
	/* Writing allocates holes, which is what the guest would do too. */
	memcpy(m->map + addr, buf, len);
	return 0;
}

static void shm_destroy(struct qvmi_source *s)
{
	struct shm *m = qvmi_source_priv(s);

	munmap(m->map, (size_t)m->size);
	close(m->fd);
	if (m->owner >= 0)
		close(m->owner);
	free(m->populated);
	free(m->res);
	free(m->res_win);
	free(m);
}

static const struct qvmi_source_ops shm_ops = {
	.name = "shm",
	.read = shm_read,
	.write = shm_write,
	.destroy = shm_destroy,
};

static const struct qvmi_source_ops shm_ro_ops = {
	.name = "shm",
	.read = shm_read,
	.destroy = shm_destroy,
};

static int shm_map(struct qvmi_ctx *ctx, struct shm *m, bool *writable)
{
	void *p = MAP_FAILED;

	if (*writable) {
		p = mmap(NULL, (size_t)m->size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, m->fd, 0);
		if (p == MAP_FAILED && errno != EACCES && errno != EPERM)
			return qvmi__err(ctx, -errno, "shm: mmap: %s",
					 strerror(errno));
		if (p == MAP_FAILED)
			qvmi__log(ctx, QVMI_LOG_INFO,
				  "shm: file is read-only, writes disabled");
	}
	if (p == MAP_FAILED) {
		*writable = false;
		p = mmap(NULL, (size_t)m->size, PROT_READ, MAP_SHARED, m->fd,
			 0);
		if (p == MAP_FAILED)
			return qvmi__err(ctx, -errno, "shm: mmap: %s",
					 strerror(errno));
	}
	m->map = p;
	return 0;
}

int qvmi__source_shm_create(struct qvmi_ctx *ctx, int fd, bool writable,
			    struct qvmi_source **ret)
{
	struct shm *m = NULL;
	struct stat st;
	int err;

	if (fd < 0 || !ret) {
		err = qvmi__err(ctx, -EINVAL, "shm: bad fd");
		goto fail;
	}
	if (fstat(fd, &st) < 0) {
		err = qvmi__err(ctx, -errno, "shm: fstat: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > SIZE_MAX) {
		err = qvmi__err(
			ctx, -EINVAL,
			"shm: backing file is not a non-empty regular file");
		goto fail;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		err = qvmi__err(ctx, -ENOMEM, "out of memory");
		goto fail;
	}
	m->fd = fd;
	m->owner = -1;
	m->size = (uint64_t)st.st_size;
	/* Optional: without it every read just takes the page faults. */
	m->populated = calloc((size_t)((m->size >> 21) / 64 + 1), 8);
	/* Without these, small reads just use the mapping (may allocate). */
	m->res = calloc((size_t)((m->size >> 12) / 64 + 1), 8);
	m->res_win = calloc((size_t)((m->size >> 21) / 64 + 1), 8);
	err = shm_map(ctx, m, &writable);
	if (err)
		goto fail;
	err = qvmi_source_create(ctx, writable ? &shm_ops : &shm_ro_ops, m, 0,
				 ret);
	if (err) {
		munmap(m->map, (size_t)m->size);
		goto fail;
	}
	(*ret)->file_fd = fd; /* offsets in it are our addresses */
	(*ret)->file_gone = shm_file_gone;
	if (m->res && m->res_win)
		(*ret)->host_ok = shm_host_ok;
	return 0;
fail:
	if (m) {
		free(m->populated);
		free(m->res);
		free(m->res_win);
	}
	free(m);
	if (fd >= 0)
		close(fd);
	return err;
}

uint8_t *qvmi__shm_host(struct qvmi_source *src, uint64_t off)
{
	struct shm *m;

	if (!src || (src->ops != &shm_ops && src->ops != &shm_ro_ops))
		return NULL;
	m = qvmi_source_priv(src);
	return off < m->size ? m->map + off : NULL;
}

/* Size of the file behind a shm source (0 if src is not one). */
uint64_t qvmi__shm_size(struct qvmi_source *src)
{
	if (!src || (src->ops != &shm_ops && src->ops != &shm_ro_ops))
		return 0;
	return ((struct shm *)qvmi_source_priv(src))->size;
}

/* ---- finding QEMU's RAM backing file from the host side --------------- */

/* /proc/PID/maps of a QEMU has a few hundred lines; bound the walk. */
enum { MAPS_MAX_LINES = 1 << 20, FD_SCAN_MAX = 1 << 16 };

/* Parse one maps line: "start-end perms offset maj:min inode [path]". */
static bool maps_parse(const char *line, struct qvmi_shm_backing *b)
{
	unsigned long long start, end, off, ino;
	unsigned int maj, min;
	char perms[5];
	int pathpos = 0;

	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end,
		   perms, &off, &maj, &min, &ino, &pathpos) < 7)
		return false;
	memset(b, 0, sizeof(*b));
	b->vma_start = start;
	b->vma_end = end;
	b->file_off = off;
	b->dev = makedev(maj, min);
	b->ino = (ino_t)ino;
	b->shared = perms[3] == 's';
	b->writable = perms[1] == 'w';
	if (pathpos > 0) {
		snprintf(b->path, sizeof(b->path), "%s", line + pathpos);
		b->path[strcspn(b->path, "\n")] = '\0';
	}
	return true;
}

int qvmi__shm_find_backing(struct qvmi_ctx *ctx, pid_t pid, uint64_t hva,
			   struct qvmi_shm_backing *ret)
{
	char path[64], *line = NULL;
	size_t cap = 0, lines = 0;
	struct qvmi_shm_backing b;
	bool seen = false;
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return qvmi__err(ctx, errno == ENOENT ? -ESRCH : -errno,
				 "shm: %s: %s", path, strerror(errno));
	while (getline(&line, &cap, f) > 0 && lines++ < MAPS_MAX_LINES) {
		if (!maps_parse(line, &b) || hva < b.vma_start ||
		    hva >= b.vma_end)
			continue;
		seen = true;
		if (!b.ino)
			err = qvmi__err(
				ctx, -ENOENT,
				"shm: hva 0x%" PRIx64
				" is anonymous memory (no shared backend)",
				hva);
		else if (!b.shared)
			err = qvmi__err(
				ctx, -ENOENT,
				"shm: %s is mapped private (share=off): "
				"guest writes would not be visible",
				b.path);
		else {
			*ret = b;
			err = 0;
		}
		break;
	}
	if (!seen)
		qvmi__err(ctx, err, "shm: hva 0x%" PRIx64 " not mapped", hva);
	free(line);
	fclose(f);
	return err;
}

/* Open path and keep it only if it is the file the mapping shows. */
static int open_same(const char *path, const struct qvmi_shm_backing *b)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS))
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_dev != b->dev || st.st_ino != b->ino ||
	    !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A memfd or unlinked file: find QEMU's own fd for it (same dev/ino). */
static int open_via_fds(pid_t pid, const struct qvmi_shm_backing *b)
{
	char dir[64], path[64 + 256 + 2];
	struct dirent *de;
	unsigned int n = 0;
	int fd = -1;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return -1;
	while (fd < 0 && (de = readdir(d)) && n++ < FD_SCAN_MAX) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		/* stat() follows the magic link to the open file itself */
		if (stat(path, &st) < 0 || st.st_dev != b->dev ||
		    st.st_ino != b->ino)
			continue;
		fd = open_same(path, b);
	}
	closedir(d);
	return fd;
}

int qvmi__shm_open_backing(struct qvmi_ctx *ctx, pid_t pid,
			   const struct qvmi_shm_backing *b, unsigned int flags,
			   int *ret)
{
	char path[96];
	int fd = -1;

	/* map_files needs CAP_SYS_ADMIN in QEMU's user namespace. */
	if (!(flags & QVMI_SHM_NO_MAP_FILES)) {
		snprintf(path, sizeof(path),
			 "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid,
			 b->vma_start, b->vma_end);
		fd = open_same(path, b);
	}
	if (fd < 0)
		fd = open_via_fds(pid, b);
	/* A named file not held open by QEMU (QEMU 7.2 keeps mem-path
	 * files open, but be lenient): the path, if it is the same file. */
	if (fd < 0 && b->path[0] == '/')
		fd = open_same(b->path, b);
	if (fd < 0)
		return qvmi__err(ctx, -ENOENT,
				 "shm: cannot open the RAM backing file %s of "
				 "pid %d",
				 b->path[0] ? b->path : "(unnamed)", (int)pid);
	*ret = fd;
	return 0;
}
