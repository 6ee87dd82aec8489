// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Profile cache: what discovery learnt about a kernel build (its symbols
 * relative to _text, where the kallsyms token table and a few variables sit
 * in the image), so that the next attach skips the memory scan and the
 * decoding.  One file per build, "linux-<banner hash>-<token hash>.prof".
 *
 * Nothing in a cache file is trusted: its header and body are checked
 * (magic, version, sizes, checksum, string bounds), and the guest itself
 * must agree before it is used: the banner at the cached physical place,
 * the kernel's phys_base variable (which also gives this boot's virtual
 * KASLR slide), and a hash of all the kallsyms tables read from memory
 * (addresses, names, markers, tokens: a profile learnt from a dump with a
 * damaged names table once passed a check of the tokens alone and named
 * kobj_ns_ops "tekobj_ns_ops" for every later run).  The file must be
 * ours: owned by this user, writable by no one else.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "linux.h"

static const char magic[8] = "QVMIPRF1";

enum {
	/* 2: word-wise hash; 3: four lanes; 4: boot_id; 5: kallsyms span;
	 * 6: mem_id */
	PROF_VERSION = 6,
	KS_SPAN_MAX = 32 << 20, /* the kallsyms tables of a huge kernel */
	BDA_TIMER_TICKS = 0x46c, /* BIOS data area: u32 timer ticks */
	TOKENS_LEN = 64 * 1024 + 512, /* bound on table + index */
	MAX_FILES = 64, /* cache files tried per open, and kept */
	POOL_MAX = 64 << 20,
	ENTRY_SIZE = 16,
	FLAG_REL = 1, /* addr is relative to _text */
};

struct prof_hdr {
	char magic[8];
	uint32_t version, hdr_size;
	char banner[512];
	char layout[48];
	uint64_t text_pa, text_span; /* _end - _text */
	uint64_t ban_off, pb_off, tt_off; /* from _text */
	uint64_t tok_len, tok_hash;
	uint32_t nsyms, pool_len;
	uint64_t body_len, body_hash;
	uint32_t boot_id, reserved; /* see boot_id() */
	uint64_t ks_off, ks_len, ks_hash; /* kallsyms tables, from _text */
	char mem_id[160]; /* the image it was learnt from (ctx->mem_id) */
};

/*
 * FNV-1a's multiply over 8-byte words, with a shift to fold the high bits
 * back: byte by byte, hashing the 3.6 MB body took 4 ms of a cold attach.
 */
static uint64_t fnv64(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;
	uint64_t w;

	for (; n >= 8; b += 8, n -= 8) {
		memcpy(&w, b, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 32;
	}
	for (; n; b++, n--)
		h = (h ^ *b) * 0x100000001b3ull;
	return h;
}

/*
 * The body's checksum: the same step in four independent lanes over
 * 32-byte blocks (one multiply chain waited on itself: 1 ms for 3.6 MB),
 * folded into one, the tail through fnv64.  Each step is a bijection of
 * its lane, so any one changed word changes the result.
 */
static uint64_t lane(uint64_t l, const uint8_t *b)
{
	uint64_t w;

	memcpy(&w, b, 8);
	l = (l ^ w) * 0x100000001b3ull;
	return l ^ (l >> 32);
}

static uint64_t hash_body(const void *p, size_t n, uint64_t h)
{
	/* Four scalars, not an array: GCC vectorised the array's lanes
	 * with SSE2, which has no 64-bit multiply (shifts and adds: 4x
	 * slower than the scalar multiplies). */
	uint64_t l0 = h, l1 = h ^ 0x9e3779b97f4a7c15ull;
	uint64_t l2 = h ^ 0xc2b2ae3d27d4eb4full, l3 = h ^ 0x165667b19e3779f9ull;
	uint64_t fold[4];
	const uint8_t *b = p;

	for (; n >= 32; b += 32, n -= 32) {
		l0 = lane(l0, b);
		l1 = lane(l1, b + 8);
		l2 = lane(l2, b + 16);
		l3 = lane(l3, b + 24);
	}
	fold[0] = l0;
	fold[1] = l1;
	fold[2] = l2;
	fold[3] = l3;
	return fnv64(b, n, fnv64(fold, sizeof(fold), h));
}

uint64_t qvmi__profile_hash(const void *p, size_t n, uint64_t h)
{
	return hash_body(p, n, h);
}

#define FNV_INIT 0xcbf29ce484222325ull

/* Hash of len bytes at pa as they are in guest memory now. */
static int mem_hash(struct qvmi_linux *lx, uint64_t pa, uint64_t len,
		    uint64_t max, uint64_t *ret)
{
	/* the token table (~2 KiB) from the heap: an mmap and munmap of
	 * its own cost a warm open two syscalls and a page fault */
	bool big = len >= (64u << 10);
	uint8_t *b;
	int err;

	if (!len || len > max)
		return -EBADMSG;
	b = big ? qvmi__lx_big_alloc(len) : malloc(len);
	if (!b)
		return -ENOMEM;
	err = qvmi__lx_read_once(lx->ctx, pa, b, len);
	if (!err)
		*ret = hash_body(b, len, FNV_INIT);
	if (big)
		qvmi__lx_big_free(b, len);
	else
		free(b);
	return err;
}

static int tokens_hash(struct qvmi_linux *lx, uint64_t pa, uint64_t len,
		       uint64_t *ret)
{
	return mem_hash(lx, pa, len, TOKENS_LEN, ret);
}

/* Where the kallsyms tables lie, from _text: the addresses (or offsets and
 * relative_base), num_syms, the names, the markers and the token table
 * and index, in either order (6.4 moved the addresses after the tokens). */
static int ks_span(const struct qvmi_linux *lx, uint64_t *off, uint64_t *len)
{
	const struct qvmi_kallsyms_layout *l = &lx->lay;
	uint64_t w = l->base_relative ? 4 : l->ptr_size, base, lo, hi;

	lo = QVMI_MIN(l->addrs, QVMI_MIN(l->num_syms_pos, l->names));
	hi = QVMI_MAX(l->addrs + (uint64_t)l->num_syms * w,
		      l->token_index + 512);
	if (l->base_relative)
		hi = QVMI_MAX(hi, l->relative_base_pos + l->ptr_size);
	base = lx->kallsyms_pa - l->token_table;
	if (lx->kallsyms_pa < l->token_table || base + lo < lx->text_pa ||
	    hi <= lo || hi - lo > KS_SPAN_MAX)
		return -EINVAL;
	*off = base + lo - lx->text_pa;
	*len = hi - lo;
	return 0;
}

/* memo.path: the profile's path with ".memo" for ".prof". */
static void set_memo_path(struct qvmi_linux *lx, const char *path)
{
	size_t n = strlen(path);

	if (n < 5 || n >= sizeof(lx->memo.path))
		return;
	memcpy(lx->memo.path, path, n - 5);
	memcpy(lx->memo.path + n - 5, ".memo", 6);
}

/* ---- saving ---------------------------------------------------------------- */

/*
 * A per-boot identity of the guest.  A reset does not clear RAM: the old
 * kernel image stays where it was, banner, phys_base and token table
 * intact, while the rebooted kernel runs elsewhere (KASLR), so the checks
 * in guest_agrees() pass against the dead image and the views would list
 * its frozen tasks.  SeaBIOS (QEMU's pc/q35 firmware) sets the BIOS data
 * area's timer tick count (0x46c, ticks since midnight from the RTC) at
 * every boot, and nothing advances it once Linux runs (no BIOS interrupts;
 * Linux reserves the low 64 KiB), so it changes across a reboot and stays
 * put between attaches.  Measured on the demo guest under QEMU 7.2:
 * 0x9349d, the same 2 s later, 0x93577 after a system_reset.  Firmware
 * that leaves it constant (UEFI without CSM) makes this check prove
 * nothing, which is no worse than without it.  0 if unreadable.
 */
static uint32_t boot_id(struct qvmi_linux *lx)
{
	uint32_t v = 0;

	if (qvmi__lx_read_once(lx->ctx, BDA_TIMER_TICKS, &v, sizeof(v)))
		return 0;
	return v;
}

static int fill_hdr(struct qvmi_linux *lx, struct prof_hdr *h)
{
	const struct qvmi_ksym *ban =
		qvmi__ksyms_find(&lx->syms, "linux_banner");
	const struct qvmi_ksym *pb = qvmi__ksyms_find(&lx->syms, "phys_base");

	if (!ban || !pb || !lx->banner[0] || !lx->kallsyms_pa ||
	    lx->kallsyms_pa < lx->text_pa || lx->syms.pool_len > POOL_MAX)
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, magic, sizeof(magic));
	h->version = PROF_VERSION;
	h->hdr_size = sizeof(*h);
	snprintf(h->banner, sizeof(h->banner), "%s", lx->banner);
	snprintf(h->layout, sizeof(h->layout), "%s", lx->layout_source);
	h->text_pa = lx->text_pa;
	h->text_span = lx->end_va - lx->text_va;
	h->ban_off = ban->addr - lx->text_va;
	h->pb_off = pb->addr - lx->text_va;
	h->tt_off = lx->kallsyms_pa - lx->text_pa;
	h->tok_len = lx->lay.token_index + 512 - lx->lay.token_table;
	h->nsyms = (uint32_t)lx->syms.n;
	h->pool_len = (uint32_t)lx->syms.pool_len;
	h->body_len = (uint64_t)h->nsyms * ENTRY_SIZE + h->pool_len;
	h->boot_id = boot_id(lx);
	snprintf(h->mem_id, sizeof(h->mem_id), "%s", lx->ctx->mem_id);
	if (ks_span(lx, &h->ks_off, &h->ks_len) ||
	    mem_hash(lx, h->text_pa + h->ks_off, h->ks_len, KS_SPAN_MAX,
		     &h->ks_hash))
		return -EINVAL;
	return tokens_hash(lx, lx->kallsyms_pa, h->tok_len, &h->tok_hash);
}

/* The entries encoded into one buffer (on huge pages: 1.5 MB of fresh
 * 4 KiB pages would cost a first touch each), hashed with the pool, and
 * header + entries + pool written in one call: 47 writes of 32 KiB had
 * taken 1.4 ms, four times the pool's one write of 2 MB. */
static int write_body(struct qvmi_linux *lx, const char *path,
		      struct prof_hdr *h)
{
	size_t elen = (size_t)h->nsyms * ENTRY_SIZE;
	uint8_t *buf = qvmi__lx_big_alloc(elen), *e = buf;
	struct iovec iov[3];
	int err;

	if (!buf)
		return -ENOMEM;
	for (size_t j = 0; j < lx->syms.n; j++, e += ENTRY_SIZE) {
		const struct qvmi_ksym *k = &lx->syms.syms[j];
		bool rel = k->addr >= QVMI_LINUX_START_KERNEL_MAP;
		uint64_t a = rel ? k->addr - lx->text_va : k->addr;

		memcpy(e, &a, 8);
		memcpy(e + 8, &k->name, 4);
		e[12] = (uint8_t)k->type;
		e[13] = rel ? FLAG_REL : 0;
		e[14] = e[15] = 0;
	}
	h->body_hash = hash_body(lx->syms.pool, h->pool_len,
				 hash_body(buf, elen, FNV_INIT));
	iov[0] = (struct iovec){ h, sizeof(*h) };
	iov[1] = (struct iovec){ buf, elen };
	iov[2] = (struct iovec){ lx->syms.pool, h->pool_len };
	err = qvmi__cache_write(path, iov, 3);
	qvmi__lx_big_free(buf, elen);
	return err;
}

/* The name part of this image's profiles (ctx->mem_id: the RAM file or
 * dump; "" hashes alike, as before). */
static uint64_t image_hash(const struct qvmi_linux *lx)
{
	return fnv64(lx->ctx->mem_id, strlen(lx->ctx->mem_id), FNV_INIT);
}

static bool is_profile(const char *name)
{
	size_t n = strlen(name);

	return !strncmp(name, "linux-", 6) && n >= 11 &&
	       !strcmp(name + n - 5, ".prof");
}

/* Keep the MAX_FILES newest profiles of dir d (and their memos): one per
 * image, they would otherwise pile up as VMs come and go.  Best effort. */
static void prune(const char *d)
{
	char path[4096], old[4096] = "";
	unsigned int n, rounds = 0;
	struct dirent *e;
	struct stat st;
	DIR *dp;

	do {
		struct timespec t = { 0 };

		n = 0;
		if (!(dp = opendir(d)))
			return;
		while ((e = readdir(dp)) && n < 100000) {
			if (!is_profile(e->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", d, e->d_name);
			if (lstat(path, &st) || !S_ISREG(st.st_mode))
				continue;
			n++;
			if (!old[0] || st.st_mtim.tv_sec < t.tv_sec ||
			    (st.st_mtim.tv_sec == t.tv_sec &&
			     st.st_mtim.tv_nsec < t.tv_nsec)) {
				t = st.st_mtim;
				snprintf(old, sizeof(old), "%s", path);
			}
		}
		closedir(dp);
		if (n > MAX_FILES && old[0]) {
			size_t k = strlen(old);

			unlink(old);
			/* and its memo (memo.c: the same name, .memo) */
			snprintf(old + k - 5, sizeof(old) - (k - 5), ".memo");
			unlink(old);
		}
		old[0] = '\0';
	} while (n > MAX_FILES + 1 && ++rounds < 16);
}

void qvmi__profile_save(struct qvmi_linux *lx, const char *dir)
{
	char d[3072], path[4096];
	struct prof_hdr h;
	int err;

	err = qvmi__cache_dir(dir, d, sizeof(d));
	if (!err)
		err = fill_hdr(lx, &h);
	if (err)
		goto out;
	err = qvmi__mkdirs(d);
	if (err)
		goto out;
	/* One file per kernel build and image: two VMs of one kernel (a
	 * boot each) named the same file, and each run overwrote the other
	 * VM's profile, so a warm ps of either was always a cold one (27 ms
	 * against 4 ms; bench section anon). */
	snprintf(path, sizeof(path),
		 "%s/linux-%016" PRIx64 "-%016" PRIx64 "-%016" PRIx64 ".prof",
		 d, fnv64(h.banner, strlen(h.banner), FNV_INIT), h.tok_hash,
		 image_hash(lx));
	err = write_body(lx, path, &h);
	if (!err) {
		set_memo_path(lx, path);
		prune(d);
	}
out:
	if (err)
		qvmi__log(lx->ctx, QVMI_LOG_DEBUG,
			  "linux: profile not saved (%d)", err);
}

/* ---- loading ----------------------------------------------------------------- */

static int hdr_ok(const struct prof_hdr *h, uint64_t file_size)
{
	if (memcmp(h->magic, magic, sizeof(magic)) ||
	    h->version != PROF_VERSION || h->hdr_size != sizeof(*h) ||
	    !memchr(h->banner, 0, sizeof(h->banner)) || !h->banner[0] ||
	    !memchr(h->layout, 0, sizeof(h->layout)) ||
	    !memchr(h->mem_id, 0, sizeof(h->mem_id)) || !h->nsyms ||
	    h->nsyms > QVMI_KSYMS_MAX || !h->pool_len ||
	    h->pool_len > POOL_MAX ||
	    h->body_len != (uint64_t)h->nsyms * ENTRY_SIZE + h->pool_len ||
	    file_size != sizeof(*h) + h->body_len || !h->text_span ||
	    h->text_span > (1ull << 30) || h->ban_off >= h->text_span ||
	    h->pb_off >= h->text_span || h->tt_off >= h->text_span ||
	    !h->tok_len || h->tok_len > TOKENS_LEN || !h->ks_len ||
	    h->ks_len > KS_SPAN_MAX || h->ks_off > h->text_span)
		return -EBADMSG;
	return 0;
}

/* Does the guest hold this build at the cached place?  Sets text_va. */
static int guest_agrees(struct qvmi_linux *lx, const struct prof_hdr *h)
{
	size_t bl = strlen(h->banner);
	char ban[sizeof(h->banner)];
	uint64_t pb, va, th, kh;

	if (boot_id(lx) != h->boot_id) {
		qvmi__log(lx->ctx, QVMI_LOG_INFO,
			  "linux: profile from another boot of the guest "
			  "(BIOS tick count changed): not used");
		return -ENOENT;
	}
	if (qvmi__lx_read_once(lx->ctx, h->text_pa + h->ban_off, ban, bl) ||
	    memcmp(ban, h->banner, bl) ||
	    qvmi__lx_read_once(lx->ctx, h->text_pa + h->pb_off, &pb,
			       sizeof(pb)))
		return -ENOENT;
	va = h->text_pa + QVMI_LINUX_START_KERNEL_MAP - pb;
	if (va < QVMI_LINUX_START_KERNEL_MAP || (va & 0x1fffff) ||
	    tokens_hash(lx, h->text_pa + h->tt_off, h->tok_len, &th) ||
	    th != h->tok_hash)
		return -ENOENT;
	/*
	 * The tables were hashed when the profile was learnt from this very
	 * image (same QEMU process or same unchanged dump file, same boot:
	 * checked above), and a kernel does not rewrite its kallsyms: the
	 * 1.3 MB hash was 56% of a warm `qvmi ps` (1.36 of 2.43 M
	 * instructions).  Another image, another dump of the same boot
	 * above all, is hashed.
	 */
	if (!h->mem_id[0] || strcmp(h->mem_id, lx->ctx->mem_id)) {
		if (mem_hash(lx, h->text_pa + h->ks_off, h->ks_len, KS_SPAN_MAX,
			     &kh) ||
		    kh != h->ks_hash)
			return -ENOENT;
	}
	lx->text_va = va;
	return 0;
}

static int body_to_syms(struct qvmi_linux *lx, const struct prof_hdr *h,
			const uint8_t *body)
{
	const char *pool = (const char *)body + (size_t)h->nsyms * ENTRY_SIZE;
	const uint8_t *e = body;

	if (pool[h->pool_len - 1])
		return -EBADMSG;
	/* One populated allocation each, not a realloc per 4096 entries. */
	if (qvmi__ksyms_reserve(&lx->syms, h->nsyms, h->pool_len))
		return -ENOMEM;
	for (uint32_t i = 0; i < h->nsyms; i++, e += ENTRY_SIZE) {
		uint64_t a;
		uint32_t no;

		memcpy(&a, e, 8);
		memcpy(&no, e + 8, 4);
		if (no >= h->pool_len || (e[13] & ~FLAG_REL))
			return -EBADMSG;
		if (e[13] & FLAG_REL)
			a += lx->text_va;
		if (qvmi__ksyms_add(&lx->syms, a, (char)e[12], pool + no,
				    strlen(pool + no)))
			return -ENOMEM;
	}
	return qvmi__ksyms_finish(&lx->syms);
}

/* What a lazy symbol load needs: the file and the header that was
 * checked against the guest. */
struct profile_state {
	struct prof_hdr h;
	char path[4096];
};

/* Check the header and the guest; the symbol table stays in the file
 * until something needs it (qvmi__profile_load_syms). */
static int load_file(struct qvmi_linux *lx, const char *path)
{
	struct profile_state *ps = NULL;
	struct prof_hdr h;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), err = -EBADMSG;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !qvmi__cache_file_ours(&st) ||
	    pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    hdr_ok(&h, (uint64_t)st.st_size))
		goto out;
	err = guest_agrees(lx, &h);
	if (err)
		goto out;
	ps = malloc(sizeof(*ps));
	if (!ps || strlen(path) >= sizeof(ps->path)) {
		free(ps);
		err = -ENOMEM;
		goto out;
	}
	ps->h = h;
	snprintf(ps->path, sizeof(ps->path), "%s", path);
	lx->profile_state = ps;
	lx->syms_lazy = true;
	lx->nsyms_hint = h.nsyms;
	lx->text_pa = h.text_pa;
	lx->end_va = lx->text_va + h.text_span;
	lx->phys_base = lx->text_pa - lx->text_va + QVMI_LINUX_START_KERNEL_MAP;
	lx->kallsyms_pa = h.text_pa + h.tt_off;
	lx->lay.token_table = 0;
	lx->lay.token_index = h.tok_len - 512;
	snprintf(lx->cached_layout, sizeof(lx->cached_layout), "%s", h.layout);
	lx->layout_source = lx->cached_layout;
	lx->sym_source = "cache";
	set_memo_path(lx, path);
	if (qvmi__memo_load(lx))
		qvmi__log(lx->ctx, QVMI_LOG_DEBUG, "linux: no usable memo %s",
			  lx->memo.path);
out:
	close(fd);
	return err;
}

int qvmi__profile_load_syms(struct qvmi_linux *lx)
{
	struct profile_state *ps = lx->profile_state;
	uint8_t *body = NULL;
	size_t body_len = 0;
	struct prof_hdr h;
	struct stat st;
	int fd, err = -EBADMSG;

	if (!ps)
		return -ENOENT;
	fd = open(ps->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	/* The file may have been replaced since open: same header only. */
	if (fstat(fd, &st) || !qvmi__cache_file_ours(&st) ||
	    pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(&h, &ps->h, sizeof(h)) || hdr_ok(&h, (uint64_t)st.st_size))
		goto out;
	err = -ENOMEM;
	body_len = (size_t)h.body_len;
	body = qvmi__lx_big_alloc(body_len);
	if (!body)
		goto out;
	err = -EBADMSG;
	if (pread(fd, body, h.body_len, sizeof(h)) != (ssize_t)h.body_len ||
	    hash_body(body + (size_t)h.nsyms * ENTRY_SIZE, h.pool_len,
		      hash_body(body, (size_t)h.nsyms * ENTRY_SIZE,
				FNV_INIT)) != h.body_hash)
		goto out;
	err = body_to_syms(lx, &h, body);
	if (err)
		qvmi__ksyms_free(&lx->syms);
	else
		lx->syms_lazy = false;
out:
	if (err)
		qvmi__log(lx->ctx, QVMI_LOG_DEBUG,
			  "linux: profile %s: symbol table not usable (%d)",
			  ps->path, err);
	qvmi__lx_big_free(body, body_len);
	close(fd);
	return err;
}

void qvmi__profile_free(struct qvmi_linux *lx)
{
	free(lx->profile_state);
	lx->profile_state = NULL;
}

/* Pass 0: this image's profiles (named for it); pass 1: the others (a
 * dump of this boot, another VM's copy of the kernel), MAX_FILES in all. */
int qvmi__profile_load(struct qvmi_linux *lx, const char *dir)
{
	char d[3072], path[4096], mine[24];
	struct dirent *e;
	int tried = 0, err = -ENOENT;
	DIR *dp;

	if (qvmi__cache_dir(dir, d, sizeof(d)) || !(dp = opendir(d)))
		return -ENOENT;
	snprintf(mine, sizeof(mine), "-%016" PRIx64 ".prof", image_hash(lx));
	for (int pass = 0; pass < 2 && err; pass++) {
		rewinddir(dp);
		while (err && tried < MAX_FILES && (e = readdir(dp))) {
			size_t n = strlen(e->d_name);

			if (!is_profile(e->d_name) ||
			    (n >= 23 && !strcmp(e->d_name + n - 22, mine)) !=
				    !pass)
				continue;
			tried++;
			snprintf(path, sizeof(path), "%s/%s", d, e->d_name);
			err = load_file(lx, path);
			if (err)
				qvmi__log(lx->ctx, QVMI_LOG_DEBUG,
					  "linux: profile %s not used (%d)",
					  path, err);
		}
	}
	closedir(dp);
	if (!err)
		qvmi__log(lx->ctx, QVMI_LOG_INFO,
			  "linux: profile cache %s (%zu symbols, %zu answers)",
			  path, lx->nsyms_hint, lx->memo.n);
	return err;
}
