// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Writing guest RAM to a dump file: an ELF core in the layout of QMP
 * dump-guest-memory (PT_NOTE with per-vCPU "CORE" NT_PRSTATUS and "QEMU"
 * notes, then one PT_LOAD per RAM range), or a raw image (file offset ==
 * GPA).  All-zero pages are not written, so both stay sparse.
 *
 * One difference from QEMU: the memory starts at a page-aligned file
 * offset, which is what lets the ELF core stay sparse too.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "source/dump.h"

enum { CHUNK = 1 << 20 };

struct wrange {
	uint64_t gpa, size, off; /* off: file offset of the data */
};

struct writer {
	struct qvmi_ctx *ctx;
	const char *path;
	int fd;
	uint8_t *buf; /* CHUNK */
	qvmi_progress_fn progress;
	void *progress_arg;
	uint64_t done, total;
};

/* ---- what to write ------------------------------------------------------ */

/* Add [gpa, last]; merge with the previous range when they touch or
 * overlap (input is sorted), so PT_LOADs never overlap: the reader rejects
 * that. */
static int push_range(struct qvmi_ctx *ctx, struct wrange **r, size_t *n,
		      size_t *cap, uint64_t gpa, uint64_t last)
{
	struct wrange *p = *n ? &(*r)[*n - 1] : NULL;

	if (last == UINT64_MAX && gpa == 0)
		return qvmi__err(ctx, -EFBIG,
				 "dump: a range covers all of 2^64");
	if (p &&
	    (p->gpa + (p->size - 1) == UINT64_MAX || gpa <= p->gpa + p->size)) {
		uint64_t plast = p->gpa + (p->size - 1);

		p->size = QVMI_MAX(plast, last) - p->gpa + 1;
		return 0;
	}
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct wrange *nr = realloc(*r, c * sizeof(*nr));

		if (!nr)
			return qvmi__err(ctx, -ENOMEM, "out of memory");
		*r = nr;
		*cap = c;
	}
	(*r)[(*n)++] = (struct wrange){ gpa, last - gpa + 1, 0 };
	return 0;
}

/* RAM as the VM describes it; without that, what is mapped, leaving out a
 * catch-all over all of 2^64 (it would be 16 EiB of nothing). */
static int collect(struct qvmi_ctx *ctx, struct wrange **ret, size_t *nret)
{
	size_t i, n = 0, cap = 0;
	struct wrange *r = NULL;
	int err = 0;

	for (i = 0; i < ctx->nram && !err; i++) {
		const struct qvmi_ram_range *m = &ctx->ram[i];

		if (!m->size)
			continue;
		if (m->gpa + (m->size - 1) < m->gpa)
			err = qvmi__err(ctx, -EINVAL,
					"dump: RAM range at 0x%" PRIx64
					" wraps past 2^64",
					m->gpa);
		else
			err = push_range(ctx, &r, &n, &cap, m->gpa,
					 m->gpa + (m->size - 1));
	}
	for (i = 0; !ctx->nram && i < ctx->nsegs && !err; i++) {
		const struct qvmi_seg *s = &ctx->segs[i];

		if (s->start == 0 && s->last == UINT64_MAX)
			continue;
		err = push_range(ctx, &r, &n, &cap, s->start, s->last);
	}
	if (!err && !n)
		err = qvmi__err(ctx, -ENOENT, "dump: no guest memory to write");
	if (err) {
		free(r);
		return err;
	}
	*ret = r;
	*nret = n;
	return 0;
}

/* ---- output ------------------------------------------------------------- */

static int put(struct writer *w, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	if (off > (uint64_t)INT64_MAX - len)
		return qvmi__err(w->ctx, -EFBIG,
				 "dump: file offset 0x%" PRIx64 " too large",
				 off);
	while (len) {
		ssize_t n = pwrite(w->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return qvmi__err(w->ctx, n < 0 ? -errno : -EIO,
					 "dump: writing %s failed: %s", w->path,
					 strerror(n < 0 ? errno : EIO));
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static bool page_zero(const uint8_t *p, size_t len)
{
	return !p[0] && !memcmp(p, p + 1, len - 1);
}

/* Write buf[0, len) at off, skipping all-zero pages (left as holes). */
static int put_sparse(struct writer *w, const uint8_t *buf, size_t len,
		      uint64_t off)
{
	size_t i = 0;

	while (i < len) {
		size_t run = 0, pg;
		int err;

		while (i < len &&
		       page_zero(buf + i,
				 QVMI_MIN(len - i, (size_t)QVMI_PAGE_SIZE)))
			i += QVMI_MIN(len - i, (size_t)QVMI_PAGE_SIZE);
		while (i + run < len) {
			pg = QVMI_MIN(len - i - run, (size_t)QVMI_PAGE_SIZE);
			if (page_zero(buf + i + run, pg))
				break;
			run += pg;
		}
		if (run) {
			err = put(w, buf + i, run, off + i);
			if (err)
				return err;
		}
		i += run;
	}
	return 0;
}

static int copy_range(struct writer *w, const struct wrange *r)
{
	uint64_t pos = 0;
	int err;

	while (pos < r->size) {
		size_t n = (size_t)QVMI_MIN((uint64_t)CHUNK, r->size - pos);

		err = qvmi_read_pa(w->ctx, r->gpa + pos, w->buf, n);
		if (err)
			return err; /* keeps the fault address */
		err = put_sparse(w, w->buf, n, r->off + pos);
		if (err)
			return err;
		pos += n;
		w->done += n;
		if (w->progress)
			w->progress(w->done, w->total, w->progress_arg);
	}
	return 0;
}

static int copy_all(struct writer *w, const struct wrange *r, size_t n,
		    uint64_t file_size)
{
	size_t i;
	int err;

	for (i = 0; i < n; i++)
		w->total += r[i].size;
	if (w->progress)
		w->progress(0, w->total, w->progress_arg);
	for (i = 0; i < n; i++) {
		err = copy_range(w, &r[i]);
		if (err)
			return err;
	}
	/* Trailing zero pages were skipped: give the file its full size. */
	if (ftruncate(w->fd, (off_t)file_size))
		return qvmi__err(w->ctx, -errno, "dump: sizing %s failed: %s",
				 w->path, strerror(errno));
	return 0;
}

/* ---- ELF notes ---------------------------------------------------------- */

static size_t al4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static size_t note_len(const char *name, size_t descsz)
{
	return sizeof(Elf64_Nhdr) + al4(strlen(name) + 1) + al4(descsz);
}

static uint8_t *note_put(uint8_t *p, const char *name, uint32_t type,
			 const void *desc, size_t descsz)
{
	Elf64_Nhdr h = { (Elf64_Word)(strlen(name) + 1), (Elf64_Word)descsz,
			 type };

	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	memcpy(p, name, h.n_namesz);
	p += al4(h.n_namesz);
	memcpy(p, desc, descsz);
	return p + al4(descsz);
}

/* Registers of every vCPU that has them; none is fine (no notes). */
static int collect_regs(struct qvmi_ctx *ctx, struct qvmi_regs_x86 **ret,
			size_t *nret)
{
	int i, count = ctx->ctl ? qvmi_vcpu_count(ctx) : 0;
	struct qvmi_regs_x86 *regs;
	size_t n = 0;

	*ret = NULL;
	*nret = 0;
	if (count <= 0)
		return 0;
	count = QVMI_MIN(count, QVMI_DUMP_MAX_VCPUS);
	regs = calloc((size_t)count, sizeof(*regs));
	if (!regs)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	for (i = 0; i < count; i++) {
		if (qvmi_get_regs(ctx, (unsigned int)i, &regs[n]) ||
		    !(regs[n].valid & QVMI_REGS_GPR)) {
			qvmi__log(ctx, QVMI_LOG_WARN,
				  "dump: no registers for vCPU %d", i);
			continue;
		}
		n++;
	}
	*ret = regs;
	*nret = n;
	return 0;
}

struct notes {
	uint8_t *buf;
	size_t len;
	uint16_t machine;
};

/* Like QEMU: an x86_64 core (and x86_64 prstatus) when vCPU 0 is in long
 * mode, else EM_386 with i386 prstatus.  Unknown means long mode. */
static bool long_mode(const struct qvmi_regs_x86 *regs, size_t n)
{
	return !n || !(regs[0].valid & QVMI_REGS_CR) ||
	       (regs[0].efer & (1u << 10)); /* EFER.LMA */
}

static uint8_t *put_prstatus(uint8_t *p, const struct qvmi_regs_x86 *r,
			     uint32_t pid, bool lm)
{
	struct qvmi_prstatus64 p64;
	struct qvmi_prstatus32 p32;

	if (lm) {
		qvmi__regs_to_prstatus(r, pid, &p64);
		return note_put(p, "CORE", NT_PRSTATUS, &p64, sizeof(p64));
	}
	qvmi__regs_to_prstatus32(r, pid, &p32);
	return note_put(p, "CORE", NT_PRSTATUS, &p32, sizeof(p32));
}

/* CORE notes for all vCPUs, then QEMU notes, then VMCOREINFO: QEMU's
 * order (dump.c write_elf64_notes). */
static int build_notes(struct qvmi_ctx *ctx, struct notes *ret)
{
	const char *vmci = qvmi_vmcoreinfo(ctx);
	struct qvmi_regs_x86 *regs;
	size_t i, n, len;
	uint8_t *buf, *p;
	bool lm;
	int err;

	err = collect_regs(ctx, &regs, &n);
	if (err)
		return err;
	lm = long_mode(regs, n);
	len = n * (note_len("CORE", lm ? sizeof(struct qvmi_prstatus64) :
					 sizeof(struct qvmi_prstatus32)) +
		   note_len("QEMU", sizeof(struct qvmi_qemu_cpustate)));
	if (vmci)
		len += note_len("VMCOREINFO", strlen(vmci));
	buf = calloc(1, len ? len : 1);
	if (!buf) {
		free(regs);
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	}
	p = buf;
	for (i = 0; i < n; i++)
		p = put_prstatus(p, &regs[i], (uint32_t)i + 1, lm);
	for (i = 0; i < n; i++) {
		struct qvmi_qemu_cpustate st;

		qvmi__regs_to_cpustate(&regs[i], &st);
		p = note_put(p, "QEMU", 0, &st, sizeof(st));
	}
	if (vmci)
		note_put(p, "VMCOREINFO", 0, vmci, strlen(vmci));
	free(regs);
	ret->buf = buf;
	ret->len = len;
	ret->machine = lm ? EM_X86_64 : EM_386;
	return 0;
}

/* ---- formats ------------------------------------------------------------ */

static void fill_ehdr(Elf64_Ehdr *eh, size_t phnum, uint16_t machine)
{
	memset(eh, 0, sizeof(*eh));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_CORE;
	eh->e_machine = machine;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = (Elf64_Half)phnum;
}

/* Header, program headers and notes in one buffer; sets each range's file
 * offset and the file's total size. */
static int build_elf_head(struct qvmi_ctx *ctx, struct wrange *r, size_t n,
			  uint8_t **ret, size_t *lenret, uint64_t *fsize)
{
	struct notes nt = { NULL, 0, EM_X86_64 };
	size_t phnum, head, i;
	Elf64_Phdr *ph;
	uint8_t *buf;
	uint64_t off;
	int err;

	err = build_notes(ctx, &nt);
	if (err)
		return err;
	phnum = n + (nt.len ? 1 : 0);
	if (phnum >= PN_XNUM) {
		free(nt.buf);
		return qvmi__err(ctx, -E2BIG, "dump: %zu ranges is too many",
				 n);
	}
	head = sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr) + nt.len;
	buf = calloc(1, head);
	if (!buf) {
		free(nt.buf);
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	}
	fill_ehdr((Elf64_Ehdr *)buf, phnum, nt.machine);
	ph = (Elf64_Phdr *)(buf + sizeof(Elf64_Ehdr));
	if (nt.len) {
		*ph++ = (Elf64_Phdr){ .p_type = PT_NOTE,
				      .p_offset = head - nt.len,
				      .p_filesz = nt.len,
				      .p_memsz = nt.len };
		memcpy(buf + head - nt.len, nt.buf, nt.len);
	}
	free(nt.buf);
	off = (head + QVMI_PAGE_SIZE - 1) & ~(uint64_t)(QVMI_PAGE_SIZE - 1);
	for (i = 0; i < n; i++, ph++) {
		r[i].off = off;
		*ph = (Elf64_Phdr){
			.p_type = PT_LOAD,
			.p_offset = off,
			.p_vaddr = r[i].gpa, /* as QEMU without paging */
			.p_paddr = r[i].gpa,
			.p_filesz = r[i].size,
			.p_memsz = r[i].size
		};
		off += r[i].size;
	}
	*ret = buf;
	*lenret = head;
	*fsize = off;
	return 0;
}

static int write_elf(struct writer *w, struct wrange *r, size_t n)
{
	uint8_t *head = NULL;
	size_t len = 0;
	uint64_t fsize = 0;
	int err;

	err = build_elf_head(w->ctx, r, n, &head, &len, &fsize);
	if (err)
		return err;
	err = put(w, head, len, 0);
	free(head);
	return err ? err : copy_all(w, r, n, fsize);
}

static int write_raw(struct writer *w, struct wrange *r, size_t n)
{
	uint64_t end = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		r[i].off = r[i].gpa;
		/* last < 2^63 keeps last + 1 from wrapping */
		end = QVMI_MAX(end, QVMI_MIN(r[i].gpa + (r[i].size - 1),
					     (uint64_t)INT64_MAX) +
					    1);
	}
	if (end > (uint64_t)INT64_MAX)
		return qvmi__err(w->ctx, -EFBIG,
				 "dump: raw image would be 0x%" PRIx64 " bytes",
				 end);
	return copy_all(w, r, n, end);
}

/*
 * Write into "PATH.XXXXXX" beside the target and rename it over PATH at the
 * end: no half-written dump is ever visible, and writing over the very
 * file a source reads from (a dump, a RAM backend file) cannot truncate it
 * under that source, which keeps the old inode.
 */
static int open_tmp(struct qvmi_ctx *ctx, const char *path, char **ret)
{
	struct stat st;
	char *tmp;
	int fd;

	if (!stat(path, &st) && !S_ISREG(st.st_mode))
		return qvmi__err(ctx, -EINVAL,
				 "dump: %s exists and is not a regular file",
				 path);
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600: a dump holds secrets */
	if (fd < 0) {
		int err = qvmi__err(ctx, -errno, "dump: cannot create %s: %s",
				    tmp, strerror(errno));

		free(tmp);
		return err;
	}
	*ret = tmp;
	return fd;
}

static int write_file(struct writer *w, enum qvmi_dump_format fmt,
		      struct wrange *r, size_t n)
{
	char *tmp = NULL;
	int err;

	w->fd = open_tmp(w->ctx, w->path, &tmp);
	if (w->fd < 0)
		return w->fd;
	err = fmt == QVMI_DUMP_ELF ? write_elf(w, r, n) : write_raw(w, r, n);
	if (close(w->fd) && !err)
		err = qvmi__err(w->ctx, -errno, "dump: closing %s failed: %s",
				tmp, strerror(errno));
	if (!err && rename(tmp, w->path))
		err = qvmi__err(w->ctx, -errno, "dump: renaming %s failed: %s",
				tmp, strerror(errno));
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}

QVMI_API int qvmi_dump_write(struct qvmi_ctx *ctx, const char *path,
			     const struct qvmi_dump_write_opts *opts)
{
	enum qvmi_dump_format fmt = QVMI_OPTS_GET(opts, format, QVMI_DUMP_ELF);
	struct writer w = { .ctx = ctx, .path = path, .fd = -1 };
	struct wrange *r = NULL;
	size_t n;
	int err;

	if (!ctx)
		return -EINVAL;
	if (!path || !*path ||
	    !QVMI_OPTS_VALID(opts, struct qvmi_dump_write_opts) ||
	    (fmt != QVMI_DUMP_ELF && fmt != QVMI_DUMP_RAW))
		return qvmi__err(ctx, -EINVAL, "dump_write: bad arguments");
	w.progress = QVMI_OPTS_GET(opts, progress, NULL);
	w.progress_arg = QVMI_OPTS_GET(opts, progress_arg, NULL);
	err = collect(ctx, &r, &n);
	if (err)
		return err;
	w.buf = malloc(CHUNK);
	if (!w.buf)
		err = qvmi__err(ctx, -ENOMEM, "out of memory");
	else
		err = write_file(&w, fmt, r, n);
	if (!err)
		qvmi__clear_err(ctx); /* vCPUs without registers were logged */
	free(w.buf);
	free(r);
	return err;
}
