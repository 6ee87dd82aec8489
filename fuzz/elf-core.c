// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the ELF core reader: the input is a whole core file, served through
 * a memfd (the reader is pread-based), then memory, registers and
 * VMCOREINFO are read back, and the core is written out again as ELF.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qvmi.h"
#include "core/internal.h"
#include "source/dump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int make_fd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-elf-core", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	return fd;
}

static void exercise(struct qvmi_ctx *ctx)
{
	struct qvmi_regs_x86 r;
	struct qvmi_ram_range rr;
	uint8_t buf[256];
	const char *v;
	int i, n = qvmi_vcpu_count(ctx);
	size_t k;

	for (i = 0; i < n; i++)
		qvmi_get_regs(ctx, (unsigned int)i, &r);
	qvmi_get_regs(ctx, (unsigned int)n, &r);
	for (k = 0; k < qvmi_ram_count(ctx) && k < 64; k++) {
		if (qvmi_ram_get(ctx, k, &rr))
			break;
		qvmi_read_pa(ctx, rr.gpa, buf, sizeof(buf));
		qvmi_read_pa(ctx, rr.gpa + rr.size - 1, buf, 2);
	}
	v = qvmi_vmcoreinfo(ctx);
	if (v)
		(void)strlen(v);
}

/* Write small accepted cores back out: the writer must take whatever the
 * reader accepted. */
static void rewrite(struct qvmi_ctx *ctx)
{
	char path[64];
	uint64_t total = 0;
	size_t k;

	for (k = 0; k < qvmi_ram_count(ctx); k++) {
		struct qvmi_ram_range rr;

		if (qvmi_ram_get(ctx, k, &rr) || rr.size > (1u << 20))
			return;
		total += rr.size;
	}
	if (total > (4u << 20))
		return;
	snprintf(path, sizeof(path), "/tmp/qvmi-fuzz-elf-core-%d",
		 (int)getpid());
	if (!qvmi_dump_write(ctx, path, NULL)) {
		struct qvmi_ctx *back = NULL;

		if (!qvmi_ctx_create(&back)) {
			qvmi_attach_dump(back, path, NULL);
			qvmi_ctx_destroy(back);
		}
	}
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qvmi_ctx *ctx = NULL;
	int fd;

	if (size > (16u << 20) || qvmi_ctx_create(&ctx))
		return 0;
	fd = make_fd(data, size);
	/* qvmi__attach_elf_fd owns fd, on failure too */
	if (fd >= 0 && !qvmi__attach_elf_fd(ctx, fd)) {
		exercise(ctx);
		rewrite(ctx);
	}
	qvmi_ctx_destroy(ctx);
	return 0;
}
