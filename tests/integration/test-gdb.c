// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The gdbstub against a live QEMU guest.  Needs QVMI_IT_GDB_SOCK (the
 * -gdb unix socket) and, for breakpoints, QVMI_IT_BP_ADDR: the address of
 * a kernel function that runs often (e.g. "schedule" from the guest's
 * /proc/kallsyms).  Skipped without them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guest.h"
#include "harness.h"
#include "qvmi.h"

static const char *sock(void)
{
	const struct qvmi_guest *g = guest_get();

	if (!g || !g->gdb)
		SKIP("no demo guest (QVMI_GUEST_DIR unset)");
	return g->gdb;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct qvmi_ctx *attach(int resume)
{
	struct qvmi_ctx *ctx = NULL;
	QVMI_OPTS(qvmi_gdb_opts, o, .timeout_ms = 5000, .resume = resume);
	const char *path = sock();

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_MSG(qvmi_attach_gdb(ctx, path, &o) == 0, "%s", qvmi_errmsg(ctx));
	return ctx;
}

static void test_regs(void)
{
	struct qvmi_ctx *ctx = attach(0);
	struct qvmi_regs_x86 r;
	int n = qvmi_vcpu_count(ctx);
	double t0;

	CHECK_INT(n, >=, 1);
	for (int v = 0; v < n; v++) {
		CHECK_OK(qvmi_get_regs(ctx, (unsigned int)v, &r));
		CHECK(r.valid & QVMI_REGS_GPR);
		CHECK(r.valid & QVMI_REGS_CR);
		CHECK((r.cr0 & 0x80000001u) == 0x80000001u); /* PG, PE */
		CHECK(r.efer & (1u << 10)); /* LMA */
		CHECK(r.cs == 0x10 || r.cs == 0x33);
		qvmi_test_note("vCPU %d rip 0x%" PRIx64 " rsp 0x%" PRIx64
			       " cr3 0x%" PRIx64 " gs_base 0x%" PRIx64,
			       v, r.rip, r.rsp, r.cr3, r.gs_base);
	}
	t0 = now_ms();
	for (int i = 0; i < 200; i++)
		CHECK_OK(qvmi_get_regs(ctx, 0, &r));
	qvmi_test_note("get_regs (g) round trip: %.3f ms",
		       (now_ms() - t0) / 200);
	qvmi_ctx_destroy(ctx);
}

static void test_breakpoint_step(void)
{
	uint64_t bp = 0;
	struct qvmi_ctx *ctx;
	struct qvmi_regs_x86 r;
	struct qvmi_stop s;
	double lat[50], t0;
	int n = 0;

	sock();
	/* The guest's qvmi-sleeper calls clock_nanosleep every 100 ms. */
	if (guest_ksym("__x64_sys_clock_nanosleep", &bp))
		SKIP("guest did not list __x64_sys_clock_nanosleep");
	ctx = attach(0);
	CHECK_OK(qvmi_bp_insert(ctx, QVMI_BP_HW, bp, 1));
	CHECK_OK(qvmi_vm_resume(ctx));
	CHECK_MSG(qvmi_wait_stop(ctx, 10000, &s) == 0, "%s", qvmi_errmsg(ctx));
	CHECK_INT(s.reason, ==, QVMI_STOP_BREAKPOINT);
	CHECK_U64(s.rip, ==, bp);
	CHECK_OK(qvmi_get_regs(ctx, s.vcpu, &r));
	CHECK_U64(r.rip, ==, bp);
	qvmi_test_note("hit on vCPU %u", s.vcpu);
	/* hit -> resume -> next hit, as a client would loop */
	for (; n < 50; n++) {
		t0 = now_ms();
		CHECK_OK(qvmi_vm_resume(ctx));
		CHECK_MSG(qvmi_wait_stop(ctx, 10000, &s) == 0, "%s",
			  qvmi_errmsg(ctx));
		lat[n] = now_ms() - t0;
		CHECK_INT(s.reason, ==, QVMI_STOP_BREAKPOINT);
	}
	qsort(lat, (size_t)n, sizeof(lat[0]), cmp_d);
	qvmi_test_note("breakpoint resume->next hit: p50 %.2f ms, p99 %.2f ms",
		       lat[n / 2], lat[n * 99 / 100]);
	/* single-step from the breakpoint: RIP moves on by one instruction */
	CHECK_OK(qvmi_bp_remove(ctx, QVMI_BP_HW, bp, 1));
	CHECK_OK(qvmi_single_step(ctx, s.vcpu));
	CHECK_OK(qvmi_get_regs(ctx, s.vcpu, &r));
	CHECK_U64(r.rip, >, bp);
	CHECK_U64(r.rip, <, bp + 16);
	qvmi_test_note("step: 0x%" PRIx64 " -> 0x%" PRIx64, bp, r.rip);
	CHECK_OK(qvmi_vm_resume(ctx));
	qvmi_ctx_destroy(ctx); /* want running: detaches */
}

static const struct qvmi_test gdb_live_tests[] = {
	{ "regs", test_regs },
	{ "breakpoint_step", test_breakpoint_step },
};
QVMI_SUITE(gdb_live, gdb_live_tests);
