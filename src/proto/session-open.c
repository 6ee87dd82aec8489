// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Session client, the opening (docs/PROTOCOL.md): connect to qvmid (unix,
 * TCP, vsock), HELLO and AUTH (prove the key, check qvmid's proof), TLS
 * first on TCP and vsock, then install the memory source and the control
 * backend of session.c on the ctx.  qvmi_session_open, and the attach
 * session-listen.c shares for a VM that dialled in.
 */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"
#include "proto/session-addr.h"
#include "proto/session-auth.h"
#include "proto/session-tls.h"
#include "proto/session-wire.h"
#include "proto/session.h"
#include "proto/session-priv.h"

/* ---- handshake ----------------------------------------------------------------- */

/* Wait for a non-blocking TCP connect.  0 or negative errno. */
static int tcp_wait(int fd, int64_t deadline)
{
	struct pollfd pfd = { fd, POLLOUT, 0 };
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	for (;;) {
		int64_t left = deadline - qvmi__mono_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)QVMI_MIN(left, 60000));
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len))
		return -errno;
	return -soerr;
}

/* One resolved address: 0 with c->fd connected, or negative errno. */
static int tcp_try(struct ses_client *c, const struct addrinfo *ai,
		   int64_t deadline)
{
	int one = 1, err = 0;

	c->fd = socket(ai->ai_family,
		       SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -errno;
	/* One small frame per request: Nagle would hold each for an ack. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, ai->ai_addr, ai->ai_addrlen))
		err = errno == EINPROGRESS ? tcp_wait(c->fd, deadline) : -errno;
	if (err)
		qvmi__ses_client_break(c);
	return err;
}

/*
 * "tcp:HOST:PORT" ("tcp:[v6]:PORT" for an IPv6 literal): every address
 * HOST resolves to, in getaddrinfo's order, until the deadline.
 */
static int ses_connect_tcp(struct qvmi_ctx *ctx, struct ses_client *c,
			   const char *spec, int64_t deadline)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV },
			*res = NULL;
	struct qvmi_ses_addr a;
	const char *why = "?";
	int err = -ENOENT, g;

	/* the one parser of session addresses (session-addr.c) */
	if (qvmi__ses_addr_parse(spec, 0, &a, &why) || a.kind != QVMI_SES_TCP)
		return qvmi__err(ctx, -EINVAL, "session: %s: %s", spec, why);
	g = getaddrinfo(a.host, a.port, &hints, &res);
	if (g)
		return qvmi__err(ctx, -EHOSTUNREACH, "session: %s: %s", a.host,
				 gai_strerror(g));
	for (struct addrinfo *ai = res; ai && err; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		err = tcp_try(c, ai, deadline);
		if (err == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (err)
		return qvmi__err(ctx, err, "session: connect %s: %s", spec,
				 strerror(-err));
	return 0;
}

static int ses_connect(struct qvmi_ctx *ctx, struct ses_client *c,
		       const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = qvmi__mono_ms() + c->timeout_ms;

	if (!strncmp(path, "tcp:", 4))
		return ses_connect_tcp(ctx, c, path, deadline);
	if (!strncmp(path, "vsock:", 6))
		return qvmi__ses_connect_vsock(ctx, path, deadline, &c->fd);
	if (!*path || strlen(path) >= sizeof(sa.sun_path))
		return qvmi__err(ctx, -ENAMETOOLONG,
				 "session: socket path empty or too long");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return qvmi__err(ctx, -errno, "session: socket: %s",
				 strerror(errno));
	/* A full backlog gives EAGAIN on unix sockets: retry. */
	while (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		if ((err != -EAGAIN && err != -EINTR) ||
		    qvmi__mono_ms() >= deadline) {
			qvmi__ses_client_break(c);
			return qvmi__err(ctx, err, "session: connect %s: %s",
					 path, strerror(-err));
		}
		nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
	}
	return 0;
}

/* HELLO, AUTH; on success c->buf holds the AUTH reply of *len bytes. */
static int ses_handshake(struct qvmi_ctx *ctx, struct ses_client *c,
			 const struct qvmi_ses_key *key, int *len)
{
	uint8_t t[QVMI_SES_TRANSCRIPT], mac[QVMI_SES_MAC], want[QVMI_SES_MAC];
	uint8_t *p = c->buf + QVMI_SES_HDR;
	int n;

	memset(p, 0, QVMI_SES_HELLO_REQ);
	qvmi__ses_put16(p, QVMI_SES_VERSION);
	qvmi__ses_put16(p + 2, QVMI_SES_VERSION);
	if (qvmi__ses_nonce(p + 8))
		return qvmi__err(ctx, -EIO, "session: no random bytes");
	/* The request goes out from c->buf: keep a copy for the MACs. */
	qvmi__ses_frame(t, 0, QVMI_SES_HELLO, c->seq + 1, 0, p,
			QVMI_SES_HELLO_REQ);
	n = qvmi__ses_client_call_exact(ctx, c, QVMI_SES_HELLO,
					QVMI_SES_HELLO_REQ, QVMI_SES_HELLO_REP);
	if (n)
		return n;
	if (qvmi__ses_get16(p) != QVMI_SES_VERSION || !qvmi__ses_zero(p, 2, 8))
		return qvmi__ses_client_bad(ctx, c, "hello reply");
	memcpy(t + QVMI_SES_HDR + QVMI_SES_HELLO_REQ, c->buf,
	       QVMI_SES_HDR + QVMI_SES_HELLO_REP);
	if (qvmi__ses_mac(key, QVMI_SES_ROLE_CLIENT, t, sizeof(t), NULL, 0,
			  mac))
		return qvmi__err(ctx, -EIO, "session: HMAC failed");
	memcpy(p, mac, QVMI_SES_MAC);
	n = qvmi__ses_client_call(ctx, c, QVMI_SES_AUTH, QVMI_SES_MAC);
	if (n == -EACCES)
		return qvmi__err(ctx, n, "session: qvmid refused our key");
	if (n < 0)
		return n;
	if (n < QVMI_SES_MAC ||
	    qvmi__ses_mac(key, QVMI_SES_ROLE_SERVER, t, sizeof(t), mac,
			  QVMI_SES_MAC, want) ||
	    !qvmi__ses_mac_equal(want, p)) {
		qvmi__ses_client_break(c);
		return qvmi__err(ctx, -EACCES,
				 "session: qvmid did not prove the key");
	}
	*len = n;
	return 0;
}

static char *uuid_text(const uint8_t u[16])
{
	char *s;

	if (qvmi__ses_zero(u, 0, 16))
		return NULL;
	if (asprintf(&s,
		     "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		     "%02x%02x%02x%02x%02x%02x",
		     u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		     u[10], u[11], u[12], u[13], u[14], u[15]) < 0)
		return NULL;
	return s;
}

/* Register the VM's RAM over the session; adopt its identity. */
static int ses_install(struct qvmi_ctx *ctx, struct ses_client *c,
		       const struct qvmi_ses_info *info)
{
	struct qvmi_source *src;
	int err;

	c->vcpus = info->vcpus;
	c->max_transfer = info->max_transfer;
	err = qvmi_source_create(ctx, &qvmi__ses_client_src_ops, c,
				 QVMI_SOURCE_SLOW, &src);
	if (err)
		return err;
	c->refs++;
	err = qvmi__ctl_set(ctx, &qvmi__ses_client_ctl_ops, c);
	if (err)
		return err;
	c->refs++;
	for (uint32_t i = 0; i < info->nram && !err; i++) {
		err = qvmi_map_add(ctx, src, info->ram[i].gpa,
				   info->ram[i].size, info->ram[i].gpa);
		if (!err)
			err = qvmi__ram_add(ctx, info->ram[i].gpa,
					    info->ram[i].size);
	}
	if (err)
		return err;
	/* PROTOCOL.md: info arch 1 = x86_64, 2 = i386 */
	snprintf(ctx->vm_arch, sizeof(ctx->vm_arch), "%s",
		 info->arch == 1 ? "x86_64" :
		 info->arch == 2 ? "i386" :
				   "");
	ctx->vm_name = qvmi__strdup(info->name);
	ctx->vm_uuid = uuid_text(info->uuid);
	ctx->backend = "session";
	ctx->vm_state = info->state <= QVMI_VM_FROZEN ?
				(enum qvmi_vm_state)info->state :
				QVMI_VM_UNKNOWN;
	return ctx->vm_name ? 0 : qvmi__err(ctx, -ENOMEM, "out of memory");
}

static int ses_tls_fail(struct qvmi_ctx *ctx, struct ses_client *c, int err,
			bool we_dialled)
{
	char why[256]; /* qvmi__ses_tls_why(): at most 255 */

	snprintf(why, sizeof(why), "%s", qvmi__ses_tls_why(c->tls));
	qvmi__ses_client_break(c);
	if (err == -EACCES)
		return qvmi__err(ctx, err, "session: %s (%s)",
				 we_dialled ? "qvmid refused our key" :
					      "the VM's key or identity does "
					      "not match ours",
				 why);
	if (err == -ECONNRESET)
		return qvmi__err(ctx, err,
				 "session: the peer closed the connection "
				 "before TLS was up (%s; another session "
				 "active?)",
				 why);
	if (err == -ETIMEDOUT)
		return qvmi__err(ctx, err, "session: TLS handshake timed out");
	return qvmi__err(ctx, err, "session: %s", why);
}

/* TCP and vsock: TLS 1.3 with the key's PSK before any frame.  We are the
 * TLS client if we dialled (identity: a tool's), else its server (the
 * identity must be a VM's, checked against its VM info later). */
static int ses_tls_start(struct qvmi_ctx *ctx, struct ses_client *c,
			 const struct qvmi_ses_key *key,
			 enum qvmi_ses_tls_mode mode)
{
	int64_t deadline = qvmi__mono_ms() + c->timeout_ms;
	const char *why = "?";
	int err = c->keydir >= 0 ? qvmi__ses_tls_new_keydir(c->fd, c->keydir,
							    &c->tls, &why) :
				   qvmi__ses_tls_new(c->fd, mode, key,
						     QVMI_SES_TLS_ID_TOOL, true,
						     &c->tls, &why);

	if (err) {
		qvmi__ses_client_break(c);
		return qvmi__err(ctx, err, "session: TLS: %s", why);
	}
	/* Bounded: each turn moves handshake bytes or waits until the
	 * deadline. */
	for (;;) {
		struct pollfd pfd = { c->fd, POLLIN, 0 };
		int64_t left = deadline - qvmi__mono_ms();

		err = qvmi__ses_tls_handshake(c->tls, &pfd.events);
		if (err != -EAGAIN)
			break;
		if (left <= 0) {
			err = -ETIMEDOUT;
			break;
		}
		if (poll(&pfd, 1, (int)QVMI_MIN(left, 60000)) < 0 &&
		    errno != EINTR) {
			err = -errno;
			break;
		}
	}
	return err ? ses_tls_fail(ctx, c, err, mode == QVMI_SES_TLS_CLIENT) : 0;
}

/* A VM that dialled us named itself in its PSK identity: its VM info,
 * now authenticated, must say the same. */
static int ses_tls_identity(struct qvmi_ctx *ctx, struct ses_client *c,
			    const struct qvmi_ses_info *info)
{
	const struct qvmi_ses_tls_id *id;
	char u[2][33];
	int err;

	if (!c->tls)
		return 0;
	id = qvmi__ses_tls_peer(c->tls);
	if (!id->vm)
		return 0;
	if (!memcmp(id->uuid, info->uuid, 16) && !strcmp(id->name, info->name))
		return 0;
	for (int i = 0; i < 16; i++) {
		snprintf(u[0] + 2 * i, 3, "%02x", id->uuid[i]);
		snprintf(u[1] + 2 * i, 3, "%02x", info->uuid[i]);
	}
	/* Before qvmi__ses_client_break(), which frees id.  Names are up to 255 bytes:
	 * the uuids go first, so that a message cut at 255 keeps them. */
	err = qvmi__err(ctx, -EACCES,
			"session: the VM's TLS identity is not the VM its "
			"info describes (uuid %s, info %s; name \"%s\", "
			"info \"%s\")",
			u[0], u[1], id->name, info->name);
	qvmi__ses_client_break(c);
	return err;
}

/* Handshake, then the source and control backend over c (whose fd is
 * connected).  what names the peer in the log line. */
static int ses_attach(struct qvmi_ctx *ctx, struct ses_client *c,
		      const struct qvmi_ses_key *key,
		      enum qvmi_ses_tls_mode mode, const char *what)
{
	struct qvmi_ses_info *info = malloc(sizeof(*info));
	struct qvmi_ses_key vmkey = { 0 };
	const char *why = "?";
	int err = 0, len = 0;

	if (!info)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	if (mode != QVMI_SES_TLS_NONE)
		err = ses_tls_start(ctx, c, key, mode);
	/* Per-VM keys: the session handshake proves the VM's key too. */
	if (!err && c->keydir >= 0) {
		err = qvmi__ses_tls_key(c->tls, &vmkey);
		if (err)
			err = qvmi__err(ctx, err, "session: no key for the VM");
		key = &vmkey;
	}
	if (!err)
		err = ses_handshake(ctx, c, key, &len);
	qvmi__ses_key_clear(&vmkey);
	if (!err &&
	    qvmi__ses_info_decode(c->buf + QVMI_SES_HDR + QVMI_SES_MAC,
				  (size_t)len - QVMI_SES_MAC, info, &why))
		err = qvmi__ses_client_bad(ctx, c, why);
	if (!err)
		err = ses_tls_identity(ctx, c, info);
	if (!err)
		err = ses_install(ctx, c, info);
	if (err && c->refs > 1)
		qvmi__detach(ctx);
	if (!err)
		qvmi__log(ctx, QVMI_LOG_INFO,
			  "session: %s: VM \"%s\", %u vCPUs, %u RAM ranges",
			  what, info->name, info->vcpus, info->nram);
	free(info);
	return err;
}

static struct ses_client *ses_new(int timeout_ms)
{
	struct ses_client *c = calloc(1, sizeof(*c));

	if (c)
		c->buf = malloc(QVMI_SES_HDR + QVMI_SES_MAX_PAYLOAD);
	if (!c || !c->buf) {
		free(c);
		return NULL;
	}
	c->fd = -1;
	c->keydir = -1;
	c->refs = 1; /* ours, until the source and the ctl hold it */
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : SES_TIMEOUT_MS;
	return c;
}

static int client_attach(struct qvmi_ctx *ctx, int fd,
			 const struct qvmi_ses_key *key, int keydir,
			 enum qvmi_ses_tls_mode mode, int timeout_ms,
			 const char *what)
{
	struct ses_client *c = ses_new(timeout_ms);
	int err;

	if (!c) {
		close(fd);
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	}
	c->fd = fd;
	c->keydir = keydir;
	err = ses_attach(ctx, c, key, mode, what);
	qvmi__ses_client_unref(c);
	return err;
}

int qvmi__ses_client_attach(struct qvmi_ctx *ctx, int fd,
			    const struct qvmi_ses_key *key,
			    enum qvmi_ses_tls_mode mode, int timeout_ms,
			    const char *what)
{
	return client_attach(ctx, fd, key, -1, mode, timeout_ms, what);
}

int qvmi__ses_client_attach_keydir(struct qvmi_ctx *ctx, int fd, int keydir,
				   int timeout_ms, const char *what)
{
	return client_attach(ctx, fd, NULL, keydir, QVMI_SES_TLS_SERVER,
			     timeout_ms, what);
}

QVMI_API int qvmi_session_open(struct qvmi_ctx *ctx, const char *path,
			       const struct qvmi_session_opts *opts)
{
	struct qvmi_ses_key key = { 0 };
	struct ses_client *c = NULL;
	const char *kpath = QVMI_OPTS_GET(opts, key_path, NULL), *why = "?";
	int err;

	if (!ctx)
		return -EINVAL;
	if (!path || !kpath || !QVMI_OPTS_VALID(opts, struct qvmi_session_opts))
		return qvmi__err(ctx, -EINVAL,
				 "session: a socket path and a key file are "
				 "needed");
	if (ctx->sources || ctx->ctl)
		return qvmi__err(ctx, -EBUSY, "session: already attached");
	err = qvmi__ses_key_load(kpath, &key, &why);
	if (err)
		return qvmi__err(ctx, err, "session: key %s: %s", kpath, why);
	c = ses_new(QVMI_OPTS_GET(opts, timeout_ms, 0));
	if (!c) {
		err = qvmi__err(ctx, -ENOMEM, "out of memory");
		goto out;
	}
	err = ses_connect(ctx, c, path);
	/* Unix sockets stay plain: 0600 and the same uid already keep
	 * everyone else off them (docs/PROTOCOL.md "Channel protection"). */
	if (!err)
		err = ses_attach(ctx, c, &key,
				 strncmp(path, "tcp:", 4) &&
						 strncmp(path, "vsock:", 6) ?
					 QVMI_SES_TLS_NONE :
					 QVMI_SES_TLS_CLIENT,
				 path);
out:
	if (c)
		qvmi__ses_client_unref(c);
	qvmi__ses_key_clear(&key);
	return err;
}
