/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A scripted GDB remote-protocol peer for unit tests: runs a table of steps
 * in a thread on one end of a socketpair.  The steps replay what QEMU 7.2's
 * gdbstub was seen to send (tests/unit/data/qemu72-gdbstub.txt).
 */
#ifndef QVMI_TEST_FAKE_RSP_H
#define QVMI_TEST_FAKE_RSP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

enum fake_op {
	F_END = 0,
	F_EXPECT, /* read one packet; payload must equal data ("...*" =
		   * prefix); ack it with '+' unless .noack */
	F_REPLY, /* send $data#cs and wait for the '+' (retransmit on '-') */
	F_RAW, /* send data as is */
	F_EXPECT_BYTE, /* read one byte, must equal data[0] */
	F_SLEEP, /* sleep len ms */
	F_CLOSE, /* close our end */
};

struct fake_step {
	enum fake_op op;
	const char *data;
	size_t len; /* 0: strlen(data); F_SLEEP: ms */
	bool noack;
};

struct fake_peer {
	int fd; /* the client's end */
	int peer_fd;
	const struct fake_step *steps;
	pthread_t thread;
	/* results */
	size_t done; /* steps completed */
	char error[256]; /* "" if the script ran to its end */
	unsigned int nacks_seen; /* '-' received while waiting for acks */
};

/* Start the script; the client uses p->fd (still owned by the peer unless
 * handed over: set p->fd = -1 after giving it away). */
void fake_start(struct fake_peer *p, const struct fake_step *steps);
/* Join the thread, close fds; returns true if the script completed. */
bool fake_finish(struct fake_peer *p);

/* Read one byte from fd: 0, -ETIMEDOUT or -EPIPE. */
int fake_read_byte(int fd, unsigned char *c, int timeout_ms);

#endif
