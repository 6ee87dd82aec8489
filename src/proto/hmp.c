// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Parsers for HMP text as QEMU 7.2 prints it through human-monitor-command
 * (lines end in "\r\n").  The text comes from a peer: every number is
 * length-checked, every loop is bounded by the text, and anything that
 * does not look right gives -EBADMSG.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hmp.h"

enum {
	MTREE_MAX_RANGES = 65536,
	MAX_CPUS = 4096,
};

/* ---- small lexing helpers ----------------------------------------------- */

struct line {
	const char *p, *end; /* [p, end), without "\r\n" */
};

/* Next line of text at *pos; false at the end. */
static bool next_line(const char **pos, struct line *l)
{
	const char *s = *pos, *nl;

	if (!*s)
		return false;
	nl = strchr(s, '\n');
	l->p = s;
	l->end = nl ? nl : s + strlen(s);
	*pos = nl ? nl + 1 : l->end;
	while (l->end > l->p && (l->end[-1] == '\r' || l->end[-1] == ' '))
		l->end--;
	return true;
}

/* 1..16 hex digits at *p (no "0x"); advances *p.  false if none or too
 * many (a 17th digit would overflow). */
static bool lex_hex(const char **p, const char *end, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;
	int n = 0, d;

	while (s < end && (d = qvmi__hexval(*s)) >= 0) {
		if (++n > 16)
			return false;
		v = v << 4 | (uint64_t)d;
		s++;
	}
	if (!n)
		return false;
	*p = s;
	*ret = v;
	return true;
}

static bool lex_lit(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n))
		return false;
	*p += n;
	return true;
}

static bool lex_dec(const char **p, const char *end, long max, long *ret)
{
	const char *s = *p;
	long v = 0;

	if (s < end && *s == '-')
		s++;
	if (s >= end || *s < '0' || *s > '9')
		return false;
	while (s < end && *s >= '0' && *s <= '9') {
		v = v * 10 + (*s - '0');
		if (v > max)
			return false;
		s++;
	}
	*ret = **p == '-' ? -v : v;
	*p = s;
	return true;
}

static void skip_spaces(const char **p, const char *end)
{
	while (*p < end && **p == ' ')
		(*p)++;
}

static void copy_field(char *dst, size_t cap, const char *s, const char *e)
{
	size_t n = QVMI_MIN((size_t)(e - s), cap - 1);

	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* ---- info mtree -f ------------------------------------------------------ */

/* Accelerator names QEMU appends to a flat range ("... pc.ram KVM"). */
static const char *const accel_suffixes[] = { " KVM",  " HVF", " WHPX",
					      " NVMM", " HAX", " TCG" };

static const char *strip_accel(const char *s, const char *e)
{
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(accel_suffixes); i++) {
		size_t n = strlen(accel_suffixes[i]);

		if ((size_t)(e - s) > n && !memcmp(e - n, accel_suffixes[i], n))
			return e - n;
	}
	return e;
}

/*
 * "  0000000100000000-000000013fffffff (prio 0, ram): ram0 @00000000c0000000"
 * QEMU 7.2 memory.c mtree_print_flatview(): the kind may carry an "nv-"
 * prefix; "@offset" only appears when non-zero; an accelerator name may
 * follow.
 */
static int parse_range(const struct line *l, struct qvmi_mtree_range *r)
{
	const char *p = l->p, *e = l->end, *name, *at, *kind;
	long prio;

	memset(r, 0, sizeof(*r));
	skip_spaces(&p, e);
	if (!lex_hex(&p, e, &r->start) || !lex_lit(&p, e, "-") ||
	    !lex_hex(&p, e, &r->last) || r->last < r->start ||
	    !lex_lit(&p, e, " (prio ") || !lex_dec(&p, e, 1L << 30, &prio) ||
	    !lex_lit(&p, e, ", "))
		return -EBADMSG;
	r->prio = (int)prio;
	kind = p;
	while (p < e && *p != ')')
		p++;
	if (p == kind || !lex_lit(&p, e, "): "))
		return -EBADMSG;
	copy_field(r->kind, sizeof(r->kind), kind, p - 3);
	name = p;
	at = NULL;
	for (const char *s = p; s + 1 < e; s++)
		if (s[0] == ' ' && s[1] == '@')
			at = s;
	if (at) {
		const char *o = at + 2;

		if (!lex_hex(&o, e, &r->offset))
			return -EBADMSG;
		e = at;
	} else {
		e = strip_accel(name, e);
	}
	if (e == name)
		return -EBADMSG;
	copy_field(r->name, sizeof(r->name), name, e);
	return 0;
}

/* Is this " AS "memory", root: ..." header line? */
static bool is_memory_as(const struct line *l)
{
	const char *p = l->p;

	skip_spaces(&p, l->end);
	return lex_lit(&p, l->end, "AS \"memory\"");
}

static int mtree_push(struct qvmi_mtree_range **v, size_t *n, size_t *cap,
		      const struct qvmi_mtree_range *r)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 32;
		void *nv;

		if (nc > MTREE_MAX_RANGES)
			return -EBADMSG;
		nv = realloc(*v, nc * sizeof(**v));
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = *r;
	return 0;
}

int qvmi__hmp_parse_mtree(const char *text, struct qvmi_mtree_range **ret,
			  size_t *nret)
{
	struct qvmi_mtree_range *v = NULL, r;
	size_t n = 0, cap = 0;
	const char *pos = text;
	bool in_view = false, found = false;
	struct line l;
	int err = 0;

	*ret = NULL;
	*nret = 0;
	while (next_line(&pos, &l)) {
		if (lex_lit(&(const char *){ l.p }, l.end, "FlatView #")) {
			if (found)
				break; /* only the first view of "memory" */
			in_view = false;
			continue;
		}
		if (is_memory_as(&l)) {
			in_view = found = true;
			continue;
		}
		/* Range lines are indented by two; headers by one. */
		if (!in_view || l.end - l.p < 3 || l.p[0] != ' ' ||
		    l.p[1] != ' ' || qvmi__hexval(l.p[2]) < 0)
			continue;
		err = parse_range(&l, &r);
		if (!err)
			err = mtree_push(&v, &n, &cap, &r);
		if (err)
			break;
	}
	if (!err && !found)
		err = -EBADMSG; /* no AS "memory": not mtree -f output */
	if (err) {
		free(v);
		return err;
	}
	*ret = v;
	*nret = n;
	return 0;
}

/* ---- info registers ----------------------------------------------------- */

/* Bits of what a block has shown, to derive the valid mask. */
enum {
	SEEN_GPR8 = 1u << 0, /* rax..rsp (or eax..esp) */
	SEEN_GPR16 = 1u << 1, /* r8..r15 */
	SEEN_IP = 1u << 2,
	SEEN_FLAGS = 1u << 3,
};

struct reg_key {
	const char *name;
	size_t off;
	uint64_t bit; /* one of a group's member bits, in "seen" */
};

#define R(n, f, b)                                      \
	{                                               \
		n, offsetof(struct qvmi_regs_x86, f), b \
	}
static const struct reg_key gpr_keys[] = {
	R("RAX", rax, 1 << 0),	   R("RBX", rbx, 1 << 1),
	R("RCX", rcx, 1 << 2),	   R("RDX", rdx, 1 << 3),
	R("RSI", rsi, 1 << 4),	   R("RDI", rdi, 1 << 5),
	R("RBP", rbp, 1 << 6),	   R("RSP", rsp, 1 << 7),
	R("EAX", rax, 1 << 0),	   R("EBX", rbx, 1 << 1),
	R("ECX", rcx, 1 << 2),	   R("EDX", rdx, 1 << 3),
	R("ESI", rsi, 1 << 4),	   R("EDI", rdi, 1 << 5),
	R("EBP", rbp, 1 << 6),	   R("ESP", rsp, 1 << 7),
	R("R8", r8, 1 << 8),	   R("R9", r9, 1 << 9),
	R("R10", r10, 1 << 10),	   R("R11", r11, 1 << 11),
	R("R12", r12, 1 << 12),	   R("R13", r13, 1 << 13),
	R("R14", r14, 1 << 14),	   R("R15", r15, 1 << 15),
	R("RIP", rip, 1 << 16),	   R("EIP", rip, 1 << 16),
	R("RFL", rflags, 1 << 17), R("EFL", rflags, 1 << 17),
	R("CR0", cr0, 1 << 18),	   R("CR2", cr2, 1 << 19),
	R("CR3", cr3, 1 << 20),	   R("CR4", cr4, 1 << 21),
	R("EFER", efer, 1 << 22),  R("DR0", dr0, 1 << 23),
	R("DR1", dr1, 1 << 24),	   R("DR2", dr2, 1 << 25),
	R("DR3", dr3, 1 << 26),	   R("DR6", dr6, 1 << 27),
	R("DR7", dr7, 1 << 28),	   R("CR8", cr8, 1ull << 29),
};
#undef R

/* Segment lines: "CS =0010 0000000000000000 ffffffff 00af9b00 ..." */
static const struct {
	const char *name;
	size_t sel, base; /* base == SIZE_MAX: base not kept */
	uint64_t bit;
} seg_keys[] = {
	{ "ES", offsetof(struct qvmi_regs_x86, es), SIZE_MAX, 1ull << 32 },
	{ "CS", offsetof(struct qvmi_regs_x86, cs), SIZE_MAX, 1ull << 33 },
	{ "SS", offsetof(struct qvmi_regs_x86, ss), SIZE_MAX, 1ull << 34 },
	{ "DS", offsetof(struct qvmi_regs_x86, ds), SIZE_MAX, 1ull << 35 },
	{ "FS", offsetof(struct qvmi_regs_x86, fs),
	  offsetof(struct qvmi_regs_x86, fs_base), 1ull << 36 },
	{ "GS", offsetof(struct qvmi_regs_x86, gs),
	  offsetof(struct qvmi_regs_x86, gs_base), 1ull << 37 },
};

static void set_reg(struct qvmi_regs_x86 *r, size_t off, uint64_t v)
{
	memcpy((char *)r + off, &v, sizeof(v));
}

/* One "KEY=..." item.  key is [ks, ke); p points after '='. */
static int reg_item(struct qvmi_regs_x86 *r, uint64_t *seen, const char *ks,
		    size_t kn, const char **p, const char *e)
{
	uint64_t v, base;
	size_t i;

	for (i = 0; i < QVMI_ARRAY_SIZE(seg_keys); i++) {
		if (kn != strlen(seg_keys[i].name) ||
		    memcmp(ks, seg_keys[i].name, kn))
			continue;
		if (!lex_hex(p, e, &v) || !lex_lit(p, e, " ") ||
		    !lex_hex(p, e, &base))
			return -EBADMSG;
		set_reg(r, seg_keys[i].sel, v);
		if (seg_keys[i].base != SIZE_MAX)
			set_reg(r, seg_keys[i].base, base);
		*seen |= seg_keys[i].bit;
		return 0;
	}
	if ((kn == 3 && !memcmp(ks, "GDT", 3)) ||
	    (kn == 3 && !memcmp(ks, "IDT", 3))) {
		bool gdt = ks[0] == 'G';

		skip_spaces(p, e);
		if (!lex_hex(p, e, &base) || !lex_lit(p, e, " ") ||
		    !lex_hex(p, e, &v))
			return -EBADMSG;
		r->gdt_base = gdt ? base : r->gdt_base;
		r->gdt_limit = gdt ? v : r->gdt_limit;
		r->idt_base = gdt ? r->idt_base : base;
		r->idt_limit = gdt ? r->idt_limit : v;
		*seen |= gdt ? 1ull << 38 : 1ull << 39;
		return 0;
	}
	for (i = 0; i < QVMI_ARRAY_SIZE(gpr_keys); i++) {
		if (kn != strlen(gpr_keys[i].name) ||
		    memcmp(ks, gpr_keys[i].name, kn))
			continue;
		if (!lex_hex(p, e, &v))
			return -EBADMSG;
		set_reg(r, gpr_keys[i].off, v);
		*seen |= gpr_keys[i].bit;
		return 0;
	}
	return 0; /* a register we do not keep (XMM, FPR, CPL, ...) */
}

/* All "KEY=value" items of one line.  "R8 =..." pads the key with a
 * space before '=', and segment lines do too ("ES =0000 ..."). */
static int reg_line(struct qvmi_regs_x86 *r, uint64_t *seen,
		    const struct line *l)
{
	const char *p = l->p, *e = l->end;
	int err;

	while (p < e) {
		const char *ks, *ke, *eq = memchr(p, '=', (size_t)(e - p));

		if (!eq)
			break;
		ke = eq;
		while (ke > p && ke[-1] == ' ')
			ke--;
		ks = ke;
		while (ks > p && ks[-1] != ' ' && ks[-1] != '[')
			ks--;
		p = eq + 1;
		if (ke > ks) {
			err = reg_item(r, seen, ks, (size_t)(ke - ks), &p, e);
			if (err)
				return err;
		}
	}
	return 0;
}

static uint64_t valid_mask(uint64_t seen)
{
	uint64_t v = 0;

	if ((seen & 0xff) == 0xff && (seen & (3u << 16)) == (3u << 16) &&
	    ((seen & 0xff00) == 0xff00 || !(seen & 0xff00)))
		v |= QVMI_REGS_GPR | (seen & 0xff00 ? 0 : QVMI_REGS_GPR32);
	if ((seen & (0xfull << 32)) == 0xfull << 32 &&
	    (seen & (3ull << 36)) == 3ull << 36)
		v |= QVMI_REGS_SEG;
	if ((seen & (3ull << 36)) == 3ull << 36)
		v |= QVMI_REGS_BASES;
	if ((seen & (0x1full << 18)) == 0x1full << 18)
		v |= QVMI_REGS_CR;
	if (seen & (1ull << 29))
		v |= QVMI_REGS_CR8;
	if ((seen & (3ull << 38)) == 3ull << 38)
		v |= QVMI_REGS_TABLES;
	if ((seen & (0x3full << 23)) == 0x3full << 23)
		v |= QVMI_REGS_DR;
	return v;
}

/* "CPU#12" alone on a line: its index, else -1. */
static long cpu_header(const struct line *l)
{
	const char *p = l->p;
	long n;

	if (!lex_lit(&p, l->end, "CPU#") ||
	    !lex_dec(&p, l->end, MAX_CPUS, &n) || n < 0 || p != l->end)
		return -1;
	return n;
}

struct reg_block {
	long cpu; /* -1: text before any header (single-CPU output) */
	uint64_t seen;
	struct qvmi_regs_x86 regs;
};

/*
 * Calls fn for each block of registers.  A block without a single
 * register (e.g. "CPU#3 not available") is an error.
 */
static int reg_blocks(const char *text,
		      int (*fn)(const struct reg_block *b, void *arg),
		      void *arg)
{
	struct reg_block b = { .cpu = -1 };
	const char *pos = text;
	bool open = false;
	struct line l;
	long cpu;
	int err;

	while (next_line(&pos, &l)) {
		if (l.p == l.end)
			continue;
		cpu = cpu_header(&l);
		if (cpu >= 0) {
			if (open && (err = fn(&b, arg)))
				return err;
			memset(&b, 0, sizeof(b));
			b.cpu = cpu;
			open = true;
			continue;
		}
		err = reg_line(&b.regs, &b.seen, &l);
		if (err)
			return err;
		open = true;
	}
	if (!open)
		return -EBADMSG;
	return fn(&b, arg);
}

struct all_ctx {
	struct qvmi_regs_x86 *out;
	size_t max, n;
	uint8_t *filled;
};

static int collect_block(const struct reg_block *b, void *arg)
{
	struct all_ctx *a = arg;
	size_t idx = b->cpu < 0 ? 0 : (size_t)b->cpu;

	if (!b->seen || !valid_mask(b->seen))
		return -EBADMSG;
	a->n++;
	if (idx >= a->max)
		return 0;
	if (a->filled[idx])
		return -EBADMSG; /* the same CPU twice */
	a->filled[idx] = 1;
	a->out[idx] = b->regs;
	a->out[idx].valid = valid_mask(b->seen);
	return 0;
}

int qvmi__hmp_parse_registers(const char *text, struct qvmi_regs_x86 *ret,
			      size_t max, size_t *nret)
{
	struct all_ctx a = { .out = ret,
			     .max = QVMI_MIN(max, (size_t)MAX_CPUS) };
	int err;

	*nret = 0;
	a.filled = calloc(a.max + 1, 1);
	if (!a.filled)
		return -ENOMEM;
	if (max)
		memset(ret, 0, max * sizeof(*ret));
	err = reg_blocks(text, collect_block, &a);
	free(a.filled);
	if (err)
		return err;
	*nret = a.n;
	return 0;
}

struct one_ctx {
	long cpu;
	struct qvmi_regs_x86 *out;
	bool found;
};

static int pick_block(const struct reg_block *b, void *arg)
{
	struct one_ctx *o = arg;

	if (!b->seen || !valid_mask(b->seen))
		return -EBADMSG;
	if (b->cpu != o->cpu && !(b->cpu < 0 && o->cpu == 0))
		return 0;
	if (o->found)
		return -EBADMSG;
	o->found = true;
	*o->out = b->regs;
	o->out->valid = valid_mask(b->seen);
	return 0;
}

int qvmi__hmp_parse_registers_cpu(const char *text, unsigned int cpu,
				  struct qvmi_regs_x86 *ret)
{
	struct one_ctx o = { .cpu = cpu, .out = ret };
	int err;

	memset(ret, 0, sizeof(*ret));
	if (cpu > MAX_CPUS)
		return -ENOENT;
	err = reg_blocks(text, pick_block, &o);
	if (err)
		return err;
	return o.found ? 0 : -ENOENT;
}

/* ---- segment descriptors -------------------------------------------- */

/* "XX =SSSS BBBBBBBBBBBBBBBB LLLLLLLL FFFFFFFF" (QEMU 7.2 target/i386/
 * cpu-dump.c cpu_x86_dump_seg_cache: "%-3s=%04x %016" PRIx64 " %08x
 * %08x"); which of the eight it is, by bit, or 0. */
static unsigned int seg_line(const struct line *l, struct qvmi__segs *s)
{
	static const char names[8][4] = { "ES ", "CS ", "SS ", "DS ",
					  "FS ", "GS ", "LDT", "TR " };
	struct qvmi__seg *dst[8] = { &s->es, &s->cs, &s->ss,  &s->ds,
				     &s->fs, &s->gs, &s->ldt, &s->tr };
	const char *p = l->p + 4, *e = l->end;
	uint64_t sel, base, lim, fl;

	if (e - l->p < 4 || l->p[3] != '=')
		return 0;
	for (unsigned int i = 0; i < 8; i++) {
		if (memcmp(l->p, names[i], 3))
			continue;
		if (!lex_hex(&p, e, &sel) || !lex_lit(&p, e, " ") ||
		    !lex_hex(&p, e, &base) || !lex_lit(&p, e, " ") ||
		    !lex_hex(&p, e, &lim) || !lex_lit(&p, e, " ") ||
		    !lex_hex(&p, e, &fl) || sel > 0xffff || lim > UINT32_MAX ||
		    fl > UINT32_MAX)
			return 0;
		*dst[i] = (struct qvmi__seg){ (uint32_t)sel, (uint32_t)lim,
					      (uint32_t)fl, base };
		return 1u << i;
	}
	return 0;
}

int qvmi__hmp_parse_segs_cpu(const char *text, unsigned int cpu,
			     struct qvmi__segs *ret)
{
	const char *pos = text;
	unsigned int seen = 0;
	long cur = -1, h;
	struct line l;

	memset(ret, 0, sizeof(*ret));
	while (next_line(&pos, &l)) {
		h = cpu_header(&l);
		if (h >= 0) {
			cur = h;
			continue;
		}
		if (cur == (long)cpu || (cur < 0 && cpu == 0))
			seen |= seg_line(&l, ret);
	}
	return seen == 0xff ? 0 : -EBADMSG;
}

/* ---- gpa2hva -------------------------------------------------------- */

int qvmi__hmp_parse_gpa2hva(const char *text, uint64_t *ret)
{
	const char *pos = text, *p;
	struct line l;
	uint64_t v;

	*ret = 0;
	if (!next_line(&pos, &l))
		return -EBADMSG;
	p = l.p;
	/* "Memory at address 0xfee00000 is not RAM" (QEMU 7.2 monitor) */
	if (lex_lit(&p, l.end, "Memory at address ") &&
	    (size_t)(l.end - l.p) >= 11 &&
	    !memcmp(l.end - 11, " is not RAM", 11))
		return -EFAULT;
	p = l.p;
	if (!lex_lit(&p, l.end, "Host virtual address for 0x"))
		return -EBADMSG;
	/* The region name may hold anything: take the last " is 0x". */
	for (const char *s = l.end; s > p; s--) {
		const char *q = s - 1;

		if (lex_lit(&q, l.end, " is 0x")) {
			if (!lex_hex(&q, l.end, &v) || q != l.end)
				return -EBADMSG;
			*ret = v;
			return 0;
		}
	}
	return -EBADMSG;
}

/* ---- xp /Nxb -------------------------------------------------------- */

int qvmi__hmp_parse_xp_partial(const char *text, uint64_t addr, uint8_t *buf,
			       size_t len, size_t *done)
{
	const char *pos = text, *p;
	struct line l;
	uint64_t a, v;

	*done = 0;
	while (next_line(&pos, &l)) {
		if (l.p == l.end)
			continue;
		p = l.p;
		if (!lex_hex(&p, l.end, &a) || !lex_lit(&p, l.end, ":") ||
		    a != addr + *done)
			return -EBADMSG;
		if (lex_lit(&p, l.end, " Cannot access memory"))
			return p == l.end ? -EFAULT : -EBADMSG;
		while (p < l.end) {
			const char *s = p;

			if (!lex_lit(&p, l.end, " 0x") ||
			    !lex_hex(&p, l.end, &v) || p - s != 5)
				return -EBADMSG;
			if (*done >= len)
				return -EBADMSG;
			buf[(*done)++] = (uint8_t)v;
		}
	}
	return *done == len ? 0 : -EBADMSG;
}

int qvmi__hmp_parse_xp(const char *text, uint64_t addr, uint8_t *buf,
		       size_t len)
{
	size_t done;

	return qvmi__hmp_parse_xp_partial(text, addr, buf, len, &done);
}
