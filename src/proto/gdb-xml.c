// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Target description (target.xml) -> register layout, and the mapping of
 * a 'g' image to struct qvmi_regs_x86.  A small XML scanner, not a full
 * parser: it knows comments, CDATA, processing instructions, DOCTYPE and
 * quoted attributes, which is what gdb feature files use.  Comments must be
 * skipped as a whole: QEMU 7.2's i386-64bit.xml comments out four
 * <reg> lines, and a scan for "<reg " finds three of them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/gdb.h"

struct xml_parse {
	struct qvmi_gdb_reg *regs;
	size_t nregs, cap;
	unsigned int next_regnum;
	unsigned int nfetch; /* includes followed, all depths */
	qvmi_gdb_fetch_fn fetch;
	void *arg;
};

struct xml_attr {
	const char *name;
	size_t nlen;
	const char *val;
	size_t vlen;
};

enum { MAX_ATTRS = 16 };

static int parse_doc(struct xml_parse *p, const char *s, size_t len,
		     unsigned int depth);

static const char *find(const char *s, const char *end, const char *needle)
{
	size_t n = strlen(needle);

	if ((size_t)(end - s) < n)
		return NULL;
	return memmem(s, (size_t)(end - s), needle, n);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_name(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == ':' || c == '-' ||
	       c == '.';
}

/* Parse attributes up to '>' or "/>"; *pos ends after the tag. */
static int parse_attrs(const char **pos, const char *end, struct xml_attr *a,
		       size_t *na)
{
	const char *s = *pos;

	*na = 0;
	for (;;) {
		const char *q;
		char quote;

		while (s < end && is_space(*s))
			s++;
		if (s < end && *s == '>') {
			*pos = s + 1;
			return 0;
		}
		if (end - s >= 2 && s[0] == '/' && s[1] == '>') {
			*pos = s + 2;
			return 0;
		}
		if (s >= end || !is_name(*s) || *na == MAX_ATTRS)
			return -EBADMSG;
		a[*na].name = s;
		while (s < end && is_name(*s))
			s++;
		a[*na].nlen = (size_t)(s - a[*na].name);
		while (s < end && is_space(*s))
			s++;
		if (s >= end || *s++ != '=')
			return -EBADMSG;
		while (s < end && is_space(*s))
			s++;
		if (s >= end || (*s != '"' && *s != '\''))
			return -EBADMSG;
		quote = *s++;
		q = memchr(s, quote, (size_t)(end - s));
		if (!q)
			return -EBADMSG;
		a[*na].val = s;
		a[*na].vlen = (size_t)(q - s);
		(*na)++;
		s = q + 1;
	}
}

static const struct xml_attr *attr(const struct xml_attr *a, size_t na,
				   const char *name)
{
	for (size_t i = 0; i < na; i++)
		if (a[i].nlen == strlen(name) &&
		    !memcmp(a[i].name, name, a[i].nlen))
			return &a[i];
	return NULL;
}

static int attr_uint(const struct xml_attr *a, unsigned int max,
		     unsigned int *ret)
{
	unsigned long v = 0;

	if (!a->vlen || a->vlen > 9)
		return -EBADMSG;
	for (size_t i = 0; i < a->vlen; i++) {
		if (a->val[i] < '0' || a->val[i] > '9')
			return -EBADMSG;
		v = v * 10 + (unsigned long)(a->val[i] - '0');
	}
	if (v > max)
		return -EBADMSG;
	*ret = (unsigned int)v;
	return 0;
}

static int add_reg(struct xml_parse *p, const struct xml_attr *a, size_t na)
{
	const struct xml_attr *name = attr(a, na, "name");
	const struct xml_attr *bits = attr(a, na, "bitsize");
	const struct xml_attr *num = attr(a, na, "regnum");
	struct qvmi_gdb_reg *r;
	unsigned int bitsize, regnum = p->next_regnum;

	if (!name || !bits || !name->vlen || name->vlen >= sizeof(r->name))
		return -EBADMSG;
	if (attr_uint(bits, QVMI_GDB_MAX_REGBITS, &bitsize) || !bitsize ||
	    bitsize % 8)
		return -EBADMSG;
	if (num && attr_uint(num, QVMI_GDB_MAX_REGNUM, &regnum))
		return -EBADMSG;
	if (p->nregs == QVMI_GDB_MAX_REGS)
		return -EBADMSG;
	if (p->nregs == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		void *n = realloc(p->regs, cap * sizeof(*p->regs));

		if (!n)
			return -ENOMEM;
		p->regs = n;
		p->cap = cap;
	}
	r = &p->regs[p->nregs++];
	memset(r, 0, sizeof(*r));
	memcpy(r->name, name->val, name->vlen);
	r->bitsize = bitsize;
	r->regnum = regnum;
	p->next_regnum = regnum + 1;
	return 0;
}

static int include(struct xml_parse *p, const struct xml_attr *a, size_t na,
		   unsigned int depth)
{
	const struct xml_attr *href = attr(a, na, "href");
	char name[256], *text = NULL;
	size_t tlen = 0;
	int err;

	if (!href || !href->vlen || href->vlen >= sizeof(name))
		return -EBADMSG;
	/* Bound the total too: n includes per file, each including itself,
	 * would otherwise cost n^depth parses. */
	if (!p->fetch || depth >= QVMI_GDB_MAX_INCLUDE_DEPTH ||
	    ++p->nfetch > QVMI_GDB_MAX_INCLUDES)
		return -ELOOP;
	memcpy(name, href->val, href->vlen);
	name[href->vlen] = '\0';
	err = p->fetch(name, &text, &tlen, p->arg);
	if (err)
		return err;
	err = tlen > QVMI_GDB_MAX_XML ? -EBADMSG :
					parse_doc(p, text, tlen, depth + 1);
	free(text);
	return err;
}

/* s points just after '<'; handle one element start tag. */
static int element(struct xml_parse *p, const char **pos, const char *end,
		   unsigned int depth)
{
	struct xml_attr a[MAX_ATTRS];
	const char *s = *pos, *name = s;
	size_t nlen, na;
	int err;

	while (s < end && is_name(*s))
		s++;
	nlen = (size_t)(s - name);
	if (!nlen)
		return -EBADMSG;
	err = parse_attrs(&s, end, a, &na);
	if (err)
		return err;
	*pos = s;
	if (nlen == 3 && !memcmp(name, "reg", 3))
		return add_reg(p, a, na);
	if ((nlen == 10 && !memcmp(name, "xi:include", 10)) ||
	    (nlen == 7 && !memcmp(name, "include", 7)))
		return include(p, a, na, depth);
	return 0;
}

/* Skip a markup construct starting at s ('<' already seen at s[-1]). */
static const char *skip_markup(const char *s, const char *end)
{
	const char *e;

	if (end - s >= 3 && !memcmp(s, "!--", 3)) {
		e = find(s + 3, end, "-->");
		return e ? e + 3 : NULL;
	}
	if (end - s >= 8 && !memcmp(s, "![CDATA[", 8)) {
		e = find(s + 8, end, "]]>");
		return e ? e + 3 : NULL;
	}
	if (s < end && *s == '?') {
		e = find(s + 1, end, "?>");
		return e ? e + 2 : NULL;
	}
	/* <!DOCTYPE ...> (no internal subset in gdb files) and </end> */
	e = memchr(s, '>', (size_t)(end - s));
	return e ? e + 1 : NULL;
}

static int parse_doc(struct xml_parse *p, const char *s, size_t len,
		     unsigned int depth)
{
	const char *end = s + len;

	while (s < end) {
		const char *lt = memchr(s, '<', (size_t)(end - s));
		int err;

		if (!lt)
			return 0;
		s = lt + 1;
		if (s < end && (*s == '!' || *s == '?' || *s == '/')) {
			s = skip_markup(s, end);
			if (!s)
				return -EBADMSG;
			continue;
		}
		err = element(p, &s, end, depth);
		if (err)
			return err;
	}
	return 0;
}

static int cmp_regnum(const void *a, const void *b)
{
	const struct qvmi_gdb_reg *x = a, *y = b;

	return (x->regnum > y->regnum) - (x->regnum < y->regnum);
}

int qvmi__gdb_parse_layout(const char *xml, size_t len, qvmi_gdb_fetch_fn fetch,
			   void *arg, struct qvmi__gdb_layout *ret)
{
	struct xml_parse p = { .fetch = fetch, .arg = arg };
	size_t off = 0;
	int err;

	memset(ret, 0, sizeof(*ret));
	if (len > QVMI_GDB_MAX_XML)
		return -EBADMSG;
	err = parse_doc(&p, xml, len, 0);
	if (!err && !p.nregs)
		err = -EBADMSG;
	if (err) {
		free(p.regs);
		return err;
	}
	/* The 'g' packet holds the registers in regnum order (gdb remote.c
	 * map_regcache_remote_table). */
	qsort(p.regs, p.nregs, sizeof(*p.regs), cmp_regnum);
	for (size_t i = 0; i < p.nregs; i++) {
		if (i && p.regs[i].regnum == p.regs[i - 1].regnum) {
			free(p.regs);
			return -EBADMSG;
		}
		p.regs[i].offset = off;
		off += p.regs[i].bitsize / 8;
	}
	ret->regs = p.regs;
	ret->nregs = p.nregs;
	ret->gsize = off;
	return 0;
}

void qvmi__gdb_layout_deinit(struct qvmi__gdb_layout *l)
{
	free(l->regs);
	memset(l, 0, sizeof(*l));
}

const struct qvmi_gdb_reg *
qvmi__gdb_layout_find(const struct qvmi__gdb_layout *l, const char *name)
{
	for (size_t i = 0; i < l->nregs; i++)
		if (!strcmp(l->regs[i].name, name))
			return &l->regs[i];
	return NULL;
}

/* ---- 'g' image <-> struct qvmi_regs_x86 -------------------------------- */

#define F(n, f)                                      \
	{                                            \
		n, offsetof(struct qvmi_regs_x86, f) \
	}
struct reg_group {
	uint64_t bit;
	size_t n;
	struct {
		const char *name;
		size_t off;
	} f[18];
};

/*
 * The GPR group is QEMU's x86_64 description's (gdb-xml/i386-64bit.xml)
 * or qemu-system-i386's (i386-32bit.xml, QEMU 7.2): the same registers 32
 * bits wide under their 32-bit names and no r8..r15, which also sets
 * QVMI_REGS_GPR32.  The other groups have the same names in both.
 */
enum { GPR64 = 0, GPR32 = 1 };
static const struct reg_group groups[] = {
	[GPR64] = { QVMI_REGS_GPR,
		    18,
		    { F("rax", rax), F("rbx", rbx), F("rcx", rcx),
		      F("rdx", rdx), F("rsi", rsi), F("rdi", rdi),
		      F("rbp", rbp), F("rsp", rsp), F("r8", r8), F("r9", r9),
		      F("r10", r10), F("r11", r11), F("r12", r12),
		      F("r13", r13), F("r14", r14), F("r15", r15),
		      F("rip", rip), F("eflags", rflags) } },
	[GPR32] = { QVMI_REGS_GPR | QVMI_REGS_GPR32,
		    10,
		    { F("eax", rax), F("ebx", rbx), F("ecx", rcx),
		      F("edx", rdx), F("esi", rsi), F("edi", rdi),
		      F("ebp", rbp), F("esp", rsp), F("eip", rip),
		      F("eflags", rflags) } },
	{ QVMI_REGS_SEG,
	  6,
	  { F("cs", cs), F("ss", ss), F("ds", ds), F("es", es), F("fs", fs),
	    F("gs", gs) } },
	{ QVMI_REGS_BASES, 2, { F("fs_base", fs_base), F("gs_base", gs_base) } },
	{ QVMI_REGS_KGS, 1, { F("k_gs_base", kernel_gs_base) } },
	{ QVMI_REGS_CR,
	  5,
	  { F("cr0", cr0), F("cr2", cr2), F("cr3", cr3), F("cr4", cr4),
	    F("efer", efer) } },
	{ QVMI_REGS_CR8, 1, { F("cr8", cr8) } },
};
#undef F

/* The GPR group a description does not use: with "rip" it is x86_64's,
 * with "eip" (and no "rip") i386's. */
static size_t other_gpr(const struct qvmi__gdb_layout *l)
{
	return qvmi__gdb_layout_find(l, "rip") ||
			       !qvmi__gdb_layout_find(l, "eip") ?
		       GPR32 :
		       GPR64;
}

const struct qvmi_gdb_reg *qvmi__gdb_layout_pc(const struct qvmi__gdb_layout *l)
{
	const struct qvmi_gdb_reg *r = qvmi__gdb_layout_find(l, "rip");

	return r ? r : qvmi__gdb_layout_find(l, "eip");
}

/* Register r lies wholly inside a g image of glen bytes and fits 64 bits. */
static const struct qvmi_gdb_reg *usable(const struct qvmi__gdb_layout *l,
					 const char *name, size_t glen)
{
	const struct qvmi_gdb_reg *r = qvmi__gdb_layout_find(l, name);

	if (!r || r->bitsize > 64 || r->offset + r->bitsize / 8 > glen)
		return NULL;
	return r;
}

int qvmi__gdb_regs_from_g(const struct qvmi__gdb_layout *l, const uint8_t *g,
			  size_t glen, struct qvmi_regs_x86 *ret)
{
	size_t skip = other_gpr(l);

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(groups); i++) {
		const struct reg_group *grp = &groups[i];
		size_t j;

		if (i == skip)
			continue;
		for (j = 0; j < grp->n; j++)
			if (!usable(l, grp->f[j].name, glen))
				break;
		if (j < grp->n)
			continue; /* the whole group or nothing */
		for (j = 0; j < grp->n; j++) {
			const struct qvmi_gdb_reg *r =
				usable(l, grp->f[j].name, glen);
			uint64_t v = 0;

			/* the stub sends target byte order: little endian */
			for (size_t b = r->bitsize / 8; b-- > 0;)
				v = v << 8 | g[r->offset + b];
			memcpy((char *)ret + grp->f[j].off, &v, sizeof(v));
		}
		ret->valid |= grp->bit;
	}
	return 0;
}

int qvmi__gdb_regs_to_g(const struct qvmi__gdb_layout *l,
			const struct qvmi_regs_x86 *regs, uint8_t *g,
			size_t glen)
{
	size_t skip = other_gpr(l);

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(groups); i++) {
		const struct reg_group *grp = &groups[i];

		if (i == skip || !(regs->valid & grp->bit))
			continue;
		for (size_t j = 0; j < grp->n; j++) {
			const struct qvmi_gdb_reg *r =
				usable(l, grp->f[j].name, glen);
			uint64_t v;

			if (!r)
				return -EOPNOTSUPP;
			memcpy(&v, (const char *)regs + grp->f[j].off,
			       sizeof(v));
			for (size_t b = 0; b < r->bitsize / 8; b++, v >>= 8)
				g[r->offset + b] = (uint8_t)v;
		}
	}
	return 0;
}
