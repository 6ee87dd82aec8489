// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the Linux views over random guest memory with a synthetic BTF
 * (tests/lib/fake-kernel.c, compiled in here because fuzz targets link
 * only libqvmi.a).  Input: byte 0 picks the layout variant, the rest is
 * copied over the kernel image from init_task on and over the start of the
 * direct-map heap, so list links, maple nodes and ring indices are all
 * attacker-chosen.  Every walk must end (budgets, cycle checks) without a
 * crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/lib/fake-kernel.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { FUZZ_MEM = 4 << 20, IMG_PART = 0x4000 };

static int nop_task(const struct qvmi_linux_task *t, void *arg)
{
	(void)t;
	(void)arg;
	return 0;
}

static int nop_log(const struct qvmi_linux_log_rec *r, void *arg)
{
	volatile char c = r->text_len ? r->text[r->text_len - 1] : 0;

	(void)c;
	(void)arg;
	return 0;
}

static void run(struct fk *k)
{
	struct qvmi_linux_task_list tl;
	struct qvmi_linux_vma_list vl;
	struct qvmi_linux_module_list ml;
	char *args;
	size_t len;

	qvmi_linux_tasks(k->lx, QVMI_LINUX_THREADS, &tl);
	for (size_t i = 0; i < tl.n && i < 4; i++) {
		qvmi_linux_vmas(k->lx, tl.tasks[i].pid, &vl);
		qvmi_linux_vma_list_deinit(&vl);
		if (!qvmi_linux_proc_args(k->lx, tl.tasks[i].pid,
					  QVMI_LINUX_CMDLINE, &args, &len))
			free(args);
	}
	qvmi_linux_task_list_deinit(&tl);
	qvmi_linux_task_foreach(k->lx, 0, nop_task, NULL);
	qvmi_linux_modules(k->lx, &ml);
	qvmi_linux_module_list_deinit(&ml);
	qvmi_linux_dmesg(k->lx, nop_log, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void *btf[2];
	static uint32_t bsz[2];
	static uint8_t *mem;
	enum fk_variant v;
	struct fk k;
	size_t n;

	if (!size)
		return 0;
	v = data[0] & 1 ? FK_OLD : FK_NEW;
	if (!btf[v])
		btf[v] = fk_btf(v, &bsz[v]);
	if (!mem)
		mem = malloc(FUZZ_MEM);
	if (!btf[v] || !mem)
		return 0;
	memset(mem, 0, FUZZ_MEM);
	data++;
	size--;
	/* [init_task ...) of the image, then the heap */
	n = size < IMG_PART ? size : IMG_PART;
	memcpy(mem + FK_TEXT_PA + FK_SYM_INIT_TASK, data, n);
	if (size > n)
		memcpy(mem + FK_HEAP_PA, data + n,
		       size - n < FUZZ_MEM - FK_HEAP_PA ?
			       size - n :
			       FUZZ_MEM - FK_HEAP_PA);
	if (!fk_create_over(&k, v, mem, FUZZ_MEM, btf[v], bsz[v]))
		run(&k);
	fk_destroy(&k);
	return 0;
}
