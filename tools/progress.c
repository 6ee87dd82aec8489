// SPDX-License-Identifier: LGPL-2.1-or-later
/* A progress bar on stderr, for long scans (find, dump): only on a
 * terminal, redrawn when the percentage moves. */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"

void cli_progress_init(struct cli_progress *p)
{
	p->tty = isatty(STDERR_FILENO);
	p->last_pct = -1;
	p->shown = false;
}

void cli_progress(uint64_t done, uint64_t total, void *arg)
{
	struct cli_progress *p = arg;
	int pct = total ? (int)(done * 100 / total) : 100, i;

	if (!p->tty || pct == p->last_pct)
		return;
	p->last_pct = pct;
	fputs("\r[", stderr);
	for (i = 0; i < 40; i++)
		fputc(i < pct * 40 / 100 ? '#' : ' ', stderr);
	fprintf(stderr, "] %3d%% %llu/%llu MiB", pct,
		(unsigned long long)(done >> 20),
		(unsigned long long)(total >> 20));
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
