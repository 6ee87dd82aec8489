// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Where the kernel's symbols come from: kallsyms found by scanning guest
 * memory for its token table (from a vCPU's kernel RIP first), or a
 * System.map the user gives, placed in memory by its linux_banner.
 * kernel.c then places the image and opens the handle.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel-int.h"
#include "linux.h"
#include "views.h"

enum {
	/* First window around a token table.  Debian 6.1's tables start
	 * 1.8 MiB before it (94k symbols) and end 1 KiB after; 6.4+ puts
	 * the offsets after it.  A candidate that runs off the window
	 * grows it (4x), so this only has to fit the common kernels: each
	 * MiB is ~1 ms of fresh memory on a cold attach. */
	WINDOW_BEFORE = 5 << 19,
	WINDOW_AFTER = 1 << 20,
	WINDOW_MAX = 64 << 20, /* growth limit, each side */
	ALIGN_2M = QVMI_LX_ALIGN_2M,
	IMAGE32_MAX = QVMI_LX_IMAGE32_MAX,
	MAP_FILE_MAX = 256 << 20,
	HINT_VCPUS = 4, /* vCPUs asked for a kernel RIP */
	HINT_SPAN = 128 << 20, /* scanned from the hint first */
	HINT_CHUNK = 256 << 10,
	/* From VMCOREINFO's token table to past its digit tokens. */
	VMCI_TOKENS_SPAN = 64 << 10,
};

/* Modules and the fixmap start above the kernel image's 1 GiB. */
#define QVMI_LINUX_MODULES_START 0xffffffffc0000000ull

static const char banner_prefix[] = QVMI_LX_BANNER_PREFIX;

/* ---- discovery from kallsyms ------------------------------------------------- */

struct scan {
	struct qvmi_linux *lx;
	uint64_t tried_lo, tried_hi; /* last window parsed */
	int windows;
	int err;
	bool tokens_seen; /* the scan checked the token table at this hit */
};

enum {
	/* The small window of a token-table check around a digit run. */
	TOKENS_BEFORE = 16 << 10,
	TOKENS_AFTER = 64 << 10,
};

/* Parse a window around pa, growing it while a candidate ran off its edge. */
static int try_window(struct scan *sc, uint64_t pa)
{
	struct qvmi_linux *lx = sc->lx;
	uint64_t before = WINDOW_BEFORE, after = WINDOW_AFTER, lo = 0, len = 0;
	uint8_t *buf = NULL;
	int err;

	/* Most digit runs are UTF-16 tables: check for a token table in a
	 * small window before reading a large one. */
	if (!sc->tokens_seen) {
		err = qvmi__lx_read_window(lx->ctx, pa, TOKENS_BEFORE,
					   TOKENS_AFTER, &buf, &lo, &len);
		if (err)
			return err;
		if (pa < lo || !qvmi__kallsyms_tokens_at(buf, len, pa - lo)) {
			qvmi__lx_window_free(buf);
			return qvmi__err(
				lx->ctx, -EBADMSG,
				"kallsyms: no token table at 0x%" PRIx64, pa);
		}
		qvmi__lx_window_free(buf);
	}
	for (;;) {
		err = qvmi__lx_read_window(lx->ctx, pa, before, after, &buf,
					   &lo, &len);
		if (err)
			return err;
		sc->windows++;
		sc->tried_lo = lo;
		sc->tried_hi = lo + len;
		err = qvmi__kallsyms_parse_at(lx->ctx, buf, len, pa - lo,
					      &lx->syms, &lx->lay);
		qvmi__lx_window_free(buf);
		if (!err || err == -ENOMEM || !lx->lay.truncated ||
		    before >= WINDOW_MAX)
			break;
		before *= 4;
		after *= 4;
	}
	if (err)
		return err;
	lx->kallsyms_pa = lo + lx->lay.token_table;
	err = qvmi__lx_place_image(lx, lx->kallsyms_pa);
	if (err)
		qvmi__ksyms_free(&lx->syms);
	return err;
}

static int scan_hit(uint64_t gpa, void *arg)
{
	struct scan *sc = arg;
	int err;

	if (gpa >= sc->tried_lo && gpa < sc->tried_hi)
		return 0; /* that window's parse saw this run already */
	err = try_window(sc, gpa);
	if (!err)
		return 1;
	qvmi__log(sc->lx->ctx, QVMI_LOG_DEBUG,
		  "linux: digit run at 0x%" PRIx64 ": %s", gpa,
		  qvmi_errmsg(sc->lx->ctx));
	sc->err = err;
	return err == -ENOMEM ? err : 0;
}

static const char *layout_name(const struct qvmi_kallsyms_layout *l)
{
	if (l->new_order)
		return "6.4+";
	if (l->seqs_width)
		return "6.2-6.3 (also 6.1.y backports)";
	return l->base_relative ? "<=6.1" : "<=6.1 absolute addresses";
}

static const char digits[] = "0\0001\0002\0003\0004\0005\0006\0007\0008\0009";

/*
 * va through the page tables at cr3 in mode m, for the hint below only:
 * present and page-size bits, nothing else checked.  The mode comes from
 * the same vCPU's registers: qvmi_translate would derive the context's
 * mode from vCPU 0's, one more "info registers" round trip (1.5-3 ms
 * here) on every attach without a profile.
 */
int qvmi__lx_hint_walk(struct qvmi_ctx *ctx, enum qvmi_paging_mode m,
		       uint64_t cr3, uint64_t va, uint64_t *ret, bool *nx)
{
	bool e32 = m == QVMI_PAGING_32;
	uint64_t mask = e32 ? 0xfffff000ull : 0x000ffffffffff000ull;
	uint64_t table = cr3 & mask, e;
	unsigned int shift = 39, bits = 9, esz = e32 ? 4 : 8;

	if (m == QVMI_PAGING_5LEVEL) {
		shift = 48;
	} else if (m == QVMI_PAGING_PAE) {
		shift = 30; /* 4 PDPTEs, 32-byte aligned */
		bits = 2;
		table = cr3 & 0xffffffe0ull;
	} else if (e32) {
		shift = 22;
		bits = 10;
	} else if (m != QVMI_PAGING_4LEVEL) {
		return -EOPNOTSUPP;
	}
	if (nx)
		*nx = false;
	for (;;) { /* shift falls by 9 or 10 to 12: at most 5 steps */
		uint64_t idx = (va >> shift) & ((1ull << bits) - 1);

		e = 0;
		if (qvmi__lx_read_once(ctx, table + idx * esz, &e, esz) ||
		    !(e & 1))
			return -EFAULT;
		if (nx && !e32 && (e >> 63)) /* XD at any level */
			*nx = true;
		/* PS: 1 GiB, 2 MiB or 4 MiB pages (not in a PDPTE of PAE) */
		if (shift == 12 || ((e & 0x80) && shift <= 30 &&
				    !(m == QVMI_PAGING_PAE && shift == 30))) {
			uint64_t size = 1ull << shift;

			*ret = (e & mask & ~(size - 1)) | (va & (size - 1));
			return 0;
		}
		table = e & mask;
		shift -= e32 ? 10 : 9;
		bits = e32 ? 10 : 9;
	}
}

/*
 * .rodata, where the token table is (scripts/kallsyms emits the tables
 * into .rodata), starts at the first non-executable page after .text:
 * STRICT_KERNEL_RWX maps it NX.  Step up from the 2 MiB page of va (in
 * .text) to the first 2 MiB-aligned VA that is NX.  On x86_64 .rodata
 * starts at a 2 MiB boundary (X86_ALIGN_RODATA_BEGIN in
 * arch/x86/kernel/vmlinux.lds.S), so *pa becomes that page's PA; i386
 * aligns it to a page only: the last executable 2 MiB before it.  The
 * scan then skips the rest of .text (Debian 6.1: 3.3 MB to read to the
 * token table instead of 9.2 MB).  No NX page within reach (no NX:
 * 32-bit paging; or a hole: a PTI user CR3) leaves *pa as it is.  The
 * image is physically contiguous: scanning up from there passes through
 * the rest of it.
 */
void qvmi__lx_skip_text(struct qvmi_ctx *ctx, enum qvmi_paging_mode m,
			uint64_t cr3, uint64_t va, uint64_t *pa)
{
	enum { TEXT_STEPS = 64 }; /* .text of at most 128 MiB */
	uint64_t v = va & ~(uint64_t)(ALIGN_2M - 1), vpa, prev_pa;
	bool nx;

	if (qvmi__lx_hint_walk(ctx, m, cr3, v, &prev_pa, &nx) || nx)
		return;
	for (int i = 0; i < TEXT_STEPS && v + ALIGN_2M > v; i++) {
		v += ALIGN_2M;
		if (qvmi__lx_hint_walk(ctx, m, cr3, v, &vpa, &nx))
			return;
		if (nx) {
			*pa = m == QVMI_PAGING_4LEVEL ||
					      m == QVMI_PAGING_5LEVEL ?
				      vpa :
				      prev_pa;
			return;
		}
		prev_pa = vpa;
	}
}

/*
 * Where the kernel image probably is: a vCPU's RIP in the kernel image
 * (the idle loop, usually), translated through its CR3.  The token table
 * lies in .rodata, after .text, so scanning from there finds it after a
 * few tens of MiB instead of after everything below the image (KASLR
 * puts it anywhere in RAM).  Only an order: the full scan follows.
 */
static int text_hint(struct qvmi_linux *lx, uint64_t *ret)
{
	enum qvmi_paging_mode m;
	struct qvmi_regs_x86 r;

	for (unsigned int cpu = 0; cpu < HINT_VCPUS; cpu++) {
		bool k32;

		if (qvmi_get_regs(lx->ctx, cpu, &r))
			break;
		if (!(r.valid & QVMI_REGS_GPR) || !(r.valid & QVMI_REGS_CR) ||
		    qvmi_paging_mode_from_regs(&r, &m))
			continue;
		/* i386: the kernel is the top of the 32-bit space, user code
		 * runs in ring 3 (and may sit above 1 GiB). */
		k32 = m == QVMI_PAGING_PAE || m == QVMI_PAGING_32;
		if (k32 ? r.rip < QVMI_LINUX_PAGE_OFFSET32_MIN ||
				    r.rip > UINT32_MAX ||
				    ((r.valid & QVMI_REGS_SEG) && (r.cs & 3)) :
			  r.rip < QVMI_LINUX_START_KERNEL_MAP ||
				    r.rip >= QVMI_LINUX_MODULES_START)
			continue;
		if (!qvmi__lx_hint_walk(lx->ctx, m, r.cr3, r.rip, ret, NULL)) {
			qvmi__lx_skip_text(lx->ctx, m, r.cr3, r.rip, ret);
			qvmi__clear_err(lx->ctx);
			return 0;
		}
	}
	qvmi__clear_err(lx->ctx);
	return -ENOENT;
}

/* Scan RAM in [lo, hi) for the digit tokens, a chunk at a time, into a
 * buffer on a huge page: pread into a reused malloc'd buffer of 4 KiB
 * pages ran at 0.8-1.6 GB/s here (9 MB from the hint to the token table:
 * 6-12 ms), into a 2 MiB page at 3.2 GB/s (2.9 ms). */
static int scan_range(struct scan *sc, uint64_t lo, uint64_t hi)
{
	struct qvmi_ctx *ctx = sc->lx->ctx;
	const size_t plen = sizeof(digits) - 1;
	uint8_t *buf = qvmi__lx_big_alloc(HINT_CHUNK + plen);
	int rc = 0;

	if (!buf)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < ctx->nram; i++) {
		uint64_t s = QVMI_MAX(lo, ctx->ram[i].gpa);
		uint64_t e = QVMI_MIN(hi, ctx->ram[i].gpa + ctx->ram[i].size);

		for (uint64_t pos = s; !rc && pos < e; pos += HINT_CHUNK) {
			size_t n = (size_t)QVMI_MIN(
				(uint64_t)HINT_CHUNK + plen - 1, e - pos);
			const uint8_t *p = buf, *hit;

			if (qvmi__lx_read_once(ctx, pos, buf, n))
				continue;
			while (!rc &&
			       (hit = memmem(p, n - (size_t)(p - buf), digits,
					     plen)) &&
			       hit - buf < HINT_CHUNK) {
				size_t off = (size_t)(hit - buf);

				p = hit + 1;
				/* The chunk holds try_window's small window
				 * (whose start is rounded down to a page):
				 * check the tokens here, without reading it
				 * again.  Most digit runs are UTF-16 tables. */
				sc->tokens_seen = off >= TOKENS_BEFORE + 4096 &&
						  n - off >= TOKENS_AFTER;
				if (sc->tokens_seen &&
				    !qvmi__kallsyms_tokens_at(buf, n, off))
					continue;
				rc = scan_hit(pos + off, sc);
				sc->tokens_seen = false;
			}
		}
	}
	qvmi__lx_big_free(buf, HINT_CHUNK + plen);
	qvmi__clear_err(ctx);
	return rc;
}

/*
 * Where an ELF dump's VMCOREINFO puts the kallsyms token table (6.0+:
 * SYMBOL(kallsyms_token_table), commit 5fd8fea935a1), else _stext: a PA
 * through the image mapping and NUMBER(phys_base), x86_64 only (i386's
 * VMCOREINFO has no phys_base and its PAGE_OFFSET is not said).  Only a
 * hint: what is found there is checked like any scan hit, and memory
 * wins (vmci_check in kernel.c).
 */
static int vmci_hint(struct qvmi_linux *lx, uint64_t *ret, uint64_t *span)
{
	const char *v = qvmi_vmcoreinfo(lx->ctx);
	uint64_t va, pa;
	int64_t pb;

	if (!v || qvmi__vmci_num(v, "NUMBER(phys_base)", &pb))
		return -ENOENT;
	*span = VMCI_TOKENS_SPAN;
	if (qvmi__vmci_u64(v, "SYMBOL(kallsyms_token_table)", 16, &va)) {
		*span = HINT_SPAN;
		if (qvmi__vmci_u64(v, "SYMBOL(_stext)", 16, &va))
			return -ENOENT;
	}
	if (va < QVMI_LINUX_START_KERNEL_MAP || va >= QVMI_LINUX_MODULES_START)
		return -ERANGE;
	/* phys_base wraps when KASLR moved the image further virtually
	 * than physically: the sum is modulo 2^64, and a physical address
	 * has at most 52 bits. */
	pa = va - QVMI_LINUX_START_KERNEL_MAP + (uint64_t)pb;
	if (pa >= 1ull << 52)
		return -ERANGE;
	*ret = pa & ~0xfffull;
	return 0;
}

int qvmi__lx_discover_kallsyms(struct qvmi_linux *lx)
{
	struct scan sc = { lx, 1, 0, 0, 0 };
	uint64_t hint, span;
	int rc = 0;

	if (lx->ctx->nram && !vmci_hint(lx, &hint, &span)) {
		rc = scan_range(&sc, hint, hint + span);
		qvmi__log(lx->ctx, QVMI_LOG_INFO,
			  "linux: kallsyms from VMCOREINFO, PA 0x%" PRIx64
			  ": %s",
			  hint, rc == 1 ? "found" : "not there");
	}
	if (rc != 1 && lx->ctx->nram && !text_hint(lx, &hint)) {
		hint &= ~(uint64_t)(ALIGN_2M - 1);
		rc = scan_range(&sc, hint, hint + HINT_SPAN);
		qvmi__log(lx->ctx, QVMI_LOG_DEBUG,
			  "linux: scan from the vCPU hint PA 0x%" PRIx64 ": %s",
			  hint, rc == 1 ? "found" : "not there");
	}
	/* The digit tokens of kallsyms_token_table (see kallsyms.c). */
	if (rc != 1)
		rc = qvmi_find_pa(lx->ctx, digits, sizeof(digits) - 1, scan_hit,
				  &sc);
	if (rc == 1) {
		lx->sym_source = "kallsyms";
		lx->layout_source = layout_name(&lx->lay);
		qvmi__log(lx->ctx, QVMI_LOG_INFO,
			  "linux: %zu symbols, token table at PA 0x%" PRIx64
			  ", layout %s, %d window(s)",
			  lx->syms.n, lx->kallsyms_pa, lx->layout_source,
			  sc.windows);
		return 0;
	}
	if (rc < 0)
		return rc;
	if (sc.err)
		return sc.err; /* the message of the last candidate */
	return qvmi__err(lx->ctx, -ENOENT,
			 "linux: no kallsyms token table in guest memory");
}

/* ---- discovery from a System.map ----------------------------------------------- */

static int load_file(struct qvmi_ctx *ctx, const char *path, size_t max,
		     char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 1 << 20, n = 0;
	char *b = NULL, *nb;
	ssize_t r;

	if (fd < 0)
		return qvmi__err(ctx, -errno, "cannot open %s", path);
	do {
		if (n == cap || !b) {
			if (b)
				cap *= 2;
			nb = cap > max ? NULL : realloc(b, cap);
			if (!nb) {
				free(b);
				close(fd);
				return qvmi__err(ctx,
						 cap > max ? -EFBIG : -ENOMEM,
						 "%s: too large", path);
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n);
		if (r > 0)
			n += (size_t)r;
	} while (r > 0 || (r < 0 && errno == EINTR));
	close(fd);
	if (r < 0) {
		free(b);
		return qvmi__err(ctx, -EIO, "cannot read %s", path);
	}
	*buf = b;
	*len = n;
	return 0;
}

struct map_scan {
	struct qvmi_linux *lx;
	uint64_t ban_off, pb_off; /* from _text, map addresses */
	uint64_t text_pa, text_va;
};

/* A banner hit: does _text = hit - ban_off give a sane runtime _text? */
static int map_hit(uint64_t gpa, void *arg)
{
	struct map_scan *ms = arg;
	uint64_t p, pb, va;

	if ((gpa & (ALIGN_2M - 1)) !=
		    ((ms->lx->text_va + ms->ban_off) & (ALIGN_2M - 1)) ||
	    gpa < ms->ban_off)
		return 0;
	p = gpa - ms->ban_off;
	if (qvmi__lx_read_u64(ms->lx->ctx, p + ms->pb_off, &pb))
		return 0;
	va = p + QVMI_LINUX_START_KERNEL_MAP - pb;
	if (va < QVMI_LINUX_START_KERNEL_MAP || va >= 0xffffffffc0000000ull ||
	    ((va - ms->lx->text_va) & (ALIGN_2M - 1)))
		return 0;
	ms->text_pa = p;
	ms->text_va = va;
	return 1;
}

/* _text (else _stext) of a map, or NULL. */
static const struct qvmi_ksym *map_text(const struct qvmi_ksyms *m)
{
	const struct qvmi_ksym *t = qvmi__ksyms_find(m, "_text");

	return t ? t : qvmi__ksyms_find(m, "_stext");
}

/* Do the map's text symbols sit where kallsyms has them, once slid, and
 * is the banner where the map says?  Else it is another build's map.
 * Kallsyms symbols spread over the table are looked up by address (a
 * name may be defined twice; an address alias is fine). */
static int map32_agrees(struct qvmi_linux *lx, const struct qvmi_ksyms *map,
			uint64_t slide, const char *path)
{
	enum { SAMPLES = 64 };
	const struct qvmi_ksym *a, *b;
	char ban[sizeof(lx->banner)];
	uint64_t pa = 0;
	size_t step = lx->syms.n / SAMPLES + 1;
	int checked = 0;

	for (size_t i = 0; i < lx->syms.n; i += step) {
		b = &lx->syms.syms[i];
		a = qvmi__ksyms_lookup(map, b->addr - slide);
		if (!a || a->addr + slide != b->addr)
			return qvmi__err(
				lx->ctx, -ESTALE,
				"%s is for another kernel build: no "
				"symbol where kallsyms has %s (0x%" PRIx64
				" linked)",
				path, qvmi__ksym_name(&lx->syms, b),
				b->addr - slide);
		checked++;
	}
	a = qvmi__ksyms_find(map, "linux_banner");
	if (checked < 2 || !a ||
	    qvmi__linux_kimage_pa(lx, a->addr + slide, &pa) ||
	    qvmi_read_pa(lx->ctx, pa, ban, sizeof(ban) - 1))
		return qvmi__err(lx->ctx, -ESTALE,
				 "%s does not match the guest kernel (text "
				 "symbols or linux_banner missing)",
				 path);
	ban[sizeof(ban) - 1] = '\0';
	ban[strcspn(ban, "\n")] = '\0';
	if (strncmp(ban, lx->banner, strcspn(lx->banner, "\n")))
		return qvmi__err(lx->ctx, -ESTALE,
				 "%s is for another kernel build: its "
				 "linux_banner is not the guest's",
				 path);
	return 0;
}

/*
 * i386 without KALLSYMS_ALL (Debian's 686-pae): kallsyms, found in memory,
 * places the image and has the text symbols; the System.map of the same
 * build gives the data symbols (init_task, init_mm, modules, prb, ...).
 * RANDOMIZE_BASE=y there: the image moves physically and virtually
 * together, so the map's link-time addresses from _text up move by the
 * difference of a text symbol in both.  The map replaces the table.
 */
static int merge_map32(struct qvmi_linux *lx, const struct qvmi_ksyms *map,
		       const char *path)
{
	const struct qvmi_ksym *mt = map_text(map), *kt, *e;
	struct qvmi_ksyms out = { 0 };
	uint64_t slide;
	int err;

	if (!qvmi__lx_is32(lx))
		return qvmi__err(lx->ctx, -EBADMSG,
				 "%s is a 32-bit System.map; the guest "
				 "kernel is 64-bit",
				 path);
	kt = qvmi__ksyms_find(&lx->syms, qvmi__ksym_name(map, mt));
	if (!kt)
		return qvmi__err(lx->ctx, -ENOENT, "kallsyms has no %s",
				 qvmi__ksym_name(map, mt));
	slide = kt->addr - mt->addr;
	e = qvmi__ksyms_find(map, "_end");
	if (e && e->addr > mt->addr && e->addr - mt->addr <= IMAGE32_MAX)
		lx->end_va = QVMI_MAX(lx->end_va, e->addr + slide);
	err = map32_agrees(lx, map, slide, path);
	for (size_t i = 0; !err && i < map->n; i++) {
		const struct qvmi_ksym *k = &map->syms[i];
		const char *name = qvmi__ksym_name(map, k);
		bool moves = k->addr >= mt->addr && k->type != 'A' &&
			     k->type != 'a';

		if (qvmi__ksyms_add(&out, moves ? k->addr + slide : k->addr,
				    k->type, name, strlen(name)))
			err = qvmi__err(lx->ctx, -ENOMEM, "out of memory");
	}
	if (!err && qvmi__ksyms_finish(&out))
		err = qvmi__err(lx->ctx, -ENOMEM, "out of memory");
	if (err) {
		qvmi__ksyms_free(&out);
		return err;
	}
	qvmi__ksyms_free(&lx->syms);
	lx->syms = out;
	lx->sym_source = "system.map";
	qvmi__log(lx->ctx, QVMI_LOG_INFO,
		  "linux: %zu symbols from %s, slide 0x%" PRIx64, out.n, path,
		  slide);
	return 0;
}

int qvmi__lx_discover_map(struct qvmi_linux *lx, const char *path)
{
	struct map_scan ms = { lx, 0, 0, 0, 0 };
	const struct qvmi_ksym *t;
	struct qvmi_ksyms map;
	uint64_t ban, pb, slide;
	char *text = NULL;
	size_t len = 0;
	int err = load_file(lx->ctx, path, MAP_FILE_MAX, &text, &len);

	if (err)
		return err;
	err = qvmi__ksyms_parse_map(lx->ctx, text, len, &lx->syms);
	free(text);
	if (err)
		return err;
	t = map_text(&lx->syms);
	if (!t)
		return qvmi__err(lx->ctx, -ENOENT,
				 "%s has no _text/_stext (Debian's "
				 "/boot/System.map-* is a stub; the real one "
				 "is usr/lib/debug/boot/System.map-* of "
				 "linux-image-*-dbg)",
				 path);
	if (t->addr <= UINT32_MAX) { /* a 32-bit kernel's map */
		map = lx->syms;
		memset(&lx->syms, 0, sizeof(lx->syms));
		err = qvmi__lx_discover_kallsyms(lx);
		if (!err)
			err = merge_map32(lx, &map, path);
		qvmi__ksyms_free(&map);
		return err;
	}
	err = qvmi__lx_image_bounds(lx);
	if (err)
		return err;
	ban = qvmi__lx_sym_or(lx, "linux_banner", 0);
	pb = qvmi__lx_sym_or(lx, "phys_base", 0);
	if (ban < lx->text_va || pb < lx->text_va)
		return qvmi__err(lx->ctx, -ENOENT,
				 "%s: needs linux_banner and phys_base", path);
	ms.ban_off = ban - lx->text_va;
	ms.pb_off = pb - lx->text_va;
	err = qvmi_find_pa(lx->ctx, banner_prefix, sizeof(banner_prefix) - 1,
			   map_hit, &ms);
	if (err < 0)
		return err;
	if (err != 1)
		return qvmi__err(lx->ctx, -ENOENT,
				 "%s: its kernel is not in guest memory", path);
	/* Relocate to this boot: only kernel-image symbols move. */
	slide = ms.text_va - lx->text_va;
	for (size_t i = 0; i < lx->syms.n; i++)
		if (lx->syms.syms[i].addr >= QVMI_LINUX_START_KERNEL_MAP)
			lx->syms.syms[i].addr += slide;
	lx->text_va += slide;
	lx->end_va += slide;
	lx->text_pa = ms.text_pa;
	lx->phys_base = ms.text_pa - lx->text_va + QVMI_LINUX_START_KERNEL_MAP;
	lx->sym_source = "system.map";
	lx->layout_source = "system.map";
	return 0;
}
