// SPDX-License-Identifier: LGPL-2.1-or-later
/* Scripted fake QMP peer (see fakeqmp.h).  Every wait is bounded. */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fakeqmp.h"

enum { PEER_WAIT_MS = 5000, LINE_MAX_LEN = 1 << 20 };

struct fakeqmp {
	pthread_t thread;
	pthread_mutex_t wlock;
	int fd, listen_fd;
	const struct fq_step *script;
	fq_serve_fn serve;
	void *arg;
	char id[256];
	char *rbuf;
	size_t rlen;
	int failed;
	char msg[256];
	int fds[16]; /* SCM_RIGHTS fds received, not taken yet */
	unsigned int nfds;
};

/* The peer whose thread this is (fakeqmp_take_fd from a serve callback). */
static __thread struct fakeqmp *fq_self;

static void fq_drop_fds(struct fakeqmp *f)
{
	while (f->nfds)
		close(f->fds[--f->nfds]);
}

/* As QEMU 7.2's chardev (tcp_chr_recv): new fds replace unclaimed ones. */
static void fq_keep_fds(struct fakeqmp *f, struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		fq_drop_fds(f);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (f->nfds < 16)
				f->fds[f->nfds++] = fd;
			else
				close(fd);
		}
	}
}

int fakeqmp_take_fd(void)
{
	struct fakeqmp *f = fq_self;
	int fd;

	if (!f || !f->nfds)
		return -1;
	fd = f->fds[0];
	for (unsigned int i = 1; i < f->nfds; i++)
		close(f->fds[i]);
	f->nfds = 0;
	return fd;
}

unsigned int fakeqmp_pending_fds(void)
{
	return fq_self ? fq_self->nfds : 0;
}

static void fq_fail(struct fakeqmp *f, const char *fmt, ...)
{
	va_list ap;

	if (f->failed)
		return;
	f->failed = 1;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
}

static int fq_write(struct fakeqmp *f, const char *s, size_t len)
{
	size_t done = 0;
	ssize_t n;

	pthread_mutex_lock(&f->wlock);
	while (done < len) {
		n = send(f->fd, s + done, len - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	pthread_mutex_unlock(&f->wlock);
	return done == len ? 0 : -1;
}

/* text with every "%ID%" replaced by the last request's id */
static int fq_send(struct fakeqmp *f, const char *text)
{
	size_t nid = 0, o = 0, idlen = strlen(f->id);
	char *out;
	int err;

	for (const char *p = text; (p = strstr(p, "%ID%")); p += 4)
		nid++;
	out = malloc(strlen(text) + nid * idlen + 1);
	for (const char *p = text; *p;) {
		if (!strncmp(p, "%ID%", 4)) {
			memcpy(out + o, f->id, idlen);
			o += idlen;
			p += 4;
		} else {
			out[o++] = *p++;
		}
	}
	err = fq_write(f, out, o);
	free(out);
	return err;
}

/* One request line, or NULL at EOF / timeout. */
static char *fq_read_line(struct fakeqmp *f, int *eof)
{
	struct pollfd p = { .fd = f->fd, .events = POLLIN };
	char tmp[4096], *nl, *line;
	ssize_t n;

	*eof = 0;
	for (;;) {
		nl = f->rlen ? memchr(f->rbuf, '\n', f->rlen) : NULL;
		if (nl) {
			size_t len = (size_t)(nl - f->rbuf);

			line = strndup(f->rbuf, len);
			memmove(f->rbuf, nl + 1, f->rlen - len - 1);
			f->rlen -= len + 1;
			return line;
		}
		union {
			char b[CMSG_SPACE(16 * sizeof(int))];
			struct cmsghdr align;
		} u;
		struct iovec iov = { tmp, sizeof(tmp) };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = u.b,
				     .msg_controllen = sizeof(u.b) };

		if (poll(&p, 1, PEER_WAIT_MS) <= 0)
			return NULL;
		n = recvmsg(f->fd, &mh, MSG_CMSG_CLOEXEC);
		if (n > 0)
			fq_keep_fds(f, &mh);
		if (n <= 0) {
			*eof = 1;
			return NULL;
		}
		if (f->rlen + (size_t)n > LINE_MAX_LEN)
			return NULL;
		f->rbuf = realloc(f->rbuf, f->rlen + (size_t)n);
		memcpy(f->rbuf + f->rlen, tmp, (size_t)n);
		f->rlen += (size_t)n;
	}
}

static void fq_note_id(struct fakeqmp *f, struct json_object *req)
{
	struct json_object *id;

	if (req && json_object_object_get_ex(req, "id", &id))
		snprintf(f->id, sizeof(f->id), "%s",
			 json_object_to_json_string_ext(
				 id, JSON_C_TO_STRING_PLAIN));
	else
		snprintf(f->id, sizeof(f->id), "null");
}

static void fq_serve(struct fakeqmp *f)
{
	struct json_object *req;
	char *line, *reply;
	int eof;

	while ((line = fq_read_line(f, &eof))) {
		req = json_tokener_parse(line);
		free(line);
		fq_note_id(f, req);
		reply = req ? f->serve(req, f->id, f->arg) : NULL;
		json_object_put(req);
		if (!reply)
			return;
		fq_write(f, reply, strlen(reply));
		free(reply);
	}
	if (!eof)
		fq_fail(f, "serve: no request within %d ms", PEER_WAIT_MS);
}

static void fq_send_big(struct fakeqmp *f, size_t n)
{
	static const char head[] = "{\"return\": \"";
	char chunk[65536];
	size_t done;

	memset(chunk, 'A', sizeof(chunk));
	if (fq_write(f, head, sizeof(head) - 1))
		return;
	for (done = 0; done < n; done += sizeof(chunk))
		if (fq_write(f, chunk, sizeof(chunk)))
			return; /* the client gave up: that is the point */
}

static void fq_flood(struct fakeqmp *f, int ms)
{
	static const char ev[] = "{\"event\": \"RTC_CHANGE\", \"data\": "
				 "{\"offset\": 0}}\r\n";
	struct timespec t0, t;
	char buf[sizeof(ev) * 1024];

	for (size_t i = 0; i < 1024; i++)
		memcpy(buf + i * (sizeof(ev) - 1), ev, sizeof(ev) - 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (fq_write(f, buf, 1024 * (sizeof(ev) - 1)))
			return;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 +
			 (t.tv_nsec - t0.tv_nsec) / 1000000 <
		 ms);
}

static void fq_step(struct fakeqmp *f, const struct fq_step *s)
{
	struct json_object *req;
	char *line;
	int eof;

	switch (s->op) {
	case FQ_SEND:
		if (fq_send(f, s->text))
			fq_fail(f, "send failed: %.40s", s->text);
		break;
	case FQ_EXPECT:
		line = fq_read_line(f, &eof);
		if (!line) {
			fq_fail(f, "expected \"%s\", got %s", s->text,
				eof ? "EOF" : "nothing");
			break;
		}
		if (!strstr(line, s->text))
			fq_fail(f, "expected \"%s\", got %.80s", s->text, line);
		req = json_tokener_parse(line);
		fq_note_id(f, req);
		json_object_put(req);
		free(line);
		break;
	case FQ_SLEEP:
		poll(NULL, 0, s->ms);
		break;
	case FQ_SEND_BIG:
		fq_send_big(f, s->n);
		break;
	case FQ_WAIT_EOF:
		while ((line = fq_read_line(f, &eof)))
			free(line);
		if (!eof)
			fq_fail(f, "client did not close");
		break;
	case FQ_SERVE:
		fq_serve(f);
		break;
	case FQ_FLOOD:
		fq_flood(f, s->ms);
		break;
	case FQ_END:
		break;
	}
}

static void *fq_thread(void *arg)
{
	struct fakeqmp *f = arg;

	fq_self = f;
	if (f->listen_fd >= 0) {
		struct pollfd p = { .fd = f->listen_fd, .events = POLLIN };

		if (poll(&p, 1, PEER_WAIT_MS) <= 0) {
			fq_fail(f, "nobody connected");
			return NULL;
		}
		f->fd = accept(f->listen_fd, NULL, NULL);
		if (f->fd < 0) {
			fq_fail(f, "accept: %s", strerror(errno));
			return NULL;
		}
	}
	for (const struct fq_step *s = f->script; s && s->op != FQ_END; s++)
		fq_step(f, s);
	if (!f->script && f->serve)
		fq_serve(f);
	pthread_mutex_lock(&f->wlock);
	close(f->fd);
	f->fd = -1;
	pthread_mutex_unlock(&f->wlock);
	return NULL;
}

static struct fakeqmp *fq_new(const struct fq_step *script, fq_serve_fn fn,
			      void *arg)
{
	struct fakeqmp *f = calloc(1, sizeof(*f));

	pthread_mutex_init(&f->wlock, NULL);
	f->script = script;
	f->serve = fn;
	f->arg = arg;
	f->fd = f->listen_fd = -1;
	snprintf(f->id, sizeof(f->id), "null");
	return f;
}

struct fakeqmp *fakeqmp_start(const struct fq_step *script, fq_serve_fn fn,
			      void *arg, int *client_fd)
{
	struct fakeqmp *f = fq_new(script, fn, arg);
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		free(f);
		return NULL;
	}
	f->fd = sv[0];
	*client_fd = sv[1];
	pthread_create(&f->thread, NULL, fq_thread, f);
	return f;
}

struct fakeqmp *fakeqmp_listen(const char *path, const struct fq_step *script)
{
	struct fakeqmp *f = fq_new(script, NULL, NULL);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->listen_fd < 0 ||
	    bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(f->listen_fd, 1)) {
		if (f->listen_fd >= 0)
			close(f->listen_fd);
		free(f);
		return NULL;
	}
	pthread_create(&f->thread, NULL, fq_thread, f);
	return f;
}

void fakeqmp_inject(struct fakeqmp *f, const char *text)
{
	fq_write(f, text, strlen(text));
}

int fakeqmp_finish(struct fakeqmp *f, char *msg, size_t msgsz)
{
	int failed;

	pthread_join(f->thread, NULL);
	if (f->listen_fd >= 0)
		close(f->listen_fd);
	failed = f->failed;
	if (msg && msgsz)
		snprintf(msg, msgsz, "%s", f->msg);
	pthread_mutex_destroy(&f->wlock);
	fq_drop_fds(f);
	free(f->rbuf);
	free(f);
	return failed ? -1 : 0;
}
