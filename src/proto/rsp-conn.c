// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * GDB remote serial protocol: one connection over a stream socket.  Every
 * wait has a deadline; the receive buffer holds at most one packet plus a
 * little, so a hostile peer cannot make us grow memory.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/rsp.h"

enum {
	RX_CAP = QVMI_RSP_MAX_PACKET + 64,
	TX_CAP = 2 * QVMI_RSP_MAX_PACKET + 4,
	/* Bad checksums in a row before we give up on the peer. */
	MAX_BAD_CSUM = 8,
};

static int64_t deadline_of(const struct qvmi_rsp_conn *c, int timeout_ms)
{
	return qvmi__mono_ms() + (timeout_ms < 0 ? c->timeout_ms : timeout_ms);
}

int qvmi__rsp_init(struct qvmi_rsp_conn *c, struct qvmi_ctx *ctx, int fd,
		   int timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->ctx = ctx;
	c->fd = fd;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	c->rx = malloc(RX_CAP);
	for (size_t i = 0; i < QVMI_RSP_QUEUE; i++) {
		c->queue[i].data = malloc(QVMI_RSP_MAX_PACKET);
		if (!c->queue[i].data)
			goto nomem;
	}
	if (!c->rx)
		goto nomem;
	return 0;
nomem:
	qvmi__rsp_deinit(c);
	return qvmi__err(ctx, -ENOMEM, "gdb: out of memory");
}

void qvmi__rsp_deinit(struct qvmi_rsp_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->rx);
	c->rx = NULL;
	for (size_t i = 0; i < QVMI_RSP_QUEUE; i++) {
		free(c->queue[i].data);
		c->queue[i].data = NULL;
	}
}

static int write_all(struct qvmi_rsp_conn *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int64_t deadline = deadline_of(c, -1);

	if (c->fd < 0)
		return qvmi__err(c->ctx, -ENOTCONN, "gdb: not connected");

	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
			int64_t left = deadline - qvmi__mono_ms();

			if (left <= 0)
				return qvmi__err(c->ctx, -ETIMEDOUT,
						 "gdb: send timed out");
			if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
				return qvmi__err(c->ctx, -errno,
						 "gdb: poll: %s",
						 strerror(errno));
			continue;
		}
		if (n < 0)
			return qvmi__err(c->ctx,
					 errno == EPIPE || errno == ECONNRESET ?
						 -EPIPE :
						 -errno,
					 "gdb: send: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read more bytes into rx, waiting until deadline. */
static int fill(struct qvmi_rsp_conn *c, int64_t deadline)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	ssize_t n;

	if (c->fd < 0)
		return qvmi__err(c->ctx, -ENOTCONN, "gdb: not connected");

	for (;;) {
		int64_t left = deadline - qvmi__mono_ms();
		int r;

		if (left < 0)
			left = 0;
		r = poll(&pfd, 1, (int)QVMI_MIN(left, INT32_MAX));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return qvmi__err(c->ctx, -errno, "gdb: poll: %s",
					 strerror(errno));
		if (r == 0)
			return qvmi__err(c->ctx, -ETIMEDOUT,
					 "gdb: no reply from the stub");
		break;
	}
	do
		n = read(c->fd, c->rx + c->rx_len, RX_CAP - c->rx_len);
	while (n < 0 && errno == EINTR);
	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return qvmi__err(c->ctx, -EPIPE, "gdb: connection closed");
	if (n < 0)
		return qvmi__err(c->ctx, -errno, "gdb: read: %s",
				 strerror(errno));
	c->rx_len += (size_t)n;
	return 0;
}

static void consume(struct qvmi_rsp_conn *c, size_t n)
{
	memmove(c->rx, c->rx + n, c->rx_len - n);
	c->rx_len -= n;
}

/*
 * Next complete item (not consumed).  Garbage is skipped here, bounded.
 */
static int next_item(struct qvmi_rsp_conn *c, int64_t deadline,
		     struct qvmi_rsp_item *it)
{
	unsigned int garbage = 0;

	for (;;) {
		int err = qvmi__rsp_scan(c->rx, c->rx_len, QVMI_RSP_MAX_PACKET,
					 it);

		if (err)
			return qvmi__err(c->ctx, err,
					 "gdb: malformed or oversized packet");
		if (it->kind == QVMI_RSP_GARBAGE) {
			if (++garbage > QVMI_RSP_MAX_GARBAGE)
				return qvmi__err(c->ctx, -EPROTO,
						 "gdb: garbage from the stub");
			consume(c, 1);
			continue;
		}
		if (it->kind != QVMI_RSP_NEED_MORE)
			return 0;
		err = fill(c, deadline);
		if (err)
			return err;
	}
}

static int send_byte(struct qvmi_rsp_conn *c, char b)
{
	return write_all(c, &b, 1);
}

/* Wait for a good packet; on return it sits at rx + it->payload_off. */
static int recv_raw(struct qvmi_rsp_conn *c, int64_t deadline,
		    struct qvmi_rsp_item *it)
{
	unsigned int bad = 0;
	int err;

	for (;;) {
		err = next_item(c, deadline, it);
		if (err)
			return err;
		if (it->kind != QVMI_RSP_PACKET) {
			/* stray acks, a peer's ^C, non-stop notifications */
			consume(c, it->consumed);
			continue;
		}
		if (it->csum_ok || c->noack)
			break;
		c->bad_checksums++;
		consume(c, it->consumed);
		if (++bad > MAX_BAD_CSUM)
			return qvmi__err(c->ctx, -EPROTO,
					 "gdb: too many bad checksums");
		err = send_byte(c, '-');
		if (err)
			return err;
	}
	/* The packet is good even if the ack cannot go out (the peer closed
	 * right after sending it): the next exchange reports that. */
	if (!c->noack && send_byte(c, '+'))
		qvmi__clear_err(c->ctx);
	return 0;
}

static int queue_packet(struct qvmi_rsp_conn *c, const struct qvmi_rsp_item *it)
{
	struct qvmi_rsp_pkt *q;

	if (c->qcount == QVMI_RSP_QUEUE)
		return qvmi__err(c->ctx, -EPROTO,
				 "gdb: too many unexpected packets");
	q = &c->queue[(c->qhead + c->qcount) % QVMI_RSP_QUEUE];
	memcpy(q->data, c->rx + it->payload_off, it->payload_len);
	q->len = it->payload_len;
	c->qcount++;
	return 0;
}

static int wait_ack(struct qvmi_rsp_conn *c, const uint8_t *frame, size_t flen)
{
	int64_t deadline = deadline_of(c, -1);
	unsigned int retries = 0;
	struct qvmi_rsp_item it;
	int err;

	for (;;) {
		err = next_item(c, deadline, &it);
		if (err)
			return err;
		if (it.kind == QVMI_RSP_ACK) {
			consume(c, it.consumed);
			return 0;
		}
		if (it.kind == QVMI_RSP_NACK) {
			consume(c, it.consumed);
			if (++retries > QVMI_RSP_MAX_RETRIES)
				return qvmi__err(c->ctx, -EPROTO,
						 "gdb: packet refused %u times",
						 retries);
			c->retransmits++;
			err = write_all(c, frame, flen);
			if (err)
				return err;
			continue;
		}
		if (it.kind == QVMI_RSP_PACKET && it.csum_ok) {
			/* e.g. QEMU's stop reply on connect, sent before it
			 * read our first packet: keep it for recv */
			err = queue_packet(c, &it) ?: send_byte(c, '+');
			if (err)
				return err;
		} else if (it.kind == QVMI_RSP_PACKET) {
			c->bad_checksums++;
			err = send_byte(c, '-');
			if (err)
				return err;
		}
		consume(c, it.consumed);
	}
}

/*
 * The replies of commands that timed out: RSP has no request ids, so a
 * late one would be read as the answer to the next command (a memory read
 * answered with another address's bytes).  In all-stop mode the stub
 * answers every command once, in order: skip as many replies as are owed
 * before anything else goes out.  A stop reply met meanwhile is kept for
 * recv, as in wait_ack.  If they do not come in time, nothing is sent.
 */
static int drain_owed(struct qvmi_rsp_conn *c)
{
	int64_t deadline = deadline_of(c, -1);
	struct qvmi_rsp_item it;
	int err;

	while (c->owed) {
		err = recv_raw(c, deadline, &it);
		if (err == -ETIMEDOUT)
			return qvmi__err(c->ctx, err,
					 "gdb: the stub still owes %u late "
					 "replies; nothing sent",
					 c->owed);
		if (err)
			return err;
		if (it.payload_len && strchr("TSWX", c->rx[it.payload_off])) {
			err = queue_packet(c, &it);
			if (err)
				return err;
		} else {
			c->owed--;
			c->late_replies++;
		}
		consume(c, it.consumed);
	}
	return 0;
}

int qvmi__rsp_send(struct qvmi_rsp_conn *c, const void *payload, size_t len)
{
	uint8_t *frame;
	int n, err;

	err = drain_owed(c);
	if (err)
		return err;
	if (len > QVMI_RSP_MAX_PACKET)
		return qvmi__err(c->ctx, -EINVAL, "gdb: packet too long");
	frame = malloc(TX_CAP);
	if (!frame)
		return qvmi__err(c->ctx, -ENOMEM, "gdb: out of memory");
	n = qvmi__rsp_frame(payload, len, frame, TX_CAP);
	err = n < 0 ? qvmi__err(c->ctx, n, "gdb: cannot frame packet") :
		      write_all(c, frame, (size_t)n);
	if (!err && !c->noack)
		err = wait_ack(c, frame, (size_t)n);
	free(frame);
	return err;
}

static int decode_into(struct qvmi_rsp_conn *c, const uint8_t *raw, size_t rlen,
		       bool binary, char *buf, size_t cap, size_t *ret_len)
{
	size_t n = 0;
	int err;

	if (cap < 1)
		return -EINVAL;
	err = qvmi__rsp_decode(raw, rlen, binary, (uint8_t *)buf, cap - 1, &n);
	if (err)
		return qvmi__err(c->ctx, err, "gdb: malformed packet data");
	buf[n] = '\0';
	if (ret_len)
		*ret_len = n;
	return 0;
}

int qvmi__rsp_recv(struct qvmi_rsp_conn *c, bool binary, int timeout_ms,
		   char *buf, size_t cap, size_t *ret_len)
{
	struct qvmi_rsp_item it;
	int err;

	if (c->qcount) {
		struct qvmi_rsp_pkt *q = &c->queue[c->qhead];

		c->qhead = (c->qhead + 1) % QVMI_RSP_QUEUE;
		c->qcount--;
		return decode_into(c, q->data, q->len, binary, buf, cap,
				   ret_len);
	}
	err = recv_raw(c, deadline_of(c, timeout_ms), &it);
	if (err)
		return err;
	err = decode_into(c, c->rx + it.payload_off, it.payload_len, binary,
			  buf, cap, ret_len);
	consume(c, it.consumed);
	return err;
}

int qvmi__rsp_command(struct qvmi_rsp_conn *c, const char *cmd, bool binary,
		      char *buf, size_t cap, size_t *ret_len)
{
	int err = qvmi__rsp_send(c, cmd, strlen(cmd));

	if (err)
		return err;
	err = qvmi__rsp_recv(c, binary, -1, buf, cap, ret_len);
	if (err == -ETIMEDOUT)
		c->owed++; /* sent and acked: its reply may still come */
	return err;
}

int qvmi__rsp_interrupt(struct qvmi_rsp_conn *c)
{
	return send_byte(c, 0x03);
}

int qvmi__rsp_pending(struct qvmi_rsp_conn *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	if (c->qcount || memchr(c->rx, '$', c->rx_len))
		return 1;
	return poll(&pfd, 1, 0) > 0;
}
