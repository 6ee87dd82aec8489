// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kvm_sregs's segments and descriptor tables from HMP "info registers":
 * the one stock-QEMU place that shows a segment's cached base, limit and
 * attributes (QEMU 7.2 target/i386/cpu-dump.c, cpu_x86_dump_seg_cache:
 * "CS =0010 0000000000000000 ffffffff 00af9b00 DPL=0 CS64 [-RA]", with
 * 8-digit bases outside long mode).  The flags word is the descriptor's
 * high dword as QEMU caches it (DESC_* in target/i386/cpu.h); KVM turns
 * it into struct kvm_segment the same way (target/i386/kvm/kvm.c,
 * set_seg), which is what a KVMi tool got from the real kernel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/kvmi-sregs.h"

enum { LINE_MAX_SCAN = 4096 }; /* lines of one CPU block, at most */

/* The block of vCPU cpu: after "CPU#<cpu>" up to the next "CPU#", or
 * the whole text when it has no header (then only vCPU 0). */
static int find_block(const char *text, unsigned int cpu, const char **start,
		      const char **end)
{
	char tag[24];
	const char *b = strstr(text, "CPU#"), *e;
	size_t tl;

	if (!b) {
		if (cpu)
			return -ENOENT;
		*start = text;
		*end = text + strlen(text);
		return 0;
	}
	tl = (size_t)snprintf(tag, sizeof(tag), "CPU#%u", cpu);
	/* "CPU#1" must not match "CPU#12"; QMP's HMP text ends lines with
	 * "\r\n" */
	for (int i = 0; i < 4096 && (b = strstr(b, tag)); i++, b += tl)
		if (b[tl] == '\n' || b[tl] == '\r')
			break;
	if (!b)
		return -ENOENT;
	b += tl;
	e = strstr(b, "CPU#");
	*start = b;
	*end = e ? e : b + strlen(b);
	return 0;
}

static void seg_from_flags(struct kvm_segment *s, uint32_t sel, uint64_t base,
			   uint32_t limit, uint32_t flags)
{
	s->selector = (uint16_t)sel;
	s->base = base;
	s->limit = limit;
	s->type = (flags >> 8) & 15;
	s->s = (flags >> 12) & 1;
	s->dpl = (flags >> 13) & 3;
	s->present = (flags >> 15) & 1;
	s->avl = (flags >> 20) & 1;
	s->l = (flags >> 21) & 1;
	s->db = (flags >> 22) & 1;
	s->g = (flags >> 23) & 1;
	s->unusable = !s->present;
}

/* "XX =SSSS BASE LIMIT FLAGS": hex fields of bounded width. */
static int parse_seg_line(const char *l, const char *end, struct kvm_segment *s)
{
	char buf[96];
	size_t n = (size_t)(end - l);
	unsigned int sel, limit, flags;
	unsigned long long base;
	int used = 0;

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, l, n);
	buf[n] = 0;
	if (sscanf(buf + 4, "%4x %16llx %8x %8x%n", &sel, &base, &limit, &flags,
		   &used) != 4 ||
	    !used)
		return -EBADMSG;
	seg_from_flags(s, sel, base, limit, flags);
	return 0;
}

static int parse_table_line(const char *l, const char *end,
			    struct kvm_dtable *t)
{
	char buf[64];
	size_t n = (size_t)(end - l);
	unsigned long long base;
	unsigned int limit;

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, l, n);
	buf[n] = 0;
	if (sscanf(buf + 4, " %16llx %8x", &base, &limit) != 2 ||
	    limit > 0xffff)
		return -EBADMSG;
	t->base = base;
	t->limit = (uint16_t)limit;
	return 0;
}

static struct kvm_segment *seg_of(struct kvm_sregs *r, const char *l)
{
	static const char *const names[] = { "ES =", "CS =", "SS =", "DS =",
					     "FS =", "GS =", "LDT=", "TR =" };
	struct kvm_segment *const segs[] = { &r->es, &r->cs, &r->ss,  &r->ds,
					     &r->fs, &r->gs, &r->ldt, &r->tr };

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(names); i++)
		if (!strncmp(l, names[i], 4))
			return segs[i];
	return NULL;
}

int qvmi__kvmi_parse_sregs(const char *text, unsigned int cpu,
			   struct kvm_sregs *ret)
{
	const char *l, *end;
	unsigned int seen = 0, lines = 0;
	int err = find_block(text, cpu, &l, &end);

	if (err)
		return err;
	memset(ret, 0, sizeof(*ret));
	while (l < end && lines++ < LINE_MAX_SCAN) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		const char *le = nl ? nl : end;
		struct kvm_segment *s = le - l >= 4 ? seg_of(ret, l) : NULL;

		if (s) {
			err = parse_seg_line(l, le, s);
			seen |= 1u << (s - &ret->cs);
		} else if (le - l >= 4 && !strncmp(l, "GDT=", 4)) {
			err = parse_table_line(l, le, &ret->gdt);
			seen |= 1u << 8;
		} else if (le - l >= 4 && !strncmp(l, "IDT=", 4)) {
			err = parse_table_line(l, le, &ret->idt);
			seen |= 1u << 9;
		}
		if (err)
			return err;
		l = nl ? nl + 1 : end;
	}
	/* 8 segments and both tables, or the text is not what we know */
	return seen == 0x3ff ? 0 : -EBADMSG;
}
