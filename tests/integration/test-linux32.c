// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The Linux layer on the i386 demo guest (Debian's 686-pae kernel, booted
 * by `scripts/demo-guest start --arch i386 --types`): no BTF and no
 * KALLSYMS_ALL in the guest, so types come from the detached BTF and data
 * symbols from the System.map that --types made from the -dbg package
 * (guest.env: types_btf=, types_map=).  Checked against the guest's own
 * ground truth: ps (pids, comms, ppids), lsmod, the markers' maps and
 * cmdlines, text symbols from /proc/kallsyms, a marker's heap read through
 * its page table, dmesg; and the exact message without the files.
 * Skipped on any other guest.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "guest.h"
#include "harness.h"
#include "isf-build.h"
#include "qvmi.h"
#include "views-gt.h"

static struct qvmi_ctx *ctx;
static struct qvmi_linux *lx;
static char arch[32], btf_path[512], map_path[512];

/* One key of DIR/guest.env into buf ("" if absent). */
static void env_key(const char *dir, const char *key, char *buf, size_t size)
{
	char path[512], line[1024];
	size_t kl = strlen(key);
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/guest.env", dir);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, kl) || line[kl] != '=')
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(buf, size, "%s", line + kl + 1);
	}
	if (f)
		fclose(f);
}

static const char *l32_setup(void)
{
	const struct qvmi_guest *g = guest_get();

	if (!g)
		return "no demo guest (QVMI_GUEST_DIR unset)";
	env_key(g->dir, "arch", arch, sizeof(arch));
	env_key(g->dir, "types_btf", btf_path, sizeof(btf_path));
	env_key(g->dir, "types_map", map_path, sizeof(map_path));
	if (strcmp(arch, "i386"))
		return "not the i386 guest (demo-guest --arch i386)";
	if (!btf_path[0] || !map_path[0])
		return "the i386 guest was started without --types";
	return NULL;
}

static void close_all(void)
{
	qvmi_linux_destroy(lx);
	lx = NULL;
	qvmi_ctx_destroy(ctx);
	ctx = NULL;
}

/* Attach; open the kernel with the types files or without (types). */
static int open_lx(bool types)
{
	QVMI_OPTS(qvmi_linux_opts, o, .btf_path = types ? btf_path : NULL,
		  .system_map = types ? map_path : NULL,
		  .flags = QVMI_LINUX_NO_CACHE);
	int err;

	close_all();
	if (qvmi_ctx_create(&ctx))
		return -ENOMEM;
	err = qvmi_attach_qmp(ctx, guest_get()->qmp, NULL);
	if (!err)
		err = qvmi_linux_open(ctx, &o, &lx);
	return err;
}

/* Set by the real-ISF tests (isf_dwarf2json*): the checks below then
 * take their types from that file instead of the detached BTF. */
static const char *real_isf;
static bool real_isf_map;

static void open_all(void)
{
	int err;

	if (real_isf) {
		QVMI_OPTS(qvmi_linux_opts, o, .isf_path = real_isf,
			  .system_map = real_isf_map ? map_path : NULL,
			  .flags = QVMI_LINUX_NO_CACHE);

		close_all();
		CHECK_OK(qvmi_ctx_create(&ctx));
		err = qvmi_attach_qmp(ctx, guest_get()->qmp, NULL);
		if (!err)
			err = qvmi_linux_open(ctx, &o, &lx);
	} else {
		err = open_lx(true);
	}
	CHECK_MSG(!err, "open: %s", qvmi_errmsg(ctx));
}

static void test_info(void)
{
	struct qvmi_linux_info info;

	open_all();
	CHECK_OK(qvmi_linux_info(lx, &info));
	CHECK_STR(info.release, guest_uname());
	CHECK(!strncmp(guest_banner(), info.banner, strlen(info.banner)));
	CHECK_STR(info.sym_source, "system.map");
	CHECK_STR(info.btf_source, "file");
	CHECK_U64(info.page_offset_base, ==, 0xc0000000);
	CHECK(info.text_va >= 0xc1000000 && info.text_va < 0xf0000000);
	CHECK_U64(info.text_pa, ==, info.text_va - 0xc0000000);
	CHECK(info.nsyms > 50000); /* data symbols too: ~87,600 */
	qvmi_test_note("_text 0x%llx (slide 0x%llx), %zu symbols",
		       (unsigned long long)info.text_va,
		       (unsigned long long)info.kaslr_slide, info.nsyms);
}

/* Every symbol the guest listed from /proc/kallsyms (text only here). */
static void test_sym(void)
{
	static const char *const names[] = {
		"_text",
		"_stext",
		"_etext",
		"startup_32",
		"entry_INT80_32",
		"entry_SYSENTER_32",
		"__ia32_sys_clock_nanosleep",
	};
	uint64_t gt, ours, off;
	char name[128];
	int checked = 0;

	open_all();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (guest_ksym(names[i], &gt))
			continue;
		CHECK_MSG(!qvmi_linux_sym_addr(lx, names[i], &ours), "%s: %s",
			  names[i], qvmi_errmsg(ctx));
		CHECK_U64(ours, ==, gt);
		checked++;
	}
	CHECK(checked >= 4);
	/* a data symbol, slid from the System.map: the first task */
	CHECK_OK(qvmi_linux_sym_addr(lx, "init_task", &ours));
	CHECK_OK(qvmi_linux_sym_name(lx, ours + 8, name, sizeof(name), &off));
	CHECK_STR(name, "init_task");
	CHECK_U64(off, ==, 8);
	/* below _text (KASLR moved it up) only absolute symbols remain */
	CHECK_OK(qvmi_linux_sym_addr(lx, "_text", &ours));
	CHECK_INT(qvmi_linux_sym_name(lx, ours - 0x1000, name, sizeof(name),
				      &off),
		  ==, -ENOENT);
	qvmi_test_note("%d text symbols match /proc/kallsyms", checked);
}

static void test_ps(void)
{
	const struct guest_ps *gt;
	struct qvmi_linux_task_list l;
	size_t n, matched = 0, gone = 0;

	open_all();
	guest_ps(&gt, &n);
	CHECK(n > 20);
	CHECK_OK(qvmi_linux_tasks(lx, 0, &l));
	CHECK(l.n > 20);
	CHECK_INT(l.tasks[0].pid, ==, 0);
	for (size_t i = 0; i < n; i++) {
		const struct qvmi_linux_task *t = NULL;
		size_t k = strlen(gt[i].comm);

		for (size_t j = 0; j < l.n && !t; j++)
			if (l.tasks[j].pid == gt[i].pid)
				t = &l.tasks[j];
		if (!t) { /* a kworker that exited since */
			CHECK_MSG(!strncmp(gt[i].comm, "kworker/", 8),
				  "pid %d (%s) missing", gt[i].pid, gt[i].comm);
			gone++;
			continue;
		}
		/* /proc adds "-workqueue" to kworkers and shows kernel
		 * threads' full names; task->comm holds 15 characters. */
		k = strlen(t->comm);
		CHECK_MSG(!strncmp(gt[i].comm, t->comm, k) &&
				  (!gt[i].comm[k] || k == 15 ||
				   !strncmp(t->comm, "kworker/", 8)),
			  "pid %d: comm %s vs %s", gt[i].pid, gt[i].comm,
			  t->comm);
		CHECK_INT(t->ppid, ==, gt[i].ppid);
		if (!(t->flags & QVMI_LINUX_TASK_KTHREAD)) /* PAE: 32-byte */
			CHECK(t->dtb && !(t->dtb & 0x1f) &&
			      t->dtb < 1ull << 32);
		matched++;
	}
	CHECK(matched + gone == n);
	qvmi_test_note("%zu tasks, %zu of %zu ground-truth pids match, %zu "
		       "kworker(s) gone",
		       l.n, matched, n, gone);
	qvmi_linux_task_list_deinit(&l);
}

static void test_lsmod(void)
{
	const struct guest_module *gt;

	open_all();
	CHECK(vgt_check_modules(lx, &gt) >= 1);
}

static void test_maps_cmdline(void)
{
	const struct guest_marker *mk;
	size_t nm, checked = 0;

	open_all();
	guest_markers(&mk, &nm);
	CHECK(nm >= 2);
	for (size_t m = 0; m < nm; m++) {
		const char *cl = guest_cmdline(mk[m].pid);

		vgt_check_vmas(lx, mk[m].pid, &checked);
		CHECK(cl);
		vgt_check_cmdline(lx, mk[m].pid, cl);
	}
	qvmi_test_note("%zu VMAs of %zu markers match /proc/PID/maps", checked,
		       nm);
}

static void test_marker_heap(void)
{
	open_all();
	vgt_check_marker_heap(ctx, lx);
}

static void test_dmesg(void)
{
	open_all();
	vgt_check_dmesg_banner(ctx, lx);
}

/* The task on each vCPU: i386 has no GS base, so __per_cpu_offset[n]
 * + &current_task; the guest is mostly idle, so pid 0 ("swapper/N") or
 * any task of the list.  Pause for a consistent read. */
static void test_current(void)
{
	struct qvmi_linux_task_list l;
	struct qvmi_linux_current c;

	open_all();
	CHECK_OK(qvmi_vm_pause(ctx));
	CHECK_OK(qvmi_linux_tasks(lx, QVMI_LINUX_THREADS, &l));
	for (unsigned int cpu = 0; cpu < 2; cpu++) {
		size_t j;
		int err = qvmi_linux_current_task(lx, cpu, &c);

		CHECK_MSG(!err, "vCPU %u: %s", cpu, qvmi_errmsg(ctx));
		qvmi_test_note("vCPU %u: pid %d %s%s", cpu, c.pid, c.comm,
			       c.user ? " (user)" : "");
		if (c.pid == 0) { /* idle: per-CPU idle tasks, not listed */
			char want[16];

			snprintf(want, sizeof(want), "swapper/%u", cpu);
			CHECK_STR(c.comm, want);
			continue;
		}
		for (j = 0; j < l.n && l.tasks[j].addr != c.task; j++)
			;
		CHECK_MSG(j < l.n, "vCPU %u: task 0x%llx not in the list", cpu,
			  (unsigned long long)c.task);
		CHECK_INT(l.tasks[j].pid, ==, c.pid);
		CHECK_STR(l.tasks[j].comm, c.comm);
	}
	qvmi_linux_task_list_deinit(&l);
	CHECK_OK(qvmi_vm_resume(ctx));
}

/* Neither types file: the open works (kallsyms), ps says what is missing
 * and how to make it. */
static void test_no_types(void)
{
	struct qvmi_linux_task_list l;
	char want[160];

	CHECK_MSG(!open_lx(false), "open: %s", qvmi_errmsg(ctx));
	CHECK_INT(qvmi_linux_tasks(lx, 0, &l), ==, -ENOENT);
	qvmi_test_note("%s", qvmi_errmsg(ctx));
	CHECK(strstr(qvmi_errmsg(ctx), "no BTF, no data symbols"));
	CHECK(strstr(qvmi_errmsg(ctx),
		     "pahole --btf_encode_detached=F vmlinux"));
	snprintf(want, sizeof(want), "usr/lib/debug/boot/System.map-%s",
		 guest_uname());
	CHECK(strstr(qvmi_errmsg(ctx), want));
	CHECK(strstr(qvmi_errmsg(ctx), "--isf"));
	qvmi_linux_task_list_deinit(&l);
	close_all(); /* QEMU serves one QMP client at a time */
	{ /* the CLI prints it and fails */
		const char *b = getenv("QVMI_BUILD");
		char cmd[1024], out[4096];
		FILE *p;
		size_t n;

		snprintf(cmd, sizeof(cmd), "%s/qvmi --qmp %s ps 2>&1",
			 b ? b : "build", guest_get()->qmp);
		p = popen(cmd, "r");
		CHECK(p);
		n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = '\0';
		CHECK_INT(pclose(p), !=, 0);
		CHECK(strstr(out, "qvmi: ps: kernel "));
		CHECK(strstr(out, "pahole --btf_encode_detached=F vmlinux"));
	}
}

/* A System.map of another build (one data symbol moved) is refused. */
static void test_other_map(void)
{
	char path[] = "/tmp/qvmi-l32-map-XXXXXX", line[512];
	QVMI_OPTS(qvmi_linux_opts, o, .btf_path = btf_path, .system_map = path,
		  .flags = QVMI_LINUX_NO_CACHE);
	FILE *in = fopen(map_path, "r"), *out;
	int fd = mkstemp(path), err;
	unsigned long a;

	CHECK(in && fd >= 0);
	out = fdopen(fd, "w");
	CHECK(out);
	while (fgets(line, sizeof(line), in)) {
		if (strstr(line, " linux_banner\n") &&
		    sscanf(line, "%lx", &a) == 1)
			snprintf(line, sizeof(line), "%08lx D linux_banner\n",
				 a + 0x40);
		fputs(line, out);
	}
	fclose(in);
	fclose(out);
	close_all();
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_attach_qmp(ctx, guest_get()->qmp, NULL));
	err = qvmi_linux_open(ctx, &o, &lx);
	unlink(path);
	CHECK_INT(err, ==, -ESTALE);
	qvmi_test_note("%s", qvmi_errmsg(ctx));
	close_all();
}

/* ---- the same from an ISF ------------------------------------------------ */

/* An ISF of the guest's kernel, made from the detached BTF and the
 * System.map (tests/lib/isf-build: as dwarf2json describes types, but
 * not dwarf2json's own output); banner_shift moves linux_banner. */
static char *make_isf(uint64_t banner_shift)
{
	struct btf *b = btf__parse_raw(btf_path);
	char *text = b ? isf_from_btf_map(b, map_path) : NULL, *p, *path;
	char num[32];
	int fd;

	btf__free(b);
	CHECK(text);
	if (banner_shift) { /* "linux_banner":{"address":N} */
		unsigned long long a;

		p = strstr(text, "\"linux_banner\":{\"address\":");
		CHECK(p);
		p += strlen("\"linux_banner\":{\"address\":");
		a = strtoull(p, NULL, 10);
		snprintf(num, sizeof(num), "%llu", a + banner_shift);
		CHECK(strspn(p, "0123456789") == strlen(num));
		memcpy(p, num, strlen(num));
	}
	path = strdup("/tmp/qvmi-l32-isf-XXXXXX");
	fd = path ? mkstemp(path) : -1;
	CHECK(fd >= 0);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	free(text);
	return path;
}

static int open_isf(const char *path)
{
	QVMI_OPTS(qvmi_linux_opts, o, .isf_path = path,
		  .flags = QVMI_LINUX_NO_CACHE);
	int err;

	close_all();
	if (qvmi_ctx_create(&ctx))
		return -ENOMEM;
	err = qvmi_attach_qmp(ctx, guest_get()->qmp, NULL);
	if (!err)
		err = qvmi_linux_open(ctx, &o, &lx);
	return err;
}

static void test_isf(void)
{
	char *path = make_isf(0);
	const struct guest_module *gm;
	const struct guest_marker *mk;
	const struct guest_map *gmap;
	struct qvmi_linux_task_list l;
	struct qvmi_linux_module_list ml;
	struct qvmi_linux_vma_list vl;
	size_t n, nm, nmap, ntasks, matched = 0;
	int err = open_isf(path);

	unlink(path);
	free(path);
	CHECK_MSG(!err, "open: %s", qvmi_errmsg(ctx));
	CHECK_OK(qvmi_linux_tasks(lx, 0, &l));
	guest_markers(&mk, &nm);
	CHECK(nm >= 2);
	for (size_t i = 0; i < nm; i++)
		for (size_t j = 0; j < l.n; j++)
			if (l.tasks[j].pid == mk[i].pid) {
				CHECK_STR(l.tasks[j].comm, mk[i].comm);
				CHECK_INT(l.tasks[j].ppid, ==,
					  guest_ps_find(mk[i].pid)->ppid);
				matched++;
			}
	CHECK_INT(matched, ==, nm);
	ntasks = l.n;
	qvmi_linux_task_list_deinit(&l);
	guest_modules(&gm, &n);
	CHECK_OK(qvmi_linux_modules(lx, &ml));
	CHECK_INT(ml.n, ==, n);
	for (size_t i = 0; i < n && i < ml.n; i++) /* same order */
		CHECK_U64(ml.mods[i].base, ==, gm[i].addr);
	qvmi_linux_module_list_deinit(&ml);
	guest_maps(mk[0].pid, &gmap, &nmap);
	CHECK_OK(qvmi_linux_vmas(lx, mk[0].pid, &vl));
	CHECK_INT(vl.n, ==, nmap);
	for (size_t i = 0; i < nmap && i < vl.n; i++) {
		CHECK_U64(vl.vmas[i].start, ==, gmap[i].start);
		CHECK_STR(vl.vmas[i].name, gmap[i].path);
	}
	qvmi_linux_vma_list_deinit(&vl);
	qvmi_test_note("types and symbols from an ISF: %zu tasks", ntasks);
	close_all();
	/* another build's ISF: its linux_banner elsewhere */
	path = make_isf(0x40);
	CHECK_INT(open_isf(path), ==, -ESTALE);
	unlink(path);
	free(path);
	close_all();
}

/* ---- dwarf2json's own output ------------------------------------------- */

static int level_rec(const struct qvmi_linux_log_rec *r, void *arg)
{
	int *lv = arg; /* [0] a level seen, [1] records */

	if (r->level != -1)
		lv[0] = r->level;
	lv[1]++;
	return 0;
}

static void real_isf_off(void *arg)
{
	(void)arg;
	real_isf = NULL;
}

/*
 * The views from a real dwarf2json ISF of the guest kernel, named by
 * QVMI_TEST_ISF (e.g. dwarf2json linux --elf vmlinux-<ver> --system-map
 * System.map-<ver> > F, with the -dbg package's files): CI cannot build
 * dwarf2json, so skipped without it.  with_map: plus the System.map.
 */
static void real_isf_run(bool with_map)
{
	const char *p = getenv("QVMI_TEST_ISF");
	struct qvmi_linux_info info;
	char banner[160];
	uint64_t va;
	int lv[2] = { -1, 0 };

	if (!p || !*p || access(p, R_OK))
		SKIP("QVMI_TEST_ISF does not name a readable dwarf2json ISF "
		     "of the guest kernel (CI cannot build dwarf2json)");
	real_isf = p;
	real_isf_map = with_map;
	qvmi_test_defer(real_isf_off, NULL);
	open_all();
	CHECK_OK(qvmi_linux_info(lx, &info));
	CHECK_STR(info.btf_source, "isf");
	/* linux_banner: kallsyms has no data symbols, so the ISF's, slid */
	CHECK_OK(qvmi_linux_sym_addr(lx, "linux_banner", &va));
	CHECK(va >= info.page_offset_base); /* lowmem: the direct map */
	CHECK_OK(qvmi_read_pa(ctx, va - info.page_offset_base, banner, 14));
	CHECK(!memcmp(banner, "Linux version ", 14));
	/* address 0 in dwarf2json's file is no address */
	CHECK_INT(qvmi_linux_sym_addr(lx, "CHUNKSZ", &va), ==, -ENOENT);
	/* dwarf2json 0.6.0 lost the DWARF 5 bitfield positions: levels
	 * unknown rather than wrong */
	CHECK(!qvmi_linux_dmesg(lx, level_rec, lv) && lv[1] > 10);
	qvmi_test_note("dmesg levels from the ISF: %s",
		       lv[0] == -1 ? "unknown (bitfields lost)" : "known");
	test_ps();
	test_lsmod();
	test_maps_cmdline();
	test_marker_heap();
	test_dmesg();
	if (with_map)
		test_sym();
	close_all();
}

static void test_isf_dwarf2json(void)
{
	real_isf_run(false);
}

static void test_isf_dwarf2json_map(void)
{
	real_isf_run(true);
}

static const struct qvmi_test l32_tests[] = {
	{ "info", test_info },
	{ "sym", test_sym },
	{ "ps", test_ps },
	{ "lsmod", test_lsmod },
	{ "maps_cmdline", test_maps_cmdline },
	{ "marker_heap", test_marker_heap },
	{ "dmesg", test_dmesg },
	{ "current", test_current },
	{ "no_types", test_no_types },
	{ "other_map", test_other_map },
	{ "isf", test_isf },
	{ "isf_dwarf2json", test_isf_dwarf2json },
	{ "isf_dwarf2json_map", test_isf_dwarf2json_map },
};
QVMI_SUITE_SETUP(linux32, l32_tests, l32_setup);
