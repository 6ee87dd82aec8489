// SPDX-License-Identifier: LGPL-2.1-or-later
/* A scripted GDB remote-protocol peer; see fake-rsp.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fake-rsp.h"

enum { PEER_TIMEOUT_MS = 3000, BUF = 70000 };

int fake_read_byte(int fd, unsigned char *c, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -ETIMEDOUT;
	return read(fd, c, 1) == 1 ? 0 : -EPIPE;
}

static int rd(struct fake_peer *p, unsigned char *c)
{
	return fake_read_byte(p->peer_fd, c, PEER_TIMEOUT_MS);
}

static void wr(struct fake_peer *p, const void *b, size_t n)
{
	if (send(p->peer_fd, b, n, MSG_NOSIGNAL) != (ssize_t)n)
		snprintf(p->error, sizeof(p->error), "peer: send failed");
}

static int read_packet(struct fake_peer *p, char *out, size_t *len)
{
	unsigned char c;
	unsigned int sum = 0, cs = 0;
	size_t n = 0;

	do { /* skip the client's acks */
		if (rd(p, &c))
			return -1;
	} while (c == '+' || c == '-');
	if (c != '$')
		return -2;
	for (;;) {
		if (rd(p, &c))
			return -1;
		if (c == '#')
			break;
		if (n + 1 >= BUF)
			return -3;
		out[n++] = (char)c;
		sum += c;
	}
	for (int i = 0; i < 2; i++) {
		if (rd(p, &c))
			return -1;
		cs = cs << 4 |
		     (unsigned int)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	out[n] = '\0';
	*len = n;
	return (sum & 0xff) == cs ? 0 : -4;
}

static void send_packet(struct fake_peer *p, const char *d, size_t n)
{
	char *f = malloc(n + 5);
	unsigned int sum = 0;
	unsigned char c;

	f[0] = '$';
	memcpy(f + 1, d, n);
	for (size_t i = 0; i < n; i++)
		sum += (unsigned char)d[i];
	snprintf(f + 1 + n, 4, "#%02x", sum & 0xff);
	for (int tries = 0; tries < 5; tries++) {
		wr(p, f, n + 4);
		if (rd(p, &c)) {
			snprintf(p->error, sizeof(p->error),
				 "peer: no ack for %.40s", d);
			break;
		}
		if (c == '+')
			break;
		if (c != '-') {
			snprintf(p->error, sizeof(p->error),
				 "peer: got 0x%02x instead of an ack", c);
			break;
		}
		p->nacks_seen++;
	}
	free(f);
}

static bool run_step(struct fake_peer *p, const struct fake_step *s, char *buf)
{
	size_t len = s->len ? s->len : (s->data ? strlen(s->data) : 0), n;
	struct timespec ts;
	unsigned char c;
	int err;

	switch (s->op) {
	case F_EXPECT:
		err = read_packet(p, buf, &n);
		if (err) {
			snprintf(p->error, sizeof(p->error),
				 "peer: bad packet (%d) expecting %.60s", err,
				 s->data);
			return false;
		}
		if (!s->noack)
			wr(p, "+", 1);
		if (len && s->data[len - 1] == '*' ?
			    strncmp(buf, s->data, len - 1) :
			    strcmp(buf, s->data)) {
			snprintf(p->error, sizeof(p->error),
				 "peer: got \"%.80s\" expecting \"%.80s\"", buf,
				 s->data);
			return false;
		}
		return true;
	case F_REPLY:
		send_packet(p, s->data, len);
		return !p->error[0];
	case F_RAW:
		wr(p, s->data, len);
		return !p->error[0];
	case F_EXPECT_BYTE:
		if (rd(p, &c) || c != (unsigned char)s->data[0]) {
			snprintf(p->error, sizeof(p->error),
				 "peer: expected byte 0x%02x",
				 (unsigned char)s->data[0]);
			return false;
		}
		return true;
	case F_SLEEP:
		ts.tv_sec = (time_t)(s->len / 1000);
		ts.tv_nsec = (long)(s->len % 1000) * 1000000;
		nanosleep(&ts, NULL);
		return true;
	case F_CLOSE:
		close(p->peer_fd);
		p->peer_fd = -1;
		return true;
	default:
		return false;
	}
}

static void *peer_main(void *arg)
{
	struct fake_peer *p = arg;
	char *buf = malloc(BUF);

	for (const struct fake_step *s = p->steps; s->op != F_END; s++) {
		if (!run_step(p, s, buf))
			break;
		p->done++;
	}
	free(buf);
	return NULL;
}

void fake_start(struct fake_peer *p, const struct fake_step *steps)
{
	int sv[2];

	memset(p, 0, sizeof(*p));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	p->fd = sv[0];
	p->peer_fd = sv[1];
	p->steps = steps;
	if (pthread_create(&p->thread, NULL, peer_main, p))
		abort();
}

bool fake_finish(struct fake_peer *p)
{
	const struct fake_step *s = p->steps;
	size_t n = 0;

	pthread_join(p->thread, NULL);
	if (p->peer_fd >= 0)
		close(p->peer_fd);
	if (p->fd >= 0)
		close(p->fd);
	p->peer_fd = p->fd = -1;
	while (s[n].op != F_END)
		n++;
	return !p->error[0] && p->done == n;
}
