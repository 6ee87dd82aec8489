// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the dump readers that tell the format by content (attach-dump.c):
 * kdump-compressed and flattened (dump-kdump.c, dump-file.c), LiME
 * (dump-lime.c), the raw-image check and "unknown dump format".  The
 * input is a whole file, served through a memfd; what attaches is read
 * back: each RAM range's ends, the first 64 KiB, the vCPU registers of
 * the sub-header's ELF notes, VMCOREINFO.  Seeds are
 * real files cut to their first 256 pages (makedumpfile 1.7.2 -c/-l/-F
 * and stored pages, QEMU 7.2's flattened kdump-zlib with its misparsed
 * phys_base, the -c pages recompressed with snappy and zstd), qvmi's own
 * kdump of the -c seed (with its NT_PRSTATUS and QEMU notes) and LiME.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qvmi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(struct qvmi_ctx *ctx)
{
	static uint8_t buf[64 << 10];
	struct qvmi_ram_range rr;
	struct qvmi_regs_x86 regs;
	const char *v;

	for (size_t k = 0; k < qvmi_ram_count(ctx) && k < 64; k++) {
		if (qvmi_ram_get(ctx, k, &rr))
			break;
		qvmi_read_pa(ctx, rr.gpa, buf, 256);
		qvmi_read_pa(ctx, rr.gpa + rr.size - 1, buf, 2);
		if (!k)
			qvmi_read_pa(ctx, rr.gpa, buf,
				     rr.size < sizeof(buf) ? rr.size :
							     sizeof(buf));
	}
	/* the vCPU registers of the ELF notes (dump-notes.c) */
	for (int c = 0; c < qvmi_vcpu_count(ctx) && c < 64; c++)
		qvmi_get_regs(ctx, (unsigned int)c, &regs);
	v = qvmi_vmcoreinfo(ctx);
	if (v)
		(void)strlen(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qvmi_ctx *ctx = NULL;
	char path[64];
	int fd;

	if (size > (16u << 20) || qvmi_ctx_create(&ctx))
		return 0;
	fd = memfd_create("fuzz-kdump", MFD_CLOEXEC);
	if (fd >= 0 && (!size || write(fd, data, size) == (ssize_t)size)) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (!qvmi_attach_dump(ctx, path, NULL))
			exercise(ctx);
	}
	if (fd >= 0)
		close(fd);
	qvmi_ctx_destroy(ctx);
	return 0;
}
