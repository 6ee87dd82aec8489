// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Where qvmid listens and how it reaches QEMU (issue 13 items 1-2): an
 * inherited listening socket ("fd:N", systemd's LISTEN_FDS), never
 * unlinked; --qmp PATH retried until QEMU listens; --qmp fd:M.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "proxyrig.h"
#include "sockcli.h"
#include "../../daemon/qmp-proxy.h"
#include "../../daemon/unixsock.h"

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	CHECK(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	CHECK_OK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	CHECK_OK(listen(fd, 8));
	return fd;
}

/* --listen-qmp fd:N: served like a path of its own, and left in place. */
static void test_listen_fd(void)
{
	char path[108];
	struct prig r;
	int lfd, fd;

	prig_tmp_path(path, sizeof(path), "inherited");
	lfd = listen_at(path);
	prig_start_on(&r, 0, lfd);
	fd = pcli_ready(r.path);
	pcli_expect(
		fd, "{\"execute\": \"echo\", \"id\": 1}",
		"{\"return\": {\"cmd\": \"echo\", \"args\": {}}, \"id\": 1}");
	tcli_close(fd);
	CHECK(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
	prig_stop(&r, 0, NULL); /* checks the path is still there */
}

static void set_env(const char *pid, const char *n, const char *names)
{
	char me[32];

	snprintf(me, sizeof(me), "%d", (int)getpid());
	setenv("LISTEN_PID", pid ? pid : me, 1);
	setenv("LISTEN_FDS", n, 1);
	if (names)
		setenv("LISTEN_FDNAMES", names, 1);
	else
		unsetenv("LISTEN_FDNAMES");
}

static void unset_env(void *arg)
{
	(void)arg;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

static void test_listen_systemd(void)
{
	enum { FIRST = 300 }; /* where "systemd" put them (3 in qvmid) */
	char why[160];
	int fd;

	qvmi_test_defer(unset_env, NULL);
	CHECK_INT(dup2(0, FIRST), ==, FIRST);
	CHECK_INT(dup2(0, FIRST + 1), ==, FIRST + 1);
	/* named */
	set_env(NULL, "2", "other:qmp");
	CHECK_INT(qvmid_listen_spec("systemd", FIRST, &fd, why, sizeof(why)),
		  ==, 1);
	CHECK_INT(fd, ==, FIRST + 1);
	CHECK(!getenv("LISTEN_FDS") && !getenv("LISTEN_PID"));
	CHECK(fcntl(FIRST, F_GETFD) & FD_CLOEXEC);
	set_env(NULL, "2", "other:qmp");
	CHECK_INT(qvmid_listen_spec("systemd:other", FIRST, &fd, why,
				    sizeof(why)),
		  ==, 1);
	CHECK_INT(fd, ==, FIRST);
	/* one fd needs no name */
	set_env(NULL, "1", NULL);
	CHECK_INT(qvmid_listen_spec("systemd", FIRST, &fd, why, sizeof(why)),
		  ==, 1);
	CHECK_INT(fd, ==, FIRST);
	/* refused: another process's fds, no choice, bad names, none */
	set_env("1", "1", NULL);
	CHECK_INT(qvmid_listen_spec("systemd", FIRST, &fd, why, sizeof(why)),
		  ==, -ENOENT);
	CHECK_MSG(strstr(why, "LISTEN_PID"), "%s", why);
	set_env(NULL, "2", NULL);
	CHECK_INT(qvmid_listen_spec("systemd", FIRST, &fd, why, sizeof(why)),
		  ==, -ENOENT);
	set_env(NULL, "2", "a:b:c");
	CHECK_INT(qvmid_listen_spec("systemd:a", FIRST, &fd, why, sizeof(why)),
		  ==, -EINVAL);
	set_env(NULL, "2", "a:b");
	CHECK_INT(qvmid_listen_spec("systemd:qmp", FIRST, &fd, why,
				    sizeof(why)),
		  ==, -ENOENT);
	set_env(NULL, "0", NULL);
	CHECK_INT(qvmid_listen_spec("systemd", FIRST, &fd, why, sizeof(why)),
		  ==, -ENOENT);
	close(FIRST);
	close(FIRST + 1);
	/* fd:N, and a path */
	CHECK_INT(qvmid_listen_spec("fd:x", 3, &fd, why, sizeof(why)), ==,
		  -EINVAL);
	CHECK_INT(qvmid_listen_spec("fd:", 3, &fd, why, sizeof(why)), ==,
		  -EINVAL);
	CHECK_INT(qvmid_listen_spec("fd:999", 3, &fd, why, sizeof(why)), ==,
		  -EBADF);
	CHECK_INT(qvmid_listen_spec("/tmp/x.sock", 3, &fd, why, sizeof(why)),
		  ==, 0);
}

static void test_adopt_refuses(void)
{
	struct qvmid_unix_listener l;
	int sv[2], f = open("/dev/null", O_RDONLY);

	CHECK(f >= 0);
	CHECK_INT(qvmid_unix_adopt(&l, f, "t", NULL, NULL), ==, -ENOTSOCK);
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	CHECK_INT(qvmid_unix_adopt(&l, sv[0], "t", NULL, NULL), ==,
		  -ENOTSOCK); /* connected, not listening */
	close(sv[1]);
	CHECK_INT(fcntl(sv[0], F_GETFD), <, 0); /* taken, closed */
}

struct late {
	char path[108];
	int ms, fd;
};

static void *listen_late(void *arg)
{
	struct late *l = arg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	poll(NULL, 0, l->ms);
	l->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", l->path);
	if (bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(l->fd, 8)) {
		close(l->fd);
		l->fd = -1;
	}
	return NULL;
}

static void test_qmp_wait(void)
{
	struct late l = { .ms = 300, .fd = -1 };
	char why[200], spec[32];
	pthread_t t;
	int fd, sv[2];

	prig_tmp_path(l.path, sizeof(l.path), "late");
	/* nobody there, no wait: at once */
	CHECK_INT(qvmid_qmp_connect(l.path, 0, &fd, why, sizeof(why)), ==,
		  -ENOENT);
	/* QEMU listens 300 ms later: the wait covers it */
	CHECK_INT(pthread_create(&t, NULL, listen_late, &l), ==, 0);
	CHECK_OK(qvmid_qmp_connect(l.path, 3000, &fd, why, sizeof(why)));
	pthread_join(t, NULL);
	CHECK(fd >= 0 && l.fd >= 0);
	close(fd);
	/* a listener that went away refuses: retried, then given up */
	close(l.fd);
	CHECK_INT(qvmid_qmp_connect(l.path, 200, &fd, why, sizeof(why)), ==,
		  -ECONNREFUSED);
	CHECK_MSG(strstr(why, "gave up waiting"), "%s", why);
	unlink(l.path);
	/* fd:M: connected sockets only */
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	snprintf(spec, sizeof(spec), "fd:%d", sv[0]);
	CHECK_OK(qvmid_qmp_connect(spec, 0, &fd, why, sizeof(why)));
	CHECK_INT(fd, ==, sv[0]);
	close(sv[0]);
	close(sv[1]);
	fd = listen_at(l.path);
	snprintf(spec, sizeof(spec), "fd:%d", fd);
	CHECK_INT(qvmid_qmp_connect(spec, 0, &sv[0], why, sizeof(why)), ==,
		  -ENOTCONN);
	close(fd);
	unlink(l.path);
	CHECK_INT(qvmid_qmp_connect("fd:999", 0, &fd, why, sizeof(why)), ==,
		  -ENOTCONN);
}

static const struct qvmi_test proxy_listen_tests[] = {
	{ "listen_fd", test_listen_fd },
	{ "listen_systemd", test_listen_systemd },
	{ "adopt_refuses", test_adopt_refuses },
	{ "qmp_wait", test_qmp_wait },
};
QVMI_SUITE(proxy_listen, proxy_listen_tests);
