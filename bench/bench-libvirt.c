// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi --domain NAME ps against qvmi --qmp PATH ps on the same VM (issue
 * 13: at most 1.5x).  It needs a running libvirt domain whose QEMU also
 * has a QMP monitor of its own for --qmp (libvirt holds the first; QEMU
 * serves one client per monitor), named in the environment:
 *   QVMI_BENCH_DOMAIN=NAME  QVMI_BENCH_CONNECT=URI  QVMI_BENCH_DOMAIN_QMP=PATH
 * tests/integration/libvirt.sh sets these up (a domain with
 * <qemu:commandline> -qmp unix:PATH,server=on,wait=off) and runs this
 * section; `make bench` without them prints why it skips.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#include "bench.h"

enum { LV_MAX_RUNS = 31 };

struct lv_prog {
	const char *what;
	char *argv[8];
	bool no_cache; /* QVMI_NO_LAYOUT_CACHE=1: attach through libvirt */
	double wall[LV_MAX_RUNS], cpu[LV_MAX_RUNS];
};

static double med(double *v, int n)
{
	bench_sort(v, (size_t)n);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Round robin, so the neighbours' load hits both alike. */
static int lv_rounds(struct lv_prog *p, int np, int runs)
{
	for (int r = 0; r < runs; r++)
		for (int i = 0; i < np; i++) {
			if (p[i].no_cache)
				setenv("QVMI_NO_LAYOUT_CACHE", "1", 1);
			p[i].wall[r] = bench_spawn_ms(p[i].argv, environ,
						      &p[i].cpu[r]);
			unsetenv("QVMI_NO_LAYOUT_CACHE");
			if (p[i].wall[r] < 0) {
				fprintf(stderr, "bench: %s failed\n",
					p[i].what);
				return -1;
			}
		}
	return 0;
}

int bench_libvirt(const char *qmp_unused)
{
	const char *dom = getenv("QVMI_BENCH_DOMAIN");
	const char *uri = getenv("QVMI_BENCH_CONNECT");
	const char *qmp = getenv("QVMI_BENCH_DOMAIN_QMP");
	char self[PATH_MAX], qvmi[PATH_MAX + 8], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int runs = bench_quick ? 5 : 15;
	double wq, wd, cq, cd, fq, fd, wn, cn;

	(void)qmp_unused;
	if (!dom || !qmp) {
		printf("| libvirt | skipped: needs a running libvirt domain "
		       "with a second QMP monitor: QVMI_BENCH_DOMAIN=NAME, "
		       "QVMI_BENCH_DOMAIN_QMP=PATH (and QVMI_BENCH_CONNECT=URI); "
		       "tests/integration/libvirt.sh runs it | | | |\n");
		return 0;
	}
	if (n <= 0 || !(slash = memrchr(self, '/', (size_t)n)))
		return -1;
	*slash = '\0';
	snprintf(qvmi, sizeof(qvmi), "%s/qvmi", self);
	struct lv_prog p[3] = {
		{ "qvmi --qmp PATH ps (layout cached)",
		  { qvmi, "--qmp", (char *)qmp, "ps" } },
		{ "qvmi --domain NAME ps (no shim)",
		  { qvmi, "--domain", (char *)dom, "ps" } },
		{ "qvmi --domain NAME ps, no layout cache",
		  { qvmi, "--domain", (char *)dom, "ps" },
		  true },
	};
	for (int i = 1; uri && i < 3; i++) {
		p[i].argv[3] = "--connect";
		p[i].argv[4] = (char *)uri;
		p[i].argv[5] = "ps";
	}
	if (lv_rounds(p, 3, 1) || lv_rounds(p, 3, runs)) /* 1: warm caches */
		return -1;
	fq = p[0].wall[0], fd = p[1].wall[0];
	for (int r = 1; r < runs; r++) {
		fq = p[0].wall[r] < fq ? p[0].wall[r] : fq;
		fd = p[1].wall[r] < fd ? p[1].wall[r] : fd;
	}
	wq = med(p[0].wall, runs), wd = med(p[1].wall, runs);
	cq = med(p[0].cpu, runs), cd = med(p[1].cpu, runs);
	wn = med(p[2].wall, runs), cn = med(p[2].cpu, runs);
	bench_row("libvirt: qvmi --qmp ps, wall (median)", wq, "ms", 0, NULL,
		  NULL);
	bench_row("libvirt: qvmi --domain ps, wall (median)", wd, "ms", wq,
		  "qvmi --qmp ps, same VM", "<= 1.5x");
	bench_row("libvirt: qvmi --domain ps, wall (fastest run)", fd, "ms", fq,
		  "qvmi --qmp ps, fastest", "<= 1.5x");
	bench_row("libvirt: qvmi --domain ps, CPU (user+sys, median)", cd, "ms",
		  cq, "qvmi --qmp ps, CPU", NULL);
	/* The first attach to a QEMU: libvirt loaded (dlopen, 50-100 ms),
	 * connected, and QMP's answers one by one through libvirtd. */
	bench_row("libvirt: qvmi --domain ps, no layout cache (libvirt "
		  "loaded), wall (median)",
		  wn, "ms", wq, "qvmi --qmp ps, same VM", NULL);
	bench_row("libvirt: qvmi --domain ps, no layout cache, CPU (median)",
		  cn, "ms", cq, "qvmi --qmp ps, CPU", NULL);
	return 0;
}
