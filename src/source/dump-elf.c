// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ELF cores as written by QMP dump-guest-memory (format "elf"): one PT_LOAD
 * per guest RAM range with the true p_paddr, and a PT_NOTE holding, per
 * vCPU, an NT_PRSTATUS "CORE" note and a "QEMU" note (QEMUCPUState), then
 * a VMCOREINFO note if the guest published one.  Every header field is
 * checked before use (libbpf btf_parse_hdr): the file is hostile input.
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source/dump.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the dump reader assumes a little-endian host"
#endif

struct elf_file {
	struct qvmi_ctx *ctx;
	int fd;
	uint64_t size;
	uint64_t phnum;
	Elf64_Phdr *ph;
	uint16_t machine;
	bool is32; /* ELFCLASS32 */
	struct qvmi__dpiece *pc; /* memory, indexed (check_loads) */
	size_t npc;
};

static int bad(struct qvmi_ctx *ctx, const char *what)
{
	return qvmi__err(ctx, -EBADMSG, "ELF core: %s", what);
}

/* Read exactly len bytes at off, which the caller checked lie in the file. */
static int read_at(struct elf_file *f, uint64_t off, void *buf, size_t len)
{
	int err = qvmi__pread_full(f->fd, buf, len, off);

	if (err == -ENODATA)
		return bad(f->ctx, "file shrank while reading");
	return err ? qvmi__err(f->ctx, err, "ELF core: read failed") : 0;
}

/* [off, off + len) lies inside the file, without overflow. */
static bool in_file(const struct elf_file *f, uint64_t off, uint64_t len)
{
	return off <= f->size && len <= f->size - off;
}

/* ---- headers ------------------------------------------------------------ */

/* The ELF header fields used here, from either class. */
struct ehdr {
	uint64_t phoff, shoff;
	uint16_t type, machine, phentsize, phnum, shentsize;
	uint32_t version;
};

static int check_ident(struct qvmi_ctx *ctx, const unsigned char *ident,
		       const struct ehdr *eh)
{
	if (memcmp(ident, ELFMAG, SELFMAG))
		return bad(ctx, "bad magic");
	if (ident[EI_CLASS] != ELFCLASS64 && ident[EI_CLASS] != ELFCLASS32)
		return bad(ctx, "bad EI_CLASS");
	if (ident[EI_DATA] != ELFDATA2LSB)
		return bad(ctx, "not little-endian");
	if (ident[EI_VERSION] != EV_CURRENT || eh->version != EV_CURRENT)
		return bad(ctx, "bad ELF version");
	if (eh->type != ET_CORE)
		return bad(ctx, "not a core file (e_type)");
	/* QEMU writes EM_386 when the first vCPU is not in long mode. */
	if (eh->machine != EM_X86_64 && eh->machine != EM_386)
		return qvmi__err(ctx, -EOPNOTSUPP,
				 "ELF core: machine %u is not x86",
				 eh->machine);
	snprintf(ctx->vm_arch, sizeof(ctx->vm_arch), "%s",
		 eh->machine == EM_X86_64 ? "x86_64" : "i386");
	return 0;
}

/*
 * QEMU writes ELFCLASS32 when vCPU 0 is not in long mode and all RAM lies
 * below 4 GiB (arch_dump.c cpu_get_dump_info): a dump taken in the BIOS or
 * of a 32-bit guest.  Widen its header to the fields above.
 */
static int read_ehdr(struct elf_file *f, unsigned char *ident, struct ehdr *ret)
{
	Elf64_Ehdr e64;
	Elf32_Ehdr e32;
	int err;

	if (f->size < EI_NIDENT)
		return bad(f->ctx, "truncated ELF header");
	err = read_at(f, 0, ident, EI_NIDENT);
	if (err)
		return err;
	f->is32 = ident[EI_CLASS] == ELFCLASS32;
	if (f->size < (f->is32 ? sizeof(e32) : sizeof(e64)))
		return bad(f->ctx, "truncated ELF header");
	if (f->is32) {
		err = read_at(f, 0, &e32, sizeof(e32));
		*ret = (struct ehdr){ e32.e_phoff,     e32.e_shoff,
				      e32.e_type,      e32.e_machine,
				      e32.e_phentsize, e32.e_phnum,
				      e32.e_shentsize, e32.e_version };
	} else {
		err = read_at(f, 0, &e64, sizeof(e64));
		*ret = (struct ehdr){ e64.e_phoff,     e64.e_shoff,
				      e64.e_type,      e64.e_machine,
				      e64.e_phentsize, e64.e_phnum,
				      e64.e_shentsize, e64.e_version };
	}
	return err;
}

/* e_phnum == PN_XNUM: the real count is in section header 0's sh_info
 * (QEMU dump.c does this past 65534 program headers). */
static int read_xnum(struct elf_file *f, const struct ehdr *eh)
{
	size_t shsz = f->is32 ? sizeof(Elf32_Shdr) : sizeof(Elf64_Shdr);
	Elf64_Shdr sh64;
	Elf32_Shdr sh32;
	int err;

	if (!eh->shoff || eh->shentsize != shsz)
		return bad(f->ctx, "PN_XNUM without a section header");
	if (!in_file(f, eh->shoff, shsz))
		return bad(f->ctx, "section header 0 outside the file");
	if (f->is32) {
		err = read_at(f, eh->shoff, &sh32, sizeof(sh32));
		f->phnum = sh32.sh_info;
	} else {
		err = read_at(f, eh->shoff, &sh64, sizeof(sh64));
		f->phnum = sh64.sh_info;
	}
	return err;
}

/* Program headers into f->ph, widened to Elf64_Phdr. */
static int read_phdrs(struct elf_file *f, uint64_t phoff)
{
	Elf32_Phdr *p32;
	size_t i;
	int err;

	f->ph = calloc(f->phnum, sizeof(Elf64_Phdr));
	if (!f->ph)
		return qvmi__err(f->ctx, -ENOMEM, "out of memory");
	if (!f->is32)
		return read_at(f, phoff, f->ph, f->phnum * sizeof(Elf64_Phdr));
	p32 = calloc(f->phnum, sizeof(*p32));
	if (!p32)
		return qvmi__err(f->ctx, -ENOMEM, "out of memory");
	err = read_at(f, phoff, p32, f->phnum * sizeof(*p32));
	for (i = 0; !err && i < f->phnum; i++)
		f->ph[i] = (Elf64_Phdr){ .p_type = p32[i].p_type,
					 .p_offset = p32[i].p_offset,
					 .p_paddr = p32[i].p_paddr,
					 .p_vaddr = p32[i].p_vaddr,
					 .p_filesz = p32[i].p_filesz,
					 .p_memsz = p32[i].p_memsz };
	free(p32);
	return err;
}

static int read_headers(struct elf_file *f)
{
	struct qvmi_ctx *ctx = f->ctx;
	unsigned char ident[EI_NIDENT];
	size_t ehsz, phsz;
	struct ehdr eh = { 0 };
	int err;

	err = read_ehdr(f, ident, &eh);
	if (!err)
		err = check_ident(ctx, ident, &eh);
	if (err)
		return err;
	ehsz = f->is32 ? sizeof(Elf32_Ehdr) : sizeof(Elf64_Ehdr);
	phsz = f->is32 ? sizeof(Elf32_Phdr) : sizeof(Elf64_Phdr);
	/* e_ehsize is not checked: QEMU 7.2 writes 8 there (it should be
	 * 64), and nothing here depends on it. */
	if (eh.phentsize != phsz)
		return bad(ctx, "bad e_phentsize");
	f->machine = eh.machine;
	f->phnum = eh.phnum;
	if (eh.phnum == PN_XNUM) {
		err = read_xnum(f, &eh);
		if (err)
			return err;
	}
	if (!f->phnum)
		return bad(ctx, "no program headers");
	if (f->phnum > QVMI_DUMP_MAX_PHDRS)
		return bad(ctx, "too many program headers");
	if (eh.phoff < ehsz || !in_file(f, eh.phoff, f->phnum * phsz))
		return bad(ctx, "program headers outside the file");
	return read_phdrs(f, eh.phoff);
}

static int check_load(struct elf_file *f, const Elf64_Phdr *p)
{
	if (p->p_filesz > p->p_memsz)
		return bad(f->ctx, "PT_LOAD with p_filesz > p_memsz");
	if (!in_file(f, p->p_offset, p->p_filesz))
		return qvmi__err(f->ctx, -EBADMSG,
				 "ELF core: PT_LOAD at 0x%" PRIx64
				 " ends past the end of the file (truncated?)",
				 p->p_paddr);
	/* x86 physical addresses have at most 52 bits (MAXPHYADDR); this
	 * also keeps a hostile zero-filled p_memsz from being endless. */
	if (p->p_paddr > QVMI_DUMP_MAX_PADDR ||
	    p->p_memsz > QVMI_DUMP_MAX_PADDR - p->p_paddr)
		return qvmi__err(f->ctx, -EBADMSG,
				 "ELF core: PT_LOAD at 0x%" PRIx64
				 " reaches past 2^52",
				 p->p_paddr);
	return 0;
}

/*
 * Check every PT_LOAD and index them by guest-physical address
 * (qvmi__dump_index): overlapping PT_LOADs (kexec-style, QEMU paging=true)
 * name the same memory.  A PT_LOAD with no file data is left out: QEMU
 * with paging=true writes those for mappings of what is not RAM (dump.c
 * get_offset_range finds no block), so they are not zeros of the guest.
 */
static int check_loads(struct elf_file *f)
{
	uint64_t zero_fill = 0;
	size_t i, n = 0;
	int err = 0;

	f->pc = calloc(2 * f->phnum + 1, sizeof(*f->pc));
	if (!f->pc)
		return qvmi__err(f->ctx, -ENOMEM, "out of memory");
	for (i = 0; i < f->phnum && !err; i++) {
		const Elf64_Phdr *p = &f->ph[i];

		if (p->p_type != PT_LOAD || !p->p_memsz)
			continue;
		err = check_load(f, p);
		if (err || !p->p_filesz)
			continue;
		f->pc[n++] = (struct qvmi__dpiece){ p->p_paddr, p->p_filesz,
						    p->p_offset, (uint32_t)i,
						    false };
		if (p->p_memsz > p->p_filesz)
			f->pc[n++] =
				(struct qvmi__dpiece){ p->p_paddr + p->p_filesz,
						       p->p_memsz - p->p_filesz,
						       0, (uint32_t)i, true };
	}
	if (err)
		return err;
	f->npc = qvmi__dump_index(f->pc, n);
	if (f->npc > QVMI_DUMP_MAX_LOADS)
		return bad(f->ctx, "too many PT_LOADs (after merging)");
	for (i = 0; i < f->npc; i++)
		if (f->pc[i].zero)
			zero_fill += f->pc[i].size; /* < 2^52 each, <= 4096 */
	if (zero_fill > QVMI_DUMP_MAX_ZERO_FILL)
		return bad(f->ctx, "PT_LOADs zero-fill too much memory");
	return 0;
}

static int read_notes(struct elf_file *f, struct qvmi__dnotes *core)
{
	uint64_t total = 0;
	size_t i, count = 0;
	int err = 0;

	for (i = 0; i < f->phnum && !err; i++) {
		const Elf64_Phdr *p = &f->ph[i];
		uint8_t *buf;

		if (p->p_type != PT_NOTE || !p->p_filesz)
			continue;
		if (!in_file(f, p->p_offset, p->p_filesz))
			return bad(f->ctx, "PT_NOTE outside the file");
		if (p->p_filesz > QVMI_DUMP_MAX_NOTES_BYTES - total)
			return bad(f->ctx, "notes too large");
		total += p->p_filesz;
		buf = malloc(p->p_filesz);
		if (!buf)
			return qvmi__err(f->ctx, -ENOMEM, "out of memory");
		err = read_at(f, p->p_offset, buf, p->p_filesz);
		if (!err)
			err = qvmi__dnotes_parse(f->ctx, core, buf, p->p_filesz,
						 &count);
		free(buf);
	}
	if (!err)
		qvmi__dnotes_finish(f->ctx, core, f->machine);
	return err;
}

/* ---- memory ------------------------------------------------------------- */

/* The zero tail of a PT_LOAD whose p_memsz exceeds p_filesz. */
static int zero_read(struct qvmi_source *s, uint64_t addr, void *buf,
		     size_t len)
{
	memset(buf, 0, len);
	return 0;
}

static const struct qvmi_source_ops zero_ops = {
	.name = "elf-zero",
	.read = zero_read,
};

static int map_loads(struct elf_file *f, struct qvmi_source *src)
{
	struct qvmi_ctx *ctx = f->ctx;
	struct qvmi_source *zero = NULL;
	size_t i;
	int err = 0;

	for (i = 0; i < f->npc && !err; i++) {
		const struct qvmi__dpiece *p = &f->pc[i];

		if (!p->zero) {
			err = qvmi_map_add(ctx, src, p->pa, p->size, p->off);
		} else {
			if (!zero)
				err = qvmi_source_create(ctx, &zero_ops, NULL,
							 QVMI_SOURCE_FROZEN,
							 &zero);
			if (!err)
				err = qvmi_map_add(ctx, zero, p->pa, p->size,
						   0);
		}
		if (!err)
			err = qvmi__ram_add_merged(ctx, p->pa, p->size);
	}
	return err;
}

int qvmi__attach_elf_fd(struct qvmi_ctx *ctx, int fd)
{
	struct elf_file f = { .ctx = ctx, .fd = fd };
	struct qvmi__dnotes *core = NULL;
	struct qvmi_source *src;
	struct stat st;
	int err;

	if (fstat(fd, &st) || st.st_size < 0) {
		err = qvmi__err(ctx, -errno, "ELF core: cannot stat the file");
		goto fail;
	}
	f.size = (uint64_t)st.st_size;
	err = read_headers(&f);
	if (!err)
		err = check_loads(&f);
	if (err)
		goto fail;
	core = calloc(1, sizeof(*core));
	if (!core) {
		err = qvmi__err(ctx, -ENOMEM, "out of memory");
		goto fail;
	}
	err = read_notes(&f, core);
	if (err)
		goto fail;
	err = qvmi__source_file_create(ctx, "elf", fd, f.size, &src);
	if (err)
		goto fail;
	fd = -1; /* the source owns it now */
	err = map_loads(&f, src);
	if (err)
		goto fail;
	err = qvmi__ctl_set(ctx, &qvmi__dnotes_ctl_ops, core);
	if (err)
		goto fail;
	/* qvmi_vmcoreinfo(): the ctl owns the text until detach */
	ctx->vmcoreinfo = core->vmcoreinfo;
	free(f.ph);
	free(f.pc);
	return 0;
fail:
	qvmi__dnotes_free(core);
	free(f.ph);
	free(f.pc);
	if (fd >= 0)
		close(fd);
	return err;
}
