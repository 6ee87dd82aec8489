// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The ground-truth checks test-views.c and test-linux32.c share
 * (views-gt.h).
 */
#include <string.h>

#include "harness.h"
#include "views-gt.h"

void vgt_check_vmas(struct qvmi_linux *lx, int pid, size_t *checked)
{
	const struct guest_map *gt;
	struct qvmi_linux_vma_list l;
	size_t n;

	guest_maps(pid, &gt, &n);
	CHECK(n > 5);
	CHECK_OK(qvmi_linux_vmas(lx, pid, &l));
	CHECK_INT(l.n, ==, n);
	for (size_t i = 0; i < n && i < l.n; i++) {
		const struct qvmi_linux_vma *v = &l.vmas[i];

		CHECK_U64(v->start, ==, gt[i].start);
		CHECK_U64(v->end, ==, gt[i].end);
		CHECK_STR(v->perms, gt[i].perms);
		CHECK_U64(v->file ? v->pgoff << 12 : 0, ==, gt[i].offset);
		CHECK_STR(v->name, gt[i].path);
		(*checked)++;
	}
	qvmi_linux_vma_list_deinit(&l);
}

void vgt_check_cmdline(struct qvmi_linux *lx, int pid, const char *gt)
{
	struct qvmi_linux_args_block b;
	char *buf;
	size_t len;

	CHECK_OK(qvmi_linux_proc_args(lx, pid, QVMI_LINUX_CMDLINE, &b));
	buf = b.data;
	len = b.len;
	/* /proc joins with spaces and drops the last NUL */
	for (size_t k = 0; k < len; k++)
		if (!buf[k])
			buf[k] = ' ';
	while (len && buf[len - 1] == ' ')
		buf[--len] = '\0';
	CHECK_STR(buf, gt);
	qvmi_linux_args_deinit(&b);
}

size_t vgt_check_modules(struct qvmi_linux *lx, const struct guest_module **ret)
{
	const struct guest_module *gt;
	struct qvmi_linux_module_list l;
	size_t n;

	guest_modules(&gt, &n);
	CHECK_OK(qvmi_linux_modules(lx, &l));
	CHECK_INT(l.n, ==, n);
	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < l.n && strcmp(l.mods[j].name, gt[i].name); j++)
			;
		CHECK_MSG(j < l.n, "module %s missing", gt[i].name);
		CHECK_U64(l.mods[j].size, ==, gt[i].size);
		CHECK_U64(l.mods[j].base, ==, gt[i].addr);
		CHECK_INT(l.mods[j].state, ==, QVMI_LINUX_MODULE_LIVE);
	}
	qvmi_linux_module_list_deinit(&l);
	*ret = gt;
	return n;
}

const struct guest_marker *vgt_check_marker_heap(struct qvmi_ctx *ctx,
						 struct qvmi_linux *lx)
{
	const struct guest_marker *mk;
	struct qvmi_linux_task t;
	char buf[GUEST_MARK_MAX];
	size_t nm, len;

	guest_markers(&mk, &nm);
	CHECK(nm >= 1);
	len = strlen(mk[0].heap);
	CHECK_OK(qvmi_linux_task_find(lx, mk[0].pid, 0, &t));
	CHECK_OK(qvmi_read_va(ctx, t.dtb, mk[0].heap_va, buf, len));
	CHECK(!memcmp(buf, mk[0].heap, len));
	return &mk[0];
}

static int find_banner(const struct qvmi_linux_log_rec *r, void *arg)
{
	int *c = arg; /* [0] banners, [1] records */

	c[1]++;
	if (r->text_len > 14 && !memcmp(r->text, "Linux version ", 14))
		c[0]++;
	return 0;
}

int vgt_check_dmesg_banner(struct qvmi_ctx *ctx, struct qvmi_linux *lx)
{
	int c[2] = { 0, 0 }, err;

	err = qvmi_linux_dmesg(lx, find_banner, c);
	CHECK_MSG(!err && c[1] > 10, "dmesg: %d, %d records, %s", err, c[1],
		  qvmi_errmsg(ctx));
	CHECK_INT(c[0], ==, 1);
	return c[1];
}
