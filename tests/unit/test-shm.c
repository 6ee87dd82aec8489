// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The shared-RAM source over a sparse memfd, like QEMU's
 * memory-backend-memfd: data and holes, zero-copy small reads, bulk reads
 * and scans that must not allocate the holes, writes seen through the fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "qvmi.h"
#include "core/internal.h"
#include "source/sources.h"

enum { SHM_SIZE = 256 << 20, PG = 4096 };

/* Pages written before the test: offset and fill seed.  Spread so that
 * bulk reads cross data/hole boundaries in every direction. */
static const uint64_t data_pages[] = {
	0,
	PG * 3,
	0x100000 - PG,
	0x100000,
	100ull << 20,
	(200ull << 20) + PG * 7,
	SHM_SIZE - PG,
};

static uint8_t page_byte(uint64_t off, size_t i)
{
	return (uint8_t)((off >> 12) * 31 + i * 7 + 1);
}

static int make_memfd(void)
{
	uint8_t page[PG];
	int fd = memfd_create("qvmi-test-shm", MFD_CLOEXEC);

	CHECK_MSG(fd >= 0, "memfd_create: %s", strerror(errno));
	CHECK_OK(ftruncate(fd, SHM_SIZE));
	for (size_t p = 0; p < QVMI_ARRAY_SIZE(data_pages); p++) {
		for (size_t i = 0; i < PG; i++)
			page[i] = page_byte(data_pages[p], i);
		CHECK_INT(pwrite(fd, page, PG, (off_t)data_pages[p]), ==, PG);
	}
	return fd;
}

static long long blocks(int fd)
{
	struct stat st;

	CHECK_OK(fstat(fd, &st));
	return (long long)st.st_blocks;
}

/* What the file holds at off (data page or hole). */
static uint8_t expect_at(uint64_t off)
{
	uint64_t pg = off & ~(uint64_t)(PG - 1);

	for (size_t p = 0; p < QVMI_ARRAY_SIZE(data_pages); p++)
		if (data_pages[p] == pg)
			return page_byte(pg, (size_t)(off - pg));
	return 0;
}

struct fix {
	struct qvmi_ctx *ctx;
	struct qvmi_source *src;
	int fd; /* the test's own fd; the source owns a dup */
};

static struct fix setup(uint64_t gpa)
{
	struct fix f = { 0 };
	int dfd;

	f.fd = make_memfd();
	CHECK_OK(qvmi_ctx_create(&f.ctx));
	dfd = dup(f.fd);
	CHECK(dfd >= 0);
	CHECK_OK(qvmi__source_shm_create(f.ctx, dfd, true, &f.src));
	CHECK(qvmi__shm_host(f.src, 0));
	CHECK(!qvmi__shm_host(f.src, SHM_SIZE));
	CHECK_U64(qvmi__shm_size(f.src), ==, SHM_SIZE);
	CHECK_OK(qvmi__map_add_host(f.ctx, f.src, gpa, SHM_SIZE, 0,
				    qvmi__shm_host(f.src, 0)));
	CHECK_OK(qvmi__ram_add(f.ctx, gpa, SHM_SIZE));
	return f;
}

static void teardown(struct fix *f)
{
	qvmi_ctx_destroy(f->ctx);
	close(f->fd);
}

static void test_small_reads(void)
{
	struct fix f = setup(0x1000000);
	uint8_t b[64];

	for (size_t p = 0; p < QVMI_ARRAY_SIZE(data_pages); p++) {
		uint64_t off = data_pages[p] + 100;

		CHECK_OK(qvmi_read_pa(f.ctx, 0x1000000 + off, b, sizeof(b)));
		for (size_t i = 0; i < sizeof(b); i++)
			CHECK_INT(b[i], ==, expect_at(off + i));
	}
	/* the last 8 bytes, then one past the end */
	CHECK_OK(qvmi_read_pa(f.ctx, 0x1000000 + SHM_SIZE - 8, b, 8));
	CHECK_INT(b[7], ==, page_byte(SHM_SIZE - PG, PG - 1));
	CHECK_INT(qvmi_read_pa(f.ctx, 0x1000000 + SHM_SIZE - 8, b, 9), ==,
		  -EFAULT);
	CHECK_U64(qvmi_fault_addr(f.ctx), ==, 0x1000000 + SHM_SIZE);
	teardown(&f);
}

/* Bulk reads (>= QVMI_BULK_MIN) go through SEEK_DATA/pread: exact bytes,
 * zeros in holes, and no new blocks allocated in the file. */
static void test_bulk_read_sparse(void)
{
	struct fix f = setup(0);
	size_t len = 8 << 20;
	uint8_t *b = malloc(len);
	long long before = blocks(f.fd);
	static const uint64_t starts[] = { 0, PG * 2 + 5, 0x100000 - 3 * PG,
					   (100ull << 20) - 12345,
					   SHM_SIZE - (8 << 20) };

	CHECK(b);
	for (size_t s = 0; s < QVMI_ARRAY_SIZE(starts); s++) {
		memset(b, 0xee, len);
		CHECK_OK(qvmi_read_pa(f.ctx, starts[s], b, len));
		for (size_t i = 0; i < len; i++)
			if (b[i] != expect_at(starts[s] + i))
				CHECK_MSG(0, "byte at 0x%" PRIx64 ": %#x",
					  starts[s] + i, b[i]);
	}
	CHECK_INT(blocks(f.fd), ==, before);
	/* bulk read past the end */
	CHECK_INT(qvmi_read_pa(f.ctx, SHM_SIZE - QVMI_BULK_MIN, b,
			       QVMI_BULK_MIN + 1),
		  ==, -EFAULT);
	CHECK_U64(qvmi_fault_addr(f.ctx), ==, SHM_SIZE);
	/* the source's own bounds check */
	CHECK_INT(f.src->ops->read(f.src, SHM_SIZE - 10, b, 20), ==, -EFAULT);
	CHECK_INT(f.src->ops->read(f.src, UINT64_MAX - 4, b, 20), ==, -EFAULT);
	free(b);
	teardown(&f);
}

struct hits {
	uint64_t at[16];
	size_t n;
};

static int on_hit(uint64_t gpa, void *arg)
{
	struct hits *h = arg;

	if (h->n < QVMI_ARRAY_SIZE(h->at))
		h->at[h->n] = gpa;
	h->n++;
	return 0;
}

static void test_find_does_not_allocate(void)
{
	struct fix f = setup(0x100000000ull);
	static const char pat[] = "QVMI-SHM-MARKER";
	struct hits h = { 0 };
	long long before;

	/* one marker straddling the 1 MiB scan chunk boundary, one late */
	CHECK_INT(pwrite(f.fd, pat, sizeof(pat), 0x100000 - 5), ==,
		  sizeof(pat));
	CHECK_INT(pwrite(f.fd, pat, sizeof(pat), (200ull << 20) + PG * 7 + 9),
		  ==, sizeof(pat));
	before = blocks(f.fd);
	CHECK_OK(qvmi_find_pa(f.ctx, pat, sizeof(pat), on_hit, &h));
	CHECK_INT(h.n, ==, 2);
	CHECK_U64(h.at[0], ==, 0x100000000ull + 0x100000 - 5);
	CHECK_U64(h.at[1], ==, 0x100000000ull + (200ull << 20) + PG * 7 + 9);
	/* 256 MiB scanned, not one block more allocated */
	CHECK_INT(blocks(f.fd), ==, before);
	teardown(&f);
}

static void test_writes_visible_via_fd(void)
{
	struct fix f = setup(0x2000);
	size_t big = QVMI_BULK_MIN * 2;
	uint8_t *w = malloc(big), *r = malloc(big);
	uint64_t v = 0x1122334455667788ull, got = 0;

	CHECK(w && r);
	CHECK_OK(qvmi_write_pa(f.ctx, 0x2000 + (50 << 20), &v, sizeof(v)));
	CHECK_INT(pread(f.fd, &got, sizeof(got), 50 << 20), ==, sizeof(got));
	CHECK_U64(got, ==, v);
	for (size_t i = 0; i < big; i++)
		w[i] = (uint8_t)(i * 13 + 5);
	CHECK_OK(qvmi_write_pa(f.ctx, 0x2000 + (60 << 20) + 3, w, big));
	CHECK_INT(pread(f.fd, r, big, (60 << 20) + 3), ==, (ssize_t)big);
	CHECK(!memcmp(w, r, big));
	/* and read back through the bulk (pread) path */
	memset(r, 0, big);
	CHECK_OK(qvmi_read_pa(f.ctx, 0x2000 + (60 << 20) + 3, r, big));
	CHECK(!memcmp(w, r, big));
	CHECK_INT(qvmi_write_pa(f.ctx, 0x2000 + SHM_SIZE - 4, &v, 8), ==,
		  -EFAULT);
	free(w);
	free(r);
	teardown(&f);
}

/* Changes made through the fd (by "the guest") are seen at once. */
static void test_sees_live_changes(void)
{
	struct fix f = setup(0);
	uint32_t v = 0xdeadbeef, got = 0;
	uint8_t *b = malloc(QVMI_BULK_MIN);

	CHECK(b);
	CHECK_INT(pwrite(f.fd, &v, 4, 0x7000), ==, 4);
	CHECK_OK(qvmi_read_pa(f.ctx, 0x7000, &got, 4));
	CHECK_U64(got, ==, 0xdeadbeef);
	CHECK_INT(pwrite(f.fd, &v, 4, (30 << 20) + 8), ==, 4);
	CHECK_OK(qvmi_read_pa(f.ctx, 30 << 20, b, QVMI_BULK_MIN));
	CHECK(!memcmp(b + 8, &v, 4));
	CHECK_INT(b[7], ==, 0);
	free(b);
	teardown(&f);
}

/* Small random reads all over a sparse file: exact bytes, holes read as
 * zeros, and the file gains no block (a touch through the mapping would
 * allocate each hole page).  A hole that becomes data later is seen. */
static void test_small_reads_keep_holes(void)
{
	struct fix f = setup(0);
	long long before = blocks(f.fd);
	uint64_t st = 12345, v, want = 0x1122334455667788ull;
	uint8_t b[8];

	for (int i = 0; i < 20000; i++) {
		uint64_t off;

		st ^= st << 13, st ^= st >> 7, st ^= st << 17;
		off = st % (SHM_SIZE - 8);
		CHECK_OK(qvmi_read_pa(f.ctx, off, b, 8));
		for (size_t j = 0; j < 8; j++)
			CHECK_INT(b[j], ==, expect_at(off + j));
	}
	for (size_t p = 0; p < QVMI_ARRAY_SIZE(data_pages); p++)
		CHECK_OK(qvmi_read_pa(f.ctx, data_pages[p], b, 8));
	CHECK_INT(blocks(f.fd), ==, before);
	/* the guest writes a page we saw as a hole: then we read the data */
	CHECK_OK(qvmi_read_pa(f.ctx, 0x300000, &v, 8));
	CHECK_U64(v, ==, 0);
	CHECK_INT(pwrite(f.fd, &want, 8, 0x300000), ==, 8);
	CHECK_OK(qvmi_read_pa(f.ctx, 0x300000, &v, 8));
	CHECK_U64(v, ==, want);
	teardown(&f);
}

static void test_read_only_fd(void)
{
	struct qvmi_ctx *ctx;
	struct qvmi_source *src;
	char path[64];
	int fd = make_memfd(), rfd;
	uint8_t b[16];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rfd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(rfd >= 0);
	CHECK_OK(qvmi_ctx_create(&ctx));
	/* asked for writable, but the fd is read-only: falls back */
	CHECK_OK(qvmi__source_shm_create(ctx, rfd, true, &src));
	CHECK_OK(qvmi__map_add_host(ctx, src, 0, SHM_SIZE, 0,
				    qvmi__shm_host(src, 0)));
	CHECK_OK(qvmi_read_pa(ctx, 0x100000, b, sizeof(b)));
	CHECK_INT(b[0], ==, page_byte(0x100000, 0));
	CHECK_INT(qvmi_write_pa(ctx, 0, b, 1), ==, -EOPNOTSUPP);
	qvmi_ctx_destroy(ctx);
	close(fd);
}

static ino_t ino_of(int fd)
{
	struct stat st;

	CHECK_OK(fstat(fd, &st));
	return st.st_ino;
}

/* qvmi__pa_file: the source's own file and offset, clipped to the
 * segment; other sources say how far they reach; lookups only. */
static void test_pa_file(void)
{
	const uint64_t base = 0x1000000, rom = base + SHM_SIZE;
	struct fix f = setup(base);
	struct qvmi_source *tm;
	struct qvmi_pa_file pf;
	uint8_t rombuf[8192] = { 0 }, b[1];
	char msg[QVMI_ERRMSG_MAX];

	CHECK_OK(qvmi_source_testmem_create(f.ctx, rombuf, sizeof(rombuf), 0,
					    &tm));
	CHECK_OK(qvmi_map_add(f.ctx, tm, rom, sizeof(rombuf), 0));
	CHECK_OK(qvmi__pa_file(f.ctx, base + 0x5000, 100, &pf));
	CHECK(pf.fd >= 0 && pf.fd != f.fd); /* the source's dup */
	CHECK_U64(ino_of(pf.fd), ==, ino_of(f.fd));
	CHECK_U64(pf.off, ==, 0x5000);
	CHECK_U64(pf.len, ==, 100);
	CHECK_OK(qvmi__pa_file(f.ctx, rom - 10, 100, &pf));
	CHECK_U64(pf.off, ==, SHM_SIZE - 10);
	CHECK_U64(pf.len, ==, 10); /* the file ends there */
	/* the last error stays what it was */
	CHECK_INT(qvmi_read_pa(f.ctx, 0, b, 1), ==, -EFAULT);
	snprintf(msg, sizeof(msg), "%s", qvmi_errmsg(f.ctx));
	CHECK_INT(qvmi__pa_file(f.ctx, rom, 100, &pf), ==, -EOPNOTSUPP);
	CHECK_INT(pf.fd, ==, -1);
	CHECK_U64(pf.len, ==, 100);
	CHECK_INT(qvmi__pa_file(f.ctx, rom + 4096, 1 << 20, &pf), ==,
		  -EOPNOTSUPP);
	CHECK_U64(pf.len, ==, 4096); /* up to the testmem's end */
	CHECK_INT(qvmi__pa_file(f.ctx, rom + sizeof(rombuf), 1, &pf), ==,
		  -EFAULT);
	CHECK_INT(qvmi__pa_file(f.ctx, 0, 1, &pf), ==, -EFAULT);
	CHECK_INT(qvmi__pa_file(f.ctx, base, 0, &pf), ==, -EINVAL);
	CHECK_STR(qvmi_errmsg(f.ctx), msg);
	teardown(&f);
}

/* Send [off, off + len) of the file as qvmi__pa_file describes it, through
 * a socketpair, and check every byte against the file's layout. */
static void sendfile_check(struct fix *f, uint64_t base, uint64_t off,
			   size_t len, int sv[2])
{
	static uint8_t b[64 * 1024];
	size_t done = 0;

	while (done < len) {
		struct qvmi_pa_file pf;
		off_t o;
		ssize_t n;
		size_t got = 0;

		CHECK_OK(qvmi__pa_file(f->ctx, base + off + done, len - done,
				       &pf));
		o = (off_t)pf.off;
		n = sendfile(sv[0], pf.fd, &o, QVMI_MIN(pf.len, sizeof(b)));
		CHECK_MSG(n > 0, "sendfile: %s", strerror(errno));
		CHECK_U64((uint64_t)o, ==, pf.off + (uint64_t)n);
		while (got < (size_t)n) {
			ssize_t r = recv(sv[1], b + got, (size_t)n - got, 0);

			CHECK(r > 0);
			got += (size_t)r;
		}
		for (size_t i = 0; i < got; i++)
			CHECK_INT(b[i], ==, expect_at(off + done + i));
		done += got;
	}
}

/* The file and offset pmem-server sends from: sendfile over data and
 * holes gives the right bytes and allocates nothing, while one read
 * through the mapping allocates a hole (Linux 6.1 and 6.18 tmpfs): the
 * reason the server sends from the file. */
static void test_pa_file_sendfile_sparse(void)
{
	static const uint64_t starts[] = { 0, (100ull << 20) - (1 << 20),
					   (200ull << 20) - 777,
					   SHM_SIZE - (1 << 20) };
	const uint64_t base = 0x40000000;
	struct fix f = setup(base);
	long long before = blocks(f.fd);
	volatile uint8_t *hole;
	int sv[2];

	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(starts); i++)
		sendfile_check(&f, base, starts[i], 1 << 20, sv);
	sendfile_check(&f, base, 0x100000 - 100, 300, sv);
	CHECK_INT(blocks(f.fd), ==, before);
	hole = qvmi__shm_host(f.src, 50ull << 20);
	CHECK_INT(*hole, ==, 0);
	CHECK_MSG(blocks(f.fd) > before,
		  "a read through the mapping allocated no block (%lld)",
		  blocks(f.fd));
	close(sv[0]);
	close(sv[1]);
	teardown(&f);
}

/* Once the QEMU owning the file exits, bulk lookups say -EIO (the bytes
 * are stale), as bulk reads do; small ones stay a plain lookup. */
static void test_pa_file_owner_gone(void)
{
	struct fix f = setup(0);
	struct qvmi_pa_file pf;
	pid_t pid = fork();
	int status;

	CHECK(pid >= 0);
	if (!pid)
		_exit(0);
	CHECK_OK(qvmi__pa_file(f.ctx, 0, QVMI_BULK_MIN, &pf));
	if (qvmi__shm_set_owner(f.src, pid)) {
		waitpid(pid, &status, 0);
		teardown(&f);
		SKIP("pidfd_open unavailable (kernel < 5.3, valgrind)");
	}
	CHECK_INT(waitpid(pid, &status, 0), ==, pid);
	CHECK_INT(qvmi__pa_file(f.ctx, 0, QVMI_BULK_MIN, &pf), ==, -EIO);
	CHECK_OK(qvmi__pa_file(f.ctx, 0, QVMI_BULK_MIN - 1, &pf));
	CHECK_U64(pf.len, ==, QVMI_BULK_MIN - 1);
	teardown(&f);
}

static void test_bad_files(void)
{
	struct qvmi_ctx *ctx;
	struct qvmi_source *src = NULL;
	int p[2], fd;

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(pipe(p));
	CHECK_INT(qvmi__source_shm_create(ctx, p[0], true, &src), ==, -EINVAL);
	/* the source took ownership and closed it */
	CHECK_INT(fcntl(p[0], F_GETFD), ==, -1);
	close(p[1]);
	fd = memfd_create("qvmi-empty", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_INT(qvmi__source_shm_create(ctx, fd, true, &src), ==, -EINVAL);
	CHECK(strstr(qvmi_errmsg(ctx), "regular"));
	CHECK_INT(qvmi__source_shm_create(ctx, -1, true, &src), ==, -EINVAL);
	CHECK(!src);
	CHECK(!qvmi__shm_host(NULL, 0));
	qvmi_ctx_destroy(ctx);
}

/* Find our own shared mapping of a memfd the way attach finds QEMU's. */
static void test_find_backing_shared(void)
{
	struct qvmi_ctx *ctx;
	struct qvmi_shm_backing b;
	int fd = memfd_create("memory-backend-memfd", MFD_CLOEXEC), ofd = -1;
	uint8_t *m;
	uint32_t v = 0x600dcafe, got = 0;

	CHECK(fd >= 0);
	CHECK_OK(ftruncate(fd, 1 << 20));
	/* map from file offset 0x2000, like a RAM block not at offset 0 */
	m = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0x2000);
	CHECK(m != MAP_FAILED);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi__shm_find_backing(ctx, getpid(), (uintptr_t)m + 0x3008,
					&b));
	CHECK(b.shared);
	CHECK(b.writable);
	CHECK_U64(b.vma_start, ==, (uintptr_t)m);
	CHECK_U64(b.vma_end, ==, (uintptr_t)m + 0x10000);
	CHECK_U64(b.file_off, ==, 0x2000);
	CHECK_U64(b.ino, ==, ino_of(fd));
	CHECK(strstr(b.path, "/memfd:memory-backend-memfd"));
	/* via map_files */
	CHECK_OK(qvmi__shm_open_backing(ctx, getpid(), &b, 0, &ofd));
	CHECK_U64(ino_of(ofd), ==, ino_of(fd));
	CHECK_INT(pwrite(ofd, &v, 4, 0x2000 + 0x3008), ==, 4);
	memcpy(&got, m + 0x3008, 4);
	CHECK_U64(got, ==, v);
	close(ofd);
	/* via the fd scan: our fd is open, like QEMU's memfd */
	CHECK_OK(qvmi__shm_open_backing(ctx, getpid(), &b,
					QVMI_SHM_NO_MAP_FILES, &ofd));
	CHECK_U64(ino_of(ofd), ==, ino_of(fd));
	close(ofd);
	/* no fd left and no map_files: "(deleted)" path must not open */
	close(fd);
	CHECK_INT(qvmi__shm_open_backing(ctx, getpid(), &b,
					 QVMI_SHM_NO_MAP_FILES, &ofd),
		  ==, -ENOENT);
	CHECK_OK(qvmi__shm_open_backing(ctx, getpid(), &b, 0, &ofd));
	close(ofd);
	munmap(m, 0x10000);
	qvmi_ctx_destroy(ctx);
}

static void test_find_backing_rejects(void)
{
	struct qvmi_ctx *ctx;
	struct qvmi_shm_backing b;
	int fd = memfd_create("qvmi-private", MFD_CLOEXEC);
	uint8_t *priv, *anon;

	CHECK(fd >= 0);
	CHECK_OK(ftruncate(fd, 1 << 16));
	priv = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	anon = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(priv != MAP_FAILED && anon != MAP_FAILED);
	CHECK_OK(qvmi_ctx_create(&ctx));
	/* share=off: QEMU's writes land in private copies we cannot see */
	CHECK_INT(qvmi__shm_find_backing(ctx, getpid(), (uintptr_t)priv + 8,
					 &b),
		  ==, -ENOENT);
	CHECK(strstr(qvmi_errmsg(ctx), "private"));
	CHECK_INT(qvmi__shm_find_backing(ctx, getpid(), (uintptr_t)anon, &b),
		  ==, -ENOENT);
	CHECK(strstr(qvmi_errmsg(ctx), "anonymous"));
	CHECK_INT(qvmi__shm_find_backing(ctx, getpid(), 0x1000, &b), ==,
		  -ENOENT);
	CHECK(strstr(qvmi_errmsg(ctx), "not mapped"));
	CHECK_INT(qvmi__shm_find_backing(ctx, 0x7ffffff0, 0x1000, &b), ==,
		  -ESRCH);
	munmap(priv, 1 << 16);
	munmap(anon, 1 << 16);
	close(fd);
	qvmi_ctx_destroy(ctx);
}

static const struct qvmi_test shm_tests[] = {
	{ "small_reads", test_small_reads },
	{ "bulk_read_sparse", test_bulk_read_sparse },
	{ "find_does_not_allocate", test_find_does_not_allocate },
	{ "writes_visible_via_fd", test_writes_visible_via_fd },
	{ "sees_live_changes", test_sees_live_changes },
	{ "small_reads_keep_holes", test_small_reads_keep_holes },
	{ "read_only_fd", test_read_only_fd },
	{ "bad_files", test_bad_files },
	{ "pa_file", test_pa_file },
	{ "pa_file_sendfile_sparse", test_pa_file_sendfile_sparse },
	{ "pa_file_owner_gone", test_pa_file_owner_gone },
	{ "find_backing_shared", test_find_backing_shared },
	{ "find_backing_rejects", test_find_backing_rejects },
};
QVMI_SUITE(shm, shm_tests);
