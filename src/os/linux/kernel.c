// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Find a Linux x86_64 kernel in guest-physical memory with no configuration:
 * scan for the kallsyms token table, decode the symbols, then place the
 * kernel image physically and virtually (KASLR) from them.
 *
 * Placement: the image is physically contiguous, and on x86_64 the physical
 * and virtual load addresses are both multiples of CONFIG_PHYSICAL_ALIGN
 * (>= 2 MiB, arch/x86/boot/compressed/kaslr.c), so _text's physical address
 * is congruent to its virtual one modulo 2 MiB and lies at most
 * (_end - _text) below the token table.  Each candidate is checked against
 * the kernel's own phys_base variable, which head64.c sets so that
 * PA = VA - __START_KERNEL_map + phys_base for the image, and against
 * linux_banner.
 *
 * i386 (PAE or not) differs: the image lies in the linear map, so
 * VA = PA + PAGE_OFFSET for all of it, KASLR moving both together
 * (arch/x86/boot/compressed/kaslr.c picks only a physical address there).
 * There is no phys_base, and without CONFIG_KALLSYMS_ALL (Debian's
 * 686-pae) kallsyms has text symbols only: no linux_banner.  So each
 * VMSPLIT PAGE_OFFSET is tried, and the one that puts _text a little below
 * the token table, with a banner in between, wins.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "kernel-int.h"
#include "linux.h"
#include "views.h"

enum {
	READ_CHUNK = 1 << 20,
	IMAGE_MAX = 1 << 30, /* _end - _text sanity bound */
	BTF_MAX = 256 << 20,
	ALIGN_2M = QVMI_LX_ALIGN_2M,
	IMAGE32_MAX = QVMI_LX_IMAGE32_MAX,
};

static const char banner_prefix[] = QVMI_LX_BANNER_PREFIX;

/* What a kernel without BTF needs and how to make it; with "no BTF: "
 * and two 20-byte releases it fits QVMI_ERRMSG_MAX (256). */
#define NO_BTF_FMT                                                      \
	"kernel %s has no BTF: give btf_path (--btf) from 'pahole "     \
	"--btf_encode_detached=FILE vmlinux' or isf_path (--isf) from " \
	"'dwarf2json linux --elf vmlinux >FILE.json', vmlinux from "    \
	"linux-image-%s-dbg"

/* i386 without KALLSYMS_ALL and BTF (Debian's 686-pae): both missing. */
#define NO_TYPES32_FMT                                                        \
	"kernel %s: no BTF, no data symbols (no KALLSYMS_ALL): need --btf F " \
	"from 'pahole --btf_encode_detached=F vmlinux' + --system-map "       \
	"usr/lib/debug/boot/System.map-%s of linux-image-%s-dbg, or --isf "   \
	"F (dwarf2json)"

/* Direct-map size bound for va_to_pa: 64 TiB with 4-level paging, 32 PiB
 * with 5-level. */
#define DIRECT_MAP_MAX (1ull << 55)

/* ---- reading guest memory ------------------------------------------------ */

/*
 * Windows are megabytes, read once: map them populated (qvmi__lx_big_alloc:
 * huge pages where possible).  Faulting in a fresh malloc'd page at a time
 * costs about three times as much (18 us a page on a loaded host), and the
 * window is most of a cold open's copying.  A size header in front keeps
 * qvmi__lx_window_free() a plain call.
 */
static uint8_t *window_alloc(uint64_t size)
{
	uint64_t total = size + 4096;
	uint8_t *p;

	if (size > SIZE_MAX - 4096)
		return NULL;
	p = qvmi__lx_big_alloc((size_t)total);
	if (!p)
		return NULL;
	memcpy(p, &total, sizeof(total));
	return p + 4096;
}

void qvmi__lx_window_free(uint8_t *b)
{
	uint64_t total;

	if (!b)
		return;
	memcpy(&total, b - 4096, sizeof(total));
	qvmi__lx_big_free(b - 4096, (size_t)total);
}

/*
 * qvmi_read_pa for data read once (scans, windows, the probes that place
 * the image): where a file backs the range (shared RAM), pread it.  The kernel copies from its page cache directly, at
 * 7-11 GiB/s, where a first touch through our own mapping of the file
 * costs a page-table entry per page (a 6 MiB scan ran at 0.5 GiB/s); and
 * holes read as zeros without being allocated.
 */
int qvmi__lx_read_once(struct qvmi_ctx *ctx, uint64_t pa, void *out, size_t len)
{
	uint8_t *buf = out;

	while (len) {
		struct qvmi_pa_file f;
		ssize_t n;

		if (qvmi__pa_file(ctx, pa, len, &f))
			return qvmi_read_pa(ctx, pa, buf, len);
		do
			n = pread(f.fd, buf, f.len, (off_t)f.off);
		while (n < 0 && errno == EINTR);
		if (n <= 0) /* an error, or the file shrank */
			return qvmi_read_pa(ctx, pa, buf, len);
		pa += (uint64_t)n;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read [center - before, center + after) as far as memory is backed without
 * a gap on either side of center; *lo and *len describe what was read.  A
 * chunk that fails is retried page by page to find the gap's edge. */
int qvmi__lx_read_window(struct qvmi_ctx *ctx, uint64_t center, uint64_t before,
			 uint64_t after, uint8_t **buf, uint64_t *lo,
			 uint64_t *len)
{
	uint64_t start = center > before ? (center - before) & ~0xfffull : 0;
	uint64_t end = center + after, good_lo = start, pos;
	uint8_t *b = window_alloc(end - start);

	if (!b)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	for (pos = start; pos < end; pos += READ_CHUNK) {
		uint64_t n = QVMI_MIN((uint64_t)READ_CHUNK, end - pos), p;

		if (!qvmi__lx_read_once(ctx, pos, b + (pos - start), n))
			continue;
		for (p = pos; p < pos + n; p += 4096) {
			uint64_t pn = QVMI_MIN(4096, pos + n - p);

			if (!qvmi_read_pa(ctx, p, b + (p - start), pn))
				continue;
			if (p + pn <= center) {
				good_lo = p + pn; /* a gap below center */
				continue;
			}
			end = p; /* a gap at or above center */
			break;
		}
	}
	if (end < center + 1) /* center itself unreadable */
		end = good_lo;
	if (good_lo > start)
		memmove(b, b + (good_lo - start), end - good_lo);
	*buf = b;
	*lo = good_lo;
	*len = end - good_lo;
	qvmi__clear_err(ctx);
	return 0;
}

/* ---- placing the image ------------------------------------------------------ */

/* The symbol table, decoded from the profile on first need.  A profile
 * whose table turns out damaged (checksum) or gone is replaced by decoding
 * the guest's own tables again. */
static int need_syms(struct qvmi_linux *lx)
{
	int err;

	if (!lx->syms_lazy)
		return 0;
	lx->syms_lazy = false;
	err = qvmi__profile_load_syms(lx);
	if (!err)
		return 0;
	qvmi__log(lx->ctx, QVMI_LOG_WARN,
		  "linux: profile symbol table unusable (%d), decoding memory",
		  err);
	err = qvmi__lx_discover_kallsyms(lx);
	if (err)
		return err;
	if (lx->opened) /* else qvmi_linux_open saves it */
		qvmi__profile_save(lx, lx->cache_dir);
	return 0;
}

/* Symbol by name: the memo (once the image is placed), else the table.
 * -ENOENT if there is no such symbol. */
static int lx_sym(struct qvmi_linux *lx, const char *name, uint64_t *ret)
{
	const struct qvmi_ksym *k;
	int err = lx->memo_on ? qvmi__memo_sym(lx, name, ret) : 1;

	if (err <= 0)
		return err;
	err = need_syms(lx);
	if (err)
		return err;
	k = qvmi__ksyms_find(&lx->syms, name);
	if (k)
		*ret = k->addr;
	if (lx->memo_on)
		qvmi__memo_put_sym(lx, name, k ? 0 : -ENOENT, k ? k->addr : 0);
	return k ? 0 : -ENOENT;
}

uint64_t qvmi__lx_sym_or(struct qvmi_linux *lx, const char *name, uint64_t def)
{
	uint64_t v;

	return lx_sym(lx, name, &v) ? def : v;
}

/* Does _text at physical p agree with phys_base and linux_banner? */
static bool text_pa_ok(struct qvmi_linux *lx, uint64_t p)
{
	uint64_t pb_va = qvmi__lx_sym_or(lx, "phys_base", 0);
	uint64_t ban_va = qvmi__lx_sym_or(lx, "linux_banner", 0);
	char ban[sizeof(banner_prefix) - 1];
	uint64_t v;
	int checks = 0;

	if (pb_va >= lx->text_va && pb_va < lx->end_va) {
		if (qvmi__lx_read_u64(lx->ctx, p + (pb_va - lx->text_va), &v) ||
		    v != p - lx->text_va + QVMI_LINUX_START_KERNEL_MAP)
			return false;
		checks++;
	}
	if (ban_va >= lx->text_va && ban_va < lx->end_va) {
		if (qvmi__lx_read_once(lx->ctx, p + (ban_va - lx->text_va), ban,
				       sizeof(ban)) ||
		    memcmp(ban, banner_prefix, sizeof(ban)))
			return false;
		checks++;
	}
	return checks > 0;
}

int qvmi__lx_image_bounds(struct qvmi_linux *lx)
{
	const struct qvmi_ksym *t = qvmi__ksyms_find(&lx->syms, "_text");
	bool ok;

	if (!t)
		t = qvmi__ksyms_find(&lx->syms, "_stext");
	ok = t &&
	     (qvmi__lx_is32(lx) ? t->addr >= QVMI_LINUX_PAGE_OFFSET32_MIN &&
					  t->addr <= UINT32_MAX :
				  t->addr >= QVMI_LINUX_START_KERNEL_MAP);
	if (!ok)
		return qvmi__err(lx->ctx, -ENOENT,
				 "linux: no _text/_stext in the kernel image");
	lx->text_va = t->addr;
	lx->end_va = qvmi__lx_sym_or(lx, "_end",
				     lx->syms.syms[lx->syms.n - 1].addr + 1);
	if (lx->end_va <= lx->text_va || lx->end_va - lx->text_va > IMAGE_MAX)
		return qvmi__err(lx->ctx, -EBADMSG,
				 "linux: implausible image _text 0x%" PRIx64
				 " _end 0x%" PRIx64,
				 lx->text_va, lx->end_va);
	return 0;
}

/* i386: the banner between _etext and the token table, into lx->banner. */
static bool banner32(struct qvmi_linux *lx, uint64_t from, uint64_t to)
{
	uint8_t *buf = NULL;
	const uint8_t *hit = NULL;
	uint64_t lo = 0, len = 0;
	size_t n;

	if (to <= from ||
	    qvmi__lx_read_window(lx->ctx, from, 0, to - from, &buf, &lo, &len))
		return false;
	/* The last one: 6.1's init/version.o keeps a weak linux_banner
	 * whose UTS_VERSION lacks the build number ("# SMP ..."); the real
	 * one, from init/version-timestamp.o, is linked after it. */
	for (const uint8_t *p = buf;
	     len && (p = memmem(p, len - (size_t)(p - buf), banner_prefix,
				sizeof(banner_prefix) - 1));
	     p++)
		hit = p;
	if (hit) {
		n = QVMI_MIN(sizeof(lx->banner) - 1, len - (size_t)(hit - buf));
		memcpy(lx->banner, hit, n);
		lx->banner[n] = '\0';
	}
	qvmi__lx_window_free(buf);
	return hit != NULL;
}

static int place_image32(struct qvmi_linux *lx, uint64_t inside_pa)
{
	/* CONFIG_PAGE_OFFSET of VMSPLIT_3G, 3G_OPT, 2G, 2G_OPT, 1G. */
	static const uint64_t po[] = { 0xc0000000, 0xb0000000, 0x80000000,
				       0x78000000, 0x40000000 };
	uint64_t etext = qvmi__lx_sym_or(lx, "_etext", lx->end_va);

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(po); i++) {
		uint64_t p = lx->text_va - po[i];

		if (lx->text_va < po[i] || p > inside_pa ||
		    inside_pa - p > IMAGE32_MAX || etext < lx->text_va ||
		    !banner32(lx, p + (etext - lx->text_va), inside_pa))
			continue;
		lx->text_pa = p;
		lx->page_offset_base = po[i];
		lx->phys_base = 0; /* no such variable on i386 */
		/* Without _end: the tables and what follows them. */
		lx->end_va = QVMI_MAX(lx->end_va, inside_pa + po[i] + 1);
		qvmi__clear_err(lx->ctx);
		return 0;
	}
	return qvmi__err(
		lx->ctx, -ENOENT,
		"linux: i386 kernel: no PAGE_OFFSET puts _text 0x%" PRIx64
		" below its token table at PA 0x%" PRIx64
		" with a banner in between",
		lx->text_va, inside_pa);
}

/* Place _text physically given a PA inside the image (the token table). */
int qvmi__lx_place_image(struct qvmi_linux *lx, uint64_t inside_pa)
{
	uint64_t step[] = { ALIGN_2M, 4096 }, span, lo;
	int err = qvmi__lx_image_bounds(lx);

	if (err)
		return err;
	if (qvmi__lx_is32(lx))
		return place_image32(lx, inside_pa);
	span = lx->end_va - lx->text_va;
	lo = inside_pa > span ? inside_pa - span : 0;
	for (size_t s = 0; s < QVMI_ARRAY_SIZE(step); s++) {
		uint64_t p = (inside_pa & ~(step[s] - 1)) |
			     (lx->text_va & (step[s] - 1));

		if (p > inside_pa)
			p -= step[s];
		for (; p >= lo && p <= inside_pa; p -= step[s]) {
			if (text_pa_ok(lx, p)) {
				lx->text_pa = p;
				lx->phys_base = p - lx->text_va +
						QVMI_LINUX_START_KERNEL_MAP;
				qvmi__clear_err(lx->ctx);
				return 0;
			}
			if (p < step[s])
				break;
		}
	}
	return qvmi__err(lx->ctx, -ENOENT,
			 "linux: no physical placement of _text agrees with "
			 "phys_base/linux_banner");
}

int qvmi__linux_kimage_pa(struct qvmi_linux *lx, uint64_t va, uint64_t *ret)
{
	if (va < lx->text_va || va >= lx->end_va || !lx->text_pa)
		return qvmi__fault(lx->ctx, va, "not in the kernel image");
	*ret = va - lx->text_va + lx->text_pa;
	return 0;
}

/* ---- layout variables, banner, BTF ------------------------------------------ */

static void read_base(struct qvmi_linux *lx, const char *name, uint64_t def,
		      uint64_t *out)
{
	uint64_t pa = 0, v, va;

	*out = def;
	if (lx_sym(lx, name, &va) || qvmi__linux_kimage_pa(lx, va, &pa) ||
	    qvmi__lx_read_u64(lx->ctx, pa, &v) || !(v >> 63)) {
		qvmi__log(lx->ctx, QVMI_LOG_DEBUG,
			  "linux: %s not readable, default 0x%" PRIx64, name,
			  def);
		qvmi__clear_err(lx->ctx);
		return;
	}
	*out = v;
}

/*
 * i386: the linear map ends at high_memory (a data symbol: from a
 * System.map or an ISF), at most 896 MiB above PAGE_OFFSET with the 3G
 * split, and vmalloc (modules too) starts 8 MiB above it.  Without the
 * symbol assume the largest linear map; module addresses then read through
 * the page tables only if they lie above it.
 */
static void read_high_memory(struct qvmi_linux *lx)
{
	uint64_t va, pa = 0, lim = lx->page_offset_base + 0x38000000;
	uint32_t hm = 0;

	lx->vmalloc_base = lim;
	if (!qvmi_linux_sym_addr(lx, "high_memory", &va) &&
	    !qvmi__linux_kimage_pa(lx, va, &pa) &&
	    !qvmi_read_pa(lx->ctx, pa, &hm, sizeof(hm)) &&
	    hm > lx->page_offset_base && hm <= lim)
		lx->vmalloc_base = hm;
	qvmi__clear_err(lx->ctx);
}

static int read_banner(struct qvmi_linux *lx)
{
	const char *r;
	uint64_t pa = 0, va = 0;
	size_t n;
	bool have = !lx_sym(lx, "linux_banner", &va);
	/* i386 without KALLSYMS_ALL: place_image32 found the banner. */
	bool found = !have && qvmi__lx_is32(lx) && lx->banner[0];

	if (!found && (!have || qvmi__linux_kimage_pa(lx, va, &pa) ||
		       qvmi__lx_read_once(lx->ctx, pa, lx->banner,
					  sizeof(lx->banner) - 1)))
		return qvmi__err(lx->ctx, -ENOENT, "linux: no linux_banner");
	lx->banner[sizeof(lx->banner) - 1] = '\0';
	lx->banner[strcspn(lx->banner, "\n")] = '\0';
	if (strncmp(lx->banner, banner_prefix, sizeof(banner_prefix) - 1))
		return qvmi__err(lx->ctx, -EBADMSG,
				 "linux: linux_banner is not a banner");
	r = lx->banner + sizeof(banner_prefix) - 1;
	n = strcspn(r, " ");
	n = QVMI_MIN(n, sizeof(lx->release) - 1);
	memcpy(lx->release, r, n);
	lx->release[n] = '\0';
	return 0;
}

/*
 * An ELF dump's VMCOREINFO against what memory said.  Memory wins: the
 * views read memory, and a dump tool may have written stale or foreign
 * notes; a disagreement is logged (the CLI shows it with -v).
 */
static void vmci_check(struct qvmi_linux *lx)
{
	const char *v = qvmi_vmcoreinfo(lx->ctx);
	char rel[sizeof(lx->release)];
	uint64_t x, y;
	int64_t s;
	int n[2] = { 0, 0 }; /* agree, differ */

	if (!v)
		return;
	if (!qvmi__vmci_str(v, "OSRELEASE", rel, sizeof(rel)))
		n[strcmp(rel, lx->release) != 0]++;
	if (!qvmi__vmci_u64(v, "SYMBOL(_stext)", 16, &x) &&
	    !lx_sym(lx, "_stext", &y))
		n[x != y]++;
	if (!qvmi__lx_is32(lx) && !qvmi__vmci_num(v, "NUMBER(phys_base)", &s))
		n[(uint64_t)s != lx->phys_base]++;
	qvmi__clear_err(lx->ctx);
	if (n[1])
		qvmi__log(lx->ctx, QVMI_LOG_WARN,
			  "linux: the dump's VMCOREINFO disagrees with memory "
			  "(%d of OSRELEASE, _stext, phys_base): memory used",
			  n[1]);
	else if (n[0])
		qvmi__log(lx->ctx, QVMI_LOG_INFO,
			  "linux: the dump's VMCOREINFO agrees (%d of "
			  "OSRELEASE, _stext, phys_base)",
			  n[0]);
}

struct btf_fill {
	struct qvmi_ctx *ctx;
	uint64_t pa;
};

static int btf_fill(void *arg, uint8_t *buf, size_t len)
{
	struct btf_fill *f = arg;

	return qvmi__lx_read_once(f->ctx, f->pa, buf, len);
}

static int load_btf_memory(struct qvmi_linux *lx)
{
	uint64_t start = qvmi__lx_sym_or(lx, "__start_BTF", 0);
	uint64_t stop = qvmi__lx_sym_or(lx, "__stop_BTF", 0);
	struct btf_fill f = { lx->ctx, 0 };
	int err;

	if (!start || stop <= start || stop - start > BTF_MAX)
		return qvmi__err(lx->ctx, -ENOENT, NO_BTF_FMT, lx->release,
				 lx->release);
	err = qvmi__linux_kimage_pa(lx, start, &f.pa);
	if (err)
		return err;
	/* Read in place (no libbpf copy), the bytes pread from shared RAM
	 * straight into the view's buffer. */
	err = qvmi__btf_view_read(lx->ctx, stop - start, btf_fill, &f,
				  &lx->btfv);
	if (!err)
		lx->btf_size = qvmi__btf_view_size(lx->btfv);
	return err;
}

static int load_btf(struct qvmi_linux *lx, const char *path)
{
	int err;

	if (path) {
		err = qvmi__btf_load_file(lx->ctx, path, &lx->btf);
		if (!err) {
			lx->btf_source = "file";
			uint32_t sz = 0;

			btf__raw_data(lx->btf, &sz);
			lx->btf_size = sz;
		}
	} else {
		err = load_btf_memory(lx);
		if (!err)
			lx->btf_source = "memory";
	}
	if (err) {
		snprintf(lx->btf_err, sizeof(lx->btf_err), "%s",
			 qvmi_errmsg(lx->ctx));
		if (!path) /* a file's failure is the caller's error */
			qvmi__log(lx->ctx, QVMI_LOG_WARN, "linux: no BTF: %s",
				  lx->btf_err);
		qvmi__clear_err(lx->ctx);
	}
	return err;
}

/* ---- a Volatility ISF ------------------------------------------------------------ */

/* Offset of sym from the image start in the ISF and in the guest; 1 if
 * either lacks it. */
static int isf_sym_off(struct qvmi_linux *lx, const char *sym, uint64_t *isf,
		       uint64_t *run)
{
	uint64_t a, b;

	if (qvmi__isf_sym(lx->isf, sym, &a) || lx_sym(lx, sym, &b) ||
	    a < lx->isf_text || b < lx->text_va)
		return 1;
	*isf = a - lx->isf_text;
	*run = b - lx->text_va;
	return 0;
}

/* Does the symbol table (kallsyms or a map) have name? */
static bool lx_has_sym(struct qvmi_linux *lx, const char *name)
{
	uint64_t v;

	return !lx_sym(lx, name, &v);
}

/* Does the image hold lx->banner at va? */
static bool isf32_banner_ok(struct qvmi_linux *lx, uint64_t va)
{
	char ban[sizeof(lx->banner)];
	size_t n = strcspn(lx->banner, "\n");
	uint64_t pa = 0;

	if (n >= sizeof(ban) || qvmi__linux_kimage_pa(lx, va, &pa) ||
	    qvmi_read_pa(lx->ctx, pa, ban, n)) {
		qvmi__clear_err(lx->ctx);
		return false;
	}
	return !memcmp(ban, lx->banner, n);
}

/*
 * Load the ISF and relocate its link-time symbols to this boot as the
 * System.map path does: everything from _text up moves by the KASLR slide
 * (per-CPU symbols, near 0 on x86_64, do not).  An ISF of another build
 * is refused: linux_banner sits elsewhere in its image.
 */
int qvmi__linux_load_isf(struct qvmi_linux *lx, const char *path)
{
	uint64_t a, b;
	int err = qvmi__isf_load_file(lx->ctx, path, &lx->isf);

	if (err)
		return err;
	if (qvmi__isf_sym(lx->isf, "_text", &lx->isf_text) &&
	    qvmi__isf_sym(lx->isf, "_stext", &lx->isf_text))
		return qvmi__err(lx->ctx, -EBADMSG,
				 "isf: %s has no _text/_stext symbol: cannot "
				 "relocate its symbols",
				 path);
	lx->isf_slide = lx->text_va - lx->isf_text;
	if (!isf_sym_off(lx, "linux_banner", &a, &b) && a != b)
		return qvmi__err(lx->ctx, -ESTALE,
				 "isf: %s is for another kernel build "
				 "(linux_banner at _text+0x%" PRIx64
				 ", the guest's at _text+0x%" PRIx64 ")",
				 path, a, b);
	/* i386 without KALLSYMS_ALL: kallsyms has no linux_banner; the
	 * ISF's, slid, must hold the banner found in memory. */
	if (qvmi__lx_is32(lx) && lx->banner[0] &&
	    !lx_has_sym(lx, "linux_banner") &&
	    !qvmi__isf_sym(lx->isf, "linux_banner", &a) &&
	    !isf32_banner_ok(lx, a + lx->isf_slide))
		return qvmi__err(lx->ctx, -ESTALE,
				 "isf: %s is for another kernel build (its "
				 "linux_banner is not the guest's)",
				 path);
	/* i386: kallsyms ends at its tables; .data and .bss (high_memory,
	 * swapper_pg_dir) lie up to _end. */
	if (qvmi__lx_is32(lx) && !qvmi__isf_sym(lx->isf, "_end", &a) &&
	    a > lx->isf_text && a - lx->isf_text <= IMAGE32_MAX)
		lx->end_va = QVMI_MAX(lx->end_va, a + lx->isf_slide);
	lx->btf_source = "isf";
	qvmi__log(lx->ctx, QVMI_LOG_INFO,
		  "linux: ISF %s, %zu symbols, slide 0x%" PRIx64, path,
		  qvmi__isf_nsyms(lx->isf), lx->isf_slide);
	return 0;
}

/* ---- public API ---------------------------------------------------------------- */

static int finish_open(struct qvmi_linux *lx, const struct qvmi_linux_opts *o)
{
	const char *path = QVMI_OPTS_GET(o, btf_path, (const char *)NULL);
	const char *isf = QVMI_OPTS_GET(o, isf_path, (const char *)NULL);
	uint64_t start, stop;
	int err;

	/* The image is placed: answers can be remembered relative to _text. */
	lx->memo_on = true;
	err = read_banner(lx);
	if (!err)
		vmci_check(lx);

	if (!err && isf)
		err = qvmi__linux_load_isf(lx, isf);
	if (err)
		return err;
	if (qvmi__lx_is32(lx)) {
		read_high_memory(lx);
		lx->vmemmap_base = 0; /* none on i386 */
		goto btf;
	}
	/* CONFIG_RANDOMIZE_MEMORY variables; defaults are 4-level layout. */
	read_base(lx, "page_offset_base", 0xffff888000000000ull,
		  &lx->page_offset_base);
	read_base(lx, "vmalloc_base", 0xffffc90000000000ull, &lx->vmalloc_base);
	read_base(lx, "vmemmap_base", 0xffffea0000000000ull, &lx->vmemmap_base);
btf:
	if (QVMI_OPTS_GET(o, flags, 0u) & QVMI_LINUX_NO_BTF)
		return 0;
	/* Types the caller named and we cannot read: an error, not a
	 * handle that answers "no BTF" (or guesses) later. */
	if (path) {
		err = load_btf(lx, path);
		return err ? qvmi__err(lx->ctx, err, "btf_path %s: %s", path,
				       lx->btf_err) :
			     0;
	}
	/* In-memory BTF is parsed on the first type query the memo cannot
	 * answer: most attaches from the profile never need it. */
	start = qvmi__lx_sym_or(lx, "__start_BTF", 0);
	stop = qvmi__lx_sym_or(lx, "__stop_BTF", 0);
	if (!start || stop <= start || stop - start > BTF_MAX) {
		snprintf(lx->btf_err, sizeof(lx->btf_err), NO_BTF_FMT,
			 lx->release, lx->release);
		return 0;
	}
	lx->btf_lazy = true;
	/* The memo holds in-memory BTF answers: the ISF, given explicitly,
	 * must win over them. */
	lx->use_memo = !lx->isf;
	lx->btf_size = stop - start;
	if (!lx->isf)
		lx->btf_source = "memory";
	return 0;
}

QVMI_API int qvmi_linux_open(struct qvmi_ctx *ctx,
			     const struct qvmi_linux_opts *opts,
			     struct qvmi_linux **ret)
{
	const char *map = QVMI_OPTS_GET(opts, system_map, (const char *)NULL);
	const char *dir = QVMI_OPTS_GET(opts, cache_dir, (const char *)NULL);
	unsigned int flags = QVMI_OPTS_GET(opts, flags, 0u);
	struct qvmi_linux *lx;
	int err;

	if (!ctx || !ret)
		return ctx ? qvmi__err(ctx, -EINVAL, "linux: NULL argument") :
			     -EINVAL;
	if (!QVMI_OPTS_VALID(opts, struct qvmi_linux_opts))
		return qvmi__err(ctx, -EINVAL, "linux: unknown options set");
	lx = calloc(1, sizeof(*lx));
	if (!lx)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	lx->ctx = ctx;
	lx->btf_source = "none";
	if (dir && !(lx->cache_dir = qvmi__strdup(dir))) {
		free(lx);
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	}
	snprintf(lx->btf_err, sizeof(lx->btf_err), "not loaded");
	if (map)
		err = qvmi__lx_discover_map(lx, map);
	else if (!(flags & QVMI_LINUX_NO_CACHE) && !qvmi__profile_load(lx, dir))
		err = 0;
	else
		err = qvmi__lx_discover_kallsyms(lx);
	if (!err)
		err = finish_open(lx, opts);
	if (err) {
		qvmi_linux_destroy(lx);
		return err;
	}
	if (!map && !(flags & QVMI_LINUX_NO_CACHE) &&
	    strcmp(lx->sym_source, "cache"))
		qvmi__profile_save(lx, dir);
	lx->opened = true;
	*ret = lx;
	return 0;
}

QVMI_API void qvmi_linux_destroy(struct qvmi_linux *lx)
{
	if (!lx)
		return;
	qvmi__lx_views_free(lx->views);
	if (lx->memo.dirty && qvmi__memo_save(lx))
		qvmi__log(lx->ctx, QVMI_LOG_DEBUG, "linux: memo not saved");
	qvmi__memo_free(&lx->memo);
	qvmi__profile_free(lx);
	qvmi__ksyms_free(&lx->syms);
	btf__free(lx->btf);
	qvmi__btf_view_free(lx->btfv);
	qvmi__isf_free(lx->isf);
	free(lx->cache_dir);
	free(lx);
}

QVMI_API int qvmi_linux_info(struct qvmi_linux *lx, struct qvmi_linux_info *ret)
{
	if (!lx || !ret)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	ret->banner = lx->banner;
	ret->release = lx->release;
	ret->text_va = lx->text_va;
	ret->text_pa = lx->text_pa;
	ret->kaslr_slide =
		(int64_t)(lx->text_va - (qvmi__lx_is32(lx) ?
						 QVMI_LINUX_DEFAULT_TEXT32 :
						 QVMI_LINUX_DEFAULT_TEXT));
	ret->phys_base = lx->phys_base;
	ret->page_offset_base = lx->page_offset_base;
	ret->vmalloc_base = lx->vmalloc_base;
	ret->vmemmap_base = lx->vmemmap_base;
	ret->nsyms = lx->syms_lazy ? lx->nsyms_hint : lx->syms.n;
	ret->btf_size = lx->btf || lx->btfv || lx->btf_lazy ? lx->btf_size : 0;
	ret->sym_source = lx->sym_source;
	ret->btf_source = lx->btf_source;
	ret->layout = lx->layout_source;
	return 0;
}

/* Without CONFIG_KALLSYMS_ALL kallsyms has text symbols only (and a few
 * data symbols inside the text ranges): linux_banner is then missing. */
static bool has_data_syms(const struct qvmi_linux *lx)
{
	return qvmi__ksyms_find(&lx->syms, "linux_banner") != NULL;
}

QVMI_API int qvmi_linux_sym_addr(struct qvmi_linux *lx, const char *name,
				 uint64_t *ret)
{
	uint64_t v;
	int err;

	if (!lx || !name || !ret)
		return lx ? qvmi__err(lx->ctx, -EINVAL, "sym_addr: NULL") :
			    -EINVAL;
	err = lx_sym(lx, name, ret);
	if (err == -ENOENT && lx->isf && !qvmi__isf_sym(lx->isf, name, &v)) {
		*ret = v >= lx->isf_text ? v + lx->isf_slide : v;
		return 0;
	}
	if (err == -ENOENT && lx->isf)
		return qvmi__err(lx->ctx, -ENOENT,
				 "no symbol %s in kallsyms or the ISF", name);
	if (err == -ENOENT && qvmi__lx_is32(lx) && !has_data_syms(lx) &&
	    !lx->btf && !lx->btf_lazy)
		return qvmi__err(lx->ctx, -ENOENT, NO_TYPES32_FMT, lx->release,
				 lx->release, lx->release);
	if (err == -ENOENT && qvmi__lx_is32(lx) && !has_data_syms(lx))
		return qvmi__err(
			lx->ctx, -ENOENT,
			"no symbol %s: kallsyms of %s has no data "
			"symbols (KALLSYMS_ALL off): give system_map "
			"(--system-map usr/lib/debug/boot/System.map-%s "
			"of linux-image-%s-dbg) or isf_path (--isf)",
			name, lx->release, lx->release, lx->release);
	if (err == -ENOENT)
		return qvmi__err(lx->ctx, -ENOENT, "no symbol %s", name);
	return err;
}

QVMI_API int qvmi_linux_sym_name(struct qvmi_linux *lx, uint64_t addr,
				 char *buf, size_t size, uint64_t *ret)
{
	const struct qvmi_ksym *k;
	int err;

	if (!lx || !buf || !size)
		return lx ? qvmi__err(lx->ctx, -EINVAL, "sym_name: no buffer") :
			    -EINVAL;
	err = need_syms(lx);
	if (err)
		return err;
	k = qvmi__ksyms_lookup(&lx->syms, addr);
	/* Past the image there is no symbol to be "near"; nor, on i386, is
	 * a kernel address near an absolute symbol below PAGE_OFFSET (the
	 * System.map's "01000000 A phys_startup_32"). */
	if (!k || (addr != k->addr &&
		   (addr >= lx->end_va ||
		    (qvmi__lx_is32(lx) && k->addr < lx->page_offset_base &&
		     addr >= lx->page_offset_base))))
		return qvmi__err(lx->ctx, -ENOENT, "no symbol at 0x%" PRIx64,
				 addr);
	snprintf(buf, size, "%s", qvmi__ksym_name(&lx->syms, k));
	if (ret)
		*ret = addr - k->addr;
	return 0;
}

QVMI_API size_t qvmi_linux_sym_count(const struct qvmi_linux *lx)
{
	if (!lx)
		return 0;
	return lx->syms_lazy ? lx->nsyms_hint : lx->syms.n;
}

QVMI_API int qvmi_linux_sym_get(struct qvmi_linux *lx, size_t idx,
				struct qvmi_linux_sym *ret)
{
	const struct qvmi_ksym *k;
	int err;

	if (!lx || !ret)
		return -EINVAL;
	err = need_syms(lx);
	if (err)
		return err;
	if (idx >= lx->syms.n)
		return qvmi__err(lx->ctx, -ENOENT, "symbol index %zu of %zu",
				 idx, lx->syms.n);
	k = &lx->syms.syms[idx];
	ret->name = qvmi__ksym_name(&lx->syms, k);
	ret->addr = k->addr;
	ret->type = k->type;
	return 0;
}

QVMI_API int qvmi_linux_va_to_pa(struct qvmi_linux *lx, uint64_t va,
				 uint64_t *ret)
{
	if (!lx || !ret)
		return -EINVAL;
	if (va >= lx->text_va && va < lx->end_va)
		return qvmi__linux_kimage_pa(lx, va, ret);
	if (va >= lx->page_offset_base &&
	    va - lx->page_offset_base < DIRECT_MAP_MAX &&
	    va < lx->vmalloc_base) {
		*ret = va - lx->page_offset_base;
		return 0;
	}
	return qvmi__fault(lx->ctx, va,
			   "not a kernel-image or direct-map address");
}

static int need_btf(struct qvmi_linux *lx)
{
	if (!lx)
		return -EINVAL;
	if (!lx->btf && !lx->btfv && lx->btf_lazy) {
		lx->btf_lazy = false;
		load_btf(lx, NULL);
		if (!lx->btf && !lx->btfv)
			lx->btf_source = "none";
	}
	if (!lx->btf && !lx->btfv)
		return qvmi__err(lx->ctx, -ENOENT, "no BTF: %s", lx->btf_err);
	return 0;
}

/* The ISF answers type queries first; only a type or member it lacks is
 * asked of BTF, when there is any. */
static bool isf_fallback(struct qvmi_linux *lx, int err)
{
	if (err != -ENOENT || (!lx->btf && !lx->btfv && !lx->btf_lazy))
		return false;
	qvmi__clear_err(lx->ctx);
	return true;
}

QVMI_API int qvmi_linux_member(struct qvmi_linux *lx, const char *type,
			       const char *path, struct qvmi_linux_member *ret)
{
	int err;

	if (!lx || !ret || !type || !path)
		return lx ? qvmi__err(lx->ctx, -EINVAL, "member: NULL") :
			    -EINVAL;
	if (lx->isf) {
		err = qvmi__isf_member(lx->ctx, lx->isf, type, path, ret);
		if (!isf_fallback(lx, err))
			return err;
	}
	err = lx->use_memo ? qvmi__memo_member(lx, type, path, ret) : 1;
	if (err <= 0)
		return err;
	err = need_btf(lx);
	if (err)
		return err;
	err = lx->btfv ? qvmi__btf_view_member(lx->ctx, lx->btfv, type, path,
					       ret) :
			 qvmi__btf_member(lx->ctx, lx->btf, type, path, ret);
	if (lx->use_memo)
		qvmi__memo_put_member(lx, type, path, err, ret);
	return err;
}

QVMI_API int qvmi_linux_offset(struct qvmi_linux *lx, const char *type,
			       const char *path, uint64_t *ret)
{
	struct qvmi_linux_member m;
	int err = qvmi_linux_member(lx, type, path, &m);

	if (err)
		return err;
	if (m.bit_size || (m.bit_offset & 7))
		return qvmi__err(lx->ctx, -EINVAL,
				 "%s.%s is a bitfield (bit %" PRIu64 ")", type,
				 path, m.bit_offset);
	if (ret)
		*ret = m.bit_offset / 8;
	return 0;
}

QVMI_API int qvmi_linux_type_size(struct qvmi_linux *lx, const char *type,
				  uint64_t *ret)
{
	int err;

	if (!lx || !ret || !type)
		return lx ? qvmi__err(lx->ctx, -EINVAL, "type_size: NULL") :
			    -EINVAL;
	if (lx->isf) {
		err = qvmi__isf_type_size(lx->ctx, lx->isf, type, ret);
		if (!isf_fallback(lx, err))
			return err;
	}
	err = lx->use_memo ? qvmi__memo_size(lx, type, ret) : 1;
	if (err <= 0)
		return err;
	err = need_btf(lx);
	if (err)
		return err;
	err = lx->btfv ?
		      qvmi__btf_view_type_size(lx->ctx, lx->btfv, type, ret) :
		      qvmi__btf_type_size(lx->ctx, lx->btf, type, ret);
	if (lx->use_memo)
		qvmi__memo_put_size(lx, type, err, err ? 0 : *ret);
	return err;
}
