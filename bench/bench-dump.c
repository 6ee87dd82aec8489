// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi dump against its baselines in the same run (issues 14 and 18):
 * `cp --sparse=always` of the guest's RAM file (the floor for a sparse
 * copy: goal <= 1.5x) and QEMU's own dump-guest-memory (ELF, no paging).
 * The ELF row is what `qvmi dump` writes for a Linux guest (VMCOREINFO,
 * kernel layout); the kdump row is zlib-compressed.  Files go to a
 * directory under /tmp and are deleted.
 */
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench.h"
#include "core/internal.h"
#include "proto/qmp.h"

extern char **environ;

static double median3(double *v, int n)
{
	bench_sort(v, (size_t)n);
	return v[n / 2];
}

/* The shared RAM file behind guest-physical 0, by name. */
static int ram_file(struct qvmi_ctx *ctx, char *buf, size_t size)
{
	struct qvmi_pa_file f;
	char link[64];
	ssize_t n;

	if (qvmi__pa_file(ctx, 0, 4096, &f) || f.fd < 0)
		return -1;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", f.fd);
	n = readlink(link, buf, size - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strncmp(buf, "/", 1) ? -1 : 0;
}

static double time_cp(const char *from, const char *to)
{
	char *argv[] = { "cp", "--sparse=always", (char *)from, (char *)to,
			 NULL };
	double t0 = bench_now();
	int st;
	pid_t pid;

	unlink(to);
	if (posix_spawnp(&pid, "cp", NULL, NULL, argv, environ) ||
	    waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	return bench_now() - t0;
}

static double time_qvmi(struct qvmi_ctx *ctx, const char *to,
			enum qvmi_dump_format fmt,
			const struct qvmi_dump_kernel *k)
{
	QVMI_OPTS(qvmi_dump_write_opts, o, .format = fmt, .kernel = k);
	double t0 = bench_now();

	if (qvmi_dump_write(ctx, to, &o)) {
		fprintf(stderr, "bench: dump: %s\n", qvmi_errmsg(ctx));
		return -1;
	}
	return bench_now() - t0;
}

static double time_qemu(struct qvmi_ctx *ctx, const char *qmp, const char *to)
{
	struct json_object *a = json_object_new_object();
	struct qvmi_qmp *q = NULL;
	char proto[PATH_MAX + 8];
	double t0, t = -1;

	snprintf(proto, sizeof(proto), "file:%s", to);
	json_object_object_add(a, "paging", json_object_new_boolean(0));
	json_object_object_add(a, "protocol", json_object_new_string(proto));
	json_object_object_add(a, "detach", json_object_new_boolean(0));
	unlink(to);
	if (!qvmi__qmp_open(ctx, qmp, 120000, &q)) {
		t0 = bench_now();
		if (!qvmi__qmp_execute(q, "dump-guest-memory", a, NULL))
			t = bench_now() - t0;
		qvmi__qmp_close(q);
	}
	json_object_put(a);
	return t;
}

static void kernel_layout(struct qvmi_ctx *ctx, struct qvmi_linux **lx,
			  struct qvmi_dump_kernel *k, bool *ok)
{
	*ok = !qvmi_linux_open(ctx, NULL, lx) &&
	      !qvmi_linux_dump_kernel(*lx, k);
}

int bench_dump(const char *qmp)
{
	char dir[] = "/tmp/qvmi-bench-dump-XXXXXX", ram[PATH_MAX],
	     out[PATH_MAX];
	double cp[3], elf[3], kd[3], qe = -1;
	struct qvmi_dump_kernel k = { 0 };
	struct qvmi_linux *lx = NULL;
	struct qvmi_ctx *ctx = NULL;
	int runs = bench_quick ? 1 : 3, i, rc = 1;
	struct qvmi_ram_range rr;
	uint64_t ram_bytes = 0;
	bool have_k = false;

	if (!mkdtemp(dir) || qvmi_ctx_create(&ctx) ||
	    qvmi_attach_qmp(ctx, qmp, NULL) ||
	    ram_file(ctx, ram, sizeof(ram))) {
		fprintf(stderr, "bench: dump: no shared RAM file\n");
		goto out;
	}
	for (size_t j = 0; !qvmi_ram_get(ctx, j, &rr); j++)
		ram_bytes += rr.size;
	kernel_layout(ctx, &lx, &k, &have_k);
	snprintf(out, sizeof(out), "%s/dump", dir);
	for (i = 0; i < runs; i++) {
		cp[i] = time_cp(ram, out);
		elf[i] = time_qvmi(ctx, out, QVMI_DUMP_ELF, have_k ? &k : NULL);
		kd[i] = time_qvmi(ctx, out, QVMI_DUMP_KDUMP,
				  have_k ? &k : NULL);
		if (cp[i] < 0 || elf[i] < 0 || kd[i] < 0)
			goto out;
	}
	/* last, QEMU reads every page of RAM; QEMU 7.2 serves one QMP client
	 * at a time, so ours goes first */
	qvmi_dump_kernel_deinit(&k);
	qvmi_linux_destroy(lx);
	lx = NULL;
	qvmi_ctx_destroy(ctx);
	ctx = NULL;
	/* QEMU reads (and so allocates) every page of a sparse RAM file: on
	 * a shared host, not above 4 GiB */
	if (ram_bytes > (4ull << 30))
		fprintf(stderr,
			"bench: dump: QEMU's dump-guest-memory skipped "
			"above 4 GiB of RAM (it allocates all of it)\n");
	else if (!qvmi_ctx_create(&ctx))
		qe = time_qemu(ctx, qmp, out);
	bench_row("qvmi dump (ELF, kernel layout) vs cp --sparse=always",
		  median3(elf, runs) * 1e3, "ms", median3(cp, runs) * 1e3,
		  "cp --sparse=always of the RAM file", "<= 1.5 (issue 18)");
	bench_row("qvmi dump --format kdump (zlib) vs cp --sparse=always",
		  median3(kd, runs) * 1e3, "ms", median3(cp, runs) * 1e3,
		  "cp --sparse=always of the RAM file", NULL);
	if (qe > 0)
		bench_row("qvmi dump (ELF) vs QEMU dump-guest-memory (ELF)",
			  median3(elf, runs) * 1e3, "ms", qe * 1e3,
			  "QEMU 7.2 dump-guest-memory", "< 1 (issue 14)");
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench: dump: failed\n");
	unlink(out);
	rmdir(dir);
	qvmi_dump_kernel_deinit(&k);
	qvmi_linux_destroy(lx);
	qvmi_ctx_destroy(ctx);
	return rc;
}
