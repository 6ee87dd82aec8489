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
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "qvmi.h"
#include "core/internal.h"
#include "fake-qemu.h"

static void test_all_sources(void)
{
	struct fake f;
	struct qvmi_ctx *ctx;
	struct qvmi_vm_info vi;
	struct qvmi_ram_range r;
	uint64_t v = 0x0123456789abcdefull;
	int err;

	fakeq_start(&f, true);
	fakeq_run(&f);
	ctx = fakeq_attach(&f, 0, &err);
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
	CHECK_STR(fakeq_source_at(ctx, 0x1000), "shm");
	CHECK_STR(fakeq_source_at(ctx, 0xc0000), "shm");
	CHECK_STR(fakeq_source_at(ctx, HIGH_GPA), "shm");
	CHECK_STR(fakeq_source_at(ctx, BIOS_GPA), "procmem");
	fakeq_check_reads(&f, ctx);
	/* a write lands in the memfd (file offset 0x400000 + 0x2000) */
	CHECK_OK(qvmi_write_pa(ctx, HIGH_GPA + 0x2000, &v, 8));
	CHECK(!memcmp(f.ram + 0x402000, &v, 8));
	CHECK_INT(qvmi_attach_qmp(ctx, f.path, NULL), ==, -EBUSY);
	qvmi_ctx_destroy(ctx);
	fakeq_stop(&f);
}

static void test_one_source(unsigned int kind, const char *name)
{
	struct fake f;
	struct qvmi_ctx *ctx;
	int err;

	fakeq_start(&f, true);
	fakeq_run(&f);
	ctx = fakeq_attach(&f, kind, &err);
	CHECK_MSG(!err, "attach %s: %d %s", name, err, qvmi_errmsg(ctx));
	for (size_t i = 0; i < qvmi_map_count(ctx); i++) {
		struct qvmi_map_entry e;

		CHECK_OK(qvmi_map_get(ctx, i, &e));
		CHECK_STR(e.source, name);
	}
	CHECK_STR(fakeq_source_at(ctx, HIGH_GPA), name);
	if (kind != QVMI_SRC_SHM) /* shm cannot reach the anonymous BIOS */
		CHECK_STR(fakeq_source_at(ctx, BIOS_GPA), name);
	else
		CHECK_STR(fakeq_source_at(ctx, BIOS_GPA), "none");
	if (kind == QVMI_SRC_SHM) {
		uint8_t b[16];

		CHECK_OK(qvmi_read_pa(ctx, HIGH_GPA + 0x1234, b, 8));
		CHECK(!memcmp(b, "above 4G", 8));
		CHECK_INT(qvmi_read_pa(ctx, BIOS_GPA, b, 8), ==, -EFAULT);
	} else {
		fakeq_check_reads(&f, ctx);
	}
	qvmi_ctx_destroy(ctx);
	fakeq_stop(&f);
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

	fakeq_start(&f, false);
	fakeq_run(&f);
	ctx = fakeq_attach(&f, QVMI_SRC_SHM, &err);
	CHECK_INT(err, ==, -EOPNOTSUPP);
	CHECK(strstr(qvmi_errmsg(ctx), "no allowed source"));
	/* undone: nothing left behind */
	CHECK_INT(qvmi_map_count(ctx), ==, 0);
	CHECK_INT(qvmi_ram_count(ctx), ==, 0);
	CHECK(!ctx->qmp && !ctx->ctl && !ctx->sources);
	qvmi_ctx_destroy(ctx);
	fakeq_stop(&f);
	/* the default falls back to procmem */
	fakeq_start(&f, false);
	fakeq_run(&f);
	ctx = fakeq_attach(&f, 0, &err);
	CHECK_OK(err);
	CHECK_STR(fakeq_source_at(ctx, 0x1000), "procmem");
	fakeq_check_reads(&f, ctx);
	qvmi_ctx_destroy(ctx);
	fakeq_stop(&f);
}

/* RAM in QEMU's own memory (anonymous, or a private file mapping) is
 * cached too (issue 18): its mapping is the witness.  A cached attach
 * sends no QMP command and reads the same bytes through procmem; RAM
 * moved to another mapping sends the attach down the full path. */
static void test_private_ram_cached(void)
{
	struct fake f;
	struct qvmi_ctx *ctx;
	char path[256];
	int err, q;

	fakeq_start(&f, false);
	f.max_conns = 3;
	fakeq_run(&f);
	ctx = fakeq_attach(&f, 0, &err);
	CHECK_OK(err);
	qvmi_ctx_destroy(ctx);
	fakeq_cache_file(&f, path, sizeof(path));
	CHECK_MSG(path[0], "no layout file for private RAM");
	q = f.queries;
	ctx = fakeq_attach(&f, 0, &err);
	CHECK_MSG(!err, "cached attach: %d %s", err, qvmi_errmsg(ctx));
	CHECK_INT(f.queries, ==, q);
	CHECK(!ctx->qmp);
	CHECK_STR(fakeq_source_at(ctx, 0x1000), "procmem");
	CHECK_STR(fakeq_source_at(ctx, HIGH_GPA), "procmem");
	CHECK_STR(fakeq_source_at(ctx, BIOS_GPA), "procmem");
	fakeq_check_reads(&f, ctx);
	qvmi_ctx_destroy(ctx);
	/* QEMU's RAM now lives at another address: a full attach */
	{
		uint8_t *old = f.ram, *moved;

		moved = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE, f.memfd, 0);
		CHECK(moved != MAP_FAILED);
		memcpy(moved, old, RAM_SIZE);
		f.ram = moved;
		munmap(old, RAM_SIZE);
	}
	q = f.queries;
	ctx = fakeq_attach(&f, 0, &err);
	CHECK_OK(err);
	CHECK_INT(f.queries, ==, q + 6);
	CHECK_STR(fakeq_source_at(ctx, 0x1000), "procmem");
	fakeq_check_reads(&f, ctx);
	qvmi_ctx_destroy(ctx);
	fakeq_stop(&f);
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

	fakeq_start(&f, true);
	f.no_query_qvmi = true;
	fakeq_run(&f);
	ctx = fakeq_attach(&f, 0, &err);
	CHECK_MSG(!err, "attach: %d %s", err, qvmi_errmsg(ctx));
	CHECK_STR(fakeq_source_at(ctx, 0x1000), "xp");
	CHECK_STR(fakeq_source_at(ctx, BIOS_GPA), "xp");
	CHECK_OK(qvmi_vm_info(ctx, &vi));
	CHECK_INT(vi.pid, ==, 0);
	qvmi_ctx_destroy(ctx);
	fakeq_stop(&f);
	/* shm or procmem alone: refused, not served from our own memory */
	fakeq_start(&f, true);
	f.no_query_qvmi = true;
	fakeq_run(&f);
	ctx = fakeq_attach(&f, QVMI_SRC_SHM | QVMI_SRC_PROCMEM, &err);
	CHECK_INT(err, ==, -EOPNOTSUPP);
	qvmi_ctx_destroy(ctx);
	fakeq_stop(&f);
}

static void test_no_ram(void)
{
	struct fake f;
	struct qvmi_ctx *ctx;
	int err;

	fakeq_start(&f, true);
	f.no_ram = true;
	fakeq_run(&f);
	ctx = fakeq_attach(&f, 0, &err);
	CHECK(err == -EPROTO || err == -EBADMSG);
	CHECK(!ctx->qmp && !ctx->sources);
	CHECK_STR(ctx->backend, "none");
	qvmi_ctx_destroy(ctx);
	fakeq_stop(&f);
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

	fakeq_cache_file(f, path, sizeof(path));
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

	fakeq_start(&f, true);
	f.max_conns = 2; /* the full attach, the connection on first use */
	fakeq_run(&f);
	ctx = fakeq_attach(&f, 0, &err);
	CHECK_MSG(!err, "attach: %d %s", err, qvmi_errmsg(ctx));
	qvmi_ctx_destroy(ctx);
	fakeq_cache_file(&f, path, sizeof(path));
	CHECK_MSG(path[0], "no layout file in %s/qvmi", f.dir);
	q = f.queries;
	CHECK_INT(q, ==, 6);
	ctx = fakeq_attach(&f, 0, &err);
	CHECK_MSG(!err, "cached attach: %d %s", err, qvmi_errmsg(ctx));
	CHECK_INT(f.queries, ==, q); /* not one QMP round trip */
	CHECK_INT(f.conns, ==, 1); /* not even a connection */
	CHECK(!ctx->qmp && ctx->ctl);
	CHECK_STR(fakeq_source_at(ctx, 0x1000), "shm");
	CHECK_STR(fakeq_source_at(ctx, 0xc0000), "shm");
	CHECK_STR(fakeq_source_at(ctx, HIGH_GPA), "shm");
	CHECK_STR(fakeq_source_at(ctx, BIOS_GPA), "procmem");
	CHECK_INT(qvmi_ram_count(ctx), ==, 3);
	fakeq_check_reads(&f, ctx);
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
	fakeq_stop(&f);
}

/* vm_info alone (name/uuid) connects too, through the same path. */
static void test_cached_vm_info(void)
{
	struct fake f;
	struct qvmi_ctx *ctx;
	struct qvmi_vm_info vi;
	int err;

	fakeq_start(&f, true);
	f.max_conns = 2;
	fakeq_run(&f);
	ctx = fakeq_attach(&f, 0, &err);
	CHECK_OK(err);
	qvmi_ctx_destroy(ctx);
	ctx = fakeq_attach(&f, 0, &err);
	CHECK_OK(err);
	CHECK(!ctx->qmp);
	CHECK_OK(qvmi_vm_info(ctx, &vi));
	CHECK_STR(vi.uuid, "5e1f2a3b-0000-4000-8000-000000000001");
	CHECK_INT(vi.vcpus, ==, 0); /* no query-cpus-fast in the fake */
	CHECK(ctx->qmp != NULL);
	qvmi_ctx_destroy(ctx);
	fakeq_stop(&f);
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
	fakeq_start(&f, true);
	f.max_conns = 1 + N; /* the last attach is from the cache again */
	fakeq_run(&f);
	ctx = fakeq_attach(&f, 0, &err);
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
			snprintf(
				line, sizeof(line),
				"100000 300000 1 s %llx 1 2 100000 100000 ram0",
				(unsigned long long)(uintptr_t)fakeq_hva(
					&f, 0x100000));
			edit_cache(&f, "100000 ", line);
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
		ctx = fakeq_attach(&f, 0, &err);
		CHECK_MSG(!err, "case %d: %d %s", i, err, qvmi_errmsg(ctx));
		CHECK_MSG(f.queries == q + 6, "case %d: %d queries", i,
			  f.queries - q);
		CHECK(ctx->qmp != NULL);
		CHECK_STR(fakeq_source_at(ctx, HIGH_GPA), "shm");
		fakeq_check_reads(&f, ctx);
		qvmi_ctx_destroy(ctx);
	}
	/* the last full attach wrote a cache that matches again */
	q = f.queries;
	ctx = fakeq_attach(&f, 0, &err);
	CHECK_OK(err);
	CHECK_INT(f.queries, ==, q);
	fakeq_check_reads(&f, ctx);
	qvmi_ctx_destroy(ctx);
	munmap(extra, 1 << 20);
	close(memfd);
	fakeq_stop(&f);
}

/* QVMI_NO_LAYOUT_CACHE=1: neither read nor written. */
static void test_cache_opt_out(void)
{
	struct fake f;
	struct qvmi_ctx *ctx;
	char path[256];
	int err, q;

	fakeq_start(&f, true);
	f.max_conns = 3;
	fakeq_run(&f);
	CHECK_OK(setenv("QVMI_NO_LAYOUT_CACHE", "1", 1));
	ctx = fakeq_attach(&f, 0, &err);
	CHECK_OK(err);
	qvmi_ctx_destroy(ctx);
	fakeq_cache_file(&f, path, sizeof(path));
	CHECK_STR(path, "");
	CHECK_OK(unsetenv("QVMI_NO_LAYOUT_CACHE"));
	ctx = fakeq_attach(&f, 0, &err); /* writes it */
	CHECK_OK(err);
	qvmi_ctx_destroy(ctx);
	CHECK_OK(setenv("QVMI_NO_LAYOUT_CACHE", "1", 1));
	q = f.queries;
	ctx = fakeq_attach(&f, 0, &err); /* does not read it */
	CHECK_OK(err);
	CHECK_INT(f.queries, ==, q + 6);
	CHECK_OK(unsetenv("QVMI_NO_LAYOUT_CACHE"));
	qvmi_ctx_destroy(ctx);
	fakeq_stop(&f);
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

	fakeq_start(&f, true);
	fakeq_run(&f);
	snprintf(d, sizeof(d), "%s/qvmi", f.dir);
	CHECK_OK(mkdir(d, 0700));
	snprintf(gone, sizeof(gone), "%s/layout-00000000000000aa", d);
	snprintf(live, sizeof(live), "%s/layout-00000000000000bb", d);
	put_file(gone, "qvmi-layout 1\nsock /nonexistent/qvmi-test.sock\n");
	snprintf(text, sizeof(text), "qvmi-layout 1\nsock %s\n", f.path);
	put_file(live, text);
	ctx = fakeq_attach(&f, 0, &err); /* a full attach: saves, prunes */
	CHECK_OK(err);
	qvmi_ctx_destroy(ctx);
	CHECK_INT(access(gone, F_OK), ==, -1);
	CHECK_OK(access(live, F_OK));
	unlink(live);
	fakeq_stop(&f);
}

/* The cache directory and the opt-out are options, not only the
 * environment (XDG_CACHE_HOME, QVMI_NO_LAYOUT_CACHE). */
static void test_cache_options(void)
{
	struct fake f;
	struct qvmi_ctx *ctx;
	char own[200], path[256];
	struct stat st;
	int err;

	fakeq_start(&f, true);
	f.max_conns = 3;
	fakeq_run(&f);
	snprintf(own, sizeof(own), "%s/own", f.dir);
	CHECK_OK(qvmi_ctx_create(&ctx));
	{
		QVMI_OPTS(qvmi_attach_opts, o, .timeout_ms = 3000,
			  .no_layout_cache = 1, .cache_dir = own);

		err = qvmi_attach_qmp(ctx, f.path, &o);
		CHECK_MSG(!err, "%s", qvmi_errmsg(ctx));
	}
	qvmi_ctx_destroy(ctx);
	CHECK(stat(own, &st)); /* nothing written */
	fakeq_cache_file(&f, path, sizeof(path));
	CHECK(!path[0]);
	CHECK_OK(qvmi_ctx_create(&ctx));
	{
		QVMI_OPTS(qvmi_attach_opts, o, .timeout_ms = 3000,
			  .cache_dir = own);

		err = qvmi_attach_qmp(ctx, f.path, &o);
		CHECK_MSG(!err, "%s", qvmi_errmsg(ctx));
	}
	qvmi_ctx_destroy(ctx);
	CHECK_OK(stat(own, &st)); /* there, not in $XDG_CACHE_HOME */
	fakeq_cache_file(&f, path, sizeof(path));
	CHECK(!path[0]);
	snprintf(path, sizeof(path), "rm -rf %s", own);
	CHECK(!system(path));
	fakeq_stop(&f);
}

static const struct qvmi_test attach_tests[] = {
	{ "all_sources", test_all_sources },
	{ "only_shm", test_only_shm },
	{ "only_procmem", test_only_procmem },
	{ "only_xp", test_only_xp },
	{ "private_ram_not_shm", test_private_ram_not_shm },
	{ "private_ram_cached", test_private_ram_cached },
	{ "peer_not_qemu", test_peer_not_qemu },
	{ "no_ram", test_no_ram },
	{ "bad_args", test_bad_args },
	{ "cached_attach", test_cached_attach },
	{ "cache_options", test_cache_options },
	{ "cached_vm_info", test_cached_vm_info },
	{ "cache_fallbacks", test_cache_fallbacks },
	{ "cache_opt_out", test_cache_opt_out },
	{ "cache_prune", test_cache_prune },
};
QVMI_SUITE(attach, attach_tests);
