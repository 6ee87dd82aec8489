// SPDX-License-Identifier: LGPL-2.1-or-later
/* The exec floor for bench/bench-linux.c: a process that only starts and
 * exits, built three ways by the Makefile (linked like the qvmi CLI, like
 * it was before, fully static).  Kept out of bench/*.c, which make up
 * qvmi-bench. */
int main(void)
{
	return 0;
}
