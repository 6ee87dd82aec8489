/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Building ELF cores in C the way QMP dump-guest-memory writes them, for
 * the dump and dumpwrite suites.
 */
#ifndef QVMI_TEST_DUMPCORE_H
#define QVMI_TEST_DUMPCORE_H

#include <elf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "qvmi.h"
#include "source/dump.h"

/* ---- building cores ------------------------------------------------------ */

struct tload {
	uint64_t paddr, filesz, memsz;
	uint8_t seed;
};

struct tcore {
	uint8_t *buf;
	size_t len;
	size_t phoff, notes_off, notes_len;
	size_t data_off[8];
};

static inline uint8_t pat(uint8_t seed, uint64_t i)
{
	return (uint8_t)(seed + i * 13 + (i >> 9));
}

static inline uint64_t rip_of(int cpu)
{
	return 0xffffffff81000000ull + 0x10 * (uint64_t)cpu;
}

static inline uint64_t cr3_of(int cpu)
{
	return 0x12210000ull + 0x1000 * (uint64_t)cpu;
}

/* Append one note to *buf (realloc'd). */
static inline void note_add(uint8_t **buf, size_t *len, const char *name,
			    uint32_t type, const void *desc, size_t descsz)
{
	size_t nsz = strlen(name) + 1;
	size_t add = 12 + ((nsz + 3) & ~3ul) + ((descsz + 3) & ~3ul);
	Elf64_Nhdr h = { (Elf64_Word)nsz, (Elf64_Word)descsz, type };
	uint8_t *p;

	*buf = realloc(*buf, *len + add);
	CHECK(*buf);
	p = *buf + *len;
	memset(p, 0, add);
	memcpy(p, &h, 12);
	memcpy(p + 12, name, nsz);
	memcpy(p + 12 + ((nsz + 3) & ~3ul), desc, descsz);
	*len += add;
}

static inline void cpustate(int cpu, struct qvmi_qemu_cpustate *s)
{
	memset(s, 0, sizeof(*s));
	s->version = 1;
	s->size = sizeof(*s);
	s->rax = 0xaa00 + (uint64_t)cpu;
	s->r15 = 0xff00 + (uint64_t)cpu;
	s->rsp = 0xffffc90000004000ull + (uint64_t)cpu;
	s->rip = rip_of(cpu);
	s->rflags = 0x246;
	s->cs.selector = 0x10;
	s->ss.selector = 0x18;
	s->gs.base = 0xffff88801f400000ull + ((uint64_t)cpu << 20);
	s->gdt.base = 0xfffffe0000001000ull;
	s->gdt.limit = 0x7f;
	s->idt.base = 0xfffffe0000000000ull;
	s->idt.limit = 0xfff;
	s->cr[0] = 0x80050033;
	s->cr[2] = 0x7f0000001000ull;
	s->cr[3] = cr3_of(cpu);
	s->cr[4] = 0x6f0;
	s->kernel_gs_base = 0x7f00000000ull + (uint64_t)cpu;
}

static inline void prstatus(int cpu, struct qvmi_prstatus64 *p)
{
	memset(p, 0, sizeof(*p));
	p->pid = (uint32_t)cpu + 1;
	p->rax = 0xbb00 + (uint64_t)cpu;
	p->r15 = 0xee00 + (uint64_t)cpu;
	p->rip = rip_of(cpu) + 1;
	p->eflags = 0x202;
	p->cs = 0x10;
	p->gs_base = 0xffff88801f400000ull;
}

static const char vmci_text[] = "OSRELEASE=6.1.0-56-amd64\nPAGESIZE=4096\n"
				"SYMBOL(init_uts_ns)=ffffffff82a13840\n";

/* QEMU's order: all CORE notes, all QEMU notes, then VMCOREINFO. */
static inline uint8_t *std_notes(size_t *len, int nprs, int nqemu, bool vmci)
{
	uint8_t *buf = NULL;
	int i;

	*len = 0;
	for (i = 0; i < nprs; i++) {
		struct qvmi_prstatus64 p;

		prstatus(i, &p);
		note_add(&buf, len, "CORE", NT_PRSTATUS, &p, sizeof(p));
	}
	for (i = 0; i < nqemu; i++) {
		struct qvmi_qemu_cpustate s;

		cpustate(i, &s);
		note_add(&buf, len, "QEMU", 0, &s, sizeof(s));
	}
	if (vmci)
		note_add(&buf, len, "VMCOREINFO", 0, vmci_text,
			 strlen(vmci_text));
	return buf;
}

/* ehdr | PT_NOTE + PT_LOADs | notes | data, unaligned as QEMU does. */
static inline void make_core(struct tcore *c, const struct tload *l, size_t n,
			     const uint8_t *notes, size_t notes_len)
{
	size_t phnum = n + (notes_len ? 1 : 0), off, i;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;

	CHECK(n <= 8);
	c->phoff = sizeof(Elf64_Ehdr);
	c->notes_off = c->phoff + phnum * sizeof(Elf64_Phdr);
	c->notes_len = notes_len;
	off = c->notes_off + notes_len;
	for (i = 0; i < n; i++) {
		c->data_off[i] = off;
		off += l[i].filesz;
	}
	c->len = off;
	c->buf = calloc(1, off);
	CHECK(c->buf);
	eh = (Elf64_Ehdr *)c->buf;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_CORE;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = c->phoff;
	eh->e_ehsize = 8; /* what QEMU 7.2 writes */
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = (Elf64_Half)phnum;
	ph = (Elf64_Phdr *)(c->buf + c->phoff);
	if (notes_len) {
		ph->p_type = PT_NOTE;
		ph->p_offset = c->notes_off;
		ph->p_filesz = ph->p_memsz = notes_len;
		memcpy(c->buf + c->notes_off, notes, notes_len);
		ph++;
	}
	for (i = 0; i < n; i++, ph++) {
		ph->p_type = PT_LOAD;
		ph->p_offset = c->data_off[i];
		ph->p_paddr = ph->p_vaddr = l[i].paddr;
		ph->p_filesz = l[i].filesz;
		ph->p_memsz = l[i].memsz;
		for (uint64_t j = 0; j < l[i].filesz; j++)
			c->buf[c->data_off[i] + j] = pat(l[i].seed, j);
	}
}

#define EH(c) ((Elf64_Ehdr *)(c)->buf)
#define PH(c, i) ((Elf64_Phdr *)((c)->buf + (c)->phoff) + (i))

/* Two RAM ranges with a gap, a zero-filled tail, 2 vCPUs, VMCOREINFO. */
static const struct tload std_loads[] = {
	{ 0x0, 0x3000, 0x3000, 1 },
	{ 0x100000, 0x2000, 0x2000, 2 },
	{ 0xfffc0000, 0x1000, 0x2000, 3 },
};

static inline void std_core(struct tcore *c)
{
	size_t nl;
	uint8_t *notes = std_notes(&nl, 2, 2, true);

	make_core(c, std_loads, 3, notes, nl);
	free(notes);
}

static inline struct qvmi_ctx *new_ctx(void)
{
	struct qvmi_ctx *ctx = NULL;

	CHECK_OK(qvmi_ctx_create(&ctx));
	return ctx;
}

/* Attach through a memfd: no disk, the library opens its own fd. */
static inline int attach_buf(struct qvmi_ctx *ctx, const void *buf, size_t len,
			     const struct qvmi_dump_opts *opts)
{
	char path[64];
	int fd = memfd_create("test-dump", MFD_CLOEXEC), err;

	CHECK(fd >= 0);
	CHECK(write(fd, buf, len) == (ssize_t)len);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err = qvmi_attach_dump(ctx, path, opts);
	close(fd);
	return err;
}

static inline void tmp_path(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "/tmp/qvmi-test-dump-%d-%s", (int)getpid(), what);
}

#endif
