// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The cache directory shared by the Linux profile cache
 * (src/os/linux/profile.c) and the attach layout cache (layout-cache.c):
 * $XDG_CACHE_HOME/qvmi, else ~/.cache/qvmi.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

int qvmi__cache_dir(const char *dir, char *buf, size_t size)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int n;

	if (dir)
		n = snprintf(buf, size, "%s", dir);
	else if (x && *x == '/')
		n = snprintf(buf, size, "%s/qvmi", x);
	else if (home && *home == '/')
		n = snprintf(buf, size, "%s/.cache/qvmi", home);
	else
		return -ENOENT;
	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

/* mkdir -p: ~/.cache need not exist yet (a fresh account, a new
 * XDG_CACHE_HOME), and then nothing would ever be cached. */
int qvmi__mkdirs(char *d)
{
	for (char *p = d + 1;; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(d, 0700) && errno != EEXIST) {
			*p = c;
			return -errno;
		}
		*p = c;
		if (!c)
			return 0;
	}
}

bool qvmi__cache_file_ours(const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_uid == geteuid() &&
	       !(st->st_mode & 022);
}

/* Write the iovecs whole (a regular file may still take less at once). */
static int writev_all(int fd, struct iovec *iov, int n)
{
	while (n) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EIO;
		for (; n && (size_t)w >= iov->iov_len; iov++, n--)
			w -= (ssize_t)iov->iov_len;
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

int qvmi__cache_write(const char *path, struct iovec *iov, int n)
{
	char tmp[4200];
	int fd, err;

	if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/* O_EXCL: never write through a file (or link) someone left there */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0)
		return -errno;
	err = writev_all(fd, iov, n);
	if (close(fd) && !err)
		err = -EIO;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int qvmi__pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -ENODATA;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

void qvmi__mem_id_set(struct qvmi_ctx *ctx, const char *fmt, ...)
{
	char boot[40];
	va_list ap;
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	int n, err = fd < 0 ? -1 : qvmi__pread_full(fd, boot, 36, 0);

	if (fd >= 0)
		close(fd);
	ctx->mem_id[0] = '\0';
	if (err)
		return;
	boot[36] = '\0';
	n = snprintf(ctx->mem_id, sizeof(ctx->mem_id), "%s ", boot);
	va_start(ap, fmt);
	if (vsnprintf(ctx->mem_id + n, sizeof(ctx->mem_id) - (size_t)n, fmt,
		      ap) >= (int)(sizeof(ctx->mem_id) - (size_t)n))
		ctx->mem_id[0] = '\0'; /* a cut id could name two images */
	va_end(ap);
}

#define D(c, v) [c] = (v) + 1
const uint8_t qvmi__hex_digit[256] = {
	D('0', 0),  D('1', 1),	D('2', 2),  D('3', 3),	D('4', 4),  D('5', 5),
	D('6', 6),  D('7', 7),	D('8', 8),  D('9', 9),	D('a', 10), D('b', 11),
	D('c', 12), D('d', 13), D('e', 14), D('f', 15), D('A', 10), D('B', 11),
	D('C', 12), D('D', 13), D('E', 14), D('F', 15),
};
#undef D
