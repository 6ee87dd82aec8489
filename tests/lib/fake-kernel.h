/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A synthetic Linux kernel for the views' unit tests and fuzz targets: a
 * BTF blob (built with libbpf) describing small versions of task_struct,
 * mm_struct, the maple tree, vm_area_struct, file/dentry/mount, module and
 * the printk buffers, at offsets unlike the real ones, in three variants:
 *   FK_NEW  x86_64 like 6.1-6.6 (__state, signal->thread_head, maple
 *           tree), with the 6.4+ module mem[MOD_MEM_NUM_TYPES] (7 regions
 *           of struct module_memory, 72 bytes each as on x86_64 with
 *           CONFIG_MODULES_TREE_LOOKUP) and the 5.10+ printk ring;
 *   FK_OLD  x86_64 like 5.x (state, thread_group, mm->mmap + vm_next,
 *           core_layout, log_buf of struct printk_log);
 *   FK_I386 i386 PAE like Debian 12's 686-pae 6.1: FK_NEW's types with
 *           4-byte pointers and unsigned longs (32-slot maple nodes,
 *           30-bit printk ids), core_layout (mem[] is 6.4+), and a handle
 *           as kallsyms of an i386 kernel leaves it (lay.ptr_size 4,
 *           PAGE_OFFSET 0xc0000000, the image at VA = PA + PAGE_OFFSET);
 *   FK_I386_OLD  FK_OLD's 5.x types on FK_I386's layout and handle.
 * The offsets of each variant are in its struct fk_lay (fk->L); the FK_*
 * constants below are the x86_64 ones (FK_NEW and FK_OLD).
 * Guest memory is a testmem buffer: the "kernel image" at PA 0x100000
 * (VA L->text_va) and objects allocated in the direct map from PA
 * 0x200000.  No dependency on the test harness (the fuzz targets include
 * this .c).
 */
#ifndef QVMI_TEST_FAKE_KERNEL_H
#define QVMI_TEST_FAKE_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "qvmi.h"

enum fk_variant { FK_NEW = 0, FK_OLD = 1, FK_I386 = 2, FK_I386_OLD = 3 };

/* The 5.x types: state, thread_group, mm->mmap + vm_next, log_buf. */
static inline int fk_is_old(enum fk_variant v)
{
	return v == FK_OLD || v == FK_I386_OLD;
}

#define FK_POB 0xffff888000000000ull /* page_offset_base */
#define FK_TEXT_VA 0xffffffff81000000ull
#define FK32_POB 0xc0000000ull /* i386 PAGE_OFFSET */
#define FK32_TEXT_VA 0xc0100000ull
enum {
	FK_TEXT_PA = 0x100000,
	FK_HEAP_PA = 0x200000,
	/* symbols, offsets from _text */
	FK_SYM_INIT_TASK = 0x1000,
	FK_SYM_MODULES = 0x2000,
	FK_SYM_PRB = 0x2010,
	FK_SYM_LOG_BUF = 0x2020,
	FK_SYM_LOG_BUF_LEN = 0x2028,
	FK_SYM_LOG_FIRST_IDX = 0x202c,
	FK_SYM_LOG_NEXT_IDX = 0x2030,
	FK_SYM_SPECIAL_OPS = 0x2040,
	FK_SYM_VMCOREINFO_NOTE = 0x2048, /* u32 *, NULL until set */
	FK_SYM_HIGH_MEMORY = 0x2050, /* void *, NULL until set (i386) */
};

/* x86_64 struct layouts (byte offsets); i386's are in fake-kernel.c. */
enum {
	FK_TASK_SIZE = 512,
	FK_TASK_STATE = 8, /* u32 __state (NEW) or u64 state (OLD) */
	FK_TASK_FLAGS = 16,
	FK_TASK_TASKS = 64,
	FK_TASK_EXIT_STATE = 80,
	FK_TASK_MM = 96,
	FK_TASK_PID = 120,
	FK_TASK_TGID = 124,
	FK_TASK_REAL_PARENT = 136,
	FK_TASK_CRED = 144,
	FK_TASK_COMM = 200,
	FK_TASK_START = 240, /* start_boottime (NEW), start_time (OLD) */
	FK_TASK_SIGNAL = 256,
	FK_TASK_THREAD = 272, /* thread_node (NEW), thread_group (OLD) */

	FK_CRED_SIZE = 32,
	FK_CRED_UID = 8,
	FK_SIGNAL_SIZE = 64,
	FK_SIGNAL_THREAD_HEAD = 16,

	FK_MM_SIZE = 256,
	FK_MM_PGD = 16,
	FK_MM_ROOT = 64, /* mm_mt.ma_root (NEW: mm_mt at 56) or mmap (OLD) */
	FK_MM_START_BRK = 128,
	FK_MM_BRK = 136,
	FK_MM_START_STACK = 144,
	FK_MM_ARG_START = 152,
	FK_MM_ARG_END = 160,
	FK_MM_ENV_START = 168,
	FK_MM_ENV_END = 176,

	FK_MN_SIZE = 256, /* maple_node */
	FK_MR_PIVOT = 8, /* 15 */
	FK_MR_SLOT = 128, /* 16 */
	FK_MA_PIVOT = 8, /* 9 */
	FK_MA_SLOT = 80, /* 10 */

	FK_VMA_SIZE = 128,
	FK_VMA_START = 0,
	FK_VMA_END = 8,
	FK_VMA_NEXT = 16, /* OLD only */
	FK_VMA_MM = 24,
	FK_VMA_FLAGS = 40,
	FK_VMA_PGOFF = 56,
	FK_VMA_FILE = 64,
	FK_VMA_OPS = 72,
	FK_VMA_PRIV = 80,

	FK_FILE_SIZE = 64,
	FK_FILE_MNT = 16, /* f_path.mnt */
	FK_FILE_DENTRY = 24, /* f_path.dentry */
	FK_DENTRY_SIZE = 64,
	FK_DENTRY_PARENT = 24,
	FK_DENTRY_NAME = 40, /* d_name.name */
	FK_MOUNT_SIZE = 128,
	FK_MOUNT_PARENT = 16,
	FK_MOUNT_MOUNTPOINT = 24,
	FK_MOUNT_MNT = 32, /* struct vfsmount; its mnt_root at +0 */

	FK_MOD_SIZE = 1024,
	FK_MOD_STATE = 0,
	FK_MOD_LIST = 8,
	FK_MOD_NAME = 24, /* char[56] */
	/* NEW: module_memory mem[FK_MOD_MEM_N] {base @0, size @8, mtn @16},
	 * FK_MOD_MEM_SIZE bytes each: MOD_TEXT, MOD_DATA, MOD_RODATA,
	 * MOD_RO_AFTER_INIT, MOD_INIT_TEXT, MOD_INIT_DATA, MOD_INIT_RODATA */
	FK_MOD_MEM = 96,
	FK_MOD_MEM_N = 7,
	FK_MOD_MEM_SIZE = 72,
	FK_MOD_CORE = 96, /* OLD: core_layout {base, size, text_size} */
	FK_MOD_INIT = 128, /* OLD: init_layout */

	FK_PRB_DESC_SIZE = 24, /* state_var, text_blk_lpos.begin, .next */
	FK_PRB_INFO_SIZE = 40, /* seq, ts_nsec, text_len u16 @16, facility
				* @18, flags:5 level:3 @19, caller_id @20 */
	FK_PRB_COUNT_BITS = 0, /* printk_ringbuffer: desc_ring @0 */
	FK_PRB_DESCS = 8,
	FK_PRB_INFOS = 16,
	FK_PRB_HEAD_ID = 24,
	FK_PRB_TAIL_ID = 32,
	FK_PRB_SIZE_BITS = 48, /* text_data_ring @48 */
	FK_PRB_DATA = 56,
	FK_PRB_SIZE = 96,
	FK_PLOG_SIZE = 16, /* printk_log: ts @0, len @8, text_len @10,
			    * facility @14, flags:5 level:3 @15 */
};

/* A variant's layout: byte offsets (sizes where they say so). */
struct fk_lay {
	uint32_t ptr; /* bytes of a pointer and of unsigned long */
	uint64_t pob, text_va; /* PAGE_OFFSET, _text */
	struct {
		uint32_t size, state, flags, tasks, exit, mm, pid, tgid, parent,
			cred, comm, start, signal, thread;
	} task;
	uint32_t cred_size, cred_uid, sig_size, sig_head;
	struct {
		uint32_t size, pgd, root, start_brk, brk, start_stack,
			arg_start, arg_end, env_start, env_end;
	} mm;
	/* maple_range_64 and maple_arange_64: slots (pivots: one fewer) */
	uint32_t mr_pivot, mr_slot, mr_n, ma_pivot, ma_slot, ma_n;
	struct {
		uint32_t size, start, end, next, mm, flags, pgoff, file, ops,
			priv;
	} vma;
	struct {
		uint32_t file_size, file_mnt, file_dentry, dentry_size,
			dentry_parent, dentry_name, mount_size, mount_parent,
			mount_mountpoint, mount_mnt;
	} path;
	struct {
		uint32_t size, state, list, name, mem /* FK_NEW */, core, init;
	} mod;
	struct {
		uint32_t size, desc_size, info_size, descs, infos, head_id,
			tail_id, size_bits, data;
	} prb;
};

struct fk {
	enum fk_variant variant;
	const struct fk_lay *L;
	uint8_t *mem;
	size_t size;
	uint64_t next_pa; /* allocator */
	struct qvmi_ctx *ctx;
	struct qvmi_linux *lx;
};

const struct fk_lay *fk_layout(enum fk_variant v);
/* BTF of the variant as a malloc'd raw blob. */
void *fk_btf(enum fk_variant v, uint32_t *size);
/* Memory of size bytes (>= 4 MiB), ctx, and a handle with the BTF and the
 * symbols.  0 or negative errno. */
int fk_create(struct fk *k, enum fk_variant v, size_t size);
/* The same over caller memory (not freed by fk_destroy) and a given BTF
 * blob: for fuzzing. */
int fk_create_over(struct fk *k, enum fk_variant v, uint8_t *mem, size_t size,
		   const void *btf, uint32_t btf_size);
void fk_destroy(struct fk *k);

/* Zeroed, 64-byte aligned direct-map object; its VA (0 when full). */
uint64_t fk_alloc(struct fk *k, size_t size);
/* Host pointer behind a direct-map or image VA (NULL outside memory). */
void *fk_ptr(struct fk *k, uint64_t va);
void fk_w64(struct fk *k, uint64_t va, uint64_t v);
void fk_w32(struct fk *k, uint64_t va, uint32_t v);
void fk_wstr(struct fk *k, uint64_t va, const char *s);
/* A pointer or unsigned long of the variant's width (L->ptr bytes). */
void fk_wp(struct fk *k, uint64_t va, uint64_t v);
uint64_t fk_rp(struct fk *k, uint64_t va); /* 0 outside memory */
uint64_t fk_sym(uint64_t off); /* FK_TEXT_VA + off */
uint64_t fk_ksym(const struct fk *k, uint64_t off); /* L->text_va + off */

/* A task: links it into init_task's list after the last one. */
uint64_t fk_task(struct fk *k, int pid, int tgid, uint64_t parent,
		 const char *comm, uint32_t state);
/* An empty list head at va (next = prev = va). */
void fk_list_init(struct fk *k, uint64_t va);
void fk_list_add_tail(struct fk *k, uint64_t head, uint64_t node);

#endif
