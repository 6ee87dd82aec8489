/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A synthetic 32-bit (i386 PAE) Linux kernel for the views' unit tests and
 * fuzz targets: BTF with 4-byte pointers and unsigned longs (task_struct
 * with thread_node, mm_struct with a maple tree of 32-slot range_64 nodes,
 * vm_area_struct, module with core_layout, the 5.10+ printk ring), and a
 * handle as kallsyms of an i386 kernel leaves it (lay.ptr_size 4,
 * PAGE_OFFSET 0xc0000000).  Guest memory is a testmem buffer of K32_MEM
 * bytes: the image at PA 0x100000 (VA = PA + PAGE_OFFSET, as on i386) and
 * objects in the direct map from PA K32_HEAP_PA.  No dependency on the
 * test harness (the fuzz targets include this .c).
 */
#ifndef QVMI_TEST_FAKE_KERNEL32_H
#define QVMI_TEST_FAKE_KERNEL32_H

#include <stddef.h>
#include <stdint.h>

#include "qvmi.h"

#define K32_POB 0xc0000000ull
#define K32_TEXT_VA 0xc0100000ull

/* Symbols (offsets from _text) and struct layouts (byte offsets). */

enum {
	K32_MEM = 4 << 20,
	K32_HEAP_PA = 0x200000,
	S_INIT_TASK = 0x1000, /* symbols, offsets from _text */
	S_MODULES = 0x2000,
	S_PRB = 0x2010,
	S_VMCOREINFO_NOTE = 0x2020, /* u32 pointer, 0 until set */
	S_HIGH_MEMORY = 0x2024, /* u32 pointer, 0 until set */
	T_SIZE = 128, /* task_struct */
	T_STATE = 4,
	T_FLAGS = 8,
	T_TASKS = 16,
	T_EXIT = 24,
	T_MM = 28,
	T_PID = 32,
	T_TGID = 36,
	T_PARENT = 40,
	T_CRED = 44,
	T_COMM = 48,
	T_START = 64,
	T_SIGNAL = 72,
	T_THREAD = 76,
	SIG_HEAD = 8,
	MM_PGD = 4,
	MM_ROOT = 12, /* mm_mt at 8, ma_root at +4 */
	MM_START_BRK = 20,
	MM_BRK = 24,
	MM_START_STACK = 28,
	MN_PIVOT = 4, /* maple_range_64: 31 pivots, 32 slots */
	MN_SLOT = 128,
	VMA_SIZE = 64,
	VMA_START = 0,
	VMA_END = 4,
	VMA_MM = 8,
	VMA_FLAGS = 12,
	VMA_PGOFF = 16,
	VMA_FILE = 20,
	MOD_SIZE = 128,
	MOD_LIST = 4,
	MOD_NAME = 12,
	MOD_CORE = 68, /* module_layout {base @0, size @4, text_size @8} */
	MOD_INIT = 84,
	PRB_DESC = 12, /* state_var, begin, next */
	PRB_INFO = 24,
};

struct k32 {
	uint8_t *mem;
	uint32_t next_pa;
	struct qvmi_ctx *ctx;
	struct qvmi_linux *lx;
};

/* The BTF as a malloc'd raw blob. */
void *k32_btf(uint32_t *size);
/* ctx and handle over mem (K32_MEM bytes, not freed by k32_destroy) with
 * btf (NULL: none) and the symbols; init_task and the module list are
 * set up only if init is true.  0 or negative errno. */
int k32_create_over(struct k32 *k, uint8_t *mem, const void *btf,
		    uint32_t btf_size, int init);
void k32_destroy(struct k32 *k);

void *k32_ptr(struct k32 *k, uint64_t va); /* NULL outside memory */
void k32_w32(struct k32 *k, uint64_t va, uint32_t v);
uint64_t k32_sym(uint32_t off); /* K32_TEXT_VA + off */
/* Zeroed direct-map object aligned to align; its VA (0 when full). */
uint64_t k32_alloc(struct k32 *k, uint32_t size, uint32_t align);
void k32_list_init(struct k32 *k, uint64_t va);
void k32_list_add_tail(struct k32 *k, uint64_t head, uint64_t node);

#endif
