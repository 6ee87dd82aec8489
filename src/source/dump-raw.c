// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Dump files as memory: a pread source over a file (shared with the ELF
 * reader), and raw images, where either file offset == GPA or a memory map
 * "GPA:SIZE[@FILEOFF],..." says where each range lies.
 *
 * pread, not mmap: a dump may be truncated under us, and a read through a
 * mapping would then be SIGBUS instead of an error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source/dump.h"

struct file_src {
	int fd;
	uint64_t size;
};

static int file_read(struct qvmi_source *s, uint64_t addr, void *buf,
		     size_t len)
{
	struct file_src *f = qvmi_source_priv(s);
	int err;

	if (addr > f->size || len > f->size - addr)
		return -EFAULT;
	/* pread takes off_t: addr + len <= size fits in it. */
	err = qvmi__pread_full(f->fd, buf, len, addr);
	return err == -ENODATA ? -EIO : err; /* -EIO: truncated since attach */
}

static void file_destroy(struct qvmi_source *s)
{
	struct file_src *f = qvmi_source_priv(s);

	close(f->fd);
	free(f);
}

static const struct qvmi_source_ops file_elf_ops = {
	.name = "elf",
	.read = file_read,
	.destroy = file_destroy,
};

static const struct qvmi_source_ops file_raw_ops = {
	.name = "raw",
	.read = file_read,
	.destroy = file_destroy,
};

int qvmi__source_file_create(struct qvmi_ctx *ctx, const char *name, int fd,
			     uint64_t file_size, struct qvmi_source **ret)
{
	struct file_src *f = calloc(1, sizeof(*f));
	int err;

	if (!f)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	f->fd = fd;
	f->size = file_size;
	/* SLOW lets the page cache hold dump pages (they never go stale): on
	 * a QEMU 7.2 dump a repeated 8-byte read went from 1.6 us (pread) to
	 * 0.02 us; a 512 MiB scan went from 0.14 s to 0.4 s, since the cache
	 * reads page by page. */
	err = qvmi_source_create(
		ctx, strcmp(name, "elf") ? &file_raw_ops : &file_elf_ops, f,
		QVMI_SOURCE_FROZEN | QVMI_SOURCE_SLOW, ret);
	if (err)
		free(f);
	return err;
}

/* ---- raw images ---------------------------------------------------------- */

struct raw_range {
	uint64_t gpa, size, off;
};

/* "0x..." is hex, anything else decimal; no sign, no octal. */
static int parse_num(const char **p, uint64_t *ret)
{
	const char *s = *p;
	unsigned int base = 10;
	uint64_t v = 0;
	int digits = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (;; s++, digits++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned int)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned int)(*s - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	if (!digits)
		return -EINVAL;
	*p = s;
	*ret = v;
	return 0;
}

/* One "GPA:SIZE[@FILEOFF]"; FILEOFF defaults to right after the previous
 * range in the file, so "0:0xc0000000,0x100000000:0x40000000" describes a
 * packed image of a 4 GiB pc guest. */
static int parse_entry(const char **p, uint64_t next_off, struct raw_range *r)
{
	r->off = next_off;
	if (parse_num(p, &r->gpa) || **p != ':')
		return -EINVAL;
	(*p)++;
	if (parse_num(p, &r->size) || !r->size)
		return -EINVAL;
	if (**p == '@') {
		(*p)++;
		if (parse_num(p, &r->off))
			return -EINVAL;
	}
	if (r->gpa + (r->size - 1) < r->gpa || r->off + (r->size - 1) < r->off)
		return -ERANGE;
	return 0;
}

static int check_range(struct qvmi_ctx *ctx, const struct raw_range *r,
		       const struct raw_range *all, size_t n, uint64_t fsize)
{
	size_t i;

	if (r->off > fsize || r->size > fsize - r->off)
		return qvmi__err(ctx, -EINVAL,
				 "raw map: 0x%" PRIx64 ":0x%" PRIx64
				 "@0x%" PRIx64 " runs past the end of the "
				 "dump (only 0x%" PRIx64 " bytes)",
				 r->gpa, r->size, r->off, fsize);
	for (i = 0; i < n; i++)
		if (r->gpa <= all[i].gpa + (all[i].size - 1) &&
		    all[i].gpa <= r->gpa + (r->size - 1))
			return qvmi__err(ctx, -EINVAL,
					 "raw map: range at GPA 0x%" PRIx64
					 " overlaps the one at 0x%" PRIx64,
					 r->gpa, all[i].gpa);
	return 0;
}

static int parse_map(struct qvmi_ctx *ctx, const char *map, uint64_t fsize,
		     struct raw_range **ret, size_t *nret)
{
	struct raw_range *r = calloc(QVMI_DUMP_MAX_RAW_MAP, sizeof(*r));
	const char *p = map;
	uint64_t next = 0;
	size_t n = 0;
	int err = 0;

	if (!r)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	while (*p) {
		if (n == QVMI_DUMP_MAX_RAW_MAP) {
			err = qvmi__err(ctx, -E2BIG,
					"raw map: more than %d ranges",
					QVMI_DUMP_MAX_RAW_MAP);
			goto out;
		}
		if (parse_entry(&p, next, &r[n]) || (*p && *p != ',')) {
			err = qvmi__err(ctx, -EINVAL,
					"raw map: bad entry at offset %zu of "
					"\"%.64s\" (want GPA:SIZE[@FILEOFF])",
					(size_t)(p - map), map);
			goto out;
		}
		err = check_range(ctx, &r[n], r, n, fsize);
		if (err)
			goto out;
		next = r[n].off + r[n].size;
		n++;
		if (*p == ',')
			p++;
	}
	if (!n)
		err = qvmi__err(ctx, -EINVAL, "raw map: empty");
out:
	if (err) {
		free(r);
		return err;
	}
	*ret = r;
	*nret = n;
	return 0;
}

static int raw_register(struct qvmi_ctx *ctx, struct qvmi_source *src,
			const struct raw_range *r, size_t n)
{
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		err = qvmi_map_add(ctx, src, r[i].gpa, r[i].size, r[i].off);
		if (!err)
			err = qvmi__ram_add(ctx, r[i].gpa, r[i].size);
		if (err)
			return err;
	}
	return 0;
}

/* A raw image has no registers; it still answers "frozen". */
static int raw_vcpu_count(struct qvmi_ctl *c)
{
	return 0;
}

static int raw_state(struct qvmi_ctl *c, enum qvmi_vm_state *ret)
{
	*ret = QVMI_VM_FROZEN;
	return 0;
}

static const struct qvmi_ctl_ops raw_ctl_ops = {
	.name = "raw",
	.vcpu_count = raw_vcpu_count,
	.state = raw_state,
};

int qvmi__attach_raw_fd(struct qvmi_ctx *ctx, int fd, const char *raw_map)
{
	struct raw_range whole, *r = &whole;
	struct qvmi_source *src;
	size_t n = 1;
	off_t end = lseek(fd, 0, SEEK_END);
	int err;

	if (end < 0) {
		err = qvmi__err(ctx, -errno, "raw dump: cannot size the file");
		close(fd);
		return err;
	}
	if (end == 0) {
		close(fd);
		return qvmi__err(ctx, -EBADMSG, "raw dump: empty file");
	}
	whole = (struct raw_range){ 0, (uint64_t)end, 0 };
	if (raw_map) {
		err = parse_map(ctx, raw_map, (uint64_t)end, &r, &n);
		if (err) {
			close(fd);
			return err;
		}
	}
	err = qvmi__source_file_create(ctx, "raw", fd, (uint64_t)end, &src);
	if (err)
		close(fd);
	else
		err = raw_register(ctx, src, r, n);
	if (!err)
		err = qvmi__ctl_set(ctx, &raw_ctl_ops, NULL);
	if (r != &whole)
		free(r);
	return err;
}
