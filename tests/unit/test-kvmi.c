// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmid's KVMi front-end (daemon/kvmi-*.c) over a testmem ctx: the test
 * is the tool.  It listens, qvmid's server (in a thread of this file)
 * dials it, and every frame is built here from KVMI-WIRE.md.  Commands
 * that need QEMU (pause, registers) are covered by the integration test
 * against the demo guest (tests/integration/test-kvmi.c).
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fakeqmp.h"
#include "harness.h"
#include "testdata.h"
#include "core/internal.h"
#include "proto/kvmi-wire.h"
#include "proto/qmp.h"
#include "../../daemon/kvmi-server.h"

enum { MEM_SIZE = 64 << 10, IO_MS = 5000 };

struct rig {
	char dir[64], sock[108], key[108];
	int lfd; /* the tool's listener */
	int fd; /* the accepted connection */
	struct qvmi_ctx *ctx;
	uint8_t *mem;
	struct qvmid_kvmi *k;
	pthread_t thr;
	bool running;
	uint32_t seq;
	struct qvmid_kvmi_stats st; /* after rig_stop */
};

static void *loop(void *arg)
{
	qvmid_kvmi_run(arg);
	return NULL;
}

static void rig_stop(void *arg)
{
	struct rig *r = arg;

	if (r->running) {
		qvmid_kvmi_stop(r->k);
		pthread_join(r->thr, NULL);
		r->running = false;
		qvmid_kvmi_stats(r->k, &r->st);
	}
}

static void rig_free(void *arg)
{
	struct rig *r = arg;

	rig_stop(r);
	qvmid_kvmi_destroy(r->k);
	qvmi_ctx_destroy(r->ctx);
	if (r->fd >= 0)
		close(r->fd);
	if (r->lfd >= 0)
		close(r->lfd);
	unlink(r->sock);
	unlink(r->key);
	rmdir(r->dir);
	free(r->mem);
	free(r);
}

static struct rig *rig_new(void)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct qvmi_source *src;

	CHECK(r != NULL);
	r->fd = r->lfd = -1;
	qvmi_test_defer(rig_free, r);
	snprintf(r->dir, sizeof(r->dir), "/tmp/kvmi-unit-XXXXXX");
	CHECK(mkdtemp(r->dir) != NULL);
	snprintf(r->sock, sizeof(r->sock), "%s/tool.sock", r->dir);
	snprintf(r->key, sizeof(r->key), "%s/key", r->dir);
	r->mem = calloc(1, MEM_SIZE);
	CHECK(r->mem != NULL);
	for (size_t i = 0; i < MEM_SIZE; i++)
		r->mem[i] = (uint8_t)(i * 7 + (i >> 12));
	CHECK_OK(qvmi_ctx_create(&r->ctx));
	CHECK_OK(qvmi_source_testmem_create(r->ctx, r->mem, MEM_SIZE, 1, &src));
	CHECK_OK(qvmi_map_add(r->ctx, src, 0, MEM_SIZE, 0));
	CHECK_OK(qvmi__ram_add(r->ctx, 0, MEM_SIZE));
	r->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(r->lfd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r->sock);
	CHECK_OK(bind(r->lfd, (struct sockaddr *)&sa, sizeof(sa)));
	CHECK_OK(listen(r->lfd, 4));
	return r;
}

static void rig_start(struct rig *r, struct qvmid_kvmi_opts *o)
{
	o->connect_addr = r->sock;
	o->reconnect_ms = o->reconnect_ms ?: 50;
	CHECK_OK(qvmid_kvmi_create(r->ctx, o, &r->k));
	CHECK_OK(pthread_create(&r->thr, NULL, loop, r->k));
	r->running = true;
}

static void read_all(int fd, void *buf, size_t n)
{
	uint8_t *b = buf;

	while (n) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t got;

		CHECK_INT(poll(&p, 1, IO_MS), ==, 1);
		got = read(fd, b, n);
		CHECK_MSG(got > 0, "read: %zd", got);
		b += got;
		n -= (size_t)got;
	}
}

/* The connection closes within IO_MS (EOF, nothing else before it). */
static void expect_eof(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	uint8_t b[64];

	CHECK_INT(poll(&p, 1, IO_MS), ==, 1);
	CHECK_INT(read(fd, b, sizeof(b)), ==, 0);
}

/* Accept qvmid's dial, take its handshake (size hs), answer with cookie
 * (NULL: zeros, as LibVMI and libkvmi send). */
static void tool_accept(struct rig *r, size_t hs, const uint8_t *cookie)
{
	struct pollfd p = { r->lfd, POLLIN, 0 };
	uint8_t b[QVMI_KVMI_HS_V12], ans[24] = { 0 };

	CHECK_INT(poll(&p, 1, IO_MS), ==, 1);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
	CHECK(r->fd >= 0);
	read_all(r->fd, b, hs);
	CHECK_INT(qvmi_kvmi_u32(b), ==, hs);
	qvmi_kvmi_put32(ans, 24);
	if (cookie)
		memcpy(ans + 4, cookie, 20);
	CHECK_INT(write(r->fd, ans, sizeof(ans)), ==, 24);
}

static uint32_t send_msg(struct rig *r, uint16_t id, const void *p, size_t n)
{
	uint8_t b[QVMI_KVMI_HDR + QVMI_KVMI_MAX_PAYLOAD];
	struct qvmi_kvmi_hdr h = { id, (uint16_t)n, ++r->seq };

	qvmi_kvmi_hdr_encode(&h, b);
	if (n)
		memcpy(b + QVMI_KVMI_HDR, p, n);
	CHECK_INT(write(r->fd, b, QVMI_KVMI_HDR + n), ==,
		  (ssize_t)(QVMI_KVMI_HDR + n));
	return h.seq;
}

/* Read the reply to (id, seq): its error code, data into out (up to
 * cap; *n = data size). */
static int32_t get_reply(struct rig *r, uint16_t id, uint32_t seq, void *out,
			 size_t cap, size_t *n)
{
	uint8_t b[QVMI_KVMI_HDR + QVMI_KVMI_MAX_PAYLOAD];
	struct qvmi_kvmi_hdr h;
	const char *why;

	read_all(r->fd, b, QVMI_KVMI_HDR);
	CHECK_OK(qvmi_kvmi_hdr_decode(b, &h, &why));
	CHECK_INT(h.id, ==, id);
	CHECK_INT(h.seq, ==, seq);
	CHECK_INT(h.size, >=, QVMI_KVMI_ERR);
	read_all(r->fd, b + QVMI_KVMI_HDR, h.size);
	if (n)
		*n = h.size - QVMI_KVMI_ERR;
	if (out)
		memcpy(out, b + QVMI_KVMI_HDR + QVMI_KVMI_ERR,
		       QVMI_MIN(cap, (size_t)h.size - QVMI_KVMI_ERR));
	return (int32_t)qvmi_kvmi_u32(b + QVMI_KVMI_HDR);
}

static int32_t call(struct rig *r, uint16_t id, const void *p, size_t n,
		    void *out, size_t cap, size_t *got)
{
	uint32_t seq = send_msg(r, id, p, n);

	return get_reply(r, id, seq, out, cap, got);
}

static struct rig *started(struct qvmid_kvmi_opts *o)
{
	struct rig *r = rig_new();
	struct qvmid_kvmi_opts def = { 0 };

	rig_start(r, o ? o : &def);
	tool_accept(r, o && o->v12 ? 104 : 96, NULL);
	return r;
}

static void handshake_v7(void)
{
	struct rig *r = started(NULL);
	uint8_t v[16];
	size_t n;

	CHECK_INT(call(r, QVMI_KVMI_GET_VERSION, NULL, 0, v, sizeof(v), &n), ==,
		  0);
	CHECK_INT(n, ==, 16);
	CHECK_INT(qvmi_kvmi_u32(v), ==, 1);
	for (int i = 4; i < 16; i++) /* no SPP, VMFUNC, EPTP, #VE */
		CHECK_INT(v[i], ==, 0);
}

static void handshake_v12_max_gpa(void)
{
	struct rig *r = rig_new();
	struct qvmid_kvmi_opts o = { .v12 = true };
	struct pollfd p = { r->lfd, POLLIN, 0 };
	uint8_t b[104];

	rig_start(r, &o);
	CHECK_INT(poll(&p, 1, IO_MS), ==, 1);
	r->fd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
	read_all(r->fd, b, sizeof(b));
	CHECK_INT(qvmi_kvmi_u32(b), ==, 104);
	CHECK_U64(qvmi_kvmi_u64(b + 96), ==, MEM_SIZE - 1);
}

/* A tool's answer larger than 24 bytes: the rest is skipped, and the
 * first framed message after it is served. */
static void handshake_long_answer(void)
{
	struct rig *r = rig_new();
	struct qvmid_kvmi_opts o = { 0 };
	struct pollfd p = { r->lfd, POLLIN, 0 };
	uint8_t b[96], ans[4 + 20 + 100];
	size_t n;

	rig_start(r, &o);
	CHECK_INT(poll(&p, 1, IO_MS), ==, 1);
	r->fd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
	read_all(r->fd, b, sizeof(b));
	memset(ans, 0x5a, sizeof(ans));
	qvmi_kvmi_put32(ans, sizeof(ans));
	CHECK_INT(write(r->fd, ans, sizeof(ans)), ==, (ssize_t)sizeof(ans));
	CHECK_INT(call(r, QVMI_KVMI_GET_GUEST_INFO, NULL, 0, b, 16, &n), !=,
		  -9999);
	CHECK_INT(call(r, QVMI_KVMI_GET_MAX_GFN, NULL, 0, b, 8, &n), ==, 0);
	CHECK_U64(qvmi_kvmi_u64(b), ==, MEM_SIZE / 4096);
}

static void handshake_short_answer_closes(void)
{
	struct rig *r = rig_new();
	struct qvmid_kvmi_opts o = { 0 };
	struct pollfd p = { r->lfd, POLLIN, 0 };
	uint8_t b[96], ans[4];

	rig_start(r, &o);
	CHECK_INT(poll(&p, 1, IO_MS), ==, 1);
	r->fd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
	read_all(r->fd, b, sizeof(b));
	qvmi_kvmi_put32(ans, 23);
	CHECK_INT(write(r->fd, ans, 4), ==, 4);
	expect_eof(r->fd);
	/* and dials again: the next tool gets served */
	tool_accept(r, 96, NULL);
	CHECK_INT(call(r, QVMI_KVMI_GET_VERSION, NULL, 0, NULL, 0, NULL), ==,
		  0);
}

static void handshake_timeout(void)
{
	struct rig *r = rig_new();
	struct qvmid_kvmi_opts o = { .handshake_timeout_ms = 200 };
	struct pollfd p = { r->lfd, POLLIN, 0 };
	uint8_t b[96];

	rig_start(r, &o);
	CHECK_INT(poll(&p, 1, IO_MS), ==, 1);
	r->fd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
	read_all(r->fd, b, sizeof(b));
	expect_eof(r->fd); /* no answer within 200 ms */
	rig_stop(r);
	CHECK_INT(r->st.timeouts, >=, 1);
}

static void write_key(struct rig *r, const char *text, mode_t mode)
{
	int fd = open(r->key, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0);
	CHECK_INT(write(fd, text, strlen(text)), ==, (ssize_t)strlen(text));
	CHECK_OK(fchmod(fd, mode));
	close(fd);
}

static void key_match_and_mismatch(void)
{
	struct rig *r = rig_new();
	struct qvmid_kvmi_opts o = { .key_path = r->key };
	uint8_t good[20], bad[20];

	write_key(r, "secret\n", 0600);
	/* SHA-1("secret\n"), from sha1sum: the file's bytes, as they are */
	static const uint8_t want[20] = { 0xfc, 0x68, 0x3c, 0xd9, 0xed,
					  0x19, 0x90, 0xca, 0x2e, 0xa1,
					  0x0b, 0x84, 0xe5, 0xe6, 0xfb,
					  0xa0, 0x48, 0xc2, 0x49, 0x29 };
	qvmid_kvmi_sha1("secret\n", 7, good);
	CHECK(!memcmp(good, want, 20));
	memcpy(bad, good, 20);
	bad[19] ^= 1;
	rig_start(r, &o);
	tool_accept(r, 96, bad);
	expect_eof(r->fd);
	tool_accept(r, 96, good);
	CHECK_INT(call(r, QVMI_KVMI_GET_VERSION, NULL, 0, NULL, 0, NULL), ==,
		  0);
	rig_stop(r);
	CHECK_INT(r->st.bad_cookie, ==, 1);
	CHECK_INT(r->st.handshakes, ==, 1);
}

static void key_file_refused(void)
{
	struct rig *r = rig_new();
	struct qvmid_kvmi_opts o = { .connect_addr = r->sock,
				     .key_path = r->key };
	struct qvmid_kvmi *k = NULL;

	write_key(r, "secret", 0644);
	CHECK_INT(qvmid_kvmi_create(r->ctx, &o, &k), ==, -EPERM);
	CHECK(k == NULL);
	write_key(r, "secret", 0640);
	CHECK_INT(qvmid_kvmi_create(r->ctx, &o, &k), ==, -EPERM);
	write_key(r, "", 0600);
	CHECK_INT(qvmid_kvmi_create(r->ctx, &o, &k), ==, -EINVAL);
	unlink(r->key);
	CHECK_INT(qvmid_kvmi_create(r->ctx, &o, &k), ==, -ENOENT);
	/* TCP is refused: KVMi has no authentication */
	o.key_path = NULL;
	o.connect_addr = "tcp:127.0.0.1:9";
	CHECK_INT(qvmid_kvmi_create(r->ctx, &o, &k), ==, -EINVAL);
}

/* --kvmi-connect: PATH, unix:PATH, vsock:CID:PORT; never TCP. (A vsock
 * connection is not exercised: this host has no vsock transport, loopback
 * included.) */
static void addresses(void)
{
	static const struct {
		const char *addr;
		int err;
	} cases[] = {
		{ "vsock:3:5000", 0 },		{ "vsock:2:1", 0 },
		{ "vsock:x:1", -EINVAL },	{ "vsock:3", -EINVAL },
		{ "tcp:127.0.0.1:9", -EINVAL }, { "", -EINVAL },
	};
	struct rig *r = rig_new();
	char unixp[128];

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(cases); i++) {
		struct qvmid_kvmi_opts o = { .connect_addr = cases[i].addr };
		struct qvmid_kvmi *k = NULL;

		CHECK_MSG(qvmid_kvmi_create(r->ctx, &o, &k) == cases[i].err,
			  "%s", cases[i].addr);
		qvmid_kvmi_destroy(k);
	}
	/* unix:PATH is served like PATH */
	snprintf(unixp, sizeof(unixp), "unix:%s", r->sock);
	{
		struct qvmid_kvmi_opts o = { .connect_addr = unixp,
					     .reconnect_ms = 50 };

		CHECK_OK(qvmid_kvmi_create(r->ctx, &o, &r->k));
		CHECK_OK(pthread_create(&r->thr, NULL, loop, r->k));
		r->running = true;
		tool_accept(r, 96, NULL);
		CHECK_INT(call(r, QVMI_KVMI_GET_VERSION, NULL, 0, NULL, 0,
			       NULL),
			  ==, 0);
	}
}

/* qvmid's --kvmi-* options (kvmi-opts.c). */
static void options(void)
{
	struct qvmid_kvmi_args a = { 0 };
	enum { B = QVMID_KVMI_OPT_BASE };

	CHECK_OK(qvmid_kvmi_option(&a, B + 0, "rel/tool.sock"));
	CHECK(a.o.connect_addr && a.o.connect_addr[0] == '/');
	CHECK(strstr(a.o.connect_addr, "/rel/tool.sock") != NULL);
	CHECK_OK(qvmid_kvmi_option(&a, B + 0, "unix:/run/t.sock"));
	CHECK_STR(a.o.connect_addr, "/run/t.sock");
	CHECK_OK(qvmid_kvmi_option(&a, B + 0, "vsock:2:9999"));
	CHECK_STR(a.o.connect_addr, "vsock:2:9999");
	CHECK_INT(qvmid_kvmi_option(&a, B + 0, "tcp:1.2.3.4:5"), ==, -EINVAL);
	CHECK_OK(qvmid_kvmi_option(&a, B + 2, "v12"));
	CHECK(a.o.v12);
	CHECK_OK(qvmid_kvmi_option(&a, B + 2, "v7"));
	CHECK(!a.o.v12);
	CHECK_INT(qvmid_kvmi_option(&a, B + 2, "v13"), ==, -EINVAL);
	CHECK_OK(qvmid_kvmi_option(&a, B + 1, "250"));
	CHECK_INT(a.o.reconnect_ms, ==, 250);
	CHECK_INT(qvmid_kvmi_option(&a, B + 1, "0"), ==, -EINVAL);
	CHECK_INT(qvmid_kvmi_option(&a, B + 4, "-5"), ==, -EINVAL);
	CHECK_INT(qvmid_kvmi_option(&a, B + 9, "9x"), ==, -EINVAL);
	CHECK_OK(qvmid_kvmi_option(&a, B + 5, "accept"));
	CHECK(a.o.accept_unsupported);
	CHECK_INT(qvmid_kvmi_option(&a, B + 5, "yes"), ==, -EINVAL);
	CHECK_OK(qvmid_kvmi_option(&a, B + 6, "zero"));
	CHECK(a.o.unknown_msr_zero);
	CHECK_OK(qvmid_kvmi_option(&a, B + 8, "4,11"));
	CHECK(a.o.ev_list_set && a.o.ev_allowed[4] && a.o.ev_allowed[11] &&
	      !a.o.ev_allowed[10]);
	CHECK_INT(qvmid_kvmi_option(&a, B + 8, "16"), ==, -EINVAL);
	CHECK_INT(qvmid_kvmi_option(&a, B + 99, "x"), ==, -EINVAL);
	qvmid_kvmi_args_free(&a);
}

static void read_write_physical(void)
{
	struct rig *r = started(NULL);
	uint8_t req[16 + 8], buf[4096];
	size_t n;

	qvmi_kvmi_put64(req, 0x2ff0);
	qvmi_kvmi_put64(req + 8, 16);
	CHECK_INT(call(r, QVMI_KVMI_READ_PHYSICAL, req, 16, buf, sizeof(buf),
		       &n),
		  ==, 0);
	CHECK_INT(n, ==, 16);
	CHECK(!memcmp(buf, r->mem + 0x2ff0, 16));
	/* a whole page */
	qvmi_kvmi_put64(req, 0x3000);
	qvmi_kvmi_put64(req + 8, 4096);
	CHECK_INT(call(r, QVMI_KVMI_READ_PHYSICAL, req, 16, buf, sizeof(buf),
		       &n),
		  ==, 0);
	CHECK_INT(n, ==, 4096);
	CHECK(!memcmp(buf, r->mem + 0x3000, 4096));
	/* across a page, empty, too big: -EINVAL */
	qvmi_kvmi_put64(req, 0x2ff8);
	qvmi_kvmi_put64(req + 8, 16);
	CHECK_INT(call(r, QVMI_KVMI_READ_PHYSICAL, req, 16, buf, 16, &n), ==,
		  -EINVAL);
	CHECK_INT(n, ==, 0);
	qvmi_kvmi_put64(req + 8, 0);
	CHECK_INT(call(r, QVMI_KVMI_READ_PHYSICAL, req, 16, NULL, 0, NULL), ==,
		  -EINVAL);
	/* not RAM */
	qvmi_kvmi_put64(req, MEM_SIZE);
	qvmi_kvmi_put64(req + 8, 8);
	CHECK_INT(call(r, QVMI_KVMI_READ_PHYSICAL, req, 16, NULL, 0, NULL), ==,
		  -EFAULT);
	/* write 8 bytes, read them back from the ctx's memory */
	qvmi_kvmi_put64(req, 0x1004);
	qvmi_kvmi_put64(req + 8, 8);
	memcpy(req + 16, "KVMiKVMi", 8);
	CHECK_INT(call(r, QVMI_KVMI_WRITE_PHYSICAL, req, 24, NULL, 0, NULL), ==,
		  0);
	CHECK(!memcmp(r->mem + 0x1004, "KVMiKVMi", 8));
	qvmi_kvmi_put64(req, 0x1ffc); /* crosses a page */
	CHECK_INT(call(r, QVMI_KVMI_WRITE_PHYSICAL, req, 24, NULL, 0, NULL), ==,
		  -EINVAL);
	CHECK(r->mem[0x1ffc] != 'K');
}

/* libkvmi's batch: (enable=0, now=1) ... (enable=1, now=1): only the
 * closing message is answered; now=0 changes after the own reply. */
static void cmd_response_batch(void)
{
	struct rig *r = started(NULL);
	uint8_t off[8] = { 0, 1 }, on[8] = { 1, 1 }, req[16];
	uint32_t seq;

	send_msg(r, QVMI_KVMI_CONTROL_CMD_RESPONSE, off, 8);
	qvmi_kvmi_put64(req, 0);
	qvmi_kvmi_put64(req + 8, 8);
	send_msg(r, QVMI_KVMI_READ_PHYSICAL, req, 16);
	send_msg(r, QVMI_KVMI_GET_VERSION, NULL, 0);
	send_msg(r, 50, NULL, 0); /* unknown: an error, silenced too */
	seq = send_msg(r, QVMI_KVMI_CONTROL_CMD_RESPONSE, on, 8);
	CHECK_INT(get_reply(r, QVMI_KVMI_CONTROL_CMD_RESPONSE, seq, NULL, 0,
			    NULL),
		  ==, 0);
	/* (enable=0, now=0): answered, then silent */
	off[1] = 0;
	CHECK_INT(call(r, QVMI_KVMI_CONTROL_CMD_RESPONSE, off, 8, NULL, 0,
		       NULL),
		  ==, 0);
	send_msg(r, QVMI_KVMI_GET_VERSION, NULL, 0);
	/* (enable=1, now=0): not answered (still off for its own reply) */
	on[1] = 0;
	send_msg(r, QVMI_KVMI_CONTROL_CMD_RESPONSE, on, 8);
	CHECK_INT(call(r, QVMI_KVMI_GET_VERSION, NULL, 0, NULL, 0, NULL), ==,
		  0);
	/* bad padding: -EINVAL */
	on[1] = 1;
	on[5] = 1;
	CHECK_INT(call(r, QVMI_KVMI_CONTROL_CMD_RESPONSE, on, 8, NULL, 0, NULL),
		  ==, -EINVAL);
}

static int32_t check_cmd(struct rig *r, uint16_t what, uint16_t id)
{
	uint8_t p[8] = { 0 };

	qvmi_kvmi_put16(p, id);
	return call(r, what, p, 8, NULL, 0, NULL);
}

static void check_truthful(void)
{
	struct rig *r = started(NULL);

	CHECK_INT(check_cmd(r, QVMI_KVMI_CHECK_COMMAND,
			    QVMI_KVMI_READ_PHYSICAL),
		  ==, 0);
	CHECK_INT(check_cmd(r, QVMI_KVMI_CHECK_COMMAND, QVMI_KVMI_PAUSE_VCPU),
		  ==, 0);
	CHECK_INT(check_cmd(r, QVMI_KVMI_CHECK_COMMAND, QVMI_KVMI_CONTROL_CR),
		  ==, -95);
	CHECK_INT(check_cmd(r, QVMI_KVMI_CHECK_COMMAND,
			    QVMI_KVMI_INJECT_EXCEPTION),
		  ==, -95);
	CHECK_INT(check_cmd(r, QVMI_KVMI_CHECK_COMMAND, 1000), ==, -95);
	CHECK_INT(check_cmd(r, QVMI_KVMI_CHECK_EVENT, QVMI_KVMI_EV_PAUSE_VCPU),
		  ==, 0);
	CHECK_INT(check_cmd(r, QVMI_KVMI_CHECK_EVENT, QVMI_KVMI_EV_UNHOOK), ==,
		  0);
	/* no gdbstub: no breakpoints, no single-step */
	CHECK_INT(check_cmd(r, QVMI_KVMI_CHECK_EVENT, QVMI_KVMI_EV_BREAKPOINT),
		  ==, -95);
	CHECK_INT(check_cmd(r, QVMI_KVMI_CHECK_COMMAND,
			    QVMI_KVMI_VCPU_CONTROL_SINGLESTEP),
		  ==, -95);
	CHECK_INT(check_cmd(r, QVMI_KVMI_CHECK_EVENT, QVMI_KVMI_EV_CR), ==,
		  -95);
	CHECK_INT(check_cmd(r, QVMI_KVMI_CHECK_EVENT, QVMI_KVMI_EV_PF), ==,
		  -95);
	CHECK_INT(check_cmd(r, QVMI_KVMI_CHECK_EVENT, 200), ==, -EINVAL);
	/* unsupported commands themselves */
	CHECK_INT(call(r, QVMI_KVMI_GET_XSAVE, "\0\0\0\0\0\0\0\0", 8, NULL, 0,
		       NULL),
		  ==, -95);
	CHECK_INT(call(r, 50, "x", 1, NULL, 0, NULL), ==, -95);
}

static void allow_lists(void)
{
	struct qvmid_kvmi_opts o = { 0 };
	struct rig *r;
	uint8_t req[16] = { 0 };

	CHECK_OK(qvmid_kvmi_parse_ids("17,29", o.cmd_allowed, QVMID_KVMI_IDS));
	CHECK_INT(qvmid_kvmi_parse_ids("17,64", o.cmd_allowed, QVMID_KVMI_IDS),
		  ==, -EINVAL);
	CHECK_INT(qvmid_kvmi_parse_ids("17,", o.cmd_allowed, QVMID_KVMI_IDS),
		  ==, -EINVAL);
	CHECK_INT(qvmid_kvmi_parse_ids("x", o.cmd_allowed, QVMID_KVMI_IDS), ==,
		  -EINVAL);
	CHECK_OK(qvmid_kvmi_parse_ids("17,29", o.cmd_allowed, QVMID_KVMI_IDS));
	o.cmd_list_set = true;
	o.ev_list_set = true; /* no event allowed */
	r = started(&o);
	qvmi_kvmi_put64(req + 8, 8);
	CHECK_INT(call(r, QVMI_KVMI_READ_PHYSICAL, req, 16, NULL, 0, NULL), ==,
		  0);
	CHECK_INT(call(r, QVMI_KVMI_GET_MAX_GFN, NULL, 0, NULL, 0, NULL), ==,
		  0);
	CHECK_INT(call(r, QVMI_KVMI_GET_GUEST_INFO, NULL, 0, NULL, 0, NULL), ==,
		  -EPERM);
	/* always allowed, and CHECK_COMMAND says -EPERM */
	CHECK_INT(call(r, QVMI_KVMI_GET_VERSION, NULL, 0, NULL, 0, NULL), ==,
		  0);
	CHECK_INT(check_cmd(r, QVMI_KVMI_CHECK_COMMAND,
			    QVMI_KVMI_GET_GUEST_INFO),
		  ==, -EPERM);
	CHECK_INT(check_cmd(r, QVMI_KVMI_CHECK_EVENT, QVMI_KVMI_EV_PAUSE_VCPU),
		  ==, -EPERM);
}

static int32_t control(struct rig *r, uint16_t id, uint16_t ev_or_cr,
		       uint8_t enable)
{
	uint8_t p[16] = { 0 };

	if (id == QVMI_KVMI_CONTROL_EVENTS) {
		qvmi_kvmi_put16(p + 8, ev_or_cr);
		p[10] = enable;
	} else if (id == QVMI_KVMI_CONTROL_VM_EVENTS) {
		qvmi_kvmi_put16(p, ev_or_cr);
		p[2] = enable;
		return call(r, id, p, 8, NULL, 0, NULL);
	} else {
		p[8] = enable;
		qvmi_kvmi_put32(p + 12, ev_or_cr);
	}
	return call(r, id, p, 16, NULL, 0, NULL);
}

/* hookguest's controls: refused by default, accepted (and never fired)
 * only with --kvmi-unsupported accept. */
static void unsupported_refuse_accept(void)
{
	struct qvmid_kvmi_opts o = { 0 };
	struct rig *r = started(NULL);
	uint8_t pa[8 + 16] = { 0 };

	/* the vCPU count comes from QEMU: without it vCPU commands fail
	 * before the event id is looked at, so use VM-wide ones here */
	CHECK_INT(call(r, QVMI_KVMI_SET_PAGE_ACCESS, pa, 8, NULL, 0, NULL), ==,
		  -95);
	/* UNHOOK is the one VM event, and it is served */
	CHECK_INT(control(r, QVMI_KVMI_CONTROL_VM_EVENTS, QVMI_KVMI_EV_UNHOOK,
			  1),
		  ==, 0);
	CHECK_INT(control(r, QVMI_KVMI_CONTROL_VM_EVENTS, QVMI_KVMI_EV_CR, 1),
		  ==, -EINVAL);
	CHECK_INT(control(r, QVMI_KVMI_CONTROL_VM_EVENTS, 99, 1), ==, -EINVAL);
	o.accept_unsupported = true;
	r = started(&o);
	qvmi_kvmi_put16(pa + 2, 1);
	pa[16] = 7;
	CHECK_INT(call(r, QVMI_KVMI_SET_PAGE_ACCESS, pa, 24, NULL, 0, NULL), ==,
		  0);
	/* CHECK_COMMAND stays truthful */
	CHECK_INT(check_cmd(r, QVMI_KVMI_CHECK_COMMAND,
			    QVMI_KVMI_SET_PAGE_ACCESS),
		  ==, -95);
}

/* Every bad frame closes this connection only; qvmid dials again and
 * serves the next one. */
static void bad_frames_close(void)
{
	static const struct {
		uint16_t id, size;
	} bad[] = {
		{ QVMI_KVMI_GET_VERSION, 1 },
		{ QVMI_KVMI_EVENT, 8 },
		{ QVMI_KVMI_READ_PHYSICAL, 8 },
		{ QVMI_KVMI_EVENT_REPLY, 16 }, /* no event pending */
	};
	struct rig *r = started(NULL);
	uint8_t p[64] = { 0 }, big[8];
	struct qvmi_kvmi_hdr h = { QVMI_KVMI_GET_VERSION, 8185, 1 };

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(bad); i++) {
		send_msg(r, bad[i].id, p, bad[i].size);
		expect_eof(r->fd);
		tool_accept(r, 96, NULL);
	}
	qvmi_kvmi_hdr_encode(&h, big);
	CHECK_INT(write(r->fd, big, 8), ==, 8);
	expect_eof(r->fd);
	tool_accept(r, 96, NULL);
	/* padding in a vCPU header: -EINVAL, the connection stays */
	p[2] = 1;
	CHECK_INT(call(r, QVMI_KVMI_PAUSE_VCPU, p, 16, NULL, 0, NULL), ==,
		  -EINVAL);
	CHECK_INT(call(r, QVMI_KVMI_GET_VERSION, NULL, 0, NULL, 0, NULL), ==,
		  0);
	rig_stop(r);
	CHECK_INT(r->st.bad_frames, ==, 5);
	CHECK_INT(r->st.handshakes, ==, 6);
}

/* Frames split across writes, and many in one write. */
static void framing_split_and_coalesced(void)
{
	struct rig *r = started(NULL);
	uint8_t b[8 * 16];
	struct qvmi_kvmi_hdr h = { QVMI_KVMI_GET_VERSION, 0, 0 };

	for (int i = 0; i < 16; i++) {
		h.seq = 100 + (uint32_t)i;
		qvmi_kvmi_hdr_encode(&h, b + 8 * i);
	}
	CHECK_INT(write(r->fd, b, 3), ==, 3);
	usleep(20000);
	CHECK_INT(write(r->fd, b + 3, sizeof(b) - 3), ==,
		  (ssize_t)sizeof(b) - 3);
	for (int i = 0; i < 16; i++)
		CHECK_INT(get_reply(r, QVMI_KVMI_GET_VERSION, 100 + (uint32_t)i,
				    NULL, 0, NULL),
			  ==, 0);
}

/* ---- with a fake QEMU 7.2 behind the ctx: pause, state, events ---- */

struct fake {
	pthread_mutex_t lock;
	bool running;
	int stops, conts, hmps;
	char *regs; /* "info registers -a" of a pc guest, 2 vCPUs */
};

static char *fake_reply(struct json_object *ret, const char *id)
{
	char *r = NULL;

	if (asprintf(&r, "{\"return\": %s, \"id\": %s}\r\n",
		     json_object_to_json_string_ext(ret,
						    JSON_C_TO_STRING_PLAIN),
		     id) < 0)
		r = NULL;
	json_object_put(ret);
	return r;
}

static struct json_object *cpus_fast(void)
{
	struct json_object *a = json_object_new_array();

	for (int i = 0; i < 2; i++) {
		struct json_object *c = json_object_new_object();
		char path[64];

		snprintf(path, sizeof(path), "/machine/unattached/device[%d]",
			 i);
		json_object_object_add(c, "cpu-index", json_object_new_int(i));
		json_object_object_add(c, "qom-path",
				       json_object_new_string(path));
		json_object_object_add(c, "thread-id",
				       json_object_new_int(1000 + i));
		json_object_array_add(a, c);
	}
	return a;
}

static char *fake_qemu(struct json_object *req, const char *id, void *arg)
{
	struct fake *f = arg;
	struct json_object *ex = NULL, *ret;
	const char *cmd;
	const char *ev = "";
	char *r = NULL, *body;

	json_object_object_get_ex(req, "execute", &ex);
	cmd = ex ? json_object_get_string(ex) : "";
	pthread_mutex_lock(&f->lock);
	if (!strcmp(cmd, "query-status")) {
		ret = json_object_new_object();
		json_object_object_add(
			ret, "status",
			json_object_new_string(f->running ? "running" :
							    "paused"));
		json_object_object_add(ret, "running",
				       json_object_new_boolean(f->running));
	} else if (!strcmp(cmd, "query-cpus-fast")) {
		ret = cpus_fast();
	} else if (!strcmp(cmd, "human-monitor-command")) {
		f->hmps++;
		ret = json_object_new_string(f->regs);
	} else {
		if (!strcmp(cmd, "stop")) {
			f->stops++;
			f->running = false;
			ev = "{\"timestamp\": {\"seconds\": 1, \"microseconds\": "
			     "2}, \"event\": \"STOP\"}\r\n";
		} else if (!strcmp(cmd, "cont")) {
			f->conts++;
			f->running = true;
			ev = "{\"timestamp\": {\"seconds\": 1, \"microseconds\": "
			     "3}, \"event\": \"RESUME\"}\r\n";
		}
		ret = json_object_new_object();
	}
	pthread_mutex_unlock(&f->lock);
	body = fake_reply(ret, id);
	if (body && asprintf(&r, "%s%s", ev, body) < 0)
		r = NULL;
	free(body);
	return r;
}

static const struct fq_step serve_script[] = {
	{ FQ_SEND, FQ_GREETING },
	{ FQ_EXPECT, "qmp_capabilities" },
	{ FQ_SEND, FQ_OK },
	{ FQ_SERVE },
	{ FQ_END },
};

struct qrig {
	struct rig *r;
	struct fake fake;
	struct fakeqmp *f;
};

static void qrig_free(void *arg)
{
	struct qrig *q = arg;
	char msg[256];

	rig_stop(q->r); /* the server's thread first: it uses the QMP */
	qvmid_kvmi_destroy(q->r->k); /* may continue the VM over QMP */
	q->r->k = NULL;
	qvmi_ctx_destroy(q->r->ctx); /* closes the QMP connection */
	q->r->ctx = NULL;
	if (q->f)
		fakeqmp_finish(q->f, msg, sizeof(msg));
	pthread_mutex_destroy(&q->fake.lock);
	free(q->fake.regs);
	free(q);
}

static struct qrig *qstarted(struct qvmid_kvmi_opts *o)
{
	struct qrig *q = calloc(1, sizeof(*q));
	struct qvmid_kvmi_opts def = { 0 };
	struct qvmi_qmp *qmp;
	int fd;

	CHECK(q != NULL);
	q->r = rig_new();
	pthread_mutex_init(&q->fake.lock, NULL);
	qvmi_test_defer(qrig_free, q);
	q->fake.running = true;
	q->fake.regs = qvmi_test_data("hmp/regs-a-pc-smp2.txt", NULL);
	CHECK(q->fake.regs != NULL);
	q->f = fakeqmp_start(serve_script, fake_qemu, &q->fake, &fd);
	CHECK(q->f != NULL);
	CHECK_OK(qvmi_qmp_open_fd(q->r->ctx, fd, 2000, &qmp));
	q->r->ctx->qmp = qmp;
	q->r->ctx->qmp_close = qvmi_qmp_close;
	CHECK_OK(qvmi__ctl_qmp_install(q->r->ctx, qmp));
	rig_start(q->r, o ? o : &def);
	tool_accept(q->r, 96, NULL);
	return q;
}

static int fake_count(struct qrig *q, const int *field)
{
	int v;

	pthread_mutex_lock(&q->fake.lock);
	v = *field;
	pthread_mutex_unlock(&q->fake.lock);
	return v;
}

struct tev {
	uint32_t seq;
	uint16_t size, vcpu;
	uint8_t event;
	uint8_t b[600];
};

/* One message: an event into e (true), or the reply to (id, seq)
 * (false, its error code in *err). */
static bool read_msg(struct rig *r, struct tev *e, uint16_t id, uint32_t seq,
		     int32_t *err)
{
	uint8_t h[8];
	struct qvmi_kvmi_hdr hh;
	const char *why;

	read_all(r->fd, h, 8);
	CHECK_OK(qvmi_kvmi_hdr_decode(h, &hh, &why));
	CHECK(hh.size <= sizeof(e->b));
	read_all(r->fd, e->b, hh.size);
	if (hh.id != QVMI_KVMI_EVENT) {
		CHECK_INT(hh.id, ==, id);
		CHECK_INT(hh.seq, ==, seq);
		*err = (int32_t)qvmi_kvmi_u32(e->b);
		return false;
	}
	e->seq = hh.seq;
	e->size = hh.size;
	e->vcpu = qvmi_kvmi_u16(e->b + 2);
	e->event = e->b[4];
	return true;
}

/* libkvmi's kvmi_pause_all_vcpus: the closing reply and the two PAUSE
 * events, in whatever order they come (libkvmi queues events). */
static void pause_2(struct rig *r, struct tev ev[2])
{
	uint8_t off[8] = { 0, 1 }, on[8] = { 1, 1 }, p[16] = { 0 };
	uint32_t seq;
	int32_t err = -1;
	int nev = 0, nrep = 0;

	send_msg(r, QVMI_KVMI_CONTROL_CMD_RESPONSE, off, 8);
	for (int v = 0; v < 2; v++) {
		qvmi_kvmi_put16(p, (uint16_t)v);
		p[8] = 1;
		send_msg(r, QVMI_KVMI_PAUSE_VCPU, p, 16);
	}
	seq = send_msg(r, QVMI_KVMI_CONTROL_CMD_RESPONSE, on, 8);
	while (nev + nrep < 3) {
		struct tev t;

		if (read_msg(r, &t, QVMI_KVMI_CONTROL_CMD_RESPONSE, seq,
			     &err)) {
			CHECK(nev < 2);
			ev[nev++] = t;
		} else {
			CHECK_INT(err, ==, 0);
			nrep++;
		}
	}
	CHECK_INT(nrep, ==, 1);
}

static void send_reply(struct rig *r, uint32_t seq, uint16_t vcpu,
		       uint8_t action, uint8_t event, size_t extra)
{
	uint8_t b[8 + 16 + 16] = { 0 };
	struct qvmi_kvmi_hdr h = { QVMI_KVMI_EVENT_REPLY,
				   (uint16_t)(16 + extra), seq };

	qvmi_kvmi_hdr_encode(&h, b);
	qvmi_kvmi_put16(b + 8, vcpu);
	b[16] = action;
	b[17] = event;
	CHECK_INT(write(r->fd, b, 8 + 16 + extra), ==, (ssize_t)(24 + extra));
}

static void pause_events_and_resume(void)
{
	struct qrig *q = qstarted(NULL);
	struct rig *r = q->r;
	struct tev ev[2];
	uint8_t req[16 + 8] = { 0 }, b[1024];
	size_t n;

	pause_2(r, ev);
	CHECK_INT(fake_count(q, &q->fake.stops), ==, 1);
	for (int i = 0; i < 2; i++) {
		CHECK_INT(ev[i].event, ==, QVMI_KVMI_EV_PAUSE_VCPU);
		CHECK_INT(ev[i].vcpu, ==, i);
		CHECK_INT(ev[i].size, ==, 544);
		CHECK_INT(ev[i].b[8], ==, 8); /* long mode */
		/* kvm_sregs.cs.selector at 160 + 12 */
		CHECK_INT(qvmi_kvmi_u16(ev[i].b + 160 + 12), ==, 0x10);
	}
	CHECK(ev[1].seq == ev[0].seq + 1);
	/* vCPU 0's RIP and EFER from the text */
	CHECK_U64(qvmi_kvmi_u64(ev[0].b + 16 + 128), ==, 0xffffffff8ac3fc9bull);
	CHECK_U64(qvmi_kvmi_u64(ev[0].b + 472 + 24), ==, 0xd01);
	/* GET_REGISTERS while paused: cached, no more HMP; EFER exact */
	qvmi_kvmi_put16(req + 8, 2);
	qvmi_kvmi_put32(req + 16, 0xc0000080);
	qvmi_kvmi_put32(req + 20, 0xc0000101);
	for (int i = 0; i < 5; i++) {
		CHECK_INT(call(r, QVMI_KVMI_GET_REGISTERS, req, 24, b,
			       sizeof(b), &n),
			  ==, 0);
		CHECK_INT(n, ==, 472 + 32);
	}
	CHECK_INT(fake_count(q, &q->fake.hmps), ==, 2);
	CHECK_U64(qvmi_kvmi_u64(b + 472 + 8), ==, 0xd01);
	CHECK_U64(qvmi_kvmi_u64(b + 472 + 16 + 8), ==, 0xffff8bc55f400000ull);
	/* LSTAR: no stock source */
	qvmi_kvmi_put32(req + 20, 0xc0000082);
	CHECK_INT(call(r, QVMI_KVMI_GET_REGISTERS, req, 24, b, sizeof(b), &n),
		  ==, -EINVAL);
	/* the first CONTINUE does not resume; the second does */
	send_reply(r, ev[0].seq, 0, QVMI_KVMI_CONTINUE, QVMI_KVMI_EV_PAUSE_VCPU,
		   0);
	CHECK_INT(call(r, QVMI_KVMI_GET_VERSION, NULL, 0, NULL, 0, NULL), ==,
		  0);
	CHECK_INT(fake_count(q, &q->fake.conts), ==, 0);
	send_reply(r, ev[1].seq, 1, QVMI_KVMI_CONTINUE, QVMI_KVMI_EV_PAUSE_VCPU,
		   0);
	CHECK_INT(call(r, QVMI_KVMI_GET_VERSION, NULL, 0, NULL, 0, NULL), ==,
		  0);
	CHECK_INT(fake_count(q, &q->fake.conts), ==, 1);
	/* bad vCPU */
	memset(req, 0, 16);
	qvmi_kvmi_put16(req, 2);
	CHECK_INT(call(r, QVMI_KVMI_PAUSE_VCPU, req, 16, NULL, 0, NULL), ==,
		  -EINVAL);
}

static void unknown_msr_zero(void)
{
	struct qvmid_kvmi_opts o = { .unknown_msr_zero = true };
	struct qrig *q = qstarted(&o);
	uint8_t req[16 + 4] = { 0 }, b[1024];
	size_t n;

	qvmi_kvmi_put16(req + 8, 1);
	qvmi_kvmi_put32(req + 16, 0xc0000082);
	CHECK_INT(call(q->r, QVMI_KVMI_GET_REGISTERS, req, 20, b, sizeof(b),
		       &n),
		  ==, 0);
	CHECK_INT(n, ==, 472 + 16);
	CHECK_INT(qvmi_kvmi_u32(b + 472), ==, 0xc0000082);
	CHECK_U64(qvmi_kvmi_u64(b + 472 + 8), ==, 0);
	/* not paused: every read asks QEMU */
	CHECK_INT(call(q->r, QVMI_KVMI_GET_REGISTERS, req, 20, b, sizeof(b),
		       &n),
		  ==, 0);
	CHECK_INT(fake_count(q, &q->fake.hmps), ==, 2);
}

/* Each bad EVENT_REPLY closes the connection, and the VM this connection
 * stopped continues. */
static void bad_event_replies(void)
{
	static const struct {
		int seq_off, vcpu, action, event;
		size_t extra;
	} bad[] = {
		{ 1, 0, QVMI_KVMI_CONTINUE, QVMI_KVMI_EV_PAUSE_VCPU, 0 },
		{ 0, 1, QVMI_KVMI_CONTINUE, QVMI_KVMI_EV_PAUSE_VCPU, 0 },
		{ 0, 0, QVMI_KVMI_CONTINUE, QVMI_KVMI_EV_BREAKPOINT, 0 },
		{ 0, 0, QVMI_KVMI_CONTINUE, QVMI_KVMI_EV_PAUSE_VCPU, 8 },
		{ 0, 7, QVMI_KVMI_CONTINUE, QVMI_KVMI_EV_PAUSE_VCPU, 0 },
		{ 0, 0, QVMI_KVMI_CRASH, QVMI_KVMI_EV_PAUSE_VCPU, 0 },
		{ 0, 0, 9, QVMI_KVMI_EV_PAUSE_VCPU, 0 },
	};
	struct qrig *q = qstarted(NULL);
	struct rig *r = q->r;

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(bad); i++) {
		struct tev ev[2];

		pause_2(r, ev);
		CHECK_INT(fake_count(q, &q->fake.stops), ==, (int)i + 1);
		send_reply(r, ev[0].seq + (uint32_t)bad[i].seq_off,
			   (uint16_t)bad[i].vcpu, (uint8_t)bad[i].action,
			   (uint8_t)bad[i].event, bad[i].extra);
		expect_eof(r->fd);
		tool_accept(r, 96, NULL);
		CHECK_MSG(fake_count(q, &q->fake.conts) == (int)i + 1,
			  "case %zu: the VM was not continued", i);
	}
	rig_stop(r);
	CHECK_INT(r->st.bad_frames, ==, (int)QVMI_ARRAY_SIZE(bad) - 2);
}

/* The tool goes away in the middle of a pause: the VM continues. */
static void close_mid_pause(void)
{
	struct qrig *q = qstarted(NULL);
	struct tev ev[2];

	pause_2(q->r, ev);
	close(q->r->fd);
	q->r->fd = -1;
	tool_accept(q->r, 96, NULL);
	CHECK_INT(fake_count(q, &q->fake.conts), ==, 1);
	/* someone else's pause is theirs: no cont when we end */
	pthread_mutex_lock(&q->fake.lock);
	q->fake.running = false;
	pthread_mutex_unlock(&q->fake.lock);
	pause_2(q->r, ev);
	close(q->r->fd);
	q->r->fd = -1;
	tool_accept(q->r, 96, NULL);
	CHECK_INT(fake_count(q, &q->fake.stops), ==, 1);
	CHECK_INT(fake_count(q, &q->fake.conts), ==, 1);
}

static const struct qvmi_test kvmi_tests[] = {
	{ "handshake_v7", handshake_v7 },
	{ "handshake_v12_max_gpa", handshake_v12_max_gpa },
	{ "handshake_long_answer", handshake_long_answer },
	{ "handshake_short_answer_closes", handshake_short_answer_closes },
	{ "handshake_timeout", handshake_timeout },
	{ "key_match_and_mismatch", key_match_and_mismatch },
	{ "key_file_refused", key_file_refused },
	{ "addresses", addresses },
	{ "options", options },
	{ "read_write_physical", read_write_physical },
	{ "cmd_response_batch", cmd_response_batch },
	{ "check_truthful", check_truthful },
	{ "allow_lists", allow_lists },
	{ "unsupported_refuse_accept", unsupported_refuse_accept },
	{ "bad_frames_close", bad_frames_close },
	{ "framing_split_and_coalesced", framing_split_and_coalesced },
	{ "pause_events_and_resume", pause_events_and_resume },
	{ "unknown_msr_zero", unknown_msr_zero },
	{ "bad_event_replies", bad_event_replies },
	{ "close_mid_pause", close_mid_pause },
};
QVMI_SUITE(kvmi, kvmi_tests);
