/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Linux views (tasks, modules, memory maps, dmesg): internal interfaces.
 * Struct layouts come from the kernel's BTF, looked up once per handle and
 * kept in struct qvmi_linux_views; nothing here hard-codes an offset.
 */
#ifndef QVMI_OS_LINUX_VIEWS_H
#define QVMI_OS_LINUX_VIEWS_H

#include "linux.h"

enum {
	/* Budgets for walks over guest data (CONVENTIONS.md). */
	QVMI_LX_LIST_MAX = 65536, /* list nodes, tasks, VMAs, modules */
	/* Not a layout budget: field sets and their buffers are sized from
	 * the kernel's own layout.  This only refuses a (hostile) BTF that
	 * puts a field of a per-node struct past 1 MiB, which no kernel
	 * struct comes near (task_struct: ~10 KiB on 6.1, ~13 KiB on 6.12). */
	QVMI_LX_STRUCT_MAX = 1 << 20,
};

/*
 * A set of fields of one struct, read together: the fields' byte ranges
 * are merged into a few spans (fields less than SPAN_GAP apart share one
 * read), and each span is copied into buf at the same offset it has in the
 * struct, so a field is then buf + its offset.  The arrays grow with the
 * fields (a 6.4+ struct module has 2 per mem[] region, 7 regions), so no
 * kernel can outgrow them; an allocation failure during add is kept and
 * returned by plan.  buf must hold end bytes (qvmi__lx_scratch_get).
 */
struct qvmi_lx_fields {
	uint32_t *off, *size; /* nfields each */
	unsigned int nfields, cap;
	uint32_t *span_off, *span_len; /* at most nfields spans */
	unsigned int nspans;
	uint32_t end; /* bytes of buf needed */
	int err; /* -ENOMEM from an add */
};

/* What a view's field set came to on this kernel (for the unit test that
 * runs every view's layout on every synthetic kernel layout). */
struct qvmi_lx_fields_info {
	unsigned int nfields, nspans;
	uint32_t end;
};
QVMI_HIDDEN int qvmi__lx_tasks_fields(struct qvmi_linux *lx,
				      struct qvmi_lx_fields_info *ret);
QVMI_HIDDEN int qvmi__lx_modules_fields(struct qvmi_linux *lx,
					struct qvmi_lx_fields_info *ret);
QVMI_HIDDEN int qvmi__lx_vmas_fields(struct qvmi_linux *lx,
				     struct qvmi_lx_fields_info *ret);

/* Offsets of the task walk (tasks.c). */
struct qvmi_lx_task_layout {
	struct qvmi_lx_fields f;
	uint32_t tasks, pid, tgid, real_parent, cred, comm, comm_len;
	uint32_t state, state_size, exit_state, flags, start_time, mm;
	uint32_t signal; /* thread list: see thread_mode */
	uint32_t thread_link; /* task.thread_node or task.thread_group */
	uint32_t sig_thread_head;
	uint32_t cred_uid, mm_pgd;
	int thread_mode; /* 0 none, 1 signal->thread_head, 2 thread_group */
	uint64_t init_task;
};

struct qvmi_linux_views {
	bool task_done;
	int task_err;
	struct qvmi_lx_task_layout task;
	uint8_t *scratch; /* scratch_len bytes (qvmi__lx_scratch_get) */
	size_t scratch_len;
	bool scratch_busy; /* a walk holds it (qvmi__lx_scratch_get) */
	uint64_t kdtb; /* PA of the kernel's top-level page table */
	bool kdtb_done;
	/* Read with pread (qvmi__lx_read_once), not through the mapping
	 * of shared RAM: set during the handle's first task walk.  A page
	 * touched through our mapping for the first time cost 20-60 us
	 * here (a fault, fault-around, the page-table entries), a pread
	 * of a few hundred bytes 2.4 us; a one-shot `qvmi ps` touches
	 * ~150 pages once, a long-lived handle's later walks reuse them. */
	bool cold, walked;
	/* The last host-mapped segment read through (shared RAM), valid
	 * while ctx->flush_gen stays the same (it moves on map changes). */
	const uint8_t *host;
	uint64_t host_start, host_last, host_gen;
};

/* The handle's view state, created on first use. */
QVMI_HIDDEN int qvmi__lx_views(struct qvmi_linux *lx,
			       struct qvmi_linux_views **ret);
QVMI_HIDDEN void qvmi__lx_views_free(struct qvmi_linux_views *v);
/*
 * A walk's buffer for reads of the field set f (f->end bytes, from the
 * kernel's layout): the handle's own, grown as needed, or, for a walk
 * started while another holds it (from a task callback, which may call
 * back into the library), a new one.  NULL: out of memory (reported).
 * Give it back with qvmi__lx_scratch_put.  The field set must outlive it
 * only as long as the walk reads into it.
 */
QVMI_HIDDEN uint8_t *qvmi__lx_scratch_get(struct qvmi_linux *lx,
					  const struct qvmi_lx_fields *f);
QVMI_HIDDEN void qvmi__lx_scratch_put(struct qvmi_linux *lx, uint8_t *buf);

/*
 * Read kernel virtual memory: the image and the direct map are computed
 * (no page-table walk); anything else (vmalloc, modules) goes through the
 * kernel's own page tables (init_mm.pgd).
 */
QVMI_HIDDEN int qvmi__lx_kread(struct qvmi_linux *lx, uint64_t va, void *buf,
			       size_t len);
/* PA of the kernel's top-level page table, and a usable paging mode. */
QVMI_HIDDEN int qvmi__lx_kdtb(struct qvmi_linux *lx, uint64_t *ret);
/* Make sure qvmi_read_va can run: a raw dump has no registers, so the
 * mode then comes from the direct-map base (4- or 5-level). */
QVMI_HIDDEN int qvmi__lx_paging(struct qvmi_linux *lx);
/* Bytes of a kernel pointer and of unsigned long: 4 on i386 (kallsyms
 * found with 4-byte addresses), else 8. */
static inline uint32_t qvmi__lx_psize(const struct qvmi_linux *lx)
{
	return lx->lay.ptr_size == 4 ? 4 : 8;
}

/* A plausible kernel pointer: upper half, canonical; on i386 at or above
 * PAGE_OFFSET and below 4 GiB. */
static inline bool qvmi__lx_kptr(const struct qvmi_linux *lx, uint64_t va)
{
	if (lx->lay.ptr_size == 4)
		return va >= lx->page_offset_base && va <= UINT32_MAX;
	return (va >> 47) == 0x1ffff || (va >> 56) == 0xff;
}

/* BTF helpers; -ENOENT when the member or type does not exist. */
QVMI_HIDDEN int qvmi__lx_off(struct qvmi_linux *lx, const char *type,
			     const char *path, uint32_t *ret);
QVMI_HIDDEN bool qvmi__lx_has(struct qvmi_linux *lx, const char *type,
			      const char *path);
/* Offset and byte size of a member. */
QVMI_HIDDEN int qvmi__lx_member(struct qvmi_linux *lx, const char *type,
				const char *path, uint32_t *off,
				uint32_t *size);

/* Field sets: add fields, then plan spans; read fills buf; deinit frees
 * (a zeroed set needs no init). */
QVMI_HIDDEN void qvmi__lx_fields_add(struct qvmi_lx_fields *f, uint32_t off,
				     uint32_t size);
QVMI_HIDDEN void qvmi__lx_fields_deinit(struct qvmi_lx_fields *f);
static inline void qvmi__lx_fields_info(const struct qvmi_lx_fields *f,
					struct qvmi_lx_fields_info *ret)
{
	ret->nfields = f->nfields;
	ret->nspans = f->nspans;
	ret->end = f->end;
}
QVMI_HIDDEN int qvmi__lx_fields_plan(struct qvmi_linux *lx,
				     struct qvmi_lx_fields *f);
QVMI_HIDDEN int qvmi__lx_fields_read(struct qvmi_linux *lx,
				     const struct qvmi_lx_fields *f,
				     uint64_t va, uint8_t *buf);

static inline uint64_t qvmi__lx_u64(const uint8_t *b, uint32_t off)
{
	uint64_t v;

	__builtin_memcpy(&v, b + off, 8);
	return v;
}

static inline uint32_t qvmi__lx_u32(const uint8_t *b, uint32_t off)
{
	uint32_t v;

	__builtin_memcpy(&v, b + off, 4);
	return v;
}

/* A guest pointer or unsigned long at b + off (4 or 8 bytes). */
static inline uint64_t qvmi__lx_ptr(const struct qvmi_linux *lx,
				    const uint8_t *b, uint32_t off)
{
	return lx->lay.ptr_size == 4 ? qvmi__lx_u32(b, off) :
				       qvmi__lx_u64(b, off);
}

/* A little-endian unsigned value of 1, 2, 4 or 8 bytes. */
static inline uint64_t qvmi__lx_uint(const uint8_t *b, uint32_t off,
				     uint32_t size)
{
	uint64_t v = 0;

	__builtin_memcpy(&v, b + off, size > 8 ? 8 : size);
	return v;
}

/* Small open-addressing set of addresses for cycle detection. */
struct qvmi_lx_seen {
	uint64_t *slot;
	size_t cap, n;
	uint64_t inline_slots[256];
};
QVMI_HIDDEN void qvmi__lx_seen_init(struct qvmi_lx_seen *s);
QVMI_HIDDEN void qvmi__lx_seen_deinit(struct qvmi_lx_seen *s);
/* 1 if va was already there, 0 if added, -ENOMEM. */
QVMI_HIDDEN int qvmi__lx_seen_add(struct qvmi_lx_seen *s, uint64_t va);

/* Read a guest pointer or unsigned long (qvmi__lx_psize bytes) at va. */
QVMI_HIDDEN int qvmi__lx_kread_ptr(struct qvmi_linux *lx, uint64_t va,
				   uint64_t *ret);

/* Read a kernel C string (at most size - 1 bytes; always terminated). */
QVMI_HIDDEN int qvmi__lx_kstr(struct qvmi_linux *lx, uint64_t va, char *buf,
			      size_t size);

#endif
