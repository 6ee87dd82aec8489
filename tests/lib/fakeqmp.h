/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A scripted fake QMP peer for unit tests: a thread on one end of a
 * socketpair(AF_UNIX) (or of an accepted unix socket) that plays a
 * transcript, or serves requests through a callback like a tiny QEMU.
 */
#ifndef QVMI_TEST_FAKEQMP_H
#define QVMI_TEST_FAKEQMP_H

#include <stddef.h>

struct json_object;
struct fakeqmp;

/* The greeting of Debian's QEMU 7.2, byte for byte. */
#define FQ_GREETING                                                          \
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, "  \
	"\"major\": 7}, \"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, " \
	"\"capabilities\": [\"oob\"]}}\r\n"
#define FQ_OK "{\"return\": {}, \"id\": %ID%}\r\n"

enum fq_op {
	FQ_END = 0, /* close the peer's end */
	FQ_SEND, /* write text; "%ID%" becomes the last request's id */
	FQ_EXPECT, /* read one request line; it must contain text */
	FQ_SLEEP, /* ms */
	FQ_SEND_BIG, /* write n bytes of an endless JSON string */
	FQ_WAIT_EOF, /* wait until the client closes */
	FQ_SERVE, /* answer every request through the serve callback */
	FQ_FLOOD, /* send events without pause for ms */
};

struct fq_step {
	enum fq_op op;
	const char *text;
	int ms;
	size_t n;
};

/*
 * Answer to one request (req is the parsed line, id the "id" member as
 * JSON text or "null").  Return a malloc'd reply (may hold several
 * lines, e.g. an event then the reply), or NULL to hang up.
 */
typedef char *(*fq_serve_fn)(struct json_object *req, const char *id,
			     void *arg);

/* Start a peer over a socketpair; *client_fd receives the other end. */
struct fakeqmp *fakeqmp_start(const struct fq_step *script, fq_serve_fn fn,
			      void *arg, int *client_fd);
/* Same over a listening unix socket at path (accepts one client). */
struct fakeqmp *fakeqmp_listen(const char *path, const struct fq_step *script);
/* Write text to the client now, from the test's thread (an event). */
void fakeqmp_inject(struct fakeqmp *f, const char *text);
/*
 * From a serve callback: take the SCM_RIGHTS fds that came with the
 * requests (newest batch; as QEMU's qemu_chr_fe_get_msgfd: the first is
 * returned, the rest closed), or -1; and count them without taking.
 */
int fakeqmp_take_fd(void);
unsigned int fakeqmp_pending_fds(void);
/* Join the peer.  0 if the script ran as written; else -1 and msg. */
int fakeqmp_finish(struct fakeqmp *f, char *msg, size_t msgsz);

#endif
