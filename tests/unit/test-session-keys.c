// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Per-VM keys on one connect-out listener (qvmi_session_listen_opts
 * key_dir, docs/PROTOCOL.md "Which VM"): every fake VM is qvmid's session
 * server in a thread (tests/lib/sessrig.h) over a testmem ctx with its own
 * name, uuid, key and memory pattern, dialling the tool's TCP listener
 * with --session-connect; the tool is the real library on the test's
 * thread.  A VM must prove the key of the uuid it claims: one holding
 * another VM's key, an unknown uuid, the all-zero uuid, and a key file
 * others can read are refused, and the listener keeps accepting.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "core/internal.h"
#include "proto/session-auth.h"
#include "proto/session-tls.h"
#include "sessrig.h"

enum { MEM_SIZE = 64 << 10, ACCEPT_MS = 20000 };

static const uint8_t key_a[32] = "A-key-0123456789abcdef0123456789";
static const uint8_t key_b[32] = "B-key-0123456789abcdef0123456789";
static const uint8_t key_c[32] = "C-key-0123456789abcdef0123456789";

/* uuids as QEMU prints them, and as their key files are named. */
static const char uuid_a[] = "aaaaaaaa-0000-4000-8000-00000000000a";
static const char uuid_b[] = "bbbbbbbb-0000-4000-8000-00000000000b";
static const char uuid_c[] = "cccccccc-0000-4000-8000-00000000000c";

static void hex_of(const char *uuid, char out[33])
{
	size_t n = 0;

	for (const char *p = uuid; *p && n < 32; p++)
		if (*p != '-')
			out[n++] = *p;
	out[n] = 0;
}

struct keydir {
	char path[64];
};

static void keydir_free(void *arg)
{
	struct keydir *d = arg;
	DIR *dir = opendir(d->path);
	struct dirent *e;

	/* Bounded by the few files a test writes. */
	while (dir && (e = readdir(dir)))
		if (e->d_name[0] != '.')
			unlinkat(dirfd(dir), e->d_name, 0);
	if (dir)
		closedir(dir);
	chmod(d->path, 0700);
	rmdir(d->path);
	free(d);
}

/* A fresh 0700 directory, removed when the test ends. */
static struct keydir *keydir_new(void)
{
	struct keydir *d = calloc(1, sizeof(*d));

	CHECK(d);
	snprintf(d->path, sizeof(d->path), "/tmp/qvmi-test-keys-XXXXXX");
	CHECK(mkdtemp(d->path));
	qvmi_test_defer(keydir_free, d);
	return d;
}

/* The key file of uuid (any spelling of name: a test may break it). */
static void key_put(struct keydir *d, const char *name, const void *key,
		    size_t len, mode_t mode)
{
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", d->path, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_INT(write(fd, key, len), ==, (long)len);
	CHECK_OK(fchmod(fd, mode));
	close(fd);
}

static void key_put_uuid(struct keydir *d, const char *uuid, const void *key,
			 mode_t mode)
{
	char name[64], hex[33];

	hex_of(uuid, hex);
	snprintf(name, sizeof(name), "%s.key", hex);
	key_put(d, name, key, 32, mode);
}

/* A VM named name with uuid (NULL: unknown), holding key, whose memory
 * is a pattern seeded by tag, dialling addr every interval_ms. */
static struct sessrig *vm_dial(const char *addr, const uint8_t key[32],
			       const char *uuid, const char *name, uint8_t tag,
			       int interval_ms)
{
	struct qvmid_session_opts o = { .connect_addr = addr,
					.reconnect_interval_ms = interval_ms,
					/* A first TLS handshake under
					 * valgrind takes seconds. */
					.auth_timeout_ms = 15000 };
	uint8_t *mem = malloc(MEM_SIZE);
	struct qvmi_source *src;
	struct sessrig *r;

	/* Deferred first, so freed after the rig that reads it. */
	CHECK(mem);
	qvmi_test_defer(free, mem);
	r = sessrig_create("keys", key);
	for (size_t i = 0; i < MEM_SIZE; i++)
		mem[i] = (uint8_t)(i * 5 + tag);
	CHECK_OK(qvmi_source_testmem_create(r->ctx, mem, MEM_SIZE, 1, &src));
	CHECK_OK(qvmi_map_add(r->ctx, src, 0, MEM_SIZE, 0));
	CHECK_OK(qvmi__ram_add(r->ctx, 0, MEM_SIZE));
	r->ctx->vm_name = strdup(name);
	r->ctx->vm_uuid = uuid ? strdup(uuid) : NULL;
	sessrig_serve(r, &o, false);
	return r;
}

static void listener_free(void *arg)
{
	qvmi_session_listener_destroy(arg);
}

/* A TCP listener with per-VM keys in d, closed when the test ends. */
static struct qvmi_session_listener *listen_dir(struct keydir *d, char *addr,
						size_t size)
{
	QVMI_OPTS(qvmi_session_listen_opts, o, .key_dir = d->path,
		  .timeout_ms = 15000);
	struct qvmi_session_listener *l = NULL;

	CHECK_OK(qvmi_session_listener_create("tcp:127.0.0.1:0", &o, &l));
	qvmi_test_defer(listener_free, l);
	snprintf(addr, size, "tcp:127.0.0.1:%u", qvmi_session_listener_port(l));
	return l;
}

/* A tool's ctx, destroyed when the test ends. */
static struct qvmi_ctx *ctx_new(void)
{
	struct qvmi_ctx *ctx = NULL;

	CHECK_OK(qvmi_ctx_create(&ctx));
	qvmi_test_defer(sessrig_ctx_free, ctx);
	return ctx;
}

/* The accepted ctx is VM (uuid, name): its info and its own memory. */
static void check_vm(struct qvmi_ctx *ctx, const char *uuid, const char *name,
		     uint8_t tag)
{
	struct qvmi_vm_info info;
	uint8_t buf[3000];

	CHECK_OK(qvmi_vm_info(ctx, &info));
	CHECK_STR(info.name, name);
	CHECK_STR(info.uuid, uuid);
	CHECK_OK(qvmi_read_pa(ctx, 0x321, buf, sizeof(buf)));
	for (size_t i = 0; i < sizeof(buf); i++)
		CHECK_INT(buf[i], ==, (uint8_t)((0x321 + i) * 5 + tag));
}

/* An accept that must be refused: -EACCES naming uuid (32 hex) and what. */
static void check_refused(struct qvmi_session_listener *l, const char *uuid,
			  const char *what)
{
	struct qvmi_ctx *ctx = ctx_new();
	char hex[33];

	hex_of(uuid, hex);
	CHECK_INT(qvmi_session_accept(l, ctx, ACCEPT_MS), ==, -EACCES);
	CHECK_MSG(strstr(qvmi_errmsg(ctx), hex) &&
			  strstr(qvmi_errmsg(ctx), what),
		  "%s", qvmi_errmsg(ctx));
	CHECK_INT(qvmi_map_count(ctx), ==, 0);
}

/* Two VMs with their own keys on one listener: each is itself. */
static void t_two_vms(void)
{
	struct keydir *d = keydir_new();
	struct qvmi_session_listener *l;
	struct qvmi_ctx *ctx[2] = { ctx_new(), ctx_new() };
	struct qvmi_vm_info info;
	struct sessrig *va, *vb;
	char addr[64];
	int a;

	key_put_uuid(d, uuid_a, key_a, 0600);
	key_put_uuid(d, uuid_b, key_b, 0400);
	l = listen_dir(d, addr, sizeof(addr));
	va = vm_dial(addr, key_a, uuid_a, "vm-a", 1, 100);
	vb = vm_dial(addr, key_b, uuid_b, "vm-b", 2, 100);
	for (int i = 0; i < 2; i++)
		CHECK_OK(qvmi_session_accept(l, ctx[i], ACCEPT_MS));
	/* In whichever order they came. */
	CHECK_OK(qvmi_vm_info(ctx[0], &info));
	a = !strcmp(info.name, "vm-a") ? 0 : 1;
	check_vm(ctx[a], uuid_a, "vm-a", 1);
	check_vm(ctx[!a], uuid_b, "vm-b", 2);
	/* Each proved its key once, in TLS and in the session handshake. */
	sessrig_join(va);
	sessrig_join(vb);
	for (int i = 0; i < 2; i++) {
		struct qvmid_session_stats st;

		qvmid_session_server_stats(i ? vb->s : va->s, &st);
		CHECK_U64(st.tls_ok, ==, 1);
		CHECK_U64(st.tls_failed, ==, 0);
		CHECK_U64(st.auth_ok, ==, 1);
	}
}

/* A VM holding A's key that claims B's uuid is refused; the real B is
 * then accepted on the same listener. */
static void t_impostor(void)
{
	struct keydir *d = keydir_new();
	struct qvmid_session_stats st;
	struct qvmi_session_listener *l;
	struct qvmi_ctx *ctx;
	struct sessrig *fake, *vb;
	char addr[64];

	key_put_uuid(d, uuid_a, key_a, 0600);
	key_put_uuid(d, uuid_b, key_b, 0600);
	l = listen_dir(d, addr, sizeof(addr));
	/* One attempt only (a long interval): no second dial queues up. */
	fake = vm_dial(addr, key_a, uuid_b, "vm-b", 7, 600000);
	check_refused(l, uuid_b, "did not prove the key");
	sessrig_join(fake);
	qvmid_session_server_stats(fake->s, &st);
	CHECK_U64(st.tls_ok, ==, 0);
	CHECK_U64(st.auth_ok, ==, 0);
	sessrig_release(fake);
	vb = vm_dial(addr, key_b, uuid_b, "vm-b", 2, 100);
	ctx = ctx_new();
	CHECK_OK(qvmi_session_accept(l, ctx, ACCEPT_MS));
	check_vm(ctx, uuid_b, "vm-b", 2);
	sessrig_stop(vb);
}

/* A uuid with no key file, then its key added: no new listener needed.
 * The all-zero uuid (QEMU without -uuid) never has a key. */
static void t_unknown_uuid(void)
{
	struct keydir *d = keydir_new();
	struct qvmi_session_listener *l;
	struct sessrig *vc, *vz;
	struct qvmi_ctx *ctx;
	char addr[64];
	int err = 0;

	key_put_uuid(d, uuid_a, key_a, 0600);
	/* A key of the all-zero uuid is never used. */
	key_put(d, "00000000000000000000000000000000.key", key_c, 32, 0600);
	l = listen_dir(d, addr, sizeof(addr));
	vz = vm_dial(addr, key_c, NULL, "vm-zero", 4, 600000);
	check_refused(l, "00000000000000000000000000000000", "all zero");
	sessrig_stop(vz);
	vc = vm_dial(addr, key_c, uuid_c, "vm-c", 3, 600000);
	check_refused(l, uuid_c, "no such file");
	sessrig_stop(vc);
	/* The same listener, with C's key now in the directory. */
	key_put_uuid(d, uuid_c, key_c, 0600);
	vc = vm_dial(addr, key_c, uuid_c, "vm-c", 3, 100);
	ctx = ctx_new();
	/* Bounded: each turn takes one connection or times out. */
	for (int i = 0; i < 5; i++) {
		err = qvmi_session_accept(l, ctx, ACCEPT_MS);
		if (err != -ECONNRESET && err != -EPIPE)
			break;
	}
	CHECK_OK(err);
	check_vm(ctx, uuid_c, "vm-c", 3);
	sessrig_stop(vc);
}

/* A key file others can read is refused at the accept, like a missing
 * one, and named; the listener goes on. */
static void t_key_mode(void)
{
	struct keydir *d = keydir_new();
	struct qvmi_session_listener *l;
	struct sessrig *va;
	char addr[64];

	key_put_uuid(d, uuid_a, key_a, 0644);
	l = listen_dir(d, addr, sizeof(addr));
	va = vm_dial(addr, key_a, uuid_a, "vm-a", 1, 600000);
	/* The whole reason, not cut short: the file, why, both parens. */
	check_refused(l, uuid_a,
		      "0a.key: must be owned by us with mode 0600 or 0400))");
	sessrig_stop(va);
}

/* What qvmi__ses_keydir_load refuses, without a handshake. */
static void t_load_checks(void)
{
	struct keydir *d = keydir_new();
	struct qvmi_ses_key k = { 0 };
	uint8_t ua[16], big[QVMI_SES_KEY_MAX + 1];
	const char *why = NULL;
	char hex[33], path[160], name[64], real[160];
	int fd;

	memset(ua, 0xaa, 16);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", ua[i]);
	snprintf(name, sizeof(name), "%s.key", hex);
	snprintf(path, sizeof(path), "%s/%s", d->path, name);
	CHECK_OK(qvmi__ses_keydir_open(d->path, &fd, &why));
	/* Missing, then good. */
	CHECK_INT(qvmi__ses_keydir_load(fd, ua, &k, &why), ==, -ENOENT);
	key_put(d, name, key_a, 32, 0600);
	CHECK_OK(qvmi__ses_keydir_load(fd, ua, &k, &why));
	CHECK_INT(k.len, ==, 32);
	CHECK(!memcmp(k.bytes, key_a, 32));
	qvmi__ses_key_clear(&k);
	/* Readable or writable by others. */
	CHECK_OK(chmod(path, 0640));
	CHECK_INT(qvmi__ses_keydir_load(fd, ua, &k, &why), ==, -EPERM);
	CHECK_OK(chmod(path, 0620));
	CHECK_INT(qvmi__ses_keydir_load(fd, ua, &k, &why), ==, -EPERM);
	CHECK_OK(chmod(path, 0600));
	/* Another owner (root can make one). */
	if (geteuid() == 0) {
		CHECK_OK(chown(path, 1, 1));
		CHECK_INT(qvmi__ses_keydir_load(fd, ua, &k, &why), ==, -EPERM);
		CHECK(strstr(why, "owned by us"));
		CHECK_OK(chown(path, 0, 0));
	}
	/* Too short, too long (bounded read). */
	key_put(d, name, key_a, 31, 0600);
	CHECK_INT(qvmi__ses_keydir_load(fd, ua, &k, &why), ==, -EINVAL);
	memset(big, 7, sizeof(big));
	key_put(d, name, big, sizeof(big), 0600);
	CHECK_INT(qvmi__ses_keydir_load(fd, ua, &k, &why), ==, -EINVAL);
	key_put(d, name, big, QVMI_SES_KEY_MAX, 0600);
	CHECK_OK(qvmi__ses_keydir_load(fd, ua, &k, &why));
	CHECK_INT(k.len, ==, QVMI_SES_KEY_MAX);
	qvmi__ses_key_clear(&k);
	/* A symbolic link to a good key, a FIFO (must not block), a dir. */
	unlink(path);
	snprintf(real, sizeof(real), "%s/real", d->path);
	key_put(d, "real", key_a, 32, 0600);
	CHECK_OK(symlink(real, path));
	CHECK_INT(qvmi__ses_keydir_load(fd, ua, &k, &why), ==, -ELOOP);
	CHECK(strstr(why, "symbolic link"));
	unlink(path);
	CHECK_OK(mkfifo(path, 0600));
	CHECK_INT(qvmi__ses_keydir_load(fd, ua, &k, &why), ==, -EPERM);
	CHECK(strstr(why, "not a regular file"));
	unlink(path);
	CHECK_OK(mkdir(path, 0700));
	CHECK(qvmi__ses_keydir_load(fd, ua, &k, &why) < 0);
	rmdir(path);
	/* The directory opened to others later: checked at each load. */
	key_put(d, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.key", key_a, 32, 0600);
	CHECK_OK(chmod(d->path, 0750));
	CHECK_INT(qvmi__ses_keydir_load(fd, ua, &k, &why), ==, -EPERM);
	CHECK(strstr(why, "0700"));
	CHECK_OK(chmod(d->path, 0700));
	CHECK_OK(qvmi__ses_keydir_load(fd, ua, &k, &why));
	qvmi__ses_key_clear(&k);
	/* All zero: no key. */
	memset(ua, 0, 16);
	CHECK_INT(qvmi__ses_keydir_load(fd, ua, &k, &why), ==, -ENOENT);
	CHECK(k.bytes == NULL);
	close(fd);
}

/* The listener's checks of key_dir and key_path. */
static void t_listen_opts(void)
{
	struct keydir *d = keydir_new();
	struct qvmi_ctx *ctx = ctx_new();
	struct qvmi_session_listener *l = NULL;
	char keyfile[160], link[160], sock[108];

	snprintf(keyfile, sizeof(keyfile), "%s.key", d->path);
	snprintf(link, sizeof(link), "%s.link", d->path);
	snprintf(sock, sizeof(sock), "%s.sock", d->path);
	{
		int fd = open(keyfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0600);

		CHECK(fd >= 0);
		CHECK_INT(write(fd, key_a, 32), ==, 32);
		close(fd);
	}
	{
		QVMI_OPTS(qvmi_session_listen_opts, both, .key_path = keyfile,
			  .key_dir = d->path, .err_ctx = ctx);
		QVMI_OPTS(qvmi_session_listen_opts, dir, .key_dir = d->path,
			  .err_ctx = ctx);
		QVMI_OPTS(qvmi_session_listen_opts, lnk, .key_dir = link,
			  .err_ctx = ctx);
		QVMI_OPTS(qvmi_session_listen_opts, file, .key_dir = keyfile,
			  .err_ctx = ctx);

		CHECK_INT(qvmi_session_listener_create("tcp:127.0.0.1:0", &both,
						       &l),
			  ==, -EINVAL);
		CHECK_MSG(strstr(qvmi_errmsg(ctx), "exclude"), "%s",
			  qvmi_errmsg(ctx));
		/* A unix socket's peer names no VM before we prove a key. */
		CHECK_INT(qvmi_session_listener_create(sock, &dir, &l), ==,
			  -EINVAL);
		CHECK_MSG(strstr(qvmi_errmsg(ctx), "tcp: or vsock:"), "%s",
			  qvmi_errmsg(ctx));
		CHECK_INT(access(sock, F_OK), ==, -1);
		/* The directory itself: ours, 0700 or 0500, no link. */
		CHECK_OK(chmod(d->path, 0755));
		CHECK_INT(qvmi_session_listener_create("tcp:127.0.0.1:0", &dir,
						       &l),
			  ==, -EPERM);
		CHECK_MSG(strstr(qvmi_errmsg(ctx), d->path) &&
				  strstr(qvmi_errmsg(ctx), "0700"),
			  "%s", qvmi_errmsg(ctx));
		CHECK_OK(chmod(d->path, 0500));
		CHECK_OK(qvmi_session_listener_create("tcp:127.0.0.1:0", &dir,
						      &l));
		qvmi_session_listener_destroy(l);
		CHECK_OK(chmod(d->path, 0700));
		CHECK_OK(symlink(d->path, link));
		CHECK_INT(qvmi_session_listener_create("tcp:127.0.0.1:0", &lnk,
						       &l),
			  ==, -ELOOP);
		unlink(link);
		CHECK_INT(qvmi_session_listener_create("tcp:127.0.0.1:0", &file,
						       &l),
			  ==, -ENOTDIR);
		if (geteuid() == 0) {
			CHECK_OK(chown(d->path, 1, 1));
			CHECK_INT(qvmi_session_listener_create(
					  "tcp:127.0.0.1:0", &dir, &l),
				  ==, -EPERM);
			CHECK_OK(chown(d->path, 0, 0));
		}
	}
	unlink(keyfile);
}

struct tls_pair {
	int err[2]; /* server's, client's handshake result */
	char why[2][256];
};

/*
 * One TLS handshake over a socketpair, both sides on this thread: a
 * per-VM-key server on d, a client claiming uuid (16 bytes) with key.
 * Bounded: 2,000 turns, each moving bytes or failing.
 */
static void tls_try(struct keydir *d, const uint8_t uuid[16],
		    const uint8_t key[32], struct tls_pair *r)
{
	struct qvmi_ses_key k = { 0 };
	struct qvmi_ses_tls *t[2] = { NULL, NULL };
	char id[QVMI_SES_TLS_ID_MAX + 1];
	const char *why = "?";
	int sv[2], dfd;

	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    0, sv));
	CHECK_OK(qvmi__ses_keydir_open(d->path, &dfd, &why));
	CHECK_OK(qvmi__ses_key_set(&k, key, 32));
	CHECK_OK(qvmi__ses_tls_id_vm(id, uuid, "vm"));
	CHECK_OK(qvmi__ses_tls_new_keydir(sv[0], dfd, &t[0], &why));
	CHECK_OK(qvmi__ses_tls_new(sv[1], QVMI_SES_TLS_CLIENT, &k, id, false,
				   &t[1], &why));
	r->err[0] = r->err[1] = -EAGAIN;
	for (int i = 0;
	     i < 2000 && (r->err[0] == -EAGAIN || r->err[1] == -EAGAIN); i++) {
		short ev;

		for (int j = 1; j >= 0; j--)
			if (r->err[j] == -EAGAIN)
				r->err[j] = qvmi__ses_tls_handshake(t[j], &ev);
		/* A side that failed closes, as the session code does. */
		for (int j = 0; j < 2; j++)
			if (r->err[j] && r->err[j] != -EAGAIN && sv[j] >= 0) {
				shutdown(sv[j], SHUT_WR);
			}
	}
	for (int j = 0; j < 2; j++) {
		snprintf(r->why[j], sizeof(r->why[j]), "%s",
			 qvmi__ses_tls_why(t[j]));
		qvmi__ses_tls_free(t[j]);
		close(sv[j]);
	}
	qvmi__ses_key_clear(&k);
	close(dfd);
}

/* A dialler cannot tell an unknown uuid from a wrong key: the same
 * alert ends its handshake.  The server's side says which it was. */
static void t_same_refusal(void)
{
	struct keydir *d = keydir_new();
	uint8_t ua[16], uc[16];
	struct tls_pair ok, wrong, unknown;

	memset(ua, 0xaa, 16);
	memset(uc, 0xcc, 16);
	key_put(d, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.key", key_a, 32, 0600);
	tls_try(d, ua, key_a, &ok);
	CHECK_INT(ok.err[0], ==, 0);
	CHECK_INT(ok.err[1], ==, 0);
	tls_try(d, ua, key_b, &wrong);
	tls_try(d, uc, key_b, &unknown);
	for (int j = 0; j < 2; j++) {
		CHECK_INT(wrong.err[j], ==, -EACCES);
		CHECK_INT(unknown.err[j], ==, -EACCES);
	}
	CHECK_STR(unknown.why[1], wrong.why[1]);
	CHECK_MSG(strstr(wrong.why[0], "did not prove"), "%s", wrong.why[0]);
	CHECK_MSG(strstr(unknown.why[0], "no usable key for VM cccc"), "%s",
		  unknown.why[0]);
	qvmi_test_note("client sees: %s", wrong.why[1]);
}

static const struct qvmi_test session_keys_tests[] = {
	{ "two_vms", t_two_vms },	    { "impostor", t_impostor },
	{ "unknown_uuid", t_unknown_uuid }, { "key_mode", t_key_mode },
	{ "same_refusal", t_same_refusal }, { "load_checks", t_load_checks },
	{ "listen_opts", t_listen_opts },
};

QVMI_SUITE(session_keys, session_keys_tests);
