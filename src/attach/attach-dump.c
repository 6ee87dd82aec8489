// SPDX-License-Identifier: LGPL-2.1-or-later
/* Attaching to a memory dump file: ELF core (by magic) or raw image. */
#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "source/dump.h"

/* ELF if the file starts with the ELF magic; a short file is raw. */
static int detect_elf(struct qvmi_ctx *ctx, int fd, bool *ret)
{
	unsigned char m[SELFMAG];
	ssize_t n;

	do
		n = pread(fd, m, sizeof(m), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return qvmi__err(ctx, -errno, "dump: cannot read the file");
	*ret = n == SELFMAG && !memcmp(m, ELFMAG, SELFMAG);
	return 0;
}

static int pick_format(struct qvmi_ctx *ctx, int fd, const char *format,
		       bool *elf)
{
	if (!format)
		return detect_elf(ctx, fd, elf);
	if (!strcmp(format, "elf"))
		*elf = true;
	else if (!strcmp(format, "raw"))
		*elf = false;
	else
		return qvmi__err(ctx, -EINVAL,
				 "dump: unknown format \"%.32s\" (elf, raw)",
				 format);
	return 0;
}

/* O_NONBLOCK so that a FIFO cannot block the open; then only regular
 * files and block devices are read. */
static int open_dump(struct qvmi_ctx *ctx, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), err;

	if (fd < 0)
		return qvmi__err(ctx, -errno, "dump: cannot open %s: %s", path,
				 strerror(errno));
	if (fstat(fd, &st) || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
		err = qvmi__err(ctx, -EINVAL, "dump: %s is not a regular file",
				path);
		close(fd);
		return err;
	}
	if (fcntl(fd, F_SETFL, 0)) {
		err = qvmi__err(ctx, -errno, "dump: fcntl failed");
		close(fd);
		return err;
	}
	return fd;
}

QVMI_API int qvmi_attach_dump(struct qvmi_ctx *ctx, const char *path,
			      const struct qvmi_dump_opts *opts)
{
	const char *raw_map = QVMI_OPTS_GET(opts, raw_map, NULL);
	const char *format = QVMI_OPTS_GET(opts, format, NULL);
	bool elf = false;
	int fd, err;

	if (!ctx)
		return -EINVAL;
	if (!path || !QVMI_OPTS_VALID(opts, struct qvmi_dump_opts))
		return qvmi__err(ctx, -EINVAL, "attach_dump: bad arguments");
	if (ctx->sources || ctx->ctl)
		return qvmi__err(ctx, -EBUSY,
				 "attach_dump: context already attached");
	fd = open_dump(ctx, path);
	if (fd < 0)
		return fd;
	err = pick_format(ctx, fd, format, &elf);
	if (err) {
		close(fd);
		return err;
	}
	if (elf && raw_map) {
		close(fd);
		return qvmi__err(ctx, -EINVAL,
				 "dump: raw_map given for an ELF core");
	}
	/* Both take ownership of fd. */
	err = elf ? qvmi__attach_elf_fd(ctx, fd) :
		    qvmi__attach_raw_fd(ctx, fd, raw_map);
	if (err) {
		/* Keep the message: detach does not touch it. */
		qvmi__detach(ctx);
		return err;
	}
	ctx->backend = elf ? "elf" : "raw";
	qvmi__vm_state_changed(ctx, QVMI_VM_FROZEN);
	qvmi__clear_err(ctx);
	return 0;
}
