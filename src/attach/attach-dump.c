// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Attaching to a memory dump file, its format told by content: ELF core,
 * kdump-compressed, flattened kdump, LiME, or a raw image of a PC guest.
 */
#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "source/dump.h"

enum dump_fmt { F_ELF, F_KDUMP, F_FLAT, F_LIME, F_RAW, F_UNKNOWN };

static const char *const fmt_names[] = { "elf", "kdump", "flattened", "lime",
					 "raw" };

/*
 * A raw image of a PC guest starts with the real-mode interrupt vector
 * table, which the BIOS fills (SeaBIOS: every vector at segment 0xf000)
 * and Linux leaves alone (it reserves the first page): most of the first
 * 256 far pointers point into the BIOS segments 0xc000-0xf000.
 */
static bool looks_raw(const uint8_t *h, size_t n, uint64_t size)
{
	size_t i, bios = 0;

	if (n < 1024 || size < (1 << 20) || size % 4096)
		return false;
	for (i = 0; i < 256; i++) {
		uint16_t seg = (uint16_t)(h[4 * i + 2] | h[4 * i + 3] << 8);

		bios += seg >= 0xc000;
	}
	return bios >= 128;
}

/* The format by content, never by name. */
static int detect(struct qvmi_ctx *ctx, int fd, enum dump_fmt *ret)
{
	uint8_t h[1024];
	struct stat st;
	ssize_t n;

	do
		n = pread(fd, h, sizeof(h), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0 || fstat(fd, &st))
		return qvmi__err(ctx, -errno, "dump: cannot read the file");
	if (n >= SELFMAG && !memcmp(h, ELFMAG, SELFMAG))
		*ret = F_ELF;
	else if (n >= 8 && !memcmp(h, "KDUMP   ", 8))
		*ret = F_KDUMP;
	else if (n >= 13 && !memcmp(h, "makedumpfile", 13))
		*ret = F_FLAT;
	else if (n >= 8 && !memcmp(h, "EMiL\1\0\0\0", 8))
		*ret = F_LIME;
	else if (looks_raw(h, (size_t)n, (uint64_t)st.st_size))
		*ret = F_RAW;
	else
		return qvmi__err(ctx, -EBADMSG,
				 "unknown dump format (not ELF, kdump, "
				 "flattened kdump or LiME, and no BIOS vector "
				 "table at 0 as a raw PC image has; force "
				 "one with format \"raw\" or a raw map)");
	return 0;
}

static int pick_format(struct qvmi_ctx *ctx, int fd, const char *format,
		       const char *raw_map, enum dump_fmt *ret)
{
	size_t i;

	if (!format) {
		int err = detect(ctx, fd, ret);

		/* a raw map says what an unrecognised file is */
		if (err == -EBADMSG && raw_map) {
			*ret = F_RAW;
			err = 0;
		}
		return err;
	}
	for (i = 0; i < QVMI_ARRAY_SIZE(fmt_names); i++)
		if (!strcmp(format, fmt_names[i])) {
			*ret = (enum dump_fmt)i;
			return 0;
		}
	return qvmi__err(ctx, -EINVAL,
			 "dump: unknown format \"%.32s\" (elf, kdump, "
			 "flattened, lime, raw)",
			 format);
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
	enum dump_fmt fmt = F_UNKNOWN;
	struct stat st;
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
	if (fstat(fd, &st)) {
		err = qvmi__err(ctx, -errno, "dump: cannot stat %s", path);
		close(fd);
		return err;
	}
	err = pick_format(ctx, fd, format, raw_map, &fmt);
	if (!err && fmt != F_RAW && raw_map)
		err = qvmi__err(ctx, -EINVAL,
				"dump: raw_map given for a %s dump",
				fmt_names[fmt]);
	if (err) {
		close(fd);
		return err;
	}
	/* Each takes ownership of fd. */
	if (fmt == F_ELF)
		err = qvmi__attach_elf_fd(ctx, fd);
	else if (fmt == F_KDUMP || fmt == F_FLAT)
		err = qvmi__attach_kdump_fd(ctx, fd, fmt == F_FLAT);
	else if (fmt == F_LIME)
		err = qvmi__attach_lime_fd(ctx, fd);
	else
		err = qvmi__attach_raw_fd(ctx, fd, raw_map);
	if (err) {
		/* Keep the message: detach does not touch it. */
		qvmi__detach(ctx);
		return err;
	}
	ctx->backend = fmt_names[fmt];
	/* The file's identity and last change: a rewritten file (ctime
	 * cannot be set back) is another image. */
	qvmi__mem_id_set(ctx, "file %ju %ju %jd %jd.%09ld %jd.%09ld",
			 (uintmax_t)st.st_dev, (uintmax_t)st.st_ino,
			 (intmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec,
			 st.st_mtim.tv_nsec, (intmax_t)st.st_ctim.tv_sec,
			 st.st_ctim.tv_nsec);
	qvmi__vm_state_changed(ctx, QVMI_VM_FROZEN);
	qvmi__clear_err(ctx);
	return 0;
}
