// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Sessions over TCP (qvmid --session-tcp, qvmi_session_open "tcp:H:P"):
 * qvmid's session server in a thread on loopback, port 0, over a testmem
 * ctx; libqvmi's client connects by the port the server reports.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "core/internal.h"
#include "sessrig.h"
#include "../../daemon/session-int.h"

enum { MEM_SIZE = 1 << 20 };

static const uint8_t tcp_key[32] = "fedcba9876543210fedcba9876543210";

/* Heap, freed when the test ends (the rig, deferred later, goes first). */
struct tsrv {
	struct sessrig *r;
	/* the rig's, under the names the tests use */
	struct qvmi_ctx *ctx;
	struct qvmid_session_server *s;
	const char *path, *keyfile;
	uint8_t *mem;
	char addr[64];
};

static void tsrv_free(void *arg)
{
	struct tsrv *t = arg;

	free(t->mem);
	free(t);
}

static void tkey(const char *path, const uint8_t *k)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0);
	CHECK_INT(write(fd, k, 32), ==, 32);
	close(fd);
}

/* A server on tcp (and on a unix socket too when with_unix). */
static struct tsrv *tsrv_start(const char *tcp, bool with_unix)
{
	struct qvmid_session_opts o = { .tcp_addr = tcp };
	struct tsrv *t = calloc(1, sizeof(*t));
	struct qvmi_source *src;

	CHECK(t);
	qvmi_test_defer(tsrv_free, t);
	t->mem = malloc(MEM_SIZE);
	CHECK(t->mem);
	for (size_t i = 0; i < MEM_SIZE; i++)
		t->mem[i] = (uint8_t)(i * 13 + (i >> 10));
	t->r = sessrig_create("tcp", tcp_key);
	t->ctx = t->r->ctx;
	t->path = t->r->path;
	t->keyfile = t->r->keyfile;
	CHECK_OK(qvmi_source_testmem_create(t->ctx, t->mem, MEM_SIZE, 1, &src));
	CHECK_OK(qvmi_map_add(t->ctx, src, 0, MEM_SIZE, 0));
	CHECK_OK(qvmi__ram_add(t->ctx, 0, MEM_SIZE));
	t->ctx->vm_name = strdup("tcp-vm");
	sessrig_serve(t->r, &o, with_unix);
	t->s = t->r->s;
	CHECK_INT(qvmid_session_server_tcp_port(t->s), >, 0);
	snprintf(t->addr, sizeof(t->addr), "tcp:%s:%u",
		 tcp[0] == '[' ? "[::1]" : "127.0.0.1",
		 (unsigned int)qvmid_session_server_tcp_port(t->s));
	return t;
}

static void tsrv_join(struct tsrv *t)
{
	sessrig_join(t->r);
}

static void tsrv_stop(struct tsrv *t)
{
	sessrig_stop(t->r);
}

static int topen(struct tsrv *t, const char *where, struct qvmi_ctx **ret)
{
	return sessrig_open(t->r, where, ret);
}

static int sockopt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	CHECK_OK(getsockopt(fd, level, name, &v, &len));
	return v;
}

/* Handshake, auth, memory both ways over 127.0.0.1. */
static void t_round_trip(void)
{
	struct tsrv *t = tsrv_start("127.0.0.1:0", false);
	struct qvmid_session_stats st;
	struct qvmi_ctx *ctx;
	uint8_t buf[9000];

	CHECK_INT(t->s->l.fd, ==, -1); /* no unix socket unless asked */
	CHECK_INT(sockopt(t->s->tcp_fd, SOL_SOCKET, SO_REUSEADDR), !=, 0);
	CHECK_INT(sockopt(t->s->tcp_fd, IPPROTO_TCP, TCP_NODELAY), !=, 0);
	CHECK_OK(topen(t, t->addr, &ctx));
	CHECK_INT(qvmi_map_count(ctx), ==, 1);
	CHECK_OK(qvmi_read_pa(ctx, 0x777, buf, sizeof(buf)));
	CHECK(!memcmp(buf, t->mem + 0x777, sizeof(buf)));
	CHECK_OK(qvmi_read_pa(ctx, MEM_SIZE - 16, buf, 16));
	CHECK(!memcmp(buf, t->mem + MEM_SIZE - 16, 16));
	CHECK_INT(qvmi_read_pa(ctx, MEM_SIZE - 2, buf, 4), ==, -EFAULT);
	qvmi_ctx_destroy(ctx);
	tsrv_join(t);
	qvmid_session_server_stats(t->s, &st);
	CHECK_INT(st.accepted, ==, 1);
	CHECK_INT(st.auth_ok, ==, 1);
	CHECK_INT(st.auth_failed, ==, 0);
	CHECK_INT(st.requests, >=, 3);
	tsrv_stop(t);
}

static void t_wrong_key(void)
{
	struct tsrv *t = tsrv_start("127.0.0.1:0", false);
	struct qvmid_session_stats st;
	struct qvmi_ctx *ctx;
	uint8_t k[32];

	memcpy(k, tcp_key, sizeof(k));
	k[0] ^= 0x80;
	tkey(t->keyfile, k);
	CHECK_INT(topen(t, t->addr, &ctx), ==, -EACCES);
	CHECK_INT(qvmi_map_count(ctx), ==, 0);
	qvmi_ctx_destroy(ctx);
	tsrv_join(t);
	qvmid_session_server_stats(t->s, &st);
	CHECK_INT(st.auth_failed, ==, 1);
	CHECK_INT(st.auth_ok, ==, 0);
	tsrv_stop(t);
}

/* Unix and TCP together share the one-session rule. */
static void t_one_session_across_transports(void)
{
	struct tsrv *t = tsrv_start("127.0.0.1:0", true);
	struct qvmid_session_stats st;
	struct qvmi_ctx *a, *b;
	uint8_t x;

	CHECK_OK(topen(t, t->path, &a));
	/* Over TLS the refusal is a close before the handshake: no frame
	 * goes out in clear (docs/PROTOCOL.md "Channel protection"). */
	CHECK_INT(topen(t, t->addr, &b), ==, -ECONNRESET);
	CHECK(strstr(qvmi_errmsg(b), "another session active?"));
	qvmi_ctx_destroy(b);
	CHECK_OK(qvmi_read_pa(a, 5, &x, 1));
	CHECK_INT(x, ==, t->mem[5]);
	qvmi_ctx_destroy(a);
	/* The unix session is over: TCP gets the next one.  Closing is
	 * asynchronous on the server's side, so retry briefly. */
	for (int i = 0; i < 100; i++) {
		int r = topen(t, t->addr, &b);

		if (r != -ECONNRESET) {
			CHECK_OK(r);
			break;
		}
		qvmi_ctx_destroy(b);
		b = NULL;
		usleep(10000);
	}
	CHECK(b);
	CHECK_OK(qvmi_read_pa(b, 6, &x, 1));
	CHECK_INT(x, ==, t->mem[6]);
	qvmi_ctx_destroy(b);
	tsrv_join(t);
	qvmid_session_server_stats(t->s, &st);
	CHECK_INT(st.auth_ok, ==, 2);
	CHECK_INT(st.refused_busy, >=, 1);
	tsrv_stop(t);
}

static void t_ipv6_loopback(void)
{
	struct qvmid_session_opts o = { .tcp_addr = "[::1]:0",
					.key = tcp_key,
					.key_len = sizeof(tcp_key) };
	struct qvmid_session_server *s;
	struct tsrv *t;
	struct qvmi_ctx *ctx;
	uint8_t x;
	int err = qvmid_session_server_create(NULL, NULL, &o, &s);

	if (err == -EADDRNOTAVAIL || err == -EAFNOSUPPORT)
		SKIP("no IPv6 loopback here (%d)", err);
	CHECK_OK(err);
	qvmid_session_server_destroy(s);
	t = tsrv_start("[::1]:0", false);
	CHECK_OK(topen(t, t->addr, &ctx));
	CHECK_OK(qvmi_read_pa(ctx, 0x10, &x, 1));
	CHECK_INT(x, ==, t->mem[0x10]);
	qvmi_ctx_destroy(ctx);
	tsrv_stop(t);
}

/* A loopback port nobody listens on (bound, then closed). */
static unsigned int closed_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	CHECK_OK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	CHECK_OK(getsockname(fd, (struct sockaddr *)&sa, &len));
	close(fd);
	return ntohs(sa.sin_port);
}

static void t_bad_addresses(void)
{
	static const char *const bad_srv[] = {
		"127.0.0.1",   "127.0.0.1:", ":7777",		"::1:7777",
		"[::1]7777",   "[::1]:",     "127.0.0.1:65536", "127.0.0.1:7x",
		"localhost:0", "[]:0",	     "1.2.3.4.5:0",
	};
	static const char *const bad_cli[] = {
		"tcp:",		"tcp:127.0.0.1",       "tcp::80",
		"tcp:[::1]80",	"tcp:127.0.0.1:99999", "tcp:127.0.0.1:-1",
		"tcp:::1:7777", /* IPv6 needs brackets, as for the server */
	};
	struct qvmid_session_opts o = { .key = tcp_key,
					.key_len = sizeof(tcp_key) };
	struct qvmid_session_server *s = NULL;
	struct tsrv *t = tsrv_start("127.0.0.1:0", false);
	struct qvmi_ctx *ctx;
	char where[64];

	/* neither a path nor a TCP address */
	CHECK_INT(qvmid_session_server_create(NULL, NULL, &o, &s), ==, -EINVAL);
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(bad_srv); i++) {
		o.tcp_addr = bad_srv[i];
		CHECK_MSG(qvmid_session_server_create(NULL, NULL, &o, &s) ==
				  -EINVAL,
			  "server accepted \"%s\"", bad_srv[i]);
	}
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(bad_cli); i++) {
		CHECK_MSG(topen(t, bad_cli[i], &ctx) == -EINVAL,
			  "client accepted \"%s\"", bad_cli[i]);
		qvmi_ctx_destroy(ctx);
	}
	snprintf(where, sizeof(where), "tcp:127.0.0.1:%u", closed_port());
	CHECK_INT(topen(t, where, &ctx), ==, -ECONNREFUSED);
	CHECK(strstr(qvmi_errmsg(ctx), "connect tcp:127.0.0.1:"));
	qvmi_ctx_destroy(ctx);
	/* a name, resolved: "localhost" is in every /etc/hosts */
	snprintf(where, sizeof(where), "tcp:localhost:%u",
		 (unsigned int)qvmid_session_server_tcp_port(t->s));
	CHECK_OK(topen(t, where, &ctx));
	qvmi_ctx_destroy(ctx);
	tsrv_stop(t);
}

/* build/qvmid (next to this test binary) must refuse TCP without a key,
 * before it connects to anything. */
static void t_qvmid_needs_key(void)
{
	char exe[4096], port[32], out[512] = "";
	int pfd[2], status;
	ssize_t n, len;
	pid_t pid;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 16);
	CHECK(n > 0);
	exe[n] = '\0';
	strcpy(strrchr(exe, '/') + 1, "qvmid");
	if (access(exe, X_OK) && access(strcpy(exe, "build/qvmid"), X_OK))
		SKIP("no qvmid binary built next to the tests");
	snprintf(port, sizeof(port), "127.0.0.1:%u", closed_port());
	CHECK_OK(pipe2(pfd, O_CLOEXEC));
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		dup2(pfd[1], 2);
		execl(exe, "qvmid", "--qmp", "/nonexistent/qmp.sock",
		      "--session-tcp", port, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	for (len = 0; len < (ssize_t)sizeof(out) - 1; len += n) {
		n = read(pfd[0], out + len, sizeof(out) - 1 - (size_t)len);
		if (n <= 0)
			break;
	}
	close(pfd[0]);
	CHECK_INT(waitpid(pid, &status, 0), ==, pid);
	CHECK(WIFEXITED(status));
	CHECK_INT(WEXITSTATUS(status), ==, 2);
	CHECK_MSG(strstr(out, "--session-tcp requires --session-key"),
		  "qvmid said: %s", out);
}

static const struct qvmi_test session_tcp_tests[] = {
	{ "round_trip", t_round_trip },
	{ "wrong_key", t_wrong_key },
	{ "one_session_across_transports", t_one_session_across_transports },
	{ "ipv6_loopback", t_ipv6_loopback },
	{ "bad_addresses", t_bad_addresses },
	{ "qvmid_needs_key", t_qvmid_needs_key },
};

QVMI_SUITE(session_tcp, session_tcp_tests);
