// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The attach layout cache.  A QMP attach costs 4-5 ms of QEMU's answers
 * (greeting, capabilities, "info mtree -f", query-status, gpa2hva per
 * region: QEMU 7.2 under TCG), the largest part of a cached `qvmi ps`.
 * What it derives changes only when QEMU restarts or its memory is
 * hot-plugged, so it is kept in the profile cache directory
 * ("layout-<hash of the socket path>"), and used only while all of these
 * still hold, each checked on the host without asking QEMU:
 *   - the QMP socket is the same file (dev, inode, ctime): QEMU re-creates
 *     it when restarted;
 *   - QEMU's pid is alive with the same start time (/proc/PID/stat field
 *     22), so the pid was not reused;
 *   - the set of QEMU's shared file mappings (/proc/PID/maps: range,
 *     offset, dev, inode, perms) hashes the same: a hot-plugged or removed
 *     memory-backend-file/memfd changes it;
 *   - every shared-RAM range's file re-opens through /proc/PID/map_files
 *     with the same (dev, inode) (qvmi__shm_open_backing), and lies
 *     inside the file;
 *   - every procmem range (ROM: QEMU's own anonymous memory) lies inside
 *     one mapping of QEMU's.
 * Only layouts whose RAM is all on shared files are cached: the hash of
 * shared mappings is what catches a change of RAM, and anonymous RAM has
 * no such witness.  (That includes device RAM such as vga.vram, whose
 * address the guest programs through a PCI BAR: a VM with one is never
 * cached.)  The file is text, versioned, 0600, written by rename, and
 * parsed with bounds on every field.
 *
 * Not witnessed: a change of the flat view that moves no mapping.  The
 * one known on "pc"/"q35" is the PAM shadowing of 0xc0000-0xfffff, which
 * the firmware sets during boot (ram vs rom views of the same RAM file);
 * a layout cached in that window serves RAM where the guest then sees
 * ROM, below 1 MiB only, until the next full attach.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "layout-cache.h"
#include "source/sources.h"

enum {
	LAYOUT_FORMAT = 1,
	LAYOUT_FILE_MAX = 64 << 10,
	MAPS_LINES_MAX = 1 << 20,
	MAPS_SHARED_MAX = 64, /* QEMU has one per memory backend (+ vhost) */
	PRUNE_MAX = 1024, /* directory entries looked at per save */
};

#define FNV_INIT 0xcbf29ce484222325ull

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

bool qvmi__layout_enabled(void)
{
	const char *e = getenv("QVMI_NO_LAYOUT_CACHE");

	return !(e && *e && strcmp(e, "0"));
}

static int layout_path(const char *sock, char *buf, size_t size)
{
	char d[PATH_MAX];
	int n, err = qvmi__cache_dir(NULL, d, sizeof(d));

	if (err)
		return err;
	n = snprintf(buf, size, "%s/layout-%016" PRIx64, d,
		     fnv(FNV_INIT, sock, strlen(sock)));
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

/* What one pass over /proc/PID/maps tells. */
struct maps_info {
	uint64_t hash; /* of the set of shared file mappings */
	size_t nshared;
	struct shared_map {
		uint64_t start, end, off, dev, ino;
		bool writable;
		char path[256]; /* for qvmi__shm_open_backing's last resort */
	} shared[MAPS_SHARED_MAX];
	uint64_t pm_ok; /* bit i: procmem range i lies in one mapping */
	bool overflow; /* more shared mappings than we keep */
};

static void maps_line(const char *line, const struct qvmi_layout *l,
		      struct maps_info *mi)
{
	unsigned long long start, end, off, ino;
	unsigned int maj, min;
	struct shared_map *b;
	const char *perms;
	int pathpos = 0;
	char *p;

	/* Only shared mappings need the whole line: scanf for all of
	 * QEMU's ~350 lines was most of a cached attach. */
	start = strtoull(line, &p, 16);
	if (*p != '-')
		return;
	end = strtoull(p + 1, &p, 16);
	if (*p != ' ' || strnlen(p + 1, 5) < 5 || p[5] != ' ')
		return;
	perms = p + 1;
	for (size_t i = 0; l && i < l->n; i++) {
		const struct qvmi_layout_range *r = &l->r[i];

		if (!r->shm && r->addr >= start && r->addr < end &&
		    r->size <= end - r->addr && perms[0] == 'r')
			mi->pm_ok |= 1ull << i;
	}
	if (perms[3] != 's' ||
	    sscanf(perms + 5, "%llx %x:%x %llu %n", &off, &maj, &min, &ino,
		   &pathpos) < 4 ||
	    !ino)
		return;
	if (mi->nshared == MAPS_SHARED_MAX) {
		mi->overflow = true;
		return;
	}
	b = &mi->shared[mi->nshared++];
	b->start = start;
	b->end = end;
	b->off = off;
	b->dev = makedev(maj, min);
	b->ino = ino;
	b->writable = perms[1] == 'w';
	b->path[0] = '\0';
	if (pathpos > 0)
		snprintf(b->path, sizeof(b->path), "%.*s",
			 (int)strcspn(perms + 5 + pathpos, "\n"),
			 perms + 5 + pathpos);
}

/* What identifies a shared mapping for the hash: the file and the part
 * of it, not where it is mapped.  (A reader in QEMU's own process, as in
 * the unit tests, maps the same file part too: a set ignores it.) */
static int cmp_shared(const void *x, const void *y)
{
	const struct shared_map *a = x, *b = y;
	uint64_t ka[4] = { a->dev, a->ino, a->off, a->end - a->start };
	uint64_t kb[4] = { b->dev, b->ino, b->off, b->end - b->start };

	for (int i = 0; i < 4; i++)
		if (ka[i] != kb[i])
			return ka[i] < kb[i] ? -1 : 1;
	return 0;
}

static void hash_shared(struct maps_info *mi)
{
	struct shared_map *s = malloc(mi->nshared * sizeof(*s) + 1);

	if (!s) {
		mi->overflow = true;
		return;
	}
	memcpy(s, mi->shared, mi->nshared * sizeof(*s));
	qsort(s, mi->nshared, sizeof(*s), cmp_shared);
	for (size_t i = 0; i < mi->nshared; i++) {
		uint64_t k[4] = { s[i].dev, s[i].ino, s[i].off,
				  s[i].end - s[i].start };

		if (!i || cmp_shared(&s[i - 1], &s[i]))
			mi->hash = fnv(mi->hash, k, sizeof(k));
	}
	free(s);
}

static int scan_maps(int pid, const struct qvmi_layout *l, struct maps_info *mi)
{
	char path[64], *line = NULL, *vbuf;
	size_t cap = 0, lines = 0;
	FILE *f;

	mi->nshared = 0;
	mi->pm_ok = 0;
	mi->overflow = false;
	mi->hash = FNV_INIT;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	/* procfs says st_blksize 1 KiB: QEMU's ~30 KiB of maps would take
	 * thirty read(2)s, each re-walking its mappings. */
	vbuf = malloc(64 << 10);
	if (vbuf)
		setvbuf(f, vbuf, _IOFBF, 64 << 10);
	while (lines++ < MAPS_LINES_MAX && getline(&line, &cap, f) > 0)
		maps_line(line, l, mi);
	free(line);
	fclose(f);
	free(vbuf);
	hash_shared(mi);
	return lines > MAPS_LINES_MAX || mi->overflow ? -E2BIG : 0;
}

int qvmi__layout_maps_hash(int pid, uint64_t *ret)
{
	struct maps_info *mi = malloc(sizeof(*mi));
	int err;

	if (!mi)
		return -ENOMEM;
	err = scan_maps(pid, NULL, mi);
	*ret = mi->hash;
	free(mi);
	return err;
}

/* ---- the file --------------------------------------------------------- */

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
	PUT("qvmi-layout %d\nsock %s\n", LAYOUT_FORMAT, l->sock);
	PUT("id %" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64 "\n", l->sock_dev,
	    l->sock_ino, l->sock_ctime_s, l->sock_ctime_ns);
	PUT("pid %d %" PRIu64 "\nallow %u\nversion %s\n", l->pid, l->start_time,
	    l->allow, l->version);
	PUT("maps %016" PRIx64 "\nranges %zu\n", l->maps_hash, l->n);
	for (size_t i = 0; i < l->n; i++)
		PUT("%" PRIx64 " %" PRIx64 " %d %c %" PRIu64 " %" PRIu64
		    " %" PRIx64 "\n",
		    l->r[i].gpa, l->r[i].size, l->r[i].ram,
		    l->r[i].shm ? 's' : 'p', l->r[i].dev, l->r[i].ino,
		    l->r[i].addr);
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

int qvmi__layout_save(const struct qvmi_layout *l)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32], d[PATH_MAX], *buf;
	int fd, n, err;

	if (strchr(l->sock, '\n') || strchr(l->version, '\n'))
		return -EINVAL;
	err = qvmi__cache_dir(NULL, d, sizeof(d));
	if (!err)
		err = layout_path(l->sock, path, sizeof(path));
	if (err)
		return err;
	err = qvmi__mkdirs(d);
	if (err)
		return err;
	buf = malloc(LAYOUT_FILE_MAX);
	if (!buf)
		return -ENOMEM;
	n = format(l, buf, LAYOUT_FILE_MAX);
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	fd = n < 0 ? -1 :
		     open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	err = n < 0 ? n : fd < 0 ? -errno : 0;
	if (!err && write(fd, buf, (size_t)n) != n)
		err = -EIO;
	if (fd >= 0 && close(fd) && !err)
		err = -EIO;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err && fd >= 0)
		unlink(tmp);
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
	unsigned long long gpa, size, dev, ino, addr;
	int ram, end = 0;
	char kind;

	if (sscanf(s, "%llx %llx %d %c %llu %llu %llx%n", &gpa, &size, &ram,
		   &kind, &dev, &ino, &addr, &end) != 7 ||
	    s[end] || (ram != 0 && ram != 1) || (kind != 's' && kind != 'p') ||
	    !size || gpa + (size - 1) < gpa || addr + (size - 1) < addr)
		return -EBADMSG;
	*r = (struct qvmi_layout_range){ gpa, size, ram, kind == 's',
					 dev, ino,  addr };
	return 0;
}

int qvmi__layout_parse(char *buf, struct qvmi_layout *l)
{
	char *pos = buf, *s;
	unsigned long long a, b;
	long long c, d;
	int fmt = 0, end = 0;
	size_t n = 0;

	memset(l, 0, sizeof(*l));
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

static int read_file(const char *path, char *buf, size_t size)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	/* Ours only: another user's file could point us at any pid. */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077)) {
		close(fd);
		return -EPERM;
	}
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	if ((size_t)n == size - 1)
		return -EFBIG;
	buf[n] = '\0';
	return (int)strlen(buf) == n ? 0 : -EBADMSG;
}

int qvmi__layout_load(const struct qvmi_layout *l, struct qvmi_layout *ret,
		      char *why, size_t why_size)
{
	char path[PATH_MAX], *buf;
	int err = layout_path(l->sock, path, sizeof(path));

	if (err) {
		snprintf(why, why_size, "no cache directory");
		return err;
	}
	buf = malloc(LAYOUT_FILE_MAX);
	if (!buf)
		return -ENOMEM;
	err = read_file(path, buf, LAYOUT_FILE_MAX);
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

/* ---- from an attached ctx, and back --------------------------------- */

bool qvmi__layout_fill_sources(struct qvmi_ctx *ctx, struct qvmi_layout *l,
			       char *why, size_t why_size)
{
	for (size_t i = 0; i < l->n; i++) {
		struct qvmi_layout_range *r = &l->r[i];
		const struct qvmi_seg *s = qvmi__seg_find(ctx, r->gpa);
		const char *name = s ? qvmi_source_name(s->src) : "";
		struct stat st;

		if (!s || s->last < r->gpa + (r->size - 1)) {
			snprintf(why, why_size, "0x%" PRIx64 " split", r->gpa);
			return false;
		}
		r->addr = s->src_addr + (r->gpa - s->start);
		r->shm = !strcmp(name, "shm");
		if (r->shm &&
		    (s->src->file_fd < 0 || fstat(s->src->file_fd, &st))) {
			snprintf(why, why_size, "shm without a file");
			return false;
		}
		if (r->shm) {
			r->dev = st.st_dev;
			r->ino = st.st_ino;
		} else if (strcmp(name, "procmem") || r->ram) {
			snprintf(why, why_size, "0x%" PRIx64 " on %s", r->gpa,
				 name);
			return false;
		}
	}
	return true;
}

/* The current mapping of the file (dev, ino) among maps' shared ones. */
static bool find_shared(const struct maps_info *mi, uint64_t dev, uint64_t ino,
			struct qvmi_shm_backing *b)
{
	for (size_t i = 0; i < mi->nshared; i++) {
		const struct shared_map *m = &mi->shared[i];

		if (m->dev != dev || m->ino != ino)
			continue;
		memset(b, 0, sizeof(*b));
		b->vma_start = m->start;
		b->vma_end = m->end;
		b->file_off = m->off;
		b->dev = (dev_t)m->dev;
		b->ino = (ino_t)m->ino;
		b->shared = true;
		b->writable = m->writable;
		snprintf(b->path, sizeof(b->path), "%s", m->path);
		return true;
	}
	return false;
}

static int apply_shm(struct qvmi_ctx *ctx, const struct qvmi_layout *l,
		     const struct maps_info *mi, struct qvmi_source **srcs,
		     size_t i)
{
	const struct qvmi_layout_range *r = &l->r[i];
	struct qvmi_shm_backing b;
	struct qvmi_source *src = NULL;
	int fd, err;

	if (!find_shared(mi, r->dev, r->ino, &b))
		return -ESTALE;
	for (size_t j = 0; j < i && !src; j++)
		if (srcs[j] && l->r[j].dev == r->dev && l->r[j].ino == r->ino)
			src = srcs[j];
	if (!src) {
		err = qvmi__shm_open_backing(ctx, l->pid, &b, 0, &fd);
		if (!err)
			err = qvmi__source_shm_create(ctx, fd, b.writable,
						      &src);
		if (err)
			return err;
		if (qvmi__shm_set_owner(src, l->pid))
			qvmi__log(ctx, QVMI_LOG_WARN,
				  "shm: no pidfd for QEMU %d", l->pid);
	}
	srcs[i] = src;
	if (r->addr > qvmi__shm_size(src) ||
	    r->size > qvmi__shm_size(src) - r->addr)
		return -ESTALE;
	return qvmi__map_add_host(ctx, src, r->gpa, r->size, r->addr,
				  qvmi__shm_host(src, r->addr));
}

static int apply_procmem(struct qvmi_ctx *ctx, const struct qvmi_layout *l,
			 const struct maps_info *mi, struct qvmi_source **pm,
			 size_t i)
{
	uint8_t probe;
	int err;

	if (!(mi->pm_ok & (1ull << i)))
		return -ESTALE;
	if (!*pm) {
		err = qvmi__source_procmem_create(ctx, l->pid, pm);
		if (err)
			return err;
		if ((*pm)->ops->read(*pm, l->r[i].addr, &probe, 1) < 0)
			return -EPERM;
	}
	return qvmi_map_add(ctx, *pm, l->r[i].gpa, l->r[i].size, l->r[i].addr);
}

static int add_ram(struct qvmi_ctx *ctx, const struct qvmi_layout *l)
{
	for (size_t i = 0; i < l->n; i++) {
		int err = l->r[i].ram ? qvmi__ram_add_merged(ctx, l->r[i].gpa,
							     l->r[i].size) :
					0;

		if (err)
			return err;
	}
	return 0;
}

int qvmi__layout_apply(struct qvmi_ctx *ctx, const struct qvmi_layout *l,
		       char *why, size_t why_size)
{
	struct qvmi_source *srcs[QVMI_LAYOUT_MAX_RANGES] = { 0 }, *pm = NULL;
	struct maps_info *mi;
	uint64_t start;
	int err = qvmi__layout_start_time(l->pid, &start);

	if (err || start != l->start_time) {
		snprintf(why, why_size, "QEMU pid %d is gone or not the same",
			 l->pid);
		return err ? err : -ESRCH;
	}
	mi = malloc(sizeof(*mi));
	if (!mi)
		return -ENOMEM;
	err = scan_maps(l->pid, l, mi);
	if (!err && mi->hash != l->maps_hash)
		err = -ESTALE;
	if (err)
		snprintf(why, why_size, "QEMU's shared mappings changed");
	for (size_t i = 0; !err && i < l->n; i++) {
		err = l->r[i].shm ? apply_shm(ctx, l, mi, srcs, i) :
				    apply_procmem(ctx, l, mi, &pm, i);
		if (err)
			snprintf(why, why_size,
				 "0x%" PRIx64 " (%s) no longer valid: %s",
				 l->r[i].gpa, l->r[i].shm ? "shm" : "procmem",
				 strerror(-err));
	}
	free(mi);
	if (!err)
		err = add_ram(ctx, l);
	return err;
}
