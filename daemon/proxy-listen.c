// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Where the QMP proxy listens (--listen-qmp): a path qvmid binds, or a
 * listening socket it inherits.  libvirt pre-binds a domain's monitor
 * socket and hands QEMU the fd (-chardev socket,fd=N,server=on); a shim
 * in its place hands that fd to qvmid ("fd:N"), and systemd socket
 * activation passes LISTEN_FDS ("systemd", "systemd:NAME").  qvmid never
 * unlinks a path it did not bind.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy-int.h"

enum { MAX_LISTEN_FDS = 1024 };

static int parse_int(const char *s, int lo, int hi, int *ret)
{
	char *end;
	long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

static int fail(char *why, size_t n, int err, const char *msg)
{
	snprintf(why, n, "%s", msg);
	return err;
}

/* Index of name in LISTEN_FDNAMES's colon list of n names, or -1. */
static int name_index(const char *names, const char *name, int n)
{
	size_t len = strlen(name);
	int i = 0;

	for (const char *s = names; s && i < n; i++) {
		const char *colon = strchr(s, ':');
		size_t l = colon ? (size_t)(colon - s) : strlen(s);

		if (l == len && !memcmp(s, name, len))
			return i;
		s = colon ? colon + 1 : NULL;
	}
	return -1;
}

static int count_names(const char *names)
{
	int n = 1;

	for (const char *s = names; *s; s++)
		n += *s == ':';
	return n;
}

/* sd_listen_fds(3)'s protocol, with the names of sd_listen_fds_with_names:
 * the fds start at first (3), LISTEN_PID must be ours, and the variables
 * are removed so nothing started later takes them for its own. */
static int from_systemd(const char *name, int first, int *ret, char *why,
			size_t whylen)
{
	const char *pid_s = getenv("LISTEN_PID"), *n_s = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	int pid, n, idx = 0;

	if (parse_int(pid_s, 1, INT_MAX, &pid) || pid != (int)getpid())
		return fail(why, whylen, -ENOENT,
			    "LISTEN_PID is not set to qvmid's pid");
	if (parse_int(n_s, 1, MAX_LISTEN_FDS, &n) || first > INT_MAX - n)
		return fail(why, whylen, -ENOENT, "LISTEN_FDS is not 1..1024");
	if (names && count_names(names) != n)
		return fail(why, whylen, -EINVAL,
			    "LISTEN_FDNAMES does not name LISTEN_FDS fds");
	if (name)
		idx = names ? name_index(names, name, n) : -1;
	else if (n > 1)
		idx = names ? name_index(names, "qmp", n) : -1;
	if (idx < 0)
		return fail(why, whylen, -ENOENT,
			    name ? "LISTEN_FDNAMES has no such name" :
				   "several LISTEN_FDS and none named \"qmp\": "
				   "say which with systemd:NAME");
	for (int i = 0; i < n; i++)
		fcntl(first + i, F_SETFD, FD_CLOEXEC);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	*ret = first + idx;
	return 1;
}

int qvmid_listen_spec(const char *spec, int first, int *ret, char *why,
		      size_t whylen)
{
	*ret = -1;
	if (!strncmp(spec, "fd:", 3)) {
		if (parse_int(spec + 3, 0, INT_MAX, ret))
			return fail(why, whylen, -EINVAL,
				    "fd:N needs a file descriptor number");
		if (fcntl(*ret, F_GETFD) < 0)
			return fail(why, whylen, -EBADF,
				    "that file descriptor is not open");
		return 1;
	}
	if (!strcmp(spec, "systemd"))
		return from_systemd(NULL, first, ret, why, whylen);
	if (!strncmp(spec, "systemd:", 8))
		return from_systemd(spec + 8, first, ret, why, whylen);
	return 0;
}

/* SD_LISTEN_FDS_START: where systemd's LISTEN_FDS begin. */
enum { LISTEN_FDS_START = 3 };

int qvmid_proxy_listen(struct qvmid_proxy *p)
{
	char why[160] = "";
	int fd, r = qvmid_listen_spec(p->o.listen_path, LISTEN_FDS_START, &fd,
				      why, sizeof(why));

	if (r < 0) {
		qvmid_proxy_log(p, QVMI_LOG_ERROR, "qmp-proxy: %s: %s",
				p->o.listen_path, why);
		return r;
	}
	if (r == 1)
		return qvmid_unix_adopt(&p->l, fd, "qmp-proxy", p->o.log,
					p->o.log_arg);
	return qvmid_unix_listen(&p->l, p->o.listen_path, 64, "qmp-proxy",
				 p->o.log, p->o.log_arg);
}
