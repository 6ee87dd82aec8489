// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The views suites' VMA and cmdline bodies (see views-world.h): maple
 * trees with range/arange roots, a leaf as full as the layout allows,
 * stale slots past the end and a self-linked node; vm_next lists; file
 * paths across mounts; cmdline and environ through the process's page
 * table (4-level on x86_64, PAE on i386).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake-kernel.h"
#include "harness.h"
#include "qvmi.h"
#include "views-world.h"

/* ---- VMAs --------------------------------------------------------------- */

struct vm_world {
	struct world w;
	uint64_t vma[6], file_prog, file_data;
};

static uint64_t dentry(struct fk *k, uint64_t parent, const char *name)
{
	uint64_t d = fk_alloc(k, k->L->path.dentry_size), s = fk_alloc(k, 64);

	fk_wstr(k, s, name);
	fk_wp(k, d + k->L->path.dentry_name, s);
	fk_wp(k, d + k->L->path.dentry_parent, parent ? parent : d);
	return d;
}

static uint64_t file(struct fk *k, uint64_t mount, uint64_t dentry)
{
	uint64_t f = fk_alloc(k, k->L->path.file_size);

	fk_wp(k, f + k->L->path.file_mnt, mount + k->L->path.mount_mnt);
	fk_wp(k, f + k->L->path.file_dentry, dentry);
	return f;
}

/* / (root mount) with /bin/prog, and /mnt a mount point of a second
 * mount holding data.bin */
static void files(struct vm_world *v)
{
	struct fk *k = &v->w.k;
	const struct fk_lay *L = k->L;
	uint64_t m1 = fk_alloc(k, L->path.mount_size),
		 m2 = fk_alloc(k, L->path.mount_size);
	uint64_t root = dentry(k, 0, "/"), bin = dentry(k, root, "bin");
	uint64_t mnt = dentry(k, root, "mnt"), r2 = dentry(k, 0, "/");

	fk_wp(k, m1 + L->path.mount_parent, m1);
	fk_wp(k, m1 + L->path.mount_mnt, root);
	fk_wp(k, m2 + L->path.mount_parent, m1);
	fk_wp(k, m2 + L->path.mount_mountpoint, mnt);
	fk_wp(k, m2 + L->path.mount_mnt, r2);
	v->file_prog = file(k, m1, dentry(k, bin, "prog"));
	v->file_data = file(k, m2, dentry(k, r2, "data.bin"));
}

/* Every field set: a file VMA has its filesystem's vm_ops (a kernel
 * address that is not special_mapping_vmops); vm_private_data and the
 * unused vm_rb_pad (NEW) are non-zero neighbours. */
static uint64_t vma(struct world *w, uint64_t start, uint64_t end,
		    uint64_t flags, uint64_t file, uint64_t pgoff)
{
	struct fk *k = &w->k;
	const struct fk_lay *L = w->L;
	uint64_t a = fk_alloc(k, L->vma.size);

	fk_wp(k, a + L->vma.start, start);
	fk_wp(k, a + L->vma.end, end);
	fk_wp(k, a + L->vma.flags, flags);
	fk_wp(k, a + L->vma.file, file);
	fk_wp(k, a + L->vma.pgoff, pgoff);
	fk_wp(k, a + L->vma.mm, w->mm);
	fk_wp(k, a + L->vma.ops, file ? fk_ksym(k, 0x3000) : 0);
	fk_wp(k, a + L->vma.priv, JUNK);
	if (!fk_is_old(k->variant))
		fk_wp(k, a + L->vma.next, JUNK);
	if (L->ptr == 4) /* i386: the last field, vm_next, gets one too */
		fk_wp(k, a + L->vma.next + 4, JUNK);
	return a;
}

static void vm_world(struct vm_world *v, enum fk_variant var)
{
	struct world *w = &v->w;
	struct fk *k = &w->k;
	uint64_t sm, name;

	vw_world(w, var);
	files(v);
	v->vma[0] = vma(w, 0x400000, 0x401000, 5, v->file_prog, 0);
	v->vma[1] = vma(w, 0x401000, 0x402000, 0xb, v->file_data, 1);
	v->vma[2] = vma(w, 0x600000, 0x621000, 3, 0, 0x600);
	v->vma[3] = vma(w, 0x7ffd0000, 0x7fff0000, 3, 0, 0);
	v->vma[4] = vma(w, 0x7fff1000, 0x7fff3000, 5, 0, 0);
	fk_wp(k, w->mm + w->L->mm.start_brk, 0x600000);
	fk_wp(k, w->mm + w->L->mm.brk, 0x621000);
	fk_wp(k, w->mm + w->L->mm.start_stack, 0x7ffef000);
	fk_wp(k, w->mm + w->L->mm.arg_start, 0x7ffef100);
	sm = fk_alloc(k, 16);
	name = fk_alloc(k, 16);
	fk_wstr(k, name, "[vdso]");
	fk_wp(k, sm, name);
	fk_wp(k, sm + w->L->ptr, JUNK);
	fk_wp(k, v->vma[4] + w->L->vma.ops, fk_ksym(k, FK_SYM_SPECIAL_OPS));
	fk_wp(k, v->vma[4] + w->L->vma.priv, sm);
}

static void check_vmas(struct vm_world *v, int n)
{
	static const char *const names[] = { "/bin/prog", "/mnt/data.bin",
					     "[heap]", "[stack]", "[vdso]" };
	static const char *const perms[] = { "r-xp", "rw-s", "rw-p", "rw-p",
					     "r-xp" };
	struct qvmi_linux_vma_list l;

	CHECK_MSG(!qvmi_linux_vmas(v->w.k.lx, 100, &l), "vmas: %s",
		  qvmi_errmsg(v->w.k.ctx));
	CHECK_INT(l.n, ==, n);
	CHECK_U64(l.mm, ==, v->w.mm);
	for (int i = 0; i < n && i < (int)l.n; i++) {
		CHECK_U64(l.vmas[i].addr, ==, v->vma[i]);
		CHECK_STR(l.vmas[i].name, names[i]);
		CHECK_STR(l.vmas[i].perms, perms[i]);
	}
	CHECK_U64(l.vmas[1].pgoff, ==, 1);
	CHECK_U64(l.vmas[1].flags, ==, 0xb);
	CHECK_U64(l.vmas[1].file, ==, v->file_data);
	CHECK_U64(l.vmas[2].pgoff, ==, 0x600);
	CHECK_U64(l.vmas[4].end, ==, 0x7fff3000);
	qvmi_linux_vma_list_deinit(&l);
}

/* maple nodes are 256-byte aligned: the low byte carries the type */
static uint64_t mnode(struct fk *k)
{
	return (fk_alloc(k, 512) + 255) & ~255ull;
}

static uint64_t enode(uint64_t node, int type)
{
	return node | (uint64_t)type << 3 | 4;
}

static void leaf(struct fk *k, uint64_t node, const uint64_t *piv,
		 const uint64_t *slot, int n)
{
	uint32_t P = k->L->ptr;

	for (int i = 0; i < n; i++) {
		if (i < (int)k->L->mr_n - 1)
			fk_wp(k, node + k->L->mr_pivot + P * i, piv[i]);
		fk_wp(k, node + k->L->mr_slot + P * i, slot[i]);
	}
}

/* root (range_64 or arange_64) -> two leaves */
static uint64_t maple(struct vm_world *v, int root_type)
{
	struct fk *k = &v->w.k;
	const struct fk_lay *L = k->L;
	uint64_t a = mnode(k), b = mnode(k), r = mnode(k);
	const uint64_t *x = v->vma;
	uint64_t pa[] = { 0x3fffff, 0x400fff, 0x401fff, 0x5fffff, 0, 0 };
	uint64_t sa[] = { 0, x[0], x[1], 0, 0, x[4] }; /* slot 5: stale */
	uint64_t pb[] = { 0x620fff,   0x7ffcffff, 0x7ffeffff,
			  0x7fff0fff, 0x7fff2fff, vw_ulong_max(L) };
	uint64_t sb[] = { x[2], 0, x[3], 0, x[4], 0 };
	uint32_t piv = root_type == 3 ? L->ma_pivot : L->mr_pivot;
	uint32_t slot = root_type == 3 ? L->ma_slot : L->mr_slot;

	leaf(k, a, pa, sa, 6);
	leaf(k, b, pb, sb, 6);
	fk_wp(k, r + piv, 0x5fffff);
	fk_wp(k, r + piv + L->ptr, vw_ulong_max(L));
	fk_wp(k, r + slot, enode(a, 1));
	fk_wp(k, r + slot + L->ptr, enode(b, 1));
	fk_wp(k, v->w.mm + L->mm.root, enode(r, root_type) | 2);
	return r;
}

/* A walk that stops early says so: an out-of-order pivot (the rest of
 * the node is unknown), a file path that breaks off before the root. */
static void check_maple_partial(struct vm_world *v)
{
	struct fk *k = &v->w.k;
	const struct fk_lay *L = k->L;
	struct qvmi_linux_vma_list l;
	uint64_t r = maple(v, 2), b, prog;

	b = fk_rp(k, r + L->mr_slot + L->ptr) & ~255ull;
	/* below 0x7ffd0000 */
	fk_wp(k, b + L->mr_pivot + 2 * L->ptr, 0x7ffc0000);
	CHECK_INT(qvmi_linux_vmas(k->lx, 100, &l), ==, -EBADMSG);
	CHECK_INT(l.n, ==, 3);
	CHECK(l.partial);
	qvmi_linux_vma_list_deinit(&l);
	fk_wp(k, b + L->mr_pivot + 2 * L->ptr, 0x7ffeffff);
	check_vmas(v, 5);
	prog = fk_rp(k, v->file_prog + L->path.file_dentry);
	/* not a kernel pointer */
	fk_wp(k, prog + L->path.dentry_parent, 0x1234);
	CHECK_INT(qvmi_linux_vmas(k->lx, 100, &l), ==, -EBADMSG);
	CHECK_INT(l.n, ==, 5);
	CHECK(l.partial);
	CHECK(strstr(qvmi_errmsg(k->ctx), "path") != NULL);
	qvmi_linux_vma_list_deinit(&l);
}

void vw_vmas_maple(enum fk_variant var)
{
	struct qvmi_linux_vma_list l;
	struct vm_world v;
	struct fk *k = &v.w.k;
	uint64_t r;

	vm_world(&v, var);
	maple(&v, 2);
	check_vmas(&v, 5);
	r = maple(&v, 3);
	check_vmas(&v, 5);
	/* the root's second child is the root itself */
	fk_wp(k, r + k->L->ma_slot + k->L->ptr, enode(r, 3));
	CHECK_INT(qvmi_linux_vmas(k->lx, 100, &l), ==, -ELOOP);
	CHECK_INT(l.n, ==, 2);
	CHECK(l.partial);
	qvmi_linux_vma_list_deinit(&l);
	/* a node type that never holds VMAs */
	fk_wp(k, v.w.mm + k->L->mm.root, enode(r, 0) | 2);
	CHECK_INT(qvmi_linux_vmas(k->lx, 100, &l), ==, -EBADMSG);
	qvmi_linux_vma_list_deinit(&l);
	/* a VMA of another mm is refused, the rest kept */
	maple(&v, 2);
	fk_wp(k, v.vma[2] + k->L->vma.mm, v.w.mm + 64);
	CHECK_INT(qvmi_linux_vmas(k->lx, 100, &l), ==, -EBADMSG);
	CHECK_INT(l.n, ==, 4);
	CHECK(l.partial);
	qvmi_linux_vma_list_deinit(&l);
	fk_wp(k, v.vma[2] + k->L->vma.mm, v.w.mm);
	check_maple_partial(&v);
	/* empty tree; a kernel thread; an unknown pid */
	fk_wp(k, v.w.mm + k->L->mm.root, 0);
	CHECK_OK(qvmi_linux_vmas(k->lx, 100, &l));
	CHECK_INT(l.n, ==, 0);
	CHECK_INT(qvmi_linux_vmas(k->lx, 2, &l), ==, -ESRCH);
	CHECK_INT(qvmi_linux_vmas(k->lx, 4242, &l), ==, -ENOENT);
	vw_destroy(k);
}

/* A leaf_64 of n one-page VMAs from base, each after an empty gap slot,
 * then one empty range to max; its encoded node. */
static uint64_t full_leaf(struct world *w, uint64_t base, int n, uint64_t max)
{
	struct fk *k = &w->k;
	uint64_t node = mnode(k);
	uint32_t P = w->L->ptr;
	int s = 0;

	for (int i = 0; i < n; i++) {
		uint64_t a = base + (uint64_t)i * 0x2000;

		fk_wp(k, node + w->L->mr_pivot + P * s++, a - 1);
		fk_wp(k, node + w->L->mr_slot + P * s,
		      vma(w, a, a + 0x1000, 3, 0, a >> 12));
		fk_wp(k, node + w->L->mr_pivot + P * s++, a + 0xfff);
	}
	fk_wp(k, node + w->L->mr_pivot + P * s, max);
	return enode(node, 1);
}

/*
 * A range_64 root over two leaves, the first as full as the layout's
 * leaf can be: (slots - 1) / 2 VMAs, each after a gap (7 on x86_64; 15 on
 * i386, which a 64-bit node's 16 slots could not hold: the 32 slots come
 * from BTF), the second with 5.  Then a root slot pointing at the root.
 */
void vw_vmas_full_leaf(enum fk_variant var)
{
	struct world w;
	struct fk *k = &w.k;
	const struct fk_lay *L;
	struct qvmi_linux_vma_list l;
	uint64_t root, l1, l2;
	int nv;

	vw_world(&w, var);
	L = w.L;
	nv = (int)(L->mr_n - 1) / 2;
	root = mnode(k);
	l1 = full_leaf(&w, 0x1000000, nv, 0x8000000);
	l2 = full_leaf(&w, 0x9000000, 5, vw_ulong_max(L));
	fk_wp(k, root + L->mr_slot, l1);
	fk_wp(k, root + L->mr_pivot, 0x8000000);
	fk_wp(k, root + L->mr_slot + L->ptr, l2);
	fk_wp(k, root + L->mr_pivot + L->ptr, vw_ulong_max(L));
	fk_wp(k, w.mm + L->mm.root, enode(root, 2) | 2);
	fk_wp(k, w.mm + L->mm.start_brk, 0x1002000);
	fk_wp(k, w.mm + L->mm.brk, 0x1003000);
	fk_wp(k, w.mm + L->mm.start_stack, 0x9008800);
	fk_wp(k, w.mm + L->mm.arg_start, 0x9008900);
	CHECK_OK(qvmi_linux_vmas(k->lx, 100, &l));
	CHECK_INT(l.n, ==, nv + 5);
	CHECK_U64(l.vmas[0].start, ==, 0x1000000);
	CHECK_U64(l.vmas[0].end, ==, 0x1001000);
	CHECK_STR(l.vmas[0].perms, "rw-p");
	CHECK_U64(l.vmas[0].pgoff, ==, 0x1000);
	CHECK_STR(l.vmas[1].name, "[heap]");
	CHECK_U64(l.vmas[nv - 1].start, ==, 0x1000000 + (nv - 1) * 0x2000);
	CHECK_U64(l.vmas[nv].start, ==, 0x9000000);
	CHECK_U64(l.vmas[nv + 4].end, ==, 0x9009000);
	CHECK_STR(l.vmas[nv + 4].name, "[stack]");
	CHECK_STR(l.vmas[nv + 3].name, "");
	CHECK_INT(l.partial, ==, 0);
	qvmi_linux_vma_list_deinit(&l);
	/* a node whose slot points at itself */
	fk_wp(k, root + L->mr_slot + L->ptr, enode(root, 2));
	CHECK_INT(qvmi_linux_vmas(k->lx, 100, &l), ==, -ELOOP);
	CHECK_INT(l.n, ==, nv);
	CHECK_INT(l.partial, ==, 1);
	qvmi_linux_vma_list_deinit(&l);
	vw_destroy(k);
}

void vw_vmas_list(enum fk_variant var)
{
	struct qvmi_linux_vma_list l;
	struct vm_world v;
	struct fk *k = &v.w.k;
	uint32_t next;

	vm_world(&v, var);
	next = k->L->vma.next;
	fk_wp(k, v.w.mm + k->L->mm.root, v.vma[0]);
	for (int i = 0; i < 4; i++)
		fk_wp(k, v.vma[i] + next, v.vma[i + 1]);
	check_vmas(&v, 5);
	{ /* [vdso]'s name not readable: kept, nameless, and said so */
		uint64_t sm = fk_rp(k, v.vma[4] + k->L->vma.priv);
		uint64_t name = fk_rp(k, sm);

		fk_wp(k, sm, 0x1234);
		CHECK_INT(qvmi_linux_vmas(k->lx, 100, &l), ==, -EBADMSG);
		CHECK_INT(l.n, ==, 5);
		CHECK(l.partial);
		CHECK_STR(l.vmas[4].name, "");
		qvmi_linux_vma_list_deinit(&l);
		fk_wp(k, sm, name);
		check_vmas(&v, 5);
	}
	fk_wp(k, v.vma[4] + next, v.vma[2]); /* a loop */
	CHECK_INT(qvmi_linux_vmas(k->lx, 100, &l), ==, -ELOOP);
	CHECK_INT(l.n, ==, 5);
	qvmi_linux_vma_list_deinit(&l);
	fk_wp(k, v.vma[2] + next, v.vma[2]); /* self-linked */
	CHECK_INT(qvmi_linux_vmas(k->lx, 100, &l), ==, -ELOOP);
	CHECK_INT(l.n, ==, 3);
	qvmi_linux_vma_list_deinit(&l);
	vw_destroy(k);
}

/* ---- cmdline through the process's page table ----------------------------- */

/*
 * VA 0x400000 -> page: 4-level PML4[0] -> PDPT[0] -> PD[2] -> PT[0];
 * PAE (i386, no pgd_t in BTF) PDPT[0] -> PD[2] -> PT[0], the PDPT at
 * mm->pgd, its entries with only the present bit (the others are
 * reserved in a PDPTE).  Entries are 8 bytes in both.  Returns the PT.
 */
static uint64_t map_args_page(struct world *w, uint64_t pg)
{
	struct fk *k = &w->k;
	uint64_t pob = w->L->pob, pdpt = w->pgd, pd = vw_page(k),
		 pt = vw_page(k);

	if (w->L->ptr == 8) {
		pdpt = vw_page(k);
		fk_w64(k, w->pgd, (pdpt - pob) | 7);
	}
	fk_w64(k, pdpt, (pd - pob) | (w->L->ptr == 8 ? 7 : 1));
	fk_w64(k, pd + 2 * 8, (pt - pob) | 7);
	fk_w64(k, pt, (pg - pob) | 7);
	return pt;
}

void vw_proc_args(enum fk_variant v)
{
	static const char args[] = "prog\0--flag\0value";
	struct world w;
	struct fk *k = &w.k;
	const struct fk_lay *L;
	enum qvmi_paging_mode mode;
	uint64_t pt, pg;
	struct qvmi_linux_args_block blk;

	vw_world(&w, v);
	L = w.L;
	pg = vw_page(k);
	pt = map_args_page(&w, pg);
	memcpy(fk_ptr(k, pg + 0x100), args, sizeof(args));
	fk_wp(k, w.mm + L->mm.arg_start, 0x400100);
	fk_wp(k, w.mm + L->mm.arg_end, 0x400100 + sizeof(args));
	CHECK_OK(qvmi_linux_proc_args(k->lx, 100, QVMI_LINUX_CMDLINE, &blk));
	CHECK_INT(blk.len, ==, sizeof(args));
	CHECK(!memcmp(blk.data, args, sizeof(args)));
	qvmi_linux_args_deinit(&blk);
	/* the block runs off the mapped page: an error, not the first 16
	 * bytes as if they were all */
	fk_wp(k, w.mm + L->mm.env_start, 0x400ff0);
	fk_wp(k, w.mm + L->mm.env_end, 0x401010);
	CHECK_INT(qvmi_linux_proc_args(k->lx, 100, QVMI_LINUX_ENVIRON, &blk),
		  ==, -EFAULT);
	CHECK(blk.data == NULL);
	CHECK_INT(blk.len, ==, 0);
	CHECK_U64(qvmi_fault_addr(k->ctx), ==, 0x401000);
	CHECK(strstr(qvmi_errmsg(k->ctx), "16 of 32 bytes") != NULL);
	/* nothing mapped; a reversed range; a huge range is cut */
	fk_wp(k, w.mm + L->mm.env_start, 0x500000);
	fk_wp(k, w.mm + L->mm.env_end, 0x500010);
	CHECK_INT(qvmi_linux_proc_args(k->lx, 100, QVMI_LINUX_ENVIRON, &blk),
		  ==, -EFAULT);
	fk_wp(k, w.mm + L->mm.env_end, 0x400000);
	CHECK_INT(qvmi_linux_proc_args(k->lx, 100, QVMI_LINUX_ENVIRON, &blk),
		  ==, -EBADMSG);
	fk_wp(k, w.mm + L->mm.arg_end, 0x400100 + (vw_ulong_max(L) >> 2));
	CHECK_INT(qvmi_linux_proc_args(k->lx, 100, QVMI_LINUX_CMDLINE, &blk),
		  ==, -EFAULT);
	CHECK(blk.data == NULL);
	/* longer than QVMI_LINUX_ARGS_MAX, all of it mapped (the page
	 * repeated): -E2BIG; exactly QVMI_LINUX_ARGS_MAX: whole */
	for (uint64_t i = 1; i <= QVMI_LINUX_ARGS_MAX / 4096; i++)
		fk_w64(k, pt + i * 8, (pg - L->pob) | 7);
	fk_wp(k, w.mm + L->mm.arg_start, 0x400000);
	fk_wp(k, w.mm + L->mm.arg_end, 0x400000 + QVMI_LINUX_ARGS_MAX + 1);
	CHECK_INT(qvmi_linux_proc_args(k->lx, 100, QVMI_LINUX_CMDLINE, &blk),
		  ==, -E2BIG);
	CHECK(blk.data == NULL);
	fk_wp(k, w.mm + L->mm.arg_end, 0x400000 + QVMI_LINUX_ARGS_MAX);
	CHECK_OK(qvmi_linux_proc_args(k->lx, 100, QVMI_LINUX_CMDLINE, &blk));
	CHECK_INT(blk.len, ==, QVMI_LINUX_ARGS_MAX);
	qvmi_linux_args_deinit(&blk);
	/* no registers: the mode from page_offset_base, or PAE on i386 */
	CHECK_OK(qvmi_get_paging_mode(k->ctx, &mode));
	CHECK_INT(mode, ==, L->ptr == 4 ? QVMI_PAGING_PAE : QVMI_PAGING_4LEVEL);
	vw_destroy(k);
}
