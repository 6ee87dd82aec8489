// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Registers and breakpoints through QEMU's gdbstub (issue 6): a register
 * read via the gdbstub next to QMP "info registers", and the breakpoint
 * round trip -- a hit seen by the tool, then the VM running again -- on
 * the demo guest's qvmi-sleeper (clock_nanosleep every 100 ms).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

const char *bench_gdb_path;

static double regs_ms(struct qvmi_ctx *ctx, int n)
{
	struct qvmi_regs_x86 r;
	double t0 = bench_now();

	for (int i = 0; i < n; i++)
		if (qvmi_get_regs(ctx, 0, &r))
			return -1;
	return (bench_now() - t0) * 1e3 / n;
}

static int attach(struct qvmi_ctx **ret, const char *qmp, const char *gdb)
{
	QVMI_OPTS(qvmi_attach_opts, aopts, .sources = QVMI_SRC_SHM);
	QVMI_OPTS(qvmi_gdb_opts, gopts, .resume = 1);
	int err = qvmi_ctx_create(ret);

	if (!err)
		err = qvmi_attach_qmp(*ret, qmp, &aopts);
	if (!err && gdb)
		err = qvmi_attach_gdb(*ret, gdb, &gopts);
	if (err)
		fprintf(stderr, "bench gdb: attach: %s\n", qvmi_errmsg(*ret));
	return err;
}

/* Hit -> the tool has the stop -> VM running again, n times (ms in lat);
 * the breakpoint is removed and the VM running afterwards, whatever
 * happened.  Also the session bench's measurement (bench-session.c). */
int bench_bp_round_trips(struct qvmi_ctx *ctx, uint64_t addr, double *lat,
			 int n)
{
	struct qvmi_stop st;
	int err = qvmi_vm_pause(ctx);

	if (!err)
		err = qvmi_bp_insert(ctx, QVMI_BP_HW, addr, 1);
	if (!err)
		err = qvmi_vm_resume(ctx);
	for (int i = 0; i < n && !err; i++) {
		double t0;

		err = qvmi_wait_stop(ctx, 5000, &st);
		t0 = bench_now();
		if (!err)
			err = qvmi_vm_resume(ctx);
		lat[i] = (bench_now() - t0) * 1e3;
	}
	qvmi_vm_pause(ctx);
	qvmi_bp_remove(ctx, QVMI_BP_HW, addr, 1);
	qvmi_vm_resume(ctx);
	return err;
}

int bench_gdb(const char *qmp)
{
	struct qvmi_ctx *q = NULL, *g = NULL;
	struct qvmi_linux *lx = NULL;
	double qms, gms, lat[40];
	int n = bench_quick ? 10 : 40, err;
	uint64_t addr;

	if (!qmp || !bench_gdb_path) {
		fprintf(stderr, "bench gdb: needs --qmp and --gdb\n");
		return 0;
	}
	err = attach(&q, qmp, NULL);
	qms = err ? -1 : regs_ms(q, 50);
	qvmi_ctx_destroy(q);
	if (err)
		return -1;
	err = attach(&g, qmp, bench_gdb_path);
	if (!err)
		err = qvmi_linux_open(g, NULL, &lx);
	if (!err)
		err = qvmi_linux_sym_addr(lx, "__x64_sys_clock_nanosleep",
					  &addr);
	if (err) {
		fprintf(stderr, "bench gdb: %s\n", qvmi_errmsg(g));
		goto out;
	}
	gms = regs_ms(g, 200);
	bench_row("vCPU registers via the gdbstub (g packet)", gms * 1e3, "us",
		  qms * 1e3, "QMP info registers", NULL);
	err = bench_bp_round_trips(g, addr, lat, n);
	if (err) {
		fprintf(stderr, "bench gdb: breakpoints: %s\n", qvmi_errmsg(g));
		goto out;
	}
	bench_sort(lat, (size_t)n);
	bench_row("breakpoint round trip (hit seen -> VM running), p50",
		  lat[n / 2] * 1e3, "us", 0, NULL, NULL);
	bench_row("breakpoint round trip (hit seen -> VM running), p99",
		  lat[n - 1 - n / 100] * 1e3, "us", 0, NULL, NULL);
out:
	qvmi_linux_destroy(lx);
	qvmi_ctx_destroy(g);
	return err ? -1 : 0;
}
