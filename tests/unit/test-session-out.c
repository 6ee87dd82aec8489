// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Connect-out sessions (qvmid --session-connect, libqvmi
 * qvmi_session_listener_create/qvmi_session_accept) and the vsock
 * transport.  Each fake VM is qvmid's session server over a testmem ctx,
 * run by a loop thread of this file that also takes commands from the
 * test over a pipe (inject a QMP RESET, copy the stats, quit), so the
 * server's state is only ever touched by its own thread.  The tool side
 * is the real library on the test's thread.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "core/internal.h"
#include "proto/session-addr.h"
#include "../../daemon/session-int.h"

enum { MEM_SIZE = 256 << 10 };

static const uint8_t out_key[32] = "0123456789abcdef0123456789abcdef";

struct vm {
	struct qvmi_ctx *ctx;
	struct qvmid_session_server *s;
	uint8_t *mem;
	pthread_t thr;
	int ctl[2], ack[2];
	struct qvmid_session_stats st;
	int keepidle; /* of the session socket, at the last 's' */
	bool running;
};

static int64_t now_ms(void)
{
	return qvmi__mono_ms();
}

static void vm_reset_event(struct vm *v)
{
	struct json_object *m = json_tokener_parse(
		"{\"event\": \"RESET\", \"data\": {\"guest\": true, "
		"\"reason\": \"guest-reset\"}, \"timestamp\": {\"seconds\": "
		"1700000000, \"microseconds\": 5}}");

	qvmid_session_server_qmp_event(v->s, m);
	json_object_put(m);
}

/* The fake VM's loop: qvmid's prepare/poll/dispatch plus our commands. */
static void *vm_main(void *arg)
{
	struct vm *v = arg;

	for (;;) {
		struct pollfd pfd[1 + 8];
		int64_t next = INT64_MAX;
		nfds_t n;
		int wait;
		char cmd;

		pfd[0] = (struct pollfd){ v->ctl[0], POLLIN, 0 };
		n = qvmid_session_server_prepare(v->s, pfd + 1, &next);
		wait = next == INT64_MAX ?
			       1000 :
			       (int)QVMI_MAX(QVMI_MIN(next - now_ms(), 1000),
					     (int64_t)0);
		if (poll(pfd, 1 + n, wait) < 0)
			continue;
		if (pfd[0].revents && read(v->ctl[0], &cmd, 1) == 1) {
			if (cmd == 'q')
				return NULL;
			if (cmd == 'r')
				vm_reset_event(v);
			if (cmd == 's') {
				socklen_t len = sizeof(v->keepidle);

				v->keepidle = -1;
				if (v->s->c &&
				    getsockopt(v->s->c->fd, IPPROTO_TCP,
					       TCP_KEEPIDLE, &v->keepidle,
					       &len))
					v->keepidle = -1;
				qvmid_session_server_stats(v->s, &v->st);
				if (write(v->ack[1], "k", 1) != 1)
					return NULL;
			}
		}
		qvmid_session_server_dispatch(v->s, pfd + 1);
	}
}

static void vm_cmd(struct vm *v, char c)
{
	CHECK_INT(write(v->ctl[1], &c, 1), ==, 1);
}

/* The server's stats, copied by its own thread. */
static void vm_stats(struct vm *v)
{
	struct pollfd pfd = { v->ack[0], POLLIN, 0 };
	char k;

	vm_cmd(v, 's');
	CHECK_INT(poll(&pfd, 1, 5000), ==, 1);
	CHECK_INT(read(v->ack[0], &k, 1), ==, 1);
}

/* A VM whose memory is a pattern seeded by tag, dialling addr. */
static struct vm *vm_start(const char *addr, uint8_t tag, int interval_ms,
			   const char *name)
{
	struct qvmid_session_opts o = { .connect_addr = addr,
					.key = out_key,
					.key_len = sizeof(out_key),
					.reconnect_interval_ms = interval_ms,
					/* TCP is TLS: a first handshake under
					 * valgrind takes seconds. */
					.auth_timeout_ms = 10000 };
	struct vm *v = calloc(1, sizeof(*v));
	struct qvmi_source *src;

	CHECK(v);
	v->mem = malloc(MEM_SIZE);
	CHECK(v->mem);
	for (size_t i = 0; i < MEM_SIZE; i++)
		v->mem[i] = (uint8_t)(i * 7 + tag);
	CHECK_OK(qvmi_ctx_create(&v->ctx));
	CHECK_OK(qvmi_source_testmem_create(v->ctx, v->mem, MEM_SIZE, 1, &src));
	CHECK_OK(qvmi_map_add(v->ctx, src, 0, MEM_SIZE, 0));
	CHECK_OK(qvmi__ram_add(v->ctx, 0, MEM_SIZE));
	v->ctx->vm_name = strdup(name);
	CHECK_OK(pipe2(v->ctl, O_CLOEXEC));
	CHECK_OK(pipe2(v->ack, O_CLOEXEC));
	CHECK_OK(qvmid_session_server_create(v->ctx, NULL, &o, &v->s));
	CHECK_INT(pthread_create(&v->thr, NULL, vm_main, v), ==, 0);
	v->running = true;
	return v;
}

static void vm_join(struct vm *v)
{
	if (!v->running)
		return;
	vm_cmd(v, 'q');
	CHECK_INT(pthread_join(v->thr, NULL), ==, 0);
	v->running = false;
	qvmid_session_server_stats(v->s, &v->st);
}

static void vm_stop(struct vm *v)
{
	vm_join(v);
	qvmid_session_server_destroy(v->s);
	qvmi_ctx_destroy(v->ctx);
	for (int i = 0; i < 2; i++) {
		close(v->ctl[i]);
		close(v->ack[i]);
	}
	free(v->mem);
	free(v);
}

static char keyfile[64];

static void write_key(const uint8_t *k)
{
	int fd;

	snprintf(keyfile, sizeof(keyfile), "/tmp/qvmi-test-out-%d.key",
		 (int)getpid());
	fd = open(keyfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_INT(write(fd, k, 32), ==, 32);
	close(fd);
}

static struct qvmi_session_listener *tool_listen(const char *addr)
{
	QVMI_OPTS(qvmi_session_listen_opts, o, .key_path = keyfile,
		  .timeout_ms = 10000);
	struct qvmi_session_listener *l = NULL;

	write_key(out_key);
	CHECK_OK(qvmi_session_listener_create(addr, &o, &l));
	return l;
}

static void sock_path(char *buf, size_t size, const char *what)
{
	snprintf(buf, size, "/tmp/qvmi-test-out-%d-%s.sock", (int)getpid(),
		 what);
	unlink(buf);
}

/* The accepted ctx reads the VM's own memory, tagged by tag. */
static void check_vm(struct qvmi_ctx *ctx, uint8_t tag, const char *name)
{
	struct qvmi_vm_info info;
	uint8_t buf[5000];

	CHECK_OK(qvmi_read_pa(ctx, 0x1234, buf, sizeof(buf)));
	for (size_t i = 0; i < sizeof(buf); i++)
		CHECK_INT(buf[i], ==, (uint8_t)((0x1234 + i) * 7 + tag));
	CHECK_INT(qvmi_read_pa(ctx, MEM_SIZE - 2, buf, 4), ==, -EFAULT);
	CHECK_OK(qvmi_vm_info(ctx, &info));
	CHECK_STR(info.name, name);
}

/* qvmid dials a unix listener; the tool's close makes it dial again. */
static void t_unix_round_trip(void)
{
	char path[108];
	struct qvmi_session_listener *l;
	struct qvmi_ctx *ctx;
	struct vm *v;
	struct stat st;

	sock_path(path, sizeof(path), "u");
	l = tool_listen(path);
	CHECK_OK(stat(path, &st));
	CHECK_INT(st.st_mode & 0777, ==, 0600);
	CHECK_INT(qvmi_session_listener_port(l), ==, 0);
	v = vm_start(path, 1, 100, "vm-unix");
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_session_accept(l, ctx, 3000));
	check_vm(ctx, 1, "vm-unix");
	CHECK_INT(qvmi_session_fd(ctx), >=, 0);
	vm_stats(v);
	CHECK(v->st.outbound);
	CHECK_INT(v->st.auth_ok, ==, 1);
	CHECK_INT(v->st.accepted, ==, 0);
	/* A second accept on an attached ctx is refused. */
	CHECK_INT(qvmi_session_accept(l, ctx, 0), ==, -EBUSY);
	qvmi_ctx_destroy(ctx);
	/* The tool closed that session: qvmid dials again. */
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_session_accept(l, ctx, 3000));
	check_vm(ctx, 1, "vm-unix");
	qvmi_ctx_destroy(ctx);
	vm_join(v);
	CHECK_U64(v->st.out_connected, ==, 2);
	CHECK_U64(v->st.auth_ok, ==, 2);
	vm_stop(v);
	qvmi_session_listener_destroy(l);
	CHECK_INT(access(path, F_OK), ==, -1); /* ours: removed */
	unlink(keyfile);
}

/*
 * The tool has another key: every attempt fails authentication, and
 * qvmid tries once per interval, not in a loop.
 */
static void t_wrong_key_waits(void)
{
	uint8_t bad[32];
	char path[108];
	struct qvmi_session_listener *l;
	struct qvmi_ctx *ctx;
	struct vm *v;
	int refused = 0;
	int64_t t0;

	sock_path(path, sizeof(path), "k");
	l = tool_listen(path);
	memcpy(bad, out_key, sizeof(bad));
	bad[31] ^= 1;
	qvmi_session_listener_destroy(l);
	write_key(bad);
	{
		QVMI_OPTS(qvmi_session_listen_opts, o, .key_path = keyfile,
			  .timeout_ms = 3000);

		CHECK_OK(qvmi_session_listener_create(path, &o, &l));
	}
	v = vm_start(path, 2, 250, "vm-key");
	t0 = now_ms();
	CHECK_OK(qvmi_ctx_create(&ctx));
	while (now_ms() - t0 < 1400) {
		int r = qvmi_session_accept(l, ctx, 200);

		if (r == -ETIMEDOUT)
			continue;
		CHECK_INT(r, ==, -EACCES);
		CHECK(strstr(qvmi_errmsg(ctx), "refused our key"));
		CHECK_INT(qvmi_map_count(ctx), ==, 0);
		refused++;
	}
	qvmi_ctx_destroy(ctx);
	vm_join(v);
	/* 1.4 s at one attempt per 250 ms: 5 or 6 (the first is at once),
	 * never dozens. */
	CHECK_INT(refused, >=, 4);
	CHECK_INT(refused, <=, 7);
	CHECK_U64(v->st.auth_failed, ==, (uint64_t)refused);
	CHECK_U64(v->st.out_attempts, <=, (uint64_t)refused + 1);
	CHECK_U64(v->st.auth_ok, ==, 0);
	vm_stop(v);
	qvmi_session_listener_destroy(l);
	unlink(keyfile);
}

/* The tool goes away (listener and session) and comes back. */
static void t_tool_restarts(void)
{
	char path[108];
	struct qvmi_session_listener *l;
	struct qvmi_ctx *ctx;
	struct vm *v;
	uint8_t x;

	sock_path(path, sizeof(path), "r");
	l = tool_listen(path);
	v = vm_start(path, 3, 100, "vm-restart");
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_session_accept(l, ctx, 3000));
	check_vm(ctx, 3, "vm-restart");
	qvmi_ctx_destroy(ctx);
	qvmi_session_listener_destroy(l);
	/* Nobody listens: the attempts fail (ENOENT), one per interval. */
	usleep(450000);
	vm_stats(v);
	CHECK_U64(v->st.out_failed, >=, 2);
	CHECK_U64(v->st.out_failed, <=, 6);
	CHECK(!v->st.active);
	l = tool_listen(path);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_session_accept(l, ctx, 3000));
	check_vm(ctx, 3, "vm-restart");
	CHECK_OK(qvmi_read_pa(ctx, 9, &x, 1));
	qvmi_ctx_destroy(ctx);
	vm_stop(v);
	qvmi_session_listener_destroy(l);
	unlink(keyfile);
}

/* Two VMs dial one TCP listener; each accepted ctx is its own VM. */
static void t_two_vms(void)
{
	struct qvmi_session_listener *l = tool_listen("tcp:127.0.0.1:0");
	struct qvmi_ctx *ctx[2];
	struct qvmi_vm_info info;
	struct vm *v[2];
	char addr[64];
	int a = -1;

	CHECK_INT(qvmi_session_listener_port(l), >, 0);
	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%u",
		 qvmi_session_listener_port(l));
	v[0] = vm_start(addr, 10, 100, "vm-a");
	v[1] = vm_start(addr, 20, 100, "vm-b");
	for (int i = 0; i < 2; i++) {
		CHECK_OK(qvmi_ctx_create(&ctx[i]));
		CHECK_OK(qvmi_session_accept(l, ctx[i], 10000));
	}
	/* In whichever order they came. */
	CHECK_OK(qvmi_vm_info(ctx[0], &info));
	a = !strcmp(info.name, "vm-a") ? 0 : 1;
	check_vm(ctx[a], 10, "vm-a");
	check_vm(ctx[!a], 20, "vm-b");
	/* Interleaved use, on one thread. */
	check_vm(ctx[!a], 20, "vm-b");
	check_vm(ctx[a], 10, "vm-a");
	CHECK(qvmi_session_fd(ctx[0]) != qvmi_session_fd(ctx[1]));
	/* A dialled TCP session notices a vanished tool host. */
	vm_stats(v[0]);
	CHECK(v[0]->st.outbound);
	CHECK_INT(v[0]->keepidle, ==, 30);
	for (int i = 0; i < 2; i++) {
		qvmi_ctx_destroy(ctx[i]);
		vm_join(v[i]);
		CHECK_U64(v[i]->st.auth_ok, ==, 1);
		vm_stop(v[i]);
	}
	qvmi_session_listener_destroy(l);
	unlink(keyfile);
}

static void on_event(struct qvmi_ctx *ctx, const struct qvmi_event *ev,
		     void *arg)
{
	struct qvmi_event *last = arg;

	*last = *ev;
}

/* A guest reset: EV_RESET, then the session ends and qvmid dials again. */
static void t_reset_reconnects(void)
{
	char path[108];
	struct qvmi_session_listener *l;
	struct qvmi_event last = { 0 };
	struct qvmi_ctx *ctx;
	struct vm *v;
	uint8_t x;
	int64_t t0;
	int r;

	sock_path(path, sizeof(path), "x");
	l = tool_listen(path);
	/* A long interval: the redial after a reset must not wait for it. */
	v = vm_start(path, 4, 10000, "vm-reset");
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_session_accept(l, ctx, 3000));
	CHECK_OK(qvmi_set_event_cb(ctx, on_event, &last));
	/* QEMU's burst: three RESETs; one redial. */
	vm_cmd(v, 'r');
	vm_cmd(v, 'r');
	vm_cmd(v, 'r');
	CHECK_INT(qvmi_events_poll(ctx, 3000), >=, 1);
	CHECK_INT(last.type, ==, QVMI_EVENT_RESET);
	CHECK_INT(last.reason, ==, QVMI_CAUSE_GUEST_RESET);
	/* Then EOF: the old ctx is done (a second EV_RESET may come first
	 * if the loop framed it before it closed). */
	r = qvmi_events_poll(ctx, 3000);
	if (r == 1)
		r = qvmi_events_poll(ctx, 3000);
	CHECK_INT(r, ==, -EPIPE);
	CHECK_INT(qvmi_read_pa(ctx, 1, &x, 1), ==, -EPIPE);
	CHECK_INT(qvmi_session_fd(ctx), ==, -EPIPE);
	qvmi_ctx_destroy(ctx);
	t0 = now_ms();
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_session_accept(l, ctx, 3000));
	CHECK_INT(now_ms() - t0, <, 2000);
	check_vm(ctx, 4, "vm-reset");
	/* The burst is over: no second redial comes. */
	CHECK_INT(qvmi_events_poll(ctx, 500), ==, 0);
	check_vm(ctx, 4, "vm-reset");
	qvmi_ctx_destroy(ctx);
	vm_join(v);
	CHECK_U64(v->st.out_resets, ==, 1);
	CHECK_U64(v->st.out_connected, ==, 2);
	vm_stop(v);
	qvmi_session_listener_destroy(l);
	unlink(keyfile);
}

static void count_event(struct qvmi_ctx *ctx, const struct qvmi_event *ev,
			void *arg)
{
	(*(int *)arg)++;
}

/*
 * The supervisor loop of docs/PROTOCOL.md ("Connect-out"): one poll()
 * over the listener and every session; two VMs dial in, one is reset,
 * its session ends (EV_RESET, then -EPIPE) and it dials in again.
 */
static void t_supervisor(void)
{
	struct qvmi_session_listener *l = tool_listen("tcp:127.0.0.1:0");
	struct qvmi_ctx *vm[4];
	struct pollfd pfd[5];
	struct vm *v[2];
	char addr[64];
	int n = 0, accepted = 0, gone = 0, events = 0;
	int64_t deadline = now_ms() + 5000;

	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%u",
		 qvmi_session_listener_port(l));
	v[0] = vm_start(addr, 30, 100, "vm-s0");
	v[1] = vm_start(addr, 40, 100, "vm-s1");
	while (now_ms() < deadline && accepted < 3) {
		pfd[0] = (struct pollfd){ qvmi_session_listener_fd(l), POLLIN,
					  0 };
		for (int i = 0; i < n; i++)
			pfd[1 + i] = (struct pollfd){ qvmi_session_fd(vm[i]),
						      POLLIN, 0 };
		CHECK_INT(poll(pfd, 1 + n, 200), >=, 0);
		for (int i = n - 1; i >= 0; i--) {
			if (pfd[1 + i].fd >= 0 && !pfd[1 + i].revents)
				continue;
			if (qvmi_events_poll(vm[i], 0) == -EPIPE) {
				qvmi_ctx_destroy(vm[i]);
				vm[i] = vm[--n];
				gone++;
			}
		}
		if ((pfd[0].revents & POLLIN) && n < 4) {
			CHECK_OK(qvmi_ctx_create(&vm[n]));
			CHECK_OK(qvmi_session_accept(l, vm[n], 0));
			CHECK_OK(
				qvmi_set_event_cb(vm[n], count_event, &events));
			n++;
			/* Both in: reset the first VM. */
			if (++accepted == 2)
				vm_cmd(v[0], 'r');
		}
	}
	CHECK_INT(accepted, ==, 3);
	CHECK_INT(gone, ==, 1);
	CHECK_INT(events, ==, 1); /* the EV_RESET before the EOF */
	CHECK_INT(n, ==, 2);
	for (int i = 0; i < n; i++) {
		struct qvmi_vm_info info;

		CHECK_OK(qvmi_vm_info(vm[i], &info));
		check_vm(vm[i], strcmp(info.name, "vm-s0") ? 40 : 30,
			 info.name);
		qvmi_ctx_destroy(vm[i]);
	}
	for (int i = 0; i < 2; i++) {
		vm_join(v[i]);
		CHECK_U64(v[i]->st.out_resets, ==, i == 0 ? 1 : 0);
		vm_stop(v[i]);
	}
	qvmi_session_listener_destroy(l);
	unlink(keyfile);
}

/* A TCP listener whose backlog is full drops SYNs: the connect hangs.
 * qvmid's loop keeps serving (here a unix client) and gives up after the
 * auth timeout. */
static void t_connect_never_blocks(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), fill[4];
	struct qvmid_session_opts o = { .key = out_key,
					.key_len = sizeof(out_key),
					.reconnect_interval_ms = 100,
					.auth_timeout_ms = 300 };
	char addr[64], path[108];
	struct qvmi_ctx *ctx;
	struct vm *v = calloc(1, sizeof(*v));
	struct qvmi_source *src;
	int64_t t0;

	CHECK(lfd >= 0 && v);
	CHECK_OK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)));
	CHECK_OK(listen(lfd, 0));
	CHECK_OK(getsockname(lfd, (struct sockaddr *)&sa, &len));
	for (int i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fill[i], (struct sockaddr *)&sa, sizeof(sa));
	}
	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%u", ntohs(sa.sin_port));
	sock_path(path, sizeof(path), "b");
	o.connect_addr = addr;
	v->mem = calloc(1, MEM_SIZE);
	CHECK_OK(qvmi_ctx_create(&v->ctx));
	CHECK_OK(qvmi_source_testmem_create(v->ctx, v->mem, MEM_SIZE, 1, &src));
	CHECK_OK(qvmi_map_add(v->ctx, src, 0, MEM_SIZE, 0));
	CHECK_OK(pipe2(v->ctl, O_CLOEXEC));
	CHECK_OK(pipe2(v->ack, O_CLOEXEC));
	CHECK_OK(qvmid_session_server_create(v->ctx, path, &o, &v->s));
	CHECK_INT(pthread_create(&v->thr, NULL, vm_main, v), ==, 0);
	v->running = true;
	write_key(out_key);
	usleep(50000); /* a connect is under way */
	t0 = now_ms();
	{
		QVMI_OPTS(qvmi_session_opts, so, .key_path = keyfile,
			  .timeout_ms = 2000);
		uint8_t x;

		CHECK_OK(qvmi_ctx_create(&ctx));
		CHECK_OK(qvmi_session_open(ctx, path, &so));
		CHECK_OK(qvmi_read_pa(ctx, 3, &x, 1));
	}
	CHECK_INT(now_ms() - t0, <, 250); /* not behind the connect */
	qvmi_ctx_destroy(ctx);
	usleep(700000);
	vm_join(v);
	CHECK_U64(v->st.out_attempts, >=, 1);
	CHECK_U64(v->st.out_failed, >=, 1);
	CHECK_U64(v->st.out_connected, ==, 0);
	CHECK_U64(v->st.auth_ok, ==, 1);
	vm_stop(v);
	for (int i = 0; i < 4; i++)
		close(fill[i]);
	close(lfd);
	unlink(keyfile);
}

static void t_addr_parse(void)
{
	static const struct {
		const char *spec;
		unsigned int flags;
		int err, kind;
		bool resolved;
	} cases[] = {
		{ "/tmp/a.sock", 0, 0, QVMI_SES_UNIX, true },
		{ "unix:/tmp/b", 0, 0, QVMI_SES_UNIX, true },
		{ "rel.sock", QVMI_SES_ADDR_LISTEN, 0, QVMI_SES_UNIX, true },
		{ "tcp:127.0.0.1:80", 0, 0, QVMI_SES_TCP, true },
		{ "tcp:[::1]:7", QVMI_SES_ADDR_LISTEN, 0, QVMI_SES_TCP, true },
		{ "tcp:0.0.0.0:0", QVMI_SES_ADDR_LISTEN, 0, QVMI_SES_TCP,
		  true },
		{ "tcp:localhost:80", 0, 0, QVMI_SES_TCP, false },
		{ "tcp:localhost:80", QVMI_SES_ADDR_LISTEN, -EINVAL },
		{ "tcp:localhost:80", QVMI_SES_ADDR_NUMERIC, -EINVAL },
		{ "vsock:2:1024", 0, 0, QVMI_SES_VSOCK, true },
		{ "vsock:any:5", QVMI_SES_ADDR_LISTEN, 0, QVMI_SES_VSOCK,
		  true },
		{ "vsock:any:5", 0, -EINVAL },
		{ "", 0, -EINVAL },
		{ "unix:", 0, -EINVAL },
		{ "tcp:", 0, -EINVAL },
		{ "tcp:1.2.3.4", 0, -EINVAL },
		{ "tcp::80", 0, -EINVAL },
		{ "tcp:::1:80", 0, -EINVAL },
		{ "tcp:[::1]80", 0, -EINVAL },
		{ "tcp:[::1]:", 0, -EINVAL },
		{ "tcp:1.2.3.4:65536", 0, -EINVAL },
		{ "tcp:1.2.3.4:8x", 0, -EINVAL },
		{ "tcp:1.2.3.4:-1", 0, -EINVAL },
		{ "vsock:", 0, -EINVAL },
		{ "vsock:2", 0, -EINVAL },
		{ "vsock:2:", 0, -EINVAL },
		{ "vsock::5", 0, -EINVAL },
		{ "vsock:x:1", 0, -EINVAL },
		{ "vsock:-1:5", 0, -EINVAL },
		{ "vsock:2:4294967295", 0, -EINVAL }, /* VMADDR_PORT_ANY */
		{ "vsock:4294967296:1", 0, -EINVAL },
		{ "vsock:2:1:3", 0, -EINVAL },
	};
	struct qvmi_ses_addr a;
	char longp[160];
	const char *why;

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(cases); i++) {
		int r = qvmi__ses_addr_parse(cases[i].spec, cases[i].flags, &a,
					     &why);

		CHECK_MSG(r == cases[i].err, "\"%s\": %d, want %d",
			  cases[i].spec, r, cases[i].err);
		if (r)
			continue;
		CHECK_INT(a.kind, ==, cases[i].kind);
		CHECK_INT(a.resolved, ==, cases[i].resolved);
	}
	CHECK_OK(qvmi__ses_addr_parse("vsock:2:1024", 0, &a, NULL));
	CHECK_INT(a.ss.ss_family, ==, AF_VSOCK);
	CHECK_INT(((struct sockaddr_vm *)&a.ss)->svm_cid, ==, 2);
	CHECK_INT(((struct sockaddr_vm *)&a.ss)->svm_port, ==, 1024);
	CHECK_OK(qvmi__ses_addr_parse("vsock:any:9", QVMI_SES_ADDR_LISTEN, &a,
				      NULL));
	CHECK_INT(((struct sockaddr_vm *)&a.ss)->svm_cid, ==, VMADDR_CID_ANY);
	CHECK_OK(qvmi__ses_addr_parse("tcp:[::1]:7777", 0, &a, NULL));
	CHECK_INT(a.ss.ss_family, ==, AF_INET6);
	CHECK_INT(ntohs(((struct sockaddr_in6 *)&a.ss)->sin6_port), ==, 7777);
	CHECK_STR(a.host, "::1");
	CHECK_OK(qvmi__ses_addr_parse("unix:/tmp/b", 0, &a, NULL));
	CHECK_STR(((struct sockaddr_un *)&a.ss)->sun_path, "/tmp/b");
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	CHECK_INT(qvmi__ses_addr_parse(longp, 0, &a, &why), ==, -ENAMETOOLONG);
}

/* Is AF_VSOCK here at all?  (Not in every container.) */
static void need_vsock(void)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		SKIP("no AF_VSOCK here (%s)", strerror(errno));
	close(fd);
}

/*
 * vsock listeners, qvmid's and the library's: bind/listen on any CID
 * works, the port is reported, a port in use is refused, and ports
 * below 1024 need CAP_NET_BIND_SERVICE as on TCP.
 */
static void t_vsock_listen(void)
{
	struct qvmid_session_opts o = { .vsock = true,
					.vsock_port = VMADDR_PORT_ANY,
					.key = out_key,
					.key_len = sizeof(out_key) };
	QVMI_OPTS(qvmi_session_listen_opts, lo, .key_path = keyfile);
	struct qvmi_session_listener *l = NULL;
	struct qvmid_session_server *s;
	struct sockaddr_vm svm = { .svm_family = AF_VSOCK,
				   .svm_cid = VMADDR_CID_ANY };
	char addr[64];
	uint32_t port;
	int status;
	pid_t pid;

	need_vsock();
	CHECK_OK(qvmid_session_server_create(NULL, NULL, &o, &s));
	port = qvmid_session_server_vsock_port(s);
	CHECK_INT(port, >, 1023);
	CHECK_INT(port, !=, VMADDR_PORT_ANY);
	CHECK_INT(qvmid_session_server_tcp_port(s), ==, 0);
	write_key(out_key);
	snprintf(addr, sizeof(addr), "vsock:any:%u", port);
	CHECK_INT(qvmi_session_listener_create(addr, &lo, &l), ==, -EADDRINUSE);
	qvmid_session_server_destroy(s);
	/* Free again once qvmid closed it. */
	CHECK_OK(qvmi_session_listener_create(addr, &lo, &l));
	CHECK_INT(qvmi_session_listener_port(l), ==, port);
	CHECK_INT(qvmi_session_listener_fd(l), >=, 0);
	qvmi_session_listener_destroy(l);
	/* Privileged ports: root may, nobody may not. */
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		int lo_fd, hi_fd;

		if (getuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(10);
		svm.svm_port = 1000;
		lo_fd = qvmi__ses_listen_inet((struct sockaddr *)&svm,
					      sizeof(svm), 1);
		svm.svm_port = port;
		hi_fd = qvmi__ses_listen_inet((struct sockaddr *)&svm,
					      sizeof(svm), 1);
		_exit(lo_fd == -EACCES && hi_fd >= 0 ? 0 : 11);
	}
	CHECK_INT(waitpid(pid, &status, 0), ==, pid);
	CHECK(WIFEXITED(status));
	CHECK_INT(WEXITSTATUS(status), ==, 0);
	unlink(keyfile);
}

/*
 * Nothing answers a vsock connect here: this machine (a Firecracker VM)
 * has no vsock loopback transport.  Measured: CID 1 (local) times out
 * after the kernel's 2 s, the own CID gives ENODEV, the host (CID 2)
 * resets.  So both sides must give up on their own deadline, and qvmid's
 * loop must not wait for it.
 */
static void t_vsock_unreachable(void)
{
	QVMI_OPTS(qvmi_session_opts, so, .key_path = keyfile,
		  .timeout_ms = 400);
	struct qvmi_ctx *ctx;
	struct vm *v;
	int64_t t0;
	int r;

	need_vsock();
	write_key(out_key);
	CHECK_OK(qvmi_ctx_create(&ctx));
	t0 = now_ms();
	r = qvmi_session_open(ctx, "vsock:1:47001", &so);
	CHECK_INT(r, <, 0);
	CHECK_INT(now_ms() - t0, <, 1500);
	qvmi_test_note("vsock:1 connect: %s after %d ms", strerror(-r),
		       (int)(now_ms() - t0));
	CHECK_INT(qvmi_session_open(ctx, "vsock:1", &so), ==, -EINVAL);
	qvmi_ctx_destroy(ctx);
	v = vm_start("vsock:1:47001", 5, 100, "vm-vsock");
	usleep(600000);
	vm_stats(v);
	CHECK_U64(v->st.out_attempts, >=, 1);
	CHECK_U64(v->st.out_connected, ==, 0);
	vm_stop(v);
	unlink(keyfile);
}

/* The listener's own checks. */
static void t_listener_errors(void)
{
	QVMI_OPTS(qvmi_session_listen_opts, o, .key_path = keyfile);
	QVMI_OPTS(qvmi_session_listen_opts, nokey, .timeout_ms = 1);
	struct qvmi_session_listener *l = NULL, *l2 = NULL;
	struct qvmi_ctx *ctx;
	char path[108];
	int64_t t0;
	int fd;

	write_key(out_key);
	sock_path(path, sizeof(path), "e");
	CHECK_INT(qvmi_session_listener_create(path, &nokey, &l), ==, -EINVAL);
	CHECK_INT(qvmi_session_listener_create("tcp:localhost:0", &o, &l), ==,
		  -EINVAL);
	CHECK_INT(qvmi_session_listener_create("vsock:any", &o, &l), ==,
		  -EINVAL);
	/* Why, when asked: there is no listener to hold the message. */
	CHECK_OK(qvmi_ctx_create(&ctx));
	{
		QVMI_OPTS(qvmi_session_listen_opts, eo, .key_path = keyfile,
			  .err_ctx = ctx);
		QVMI_OPTS(qvmi_session_listen_opts, en, .err_ctx = ctx);

		CHECK_INT(qvmi_session_listener_create("vsock:any", &eo, &l),
			  ==, -EINVAL);
		CHECK_MSG(strstr(qvmi_errmsg(ctx), "listen on vsock:any: "),
			  "%s", qvmi_errmsg(ctx));
		CHECK_INT(qvmi_session_listener_create(path, &en, &l), ==,
			  -EINVAL);
		CHECK(strstr(qvmi_errmsg(ctx), "key file is required"));
	}
	qvmi_ctx_destroy(ctx);
	/* A regular file is never replaced; a live socket neither. */
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK_INT(qvmi_session_listener_create(path, &o, &l), ==, -EEXIST);
	unlink(path);
	CHECK_OK(qvmi_session_listener_create(path, &o, &l));
	/* Nobody connects: -ETIMEDOUT in about the time asked. */
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_INT(qvmi_session_accept(l, ctx, 0), ==, -ETIMEDOUT);
	t0 = qvmi__mono_ms();
	CHECK_INT(qvmi_session_accept(l, ctx, 100), ==, -ETIMEDOUT);
	CHECK_INT(qvmi__mono_ms() - t0, >=, 100);
	CHECK_INT(qvmi__mono_ms() - t0, <, 600);
	CHECK(strstr(qvmi_errmsg(ctx), "no VM connected"));
	/* The liveness probe of a second listener connects and leaves: the
	 * next accept sees a peer gone before the handshake. */
	CHECK_INT(qvmi_session_listener_create(path, &o, &l2), ==, -EADDRINUSE);
	CHECK_INT(qvmi_session_accept(l, ctx, 1000), ==, -EPIPE);
	CHECK_INT(qvmi_map_count(ctx), ==, 0);
	CHECK_INT(qvmi_session_fd(ctx), ==, -EOPNOTSUPP);
	CHECK_INT(qvmi_session_accept(NULL, ctx, 0), ==, -EINVAL);
	qvmi_ctx_destroy(ctx);
	qvmi_session_listener_destroy(l);
	/* A stale socket (its listener died) is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		memcpy(sa.sun_path, path, strlen(path) + 1);
		CHECK_OK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	}
	close(fd);
	CHECK_OK(qvmi_session_listener_create(path, &o, &l));
	qvmi_session_listener_destroy(l);
	qvmi_session_listener_destroy(NULL);
	unlink(keyfile);
}

/* Run build/qvmid (next to this binary) with args; its status and
 * stderr. */
static int run_qvmid(const char *const *args, char *out, size_t size)
{
	char exe[4096];
	const char *argv[16] = { "qvmid" };
	int pfd[2], status;
	ssize_t n, len;
	size_t i;
	pid_t pid;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 16);
	CHECK(n > 0);
	exe[n] = '\0';
	strcpy(strrchr(exe, '/') + 1, "qvmid");
	if (access(exe, X_OK) && access(strcpy(exe, "build/qvmid"), X_OK))
		SKIP("no qvmid binary built next to the tests");
	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	CHECK_OK(pipe2(pfd, O_CLOEXEC));
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		dup2(pfd[1], 2);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	out[0] = '\0';
	for (len = 0; len < (ssize_t)size - 1; len += n) {
		n = read(pfd[0], out + len, size - 1 - (size_t)len);
		if (n <= 0)
			break;
		out[len + n] = '\0';
	}
	close(pfd[0]);
	CHECK_INT(waitpid(pid, &status, 0), ==, pid);
	CHECK(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* vsock and connect-out are never unauthenticated; bad values refused
 * before anything connects. */
static void t_qvmid_options(void)
{
	static const char *const vs[] = { "--qmp", "/nonexistent/q",
					  "--session-vsock", "5000", NULL };
	static const char *const co[] = { "--qmp", "/nonexistent/q",
					  "--session-connect",
					  "tcp:127.0.0.1:1", NULL };
	static const char *const badport[] = { "--qmp",
					       "/nonexistent/q",
					       "--session-key",
					       "/nonexistent/k",
					       "--session-vsock",
					       "4294967295",
					       NULL };
	static const char *const badint[] = { "--qmp",
					      "/nonexistent/q",
					      "--session-key",
					      "/nonexistent/k",
					      "--session-connect",
					      "/tmp/x",
					      "--reconnect-interval",
					      "0",
					      NULL };
	char out[512];

	CHECK_INT(run_qvmid(vs, out, sizeof(out)), ==, 2);
	CHECK_MSG(strstr(out, "--session-vsock requires --session-key"), "%s",
		  out);
	CHECK_INT(run_qvmid(co, out, sizeof(out)), ==, 2);
	CHECK_MSG(strstr(out, "--session-connect requires --session-key"), "%s",
		  out);
	CHECK_INT(run_qvmid(badport, out, sizeof(out)), ==, 2);
	CHECK_MSG(strstr(out, "bad value for --session-vsock"), "%s", out);
	CHECK_INT(run_qvmid(badint, out, sizeof(out)), ==, 2);
	CHECK_MSG(strstr(out, "bad value for --reconnect-interval"), "%s", out);
}

static const struct qvmi_test session_out_tests[] = {
	{ "unix_round_trip", t_unix_round_trip },
	{ "wrong_key_waits", t_wrong_key_waits },
	{ "tool_restarts", t_tool_restarts },
	{ "two_vms", t_two_vms },
	{ "reset_reconnects", t_reset_reconnects },
	{ "supervisor", t_supervisor },
	{ "connect_never_blocks", t_connect_never_blocks },
	{ "addr_parse", t_addr_parse },
	{ "vsock_listen", t_vsock_listen },
	{ "vsock_unreachable", t_vsock_unreachable },
	{ "listener_errors", t_listener_errors },
	{ "qvmid_options", t_qvmid_options },
};

QVMI_SUITE(session_out, session_out_tests);
