// SPDX-License-Identifier: LGPL-2.1-or-later
/* The VM's uuid and QEMU's start time, for the session info and the KVMi
 * handshake (daemon/vmident.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmident.h"

void qvmid_uuid_bytes(const char *s, uint8_t out[16])
{
	unsigned int n = 0;

	memset(out, 0, 16);
	for (; s && *s && n < 32; s++) {
		int v;

		if (*s == '-')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
			v = (*s | 0x20) - 'a' + 10;
		else
			break;
		out[n / 2] |= (uint8_t)(v << (n % 2 ? 0 : 4));
		n++;
	}
	if (n != 32)
		memset(out, 0, 16);
}

uint64_t qvmid_process_start_ns(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ticks = 0, btime = 0;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = pid > 0 ? fopen(path, "re") : NULL;
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 &ticks) != 1)
		return 0;
	f = fopen("/proc/stat", "re");
	while (f && fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "btime %llu", &btime) == 1)
			break;
	if (f)
		fclose(f);
	if (!btime || hz <= 0)
		return 0;
	return btime * 1000000000ull + ticks * (1000000000ull / (uint64_t)hz);
}
