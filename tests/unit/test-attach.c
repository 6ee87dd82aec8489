// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi_attach_qmp against a fake QEMU in this very process: a thread serves
 * QMP on a unix socket (so SO_PEERCRED names our pid), its "guest RAM" is a
 * memfd we map shared (or private), and "pc.bios" is an anonymous buffer.
 * procmem and shm then really read our own memory, and xp is answered
 * from the same bytes, so all three sources must agree.
 */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "qvmi.h"
#include "core/internal.h"

/* The fake VM: ram0 is 6 MiB split like pc with RAM above 4G, plus a
 * 256 KiB BIOS.  File offsets as QEMU 7.2 prints them ("@offset"). */
enum {
	RAM_SIZE = 6 << 20,
	BIOS_SIZE = 256 << 10,
};
static const uint64_t HIGH_GPA = 0x100000000ull, BIOS_GPA = 0xfffc0000;

static const char mtree[] =
	"FlatView #0\r\n"
	" AS \"I/O\", root: io\r\n"
	" Root memory region: io\r\n"
	"  0000000000000000-0000000000000007 (prio 0, i/o): dma-chan\r\n"
	"\r\n"
	"FlatView #1\r\n"
	" AS \"memory\", root: system\r\n"
	" AS \"cpu-memory-0\", root: system\r\n"
	" Root memory region: system\r\n"
	"  0000000000000000-00000000000bffff (prio 0, ram): ram0\r\n"
	"  00000000000c0000-00000000000fffff (prio 0, rom): ram0 "
	"@00000000000c0000\r\n"
	"  0000000000100000-00000000003fffff (prio 0, ram): ram0 "
	"@0000000000100000\r\n"
	"  00000000fec00000-00000000fec00fff (prio 0, i/o): ioapic\r\n"
	"  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios\r\n"
	"  0000000100000000-00000001001fffff (prio 0, ram): ram0 "
	"@0000000000400000\r\n"
	"\r\n";

struct fake {
	char dir[64], path[108];
	int lfd, memfd;
	uint8_t *ram; /* QEMU's "mapping" of the memfd */
	uint8_t *bios;
	bool no_ram; /* serve an mtree without RAM */
	/* The fake runs in the test process, which is not QEMU: like
	 * qvmid's proxy it names "QEMU" (us) in query-qvmi, unless this is
	 * set (some other non-QEMU peer). */
	bool no_query_qvmi;
	int gpa2hva, queries; /* requests seen */
	int conns, max_conns; /* connections served, allowed (default 1) */
	pthread_t th;
};

/* Host address of gpa in the fake QEMU, or NULL (not RAM/ROM). */
static uint8_t *fake_hva(struct fake *f, uint64_t gpa)
{
	if (gpa < 0x400000)
		return f->ram + gpa;
	if (gpa >= HIGH_GPA && gpa < HIGH_GPA + 0x200000)
		return f->ram + 0x400000 + (gpa - HIGH_GPA);
	if (gpa >= BIOS_GPA && gpa < BIOS_GPA + BIOS_SIZE)
		return f->bios + (gpa - BIOS_GPA);
	return NULL;
}

static char *hmp(struct fake *f, const char *cmd)
{
	unsigned long long a;
	size_t n, cap = 1 << 20, len = 0;
	char *out = calloc(1, cap);

	if (!strcmp(cmd, "info mtree -f")) {
		snprintf(out, cap, "%s", f->no_ram ? "FlatView #0\r\n" : mtree);
	} else if (sscanf(cmd, "gpa2hva %llx", &a) == 1) {
		f->gpa2hva++;
		if (fake_hva(f, a))
			snprintf(out, cap,
				 "Host virtual address for 0x%llx (ram0) is "
				 "%p\r\n",
				 a, (void *)fake_hva(f, a));
		else
			snprintf(out, cap,
				 "Memory at address 0x%llx is not RAM\r\n", a);
	} else if (sscanf(cmd, "xp /%zuxb %llx", &n, &a) == 2 && n <= 65536) {
		for (size_t i = 0; i < n && len + 128 < cap; i += 8) {
			const uint8_t *p = fake_hva(f, a + i);

			len += (size_t)snprintf(out + len, cap - len,
						"%016llx:", a + i);
			if (!p) {
				len += (size_t)snprintf(
					out + len, cap - len,
					" Cannot access memory\r\n");
				break;
			}
			for (size_t k = i; k < n && k < i + 8; k++)
				len += (size_t)snprintf(out + len, cap - len,
							" 0x%02x", p[k - i]);
			len += (size_t)snprintf(out + len, cap - len, "\r\n");
		}
	} else {
		snprintf(out, cap, "unknown command: '%s'\r\n", cmd);
	}
	return out;
}

static struct json_object *answer(struct fake *f, struct json_object *req)
{
	struct json_object *ex, *args, *cl, *r = json_object_new_object();
	const char *cmd = "";

	if (json_object_object_get_ex(req, "execute", &ex))
		cmd = json_object_get_string(ex);
	f->queries++;
	if (!strcmp(cmd, "query-name")) {
		json_object_object_add(r, "name",
				       json_object_new_string("fakevm"));
	} else if (!strcmp(cmd, "query-uuid")) {
		json_object_object_add(
			r, "UUID",
			json_object_new_string(
				"5e1f2a3b-0000-4000-8000-000000000001"));
	} else if (!strcmp(cmd, "query-target")) {
		/* QEMU 7.2's qemu-system-i386 says "i386" */
		json_object_object_add(r, "arch",
				       json_object_new_string("i386"));
	} else if (!strcmp(cmd, "query-qvmi") && !f->no_query_qvmi) {
		json_object_object_add(r, "qemu-pid",
				       json_object_new_int64(getpid()));
	} else if (!strcmp(cmd, "stop") || !strcmp(cmd, "cont")) {
		/* an empty return */
	} else if (!strcmp(cmd, "query-status")) {
		json_object_object_add(r, "status",
				       json_object_new_string("running"));
		json_object_object_add(r, "running",
				       json_object_new_boolean(1));
	} else if (!strcmp(cmd, "human-monitor-command") &&
		   json_object_object_get_ex(req, "arguments", &args) &&
		   json_object_object_get_ex(args, "command-line", &cl)) {
		char *text = hmp(f, json_object_get_string(cl));

		json_object_put(r);
		r = json_object_new_string(text);
		free(text);
	} else if (strcmp(cmd, "qmp_capabilities")) {
		json_object_put(r);
		return NULL;
	}
	return r;
}

static void reply(int fd, struct fake *f, struct json_object *req)
{
	struct json_object *msg = json_object_new_object(), *ret, *id;
	const char *s;

	ret = answer(f, req);
	if (ret) {
		json_object_object_add(msg, "return", ret);
	} else {
		struct json_object *e = json_object_new_object();

		json_object_object_add(
			e, "class", json_object_new_string("CommandNotFound"));
		json_object_object_add(e, "desc",
				       json_object_new_string("not in fake"));
		json_object_object_add(msg, "error", e);
	}
	if (json_object_object_get_ex(req, "id", &id))
		json_object_object_add(msg, "id", json_object_get(id));
	s = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
	/* a write error means the client went away: its problem */
	if (send(fd, s, strlen(s), MSG_NOSIGNAL) > 0 &&
	    send(fd, "\r\n", 2, MSG_NOSIGNAL) > 0)
		s = NULL;
	json_object_put(msg);
}

/* One client, served until it goes. */
static void fake_serve(struct fake *f, int fd)
{
	static const char greeting[] =
		"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": "
		"2, \"major\": 7}, \"package\": \"\"}, \"capabilities\": "
		"[\"oob\"]}}\r\n";
	struct json_tokener *tok = json_tokener_new();
	char buf[4096];
	ssize_t n;

	if (send(fd, greeting, sizeof(greeting) - 1, MSG_NOSIGNAL) < 0)
		goto closefd;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		const char *s = buf, *end = buf + n;

		/* requests are JSON objects, possibly several per read */
		while (s < end) {
			struct json_object *req =
				json_tokener_parse_ex(tok, s, (int)(end - s));

			if (!req && json_tokener_get_error(tok) !=
					    json_tokener_continue)
				goto closefd;
			s += json_tokener_get_parse_end(tok);
			if (!req)
				break;
			reply(fd, f, req);
			json_object_put(req);
			json_tokener_reset(tok);
			while (s < end &&
			       (*s == '\r' || *s == '\n' || *s == ' '))
				s++;
		}
	}
closefd:
	close(fd);
	json_tokener_free(tok);
}

/* Clients one after the other, as QEMU serves them (one at a time). */
static void *fake_main(void *arg)
{
	struct fake *f = arg;
	struct pollfd p = { .fd = f->lfd, .events = POLLIN };
	int fd;

	while (f->conns < (f->max_conns ?: 1)) {
		if (poll(&p, 1, 5000) != 1)
			break;
		fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			break;
		f->conns++;
		fake_serve(f, fd);
	}
	return NULL;
}

static void fake_start(struct fake *f, bool shared_ram)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/qvmi-attach-XXXXXX");
	CHECK(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/qmp.sock", f->dir);
	f->memfd = memfd_create("memory-backend-memfd", MFD_CLOEXEC);
	CHECK(f->memfd >= 0);
	CHECK_OK(ftruncate(f->memfd, RAM_SIZE));
	f->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		      shared_ram ? MAP_SHARED : MAP_PRIVATE, f->memfd, 0);
	f->bios = mmap(NULL, BIOS_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(f->ram != MAP_FAILED && f->bios != MAP_FAILED);
	for (size_t i = 0; i < RAM_SIZE; i += 64)
		f->ram[i] = (uint8_t)(i >> 6) | 1;
	memcpy(f->ram + 0x400000 + 0x1234, "above 4G", 8);
	memset(f->bios, 0xb1, BIOS_SIZE);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(f->lfd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	CHECK_OK(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)));
	CHECK_OK(listen(f->lfd, 1));
	/* the layout cache goes to the test's own directory */
	CHECK_OK(setenv("XDG_CACHE_HOME", f->dir, 1));
}

/* After fake_start and any setting of f: serve. */
static void fake_run(struct fake *f)
{
	CHECK_INT(pthread_create(&f->th, NULL, fake_main, f), ==, 0);
}

/* Path of the one layout file in the test's cache directory, or "". */
static void cache_file(struct fake *f, char *buf, size_t size)
{
	char d[80];
	struct dirent *e;
	DIR *dp;

	buf[0] = '\0';
	snprintf(d, sizeof(d), "%s/qvmi", f->dir);
	dp = opendir(d);
	while (dp && (e = readdir(dp)))
		if (!strncmp(e->d_name, "layout-", 7))
			snprintf(buf, size, "%s/%.64s", d, e->d_name);
	if (dp)
		closedir(dp);
}

static void fake_stop(struct fake *f)
{
	char path[256], d[128];

	pthread_join(f->th, NULL);
	cache_file(f, path, sizeof(path));
	if (path[0])
		unlink(path);
	snprintf(d, sizeof(d), "%s/qvmi", f->dir);
	rmdir(d);
	unsetenv("XDG_CACHE_HOME");
	close(f->lfd);
	close(f->memfd);
	munmap(f->ram, RAM_SIZE);
	munmap(f->bios, BIOS_SIZE);
	unlink(f->path);
	rmdir(f->dir);
}

/* QVMI_TEST_LOG=1: the library's log on stderr, to see why an attach
 * took the path it took. */
static void test_log(enum qvmi_log_level level, const char *msg, void *arg)
{
	(void)level;
	(void)arg;
	fprintf(stderr, "log: %s\n", msg);
}

static struct qvmi_ctx *attach_fake(struct fake *f, unsigned int kinds,
				    int *err)
{
	QVMI_OPTS(qvmi_attach_opts, opts, .sources = kinds, .timeout_ms = 3000);
	struct qvmi_ctx *ctx;

	CHECK_OK(qvmi_ctx_create(&ctx));
	qvmi_cache_set_mode(ctx, QVMI_CACHE_OFF);
	if (getenv("QVMI_TEST_LOG"))
		qvmi_set_log(ctx, test_log, NULL, QVMI_LOG_DEBUG);
	*err = qvmi_attach_qmp(ctx, f->path, &opts);
	return ctx;
}

static const char *source_at(struct qvmi_ctx *ctx, uint64_t gpa)
{
	struct qvmi_map_entry e;

	for (size_t i = 0; i < qvmi_map_count(ctx); i++) {
		CHECK_OK(qvmi_map_get(ctx, i, &e));
		if (gpa >= e.gpa && gpa - e.gpa < e.size)
			return e.source;
	}
	return "none";
}

/* The same bytes, whichever source serves them. */
static void check_reads(struct fake *f, struct qvmi_ctx *ctx)
{
	uint8_t b[0x3000];
	char s[9] = { 0 };

	CHECK_OK(qvmi_read_pa(ctx, 0xbf000, b, sizeof(b))); /* ram|rom */
	CHECK(!memcmp(b, f->ram + 0xbf000, sizeof(b)));
	CHECK_OK(qvmi_read_pa(ctx, HIGH_GPA + 0x1234, s, 8));
	CHECK_STR(s, "above 4G");
	CHECK_OK(qvmi_read_pa(ctx, BIOS_GPA + 0x100, b, 16));
	CHECK_INT(b[15], ==, 0xb1);
	/* the I/O hole and past the end of RAM */
	CHECK_INT(qvmi_read_pa(ctx, 0x3ffff8, b, 16), ==, -EFAULT);
	CHECK_U64(qvmi_fault_addr(ctx), ==, 0x400000);
	CHECK_INT(qvmi_read_pa(ctx, HIGH_GPA + 0x1ffff8, b, 16), ==, -EFAULT);
	CHECK_U64(qvmi_fault_addr(ctx), ==, HIGH_GPA + 0x200000);
}

static void test_all_sources(void)
{
	struct fake f;
	struct qvmi_ctx *ctx;
	struct qvmi_vm_info vi;
	struct qvmi_ram_range r;
	uint64_t v = 0x0123456789abcdefull;
	int err;

	fake_start(&f, true);
	fake_run(&f);
	ctx = attach_fake(&f, 0, &err);
	CHECK_MSG(!err, "attach: %d %s", err, qvmi_errmsg(ctx));
	/* One gpa2hva per region (ram0, pc.bios): ram0's read-only "rom"
	 * range and the high range are placed from their @offset.  In
	 * all: capabilities, query-qvmi (the peer is not a QEMU binary),
	 * query-status, mtree, 2 gpa2hva. */
	CHECK_INT(f.gpa2hva, ==, 2);
	CHECK_INT(f.queries, ==, 6);
	/* Name, UUID and target now (and query-cpus-fast for the vCPU
	 * count): the arch is QEMU's, never a constant. */
	CHECK_OK(qvmi_vm_info(ctx, &vi));
	CHECK_INT(f.queries, ==, 10);
	CHECK_STR(vi.arch, "i386");
	CHECK_STR(vi.name, "fakevm");
	CHECK_STR(vi.uuid, "5e1f2a3b-0000-4000-8000-000000000001");
	CHECK_STR(vi.qemu_version, "7.2.22");
	CHECK_STR(vi.backend, "qmp");
	CHECK_INT(vi.pid, ==, getpid());
	/* RAM: kind "ram" only, split by the ROM hole, high part at 4G */
	CHECK_INT(qvmi_ram_count(ctx), ==, 3);
	CHECK_OK(qvmi_ram_get(ctx, 1, &r));
	CHECK_U64(r.gpa, ==, 0x100000);
	CHECK_U64(r.size, ==, 0x300000);
	CHECK_OK(qvmi_ram_get(ctx, 2, &r));
	CHECK_U64(r.gpa, ==, HIGH_GPA);
	/* fastest wins: shm over ram0, procmem for the anonymous BIOS */
	CHECK_STR(source_at(ctx, 0x1000), "shm");
	CHECK_STR(source_at(ctx, 0xc0000), "shm");
	CHECK_STR(source_at(ctx, HIGH_GPA), "shm");
	CHECK_STR(source_at(ctx, BIOS_GPA), "procmem");
	check_reads(&f, ctx);
	/* a write lands in the memfd (file offset 0x400000 + 0x2000) */
	CHECK_OK(qvmi_write_pa(ctx, HIGH_GPA + 0x2000, &v, 8));
	CHECK(!memcmp(f.ram + 0x402000, &v, 8));
	CHECK_INT(qvmi_attach_qmp(ctx, f.path, NULL), ==, -EBUSY);
	qvmi_ctx_destroy(ctx);
	fake_stop(&f);
}

static void test_one_source(unsigned int kind, const char *name)
{
	struct fake f;
	struct qvmi_ctx *ctx;
	int err;

	fake_start(&f, true);
	fake_run(&f);
	ctx = attach_fake(&f, kind, &err);
	CHECK_MSG(!err, "attach %s: %d %s", name, err, qvmi_errmsg(ctx));
	for (size_t i = 0; i < qvmi_map_count(ctx); i++) {
		struct qvmi_map_entry e;

		CHECK_OK(qvmi_map_get(ctx, i, &e));
		CHECK_STR(e.source, name);
	}
	CHECK_STR(source_at(ctx, HIGH_GPA), name);
	if (kind != QVMI_SRC_SHM) /* shm cannot reach the anonymous BIOS */
		CHECK_STR(source_at(ctx, BIOS_GPA), name);
	else
		CHECK_STR(source_at(ctx, BIOS_GPA), "none");
	if (kind == QVMI_SRC_SHM) {
		uint8_t b[16];

		CHECK_OK(qvmi_read_pa(ctx, HIGH_GPA + 0x1234, b, 8));
		CHECK(!memcmp(b, "above 4G", 8));
		CHECK_INT(qvmi_read_pa(ctx, BIOS_GPA, b, 8), ==, -EFAULT);
	} else {
		check_reads(&f, ctx);
	}
	qvmi_ctx_destroy(ctx);
	fake_stop(&f);
}

static void test_only_shm(void)
{
	test_one_source(QVMI_SRC_SHM, "shm");
}

static void test_only_procmem(void)
{
	test_one_source(QVMI_SRC_PROCMEM, "procmem");
}

static void test_only_xp(void)
{
	test_one_source(QVMI_SRC_XP, "xp");
}

/* share=off: the memfd is mapped private, so shm must not be used. */
static void test_private_ram_not_shm(void)
{
	struct fake f;
	struct qvmi_ctx *ctx;
	int err;

	fake_start(&f, false);
	fake_run(&f);
	ctx = attach_fake(&f, QVMI_SRC_SHM, &err);
	CHECK_INT(err, ==, -EOPNOTSUPP);
	CHECK(strstr(qvmi_errmsg(ctx), "no allowed source"));
	/* undone: nothing left behind */
	CHECK_INT(qvmi_map_count(ctx), ==, 0);
	CHECK_INT(qvmi_ram_count(ctx), ==, 0);
	CHECK(!ctx->qmp && !ctx->ctl && !ctx->sources);
	qvmi_ctx_destroy(ctx);
	fake_stop(&f);
	/* the default falls back to procmem */
	fake_start(&f, false);
	fake_run(&f);
	ctx = attach_fake(&f, 0, &err);
	CHECK_OK(err);
	CHECK_STR(source_at(ctx, 0x1000), "procmem");
	check_reads(&f, ctx);
	/* RAM in QEMU's anonymous memory has no witness of a change (no
	 * shared file mapping): its layout is not cached */
	{
		char path[256];

		cache_file(&f, path, sizeof(path));
		CHECK_STR(path, "");
	}
	qvmi_ctx_destroy(ctx);
	fake_stop(&f);
}

/* A QMP peer that is neither QEMU nor qvmid (answers no query-qvmi): its
 * address space is not QEMU's, so neither procmem nor shm may read it at
 * QEMU's host addresses; memory comes through QMP (xp) only. */
static void test_peer_not_qemu(void)
{
	struct fake f;
	struct qvmi_ctx *ctx;
	struct qvmi_vm_info vi;
	int err;

	fake_start(&f, true);
	f.no_query_qvmi = true;
	fake_run(&f);
	ctx = attach_fake(&f, 0, &err);
	CHECK_MSG(!err, "attach: %d %s", err, qvmi_errmsg(ctx));
	CHECK_STR(source_at(ctx, 0x1000), "xp");
	CHECK_STR(source_at(ctx, BIOS_GPA), "xp");
	CHECK_OK(qvmi_vm_info(ctx, &vi));
	CHECK_INT(vi.pid, ==, 0);
	qvmi_ctx_destroy(ctx);
	fake_stop(&f);
	/* shm or procmem alone: refused, not served from our own memory */
	fake_start(&f, true);
	f.no_query_qvmi = true;
	fake_run(&f);
	ctx = attach_fake(&f, QVMI_SRC_SHM | QVMI_SRC_PROCMEM, &err);
	CHECK_INT(err, ==, -EOPNOTSUPP);
	qvmi_ctx_destroy(ctx);
	fake_stop(&f);
}

static void test_no_ram(void)
{
	struct fake f;
	struct qvmi_ctx *ctx;
	int err;

	fake_start(&f, true);
	f.no_ram = true;
	fake_run(&f);
	ctx = attach_fake(&f, 0, &err);
	CHECK(err == -EPROTO || err == -EBADMSG);
	CHECK(!ctx->qmp && !ctx->sources);
	CHECK_STR(ctx->backend, "none");
	qvmi_ctx_destroy(ctx);
	fake_stop(&f);
}

static void test_bad_args(void)
{
	struct qvmi_ctx *ctx;
	struct {
		struct qvmi_attach_opts o;
		uint64_t future;
	} big = { .o.sz = sizeof(big), .future = 1 };

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_INT(qvmi_attach_qmp(ctx, "/nonexistent", &big.o), ==, -EINVAL);
	CHECK(strstr(qvmi_errmsg(ctx), "unknown"));
	big.future = 0; /* a zero tail is fine: gets to the connect */
	CHECK(qvmi_attach_qmp(ctx, "/nonexistent/qmp", &big.o) != -EINVAL);
	big.o.sources = 0x10;
	CHECK_INT(qvmi_attach_qmp(ctx, "/x", &big.o), ==, -EINVAL);
	big.o.sources = 0;
	big.o.timeout_ms = -1;
	CHECK_INT(qvmi_attach_qmp(ctx, "/x", &big.o), ==, -EINVAL);
	CHECK_INT(qvmi_attach_qmp(ctx, NULL, NULL), ==, -EINVAL);
	CHECK_INT(qvmi_attach_qmp(NULL, "/x", NULL), ==, -EINVAL);
	CHECK_INT(qvmi_map_count(ctx), ==, 0);
	qvmi_ctx_destroy(ctx);
}

/* ---- the layout cache (src/core/layout-cache.c) ---------------------- */

/* Replace the line of the cache file that starts with prefix by line
 * (NULL: cut the file in the middle of that line). */
static void edit_cache(struct fake *f, const char *prefix, const char *line)
{
	char path[256], buf[8192], out[8192];
	size_t len = 0;
	FILE *fp;

	cache_file(f, path, sizeof(path));
	CHECK(path[0]);
	fp = fopen(path, "r");
	CHECK(fp);
	out[0] = '\0';
	while (fgets(buf, sizeof(buf), fp)) {
		if (strncmp(buf, prefix, strlen(prefix)))
			len += (size_t)snprintf(out + len, sizeof(out) - len,
						"%s", buf);
		else if (line)
			len += (size_t)snprintf(out + len, sizeof(out) - len,
						"%s\n", line);
		else
			len += (size_t)snprintf(out + len, sizeof(out) - len,
						"%.*s", (int)strlen(buf) / 2,
						buf);
	}
	fclose(fp);
	fp = fopen(path, "w");
	CHECK(fp);
	fputs(out, fp);
	fclose(fp);
}

/* A full attach writes the cache; the next one sends no QMP command and
 * serves the same bytes from the same sources; QMP connects on the first
 * operation that needs it. */
static void test_cached_attach(void)
{
	struct fake f;
	struct qvmi_ctx *ctx;
	struct qvmi_vm_info vi;
	enum qvmi_vm_state st;
	char path[256];
	int err, q;

	fake_start(&f, true);
	f.max_conns = 2; /* the full attach, the connection on first use */
	fake_run(&f);
	ctx = attach_fake(&f, 0, &err);
	CHECK_MSG(!err, "attach: %d %s", err, qvmi_errmsg(ctx));
	qvmi_ctx_destroy(ctx);
	cache_file(&f, path, sizeof(path));
	CHECK_MSG(path[0], "no layout file in %s/qvmi", f.dir);
	q = f.queries;
	CHECK_INT(q, ==, 6);
	ctx = attach_fake(&f, 0, &err);
	CHECK_MSG(!err, "cached attach: %d %s", err, qvmi_errmsg(ctx));
	CHECK_INT(f.queries, ==, q); /* not one QMP round trip */
	CHECK_INT(f.conns, ==, 1); /* not even a connection */
	CHECK(!ctx->qmp && ctx->ctl);
	CHECK_STR(source_at(ctx, 0x1000), "shm");
	CHECK_STR(source_at(ctx, 0xc0000), "shm");
	CHECK_STR(source_at(ctx, HIGH_GPA), "shm");
	CHECK_STR(source_at(ctx, BIOS_GPA), "procmem");
	CHECK_INT(qvmi_ram_count(ctx), ==, 3);
	check_reads(&f, ctx);
	/* a guest write shows through the cached mapping */
	memcpy(f.ram + 0x2000, "fresh!!!", 8);
	{
		char b[9] = { 0 };

		CHECK_OK(qvmi_read_pa(ctx, 0x2000, b, 8));
		CHECK_STR(b, "fresh!!!");
	}
	/* the state, pause and resume connect QMP on first use */
	CHECK_OK(qvmi_vm_state(ctx, &st));
	CHECK_INT(st, ==, QVMI_VM_RUNNING);
	CHECK(ctx->qmp != NULL);
	/* capabilities, query-status (bind), query-status */
	CHECK_INT(f.queries, ==, q + 3);
	CHECK_OK(qvmi_vm_pause(ctx));
	CHECK_INT(ctx->vm_state, ==, QVMI_VM_PAUSED);
	CHECK_OK(qvmi_vm_resume(ctx));
	CHECK_INT(ctx->vm_state, ==, QVMI_VM_RUNNING);
	CHECK_INT(f.queries, ==, q + 5);
	CHECK_OK(qvmi_vm_info(ctx, &vi));
	CHECK_STR(vi.name, "fakevm");
	CHECK_STR(vi.qemu_version, "7.2.22");
	CHECK_INT(vi.pid, ==, getpid());
	qvmi_ctx_destroy(ctx);
	fake_stop(&f);
}

/* vm_info alone (name/uuid) connects too, through the same path. */
static void test_cached_vm_info(void)
{
	struct fake f;
	struct qvmi_ctx *ctx;
	struct qvmi_vm_info vi;
	int err;

	fake_start(&f, true);
	f.max_conns = 2;
	fake_run(&f);
	ctx = attach_fake(&f, 0, &err);
	CHECK_OK(err);
	qvmi_ctx_destroy(ctx);
	ctx = attach_fake(&f, 0, &err);
	CHECK_OK(err);
	CHECK(!ctx->qmp);
	CHECK_OK(qvmi_vm_info(ctx, &vi));
	CHECK_STR(vi.uuid, "5e1f2a3b-0000-4000-8000-000000000001");
	CHECK_INT(vi.vcpus, ==, 0); /* no query-cpus-fast in the fake */
	CHECK(ctx->qmp != NULL);
	qvmi_ctx_destroy(ctx);
	fake_stop(&f);
}

/* Each broken check sends the attach down the full path, which gives
 * the right layout and writes a fresh cache. */
static void test_cache_fallbacks(void)
{
	enum { N = 7 };
	struct fake f;
	struct qvmi_ctx *ctx;
	char line[128];
	uint8_t *extra = NULL;
	int err, memfd = -1, q;
	pid_t dead = fork(); /* before the fake's thread: a clean child */

	if (!dead)
		_exit(0);
	CHECK(dead > 0 && waitpid(dead, NULL, 0) == dead);
	fake_start(&f, true);
	f.max_conns = 1 + N; /* the last attach is from the cache again */
	fake_run(&f);
	ctx = attach_fake(&f, 0, &err);
	CHECK_OK(err);
	qvmi_ctx_destroy(ctx);
	for (int i = 0; i < N; i++) {
		switch (i) {
		case 0: /* the socket was re-created (other inode) */
			snprintf(line, sizeof(line), "id 1 2 3 4");
			edit_cache(&f, "id ", line);
			break;
		case 1: /* QEMU is gone */
			snprintf(line, sizeof(line), "pid %d 1", (int)dead);
			edit_cache(&f, "pid ", line);
			break;
		case 2: /* the pid was reused by another process */
			snprintf(line, sizeof(line), "pid %d 1", (int)getpid());
			edit_cache(&f, "pid ", line);
			break;
		case 3: /* a cut file */
			edit_cache(&f, "ranges ", NULL);
			break;
		case 4: /* garbage in a range */
			edit_cache(&f, "100000 ", "100000 zz 1 s 1 2 3");
			break;
		case 5: /* a RAM range's file moved: not the cached file */
			edit_cache(&f, "100000 ",
				   "100000 300000 1 s 1 2 100000");
			break;
		case 6: /* memory hot-plug: a new shared RAM mapping */
			memfd = memfd_create("hotplug", MFD_CLOEXEC);
			CHECK(memfd >= 0 && !ftruncate(memfd, 1 << 20));
			extra = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
				     MAP_SHARED, memfd, 0);
			CHECK(extra != MAP_FAILED);
			break;
		}
		q = f.queries;
		ctx = attach_fake(&f, 0, &err);
		CHECK_MSG(!err, "case %d: %d %s", i, err, qvmi_errmsg(ctx));
		CHECK_MSG(f.queries == q + 6, "case %d: %d queries", i,
			  f.queries - q);
		CHECK(ctx->qmp != NULL);
		CHECK_STR(source_at(ctx, HIGH_GPA), "shm");
		check_reads(&f, ctx);
		qvmi_ctx_destroy(ctx);
	}
	/* the last full attach wrote a cache that matches again */
	q = f.queries;
	ctx = attach_fake(&f, 0, &err);
	CHECK_OK(err);
	CHECK_INT(f.queries, ==, q);
	check_reads(&f, ctx);
	qvmi_ctx_destroy(ctx);
	munmap(extra, 1 << 20);
	close(memfd);
	fake_stop(&f);
}

/* QVMI_NO_LAYOUT_CACHE=1: neither read nor written. */
static void test_cache_opt_out(void)
{
	struct fake f;
	struct qvmi_ctx *ctx;
	char path[256];
	int err, q;

	fake_start(&f, true);
	f.max_conns = 3;
	fake_run(&f);
	CHECK_OK(setenv("QVMI_NO_LAYOUT_CACHE", "1", 1));
	ctx = attach_fake(&f, 0, &err);
	CHECK_OK(err);
	qvmi_ctx_destroy(ctx);
	cache_file(&f, path, sizeof(path));
	CHECK_STR(path, "");
	CHECK_OK(unsetenv("QVMI_NO_LAYOUT_CACHE"));
	ctx = attach_fake(&f, 0, &err); /* writes it */
	CHECK_OK(err);
	qvmi_ctx_destroy(ctx);
	CHECK_OK(setenv("QVMI_NO_LAYOUT_CACHE", "1", 1));
	q = f.queries;
	ctx = attach_fake(&f, 0, &err); /* does not read it */
	CHECK_OK(err);
	CHECK_INT(f.queries, ==, q + 6);
	CHECK_OK(unsetenv("QVMI_NO_LAYOUT_CACHE"));
	qvmi_ctx_destroy(ctx);
	fake_stop(&f);
}

static void put_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	CHECK(fp && fputs(text, fp) >= 0 && !fclose(fp));
}

/* Writing a layout removes those of sockets that are gone, and keeps
 * those whose socket still exists. */
static void test_cache_prune(void)
{
	struct fake f;
	struct qvmi_ctx *ctx;
	char d[80], gone[128], live[128], text[256];
	int err;

	fake_start(&f, true);
	fake_run(&f);
	snprintf(d, sizeof(d), "%s/qvmi", f.dir);
	CHECK_OK(mkdir(d, 0700));
	snprintf(gone, sizeof(gone), "%s/layout-00000000000000aa", d);
	snprintf(live, sizeof(live), "%s/layout-00000000000000bb", d);
	put_file(gone, "qvmi-layout 1\nsock /nonexistent/qvmi-test.sock\n");
	snprintf(text, sizeof(text), "qvmi-layout 1\nsock %s\n", f.path);
	put_file(live, text);
	ctx = attach_fake(&f, 0, &err); /* a full attach: saves, prunes */
	CHECK_OK(err);
	qvmi_ctx_destroy(ctx);
	CHECK_INT(access(gone, F_OK), ==, -1);
	CHECK_OK(access(live, F_OK));
	unlink(live);
	fake_stop(&f);
}

static const struct qvmi_test attach_tests[] = {
	{ "all_sources", test_all_sources },
	{ "only_shm", test_only_shm },
	{ "only_procmem", test_only_procmem },
	{ "only_xp", test_only_xp },
	{ "private_ram_not_shm", test_private_ram_not_shm },
	{ "peer_not_qemu", test_peer_not_qemu },
	{ "no_ram", test_no_ram },
	{ "bad_args", test_bad_args },
	{ "cached_attach", test_cached_attach },
	{ "cached_vm_info", test_cached_vm_info },
	{ "cache_fallbacks", test_cache_fallbacks },
	{ "cache_opt_out", test_cache_opt_out },
	{ "cache_prune", test_cache_prune },
};
QVMI_SUITE(attach, attach_tests);
