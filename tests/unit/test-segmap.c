// SPDX-License-Identifier: LGPL-2.1-or-later
/* The guest-physical segment map, errors and the page cache over testmem. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "qvmi.h"
#include "core/internal.h"

static struct qvmi_ctx *new_ctx(void)
{
	struct qvmi_ctx *ctx = NULL;

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK(ctx);
	return ctx;
}

static void fill(uint8_t *b, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 7);
}

static void test_empty_map_faults(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	uint8_t b[8];

	CHECK_INT(qvmi_read_pa(ctx, 0x1234, b, 8), ==, -EFAULT);
	CHECK_U64(qvmi_fault_addr(ctx), ==, 0x1234);
	CHECK_INT(qvmi_errcode(ctx), ==, -EFAULT);
	CHECK(strstr(qvmi_errmsg(ctx), "0x1234"));
	CHECK_INT(qvmi_read_pa(ctx, 0, b, 0), ==, 0);
	qvmi_ctx_destroy(ctx);
	qvmi_ctx_destroy(NULL);
}

static void test_cross_segment_read(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	static uint8_t a[8192], b[8192];
	struct qvmi_source *sa, *sb;
	uint8_t out[256];

	fill(a, sizeof(a), 1);
	fill(b, sizeof(b), 100);
	CHECK_OK(qvmi_source_testmem_create(ctx, a, sizeof(a), 1, &sa));
	CHECK_OK(qvmi_source_testmem_create(ctx, b, sizeof(b), 1, &sb));
	CHECK_OK(qvmi_map_add(ctx, sa, 0x10000, 0x1000, 0));
	CHECK_OK(qvmi_map_add(ctx, sb, 0x11000, 0x1000, 0x1000));
	CHECK_OK(qvmi_read_pa(ctx, 0x10f80, out, 256));
	CHECK(!memcmp(out, a + 0xf80, 128));
	CHECK(!memcmp(out + 128, b + 0x1000, 128));
	/* a gap right after the second segment */
	CHECK_INT(qvmi_read_pa(ctx, 0x11f00, out, 0x200), ==, -EFAULT);
	CHECK_U64(qvmi_fault_addr(ctx), ==, 0x12000);
	CHECK_INT(qvmi_map_count(ctx), ==, 2);
	qvmi_ctx_destroy(ctx);
}

static void test_later_wins(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	static uint8_t lo[0x10000], hi[0x1000];
	struct qvmi_source *slo, *shi;
	struct qvmi_map_entry e;
	uint8_t out[0x3000];

	memset(lo, 'L', sizeof(lo));
	memset(hi, 'H', sizeof(hi));
	CHECK_OK(qvmi_source_testmem_create(ctx, lo, sizeof(lo), 1, &slo));
	CHECK_OK(qvmi_source_testmem_create(ctx, hi, sizeof(hi), 1, &shi));
	CHECK_OK(qvmi_map_add(ctx, slo, 0, sizeof(lo), 0));
	/* punch the middle: splits lo in two */
	CHECK_OK(qvmi_map_add(ctx, shi, 0x4000, 0x1000, 0));
	CHECK_INT(qvmi_map_count(ctx), ==, 3);
	CHECK_OK(qvmi_map_get(ctx, 2, &e));
	CHECK_U64(e.gpa, ==, 0x5000);
	CHECK_U64(e.src_addr, ==, 0x5000);
	CHECK_OK(qvmi_read_pa(ctx, 0x3000, out, sizeof(out)));
	CHECK(out[0] == 'L' && out[0xfff] == 'L');
	CHECK(out[0x1000] == 'H' && out[0x1fff] == 'H');
	CHECK(out[0x2000] == 'L');
	/* re-cover everything with lo again: back to one segment */
	CHECK_OK(qvmi_map_add(ctx, slo, 0, sizeof(lo), 0));
	CHECK_INT(qvmi_map_count(ctx), ==, 1);
	/* a catch-all over all of 2^64 under everything */
	CHECK_OK(qvmi_map_add(ctx, shi, 0xfffffffffffff000ull, 0x1000, 0));
	CHECK_INT(qvmi_read_pa(ctx, 0xfffffffffffff000ull, out, 0x1000), ==, 0);
	CHECK_INT(qvmi_read_pa(ctx, 0xfffffffffffffff0ull, out, 0x20), ==,
		  -EINVAL);
	qvmi_ctx_destroy(ctx);
}

static void test_write_and_readonly(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	static uint8_t rw[0x2000], ro[0x1000];
	struct qvmi_source *srw, *sro;
	uint8_t v[4] = { 1, 2, 3, 4 }, out[4];

	CHECK_OK(qvmi_source_testmem_create(ctx, rw, sizeof(rw), 1, &srw));
	CHECK_OK(qvmi_source_testmem_create(ctx, ro, sizeof(ro), 0, &sro));
	CHECK_OK(qvmi_map_add(ctx, srw, 0, sizeof(rw), 0));
	CHECK_OK(qvmi_map_add(ctx, sro, 0x2000, sizeof(ro), 0));
	CHECK_OK(qvmi_write_pa(ctx, 0x1ffe, v, 2));
	CHECK(rw[0x1ffe] == 1 && rw[0x1fff] == 2);
	CHECK_INT(qvmi_write_pa(ctx, 0x2000, v, 4), ==, -EOPNOTSUPP);
	CHECK_OK(qvmi_read_pa(ctx, 0x1ffe, out, 2));
	CHECK(out[0] == 1 && out[1] == 2);
	qvmi_ctx_destroy(ctx);
}

/* A slow source that counts its reads, to observe the page cache. */
static int slow_reads;
static uint8_t slow_mem[0x4000];
static int slow_read(struct qvmi_source *s, uint64_t a, void *b, size_t n)
{
	slow_reads++;
	if (a > sizeof(slow_mem) || n > sizeof(slow_mem) - a)
		return -EFAULT;
	memcpy(b, slow_mem + a, n);
	return 0;
}
static int slow_write(struct qvmi_source *s, uint64_t a, const void *b,
		      size_t n)
{
	memcpy(slow_mem + a, b, n);
	return 0;
}
static const struct qvmi_source_ops slow_ops = { "slow", slow_read, slow_write,
						 NULL };

static void test_page_cache(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_source *s;
	struct qvmi_cache_stats st;
	uint8_t out[16];

	fill(slow_mem, sizeof(slow_mem), 9);
	CHECK_OK(
		qvmi_source_create(ctx, &slow_ops, NULL, QVMI_SOURCE_SLOW, &s));
	CHECK_OK(qvmi_map_add(ctx, s, 0x100000, sizeof(slow_mem), 0));
	/* AUTO and no control backend: the VM is not known to be paused, so
	 * every read goes to the source. */
	slow_reads = 0;
	CHECK_OK(qvmi_read_pa(ctx, 0x100010, out, 16));
	CHECK_OK(qvmi_read_pa(ctx, 0x100010, out, 16));
	CHECK_INT(slow_reads, ==, 2);
	/* TRUST: one page read, then hits */
	qvmi_cache_set_mode(ctx, QVMI_CACHE_TRUST);
	slow_reads = 0;
	CHECK_OK(qvmi_read_pa(ctx, 0x100010, out, 16));
	CHECK_OK(qvmi_read_pa(ctx, 0x100020, out, 16));
	CHECK_INT(slow_reads, ==, 1);
	CHECK(!memcmp(out, slow_mem + 0x20, 16));
	/* a write invalidates the page */
	CHECK_OK(qvmi_write_pa(ctx, 0x100020, "abcd", 4));
	CHECK_OK(qvmi_read_pa(ctx, 0x100020, out, 4));
	CHECK(!memcmp(out, "abcd", 4));
	CHECK_INT(slow_reads, ==, 2);
	qvmi_cache_stats(ctx, &st);
	CHECK_U64(st.hits, ==, 1);
	qvmi_cache_flush(ctx);
	CHECK_OK(qvmi_read_pa(ctx, 0x100020, out, 4));
	CHECK_INT(slow_reads, ==, 3);
	qvmi_ctx_destroy(ctx);
}

static void test_page_cache_batches_misses(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_source *s;
	struct qvmi_cache_stats st;
	uint8_t out[3 * 4096];

	fill(slow_mem, sizeof(slow_mem), 3);
	CHECK_OK(
		qvmi_source_create(ctx, &slow_ops, NULL, QVMI_SOURCE_SLOW, &s));
	CHECK_OK(qvmi_map_add(ctx, s, 0x100000, sizeof(slow_mem), 0));
	qvmi_cache_set_mode(ctx, QVMI_CACHE_TRUST);
	/* page 1 cached first: the read of pages 0..2 then needs 2 calls */
	slow_reads = 0;
	CHECK_OK(qvmi_read_pa(ctx, 0x101000, out, 8));
	CHECK_OK(qvmi_read_pa(ctx, 0x100000, out, sizeof(out)));
	CHECK_INT(slow_reads, ==, 3);
	CHECK(!memcmp(out, slow_mem, sizeof(out)));
	/* a cold 3-page read is a single source call */
	qvmi_cache_flush(ctx);
	slow_reads = 0;
	CHECK_OK(qvmi_read_pa(ctx, 0x100800, out, 2 * 4096));
	CHECK_INT(slow_reads, ==, 1);
	CHECK(!memcmp(out, slow_mem + 0x800, 2 * 4096));
	CHECK_OK(qvmi_read_pa(ctx, 0x102000, out, 4096));
	CHECK_INT(slow_reads, ==, 1);
	/* hits: page 1 in the first 3-page read, pages 1 and 2 after the
	 * batched fill, page 2 again */
	qvmi_cache_stats(ctx, &st);
	CHECK_U64(st.hits, ==, 4);
	CHECK_U64(st.misses, ==, 6);
	qvmi_ctx_destroy(ctx);
}

/* A source that knows the exact faulting byte in its own address space. */
static int precise_read(struct qvmi_source *s, uint64_t a, void *b, size_t n)
{
	if (a <= 0x5005 && a + n > 0x5005)
		return qvmi__fault(qvmi_source_ctx(s), 0x5005, "precise");
	memset(b, 0, n);
	return 0;
}
static const struct qvmi_source_ops precise_ops = { "precise", precise_read,
						    NULL, NULL };

static void test_source_fault_address(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	struct qvmi_source *s;
	uint8_t out[64];

	CHECK_OK(qvmi_source_create(ctx, &precise_ops, NULL, 0, &s));
	/* GPA 0x9000 is source address 0x5000 */
	CHECK_OK(qvmi_map_add(ctx, s, 0x9000, 0x1000, 0x5000));
	CHECK_OK(qvmi_read_pa(ctx, 0x9000, out, 5));
	CHECK_INT(qvmi_read_pa(ctx, 0x9001, out, 64), ==, -EFAULT);
	CHECK_U64(qvmi_fault_addr(ctx), ==, 0x9005);
	qvmi_ctx_destroy(ctx);
}

static int count_hit(uint64_t gpa, void *arg)
{
	uint64_t *v = arg;

	v[v[0] + 1] = gpa;
	v[0]++;
	return v[0] >= 8;
}

static void test_find_across_chunks(void)
{
	struct qvmi_ctx *ctx = new_ctx();
	size_t sz = 3u << 20;
	uint8_t *mem = calloc(1, sz);
	struct qvmi_source *s;
	uint64_t hits[10] = { 0 };

	CHECK(mem);
	memcpy(mem + 0x100, "NEEDLE", 6);
	memcpy(mem + (1u << 20) - 3, "NEEDLE", 6); /* straddles 1 MiB */
	memcpy(mem + sz - 6, "NEEDLE", 6);
	CHECK_OK(qvmi_source_testmem_create(ctx, mem, sz, 1, &s));
	CHECK_OK(qvmi_map_add(ctx, s, 0x40000000, sz, 0));
	CHECK_OK(qvmi_find_pa(ctx, "NEEDLE", 6, count_hit, hits));
	CHECK_U64(hits[0], ==, 3);
	CHECK_U64(hits[1], ==, 0x40000100);
	CHECK_U64(hits[2], ==, 0x40000000 + (1u << 20) - 3);
	CHECK_U64(hits[3], ==, 0x40000000 + sz - 6);
	CHECK_INT(qvmi_find_pa(ctx, "", 0, count_hit, hits), ==, -EINVAL);
	qvmi_ctx_destroy(ctx);
	free(mem);
}

struct opts_probe {
	size_t sz;
	unsigned int sources;
	int timeout_ms;
	uint64_t future;
};

static void test_opts_unknown_tail(void)
{
	const size_t known = offsetof(struct opts_probe, future);
	struct opts_probe o = { sizeof(o), 0, 0, 0 };
	struct qvmi_attach_opts small = { 4 };

	/* A caller built against a newer header (one more field than the
	 * library knows): fine while the unknown tail is zero, refused once
	 * it sets a field we don't know. */
	CHECK(qvmi__opts_valid(&o, known));
	o.future = 1;
	CHECK(!qvmi__opts_valid(&o, known));
	CHECK(qvmi__opts_valid(NULL, known));
	CHECK(!qvmi__opts_valid(&small, sizeof(struct qvmi_attach_opts)));
}

static const struct qvmi_test segmap_tests[] = {
	{ "empty_map_faults", test_empty_map_faults },
	{ "cross_segment_read", test_cross_segment_read },
	{ "later_wins", test_later_wins },
	{ "write_and_readonly", test_write_and_readonly },
	{ "page_cache", test_page_cache },
	{ "page_cache_batches_misses", test_page_cache_batches_misses },
	{ "source_fault_address", test_source_fault_address },
	{ "find_across_chunks", test_find_across_chunks },
	{ "opts_unknown_tail", test_opts_unknown_tail },
};
QVMI_SUITE(segmap, segmap_tests);
