// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The cache directory shared by the Linux profile cache
 * (src/os/linux/profile.c) and the attach layout cache (layout-cache.c):
 * $XDG_CACHE_HOME/qvmi, else ~/.cache/qvmi.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
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
