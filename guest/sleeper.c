// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi-sleeper: calls clock_nanosleep(CLOCK_MONOTONIC, 0, interval) in a
 * loop, forever, so integration tests have a process that enters
 * __x64_sys_clock_nanosleep at a known rate (breakpoint and event tests).
 * argv[1] is the interval in milliseconds (default 100).  It calls the
 * syscall directly: glibc's nanosleep() also ends up in clock_nanosleep,
 * never in __x64_sys_nanosleep (QEMU-FACTS.md), but being explicit keeps
 * that independent of the libc.
 */
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long ms = argc > 1 ? strtol(argv[1], NULL, 10) : 100;
	struct timespec ts;

	if (ms <= 0 || ms > 60000)
		ms = 100;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	for (;;)
		syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
}
