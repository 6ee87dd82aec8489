// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The session channel under attack: a man in the middle between libqvmi
 * and qvmid's TCP listener that understands TLS record boundaries (5-byte
 * header) and flips a bit, replays a record, reorders two records, or
 * splices in a record from another session.  Each attempt must be
 * rejected by qvmid (stats tls_bad_records), the session closed, the
 * tampered request not executed, and a fresh honest session served
 * afterwards.  Also: a whole recorded session replayed, a plaintext client
 * against the TLS listener, and the PSK identity parser.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness.h"
#include "core/internal.h"
#include "proto/session-tls.h"
#include "sessrig.h"

enum { MEM_SIZE = 1 << 20, REC_MAX = 5 + 18432, LOG_MAX = 1 << 20 };

static const uint8_t tls_key[32] = "0123456789abcdef0123456789ABCDEF";

enum mitm_mode { M_PASS, M_FLIP, M_REPLAY, M_REORDER, M_SPLICE };

/*
 * One proxied connection.  Client-to-server records of type 23 are
 * numbered from 0: #0 is the client's Finished (TLS 1.3 encrypts it),
 * #1 HELLO, #2 AUTH, then one record per request up to 16 KiB.
 */
struct mitm {
	int lfd, up_port, stop[2];
	uint16_t port;
	pthread_t thr;
	enum mitm_mode mode;
	int target; /* the record acted on */
	bool acted;
	uint8_t *log; /* every client byte, for the whole-session replay */
	size_t log_len;
	uint8_t held[REC_MAX], grab[REC_MAX], splice[REC_MAX];
	size_t held_len, grab_len, splice_len;
	int grab_at; /* copy this record to grab[] (-1: none) */
	uint8_t s2c[512]; /* the server's first bytes: its ServerHello */
	size_t s2c_len;
};

static void send_all(int fd, const uint8_t *b, size_t n)
{
	while (n) {
		ssize_t k = send(fd, b, n, MSG_NOSIGNAL);

		if (k <= 0)
			return;
		b += k;
		n -= (size_t)k;
	}
}

/* A whole client record: forward it, or tamper with it. */
static void on_c2s(struct mitm *m, int up, uint8_t *r, size_t n, int idx)
{
	if (idx == m->grab_at && n <= sizeof(m->grab)) {
		memcpy(m->grab, r, n);
		m->grab_len = n;
	}
	if (idx != m->target && !(m->mode == M_REORDER && m->held_len)) {
		send_all(up, r, n);
		return;
	}
	m->acted = true;
	switch (m->mode) {
	case M_FLIP:
		r[5 + (n - 5) / 2] ^= 0x04; /* in the ciphertext */
		send_all(up, r, n);
		break;
	case M_REPLAY:
		send_all(up, r, n);
		send_all(up, r, n);
		break;
	case M_REORDER: /* hold #target, send #target+1 first */
		if (!m->held_len) {
			memcpy(m->held, r, n);
			m->held_len = n;
		} else {
			send_all(up, r, n);
			send_all(up, m->held, m->held_len);
		}
		break;
	case M_SPLICE: /* another session's record in its place */
		send_all(up, m->splice, m->splice_len);
		break;
	default:
		send_all(up, r, n);
	}
}

/* Move what arrived on from; split the client's stream into records. */
static bool pump(struct mitm *m, int from, int to, bool c2s, uint8_t *buf,
		 size_t *len, int *idx)
{
	ssize_t k = recv(from, buf + *len, REC_MAX - *len, 0);

	if (k <= 0)
		return false;
	if (!c2s) {
		size_t room = sizeof(m->s2c) - m->s2c_len;

		memcpy(m->s2c + m->s2c_len, buf, QVMI_MIN((size_t)k, room));
		m->s2c_len += QVMI_MIN((size_t)k, room);
		send_all(to, buf, (size_t)k);
		return true;
	}
	if (m->log_len + (size_t)k <= LOG_MAX) {
		memcpy(m->log + m->log_len, buf + *len, (size_t)k);
		m->log_len += (size_t)k;
	}
	*len += (size_t)k;
	while (*len >= 5) {
		size_t n = 5 + ((size_t)buf[3] << 8 | buf[4]);

		if (n > REC_MAX)
			return false;
		if (*len < n)
			break;
		if (buf[0] == 23)
			on_c2s(m, to, buf, n, (*idx)++);
		else
			send_all(to, buf, n);
		memmove(buf, buf + n, *len - n);
		*len -= n;
	}
	return true;
}

static int tcp_dial(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void *mitm_main(void *arg)
{
	struct mitm *m = arg;
	struct pollfd p[3] = { { m->lfd, POLLIN, 0 },
			       { m->stop[0], POLLIN, 0 } };
	uint8_t *cb = malloc(REC_MAX), *sb = malloc(REC_MAX);
	size_t cl = 0, sl = 0;
	int cfd = -1, sfd = -1, idx = 0;

	if (poll(p, 2, 10000) > 0 && (p[0].revents & POLLIN))
		cfd = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd >= 0)
		sfd = tcp_dial(m->up_port);
	/* Bounded: ends at EOF on either side, or at stop. */
	while (cfd >= 0 && sfd >= 0 && cb && sb) {
		p[0] = (struct pollfd){ cfd, POLLIN, 0 };
		p[2] = (struct pollfd){ sfd, POLLIN, 0 };
		if (poll(p, 3, 10000) <= 0 || p[1].revents)
			break;
		if (p[0].revents && !pump(m, cfd, sfd, true, cb, &cl, &idx))
			break;
		if (p[2].revents && !pump(m, sfd, cfd, false, sb, &sl, &idx))
			break;
	}
	if (cfd >= 0)
		close(cfd);
	if (sfd >= 0)
		close(sfd);
	free(cb);
	free(sb);
	return NULL;
}

static void mitm_free(void *arg)
{
	struct mitm *m = arg;
	ssize_t n = write(m->stop[1], "x", 1);

	(void)n;
	pthread_join(m->thr, NULL);
	close(m->lfd);
	close(m->stop[0]);
	close(m->stop[1]);
	free(m->log);
	free(m);
}

static struct mitm *mitm_start(int up_port, enum mitm_mode mode, int target)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	struct mitm *m = calloc(1, sizeof(*m));

	CHECK(m);
	m->log = malloc(LOG_MAX);
	CHECK(m->log);
	m->up_port = up_port;
	m->mode = mode;
	m->target = target;
	m->grab_at = -1;
	CHECK_OK(pipe2(m->stop, O_CLOEXEC));
	m->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(m->lfd >= 0);
	CHECK_OK(bind(m->lfd, (struct sockaddr *)&sa, sizeof(sa)));
	CHECK_OK(listen(m->lfd, 1));
	CHECK_OK(getsockname(m->lfd, (struct sockaddr *)&sa, &len));
	m->port = ntohs(sa.sin_port);
	CHECK_INT(pthread_create(&m->thr, NULL, mitm_main, m), ==, 0);
	qvmi_test_defer(mitm_free, m);
	return m;
}

/* ---- qvmid on loopback, a testmem VM with write-pa allowed ------------- */

struct tvm {
	struct sessrig *r;
	uint8_t *mem;
	int port;
};

static void tvm_free(void *arg)
{
	struct tvm *t = arg;

	free(t->mem);
	free(t);
}

static struct tvm *tvm_start(void)
{
	struct qvmid_session_opts o = { .tcp_addr = "127.0.0.1:0",
					.auth_timeout_ms = 20000 };
	struct tvm *t = calloc(1, sizeof(*t));
	struct qvmi_source *src;
	const char *bad = NULL;

	CHECK(t);
	qvmi_test_defer(tvm_free, t);
	t->mem = malloc(MEM_SIZE);
	CHECK(t->mem);
	for (size_t i = 0; i < MEM_SIZE; i++)
		t->mem[i] = (uint8_t)(i * 7 + (i >> 9));
	t->r = sessrig_create("tls", tls_key);
	CHECK_OK(qvmi_source_testmem_create(t->r->ctx, t->mem, MEM_SIZE, 1,
					    &src));
	CHECK_OK(qvmi_map_add(t->r->ctx, src, 0, MEM_SIZE, 0));
	CHECK_OK(qvmi__ram_add(t->r->ctx, 0, MEM_SIZE));
	t->r->ctx->vm_name = strdup("tls-vm");
	qvmid_session_policy_init(&o.policy);
	CHECK_OK(qvmid_session_policy_apply(&o.policy, "write-pa", true, false,
					    &bad));
	o.policy_set = true;
	sessrig_serve(t->r, &o, false);
	t->port = qvmid_session_server_tcp_port(t->r->s);
	CHECK_INT(t->port, >, 0);
	return t;
}

/* A tool's ctx, destroyed when the test ends unless own (the caller's). */
static struct qvmi_ctx *tool_open_own(struct tvm *t, int port, bool own)
{
	/* Generous: the first TLS handshake under valgrind takes seconds
	 * (libssl's load and initialisation, the key exchange). */
	QVMI_OPTS(qvmi_session_opts, o, .key_path = t->r->keyfile,
		  .timeout_ms = 20000);
	char addr[64];
	struct qvmi_ctx *ctx;

	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%d", port);
	CHECK_OK(qvmi_ctx_create(&ctx));
	if (!own)
		qvmi_test_defer(sessrig_ctx_free, ctx);
	CHECK_OK(qvmi_session_open(ctx, addr, &o));
	return ctx;
}

static struct qvmi_ctx *tool_open(struct tvm *t, int port)
{
	return tool_open_own(t, port, false);
}

static struct qvmid_session_stats stats(struct tvm *t)
{
	struct qvmid_session_stats st;

	qvmid_session_server_stats(t->r->s, &st);
	return st;
}

/* qvmid has closed the session (its loop runs in another thread). */
static void wait_closed(struct tvm *t)
{
	for (int i = 0; i < 300 && stats(t).active; i++)
		sessrig_sleep_ms(10);
	CHECK(!stats(t).active);
}

/* After an attack: a new session, straight to qvmid, reads true bytes. */
static void honest_session(struct tvm *t)
{
	struct qvmi_ctx *ctx = tool_open(t, t->port);
	uint8_t buf[4096];

	CHECK_OK(qvmi_read_pa(ctx, 0x3000, buf, sizeof(buf)));
	CHECK(!memcmp(buf, t->mem + 0x3000, sizeof(buf)));
}

/* Through a proxy in mode at record target: the write of len bytes of
 * 0xAA at gpa must be refused and not reach memory. */
static void attack_write(enum mitm_mode mode, int target, size_t len)
{
	struct tvm *t = tvm_start();
	struct mitm *m = mitm_start(t->port, mode, target);
	struct qvmi_ctx *ctx = tool_open(t, m->port);
	uint64_t bad0 = stats(t).tls_bad_records, req0;
	uint8_t *w = malloc(len), before[64];
	int err;

	CHECK(w);
	memset(w, 0xAA, len);
	memcpy(before, t->mem + 0x8000, sizeof(before));
	req0 = stats(t).requests;
	err = qvmi_write_pa(ctx, 0x8000, w, len);
	free(w);
	CHECK(m->acted);
	CHECK(err < 0);
	wait_closed(t);
	CHECK_INT(stats(t).tls_bad_records, ==, bad0 + 1);
	CHECK_INT(stats(t).requests, ==, req0);
	CHECK(!memcmp(before, t->mem + 0x8000, sizeof(before)));
	CHECK(qvmi_read_pa(ctx, 0, before, 8) < 0);
	honest_session(t);
}

static void t_bit_flip(void)
{
	attack_write(M_FLIP, 3, 64);
}

/* Two records of one 20 KiB WRITE_PA, second before first. */
static void t_reorder(void)
{
	attack_write(M_REORDER, 3, 20000);
}

/* A recorded request sent again right after the original: the original
 * is served once, the copy rejected. */
static void t_replay_record(void)
{
	struct tvm *t = tvm_start();
	struct mitm *m = mitm_start(t->port, M_REPLAY, 3);
	struct qvmi_ctx *ctx = tool_open(t, m->port);
	uint64_t req0 = stats(t).requests;
	uint8_t buf[16];
	int err;

	err = qvmi_read_pa(ctx, 0x100, buf, sizeof(buf));
	CHECK(m->acted);
	if (!err)
		CHECK(!memcmp(buf, t->mem + 0x100, sizeof(buf)));
	wait_closed(t);
	CHECK_INT(stats(t).tls_bad_records, ==, 1);
	CHECK_INT(stats(t).requests, ==, req0 + 1);
	CHECK(qvmi_read_pa(ctx, 0x100, buf, sizeof(buf)) < 0);
	honest_session(t);
}

/* Session A's WRITE_PA record, spliced into session B in place of B's
 * own request (same key, same qvmid, same message): refused. */
static void t_splice(void)
{
	struct tvm *t = tvm_start();
	struct mitm *a = mitm_start(t->port, M_PASS, -1), *b;
	struct qvmi_ctx *ca = tool_open_own(t, a->port, true), *cb;
	uint8_t w[64], before[64];
	uint64_t req0;

	a->grab_at = 3;
	memset(w, 0x55, sizeof(w));
	CHECK_OK(qvmi_write_pa(ca, 0x9000, w, sizeof(w)));
	CHECK_INT(a->grab_len, >, 5);
	CHECK(!memcmp(t->mem + 0x9000, w, sizeof(w)));
	qvmi_ctx_destroy(ca);
	wait_closed(t);
	memset(t->mem + 0x9000, 0, sizeof(w));
	b = mitm_start(t->port, M_SPLICE, 3);
	memcpy(b->splice, a->grab, a->grab_len);
	b->splice_len = a->grab_len;
	cb = tool_open(t, b->port);
	memcpy(before, t->mem + 0x9000, sizeof(before));
	req0 = stats(t).requests;
	CHECK(qvmi_write_pa(cb, 0x9000, w, sizeof(w)) < 0);
	CHECK(b->acted);
	wait_closed(t);
	CHECK_INT(stats(t).tls_bad_records, ==, 1);
	CHECK_INT(stats(t).requests, ==, req0);
	CHECK(!memcmp(before, t->mem + 0x9000, sizeof(before)));
	honest_session(t);
}

/* Read until EOF (or 3 s): the bytes qvmid sent back. */
static size_t drain(int fd)
{
	int64_t end = sessrig_now_ms() + 3000;
	uint8_t buf[4096];
	size_t total = 0;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t k;

		if (poll(&p, 1, (int)(end - sessrig_now_ms())) <= 0)
			return (size_t)-1; /* still open: a failure */
		k = recv(fd, buf, sizeof(buf), 0);
		if (k <= 0)
			return total;
		total += (size_t)k;
	}
}

/*
 * Every byte a tool sent in a whole session (handshake, HELLO, AUTH, a
 * WRITE_PA), replayed on a new connection: qvmid's fresh ECDHE share
 * gives new keys, so the replayed Finished fails and nothing runs.
 */
static void t_replay_session(void)
{
	struct tvm *t = tvm_start();
	struct mitm *m = mitm_start(t->port, M_PASS, -1);
	struct qvmi_ctx *ctx = tool_open_own(t, m->port, true);
	struct qvmid_session_stats st0;
	uint8_t w[64];
	int fd;

	memset(w, 0x77, sizeof(w));
	CHECK_OK(qvmi_write_pa(ctx, 0xa000, w, sizeof(w)));
	/* psk_dhe_ke: the ServerHello (a handshake record, in clear) has
	 * qvmid's key_share (0x0033, 36 bytes: x25519's 32-byte share). */
	CHECK_INT(m->s2c[0], ==, 22);
	CHECK(memmem(m->s2c, m->s2c_len, "\x00\x33\x00\x24\x00\x1d\x00\x20",
		     8));
	qvmi_ctx_destroy(ctx);
	wait_closed(t);
	sessrig_sleep_ms(50); /* the proxy has logged the last bytes */
	memset(t->mem + 0xa000, 0, sizeof(w));
	st0 = stats(t);
	fd = tcp_dial(t->port);
	CHECK(fd >= 0);
	send_all(fd, m->log, m->log_len);
	CHECK(drain(fd) != (size_t)-1); /* closed by qvmid */
	close(fd);
	wait_closed(t);
	CHECK_INT(stats(t).tls_failed, ==, st0.tls_failed + 1);
	CHECK_INT(stats(t).tls_ok, ==, st0.tls_ok);
	CHECK_INT(stats(t).auth_ok, ==, st0.auth_ok);
	CHECK_INT(stats(t).requests, ==, st0.requests);
	CHECK(qvmi__ses_zero(t->mem, 0xa000, 0xa000 + sizeof(w)));
	honest_session(t);
}

/* A client that speaks the frames in clear gets no frame back. */
static void t_plaintext_refused(void)
{
	struct tvm *t = tvm_start();
	uint8_t p[QVMI_SES_HELLO_REQ] = { 0 }, f[QVMI_SES_HDR + sizeof(p)];
	int fd = tcp_dial(t->port);
	size_t n;

	CHECK(fd >= 0);
	qvmi__ses_put16(p, 1);
	qvmi__ses_put16(p + 2, 1);
	n = qvmi__ses_frame(f, 0, QVMI_SES_HELLO, 1, 0, p, sizeof(p));
	send_all(fd, f, n);
	n = drain(fd);
	CHECK(n != (size_t)-1);
	/* At most a TLS alert (7 bytes), never a HELLO reply (64). */
	CHECK_INT(n, <, (size_t)QVMI_SES_HDR);
	close(fd);
	wait_closed(t);
	CHECK_INT(stats(t).tls_failed, ==, 1);
	CHECK_INT(stats(t).auth_ok, ==, 0);
	honest_session(t);
}

/* ---- a VM that names itself one thing and describes another ---------- */

struct liar {
	int port;
	const char *id_name, *info_name; /* PSK identity, VM info */
	uint8_t id_uuid, info_uuid; /* first byte of each uuid; 0: 7 */
	pthread_t thr;
	int fd;
};

static bool tls_io(struct qvmi_ses_tls *t, void *b, size_t n, bool out)
{
	uint8_t *p = b;

	while (n) { /* blocking socket, SO_RCVTIMEO: bounded */
		short ev;
		ssize_t k = out ? qvmi__ses_tls_write(t, p, n, &ev) :
				  qvmi__ses_tls_read(t, p, n, &ev);

		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

/* The server side of the session protocol by hand, over TLS as a dialling
 * VM whose identity says id_name while its VM info says info_name. */
static void *liar_main(void *arg)
{
	struct liar *l = arg;
	struct qvmi_ses_key k = { 0 };
	struct qvmi_ses_tls *t = NULL;
	struct qvmi_ses_info *info = calloc(1, sizeof(*info));
	uint8_t tr[QVMI_SES_TRANSCRIPT], in[QVMI_SES_HDR + 64], rep[40] = { 0 };
	uint8_t out[QVMI_SES_HDR + 512], mac[QVMI_SES_MAC], p[512];
	char id[QVMI_SES_TLS_ID_MAX + 1];
	const char *why;
	short ev;
	size_t n;

	qvmi__ses_key_set(&k, tls_key, sizeof(tls_key));
	qvmi__ses_tls_id_vm(id, (uint8_t[16]){ l->id_uuid ? l->id_uuid : 7 },
			    l->id_name);
	l->fd = tcp_dial(l->port);
	setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO,
		   &(struct timeval){ .tv_sec = 10 }, sizeof(struct timeval));
	if (!info || l->fd < 0 ||
	    qvmi__ses_tls_new(l->fd, QVMI_SES_TLS_CLIENT, &k, id, false, &t,
			      &why) ||
	    qvmi__ses_tls_handshake(t, &ev) ||
	    !tls_io(t, in, QVMI_SES_HDR + QVMI_SES_HELLO_REQ, false))
		goto out;
	memcpy(tr, in, QVMI_SES_HDR + QVMI_SES_HELLO_REQ);
	qvmi__ses_put16(rep, 1);
	n = qvmi__ses_frame(tr + QVMI_SES_HDR + QVMI_SES_HELLO_REQ,
			    QVMI_SES_F_REPLY, QVMI_SES_HELLO, 1, 0, rep,
			    sizeof(rep));
	if (!tls_io(t, tr + QVMI_SES_HDR + QVMI_SES_HELLO_REQ, n, true) ||
	    !tls_io(t, in, QVMI_SES_HDR + QVMI_SES_MAC, false))
		goto out;
	qvmi__ses_mac(&k, QVMI_SES_ROLE_SERVER, tr, sizeof(tr),
		      in + QVMI_SES_HDR, QVMI_SES_MAC, mac);
	memcpy(info->uuid, (uint8_t[16]){ l->info_uuid ? l->info_uuid : 7 },
	       16);
	snprintf(info->name, sizeof(info->name), "%s", l->info_name);
	info->arch = 1;
	info->vcpus = 1;
	info->max_transfer = 4096;
	info->nram = 1;
	info->ram[0].size = 1 << 20;
	memcpy(p, mac, QVMI_SES_MAC);
	n = QVMI_SES_MAC + qvmi__ses_info_encode(info, p + QVMI_SES_MAC);
	n = qvmi__ses_frame(out, QVMI_SES_F_REPLY, QVMI_SES_AUTH, 2, 0, p, n);
	tls_io(t, out, n, true);
	tls_io(t, in, 1, false); /* until the tool closes */
out:
	qvmi__ses_tls_free(t);
	qvmi__ses_key_clear(&k);
	free(info);
	return NULL;
}

/* Accept liar l; the result of qvmi_session_accept().  key_dir: the
 * listener's per-VM keys (NULL: the rig's key file). */
static int accept_liar_at(struct liar *lp, const char *key_dir)
{
	struct sessrig *r = sessrig_create("liar", tls_key);
	QVMI_OPTS(qvmi_session_listen_opts, o,
		  .key_path = key_dir ? NULL : r->keyfile, .key_dir = key_dir,
		  .timeout_ms = 20000);
	struct qvmi_session_listener *ln = NULL;
	struct liar l = *lp;
	struct qvmi_ctx *ctx = NULL;
	int err;

	CHECK_OK(qvmi_session_listener_create("tcp:127.0.0.1:0", &o, &ln));
	l.port = (int)qvmi_session_listener_port(ln);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_INT(pthread_create(&l.thr, NULL, liar_main, &l), ==, 0);
	err = qvmi_session_accept(ln, ctx, 20000);
	if (err)
		CHECK(strstr(qvmi_errmsg(ctx), "is not the VM its info"));
	if (err && l.info_uuid == 8)
		CHECK_MSG(strstr(qvmi_errmsg(ctx),
				 "uuid 07000000000000000000000000000000, "
				 "info 08000000000000000000000000000000"),
			  "%s", qvmi_errmsg(ctx));
	qvmi_ctx_destroy(ctx); /* the liar sees EOF */
	pthread_join(l.thr, NULL);
	if (l.fd >= 0)
		close(l.fd);
	qvmi_session_listener_destroy(ln);
	return err;
}

static int accept_liar(const char *id_name, const char *info_name)
{
	struct liar l = { .id_name = id_name, .info_name = info_name };

	return accept_liar_at(&l, NULL);
}

/* A dialling VM's identity, proved with the key, must be what its VM
 * info says: the tool knows which VM it talks to. */
static void t_identity_bound(void)
{
	CHECK_OK(accept_liar("vm-a", "vm-a"));
	CHECK_INT(accept_liar("vm-a", "vm-b"), ==, -EACCES);
}

static void rm_keydir(void *arg)
{
	char f[128];

	snprintf(f, sizeof(f), "%s/07000000000000000000000000000000.key",
		 (char *)arg);
	unlink(f);
	rmdir(arg);
	free(arg);
}

/* With per-VM keys the key proves the uuid of the identity, and the VM
 * info must name that uuid too: VM 07's key cannot describe VM 08. */
static void t_identity_bound_keydir(void)
{
	char *dir = strdup("/tmp/qvmi-test-liar-keys-XXXXXX"), f[128];
	struct liar l = { .id_name = "vm-a", .info_name = "vm-a" };
	int fd;

	CHECK(dir && mkdtemp(dir));
	qvmi_test_defer(rm_keydir, dir);
	snprintf(f, sizeof(f), "%s/07000000000000000000000000000000.key", dir);
	fd = open(f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_INT(write(fd, tls_key, sizeof(tls_key)), ==, sizeof(tls_key));
	close(fd);
	CHECK_OK(accept_liar_at(&l, dir));
	l.info_uuid = 8;
	CHECK_INT(accept_liar_at(&l, dir), ==, -EACCES);
	/* And with one shared key, the same. */
	CHECK_INT(accept_liar_at(&l, NULL), ==, -EACCES);
}

static void t_identity_parse(void)
{
	static const uint8_t u[16] = { 0x12, 0x34, 0, 0xff, [15] = 0x9a };
	char buf[QVMI_SES_TLS_ID_MAX + 1], name[256];
	uint8_t longer[QVMI_SES_TLS_ID_MAX + 1];
	struct qvmi_ses_tls_id id;
	const char *why = NULL;
	static const char *const bad[] = {
		"qvmi-tool/2",
		"qvmi-tool/1 ",
		"qvmi-vm/1 1234",
		"qvmi-vm/1 123400ff00000000000000000000009a",
		"qvmi-vm/1 123400FF00000000000000000000009a x",
		"qvmi-vm/1 123400ff00000000000000000000009ax",
		"qvmi-vm/1 123400ff00000000000000000000009a a\tb",
		"qvmi-vm/1 123400ff00000000000000000000009a a\x7f",
		"qvmi-vm/2 123400ff00000000000000000000009a a",
	};

	CHECK_OK(qvmi__ses_tls_id_parse((const uint8_t *)"qvmi-tool/1", 11, &id,
					&why));
	CHECK(!id.vm);
	CHECK_OK(qvmi__ses_tls_id_vm(buf, u, "web-01"));
	CHECK_STR(buf, "qvmi-vm/1 123400ff00000000000000000000009a web-01");
	CHECK_OK(
		qvmi__ses_tls_id_parse((uint8_t *)buf, strlen(buf), &id, &why));
	CHECK(id.vm);
	CHECK(!memcmp(id.uuid, u, 16));
	CHECK_STR(id.name, "web-01");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(qvmi__ses_tls_id_parse((const uint8_t *)bad[i],
						 strlen(bad[i]), &id, &why),
			  ==, -EINVAL);
	/* The longest name fits; one more byte does not. */
	memset(name, 'n', 255);
	name[255] = '\0';
	CHECK_OK(qvmi__ses_tls_id_vm(buf, u, name));
	CHECK_INT(strlen(buf), ==, (size_t)QVMI_SES_TLS_ID_MAX);
	CHECK_OK(
		qvmi__ses_tls_id_parse((uint8_t *)buf, strlen(buf), &id, &why));
	/* One byte more, from a buffer that has room for it. */
	memcpy(longer, buf, QVMI_SES_TLS_ID_MAX);
	longer[QVMI_SES_TLS_ID_MAX] = 'n';
	CHECK_INT(qvmi__ses_tls_id_parse(longer, sizeof(longer), &id, &why), ==,
		  -EINVAL);
	CHECK_INT(qvmi__ses_tls_id_vm(buf, u, "a\nb"), ==, -EINVAL);
}

static const struct qvmi_test session_tls_tests[] = {
	{ "bit_flip", t_bit_flip },
	{ "replay_record", t_replay_record },
	{ "reorder", t_reorder },
	{ "splice", t_splice },
	{ "replay_session", t_replay_session },
	{ "plaintext_refused", t_plaintext_refused },
	{ "identity_parse", t_identity_parse },
	{ "identity_bound", t_identity_bound },
	{ "identity_bound_keydir", t_identity_bound_keydir },
};

QVMI_SUITE(session_tls, session_tls_tests);
