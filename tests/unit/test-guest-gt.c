// SPDX-License-Identifier: LGPL-2.1-or-later
/* The ground-truth parser of tests/lib/guest.c over synthetic serial logs:
 * real lines from a 6.1 guest, CRLF, kernel noise, and malformed input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest.h"
#include "harness.h"

static void load(const char *text, size_t len)
{
	char path[] = "/tmp/qvmi-gt-XXXXXX";
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK_INT(write(fd, text, len), ==, len);
	close(fd);
	CHECK_OK(guest_load_log(path));
	unlink(path);
}

static const char real_log[] =
	"[    0.000000] Linux version 6.1.0-56-amd64 (noise)\r\n"
	"QVMI-GT ps 1 0 S init\r\n"
	"QVMI-GT ps 2 0 S kthreadd\r\n"
	"QVMI-GT ps 23 2 I kworker/1:0H-events_highpri\r\n"
	"QVMI-GT ps 77 1 S odd (name) x\r\n"
	"QVMI-GT ps 92 1 S qvmi-marker-a\r\n"
	"QVMI-GT ksym 0000000000000000 A __per_cpu_start\r\n"
	"QVMI-GT ksym ffffffff9c800000 T _text\r\n"
	"QVMI-GT ksym ffffffff9d961900 D linux_banner\r\n"
	"QVMI-GT iomem 00100000-1ffdffff : System RAM\r\n"
	"QVMI-GT iomem   0b000000-0bc01d31 : Kernel code\r\n"
	"QVMI-GT marker 92 qvmi-marker-a heap_va=0x3cba6d0 heap_pa=0xb7fa6d0 "
	"stack_va=0x7fff62dc4c20 stack_pa=0x9cfbc20 "
	"heap=QVMI-HEAP-MARKER:qvmi-marker-a:92:45a1 "
	"stack=QVMI-STACK-MARKER:qvmi-marker-a:92:9f00\r\n"
	"QVMI-GT maps 92 00400000-00401000 r--p 00000000 00:02 173        "
	"                        /bin/qvmi-marker-a\r\n"
	"QVMI-GT maps 92 004a9000-004ae000 rw-p 00000000 00:00 0 \r\n"
	"QVMI-GT maps 92 03cb9000-03cdb000 rw-p 00000000 00:00 0         "
	"                         [heap]\r\n"
	"QVMI-GT cmdline 92 /bin/qvmi-marker-a /run/qvmi/marker-a alpha\r\n"
	"QVMI-GT modules crc7 16384 0 - Live 0xffffffffc04da000\r\n"
	"QVMI-GT modules foo 8192 1 crc7, Live 0xffffffffc04e0000 (OE)\r\n"
	"QVMI-GT thread 93 92 qvmi-thr-1\r\n"
	"QVMI-GT dmesg <5>[    0.000000] Linux version 6.12.118 (x)\r\n"
	"QVMI-GT dmesg <6>[    0.000000] Command line: quiet\r\n"
	"QVMI-GT dmesg_tail <12>[   18.703485] qvmi-gt: kmsg marker\r\n"
	"QVMI-GT banner Linux version 6.1.0-56-amd64 (debian) #1 SMP\r\n"
	"QVMI-GT uname 6.1.0-56-amd64\r\n"
	"QVMI-GT kcmdline console=ttyS0 panic=-1 quiet\r\n"
	"QVMI-GT btf 4359789 1b0ba9846d9733f31fa161c7369f3704\r\n"
	"QVMI-GT some_future_kind 1 2 3\r\n"
	"QVMI-GT ready\r\n"
	"QVMI-GT ps 999 1 S after_ready\r\n";

static void test_real_lines(void)
{
	const struct guest_ps *ps;
	const struct guest_marker *m;
	const struct guest_map *maps;
	const struct guest_module *mod;
	const struct guest_iomem *io;
	const char *md5;
	uint64_t a, size;
	size_t n;

	load(real_log, sizeof(real_log) - 1);
	CHECK(guest_ready());
	CHECK_INT(guest_bad_lines(), ==, 0);
	guest_ps(&ps, &n);
	CHECK_INT(n, ==, 5);
	CHECK_STR(guest_ps_find(23)->comm, "kworker/1:0H-events_highpri");
	CHECK_STR(guest_ps_find(77)->comm, "odd (name) x");
	CHECK_INT(guest_ps_find(23)->state, ==, 'I');
	CHECK(!guest_ps_find(999));
	CHECK_INT(guest_pid_of("qvmi-marker-a"), ==, 92);
	CHECK_INT(guest_pid_of("nope"), ==, -ENOENT);
	CHECK_OK(guest_ksym("_text", &a));
	CHECK_U64(a, ==, 0xffffffff9c800000ull);
	CHECK_OK(guest_ksym("__per_cpu_start", &a));
	CHECK_U64(a, ==, 0);
	CHECK_INT(guest_ksym("_tex", &a), ==, -ENOENT);
	guest_markers(&m, &n);
	CHECK_INT(n, ==, 1);
	CHECK_U64(m[0].heap_pa, ==, 0xb7fa6d0);
	CHECK_U64(m[0].stack_va, ==, 0x7fff62dc4c20ull);
	CHECK_STR(m[0].stack, "QVMI-STACK-MARKER:qvmi-marker-a:92:9f00");
	guest_maps(92, &maps, &n);
	CHECK_INT(n, ==, 3);
	CHECK_STR(maps[0].path, "/bin/qvmi-marker-a");
	CHECK_STR(maps[1].path, "");
	CHECK_STR(maps[2].path, "[heap]");
	CHECK_U64(maps[2].end, ==, 0x3cdb000);
	CHECK_STR(maps[2].perms, "rw-p");
	guest_maps(93, &maps, &n);
	CHECK_INT(n, ==, 0);
	CHECK_STR(guest_cmdline(92),
		  "/bin/qvmi-marker-a /run/qvmi/marker-a alpha");
	CHECK(!guest_cmdline(1));
	guest_modules(&mod, &n);
	CHECK_INT(n, ==, 2);
	CHECK_U64(mod[1].addr, ==, 0xffffffffc04e0000ull);
	CHECK_STR(mod[1].state, "Live");
	{
		const struct guest_thread *t;

		guest_threads(&t, &n);
		CHECK_INT(n, ==, 1);
		CHECK_INT(t[0].tid, ==, 93);
		CHECK_INT(t[0].tgid, ==, 92);
		CHECK_STR(t[0].comm, "qvmi-thr-1");
	}
	{
		char *const *d;

		guest_dmesg(0, &d, &n);
		CHECK_INT(n, ==, 2);
		CHECK_STR(d[1], "<6>[    0.000000] Command line: quiet");
		guest_dmesg(1, &d, &n);
		CHECK_INT(n, ==, 1);
		CHECK(!strncmp(d[0], "<12>[   18.703485] qvmi-gt", 25));
	}
	guest_iomem(&io, &n);
	CHECK_INT(n, ==, 2);
	CHECK_INT(io[1].depth, ==, 1);
	CHECK_STR(io[1].name, "Kernel code");
	CHECK_U64(io[0].end, ==, 0x1ffdffff);
	CHECK_STR(guest_uname(), "6.1.0-56-amd64");
	CHECK(!strncmp(guest_banner(), "Linux version 6.1.0", 19));
	CHECK_OK(guest_btf(&size, &md5));
	CHECK_U64(size, ==, 4359789);
	CHECK_STR(md5, "1b0ba9846d9733f31fa161c7369f3704");
	guest_reset();
}

static const char bad_log[] =
	"QVMI-GT ps\n"
	"QVMI-GT ps 1\n"
	"QVMI-GT ps x 0 S init\n"
	"QVMI-GT ps 1 0 S \n"
	"QVMI-GT ps 99999999999 0 S big\n"
	"QVMI-GT ksym zzzz T _text\n"
	"QVMI-GT ksym ffffffff9c800000 T\n"
	"QVMI-GT ksym ffffffff9c800000 T _text extra\n"
	"QVMI-GT ksym 1ffffffffffffffff T too_big\n"
	"QVMI-GT marker 92 a heap_va=0x1 heap_pa=0x2 stack_va=0x3\n"
	"QVMI-GT marker 92 a heap_va=1 heap_pa=0x2 stack_va=0x3 stack_pa=0x4 "
	"heap=x stack=y z\n"
	"QVMI-GT maps 92 00401000 r--p 0 00:02 1 /x\n"
	"QVMI-GT maps 92 5000-4000 r--p 0 00:02 1 /x\n"
	"QVMI-GT maps 92 4000-5000 r--pp 0 00:02 1 /x\n"
	"QVMI-GT modules crc7 big 0 - Live 0x1\n"
	"QVMI-GT modules crc7 1 0 - Live 0x1 junk\n"
	"QVMI-GT iomem 0010-000f : Backwards\n"
	"QVMI-GT iomem 00100000-1ffdffff System RAM\n"
	"QVMI-GT btf 12 abc\n"
	"QVMI-GT dmesg no prefix\n"
	"QVMI-GT thread 0 92 x\n"
	"QVMI-GT thread 93 92\n"
	"QVMI-GT cmdline 5\n"
	"QVMI-GT ps 3 2 S a\0b\n"
	"\xff\xfe QVMI-GT ps 4 2 S not_at_line_start\n"
	"QVMI-GT ps 5 2 S ok\n";

static void test_malformed(void)
{
	const struct guest_ps *ps;
	size_t n;
	uint64_t a;

	load(bad_log, sizeof(bad_log) - 1);
	CHECK(!guest_ready());
	CHECK_INT(guest_bad_lines(), ==, 23);
	guest_ps(&ps, &n);
	/* "a\0b" is read as "a": NUL ends the C string, nothing worse */
	CHECK_INT(n, ==, 2);
	CHECK_STR(guest_ps_find(5)->comm, "ok");
	CHECK_INT(guest_ksym("_text", &a), ==, -ENOENT);
	CHECK(!guest_banner());
	guest_reset();
}

static void test_overlong_and_caps(void)
{
	size_t len = 3 * GUEST_LINE_MAX + 20000 * 32, off = 0;
	char *text = malloc(len);
	const struct guest_ps *ps;
	const struct guest_marker *m;
	size_t n;

	CHECK(text);
	off += (size_t)sprintf(text, "QVMI-GT banner ");
	memset(text + off, 'x', 2 * GUEST_LINE_MAX);
	off += 2 * GUEST_LINE_MAX;
	text[off++] = '\n';
	for (int i = 0; i < 100; i++)
		off += (size_t)sprintf(text + off,
				       "QVMI-GT marker %d c heap_va=0x1 "
				       "heap_pa=0x2 stack_va=0x3 stack_pa=0x4 "
				       "heap=h stack=s\n",
				       i);
	for (int i = 0; i < 9000 && off + 64 < len; i++)
		off += (size_t)sprintf(text + off, "QVMI-GT ps %d 1 S p\n", i);
	load(text, off);
	free(text);
	CHECK(!guest_banner());
	guest_markers(&m, &n);
	CHECK_INT(n, ==, 64);
	guest_ps(&ps, &n);
	CHECK_INT(n, ==, 8192);
	/* 1 overlong + 36 markers + 808 ps over their caps */
	CHECK_INT(guest_bad_lines(), ==, 1 + 36 + 808);
	guest_reset();
}

static void test_no_guest(void)
{
	char *saved = getenv("QVMI_GUEST_DIR");

	saved = saved ? strdup(saved) : NULL;
	setenv("QVMI_GUEST_DIR", "/nonexistent/qvmi", 1);
	guest_reset();
	CHECK(!guest_get());
	CHECK(!guest_banner());
	CHECK_INT(guest_pid_of("init"), ==, -ENOENT);
	if (saved)
		setenv("QVMI_GUEST_DIR", saved, 1);
	else
		unsetenv("QVMI_GUEST_DIR");
	free(saved);
	guest_reset();
	CHECK_INT(guest_load_log("/nonexistent/qvmi/serial.log"), ==, -ENOENT);
	guest_reset();
}

static const struct qvmi_test guest_gt_tests[] = {
	{ "real_lines", test_real_lines },
	{ "malformed", test_malformed },
	{ "overlong_and_caps", test_overlong_and_caps },
	{ "no_guest", test_no_guest },
};

QVMI_SUITE(guest_gt, guest_gt_tests);
