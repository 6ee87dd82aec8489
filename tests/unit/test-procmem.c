// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The process-memory source against our own process and a forked child
 * with known memory: reads, writes, multi-call transfers, unmapped
 * addresses, and the process going away.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "qvmi.h"
#include "core/internal.h"
#include "source/sources.h"

static uint8_t pat(size_t i, unsigned int seed)
{
	return (uint8_t)(i * 11 + seed + (i >> 12));
}

static struct qvmi_ctx *new_ctx(void)
{
	struct qvmi_ctx *ctx = NULL;

	CHECK_OK(qvmi_ctx_create(&ctx));
	/* procmem is a SLOW source: keep the page cache out of the way so
	 * every read really goes to the process */
	qvmi_cache_set_mode(ctx, QVMI_CACHE_OFF);
	return ctx;
}

static void test_self_read_write(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_source *src;
	/* 20 MiB: more than one call's worth of iovecs (16 x 1 MiB) */
	size_t len = 20 << 20;
	uint8_t *mem = malloc(len), *out = malloc(len);
	uint64_t v = 0xa5a5a5a55a5a5a5aull;

	CHECK(mem && out);
	for (size_t i = 0; i < len; i++)
		mem[i] = pat(i, 3);
	CHECK_OK(qvmi__source_procmem_create(ctx, getpid(), &src));
	CHECK_STR(qvmi_source_name(src), "procmem");
	CHECK_OK(qvmi_map_add(ctx, src, 0x40000000, len, (uintptr_t)mem));
	CHECK_OK(qvmi_read_pa(ctx, 0x40000000, out, len));
	CHECK(!memcmp(mem, out, len));
	CHECK_OK(qvmi_read_pa(ctx, 0x40000000 + 12345, out, 8));
	CHECK(!memcmp(mem + 12345, out, 8));
	CHECK_OK(qvmi_write_pa(ctx, 0x40000000 + len - 8, &v, 8));
	CHECK(!memcmp(mem + len - 8, &v, 8));
	for (size_t i = 0; i < len; i++)
		out[i] = pat(i, 99);
	CHECK_OK(qvmi_write_pa(ctx, 0x40000000, out, len));
	CHECK(!memcmp(mem, out, len));
	/* past the registered range */
	CHECK_INT(qvmi_read_pa(ctx, 0x40000000 + len - 4, out, 8), ==, -EFAULT);
	CHECK_U64(qvmi_fault_addr(ctx), ==, 0x40000000 + len);
	free(mem);
	free(out);
	qvmi_ctx_destroy(ctx);
}

static void test_unmapped_hva(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_source *src;
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *m = mmap(NULL, (size_t)pg * 3, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t out[64];

	CHECK(m != MAP_FAILED);
	memset(m, 0x5c, (size_t)pg * 3);
	CHECK_OK(munmap(m + pg, (size_t)pg));
	CHECK_OK(qvmi__source_procmem_create(ctx, getpid(), &src));
	CHECK_OK(qvmi_map_add(ctx, src, 0, (uint64_t)pg * 3, (uintptr_t)m));
	CHECK_OK(qvmi_read_pa(ctx, 0, out, sizeof(out)));
	CHECK_INT(out[63], ==, 0x5c);
	/* across the hole: the first page transfers, then -EFAULT */
	CHECK_INT(qvmi_read_pa(ctx, (uint64_t)pg - 8, out, 16), ==, -EFAULT);
	CHECK_INT(qvmi_read_pa(ctx, (uint64_t)pg + 8, out, 16), ==, -EFAULT);
	CHECK_INT(qvmi_write_pa(ctx, (uint64_t)pg + 8, out, 16), ==, -EFAULT);
	CHECK_OK(qvmi_read_pa(ctx, (uint64_t)pg * 2, out, 16));
	CHECK_INT(out[0], ==, 0x5c);
	/* an address range that wraps the host address space */
	CHECK_INT(src->ops->read(src, UINT64_MAX - 3, out, 8), ==, -EFAULT);
	munmap(m, (size_t)pg);
	munmap(m + 2 * pg, (size_t)pg);
	qvmi_ctx_destroy(ctx);
}

enum { CHILD_LEN = 3 << 20 };

struct child {
	pid_t pid;
	int cmd, reply; /* our ends of the pipes */
};

/* The child fills buf with its own pattern (so it differs from our copy
 * after fork), says ready, then answers "send me bytes [off, off+64)" until
 * the command pipe closes. */
static void child_main(uint8_t *buf, int cmd, int reply)
{
	uint32_t off;

	for (size_t i = 0; i < CHILD_LEN; i++)
		buf[i] = pat(i, 77);
	if (write(reply, "R", 1) != 1)
		_exit(1);
	while (read(cmd, &off, sizeof(off)) == sizeof(off)) {
		if (off > CHILD_LEN - 64)
			_exit(2);
		if (write(reply, buf + off, 64) != 64)
			_exit(3);
	}
	_exit(0);
}

static struct child start_child(uint8_t *buf)
{
	struct child c;
	int to[2], from[2];
	char r;

	CHECK_OK(pipe(to));
	CHECK_OK(pipe(from));
	c.pid = fork();
	CHECK(c.pid >= 0);
	if (c.pid == 0) {
		close(to[1]);
		close(from[0]);
		child_main(buf, to[0], from[1]);
	}
	close(to[0]);
	close(from[1]);
	c.cmd = to[1];
	c.reply = from[0];
	CHECK_INT(read(c.reply, &r, 1), ==, 1);
	return c;
}

static void child_bytes(struct child *c, uint32_t off, uint8_t *out)
{
	CHECK_INT(write(c->cmd, &off, sizeof(off)), ==, sizeof(off));
	CHECK_INT(read(c->reply, out, 64), ==, 64);
}

static void test_forked_child(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_source *src;
	uint8_t *buf = malloc(CHILD_LEN), *out = malloc(CHILD_LEN);
	uint8_t echo[64], w[64];
	struct child c;
	int status;

	CHECK(buf && out);
	memset(buf, 0, CHILD_LEN);
	c = start_child(buf);
	CHECK_OK(qvmi__source_procmem_create(ctx, c.pid, &src));
	CHECK_OK(qvmi_map_add(ctx, src, 0x100000, CHILD_LEN, (uintptr_t)buf));
	/* the child's copy, not ours (ours is still zero) */
	CHECK_OK(qvmi_read_pa(ctx, 0x100000, out, CHILD_LEN));
	for (size_t i = 0; i < CHILD_LEN; i++)
		if (out[i] != pat(i, 77))
			CHECK_MSG(0, "child byte %zu: %#x", i, out[i]);
	CHECK_INT(buf[100], ==, 0);
	/* write into the child; it echoes its memory back */
	for (size_t i = 0; i < sizeof(w); i++)
		w[i] = (uint8_t)(0xf0 ^ i);
	CHECK_OK(qvmi_write_pa(ctx, 0x100000 + 0x200000 + 3, w, sizeof(w)));
	child_bytes(&c, 0x200000 + 3, echo);
	CHECK(!memcmp(echo, w, sizeof(w)));
	CHECK_INT(buf[0x200003], ==, 0);
	/* the child dies: reads fail cleanly, with a message */
	CHECK_OK(kill(c.pid, SIGKILL));
	CHECK_INT(waitpid(c.pid, &status, 0), ==, c.pid);
	CHECK_INT(qvmi_read_pa(ctx, 0x100000, out, 8), ==, -EIO);
	CHECK(strstr(qvmi_errmsg(ctx), "gone"));
	CHECK_INT(qvmi_read_pa(ctx, 0x100000, out, CHILD_LEN), ==, -EIO);
	CHECK_INT(qvmi_write_pa(ctx, 0x100000, w, 8), ==, -EIO);
	close(c.cmd);
	close(c.reply);
	free(buf);
	free(out);
	qvmi_ctx_destroy(ctx);
}

/* A zombie (exited, not yet reaped) has no memory either. */
static void test_zombie(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_source *src;
	uint64_t v = 0;
	siginfo_t si;
	pid_t pid = fork();
	int status;

	CHECK(pid >= 0);
	if (pid == 0)
		_exit(0);
	/* wait until it is a zombie without reaping it */
	CHECK_OK(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT));
	CHECK_OK(qvmi__source_procmem_create(ctx, pid, &src));
	CHECK_OK(qvmi_map_add(ctx, src, 0, 4096, (uintptr_t)&v));
	CHECK_INT(qvmi_read_pa(ctx, 0, &v, 8), ==, -EIO);
	CHECK_INT(waitpid(pid, &status, 0), ==, pid);
	CHECK_INT(qvmi__source_procmem_create(ctx, 0, &src), ==, -EINVAL);
	CHECK_INT(qvmi__source_procmem_create(ctx, -5, &src), ==, -EINVAL);
	qvmi_ctx_destroy(ctx);
}

/* With the VM paused the page cache serves repeated reads. */
static void test_cached_when_paused(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_source *src;
	static uint8_t mem[8192];
	struct qvmi_cache_stats st;
	uint64_t a, b;

	memset(mem, 0x42, sizeof(mem));
	qvmi_cache_set_mode(ctx, QVMI_CACHE_TRUST);
	CHECK_OK(qvmi__source_procmem_create(ctx, getpid(), &src));
	CHECK_OK(qvmi_map_add(ctx, src, 0x1000, 4096, (uintptr_t)mem));
	CHECK_OK(qvmi_read_pa(ctx, 0x1010, &a, 8));
	CHECK_OK(qvmi_read_pa(ctx, 0x1018, &b, 8));
	qvmi_cache_stats(ctx, &st);
	CHECK_U64(st.misses, ==, 1);
	CHECK_U64(st.hits, ==, 1);
	CHECK_U64(a, ==, 0x4242424242424242ull);
	qvmi_ctx_destroy(ctx);
}

static const struct qvmi_test procmem_tests[] = {
	{ "self_read_write", test_self_read_write },
	{ "unmapped_hva", test_unmapped_hva },
	{ "forked_child", test_forked_child },
	{ "zombie", test_zombie },
	{ "cached_when_paused", test_cached_when_paused },
};
QVMI_SUITE(procmem, procmem_tests);
