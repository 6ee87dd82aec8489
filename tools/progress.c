// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A progress bar on stderr, for long scans (find, dump): only on a
 * terminal, at most ten redraws a second,
 * "[####    ]  42%  215/512 MiB  1.90 GiB/s  ETA 0:03".  Holes count as
 * done, at the speed they are skipped.
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_progress_init(struct cli_progress *p)
{
	p->tty = isatty(STDERR_FILENO);
	p->last_pct = -1;
	p->shown = false;
	p->t0 = now();
	p->last = 0;
}

void cli_progress(uint64_t done, uint64_t total, void *arg)
{
	struct cli_progress *p = arg;
	int pct = total ? (int)(done * 100 / total) : 100, i;
	double t = now(), secs = t - p->t0, rate;
	unsigned long eta;

	if (!p->tty || (done < total &&
			(pct == p->last_pct || (done && t - p->last < 0.1))))
		return;
	p->last_pct = pct;
	p->last = t;
	rate = secs > 0 ? (double)done / secs : 0;
	eta = rate > 0 ? (unsigned long)((double)(total - done) / rate) : 0;
	fputs("\r[", stderr);
	for (i = 0; i < 30; i++)
		fputc(i < pct * 30 / 100 ? '#' : ' ', stderr);
	fprintf(stderr,
		"] %3d%% %" PRIu64 "/%" PRIu64
		" MiB %6.2f GiB/s ETA %lu:%02lu ",
		pct, done >> 20, total >> 20, rate / (1 << 30), eta / 60,
		eta % 60);
	p->shown = done < total;
	if (done >= total)
		fputc('\n', stderr);
}

void cli_progress_clear(struct cli_progress *p)
{
	if (!p->shown)
		return;
	fputs("\r\033[K", stderr); /* erase the bar's line (ECMA-48 EL) */
	p->shown = false;
	p->last_pct = -1; /* drawn again at the next call */
}
