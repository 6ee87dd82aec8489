// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Session protocol: qvmid's session server in a thread over a testmem ctx
 * with a fake control backend, driven by libqvmi's client
 * (qvmi_session_open) and by a raw client that forges frames.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "core/internal.h"
#include "proto/session-auth.h"
#include "proto/session-wire.h"
#include "sessrig.h"

enum {
	MEM_SIZE = 4 << 20,
	HOLE_GPA = 8 << 20, /* unmapped */
	HI_GPA = 16 << 20, /* a second RAM range */
	HI_SIZE = 64 << 10,
};

static const uint8_t test_key[32] = "0123456789abcdef0123456789abcdef";

/* ---- fake control backend ------------------------------------------------ */

struct fakectl {
	int pauses, resumes;
	enum qvmi_vm_state state;
};

static int fk_vcpus(struct qvmi_ctl *c)
{
	return 2;
}

static int fk_regs(struct qvmi_ctl *c, unsigned int vcpu,
		   struct qvmi_regs_x86 *ret)
{
	if (vcpu >= 2)
		return qvmi__err(c->ctx, -ENOENT, "no vCPU %u", vcpu);
	ret->rax = 0x1111 + vcpu;
	ret->rip = 0xffffffff81000000ull + vcpu;
	ret->cr3 = 0x1000;
	ret->dr7 = 0x400;
	ret->valid = QVMI_REGS_GPR | QVMI_REGS_CR | QVMI_REGS_DR;
	return 0;
}

static int fk_pause(struct qvmi_ctl *c)
{
	struct fakectl *f = c->priv;

	f->pauses++;
	f->state = QVMI_VM_PAUSED;
	return 0;
}

static int fk_resume(struct qvmi_ctl *c)
{
	struct fakectl *f = c->priv;

	f->resumes++;
	f->state = QVMI_VM_RUNNING;
	return 0;
}

static int fk_state(struct qvmi_ctl *c, enum qvmi_vm_state *ret)
{
	*ret = ((struct fakectl *)c->priv)->state;
	return 0;
}

static const struct qvmi_ctl_ops fake_ops = {
	.name = "fake",
	.vcpu_count = fk_vcpus,
	.get_regs = fk_regs,
	.pause = fk_pause,
	.resume = fk_resume,
	.state = fk_state,
};

/* ---- server in a thread (tests/lib/sessrig.h) ------------------------------- */

/* Heap, freed when the test ends (after the rig, which is deferred later
 * and so released first: the ctx that points at fk and mem goes first). */
struct srv {
	struct sessrig *r;
	/* the rig's, under the names the tests use */
	struct qvmi_ctx *ctx;
	struct qvmid_session_server *s;
	const char *path, *keyfile;
	struct fakectl fk;
	uint8_t *mem, hi[HI_SIZE];
};

static void srv_free(void *arg)
{
	struct srv *t = arg;

	free(t->mem);
	free(t);
}

static void write_key(const char *path, const void *k, size_t n, int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0);
	CHECK_INT(write(fd, k, n), ==, (long)n);
	CHECK_OK(fchmod(fd, (mode_t)mode));
	close(fd);
}

static struct srv *srv_start_opts(struct qvmid_session_opts *o)
{
	struct srv *t = calloc(1, sizeof(*t));
	struct qvmi_source *src;

	CHECK(t);
	qvmi_test_defer(srv_free, t);
	t->mem = malloc(MEM_SIZE);
	CHECK(t->mem);
	for (size_t i = 0; i < MEM_SIZE; i++)
		t->mem[i] = (uint8_t)(i * 7 + (i >> 12));
	memset(t->hi, 0xa5, sizeof(t->hi));
	t->r = sessrig_create("ses", test_key);
	t->ctx = t->r->ctx;
	t->path = t->r->path;
	t->keyfile = t->r->keyfile;
	CHECK_OK(qvmi_source_testmem_create(t->ctx, t->mem, MEM_SIZE, 1, &src));
	CHECK_OK(qvmi_map_add(t->ctx, src, 0, MEM_SIZE, 0));
	CHECK_OK(qvmi__ram_add(t->ctx, 0, MEM_SIZE));
	CHECK_OK(qvmi_source_testmem_create(t->ctx, t->hi, HI_SIZE, 1, &src));
	CHECK_OK(qvmi_map_add(t->ctx, src, HI_GPA, HI_SIZE, 0));
	CHECK_OK(qvmi__ram_add(t->ctx, HI_GPA, HI_SIZE));
	t->fk.state = QVMI_VM_RUNNING;
	CHECK_OK(qvmi__ctl_set(t->ctx, &fake_ops, &t->fk));
	t->ctx->vm_name = strdup("demo-vm");
	t->ctx->vm_uuid = strdup("12345678-9abc-def0-1234-56789abcdef0");
	sessrig_serve(t->r, o, true);
	t->s = t->r->s;
	return t;
}

static struct srv *srv_start(void)
{
	struct qvmid_session_opts o = { 0 };

	return srv_start_opts(&o);
}

static struct srv *srv_start_rw(void)
{
	struct qvmid_session_opts o = { .policy_set = true };

	qvmid_session_policy_init(&o.policy);
	CHECK_OK(qvmid_session_policy_apply(&o.policy, "write-pa", true, false,
					    NULL));
	return srv_start_opts(&o);
}

/* Stop the thread first: then the stats and the fake are ours to read. */
static void srv_join(struct srv *t)
{
	sessrig_join(t->r);
}

static void srv_stop(struct srv *t)
{
	sessrig_stop(t->r);
}

static int open_session(struct srv *t, struct qvmi_ctx **ret)
{
	QVMI_OPTS(qvmi_session_opts, o, .key_path = t->keyfile,
		  .timeout_ms = 3000);

	CHECK_OK(qvmi_ctx_create(ret));
	return qvmi_session_open(*ret, t->path, &o);
}

/* ---- a raw client (tests/lib/sessrig.h) ------------------------------------ */

static void test_key_obj(struct qvmi_ses_key *k)
{
	memset(k, 0, sizeof(*k));
	CHECK_OK(qvmi__ses_key_set(k, test_key, sizeof(test_key)));
}

static void raw_auth(struct raw *r, const char *path)
{
	sessraw_auth(r, path, test_key);
}

/* ---- tests ------------------------------------------------------------------ */

static void t_handshake_values(void)
{
	struct srv *t = srv_start();
	struct qvmi_ctx *ctx;
	struct qvmi_vm_info vi;
	struct qvmi_ram_range rr;
	enum qvmi_vm_state st;

	CHECK_OK(open_session(t, &ctx));
	CHECK_OK(qvmi_vm_info(ctx, &vi));
	CHECK_STR(vi.name, "demo-vm");
	CHECK_STR(vi.uuid, "12345678-9abc-def0-1234-56789abcdef0");
	CHECK_STR(vi.backend, "session");
	CHECK_INT(vi.vcpus, ==, 2);
	CHECK_INT(qvmi_ram_count(ctx), ==, 2);
	CHECK_OK(qvmi_ram_get(ctx, 0, &rr));
	CHECK_U64(rr.gpa, ==, 0);
	CHECK_U64(rr.size, ==, MEM_SIZE);
	CHECK_OK(qvmi_ram_get(ctx, 1, &rr));
	CHECK_U64(rr.gpa, ==, HI_GPA);
	CHECK_U64(rr.size, ==, HI_SIZE);
	CHECK_OK(qvmi_vm_state(ctx, &st));
	CHECK_INT(st, ==, QVMI_VM_RUNNING);
	qvmi_ctx_destroy(ctx);
	srv_join(t);
	CHECK_INT(t->s ? 1 : 0, ==, 1);
	{
		struct qvmid_session_stats s;

		qvmid_session_server_stats(t->s, &s);
		CHECK_INT(s.auth_ok, ==, 1);
		CHECK_INT(s.auth_failed, ==, 0);
	}
	srv_stop(t);
}

static void t_memory_round_trip(void)
{
	struct srv *t = srv_start_rw();
	struct qvmi_ctx *ctx;
	uint8_t buf[5000], w[300];

	CHECK_OK(open_session(t, &ctx));
	CHECK_OK(qvmi_read_pa(ctx, 0x1234, buf, sizeof(buf)));
	CHECK(!memcmp(buf, t->mem + 0x1234, sizeof(buf)));
	CHECK_OK(qvmi_read_pa(ctx, HI_GPA + 5, buf, 3));
	CHECK_INT(buf[0], ==, 0xa5);
	for (size_t i = 0; i < sizeof(w); i++)
		w[i] = (uint8_t)(0x5a ^ i);
	qvmi_cache_set_mode(ctx, QVMI_CACHE_OFF);
	CHECK_OK(qvmi_write_pa(ctx, 0x20003, w, sizeof(w)));
	CHECK_OK(qvmi_read_pa(ctx, 0x20003, buf, sizeof(w)));
	CHECK(!memcmp(buf, w, sizeof(w)));
	/* a range qvmid cannot serve: -EFAULT at its address */
	CHECK_INT(qvmi_read_pa(ctx, HI_GPA + HI_SIZE - 2, buf, 4), ==, -EFAULT);
	/* a 2 MiB read is split at max_transfer (1 MiB) */
	{
		uint8_t *big = malloc(2 << 20);

		CHECK(big);
		CHECK_OK(qvmi_read_pa(ctx, 4096, big, 2 << 20));
		CHECK(!memcmp(big, t->mem + 4096, 2 << 20));
		free(big);
	}
	qvmi_ctx_destroy(ctx);
	srv_join(t);
	CHECK(!memcmp(t->mem + 0x20003, w, sizeof(w)));
	srv_stop(t);
}

static void t_regs(void)
{
	struct srv *t = srv_start();
	struct qvmi_ctx *ctx;
	struct qvmi_regs_x86 r;

	CHECK_OK(open_session(t, &ctx));
	CHECK_INT(qvmi_vcpu_count(ctx), ==, 2);
	CHECK_OK(qvmi_get_regs(ctx, 1, &r));
	CHECK_U64(r.rax, ==, 0x1112);
	CHECK_U64(r.rip, ==, 0xffffffff81000001ull);
	CHECK_U64(r.cr3, ==, 0x1000);
	CHECK_U64(r.dr7, ==, 0x400);
	CHECK_U64(r.valid, ==, QVMI_REGS_GPR | QVMI_REGS_CR | QVMI_REGS_DR);
	CHECK_INT(qvmi_get_regs(ctx, 7, &r), ==, -ENOENT);
	/* still usable */
	CHECK_OK(qvmi_get_regs(ctx, 0, &r));
	CHECK_U64(r.rax, ==, 0x1111);
	qvmi_ctx_destroy(ctx);
	srv_stop(t);
}

static void t_pause_counting(void)
{
	struct srv *t = srv_start();
	struct qvmi_ctx *ctx;
	enum qvmi_vm_state st;

	CHECK_OK(open_session(t, &ctx));
	CHECK_OK(qvmi_vm_pause(ctx));
	CHECK_OK(qvmi_vm_pause(ctx));
	CHECK_OK(qvmi_vm_pause(ctx));
	CHECK_OK(qvmi_vm_resume(ctx));
	CHECK_OK(qvmi_vm_state(ctx, &st));
	CHECK_INT(st, ==, QVMI_VM_PAUSED);
	CHECK_OK(qvmi_vm_resume(ctx));
	CHECK_OK(qvmi_vm_resume(ctx));
	CHECK_OK(qvmi_vm_state(ctx, &st));
	CHECK_INT(st, ==, QVMI_VM_RUNNING);
	CHECK_INT(qvmi_vm_resume(ctx), ==, -EINVAL);
	/* a session that ends while pausing gives the VM back */
	CHECK_OK(qvmi_vm_pause(ctx));
	CHECK_OK(qvmi_vm_pause(ctx));
	qvmi_ctx_destroy(ctx);
	/* the server sees the EOF on its own; give it a moment */
	for (int i = 0; i < 200; i++) {
		struct qvmid_session_stats s;

		qvmid_session_server_stats(t->s, &s);
		if (!s.active)
			break;
		usleep(10000);
	}
	srv_join(t);
	CHECK_INT(t->fk.pauses, ==, 2);
	CHECK_INT(t->fk.resumes, ==, 2);
	CHECK_INT(t->fk.state, ==, QVMI_VM_RUNNING);
	srv_stop(t);
}

/* Paused by someone else first: our last resume leaves it paused. */
static void t_pause_already_paused(void)
{
	struct srv *t = srv_start();
	struct qvmi_ctx *ctx;

	t->fk.state = QVMI_VM_PAUSED;
	CHECK_OK(open_session(t, &ctx));
	CHECK_OK(qvmi_vm_pause(ctx));
	CHECK_OK(qvmi_vm_resume(ctx));
	qvmi_ctx_destroy(ctx);
	srv_join(t);
	CHECK_INT(t->fk.pauses, ==, 0);
	CHECK_INT(t->fk.resumes, ==, 0);
	CHECK_INT(t->fk.state, ==, QVMI_VM_PAUSED);
	srv_stop(t);
}

static void t_wrong_key(void)
{
	struct srv *t = srv_start();
	struct qvmi_ctx *ctx;
	uint8_t k[32];
	struct qvmid_session_stats s;

	memcpy(k, test_key, sizeof(k));
	k[31] ^= 1;
	write_key(t->keyfile, k, sizeof(k), 0600);
	CHECK_INT(open_session(t, &ctx), ==, -EACCES);
	CHECK_INT(qvmi_map_count(ctx), ==, 0);
	qvmi_ctx_destroy(ctx);
	srv_join(t);
	qvmid_session_server_stats(t->s, &s);
	CHECK_INT(s.auth_failed, ==, 1);
	CHECK_INT(s.auth_ok, ==, 0);
	srv_stop(t);
}

static void t_key_file_checks(void)
{
	struct srv *t = srv_start();
	struct qvmi_ctx *ctx;

	write_key(t->keyfile, test_key, sizeof(test_key), 0644);
	CHECK_INT(open_session(t, &ctx), ==, -EPERM);
	qvmi_ctx_destroy(ctx);
	write_key(t->keyfile, test_key, 31, 0600);
	CHECK_INT(open_session(t, &ctx), ==, -EINVAL);
	qvmi_ctx_destroy(ctx);
	write_key(t->keyfile, test_key, sizeof(test_key), 0400);
	CHECK_OK(open_session(t, &ctx));
	qvmi_ctx_destroy(ctx);
	srv_stop(t);
}

/* A recorded HELLO + AUTH replayed byte for byte on a new connection: the
 * server's fresh nonce makes the old MAC wrong. */
static void t_replay_refused(void)
{
	struct srv *t = srv_start();
	struct raw a, b;
	struct qvmi_ses_hdr h;
	uint8_t buf[64];

	raw_auth(&a, t->path);
	close(a.fd);
	usleep(50000); /* let the server drop the first session */
	raw_connect(&b, t->path);
	raw_send(&b, a.t, QVMI_SES_HDR + QVMI_SES_HELLO_REQ);
	CHECK_OK(raw_frame(&b, &h, buf, sizeof(buf)));
	CHECK_INT(h.msg, ==, QVMI_SES_HELLO);
	/* a fresh server nonce */
	CHECK(memcmp(buf + 8, a.t + 2 * QVMI_SES_HDR + QVMI_SES_HELLO_REQ + 8,
		     QVMI_SES_NONCE));
	raw_send(&b, a.auth, sizeof(a.auth));
	CHECK_OK(raw_frame(&b, &h, buf, sizeof(buf)));
	CHECK_INT(h.msg, ==, QVMI_SES_AUTH);
	CHECK_INT(h.error, ==, EACCES);
	CHECK_INT(h.size, ==, 0);
	CHECK_INT(raw_read(&b, buf, 1), ==, -1);
	close(b.fd);
	srv_stop(t);
}

/* The server-role MAC over the right transcript, sent as the client's. */
static void t_reflected_mac_refused(void)
{
	struct srv *t = srv_start();
	struct qvmi_ses_key k;
	struct raw r;
	struct qvmi_ses_hdr h;
	uint8_t mac[QVMI_SES_MAC], buf[64];

	raw_connect(&r, t->path);
	raw_hello(&r);
	test_key_obj(&k);
	CHECK_OK(qvmi__ses_mac(&k, QVMI_SES_ROLE_SERVER, r.t, sizeof(r.t), NULL,
			       0, mac));
	raw_send_auth(&r, mac);
	CHECK_OK(raw_frame(&r, &h, buf, sizeof(buf)));
	CHECK_INT(h.error, ==, EACCES);
	CHECK_INT(raw_read(&r, buf, 1), ==, -1);
	close(r.fd);
	qvmi__ses_key_clear(&k);
	srv_stop(t);
}

/* A fake qvmid that hands the client its own MAC back as the server's. */
struct echo_srv {
	int lfd;
	char path[108];
};

static void *echo_main(void *arg)
{
	struct echo_srv *e = arg;
	struct raw r = { .fd = accept(e->lfd, NULL, NULL) };
	uint8_t in[QVMI_SES_HDR + QVMI_SES_HELLO_REQ], out[4096];
	uint8_t rep[QVMI_SES_HELLO_REP] = { 1 }, pl[QVMI_SES_MAC + 256];
	struct qvmi_ses_info *info = calloc(1, sizeof(*info));
	size_t n;

	if (r.fd < 0 || !info ||
	    raw_read(&r, in, QVMI_SES_HDR + QVMI_SES_HELLO_REQ))
		goto out;
	n = qvmi__ses_frame(out, QVMI_SES_F_REPLY, QVMI_SES_HELLO, 1, 0, rep,
			    sizeof(rep));
	if (send(r.fd, out, n, MSG_NOSIGNAL) != (ssize_t)n ||
	    raw_read(&r, in, QVMI_SES_HDR + QVMI_SES_MAC))
		goto out;
	memcpy(pl, in + QVMI_SES_HDR, QVMI_SES_MAC); /* reflected */
	info->max_transfer = 4096;
	snprintf(info->name, sizeof(info->name), "evil");
	n = qvmi__ses_info_encode(info, pl + QVMI_SES_MAC);
	n = qvmi__ses_frame(out, QVMI_SES_F_REPLY, QVMI_SES_AUTH, 2, 0, pl,
			    QVMI_SES_MAC + n);
	if (send(r.fd, out, n, MSG_NOSIGNAL) != (ssize_t)n)
		goto out;
	raw_read(&r, in, 1); /* until the client closes */
out:
	free(info);
	if (r.fd >= 0)
		close(r.fd);
	return NULL;
}

static void t_client_refuses_reflected_mac(void)
{
	struct echo_srv e;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct srv *t = srv_start(); /* for its key file */
	struct qvmi_ctx *ctx;
	pthread_t th;

	snprintf(e.path, sizeof(e.path), "/tmp/qvmi-test-ses-%d.echo",
		 (int)getpid());
	memcpy(sa.sun_path, e.path, strlen(e.path) + 1);
	unlink(e.path);
	e.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(e.lfd >= 0);
	CHECK_OK(bind(e.lfd, (struct sockaddr *)&sa, sizeof(sa)));
	CHECK_OK(listen(e.lfd, 1));
	CHECK_INT(pthread_create(&th, NULL, echo_main, &e), ==, 0);
	{
		QVMI_OPTS(qvmi_session_opts, o, .key_path = t->keyfile,
			  .timeout_ms = 3000);

		CHECK_OK(qvmi_ctx_create(&ctx));
		CHECK_INT(qvmi_session_open(ctx, e.path, &o), ==, -EACCES);
		CHECK(strstr(qvmi_errmsg(ctx), "did not prove"));
		CHECK_INT(qvmi_map_count(ctx), ==, 0);
	}
	qvmi_ctx_destroy(ctx);
	pthread_join(th, NULL);
	close(e.lfd);
	unlink(e.path);
	srv_stop(t);
}

static void t_command_before_auth(void)
{
	struct srv *t = srv_start();
	struct raw r;
	uint8_t f[QVMI_SES_HDR];

	raw_connect(&r, t->path);
	qvmi__ses_frame(f, 0, QVMI_SES_VM_INFO, 1, 0, NULL, 0);
	raw_send(&r, f, sizeof(f));
	raw_expect_close(&r, EPROTO);
	/* and AUTH before HELLO */
	raw_connect(&r, t->path);
	{
		uint8_t a[QVMI_SES_HDR + QVMI_SES_MAC] = { 0 };

		qvmi__ses_frame(a, 0, QVMI_SES_AUTH, 1, 0, a + QVMI_SES_HDR,
				QVMI_SES_MAC);
		raw_send(&r, a, sizeof(a));
	}
	raw_expect_close(&r, EPROTO);
	srv_stop(t);
}

static void t_auth_timeout(void)
{
	struct qvmid_session_opts o = { .auth_timeout_ms = 150 };
	struct srv *t = srv_start_opts(&o);
	struct raw r;
	int64_t t0 = sessrig_now_ms();

	raw_connect(&r, t->path);
	raw_hello(&r); /* HELLO alone is not enough */
	raw_expect_close(&r, ETIMEDOUT);
	CHECK_INT(sessrig_now_ms() - t0, >=, 140);
	CHECK_INT(sessrig_now_ms() - t0, <, 2000);
	srv_stop(t);
}

static void t_denied_command(void)
{
	struct srv *t = srv_start();
	struct qvmi_ctx *ctx;
	uint8_t b[8] = { 1 };

	CHECK_OK(open_session(t, &ctx));
	qvmi_cache_set_mode(ctx, QVMI_CACHE_OFF);
	CHECK_INT(qvmi_write_pa(ctx, 0x100, b, sizeof(b)), ==, -EPERM);
	/* the session stays usable */
	CHECK_OK(qvmi_read_pa(ctx, 0x100, b, sizeof(b)));
	CHECK(!memcmp(b, t->mem + 0x100, sizeof(b)));
	qvmi_ctx_destroy(ctx);
	srv_join(t);
	{
		struct qvmid_session_stats s;

		qvmid_session_server_stats(t->s, &s);
		CHECK_INT(s.denied, ==, 1);
	}
	srv_stop(t);
}

static void t_policy_and_checks(void)
{
	struct qvmid_session_opts o = { .policy_set = true };
	struct srv *t;
	struct raw r;
	struct qvmi_ses_hdr h;
	uint8_t p[8] = { 0 }, buf[64];
	const char *bad = NULL;

	qvmid_session_policy_init(&o.policy);
	CHECK_INT(qvmid_session_policy_apply(&o.policy, "read-pa,nope", false,
					     false, &bad),
		  ==, -ENOENT);
	CHECK_STR(bad, "nope");
	CHECK_OK(qvmid_session_policy_apply(&o.policy, "all", false, false,
					    NULL));
	CHECK_OK(qvmid_session_policy_apply(&o.policy, "reset", false, true,
					    NULL));
	t = srv_start_opts(&o);
	raw_auth(&r, t->path);
	/* always allowed, whatever the policy */
	raw_call(&r, QVMI_SES_VERSION_CMD, NULL, 0, &h, buf, sizeof(buf));
	CHECK_INT(h.error, ==, 0);
	CHECK_INT(qvmi__ses_get16(buf), ==, 1);
	/* no command allowed; events (all but reset) are */
	CHECK_U64(qvmi__ses_get64(buf + 8), ==, QVMI_SES_FEAT_EVENTS);
	qvmi__ses_put16(p, QVMI_SES_READ_PA);
	raw_call(&r, QVMI_SES_CHECK_COMMAND, p, 8, &h, buf, sizeof(buf));
	CHECK_INT(qvmi__ses_get32(buf), ==, 0);
	qvmi__ses_put16(p, QVMI_SES_VERSION_CMD);
	raw_call(&r, QVMI_SES_CHECK_COMMAND, p, 8, &h, buf, sizeof(buf));
	CHECK_INT(qvmi__ses_get32(buf), ==, 1);
	qvmi__ses_put16(p, QVMI_SES_EV_RESET);
	raw_call(&r, QVMI_SES_CHECK_EVENT, p, 8, &h, buf, sizeof(buf));
	CHECK_INT(qvmi__ses_get32(buf), ==, 0);
	qvmi__ses_put16(p, QVMI_SES_EV_SHUTDOWN);
	raw_call(&r, QVMI_SES_CHECK_EVENT, p, 8, &h, buf, sizeof(buf));
	CHECK_INT(qvmi__ses_get32(buf), ==, 1);
	raw_call(&r, QVMI_SES_VM_INFO, NULL, 0, &h, buf, sizeof(buf));
	CHECK_INT(h.error, ==, EPERM);
	CHECK_INT(h.size, ==, 0);
	/* still open after EPERM */
	raw_call(&r, QVMI_SES_VERSION_CMD, NULL, 0, &h, buf, sizeof(buf));
	CHECK_INT(h.error, ==, 0);
	close(r.fd);
	srv_stop(t);
}

static void t_second_session_refused(void)
{
	struct srv *t = srv_start();
	struct qvmi_ctx *a, *b;
	uint8_t x[16];

	CHECK_OK(open_session(t, &a));
	CHECK_INT(open_session(t, &b), ==, -EBUSY);
	CHECK(strstr(qvmi_errmsg(b), "another session is active"));
	qvmi_ctx_destroy(b);
	/* the first one is untouched */
	CHECK_OK(qvmi_read_pa(a, 64, x, sizeof(x)));
	CHECK(!memcmp(x, t->mem + 64, sizeof(x)));
	qvmi_ctx_destroy(a);
	srv_join(t);
	{
		struct qvmid_session_stats s;

		qvmid_session_server_stats(t->s, &s);
		CHECK_INT(s.refused_busy, ==, 1);
		CHECK_INT(s.auth_ok, ==, 1);
	}
	srv_stop(t);
}

/* Each corruption of a valid READ_PA request closes the session. */
static void mutate(uint8_t *f, int i)
{
	switch (i) {
	case 0:
		f[0] ^= 1;
		break; /* magic */
	case 1:
		f[4] = 2;
		break; /* version */
	case 2:
		f[5] = 0x04;
		break; /* unknown flag */
	case 3:
		f[5] = QVMI_SES_F_REPLY;
		break;
	case 4:
		f[5] = QVMI_SES_F_REPLY | QVMI_SES_F_EVENT;
		break;
	case 5:
		qvmi__ses_put16(f + 6, 0x7777);
		break; /* unknown id */
	case 6:
		qvmi__ses_put16(f + 6, QVMI_SES_EV_RESET);
		break;
	case 7:
		qvmi__ses_put16(f + 6, QVMI_SES_HELLO);
		break; /* again */
	case 8:
		qvmi__ses_put32(f + 8, 12);
		break; /* not a multiple of 8 */
	case 9:
		qvmi__ses_put32(f + 8, QVMI_SES_MAX_PAYLOAD + 8);
		break;
	case 10:
		qvmi__ses_put32(f + 8, 8);
		break; /* wrong size */
	case 11:
		qvmi__ses_put32(f + 12, 9);
		break; /* sequence */
	case 12:
		qvmi__ses_put32(f + 16, 1);
		break; /* error in a request */
	case 13:
		f[23] = 1;
		break; /* reserved */
	case 14:
		f[QVMI_SES_HDR + 12] = 1;
		break; /* payload padding */
	case 15:
		qvmi__ses_put32(f + QVMI_SES_HDR + 8, 0);
		break; /* len 0 */
	case 16:
		qvmi__ses_put32(f + QVMI_SES_HDR + 8, (1 << 20) + 1);
		break;
	case 17:
		qvmi__ses_put16(f + 6, QVMI_SES_TRANSLATE);
		break; /* size */
	}
}

static void t_bad_frames_close(void)
{
	struct srv *t = srv_start();
	struct qvmid_session_stats s;

	for (int i = 0; i < 18; i++) {
		uint8_t f[QVMI_SES_HDR + 16] = { 0 }, p[16] = { 0 };
		struct raw r;

		raw_auth(&r, t->path);
		qvmi__ses_put32(p + 8, 8);
		qvmi__ses_frame(f, 0, QVMI_SES_READ_PA, r.seq + 1, 0, p, 16);
		mutate(f, i);
		raw_send(&r, f, sizeof(f));
		raw_expect_close(&r, EPROTO);
		/* the next client gets the slot: the session is gone */
		for (int k = 0; k < 200; k++) {
			qvmid_session_server_stats(t->s, &s);
			if (!s.active)
				break;
			usleep(5000);
		}
		CHECK_MSG(!s.active, "mutation %d left the session open", i);
	}
	qvmid_session_server_stats(t->s, &s);
	CHECK_INT(s.bad_frames, ==, 18);
	srv_stop(t);
}

/* Before authentication a frame larger than a HELLO is refused at once. */
static void t_big_frame_before_auth(void)
{
	struct srv *t = srv_start();
	struct raw r;
	uint8_t f[QVMI_SES_HDR];
	struct qvmi_ses_hdr h = { .msg = QVMI_SES_HELLO,
				  .size = 1 << 20,
				  .seq = 1 };

	raw_connect(&r, t->path);
	qvmi__ses_hdr_encode(&h, f);
	raw_send(&r, f, sizeof(f));
	raw_expect_close(&r, EPROTO);
	srv_stop(t);
}

static void t_write_padding_checked(void)
{
	struct srv *t = srv_start_rw();
	struct raw r;
	uint8_t p[24] = { 0 }, f[QVMI_SES_HDR + 24];
	struct qvmi_ses_hdr h;
	uint8_t buf[16];

	raw_auth(&r, t->path);
	qvmi__ses_put64(p, 0x300);
	qvmi__ses_put32(p + 8, 3);
	memcpy(p + 16, "abc", 3);
	raw_call(&r, QVMI_SES_WRITE_PA, p, 24, &h, buf, sizeof(buf));
	CHECK_INT(h.error, ==, 0);
	p[16 + 5] = 1; /* padding after the 3 data bytes */
	qvmi__ses_frame(f, 0, QVMI_SES_WRITE_PA, ++r.seq, 0, p, 24);
	raw_send(&r, f, sizeof(f));
	raw_expect_close(&r, EPROTO);
	srv_join(t);
	CHECK(!memcmp(t->mem + 0x300, "abc", 3));
	srv_stop(t);
}

/* ---- pure wire functions ------------------------------------------------ */

static void t_wire_info_round_trip(void)
{
	struct qvmi_ses_info *a = calloc(1, sizeof(*a)),
			     *b = calloc(1, sizeof(*b));
	uint8_t *buf = malloc(QVMI_SES_INFO_FIXED + 256 + 16 * 1024);
	const char *why = NULL;
	size_t n;

	CHECK(a && b && buf);
	a->arch = 1;
	a->vcpus = 4;
	a->features = 0x2b;
	a->start_time_ns = 1700000000123456789ull;
	a->uuid[0] = 0x12;
	a->state = QVMI_VM_PAUSED;
	a->max_transfer = 65536;
	snprintf(a->name, sizeof(a->name), "vm-with-a-name");
	a->nram = 3;
	a->ram[0] = (struct qvmi_ram_range){ 0, 0xa0000 };
	a->ram[1] = (struct qvmi_ram_range){ 0x100000, 0x7ff00000 };
	a->ram[2] = (struct qvmi_ram_range){ 0x100000000ull, 0x80000000 };
	n = qvmi__ses_info_encode(a, buf);
	CHECK_INT(n, ==, qvmi__ses_info_size(a));
	CHECK_INT(n, ==, QVMI_SES_INFO_FIXED + 16 + 48);
	CHECK_OK(qvmi__ses_info_decode(buf, n, b, &why));
	CHECK_STR(b->name, "vm-with-a-name");
	CHECK_INT(b->vcpus, ==, 4);
	CHECK_U64(b->start_time_ns, ==, a->start_time_ns);
	CHECK_INT(b->nram, ==, 3);
	CHECK_U64(b->ram[2].gpa, ==, 0x100000000ull);
	CHECK_INT(b->uuid[0], ==, 0x12);
	/* overlapping ranges, padding, sizes */
	qvmi__ses_put64(buf + n - 32, 0x100);
	CHECK_INT(qvmi__ses_info_decode(buf, n, b, &why), ==, -EPROTO);
	qvmi__ses_info_encode(a, buf);
	buf[QVMI_SES_INFO_FIXED + 15] = 'x';
	CHECK_INT(qvmi__ses_info_decode(buf, n, b, &why), ==, -EPROTO);
	qvmi__ses_info_encode(a, buf);
	CHECK_INT(qvmi__ses_info_decode(buf, n - 8, b, &why), ==, -EPROTO);
	qvmi__ses_put32(buf + 44, 2000);
	CHECK_INT(qvmi__ses_info_decode(buf, n, b, &why), ==, -EPROTO);
	free(a);
	free(b);
	free(buf);
}

static void t_wire_mac_roles(void)
{
	struct qvmi_ses_key k;
	uint8_t t[QVMI_SES_TRANSCRIPT] = { 1, 2, 3 }, c[32], s[32], c2[32];

	test_key_obj(&k);
	CHECK_OK(qvmi__ses_mac(&k, QVMI_SES_ROLE_CLIENT, t, sizeof(t), NULL, 0,
			       c));
	CHECK_OK(qvmi__ses_mac(&k, QVMI_SES_ROLE_SERVER, t, sizeof(t), NULL, 0,
			       s));
	CHECK(!qvmi__ses_mac_equal(c, s));
	CHECK_OK(qvmi__ses_mac(&k, QVMI_SES_ROLE_CLIENT, t, sizeof(t), NULL, 0,
			       c2));
	CHECK(qvmi__ses_mac_equal(c, c2));
	t[100] ^= 1; /* a nonce byte */
	CHECK_OK(qvmi__ses_mac(&k, QVMI_SES_ROLE_CLIENT, t, sizeof(t), NULL, 0,
			       c2));
	CHECK(!qvmi__ses_mac_equal(c, c2));
	qvmi__ses_key_clear(&k);
	CHECK(k.bytes == NULL);
}

/* SET_REGS on the wire: denied by default (EPERM, the session stays);
 * allowed but without a gdbstub EOPNOTSUPP; a payload of the wrong size or
 * with padding set is a bad frame (EPROTO, closed). */
static void t_set_regs_frames(void)
{
	uint8_t p[8 + QVMI_SES_NREGS * 8] = { 0 }, buf[512], f[512];
	struct qvmid_session_opts o = { .policy_set = true };
	struct qvmi_ses_hdr h;
	struct srv *t = srv_start();
	struct raw r;
	size_t n;

	qvmi__ses_put64(p + 8 + 43 * 8, QVMI_REGS_GPR); /* valid */
	raw_auth(&r, t->path);
	raw_call(&r, QVMI_SES_SET_REGS, p, sizeof(p), &h, buf, sizeof(buf));
	CHECK_INT(h.error, ==, EPERM);
	raw_call(&r, QVMI_SES_VERSION_CMD, NULL, 0, &h, buf, sizeof(buf));
	CHECK_INT(h.error, ==, 0);
	close(r.fd);
	srv_stop(t);

	qvmid_session_policy_init(&o.policy);
	CHECK_OK(qvmid_session_policy_apply(&o.policy, "set-regs", true, false,
					    NULL));
	t = srv_start_opts(&o);
	raw_auth(&r, t->path);
	raw_call(&r, QVMI_SES_SET_REGS, p, sizeof(p), &h, buf, sizeof(buf));
	CHECK_INT(h.error, ==, EOPNOTSUPP); /* no --gdb */
	n = qvmi__ses_frame(f, 0, QVMI_SES_SET_REGS, ++r.seq, 0, p,
			    sizeof(p) - 8);
	raw_send(&r, f, n);
	raw_expect_close(&r, EPROTO);
	/* EOF seen: the server closed the fd and drops the session in the
	 * same call, microseconds later */
	poll(NULL, 0, 50);
	raw_auth(&r, t->path);
	qvmi__ses_put32(p + 4, 1); /* padding */
	n = qvmi__ses_frame(f, 0, QVMI_SES_SET_REGS, ++r.seq, 0, p, sizeof(p));
	raw_send(&r, f, n);
	raw_expect_close(&r, EPROTO);
	srv_stop(t);
}

static const struct qvmi_test session_tests[] = {
	{ "handshake_values", t_handshake_values },
	{ "memory_round_trip", t_memory_round_trip },
	{ "regs", t_regs },
	{ "pause_counting", t_pause_counting },
	{ "pause_already_paused", t_pause_already_paused },
	{ "wrong_key", t_wrong_key },
	{ "key_file_checks", t_key_file_checks },
	{ "replay_refused", t_replay_refused },
	{ "reflected_mac_refused", t_reflected_mac_refused },
	{ "client_refuses_reflected_mac", t_client_refuses_reflected_mac },
	{ "command_before_auth", t_command_before_auth },
	{ "auth_timeout", t_auth_timeout },
	{ "denied_command", t_denied_command },
	{ "set_regs_frames", t_set_regs_frames },
	{ "policy_and_checks", t_policy_and_checks },
	{ "second_session_refused", t_second_session_refused },
	{ "bad_frames_close", t_bad_frames_close },
	{ "big_frame_before_auth", t_big_frame_before_auth },
	{ "write_padding_checked", t_write_padding_checked },
	{ "wire_info_round_trip", t_wire_info_round_trip },
	{ "wire_mac_roles", t_wire_mac_roles },
};

QVMI_SUITE(session, session_tests);
