// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmid's pmemaccess server over shared RAM (a sparse memfd, as QEMU's
 * memory-backend-memfd), in both of its read paths: sendfile from the RAM
 * file (SIGPIPE ignored, as in qvmid) and copying (SIGPIPE not ignored).
 * Exact bytes over data, holes and the edge of the file; holes never
 * allocated; pipelining; a client leaving mid-reply.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "sockcli.h"
#include "qvmi.h"
#include "core/internal.h"
#include "source/sources.h"
#include "../../daemon/pmem-server.h"
#include "proto/pmemaccess.h"

enum {
	RAM = 16 << 20, /* the memfd, at guest-physical 0 */
	ROM = 64 << 10, /* a testmem right after it: not a file */
	PG = 4096,
	MIB = 1 << 20,
	WAIT_MS = 5000,
	/* [DENSE, DENSE + DENSE_LEN) is all data: whole replies, even the
	 * maximum transfer, go from the RAM mapping */
	DENSE = 8 << 20,
	DENSE_LEN = MIB + 2 * PG,
};

/* Data pages of the memfd; the rest is holes. */
static const uint64_t data_pages[] = { 0,	 PG,  5 * PG,
				       MIB - PG, MIB, 3 * MIB + 7 * PG,
				       RAM - PG };

static uint8_t page_byte(uint64_t pg, size_t i)
{
	return (uint8_t)((pg >> 12) * 13 + i * 5 + 3);
}

static uint8_t rom_byte(uint64_t off)
{
	return (uint8_t)(off * 7 + 0x41);
}

/* The guest byte at gpa. */
static uint8_t expect_at(uint64_t gpa)
{
	uint64_t pg = gpa & ~(uint64_t)(PG - 1);

	if (gpa >= RAM)
		return rom_byte(gpa - RAM);
	if (gpa >= DENSE && gpa < DENSE + DENSE_LEN)
		return page_byte(pg, (size_t)(gpa - pg));
	for (size_t p = 0; p < QVMI_ARRAY_SIZE(data_pages); p++)
		if (data_pages[p] == pg)
			return page_byte(pg, (size_t)(gpa - pg));
	return 0;
}

struct fix {
	struct qvmi_ctx *ctx;
	struct qvmid_pmem_server *s;
	pthread_t thr;
	int memfd, rc;
	uint8_t *rom;
	char path[108];
	struct sigaction old;
};

static void *srv_main(void *arg)
{
	struct fix *f = arg;

	f->rc = qvmid_pmem_server_run(f->s);
	return NULL;
}

static long long blocks(int fd)
{
	struct stat st;

	CHECK_OK(fstat(fd, &st));
	return (long long)st.st_blocks;
}

/* Worker threads of the servers setup() makes (the *_workers tests). */
static unsigned int g_workers;
/* > 0: setup() names it the RAM file's owner (QEMU) before the server
 * runs, since the server's thread looks at the source from then on;
 * g_owner_err: what that gave. */
static pid_t g_owner;
static int g_owner_err;

static void setup(struct fix *f, bool ignore_sigpipe)
{
	struct sigaction sa = { .sa_handler = ignore_sigpipe ? SIG_IGN :
							       SIG_DFL };
	struct qvmid_pmem_opts o = { .max_transfer = MIB,
				     .workers = g_workers };
	struct qvmi_source *src;
	uint8_t page[PG];
	static int seq;

	memset(f, 0, sizeof(*f));
	f->memfd = memfd_create("qvmi-test-pmem-shm", MFD_CLOEXEC);
	CHECK(f->memfd >= 0);
	CHECK_OK(ftruncate(f->memfd, RAM));
	for (size_t p = 0; p < QVMI_ARRAY_SIZE(data_pages); p++) {
		for (size_t i = 0; i < PG; i++)
			page[i] = page_byte(data_pages[p], i);
		CHECK_INT(pwrite(f->memfd, page, PG, (off_t)data_pages[p]), ==,
			  PG);
	}
	for (uint64_t pg = DENSE; pg < DENSE + DENSE_LEN; pg += PG) {
		for (size_t i = 0; i < PG; i++)
			page[i] = page_byte(pg, i);
		CHECK_INT(pwrite(f->memfd, page, PG, (off_t)pg), ==, PG);
	}
	f->rom = malloc(ROM);
	CHECK(f->rom);
	for (size_t i = 0; i < ROM; i++)
		f->rom[i] = rom_byte(i);
	CHECK_OK(qvmi_ctx_create(&f->ctx));
	CHECK_OK(qvmi__source_shm_create(f->ctx, dup(f->memfd), true, &src));
	CHECK_OK(qvmi__map_add_host(f->ctx, src, 0, RAM, 0,
				    qvmi__shm_host(src, 0)));
	g_owner_err = g_owner > 0 ? qvmi__shm_set_owner(src, g_owner) : 0;
	CHECK_OK(qvmi__ram_add(f->ctx, 0, RAM));
	CHECK_OK(qvmi_source_testmem_create(f->ctx, f->rom, ROM, 0, &src));
	CHECK_OK(qvmi_map_add(f->ctx, src, RAM, ROM, 0));
	snprintf(f->path, sizeof(f->path), "/tmp/qvmi-test-pmemshm-%d-%d.sock",
		 (int)getpid(), seq++);
	CHECK_OK(sigaction(SIGPIPE, &sa, &f->old));
	CHECK_OK(qvmid_pmem_server_create(f->ctx, f->path, &o, &f->s));
	CHECK_INT(pthread_create(&f->thr, NULL, srv_main, f), ==, 0);
}

/* Stop the server; its stats. */
static struct qvmid_pmem_stats teardown(struct fix *f)
{
	struct qvmid_pmem_stats st;

	qvmid_pmem_server_stop(f->s);
	CHECK_INT(pthread_join(f->thr, NULL), ==, 0);
	CHECK_INT(f->rc, ==, 0);
	qvmid_pmem_server_stats(f->s, &st);
	qvmid_pmem_server_destroy(f->s);
	qvmi_ctx_destroy(f->ctx);
	CHECK_OK(sigaction(SIGPIPE, &f->old, NULL));
	close(f->memfd);
	free(f->rom);
	return st;
}

static void cli_send(int fd, const void *buf, size_t len)
{
	CHECK_MSG(tcli_send_raw(fd, buf, len), "send: %s", strerror(errno));
}

static void cli_recv(int fd, void *buf, size_t len)
{
	CHECK_MSG(tcli_recv_raw(fd, buf, len, WAIT_MS) == (ssize_t)len,
		  "no full reply in %d ms", WAIT_MS);
}

static void cli_req(int fd, uint64_t type, uint64_t addr, uint64_t len)
{
	uint8_t h[QVMI_PMEM_REQ_SIZE];

	qvmi__pmem_encode_req(h, type, addr, len);
	cli_send(fd, h, sizeof(h));
}

/* Receive a read reply of len bytes for gpa and check it. */
static void check_reply(int fd, uint64_t gpa, size_t len, uint8_t *buf)
{
	cli_recv(fd, buf, len + 1);
	for (size_t i = 0; i < len; i++)
		CHECK_MSG(buf[i] == expect_at(gpa + i),
			  "gpa 0x%" PRIx64 ": got 0x%02x, want 0x%02x", gpa + i,
			  buf[i], expect_at(gpa + i));
	CHECK_INT(buf[len], ==, QVMI_PMEM_STATUS_OK);
}

/* Reads over data, holes, the file's end and into the testmem, one at a
 * time and pipelined; the file gains no block. */
static void reads(bool zero_copy)
{
	static const struct {
		uint64_t gpa, len;
	} rq[] = {
		{ 0, PG }, /* data */
		{ 2 * PG, PG }, /* hole */
		{ PG + 100, 3 * PG }, /* data, hole, data, unaligned */
		{ MIB - 2 * PG, 32 * 1024 }, /* small-read limit */
		{ MIB - 2 * PG, 32 * 1024 + 1 }, /* just past it */
		{ 3, MIB }, /* the maximum transfer */
		{ 2 * MIB + 12345, MIB - 9 },
		{ RAM - MIB / 2, MIB / 2 + 100 }, /* file, then testmem */
		{ RAM - 10, 20 },
		{ RAM + 5, 1000 }, /* testmem only */
		{ 0, 0 },
		{ DENSE, MIB }, /* all data: from the mapping */
		{ DENSE + 2 * PG + 7, MIB }, /* its last 7 bytes: a hole */
		{ DENSE + MIB - 100, 300 },
		{ DENSE - 100, 300 }, /* hole, then data */
	};
	uint8_t *buf = malloc(MIB + 1);
	struct qvmid_pmem_stats st;
	struct fix f;
	long long before;
	int fd;

	CHECK(buf);
	setup(&f, zero_copy);
	before = blocks(f.memfd);
	fd = tcli_connect(f.path);
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(rq); i++) {
		cli_req(fd, QVMI_PMEM_READ, rq[i].gpa, rq[i].len);
		check_reply(fd, rq[i].gpa, rq[i].len, buf);
	}
	/* pipelined: every request first, then every reply, in order */
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(rq); i++)
		cli_req(fd, QVMI_PMEM_READ, rq[i].gpa, rq[i].len);
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(rq); i++)
		check_reply(fd, rq[i].gpa, rq[i].len, buf);
	/* refused range: zeros and status 0, still in step */
	cli_req(fd, QVMI_PMEM_READ, RAM + ROM - 10, 20);
	cli_recv(fd, buf, 21);
	CHECK_INT(buf[0], ==, 0);
	CHECK_INT(buf[20], ==, QVMI_PMEM_STATUS_FAIL);
	close(fd);
	CHECK_INT(blocks(f.memfd), ==, before);
	st = teardown(&f);
	CHECK_U64(st.reads, ==, 2 * QVMI_ARRAY_SIZE(rq) + 1);
	CHECK_U64(st.failed, ==, 1);
	if (zero_copy) /* the big reads with holes went by sendfile */
		CHECK_U64(st.sendfile_bytes, >, 4 * MIB);
	else
		CHECK_U64(st.sendfile_bytes, ==, 0);
	/* data went from the mapping: the dense MiB (twice) at least, and
	 * in both paths, since sendmsg needs no SIGPIPE rule (workers: from
	 * their map's own mapping of the file) */
	CHECK_U64(st.mapped_bytes, >=, 2 * MIB + 2 * 300);
	CHECK_U64(st.mapped_bytes + st.sendfile_bytes, <, 20 * MIB);
	free(buf);
}

static void test_reads_sendfile(void)
{
	reads(true);
}

static void test_reads_copy(void)
{
	reads(false);
}

/* Clients that leave in the middle of big replies (sendfile then fails
 * with EPIPE, and SIGPIPE is ignored): the server drops them and goes on. */
static void test_client_leaves_mid_reply(void)
{
	uint8_t *buf = malloc(MIB + 1);
	struct qvmid_pmem_stats st;
	struct fix f;
	int fd;

	CHECK(buf);
	setup(&f, true);
	for (int i = 0; i < 4; i++) {
		fd = tcli_connect(f.path);
		for (int r = 0; r < 8; r++)
			cli_req(fd, QVMI_PMEM_READ, (uint64_t)r * MIB, MIB);
		if (i & 1)
			cli_recv(fd, buf, 10 + (size_t)i * 1000);
		close(fd);
	}
	fd = tcli_connect(f.path);
	cli_req(fd, QVMI_PMEM_READ, 3 * MIB, MIB);
	check_reply(fd, 3 * MIB, MIB, buf);
	close(fd);
	st = teardown(&f);
	CHECK_U64(st.accepted, ==, 5);
	free(buf);
}

/* The RAM file shrinks under the server (QEMU going away): reads past its
 * new end fail with zeros + status 0 and never touch the mapping (that
 * would be SIGBUS); the connection stays in step. */
static void file_shrinks(bool zero_copy)
{
	uint8_t *buf = malloc(MIB + 1);
	struct fix f;
	int fd;

	CHECK(buf);
	setup(&f, zero_copy);
	fd = tcli_connect(f.path);
	/* known data (and mapped) before the file shrinks */
	cli_req(fd, QVMI_PMEM_READ, DENSE, MIB);
	check_reply(fd, DENSE, MIB, buf);
	CHECK_OK(ftruncate(f.memfd, 2 * MIB + 100 * 1024));
	for (int i = 0; i < 2; i++) {
		/* the mapping past the end faults: failure, no SIGBUS */
		cli_req(fd, QVMI_PMEM_READ, DENSE, MIB);
		cli_recv(fd, buf, MIB + 1);
		CHECK_INT(buf[MIB], ==, QVMI_PMEM_STATUS_FAIL);
		CHECK_INT(buf[0], ==, 0);
		cli_req(fd, QVMI_PMEM_READ, DENSE + PG, 100);
		cli_recv(fd, buf, 101);
		CHECK_INT(buf[100], ==, QVMI_PMEM_STATUS_FAIL);
		cli_req(fd, QVMI_PMEM_READ, 2 * MIB, MIB);
		cli_recv(fd, buf, MIB + 1);
		CHECK_INT(buf[MIB], ==, QVMI_PMEM_STATUS_FAIL);
		CHECK_INT(buf[MIB - 1], ==, 0);
		cli_req(fd, QVMI_PMEM_READ, 4 * MIB, PG);
		cli_recv(fd, buf, PG + 1);
		CHECK_INT(buf[PG], ==, QVMI_PMEM_STATUS_FAIL);
		cli_req(fd, QVMI_PMEM_READ, MIB - PG, 2 * PG);
		check_reply(fd, MIB - PG, 2 * PG, buf);
	}
	close(fd);
	teardown(&f);
	free(buf);
}

static void test_file_shrinks_sendfile(void)
{
	file_shrinks(true);
}

static void test_file_shrinks_copy(void)
{
	file_shrinks(false);
}

/* The QEMU owning the RAM file exited: bulk reads fail (stale bytes), as
 * qvmi_read_pa's do, in both paths; page reads still answer. */
static void owner_gone(bool zero_copy)
{
	uint8_t *buf = malloc(MIB + 1);
	struct fix f;
	pid_t pid;
	int fd, status;

	CHECK(buf);
	pid = fork();
	CHECK(pid >= 0);
	if (!pid)
		_exit(0);
	g_owner = pid; /* before reaping it */
	setup(&f, zero_copy);
	g_owner = 0;
	if (g_owner_err) {
		waitpid(pid, &status, 0);
		teardown(&f);
		free(buf);
		SKIP("pidfd_open unavailable (kernel < 5.3, valgrind)");
	}
	CHECK_INT(waitpid(pid, &status, 0), ==, pid);
	fd = tcli_connect(f.path);
	cli_req(fd, QVMI_PMEM_READ, 0, MIB);
	cli_recv(fd, buf, MIB + 1);
	CHECK_INT(buf[0], ==, 0); /* zeros, not the data page */
	CHECK_INT(buf[MIB], ==, QVMI_PMEM_STATUS_FAIL);
	cli_req(fd, QVMI_PMEM_READ, DENSE, MIB); /* all data: mapping */
	cli_recv(fd, buf, MIB + 1);
	CHECK_INT(buf[0], ==, 0);
	CHECK_INT(buf[MIB], ==, QVMI_PMEM_STATUS_FAIL);
	cli_req(fd, QVMI_PMEM_READ, 0, PG);
	check_reply(fd, 0, PG, buf);
	close(fd);
	teardown(&f);
	free(buf);
}

static void test_owner_gone_sendfile(void)
{
	owner_gone(true);
}

static void test_owner_gone_copy(void)
{
	owner_gone(false);
}

/* A hole is read (never allocated, never from the mapping), the guest
 * writes it, and every read after that returns the new bytes, from the
 * mapping: the shm source asks mincore again about a page it last saw as
 * a hole. */
static void test_hole_becomes_data(void)
{
	const uint64_t gpa = 6 * MIB + 3 * PG;
	uint8_t *buf = malloc(PG + 1), page[PG];
	struct qvmid_pmem_stats st;
	struct fix f;
	long long before;
	int fd;

	CHECK(buf);
	setup(&f, true);
	before = blocks(f.memfd);
	fd = tcli_connect(f.path);
	for (int i = 0; i < 20; i++) {
		cli_req(fd, QVMI_PMEM_READ, gpa, PG);
		cli_recv(fd, buf, PG + 1);
		CHECK_INT(buf[PG], ==, QVMI_PMEM_STATUS_OK);
		CHECK_INT(buf[0] | buf[PG - 1], ==, 0);
	}
	CHECK_INT(blocks(f.memfd), ==, before);
	for (size_t i = 0; i < PG; i++)
		page[i] = (uint8_t)(i + 1);
	CHECK_INT(pwrite(f.memfd, page, PG, (off_t)gpa), ==, PG);
	for (int i = 0; i < 20; i++) {
		cli_req(fd, QVMI_PMEM_READ, gpa, PG);
		cli_recv(fd, buf, PG + 1);
		CHECK_INT(buf[PG], ==, QVMI_PMEM_STATUS_OK);
		CHECK(!memcmp(buf, page, PG));
	}
	close(fd);
	st = teardown(&f);
	CHECK_U64(st.mapped_bytes, ==, 20 * PG);
	free(buf);
}

/* The same with two worker threads serving the connections: reads of the
 * RAM file from the workers' map, the rest handed to the control
 * thread (pmem-worker.c). */
static void no_workers(void *arg)
{
	(void)arg;
	g_workers = 0;
}

static void with_workers(void (*fn)(void))
{
	g_workers = 2;
	qvmi_test_defer(no_workers, NULL); /* also after a failed CHECK */
	fn();
}

static void test_workers_reads_sendfile(void)
{
	with_workers(test_reads_sendfile);
}

static void test_workers_reads_copy(void)
{
	with_workers(test_reads_copy);
}

static void test_workers_client_leaves(void)
{
	with_workers(test_client_leaves_mid_reply);
}

static void test_workers_file_shrinks(void)
{
	with_workers(test_file_shrinks_sendfile);
	with_workers(test_file_shrinks_copy);
}

static void test_workers_owner_gone(void)
{
	with_workers(test_owner_gone_sendfile);
	with_workers(test_owner_gone_copy);
}

static void test_workers_hole_becomes_data(void)
{
	with_workers(test_hole_becomes_data);
}

static const struct qvmi_test pmem_shm_tests[] = {
	{ "reads_sendfile", test_reads_sendfile },
	{ "reads_copy", test_reads_copy },
	{ "client_leaves_mid_reply", test_client_leaves_mid_reply },
	{ "file_shrinks_sendfile", test_file_shrinks_sendfile },
	{ "file_shrinks_copy", test_file_shrinks_copy },
	{ "owner_gone_sendfile", test_owner_gone_sendfile },
	{ "owner_gone_copy", test_owner_gone_copy },
	{ "hole_becomes_data", test_hole_becomes_data },
	{ "workers_reads_sendfile", test_workers_reads_sendfile },
	{ "workers_reads_copy", test_workers_reads_copy },
	{ "workers_client_leaves", test_workers_client_leaves },
	{ "workers_file_shrinks", test_workers_file_shrinks },
	{ "workers_owner_gone", test_workers_owner_gone },
	{ "workers_hole_becomes_data", test_workers_hole_becomes_data },
};
QVMI_SUITE(pmem_shm, pmem_shm_tests);
