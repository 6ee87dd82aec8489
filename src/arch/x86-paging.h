/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* x86 page-table walks, the translation cache and their per-context state. */
#ifndef QVMI_ARCH_X86_PAGING_H
#define QVMI_ARCH_X86_PAGING_H

#include <stdbool.h>
#include <stdint.h>

#include "core/internal.h"

struct qvmi__pgmode;

/* One paging configuration: what a walk needs besides CR3. */
struct qvmi__pgcfg {
	enum qvmi_paging_mode mode; /* AUTO: not known yet */
	bool pse; /* CR4.PSE: 4 MiB pages in 32-bit paging */
	bool nxe; /* EFER.NXE: bit 63 is XD, not reserved */
	unsigned int maxphyaddr; /* 32..52 */
	/* Derived from the above when set (walks are hot): the levels, and
	 * per level the reserved bits of a present entry, as a table or
	 * 4 KiB entry and as a large page. */
	const struct qvmi__pgmode *m; /* NULL: no page tables */
	uint64_t rsvd[5], rsvd_large[5];
};

/* One level of a paging mode, top first. */
struct qvmi__pglevel {
	uint8_t shift; /* lowest va bit of the index */
	uint8_t bits; /* index width */
	uint8_t esz; /* entry size: 4 or 8 */
	uint8_t fmt; /* enum qvmi__pgfmt */
	bool large; /* PS = 1 maps a page of 1 << shift here */
	const char *name; /* "PDE", ... for messages */
};

enum qvmi__pgfmt {
	QVMI__FMT_32, /* 32-bit paging */
	QVMI__FMT_PAE_PDPTE, /* the 4 PDPTEs of PAE paging */
	QVMI__FMT_PAE, /* PAE PDE/PTE */
	QVMI__FMT_LONG_TOP, /* PML4E/PML5E: PS reserved */
	QVMI__FMT_LONG, /* IA-32e PDPTE/PDE/PTE */
};

struct qvmi__pgmode {
	const struct qvmi__pglevel *levels;
	int nlevels;
};

enum qvmi__pte_kind {
	QVMI__PTE_ABSENT,
	QVMI__PTE_RSVD,
	QVMI__PTE_TABLE,
	QVMI__PTE_LEAF,
};

struct qvmi_tlb;

struct qvmi_arch {
	enum qvmi_paging_mode want; /* as set; AUTO derives from vCPU 0 */
	struct qvmi__pgcfg cfg; /* effective; cfg.mode AUTO = unknown */
	uint64_t cfg_gen; /* ctx->flush_gen when cfg was derived */
	unsigned int maxphyaddr;
	struct qvmi_tlb *tlb; /* tlb.c, created when first usable */
	struct qvmi_tlb_stats stats;
};

/* x86-paging.c */
QVMI_HIDDEN int qvmi__arch_get(struct qvmi_ctx *ctx, struct qvmi_arch **ret);
/* Arch state with an effective paging mode (derived if AUTO). */
QVMI_HIDDEN int qvmi__paging_ready(struct qvmi_ctx *ctx,
				   struct qvmi_arch **ret);
QVMI_HIDDEN const struct qvmi__pgmode *qvmi__pgmode(enum qvmi_paging_mode mode);
QVMI_HIDDEN uint64_t qvmi__dtb_base(const struct qvmi__pgcfg *c, uint64_t dtb);
/* Classify entry e at level i (0 = top) of c's mode; *ret_addr is the
 * next table (TABLE) or the page base (LEAF), *ret_flags this entry's
 * W/U/NX bits. */
QVMI_HIDDEN enum qvmi__pte_kind qvmi__pte_decode(const struct qvmi__pgcfg *c,
						 int i, uint64_t e,
						 uint64_t *ret_addr,
						 uint32_t *ret_flags);
/* One walk from CR3: a fixed number of steps, no recursion. */
QVMI_HIDDEN int qvmi__x86_walk(struct qvmi_ctx *ctx, struct qvmi_arch *a,
			       bool cache, uint64_t dtb, uint64_t va,
			       struct qvmi_translation *ret);

/* tlb.c: cache of translations and of page-table pages. */
/* Once per public call: may cached translations of dtb be used now? */
QVMI_HIDDEN bool qvmi__tlb_begin(struct qvmi_ctx *ctx, struct qvmi_arch *a,
				 uint64_t dtb);
QVMI_HIDDEN bool qvmi__tlb_lookup(struct qvmi_ctx *ctx, struct qvmi_arch *a,
				  uint64_t dtb, uint64_t va,
				  struct qvmi_translation *ret);
QVMI_HIDDEN void qvmi__tlb_fill(struct qvmi_ctx *ctx, struct qvmi_arch *a,
				uint64_t dtb, const struct qvmi_translation *t);
/* Drop every cached translation and page-table page. */
QVMI_HIDDEN void qvmi__tlb_drop(struct qvmi_arch *a);
QVMI_HIDDEN void qvmi__tlb_destroy(struct qvmi_tlb *tlb);
/* Read one page-table entry (esz 4 or 8, little-endian) at pa. */
QVMI_HIDDEN int qvmi__pt_read(struct qvmi_ctx *ctx, struct qvmi_arch *a,
			      bool cache, uint64_t pa, unsigned int esz,
			      uint64_t *ret);

/* pages.c: qvmi_pages with an explicit table budget (for the fuzzer). */
QVMI_HIDDEN int qvmi__pages_walk(struct qvmi_ctx *ctx, uint64_t dtb,
				 qvmi_pages_fn fn, void *arg,
				 uint64_t max_tables);

#endif
