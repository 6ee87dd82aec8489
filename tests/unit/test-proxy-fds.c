// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * SCM_RIGHTS through the QMP proxy (issue 13 item 3): libvirt passes an fd
 * with getfd (virsh dump, save, NIC hot-plug); it must reach QEMU with
 * that command, and only with a command that takes it, never another
 * client's.  The fake QEMU (proxyrig) takes fds as QEMU 7.2's chardev
 * does.  The live check (getfd + dump-guest-memory to fd:NAME on the demo
 * guest) is tests/integration/qvmid_inherit.py.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "proxyrig.h"
#include "sockcli.h"

static void send_fd(int sock, const char *text, size_t len, int fd)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)text, len };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.b,
			     .msg_controllen = sizeof(u.b) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	memset(u.b, 0, sizeof(u.b));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	CHECK_INT(sendmsg(sock, &mh, MSG_NOSIGNAL), ==, (long)len);
}

/* What QEMU wrote into the pipe: "qvmi-fd-ok", or "" at EOF. */
static void pipe_says(int rfd, const char *want)
{
	struct pollfd p = { rfd, POLLIN, 0 };
	char buf[32] = "";
	ssize_t n;

	CHECK_INT(poll(&p, 1, PRIG_WAIT_MS), ==, 1);
	n = read(rfd, buf, sizeof(buf) - 1);
	CHECK(n >= 0);
	buf[n] = '\0';
	CHECK_STR(buf, want);
}

static const char getfd[] = "{\"execute\": \"getfd\", \"arguments\": "
			    "{\"fdname\": \"x\"}, \"id\": 1}\n";
static const char no_fd[] = "{\"id\": 1, \"error\": {\"class\": "
			    "\"GenericError\", \"desc\": \"No file descriptor "
			    "supplied via SCM_RIGHTS\"}}";

static void test_getfd(void)
{
	struct prig r;
	int fd, pp[2];

	prig_start(&r, 0);
	fd = pcli_ready(r.path);
	CHECK_OK(pipe(pp));
	send_fd(fd, getfd, sizeof(getfd) - 1, pp[1]);
	close(pp[1]);
	CHECK_STR(pcli_line(fd), "{\"return\": {}, \"id\": 1}");
	pipe_says(pp[0], "qvmi-fd-ok");
	pipe_says(pp[0], ""); /* the proxy kept no copy */
	close(pp[0]);
	/* without an fd: QEMU's own error */
	pcli_expect(fd, getfd, no_fd);
	tcli_close(fd);
	prig_stop(&r, 0, NULL);
}

/* The fd comes with the first bytes of the command, the rest later, and
 * after a request the client pipelined before it. */
static void test_getfd_split_and_pipelined(void)
{
	static const char slow[] = "{\"execute\": \"slow\", \"id\": 0}\n";
	struct prig r;
	int fd, pp[2];

	prig_start(&r, 0);
	fd = pcli_ready(r.path);
	CHECK_OK(pipe(pp));
	tcli_send_str(fd, slow);
	poll(NULL, 0, 50);
	send_fd(fd, getfd, 9, pp[1]);
	close(pp[1]);
	poll(NULL, 0, 50);
	tcli_send_str(fd, getfd + 9);
	CHECK_STR(pcli_line(fd), "{\"return\": {\"cmd\": \"echo\", \"args\": "
				 "{}}, \"id\": 0}");
	CHECK_STR(pcli_line(fd), "{\"return\": {}, \"id\": 1}");
	pipe_says(pp[0], "qvmi-fd-ok");
	close(pp[0]);
	tcli_close(fd);
	prig_stop(&r, 0, NULL);
}

/* fds with a command that takes none are closed, not left in QEMU's
 * chardev where another client's getfd would find them. */
static void test_fds_not_shared(void)
{
	struct prig r;
	int a, b, pp[2];
	static const char echo[] = "{\"execute\": \"echo\", \"id\": 2}\n";

	prig_start(&r, 0);
	a = pcli_ready(r.path);
	b = pcli_ready(r.path);
	CHECK_OK(pipe(pp));
	send_fd(a, echo, sizeof(echo) - 1, pp[1]);
	close(pp[1]);
	CHECK_STR(pcli_line(a), "{\"return\": {\"cmd\": \"echo\", \"args\": "
				"{}}, \"id\": 2}");
	pcli_expect(a, "{\"execute\": \"count-fds\", \"id\": 3}",
		    "{\"return\": 0, \"id\": 3}");
	pcli_expect(b, getfd, no_fd);
	pipe_says(pp[0], ""); /* closed by the proxy: EOF */
	close(pp[0]);
	/* nor with a parse error, nor before negotiation */
	CHECK_OK(pipe(pp));
	send_fd(a, "{\"execute\": 1-}\n", 16, pp[1]);
	close(pp[1]);
	CHECK(strstr(pcli_line(a), "stray '-}'"));
	pipe_says(pp[0], "");
	close(pp[0]);
	tcli_close(a);
	tcli_close(b);
	prig_stop(&r, 0, NULL);
}

static const struct qvmi_test proxy_fds_tests[] = {
	{ "getfd", test_getfd },
	{ "getfd_split_and_pipelined", test_getfd_split_and_pipelined },
	{ "fds_not_shared", test_fds_not_shared },
};
QVMI_SUITE(proxy_fds, proxy_fds_tests);
