// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The three live-memory sources against a real guest: each one forced
 * alone must read the same bytes, writes through one are seen by another,
 * reads past RAM fault, and a full scan does not grow the RAM backing file.
 * Needs QVMI_GUEST_QMP=<QEMU's QMP socket>; skipped otherwise.  QEMU 7.2
 * serves one QMP client at a time, so contexts are attached one by one.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "qvmi.h"
#include "core/internal.h"
#include "source/sources.h"

static const char *qmp_path;
/* The one attached context; a failed test longjmps past its cleanup, so
 * the next attach closes it (and with it the QMP connection). */
static struct qvmi_ctx *cur;

static const char *sources_setup(void)
{
	qmp_path = getenv("QVMI_GUEST_QMP");
	return qmp_path && *qmp_path ? NULL : "QVMI_GUEST_QMP not set";
}

static void detach(void)
{
	qvmi_ctx_destroy(cur);
	cur = NULL;
}

/* Attach with only the given sources; NULL if that is impossible
 * (-EOPNOTSUPP: e.g. no shared RAM), any other error fails the test. */
static struct qvmi_ctx *attach(unsigned int kinds)
{
	QVMI_OPTS(qvmi_attach_opts, opts, .sources = kinds);
	int err;

	detach();
	CHECK_OK(qvmi_ctx_create(&cur));
	err = qvmi_attach_qmp(cur, qmp_path, &opts);
	if (err == -EOPNOTSUPP) {
		qvmi_test_note("sources 0x%x: %s", kinds, qvmi_errmsg(cur));
		detach();
		return NULL;
	}
	CHECK_MSG(!err, "attach 0x%x: %d %s", kinds, err, qvmi_errmsg(cur));
	return cur;
}

/* Every mapped range is served by the named source. */
static void check_only(struct qvmi_ctx *ctx, const char *name)
{
	struct qvmi_map_entry e;

	CHECK(qvmi_map_count(ctx) > 0);
	for (size_t i = 0; i < qvmi_map_count(ctx); i++) {
		CHECK_OK(qvmi_map_get(ctx, i, &e));
		if (strcmp(e.source, name))
			CHECK_MSG(0, "0x%" PRIx64 " served by %s, not %s",
				  e.gpa, e.source, name);
	}
}

static int first_hit(uint64_t gpa, void *arg)
{
	*(uint64_t *)arg = gpa;
	return 1;
}

static uint64_t find_banner(struct qvmi_ctx *ctx)
{
	static const char banner[] = "Linux version 6.";
	uint64_t at = 0;

	CHECK_INT(qvmi_find_pa(ctx, banner, sizeof(banner) - 1, first_hit, &at),
		  ==, 1);
	return at;
}

static uint64_t ram_end(struct qvmi_ctx *ctx)
{
	struct qvmi_ram_range r;

	CHECK(qvmi_ram_count(ctx) > 0);
	CHECK_OK(qvmi_ram_get(ctx, qvmi_ram_count(ctx) - 1, &r));
	return r.gpa + r.size;
}

static void test_attach_info(void)
{
	struct qvmi_ctx *ctx = attach(0);
	struct qvmi_vm_info vi;
	struct qvmi_ram_range r;
	enum qvmi_vm_state st;

	CHECK_OK(qvmi_vm_info(ctx, &vi));
	CHECK_STR(vi.backend, "qmp");
	CHECK(vi.pid > 0);
	CHECK(kill(vi.pid, 0) == 0);
	CHECK(vi.qemu_version[0] >= '1' && vi.qemu_version[0] <= '9');
	CHECK_OK(qvmi_ram_get(ctx, 0, &r));
	CHECK_U64(r.gpa, ==, 0);
	CHECK_OK(qvmi_vm_state(ctx, &st));
	CHECK(st == QVMI_VM_RUNNING || st == QVMI_VM_PAUSED);
	detach();
}

enum { NPROBE = 12, PROBE_LEN = 4096 };

struct probes {
	uint64_t gpa[NPROBE];
	uint8_t ref[NPROBE][PROBE_LEN];
	size_t n;
};

/* Pages spread over every RAM range, plus the banner's page. */
static void pick_probes(struct qvmi_ctx *ctx, struct probes *p, uint64_t banner)
{
	size_t nr = qvmi_ram_count(ctx), per = (NPROBE - 1) / nr;
	struct qvmi_ram_range r;

	p->n = 0;
	p->gpa[p->n++] = banner & ~(uint64_t)(PROBE_LEN - 1);
	for (size_t i = 0; i < nr && p->n < NPROBE; i++) {
		CHECK_OK(qvmi_ram_get(ctx, i, &r));
		for (size_t k = 0; k < per && p->n < NPROBE; k++) {
			uint64_t g = r.gpa + (r.size - PROBE_LEN) / per * k;

			p->gpa[p->n++] = g & ~(uint64_t)(PROBE_LEN - 1);
		}
		if (r.size >= PROBE_LEN && p->n < NPROBE)
			p->gpa[p->n++] = r.gpa + r.size - PROBE_LEN;
	}
}

static void compare_source(unsigned int kind, const char *name,
			   const struct probes *p)
{
	struct qvmi_ctx *ctx = attach(kind);
	uint8_t buf[PROBE_LEN];

	if (!ctx)
		return;
	check_only(ctx, name);
	for (size_t i = 0; i < p->n; i++) {
		CHECK_MSG(!qvmi_read_pa(ctx, p->gpa[i], buf, PROBE_LEN),
			  "%s at 0x%" PRIx64 ": %s", name, p->gpa[i],
			  qvmi_errmsg(ctx));
		CHECK_MSG(!memcmp(buf, p->ref[i], PROBE_LEN),
			  "%s differs at 0x%" PRIx64, name, p->gpa[i]);
	}
	qvmi_test_note("%s: %zu pages identical", name, p->n);
}

/* With the VM paused, shm, procmem and xp alone read identical pages. */
static void test_sources_agree(void)
{
	static struct probes p;
	struct qvmi_ctx *ctx = attach(0);
	uint64_t banner = find_banner(ctx);
	char text[18] = { 0 };

	CHECK_OK(qvmi_read_pa(ctx, banner, text, sizeof(text) - 1));
	CHECK(!strncmp(text, "Linux version 6.", 16));
	qvmi_test_note("banner at 0x%" PRIx64, banner);
	pick_probes(ctx, &p, banner);
	CHECK_OK(qvmi_vm_pause(ctx));
	for (size_t i = 0; i < p.n; i++)
		CHECK_OK(qvmi_read_pa(ctx, p.gpa[i], p.ref[i], PROBE_LEN));
	detach(); /* the VM stays paused */
	compare_source(QVMI_SRC_SHM, "shm", &p);
	compare_source(QVMI_SRC_PROCMEM, "procmem", &p);
	compare_source(QVMI_SRC_XP, "xp", &p);
	ctx = attach(0);
	CHECK_OK(qvmi_vm_resume(ctx));
	detach();
}

/* A byte written through one source is read back through the other.
 * Returns false if the writing source is unavailable (no shared RAM). */
static bool cross_write(unsigned int wkind, unsigned int rkind, uint64_t gpa,
			uint8_t v)
{
	struct qvmi_ctx *ctx = attach(wkind);
	uint8_t got = 0;

	if (!ctx)
		return false;
	CHECK_OK(qvmi_write_pa(ctx, gpa, &v, 1));
	ctx = attach(rkind);
	if (!ctx)
		return false;
	CHECK_OK(qvmi_read_pa(ctx, gpa, &got, 1));
	CHECK_INT(got, ==, v);
	return true;
}

static void test_write_across_sources(void)
{
	struct qvmi_ctx *ctx = attach(0);
	/* "Linux version": patch the 'v' and put it back afterwards */
	uint64_t at = find_banner(ctx) + 6;
	uint8_t orig = 0;
	bool shm;

	CHECK_OK(qvmi_read_pa(ctx, at, &orig, 1));
	CHECK_INT(orig, ==, 'v');
	CHECK(cross_write(QVMI_SRC_PROCMEM, QVMI_SRC_XP, at, 'X'));
	shm = cross_write(QVMI_SRC_SHM, QVMI_SRC_PROCMEM, at, 'V');
	if (shm) {
		CHECK(cross_write(QVMI_SRC_PROCMEM, QVMI_SRC_SHM, at, 'W'));
		CHECK(cross_write(QVMI_SRC_SHM, QVMI_SRC_XP, at, 'Y'));
	}
	ctx = attach(0);
	CHECK_OK(qvmi_write_pa(ctx, at, &orig, 1));
	detach();
	if (!shm)
		qvmi_test_note("no shared RAM: only procmem -> xp checked");
}

static void test_past_end_faults(void)
{
	static const unsigned int kinds[] = { 0, QVMI_SRC_SHM, QVMI_SRC_PROCMEM,
					      QVMI_SRC_XP };
	uint8_t b[16];

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(kinds); i++) {
		struct qvmi_ctx *ctx = attach(kinds[i]);
		uint64_t end;

		if (!ctx)
			continue;
		end = ram_end(ctx);
		CHECK_INT(qvmi_read_pa(ctx, end - 8, b, 16), ==, -EFAULT);
		CHECK_U64(qvmi_fault_addr(ctx), ==, end);
		CHECK(strstr(qvmi_errmsg(ctx), "0x"));
	}
	detach();
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long backing_blocks(int fd)
{
	struct stat st;

	CHECK_OK(fstat(fd, &st));
	return (long long)st.st_blocks;
}

static int count_hit(uint64_t gpa, void *arg)
{
	(*(size_t *)arg)++;
	return 0;
}

/* A whole-RAM scan through shm reads holes as zeros without allocating:
 * the backing file's blocks stay put (the guest itself may allocate a
 * little meanwhile: allow 4 MiB). */
static void test_scan_does_not_allocate(void)
{
	struct qvmi_ctx *ctx = attach(QVMI_SRC_PROCMEM);
	struct qvmi_shm_backing b;
	struct qvmi_map_entry e;
	struct qvmi_vm_info vi;
	long long before, after;
	size_t hits = 0;
	double t;
	int fd;

	CHECK(ctx);
	CHECK_OK(qvmi_vm_info(ctx, &vi));
	CHECK_OK(qvmi_map_get(ctx, 0, &e)); /* src_addr is the hva */
	if (qvmi__shm_find_backing(ctx, vi.pid, e.src_addr, &b))
		SKIP("RAM is not shared: %s", qvmi_errmsg(ctx));
	CHECK_OK(qvmi__shm_open_backing(ctx, vi.pid, &b, 0, &fd));
	ctx = attach(QVMI_SRC_SHM);
	CHECK(ctx);
	before = backing_blocks(fd);
	t = now_s();
	CHECK_OK(qvmi_find_pa(ctx, "qvmi-no-such-pattern-0c2f", 25, count_hit,
			      &hits));
	t = now_s() - t;
	after = backing_blocks(fd);
	qvmi_test_note("scan %.2f s, %lld -> %lld MiB allocated", t,
		       before / 2048, after / 2048);
	CHECK_INT(hits, ==, 0);
	CHECK_INT(after - before, <=, 4 * 2048);
	close(fd);
	detach();
}

static const struct qvmi_test sources_tests[] = {
	{ "attach_info", test_attach_info },
	{ "sources_agree", test_sources_agree },
	{ "write_across_sources", test_write_across_sources },
	{ "past_end_faults", test_past_end_faults },
	{ "scan_does_not_allocate", test_scan_does_not_allocate },
};
QVMI_SUITE_SETUP(sources, sources_tests, sources_setup);
