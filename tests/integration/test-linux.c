// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Linux discovery against a real guest: kallsyms found and decoded, the
 * kernel placed, BTF loaded, and the results checked against the guest's
 * own memory (init_task's comm) and, from the demo guest's serial
 * log with /proc/kallsyms lines ("<hex> <type> <name>"), against those.
 * Runs on the shared demo guest (tests/lib/guest.h); skipped without one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "guest.h"
#include "harness.h"
#include "qvmi.h"
#include "core/internal.h"
#include "os/linux/linux.h"
#include "proto/qmp.h"

static const char *qmp_path;
static struct qvmi_ctx *cur;
static struct qvmi_linux *lx;

static const char *linux_setup(void)
{
	const struct qvmi_guest *g = guest_get();

	qmp_path = g ? g->qmp : NULL;
	return qmp_path ? NULL : "no demo guest (QVMI_GUEST_DIR unset)";
}

static void detach(void)
{
	qvmi_linux_destroy(lx);
	lx = NULL;
	qvmi_ctx_destroy(cur);
	cur = NULL;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Attach with the given sources and open the kernel; NULL if the sources
 * are unavailable here. */
static struct qvmi_linux *open_linux(unsigned int kinds, unsigned int flags,
				     double *ms)
{
	QVMI_OPTS(qvmi_attach_opts, ao, .sources = kinds);
	QVMI_OPTS(qvmi_linux_opts, lo, .flags = flags);
	double t0;
	int err;

	detach();
	CHECK_OK(qvmi_ctx_create(&cur));
	err = qvmi_attach_qmp(cur, qmp_path, &ao);
	if (err == -EOPNOTSUPP) {
		detach();
		return NULL;
	}
	CHECK_MSG(!err, "attach: %d %s", err, qvmi_errmsg(cur));
	t0 = now_ms();
	err = qvmi_linux_open(cur, &lo, &lx);
	*ms = now_ms() - t0;
	CHECK_MSG(!err, "linux_open: %d %s", err, qvmi_errmsg(cur));
	return lx;
}

static void test_discover(void)
{
	struct qvmi_linux_info in;
	uint64_t init_task, comm, pid, pa, sz, pgd;
	char name[16];
	double ms;

	if (!open_linux(QVMI_SRC_SHM, QVMI_LINUX_NO_CACHE, &ms) &&
	    !open_linux(QVMI_SRC_ALL, QVMI_LINUX_NO_CACHE, &ms))
		SKIP("no memory source");
	CHECK_OK(qvmi_linux_info(lx, &in));
	qvmi_test_note("%s; %zu symbols, BTF %zu bytes, _text 0x%" PRIx64
		       " at PA 0x%" PRIx64 ", layout %s, %.1f ms",
		       in.release, in.nsyms, in.btf_size, in.text_va,
		       in.text_pa, in.layout, ms);
	CHECK(!strncmp(in.banner, "Linux version ", 14));
	CHECK(in.nsyms > 10000);
	CHECK_U64(in.text_va & 0x1fffff, ==, 0);
	CHECK_U64(in.text_pa & 0x1fffff, ==, 0);
	CHECK(in.btf_size > 0);
	{
		uint64_t gt_text;
		const char *kc = guest_kcmdline();

		/* placement equals the guest's own /proc/kallsyms */
		if (!guest_ksym("_text", &gt_text))
			CHECK_U64(in.text_va, ==, gt_text);
		if (kc && strstr(kc, "nokaslr")) {
			CHECK_U64(in.text_va, ==, 0xffffffff81000000ull);
			CHECK_U64(in.text_pa, ==, 0x1000000);
		}
	}
	CHECK_OK(qvmi_linux_sym_addr(lx, "init_task", &init_task));
	CHECK_OK(qvmi_linux_offset(lx, "task_struct", "comm", &comm));
	CHECK_OK(qvmi_linux_offset(lx, "task_struct", "pid", &pid));
	CHECK_OK(qvmi_linux_offset(lx, "mm_struct", "pgd", &pgd));
	CHECK_OK(qvmi_linux_type_size(lx, "task_struct", &sz));
	CHECK(comm < sz && pid < sz && pgd > 0);
	/* init_task's comm is "swapper/0" in memory: symbols, placement and
	 * BTF agree with the guest itself. */
	CHECK_OK(qvmi_linux_va_to_pa(lx, init_task + comm, &pa));
	CHECK_OK(qvmi_read_pa(cur, pa, name, sizeof(name)));
	name[sizeof(name) - 1] = 0;
	CHECK_STR(name, "swapper/0");
	detach();
}

/* Every "<16 hex> <type> <name>" line of the serial log must match. */
static void test_serial_ground_truth(void)
{
	const char *path = guest_get() ? guest_get()->serial : NULL;
	char line[512], name[256], got[256];
	unsigned long long addr;
	int checked = 0, exact = 0;
	uint64_t off, a;
	char type;
	double ms;
	FILE *f;

	if (!path || !(f = fopen(path, "r")))
		SKIP("no serial log of a demo guest");
	if (!open_linux(QVMI_SRC_ALL, QVMI_LINUX_NO_CACHE | QVMI_LINUX_NO_BTF,
			&ms)) {
		fclose(f);
		SKIP("no memory source");
	}
	while (fgets(line, sizeof(line), f) && checked < 100000) {
		const char *p = strstr(line, "ffffffff"); /* after any prefix */

		if (!p || (p > line && p[-1] != ' '))
			continue;
		if (sscanf(p, "%16llx %c %255s", &addr, &type, name) != 3 ||
		    strlen(p) < 20 || p[16] != ' ' || strchr(p, '['))
			continue;
		CHECK_OK(qvmi_linux_sym_name(lx, addr, got, sizeof(got), &off));
		CHECK_U64(off, ==, 0);
		/* Duplicate names (static functions) resolve to the lowest. */
		CHECK_OK(qvmi_linux_sym_addr(lx, name, &a));
		CHECK_U64(a, <=, addr);
		exact += a == addr;
		checked++;
	}
	fclose(f);
	qvmi_test_note("%d serial-log symbols matched, %d by name exactly",
		       checked, exact);
	CHECK(exact * 10 >= checked * 9);
	if (!checked)
		SKIP("no kallsyms lines in %s", path);
	detach();
}

static char hint_msg[256];

static void hint_log(enum qvmi_log_level level, const char *msg, void *arg)
{
	(void)level;
	(void)arg;
	if (strstr(msg, "vCPU hint"))
		snprintf(hint_msg, sizeof(hint_msg), "%s", msg);
}

/* The token table is found from a vCPU's kernel RIP (the idle guest's
 * vCPUs sit in the kernel), before any full scan. */
static void test_scan_hint(void)
{
	QVMI_OPTS(qvmi_linux_opts, lo, .flags = QVMI_LINUX_NO_CACHE);

	detach();
	hint_msg[0] = '\0';
	CHECK_OK(qvmi_ctx_create(&cur));
	qvmi_set_log(cur, hint_log, NULL, QVMI_LOG_DEBUG);
	CHECK_OK(qvmi_attach_qmp(cur, qmp_path, NULL));
	CHECK_OK(qvmi_linux_open(cur, &lo, &lx));
	qvmi_test_note("%s", hint_msg);
	CHECK(strstr(hint_msg, ": found") != NULL);
	detach();
}

static char vmci_log[1024];

static void vmci_keep(enum qvmi_log_level level, const char *msg, void *arg)
{
	size_t n = strlen(vmci_log);

	(void)level;
	(void)arg;
	if (strstr(msg, "VMCOREINFO"))
		snprintf(vmci_log + n, sizeof(vmci_log) - n, "%s\n", msg);
}

/* QEMU's dump-guest-memory carries the guest's VMCOREINFO (the demo
 * guest has -device vmcoreinfo and loads qemu_fw_cfg): it leads the
 * kallsyms scan straight to the token table and agrees with memory. */
static void test_vmcoreinfo_dump(void)
{
	const struct qvmi_guest *g = guest_get();
	QVMI_OPTS(qvmi_linux_opts, lo, .flags = QVMI_LINUX_NO_CACHE);
	QVMI_OPTS(qvmi_attach_opts, ao, .timeout_ms = 60000);
	struct qvmi_linux_info live, in;
	struct json_object *args;
	char elf[512], proto[600], rel[128];
	const char *v;
	int err;

	if (g->mem_bytes > (1ull << 30))
		SKIP("a %llu MiB dump: the 512 MiB guests cover it",
		     (unsigned long long)(g->mem_bytes >> 20));
	detach();
	CHECK_OK(qvmi_ctx_create(&cur));
	CHECK_OK(qvmi_attach_qmp(cur, qmp_path, &ao));
	CHECK_OK(qvmi_linux_open(cur, NULL, &lx));
	CHECK_OK(qvmi_linux_info(lx, &live));
	snprintf(rel, sizeof(rel), "%s", live.release);
	snprintf(elf, sizeof(elf), "%s/itest-vmci.elf", g->dir);
	snprintf(proto, sizeof(proto), "file:%s", elf);
	args = json_object_new_object();
	json_object_object_add(args, "paging", json_object_new_boolean(0));
	json_object_object_add(args, "protocol", json_object_new_string(proto));
	/* an attach from the layout cache connects QMP on first use */
	err = qvmi__qmp_need(cur);
	if (!err)
		err = qvmi__qmp_execute(cur->qmp, "dump-guest-memory", args,
					NULL);
	json_object_put(args);
	CHECK_MSG(!err, "dump-guest-memory: %s", qvmi_errmsg(cur));
	detach();

	CHECK_OK(qvmi_ctx_create(&cur));
	vmci_log[0] = '\0';
	qvmi_set_log(cur, vmci_keep, NULL, QVMI_LOG_DEBUG);
	err = qvmi_attach_dump(cur, elf, NULL);
	CHECK_MSG(!err, "ELF attach: %s", qvmi_errmsg(cur));
	v = qvmi_vmcoreinfo(cur);
	CHECK_MSG(v, "no VMCOREINFO in QEMU's dump (is qemu_fw_cfg loaded?)");
	if (v) {
		char want[160];

		snprintf(want, sizeof(want), "OSRELEASE=%s\n", rel);
		CHECK_MSG(strstr(v, want), "%s not in:\n%.300s", want, v);
	}
	err = qvmi_linux_open(cur, &lo, &lx);
	CHECK_MSG(!err, "linux_open: %s", qvmi_errmsg(cur));
	CHECK_OK(qvmi_linux_info(lx, &in));
	CHECK_U64(in.text_va, ==, live.text_va);
	CHECK_U64(in.text_pa, ==, live.text_pa);
	CHECK_STR(in.release, rel);
	qvmi_test_note("%s", vmci_log);
	CHECK(strstr(vmci_log, "kallsyms from VMCOREINFO") &&
	      strstr(vmci_log, ": found"));
	CHECK(strstr(vmci_log, "VMCOREINFO agrees (3 of") != NULL);
	detach();
	unlink(elf);
}

static int count_task(const struct qvmi_linux_task *t, void *arg)
{
	(void)t;
	(*(size_t *)arg)++;
	return 0;
}

/* Profile + memo: the second attach walks the tasks without decoding the
 * symbol table or parsing BTF, and sees the same tasks. */
static void test_profile_memo(void)
{
	char dir[] = "/tmp/qvmi-it-prof-XXXXXX", cmd[64];
	size_t n1 = 0, n2 = 0;
	struct qvmi_linux_info in;
	double ms;

	CHECK(mkdtemp(dir));
	for (int pass = 0; pass < 2; pass++) {
		QVMI_OPTS(qvmi_linux_opts, lo, .cache_dir = dir);
		size_t *n = pass ? &n2 : &n1;

		detach();
		CHECK_OK(qvmi_ctx_create(&cur));
		CHECK_OK(qvmi_attach_qmp(cur, qmp_path, NULL));
		ms = now_ms();
		CHECK_OK(qvmi_linux_open(cur, &lo, &lx));
		ms = now_ms() - ms;
		CHECK_OK(qvmi_linux_info(lx, &in));
		CHECK_STR(in.sym_source, pass ? "cache" : "kallsyms");
		CHECK_OK(qvmi_linux_task_foreach(lx, 0, count_task, n));
		if (pass) {
			CHECK(lx->syms_lazy && !lx->btf && !lx->btfv);
			CHECK_U64(in.nsyms, >, 10000);
			CHECK(in.btf_size > 0);
		}
		qvmi_test_note("pass %d: open %.2f ms, %zu tasks", pass, ms,
			       *n);
	}
	/* Processes may come and go in between. */
	CHECK(n2 + 5 >= n1 && n1 + 5 >= n2 && n2 > 20);
	detach();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(!system(cmd));
}

/* ---- a real dwarf2json ISF of the guest's x86_64 kernel ------------------------ */

/* Open with types (and the symbols kallsyms lacks) from the ISF only:
 * NO_BTF, so no answer can come from the in-memory BTF behind it. */
static struct qvmi_linux *open_isf(struct qvmi_ctx **c, const char *isf)
{
	QVMI_OPTS(qvmi_linux_opts, lo, .isf_path = isf,
		  .flags = QVMI_LINUX_NO_CACHE | QVMI_LINUX_NO_BTF);
	struct qvmi_linux *l = NULL;
	int err;

	CHECK_OK(qvmi_ctx_create(c));
	err = qvmi_attach_qmp(*c, qmp_path, NULL);
	if (!err)
		err = qvmi_linux_open(*c, &lo, &l);
	CHECK_MSG(!err, "open with %s: %s", isf, qvmi_errmsg(*c));
	return l;
}

/* What the views ask (traced on 6.1), each answered by the ISF alone
 * exactly as by the guest's own BTF. */
static const char *const isf_paths[][2] = {
	{ "task_struct", "pid" },
	{ "task_struct", "tgid" },
	{ "task_struct", "tasks" },
	{ "task_struct", "comm" },
	{ "task_struct", "mm" },
	{ "task_struct", "real_parent" },
	{ "task_struct", "cred" },
	{ "task_struct", "__state" },
	{ "task_struct", "signal" },
	{ "task_struct", "start_boottime" },
	{ "mm_struct", "pgd" },
	{ "mm_struct", "mm_mt.ma_root" },
	{ "mm_struct", "arg_start" },
	{ "mm_struct", "env_end" },
	{ "maple_node", "mr64.pivot" },
	{ "maple_node", "mr64.slot" },
	{ "maple_node", "ma64.pivot" },
	{ "maple_node", "ma64.slot" },
	{ "vm_area_struct", "vm_file" },
	{ "vm_area_struct", "vm_flags" },
	{ "vm_area_struct", "vm_pgoff" },
	{ "module", "list" },
	{ "module", "name" },
	{ "module", "core_layout.base" },
	{ "module", "core_layout.size" },
	{ "module", "core_layout.text_size" },
	{ "printk_ringbuffer", "desc_ring.descs" },
	{ "printk_ringbuffer", "desc_ring.infos" },
	{ "printk_ringbuffer", "text_data_ring.data" },
	{ "printk_info", "text_len" },
	{ "printk_info", "facility" },
	{ "printk_info", "caller_id" },
	{ "prb_desc", "text_blk_lpos.next" },
	{ "dentry", "d_parent" },
	{ "dentry", "d_name.name" },
	{ "cred", "uid.val" },
	{ "file", "f_path.dentry" },
	{ "mount", "mnt_parent" },
	{ "mount", "mnt.mnt_root" },
};

static const char *const isf_sizes[] = {
	"task_struct",	     "mm_struct",   "maple_node", "maple_arange_64",
	"printk_ringbuffer", "printk_info", "prb_desc",	  "module",
};

static int count_rec(const struct qvmi_linux_log_rec *r, void *arg)
{
	int *lv = arg; /* [0] the highest level, [1] records */

	lv[0] = QVMI_MAX(lv[0], r->level);
	lv[1]++;
	return 0;
}

static void isf64_compare(struct qvmi_ctx *ic, struct qvmi_linux *il)
{
	struct qvmi_linux_module_list m1 = { 0 }, m2 = { 0 };
	size_t n1 = 0, n2 = 0, nmod;
	uint64_t a, b;
	int lv[2] = { -1, 0 };

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(isf_paths); i++) {
		const char *t = isf_paths[i][0], *p = isf_paths[i][1];

		CHECK_MSG(!qvmi_linux_offset(il, t, p, &a), "%s.%s: %s", t, p,
			  qvmi_errmsg(ic));
		CHECK_OK(qvmi_linux_offset(lx, t, p, &b));
		CHECK_MSG(a == b, "%s.%s: ISF %" PRIu64 ", BTF %" PRIu64, t, p,
			  a, b);
	}
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(isf_sizes); i++) {
		CHECK_OK(qvmi_linux_type_size(il, isf_sizes[i], &a));
		CHECK_OK(qvmi_linux_type_size(lx, isf_sizes[i], &b));
		CHECK_MSG(a == b, "sizeof %s: ISF %" PRIu64 ", BTF %" PRIu64,
			  isf_sizes[i], a, b);
	}
	CHECK_OK(qvmi_linux_task_foreach(il, 0, count_task, &n1));
	CHECK_OK(qvmi_linux_task_foreach(lx, 0, count_task, &n2));
	CHECK(n1 > 20 && n1 + 5 >= n2 && n2 + 5 >= n1);
	CHECK_OK(qvmi_linux_modules(il, &m1));
	CHECK_OK(qvmi_linux_modules(lx, &m2));
	nmod = m1.n;
	CHECK_U64(m1.n, ==, m2.n);
	CHECK(m1.n > 0);
	for (size_t i = 0; i < m1.n && i < m2.n; i++) {
		CHECK_STR(m1.mods[i].name, m2.mods[i].name);
		CHECK_U64(m1.mods[i].base, ==, m2.mods[i].base);
		CHECK_U64(m1.mods[i].size, ==, m2.mods[i].size);
	}
	qvmi_linux_module_list_deinit(&m1);
	qvmi_linux_module_list_deinit(&m2);
	/* dwarf2json 0.6.0 lost the level bitfield's position: unknown */
	CHECK(!qvmi_linux_dmesg(il, count_rec, lv) && lv[1] > 100);
	CHECK_INT(lv[0], ==, -1);
	qvmi_test_note("%zu tasks, %zu modules from the ISF alone", n1, nmod);
}

/*
 * QVMI_TEST_ISF64 names `dwarf2json linux --elf vmlinux-<ver>
 * [--system-map System.map-<ver>]` of the guest's kernel (from
 * linux-image-<ver>-dbg): CI cannot build dwarf2json, so skipped without.
 */
static void test_isf_dwarf2json(void)
{
	const char *p = getenv("QVMI_TEST_ISF64");
	struct qvmi_ctx *ic = NULL;
	struct qvmi_linux *il;
	struct qvmi_linux_info in, li;
	uint64_t va, v = 0, pa;
	uint32_t n = 0;
	double ms;

	if (!p || !*p || access(p, R_OK))
		SKIP("QVMI_TEST_ISF64 does not name a readable dwarf2json ISF "
		     "of the guest kernel (CI cannot build dwarf2json)");
	if (!open_linux(QVMI_SRC_ALL, QVMI_LINUX_NO_CACHE, &ms))
		SKIP("no memory source");
	il = open_isf(&ic, p);
	CHECK_OK(qvmi_linux_info(il, &in));
	CHECK_OK(qvmi_linux_info(lx, &li));
	CHECK_STR(in.btf_source, "isf");
	CHECK_U64(in.text_va, ==, li.text_va);
	/* kallsyms_* are not in kallsyms: the ISF's, moved by the KASLR
	 * slide.  relative_base holds _text; num_syms precedes names. */
	CHECK_OK(qvmi_linux_sym_addr(il, "kallsyms_relative_base", &va));
	CHECK_OK(qvmi_linux_va_to_pa(il, va, &pa));
	CHECK_OK(qvmi_read_pa(ic, pa, &v, 8));
	CHECK_U64(v, ==, in.text_va);
	CHECK_OK(qvmi_linux_sym_addr(il, "kallsyms_num_syms", &va));
	CHECK_OK(qvmi_linux_va_to_pa(il, va, &pa));
	CHECK_OK(qvmi_read_pa(ic, pa, &n, 4)); /* unsigned int */
	CHECK_U64(n, ==, li.nsyms);
	/* per-CPU offsets are not moved (kallsyms answers them first) */
	if (!guest_ksym("current_task", &v)) {
		CHECK_OK(qvmi_linux_sym_addr(il, "current_task", &va));
		CHECK_U64(va, ==, v);
	}
	isf64_compare(ic, il);
	qvmi_linux_destroy(il);
	qvmi_ctx_destroy(ic);
	detach();
}

static const struct qvmi_test linux_tests[] = {
	{ "discover", test_discover },
	{ "serial_ground_truth", test_serial_ground_truth },
	{ "scan_hint", test_scan_hint },
	{ "vmcoreinfo_dump", test_vmcoreinfo_dump },
	{ "profile_memo", test_profile_memo },
	{ "isf_dwarf2json", test_isf_dwarf2json },
};
QVMI_SUITE_SETUP(linux, linux_tests, linux_setup);
