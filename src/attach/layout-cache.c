// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The attach layout cache.  A QMP attach costs 4-5 ms of QEMU's answers
 * (greeting, capabilities, "info mtree -f", query-status, gpa2hva per
 * region: QEMU 7.2 under TCG), the largest part of a cached `qvmi ps`.
 * The layout it discovers (layout.h) changes only when QEMU restarts, its
 * memory is hot-plugged or the firmware moves a range, so it is kept in
 * the profile cache directory ("layout-<hash of the socket path>"), and
 * used only while all of these still hold, each checked on the host
 * without asking QEMU:
 *   - the QMP socket is the same file (dev, inode, ctime): QEMU re-creates
 *     it when restarted;
 *   - QEMU's pid is alive with the same start time (/proc/PID/stat field
 *     22), so the pid was not reused;
 *   - the witness of QEMU's mappings hashes the same (layout.c: its
 *     shared file mappings, its anonymous mappings of 128 MiB or more,
 *     and the mappings that hold anonymous RAM): a hot-plugged or removed
 *     memory backend changes it;
 *   - every range resolves, in QEMU's mappings now, to the backing the
 *     cache names (the same file and offset, or process memory); the
 *     build then re-opens shared files through /proc/PID/map_files and
 *     checks (dev, inode) (qvmi__shm_open_backing).
 * This file only reads and writes layouts; resolve and build are the
 * same code as for a full attach (layout.c).  A layout is not saved while
 * it may still change without a witness: read at -S before the firmware
 * ran (the PAM shadowing of 0xc0000-0xfffff on pc/q35 is a change of the
 * flat view that moves no mapping), or in the settling time after a reset
 * (layout-live.c).  A layout saved before a guest reset is still right
 * after the firmware has run again: the same firmware sets the same view.
 * The file is text, versioned, 0600, written by rename, and parsed with
 * bounds on every field.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "layout-cache.h"

enum {
	LAYOUT_FORMAT = 2,
	LAYOUT_FILE_MAX = 256 << 10, /* 256 ranges of ~160 bytes */
	PRUNE_MAX = 1024, /* directory entries looked at per save */
};

bool qvmi__layout_enabled(void)
{
	const char *e = getenv("QVMI_NO_LAYOUT_CACHE");

	return !(e && *e && strcmp(e, "0"));
}

static int layout_path(const char *dir, const char *sock, char *buf,
		       size_t size)
{
	char d[PATH_MAX];
	int n, err = qvmi__cache_dir(dir, d, sizeof(d));

	if (err)
		return err;
	n = snprintf(buf, size, "%s/layout-%016" PRIx64, d,
		     qvmi__fnv1a(QVMI_FNV_INIT, sock, strlen(sock)));
	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

int qvmi__layout_sock_id(const char *path, struct qvmi_layout *l)
{
	struct stat st;

	if (!realpath(path, l->sock))
		return -errno;
	if (stat(l->sock, &st))
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	l->sock_dev = st.st_dev;
	l->sock_ino = st.st_ino;
	l->sock_ctime_s = st.st_ctim.tv_sec;
	l->sock_ctime_ns = st.st_ctim.tv_nsec;
	return 0;
}

/* ---- the file --------------------------------------------------------- */

static bool name_ok(const char *s)
{
	return strlen(s) < QVMI_LAYOUT_NAME_MAX && !strpbrk(s, " \n");
}

static int format(const struct qvmi_layout *l, char *buf, size_t size)
{
	size_t len = 0;
	int n;

#define PUT(...)                                                  \
	do {                                                      \
		n = snprintf(buf + len, size - len, __VA_ARGS__); \
		if (n < 0 || (size_t)n >= size - len)             \
			return -ENOSPC;                           \
		len += (size_t)n;                                 \
	} while (0)
	for (size_t i = 0; i < l->n; i++)
		if (!name_ok(l->r[i].name) || !l->r[i].has_hva)
			return -EINVAL;
	PUT("qvmi-layout %d\nsock %s\n", LAYOUT_FORMAT, l->sock);
	PUT("id %" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64 "\n", l->sock_dev,
	    l->sock_ino, l->sock_ctime_s, l->sock_ctime_ns);
	PUT("pid %d %" PRIu64 "\nallow %u\nversion %s\n", l->pid, l->start_time,
	    l->allow, l->version);
	PUT("maps %016" PRIx64 "\nranges %zu\n", l->maps_hash, l->n);
	/* gpa size ram back hva dev ino off mtree_off name */
	for (size_t i = 0; i < l->n; i++) {
		const struct qvmi_layout_range *r = &l->r[i];

		PUT("%" PRIx64 " %" PRIx64 " %d %c %" PRIx64 " %" PRIu64
		    " %" PRIu64 " %" PRIx64 " %" PRIx64 " %s\n",
		    r->gpa, r->size, r->ram, r->back, r->hva, r->dev, r->ino,
		    r->off, r->mtree_off, r->name);
	}
	PUT("end\n");
#undef PUT
	return (int)len;
}

/*
 * Remove the layouts of QMP sockets that no longer exist (QEMU gone for
 * good, a test's temporary socket): one file per socket path would
 * otherwise pile up in the cache directory.  Bounded; errors ignored (the
 * cache is only a cache).
 */
static void prune(const char *dir, const char *keep)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int seen = 0;

	while (d && (e = readdir(d)) && seen++ < PRUNE_MAX) {
		char path[PATH_MAX], head[PATH_MAX + 64], *sock, *nl;
		struct stat st;
		ssize_t n;
		int fd;

		if (strncmp(e->d_name, "layout-", 7) ||
		    strchr(e->d_name, '.') ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     e->d_name) >= sizeof(path) ||
		    !strcmp(path, keep))
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		n = fd < 0 ? -1 : read(fd, head, sizeof(head) - 1);
		if (fd >= 0)
			close(fd);
		if (n <= 0)
			continue;
		head[n] = '\0';
		sock = strstr(head, "\nsock ");
		nl = sock ? strchr(sock + 6, '\n') : NULL;
		if (!nl)
			continue;
		*nl = '\0';
		if (sock[6] == '/' && stat(sock + 6, &st) && errno == ENOENT)
			unlink(path);
	}
	if (d)
		closedir(d);
}

int qvmi__layout_save(const struct qvmi_layout *l, const char *dir)
{
	char path[PATH_MAX], d[PATH_MAX], *buf;
	int n, err;

	if (strchr(l->sock, '\n') || strchr(l->version, '\n'))
		return -EINVAL;
	err = qvmi__cache_dir(dir, d, sizeof(d));
	if (!err)
		err = layout_path(dir, l->sock, path, sizeof(path));
	if (err)
		return err;
	err = qvmi__mkdirs(d);
	if (err)
		return err;
	buf = malloc(LAYOUT_FILE_MAX);
	if (!buf)
		return -ENOMEM;
	n = format(l, buf, LAYOUT_FILE_MAX);
	if (n < 0) {
		err = n;
	} else {
		struct iovec iov = { buf, (size_t)n };

		err = qvmi__cache_write(path, &iov, 1);
	}
	free(buf);
	if (!err)
		prune(d, path);
	return err;
}

/* Next line of the buffer as a NUL-terminated string, or NULL. */
static char *next_line(char **pos)
{
	char *s = *pos, *e;

	if (!s || !*s)
		return NULL;
	e = strchr(s, '\n');
	if (!e)
		return NULL; /* every line ends with \n: a cut file */
	*e = '\0';
	*pos = e + 1;
	return s;
}

static int parse_range(const char *s, struct qvmi_layout_range *r)
{
	unsigned long long gpa, size, hva, dev, ino, off, moff;
	int ram, end = 0;
	char back;

	if (sscanf(s, "%llx %llx %d %c %llx %llu %llu %llx %llx %n", &gpa,
		   &size, &ram, &back, &hva, &dev, &ino, &off, &moff,
		   &end) != 9 ||
	    !end || (ram != 0 && ram != 1) ||
	    (back != QVMI_BACK_SHM && back != QVMI_BACK_PROC) || !size ||
	    gpa + (size - 1) < gpa || hva + (size - 1) < hva ||
	    off + (size - 1) < off || !name_ok(s + end))
		return -EBADMSG;
	memset(r, 0, sizeof(*r));
	r->gpa = gpa;
	r->size = size;
	r->ram = ram;
	r->back = back;
	r->has_hva = true;
	r->hva = hva;
	r->dev = dev;
	r->ino = ino;
	r->off = off;
	r->mtree_off = moff;
	strcpy(r->name, s + end);
	return 0;
}

int qvmi__layout_parse(char *buf, struct qvmi_layout *l)
{
	char *pos = buf, *s;
	unsigned long long a, b;
	long long c, d;
	int fmt = 0, end = 0;
	size_t n = 0;

	memset(l, 0, offsetof(struct qvmi_layout, r)); /* ranges as parsed */
	if (!(s = next_line(&pos)) || sscanf(s, "qvmi-layout %d", &fmt) != 1 ||
	    fmt != LAYOUT_FORMAT)
		return -EBADMSG;
	if (!(s = next_line(&pos)) || strncmp(s, "sock ", 5) ||
	    strlen(s + 5) >= sizeof(l->sock))
		return -EBADMSG;
	strcpy(l->sock, s + 5);
	if (!(s = next_line(&pos)) ||
	    sscanf(s, "id %llu %llu %lld %lld", &a, &b, &c, &d) != 4)
		return -EBADMSG;
	l->sock_dev = a, l->sock_ino = b;
	l->sock_ctime_s = c, l->sock_ctime_ns = d;
	if (!(s = next_line(&pos)) ||
	    sscanf(s, "pid %d %llu", &l->pid, &a) != 2 || l->pid <= 0)
		return -EBADMSG;
	l->start_time = a;
	if (!(s = next_line(&pos)) || sscanf(s, "allow %u", &l->allow) != 1)
		return -EBADMSG;
	if (!(s = next_line(&pos)) || strncmp(s, "version ", 8) ||
	    strlen(s + 8) >= sizeof(l->version))
		return -EBADMSG;
	strcpy(l->version, s + 8);
	if (!(s = next_line(&pos)) || sscanf(s, "maps %llx", &a) != 1)
		return -EBADMSG;
	l->maps_hash = a;
	if (!(s = next_line(&pos)) ||
	    sscanf(s, "ranges %zu%n", &n, &end) != 1 || s[end] || !n ||
	    n > QVMI_LAYOUT_MAX_RANGES)
		return -EBADMSG;
	for (l->n = 0; l->n < n; l->n++)
		if (!(s = next_line(&pos)) || parse_range(s, &l->r[l->n]))
			return -EBADMSG;
	if (!(s = next_line(&pos)) || strcmp(s, "end") || *pos)
		return -EBADMSG;
	return 0;
}

/*
 * The file at path, NUL-terminated, into *ret (malloc'd).  The buffer is
 * sized by the file, not LAYOUT_FILE_MAX: 256 KiB is past malloc's mmap
 * threshold, and a warm qvmi ps paid its mmap, munmap and page faults.
 */
static int read_file(const char *path, char **ret)
{
	struct stat st;
	ssize_t n = -1;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*ret = NULL;
	if (fd < 0)
		return -errno;
	/* Ours only: another user's file could point us at any pid. */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077)) {
		close(fd);
		return -EPERM;
	}
	if (st.st_size >= LAYOUT_FILE_MAX) {
		close(fd);
		return -EFBIG;
	}
	/* one byte more than fstat said: a file that grew meanwhile is
	 * not the one checked (renamed into place, it never should) */
	buf = malloc((size_t)st.st_size + 2);
	if (buf)
		n = read(fd, buf, (size_t)st.st_size + 1);
	close(fd);
	if (!buf || n < 0 || n > st.st_size) {
		free(buf);
		return !buf ? -ENOMEM : n < 0 ? -EIO : -EFBIG;
	}
	buf[n] = '\0';
	*ret = buf;
	return (int)strlen(buf) == n ? 0 : -EBADMSG;
}

/* The cached file of l->sock into ret, if it is for the same socket and
 * sources as l. */
static int load_file(const struct qvmi_layout *l, const char *dir,
		     struct qvmi_layout *ret, char *why, size_t why_size)
{
	char path[PATH_MAX], *buf;
	int err = layout_path(dir, l->sock, path, sizeof(path));

	if (err) {
		snprintf(why, why_size, "no cache directory");
		return err;
	}
	err = read_file(path, &buf);
	if (err)
		snprintf(why, why_size, "%s: %s", path, strerror(-err));
	else if ((err = qvmi__layout_parse(buf, ret)))
		snprintf(why, why_size, "%s: not a valid layout file", path);
	free(buf);
	if (err)
		return err;
	if (strcmp(ret->sock, l->sock) || ret->sock_dev != l->sock_dev ||
	    ret->sock_ino != l->sock_ino ||
	    ret->sock_ctime_s != l->sock_ctime_s ||
	    ret->sock_ctime_ns != l->sock_ctime_ns) {
		snprintf(why, why_size, "the QMP socket is not the same file");
		return -ESTALE;
	}
	if (ret->allow != l->allow) {
		snprintf(why, why_size, "cached for other sources");
		return -ESTALE;
	}
	return 0;
}

/* Does QEMU still hold every range where the cache says? */
static int check_live(const struct qvmi_layout *c, struct qvmi_layout *live,
		      char *why, size_t why_size)
{
	uint64_t start;
	int err = qvmi__layout_start_time(c->pid, &start);

	if (err || start != c->start_time) {
		snprintf(why, why_size, "QEMU pid %d is gone or not the same",
			 c->pid);
		return err ? err : -ESRCH;
	}
	qvmi__layout_copy(live, c);
	err = qvmi__layout_resolve(live, why, why_size);
	if (err)
		return err;
	if (live->maps_hash != c->maps_hash) {
		snprintf(why, why_size, "QEMU's mappings changed");
		return -ESTALE;
	}
	for (size_t i = 0; i < c->n; i++) {
		const struct qvmi_layout_range *a = &c->r[i], *b = &live->r[i];

		if (a->back != b->back || a->dev != b->dev ||
		    a->ino != b->ino || a->off != b->off) {
			snprintf(why, why_size,
				 "0x%" PRIx64 " (%c) no longer where cached",
				 a->gpa, a->back);
			return -ESTALE;
		}
	}
	return 0;
}

int qvmi__layout_load(struct qvmi_layout *l, const char *dir, char *why,
		      size_t why_size)
{
	struct qvmi_layout *c = malloc(sizeof(*c));
	int err = c ? load_file(l, dir, c, why, why_size) : -ENOMEM;

	/* l becomes the live resolution of the cached layout */
	if (!err)
		err = check_live(c, l, why, why_size);
	free(c);
	return err;
}
