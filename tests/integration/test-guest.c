// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The demo guest itself: is its ground truth sane, and does it agree with
 * what the host sees (QEMU alive, sockets 0600, marker strings in the RAM
 * file at the physical addresses the guest reported)?  Every other
 * integration suite trusts these lines, so they are checked first.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest.h"
#include "harness.h"

static const struct qvmi_guest *need_guest(void)
{
	const struct qvmi_guest *g = guest_get();

	if (!g)
		SKIP("no demo guest (QVMI_GUEST_DIR unset or not ready)");
	return g;
}

static void test_host_side(void)
{
	const struct qvmi_guest *g = need_guest();
	const char *socks[] = { g->qmp, g->gdb };
	struct stat st;

	CHECK_INT(kill(g->pid, 0), ==, 0);
	for (size_t i = 0; i < 2; i++) {
		CHECK_INT(stat(socks[i], &st), ==, 0);
		CHECK(S_ISSOCK(st.st_mode));
		CHECK_INT(st.st_mode & 0777, ==, 0600);
	}
	CHECK_INT(guest_bad_lines(), ==, 0);
	CHECK(guest_ready());
	if (g->shm) {
		CHECK_INT(stat(g->shm, &st), ==, 0);
		CHECK_U64(st.st_size, ==, g->mem_bytes);
		CHECK_INT(st.st_mode & 0777, ==, 0600);
	} else {
		CHECK(strcmp(g->backend, "file"));
	}
}

static void test_ps(void)
{
	const struct guest_ps *ps, *init;
	const char *names[] = { "qvmi-marker-a", "qvmi-marker-b",
				"qvmi-sleeper" };
	size_t n;

	need_guest();
	guest_ps(&ps, &n);
	CHECK_INT(n, >=, 20); /* kernel threads alone are ~50 */
	init = guest_ps_find(1);
	CHECK(init);
	CHECK_INT(init->ppid, ==, 0);
	CHECK_STR(init->comm, "init");
	CHECK(guest_ps_find(2));
	CHECK_STR(guest_ps_find(2)->comm, "kthreadd");
	for (size_t i = 0; i < 3; i++) {
		int pid = guest_pid_of(names[i]);

		CHECK_MSG(pid > 1, "%s not in ps", names[i]);
		CHECK_INT(guest_ps_find(pid)->ppid, ==, 1);
		CHECK(guest_cmdline(pid));
		CHECK(strstr(guest_cmdline(pid), names[i]));
	}
	CHECK_STR(guest_cmdline(guest_pid_of("qvmi-sleeper")),
		  "/bin/qvmi-sleeper 100");
}

static void check_ksym_kernel(const char *name, uint64_t *ret)
{
	CHECK_MSG(!guest_ksym(name, ret), "ksym %s missing", name);
	CHECK_MSG(*ret >= 0xffffffff80000000ull, "%s at 0x%" PRIx64, name,
		  *ret);
}

static void test_ksyms(void)
{
	uint64_t text, stext, etext, banner, task, nsl, bs, be, x;

	need_guest();
	check_ksym_kernel("_text", &text);
	check_ksym_kernel("_stext", &stext);
	check_ksym_kernel("_etext", &etext);
	check_ksym_kernel("linux_banner", &banner);
	check_ksym_kernel("init_task", &task);
	check_ksym_kernel("__x64_sys_clock_nanosleep", &nsl);
	check_ksym_kernel("__start_BTF", &bs);
	check_ksym_kernel("__stop_BTF", &be);
	/* KASLR moves the kernel in 2 MiB steps */
	CHECK_U64(text & 0x1fffff, ==, 0);
	CHECK_U64(stext, >=, text);
	CHECK_U64(etext, >, stext);
	CHECK(nsl > stext && nsl < etext);
	CHECK_U64(banner, >, etext);
	CHECK_U64(be, >, bs);
	CHECK_INT(guest_ksym("no_such_symbol_qvmi", &x), ==, -ENOENT);
	/* per-QEMU-FACTS: the kallsyms_* tables are not in /proc/kallsyms */
	if (!guest_ksym("kallsyms_names", &x))
		qvmi_test_note("kallsyms_names listed: 0x%" PRIx64, x);
}

static void test_banner_btf(void)
{
	const char *b, *u, *md5;
	uint64_t size, bs, be;

	need_guest();
	b = guest_banner();
	u = guest_uname();
	CHECK(b && u);
	CHECK(!strncmp(b, "Linux version ", 14));
	CHECK(!strncmp(b + 14, u, strlen(u)));
	CHECK(guest_kcmdline() && strstr(guest_kcmdline(), "console=ttyS0"));
	if (guest_btf(&size, &md5))
		SKIP("guest has no /sys/kernel/btf/vmlinux");
	CHECK_INT(strlen(md5), ==, 32);
	CHECK_OK(guest_ksym("__start_BTF", &bs));
	CHECK_OK(guest_ksym("__stop_BTF", &be));
	CHECK_U64(be - bs, ==, size);
}

static int in_map(int pid, uint64_t va, const char *path)
{
	const struct guest_map *m;
	size_t n;

	guest_maps(pid, &m, &n);
	for (size_t i = 0; i < n; i++)
		if (va >= m[i].start && va < m[i].end)
			return !strcmp(m[i].path, path);
	return 0;
}

static void check_marker(const struct guest_marker *m)
{
	char pfx[GUEST_MARK_MAX];

	CHECK_STR(guest_ps_find(m->pid) ? guest_ps_find(m->pid)->comm : NULL,
		  m->comm);
	CHECK(m->heap_va && m->stack_va);
	CHECK_MSG(m->heap_pa && m->stack_pa, "pid %d: no PA (pagemap)", m->pid);
	/* the page offset survives translation */
	CHECK_U64(m->heap_pa & 0xfff, ==, m->heap_va & 0xfff);
	CHECK_U64(m->stack_pa & 0xfff, ==, m->stack_va & 0xfff);
	snprintf(pfx, sizeof(pfx), "QVMI-HEAP-MARKER:%s:%d:", m->comm, m->pid);
	CHECK(!strncmp(m->heap, pfx, strlen(pfx)));
	CHECK_INT(strlen(m->heap), ==, strlen(pfx) + 32);
	snprintf(pfx, sizeof(pfx), "QVMI-STACK-MARKER:%s:%d:", m->comm, m->pid);
	CHECK(!strncmp(m->stack, pfx, strlen(pfx)));
	CHECK(strcmp(strrchr(m->heap, ':'), strrchr(m->stack, ':')));
	CHECK(in_map(m->pid, m->heap_va, "[heap]"));
	CHECK(in_map(m->pid, m->stack_va, "[stack]"));
}

static void test_markers(void)
{
	const struct guest_marker *m;
	size_t n;

	need_guest();
	guest_markers(&m, &n);
	CHECK_INT(n, ==, 2);
	for (size_t i = 0; i < n; i++)
		check_marker(&m[i]);
	CHECK(strcmp(m[0].comm, m[1].comm));
}

/* The guest's RAM as a file: the memory-backend-file itself, or QEMU's
 * memfd reopened through /proc/<pid>/fd (QEMU 7.2 names the link
 * "/memfd:memory-backend-memfd (deleted)").  -1 if there is none. */
static int open_ram(const struct qvmi_guest *g)
{
	char path[64], link[256];
	ssize_t n;

	if (g->shm)
		return open(g->shm, O_RDONLY | O_CLOEXEC);
	if (strcmp(g->backend, "memfd"))
		return -1;
	for (int fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)g->pid, fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strstr(link, "memfd:memory-backend-memfd"))
			return open(path, O_RDONLY | O_CLOEXEC);
	}
	return -1;
}

/* With at most 2 GiB of RAM, file offset == GPA on pc and q35
 * (QEMU-FACTS.md), so the strings must be there in host memory. */
static void test_markers_in_ram_file(void)
{
	const struct qvmi_guest *g = need_guest();
	const struct guest_marker *m;
	char buf[GUEST_MARK_MAX];
	size_t n;
	int fd;

	if (!strcmp(g->backend, "none") || g->mem_bytes > (2ull << 30))
		SKIP("needs shared RAM of at most 2 GiB");
	fd = open_ram(g);
	CHECK_MSG(fd >= 0, "no RAM file for backend %s", g->backend);
	guest_markers(&m, &n);
	for (size_t i = 0; i < n; i++) {
		size_t hl = strlen(m[i].heap), sl = strlen(m[i].stack);

		CHECK_INT(pread(fd, buf, hl, (off_t)m[i].heap_pa), ==, hl);
		CHECK(!memcmp(buf, m[i].heap, hl));
		CHECK_INT(pread(fd, buf, sl, (off_t)m[i].stack_pa), ==, sl);
		CHECK(!memcmp(buf, m[i].stack, sl));
	}
	close(fd);
}

static void test_iomem_modules(void)
{
	const struct guest_iomem *io;
	const struct guest_module *mod;
	uint64_t text, etext;
	size_t n, i, ram = 0, code = 0;

	need_guest();
	CHECK_OK(guest_ksym("_text", &text));
	CHECK_OK(guest_ksym("_etext", &etext));
	guest_iomem(&io, &n);
	for (i = 0; i < n; i++) {
		if (io[i].depth == 0 && !strcmp(io[i].name, "System RAM"))
			ram += io[i].end - io[i].start + 1;
		if (!strcmp(io[i].name, "Kernel code")) {
			code++;
			CHECK_INT(io[i].depth, ==, 1);
			/* physical size of the text ~ virtual size */
			CHECK_U64(io[i].end - io[i].start + 1, >=,
				  (etext - text) / 2);
		}
	}
	CHECK_INT(code, ==, 1);
	CHECK_U64(ram, <=, need_guest()->mem_bytes);
	CHECK_U64(ram, >=, need_guest()->mem_bytes / 2);
	guest_modules(&mod, &n);
	for (i = 0; i < n; i++) {
		CHECK(mod[i].size > 0);
		CHECK_U64(mod[i].addr, >=, 0xffffffff80000000ull);
	}
}

static const struct qvmi_test guest_tests[] = {
	{ "host_side", test_host_side },
	{ "ps", test_ps },
	{ "ksyms", test_ksyms },
	{ "banner_btf", test_banner_btf },
	{ "markers", test_markers },
	{ "markers_in_ram_file", test_markers_in_ram_file },
	{ "iomem_modules", test_iomem_modules },
};

QVMI_SUITE(guest, guest_tests);
