/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Linux guest support: internal interfaces between kallsyms, kernel and btf. */
#ifndef QVMI_OS_LINUX_H
#define QVMI_OS_LINUX_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

struct btf;
struct qvmi_linux_views;

enum {
	/* Sanity bounds on guest-provided tables. */
	QVMI_KSYMS_MAX = 2000000,
	/* KSYM_NAME_LEN is 512 since 6.1; 1 more for the type character. */
	QVMI_KSYM_NAME_MAX = 1024,
	/* All names together (a real 6.1 kernel needs about 3 MiB). */
	QVMI_KSYMS_POOL_MAX = 256 << 20,
};

/* Default x86_64 kernel layout (4-level paging, no KASLR). */
#define QVMI_LINUX_START_KERNEL_MAP 0xffffffff80000000ull
#define QVMI_LINUX_DEFAULT_TEXT 0xffffffff81000000ull
/* i386: PAGE_OFFSET of CONFIG_VMSPLIT_3G, the lowest of any split
 * (VMSPLIT_1G), and _text without KASLR (PAGE_OFFSET + 16 MiB). */
#define QVMI_LINUX_PAGE_OFFSET32 0xc0000000ull
#define QVMI_LINUX_PAGE_OFFSET32_MIN 0x40000000ull
#define QVMI_LINUX_DEFAULT_TEXT32 0xc1000000ull

struct qvmi_ksym {
	uint64_t addr;
	uint32_t name; /* offset into the string pool */
	char type;
};

/* A symbol table: sorted by address, with a name hash. */
struct qvmi_ksyms {
	struct qvmi_ksym *syms;
	size_t n;
	char *pool;
	size_t pool_len, pool_cap;
	/* Name index: hash_buckets + 1 bucket starts, then the symbol
	 * indices grouped by bucket, ascending within one; hash_cap words. */
	uint32_t *hash;
	size_t hash_cap, hash_buckets; /* buckets: a power of two */
	size_t syms_cap;
	/* syms and pool were sized exactly up front (qvmi__ksyms_reserve)
	 * and are mappings, not malloc blocks. */
	bool reserved;
};

/* Where the kallsyms tables were found, as offsets into the parsed buffer. */
struct qvmi_kallsyms_layout {
	uint64_t token_table, token_index, num_syms_pos, names, markers;
	uint64_t addrs; /* kallsyms_offsets or kallsyms_addresses */
	uint64_t relative_base_pos; /* only if base_relative */
	uint64_t relative_base;
	uint32_t num_syms;
	unsigned int marker_width; /* 4 or 8 */
	unsigned int ptr_size; /* 8 (x86_64) or 4 (i386) */
	unsigned int seqs_width; /* 0 (< 6.2), 3 or 4 */
	bool new_order; /* 6.4+: names first, offsets after the tokens */
	bool base_relative;
	bool abs_percpu;
	/* A candidate ran off the buffer: a larger window may succeed. */
	bool truncated;
};

/*
 * Locate and decode the kallsyms tables inside buf (a window of guest
 * memory).  Fills syms (sorted by address, hashed) and lay.  -EBADMSG if no
 * consistent set of tables is found.
 */
QVMI_HIDDEN int qvmi__kallsyms_parse(struct qvmi_ctx *ctx, const uint8_t *buf,
				     size_t len, struct qvmi_ksyms *syms,
				     struct qvmi_kallsyms_layout *lay);
/* The same, trying first the digit run at buf[hint] (the anchor a scan
 * found already); hint >= len: none. */
QVMI_HIDDEN int qvmi__kallsyms_parse_at(struct qvmi_ctx *ctx,
					const uint8_t *buf, size_t len,
					uint64_t hint, struct qvmi_ksyms *syms,
					struct qvmi_kallsyms_layout *lay);
/* Is there a token table + index whose digit tokens start at buf[h]? */
QVMI_HIDDEN bool qvmi__kallsyms_tokens_at(const uint8_t *buf, size_t len,
					  uint64_t h);
/* Parse a System.map or /proc/kallsyms text (core kernel lines only). */
QVMI_HIDDEN int qvmi__ksyms_parse_map(struct qvmi_ctx *ctx, const char *text,
				      size_t len, struct qvmi_ksyms *syms);
/* Room for n symbols and pool bytes of names, allocated populated (a
 * decoded kernel table is 3-4 MB; faulting it in a page at a time costs
 * three times as much).  s must be empty. */
QVMI_HIDDEN int qvmi__ksyms_reserve(struct qvmi_ksyms *s, size_t n,
				    size_t pool);
QVMI_HIDDEN int qvmi__ksyms_add(struct qvmi_ksyms *s, uint64_t addr, char type,
				const char *name, size_t name_len);
/* Sort by address (stable) and build the name hash. */
QVMI_HIDDEN int qvmi__ksyms_finish(struct qvmi_ksyms *s);
QVMI_HIDDEN void qvmi__ksyms_free(struct qvmi_ksyms *s);
/* Lowest-address symbol of that name, or NULL. */
QVMI_HIDDEN const struct qvmi_ksym *qvmi__ksyms_find(const struct qvmi_ksyms *s,
						     const char *name);
/* Last symbol at or below addr, or NULL. */
QVMI_HIDDEN const struct qvmi_ksym *
qvmi__ksyms_lookup(const struct qvmi_ksyms *s, uint64_t addr);
static inline const char *qvmi__ksym_name(const struct qvmi_ksyms *s,
					  const struct qvmi_ksym *k)
{
	return s->pool + k->name;
}

/* Large zero-filled buffers, populated, on huge pages where the host
 * allows (bigmem.c); free with the n given to alloc. */
QVMI_HIDDEN void *qvmi__lx_big_alloc(size_t n);
QVMI_HIDDEN void qvmi__lx_big_free(void *p, size_t n);

/* va's PA through the page tables at cr3 in mode m: present and page
 * size bits only (the scan's hint, kernel.c); *nx (if not NULL): an
 * entry on the way has XD set.  -EFAULT, -EOPNOTSUPP. */
QVMI_HIDDEN int qvmi__lx_hint_walk(struct qvmi_ctx *ctx,
				   enum qvmi_paging_mode m, uint64_t cr3,
				   uint64_t va, uint64_t *ret, bool *nx);
/* From va in .text, *pa := PA of the last executable 2 MiB page before
 * the first non-executable one (.rodata); unchanged if none is found. */
QVMI_HIDDEN void qvmi__lx_skip_text(struct qvmi_ctx *ctx,
				    enum qvmi_paging_mode m, uint64_t cr3,
				    uint64_t va, uint64_t *pa);

/* qvmi_read_pa for bytes read once (kernel.c): pread where a file backs
 * them, so a fresh process does not map page after page of shared RAM. */
QVMI_HIDDEN int qvmi__lx_read_once(struct qvmi_ctx *ctx, uint64_t pa, void *out,
				   size_t len);

/* ---- BTF (btf.c) ------------------------------------------------------ */

/* Check a raw BTF header against the blob size before handing it to libbpf;
 * returns the total size the header describes. */
QVMI_HIDDEN int qvmi__btf_check_header(struct qvmi_ctx *ctx, const void *data,
				       size_t len, size_t *ret);
/* Validate and parse a raw BTF blob (copied by libbpf). */
QVMI_HIDDEN int qvmi__btf_load(struct qvmi_ctx *ctx, const void *data,
			       size_t len, struct btf **ret);
/* Parse a raw BTF file or an ELF file with a .BTF section. */
QVMI_HIDDEN int qvmi__btf_load_file(struct qvmi_ctx *ctx, const char *path,
				    struct btf **ret);
/* Resolve "a.b[2].c" in the struct/union named type (or "struct foo"). */
QVMI_HIDDEN int qvmi__btf_member(struct qvmi_ctx *ctx, const struct btf *btf,
				 const char *type, const char *path,
				 struct qvmi_linux_member *ret);
QVMI_HIDDEN int qvmi__btf_type_size(struct qvmi_ctx *ctx, const struct btf *btf,
				    const char *type, uint64_t *ret);

/* The same over a blob read in place (one copy, no libbpf): the in-memory
 * kernel BTF.  Freed with qvmi__btf_view_free. */
struct qvmi_btf_view;
QVMI_HIDDEN int qvmi__btf_view_open(struct qvmi_ctx *ctx, const void *data,
				    size_t len, struct qvmi_btf_view **ret);
/* The same, the blob written by fill into the view's own buffer (e.g.
 * pread from shared RAM); len is the blob's size, header included. */
typedef int (*qvmi_btf_fill_fn)(void *arg, uint8_t *buf, size_t len);
QVMI_HIDDEN int qvmi__btf_view_read(struct qvmi_ctx *ctx, size_t len,
				    qvmi_btf_fill_fn fill, void *arg,
				    struct qvmi_btf_view **ret);
QVMI_HIDDEN void qvmi__btf_view_free(struct qvmi_btf_view *v);
QVMI_HIDDEN size_t qvmi__btf_view_size(const struct qvmi_btf_view *v);
QVMI_HIDDEN int qvmi__btf_view_member(struct qvmi_ctx *ctx,
				      const struct qvmi_btf_view *v,
				      const char *type, const char *path,
				      struct qvmi_linux_member *ret);
QVMI_HIDDEN int qvmi__btf_view_type_size(struct qvmi_ctx *ctx,
					 const struct qvmi_btf_view *v,
					 const char *type, uint64_t *ret);

/* ---- Volatility ISF JSON (isf.c) ----------------------------------------- */

struct qvmi_isf;

/* Parse and check a whole ISF document (plain JSON, len <= 512 MiB). */
QVMI_HIDDEN int qvmi__isf_load(struct qvmi_ctx *ctx, const char *data,
			       size_t len, struct qvmi_isf **ret);
QVMI_HIDDEN int qvmi__isf_load_file(struct qvmi_ctx *ctx, const char *path,
				    struct qvmi_isf **ret);
/* json_syms: the symbols through json-c too (the reference isf-syms.c is
 * tested against; symbols' "type" descriptors are then checked too). */
QVMI_HIDDEN int qvmi__isf_load_ex(struct qvmi_ctx *ctx, const char *data,
				  size_t len, bool json_syms,
				  struct qvmi_isf **ret);
/* As qvmi__isf_load_ex with at most table_max (<= 4 Mi) entries in each
 * top-level table: a unit test checks that limit with a small one. */
QVMI_HIDDEN int qvmi__isf_load_limit(struct qvmi_ctx *ctx, const char *data,
				     size_t len, bool json_syms,
				     size_t table_max, struct qvmi_isf **ret);
QVMI_HIDDEN void qvmi__isf_free(struct qvmi_isf *isf);
/* As qvmi__btf_member / qvmi__btf_type_size (type_id is 0). */
QVMI_HIDDEN int qvmi__isf_member(struct qvmi_ctx *ctx,
				 const struct qvmi_isf *isf, const char *type,
				 const char *path,
				 struct qvmi_linux_member *ret);
QVMI_HIDDEN int qvmi__isf_type_size(struct qvmi_ctx *ctx,
				    const struct qvmi_isf *isf,
				    const char *type, uint64_t *ret);
/* Link-time address of a symbol; -ENOENT (no message). */
QVMI_HIDDEN int qvmi__isf_sym(const struct qvmi_isf *isf, const char *name,
			      uint64_t *ret);
QVMI_HIDDEN size_t qvmi__isf_nsyms(const struct qvmi_isf *isf);

/* ---- current task of a vCPU (current.c) --------------------------------- */

/* Where the current task pointer and the task fields live. */
struct qvmi_linux_cur_layout {
	uint64_t percpu_off; /* of the task pointer, from the per-CPU base */
	uint64_t pid, tgid, comm; /* task_struct member offsets */
	uint64_t comm_len; /* bytes of task_struct.comm, <= 16 used */
};

/*
 * The per-CPU base of a vCPU from its registers (pure): GS_BASE in kernel
 * mode, KERNEL_GS_BASE in user mode or in the entry code before SWAPGS.
 * *user is set for user mode.  -EOPNOTSUPP if the registers needed are
 * missing, -EBADMSG if neither holds a kernel address.
 */
QVMI_HIDDEN int qvmi__linux_percpu_base(const struct qvmi_regs_x86 *regs,
					uint64_t *ret, bool *user);
/* Read the task at percpu_base + lay->percpu_off (kernel memory through
 * the direct map, else through the page tables at dtb if dtb != 0). */
QVMI_HIDDEN int qvmi__linux_current_at(struct qvmi_linux *lx,
				       const struct qvmi_linux_cur_layout *lay,
				       uint64_t percpu_base, uint64_t dtb,
				       struct qvmi_linux_current *ret);

/* ---- the answer memo (memo.c) -------------------------------------------- */

enum { QVMI_MEMO_SYM = 1, QVMI_MEMO_MEMBER = 2, QVMI_MEMO_SIZE = 3 };

struct qvmi_lx_memo_ent {
	uint8_t kind; /* QVMI_MEMO_* */
	bool rel; /* symbol address relative to _text */
	int32_t err; /* 0 or -ENOENT: the answer was "none" */
	char *k1, *k2; /* symbol or type name; member path */
	char *tname; /* member's type name, or NULL */
	uint64_t v; /* address, bit offset or type size */
	uint64_t size;
	uint32_t bit_size, type_id;
};

struct qvmi_lx_memo {
	struct qvmi_lx_memo_ent *e;
	size_t n, cap;
	bool dirty; /* entries added since load */
	char path[4096]; /* file beside the profile; "" = not saved */
};

/* Lookups return 1 on a miss, else the remembered answer (0 or -ENOENT);
 * puts remember only 0 and -ENOENT answers. */
QVMI_HIDDEN int qvmi__memo_sym(struct qvmi_linux *lx, const char *name,
			       uint64_t *addr);
QVMI_HIDDEN void qvmi__memo_put_sym(struct qvmi_linux *lx, const char *name,
				    int err, uint64_t addr);
QVMI_HIDDEN int qvmi__memo_member(struct qvmi_linux *lx, const char *type,
				  const char *path,
				  struct qvmi_linux_member *ret);
QVMI_HIDDEN void qvmi__memo_put_member(struct qvmi_linux *lx, const char *type,
				       const char *path, int err,
				       const struct qvmi_linux_member *m);
QVMI_HIDDEN int qvmi__memo_size(struct qvmi_linux *lx, const char *type,
				uint64_t *ret);
QVMI_HIDDEN void qvmi__memo_put_size(struct qvmi_linux *lx, const char *type,
				     int err, uint64_t size);
/* memo.path must be set.  Load replaces nothing on failure (empty memo). */
QVMI_HIDDEN int qvmi__memo_load(struct qvmi_linux *lx);
QVMI_HIDDEN int qvmi__memo_save(struct qvmi_linux *lx);
QVMI_HIDDEN void qvmi__memo_free(struct qvmi_lx_memo *m);

/* ---- the Linux handle (kernel.c) ---------------------------------------- */

struct qvmi_linux {
	struct qvmi_ctx *ctx;
	struct qvmi_ksyms syms;
	struct qvmi_kallsyms_layout lay;
	uint64_t kallsyms_pa; /* PA of the token table (0 if unknown) */
	struct btf *btf; /* from a file (libbpf) */
	struct qvmi_btf_view *btfv; /* from guest memory, read in place */
	size_t btf_size;
	/* An ISF given by the caller: types first, symbols after kallsyms.
	 * isf_slide: runtime minus link-time address of the image. */
	struct qvmi_isf *isf;
	uint64_t isf_text, isf_slide;
	char btf_err[1024]; /* why btf is NULL */
	char banner[512];
	char release[128];
	uint64_t text_va, text_pa, end_va;
	uint64_t phys_base;
	uint64_t page_offset_base, vmalloc_base, vmemmap_base;
	const char *sym_source, *btf_source, *layout_source;
	char cached_layout[48];
	/* Lazy parts.  syms_lazy: the table is still in the profile file
	 * (profile_state), nsyms_hint is its size.  btf_lazy: BTF is loaded
	 * from guest memory on the first type query the memo cannot answer;
	 * use_memo: type answers may come from / go to the memo (in-memory
	 * BTF only). */
	bool syms_lazy, btf_lazy, use_memo;
	bool memo_on; /* the image is placed: symbol answers are memoised */
	bool opened; /* qvmi_linux_open returned it */
	char *cache_dir; /* opts->cache_dir, for a re-save */
	size_t nsyms_hint;
	void *profile_state; /* profile.c */
	struct qvmi_lx_memo memo;
	struct qvmi_linux_views *views; /* views.c; lazily created */
	/* current.c: resolved on first use (BTF lookups are linear) */
	struct qvmi_linux_cur_layout cur;
	bool cur_ok;
};

/* Profile cache (profile.c): load validates the file and the guest; save
 * is best effort and logs failures. */
QVMI_HIDDEN int qvmi__profile_load(struct qvmi_linux *lx, const char *dir);
QVMI_HIDDEN void qvmi__profile_save(struct qvmi_linux *lx, const char *dir);
/* The profile body's checksum, h the previous part's (the first: FNV-1a's
 * offset basis): for tests that craft a file with a valid one. */
QVMI_HIDDEN uint64_t qvmi__profile_hash(const void *p, size_t n, uint64_t h);
/* Decode the symbol table of the profile that qvmi__profile_load accepted
 * (left in the file until needed). */
QVMI_HIDDEN int qvmi__profile_load_syms(struct qvmi_linux *lx);
QVMI_HIDDEN void qvmi__profile_free(struct qvmi_linux *lx);

/* Load the ISF at path into lx (placed: text_va known), with its slide. */
QVMI_HIDDEN int qvmi__linux_load_isf(struct qvmi_linux *lx, const char *path);

/* Kernel-image VA to PA, without page tables. */
QVMI_HIDDEN int qvmi__linux_kimage_pa(struct qvmi_linux *lx, uint64_t va,
				      uint64_t *ret);

#endif
